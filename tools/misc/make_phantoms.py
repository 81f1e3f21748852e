"""Generate the phantom radiographs, the package's embedded default data.

Writes ``OUT/images/<patient>/<case>/<view>.dcm`` and
``OUT/annotations/{all,train,val,test}.json``; see data/README.md.

Example::

    python tools/misc/make_phantoms.py data/phantom --patients 80 --seed 0
    # and two more readers' annotations, for reader_agreement.py
    python tools/misc/make_phantoms.py data/phantom --readers 3 \
        --reader-miss-rate 0.1 --reader-false-rate 0.05 --reader-jitter 1
"""
import argparse

from mmdet_famo.datasets.coco_builder import report_splits
from mmdet_famo.datasets.splits import add_split_arguments
from mmdet_famo.phantom import ANATOMIES, PhantomConfig, \
    generate_phantom_dataset
from mmdet_famo.phantom.readers import (ReaderDisagreement,
                                        write_reader_annotations)
from mmdet_famo.quick_exit import skip_collection_at_exit


def parse_args() -> argparse.Namespace:
    defaults = PhantomConfig()
    parser = argparse.ArgumentParser(
        description='Generate phantom fracture radiographs (DICOM + COCO)')
    parser.add_argument(
        'out_dir', nargs='?', default='data/phantom', help='output folder')
    parser.add_argument('--patients', type=int, default=defaults.num_patients)
    parser.add_argument(
        '--first-patient',
        type=int,
        default=defaults.first_patient,
        help='index of the first patient (PH<index + 1>): sets with '
        'disjoint ranges hold different patients')
    parser.add_argument('--height', type=int, default=defaults.height)
    parser.add_argument('--width', type=int, default=defaults.width)
    parser.add_argument('--seed', type=int, default=defaults.seed)
    parser.add_argument(
        '--fracture-free',
        type=float,
        default=defaults.fracture_free_fraction,
        help='share of fracture-free studies')
    parser.add_argument(
        '--body-parts',
        nargs='+',
        default=list(ANATOMIES),
        choices=list(ANATOMIES))
    reader_defaults = ReaderDisagreement()
    parser.add_argument(
        '--readers',
        type=int,
        default=1,
        help='readers: 2 or more also writes annotations/reader_<k>.json, '
        'reader 1 the truth, the others simulated (for '
        'tools/analysis/reader_agreement.py)')
    parser.add_argument(
        '--reader-miss-rate',
        type=float,
        default=reader_defaults.miss_rate,
        help='chance that a simulated reader misses each fracture')
    parser.add_argument(
        '--reader-false-rate',
        type=float,
        default=reader_defaults.false_finding_rate,
        help='chance per image of a simulated reader\'s false finding')
    parser.add_argument(
        '--reader-jitter',
        type=int,
        default=reader_defaults.jitter_px,
        help='largest shift of a simulated reader\'s outline, in px')
    add_split_arguments(parser, seed=False)  # --seed, above, seeds it all
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    config = PhantomConfig(
        num_patients=args.patients,
        first_patient=args.first_patient,
        height=args.height,
        width=args.width,
        seed=args.seed,
        fracture_free_fraction=args.fracture_free,
        body_parts=tuple(args.body_parts),
        ratios=dict(args.ratios))
    try:  # checked before anything is written
        disagreement = ReaderDisagreement(args.reader_miss_rate,
                                          args.reader_false_rate,
                                          args.reader_jitter, args.seed)
    except ValueError as error:
        raise SystemExit(f'make_phantoms.py: error: {error}') from error
    coco, splits = generate_phantom_dataset(
        args.out_dir, config, progress=True)
    report_splits(args.out_dir, splits)
    if args.readers > 1:
        for path in write_reader_annotations(
                f'{args.out_dir}/annotations', coco, args.readers,
                disagreement):
            print(f'reader annotations: {path}')


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
