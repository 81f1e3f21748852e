"""Generate the phantom radiographs, the package's embedded default data.

Writes ``OUT/images/<patient>/<case>/<view>.dcm`` and
``OUT/annotations/{all,train,val,test}.json``; see data/README.md.

Example::

    python tools/misc/make_phantoms.py data/phantom --patients 80 --seed 0
"""
import argparse

from mmdet_famo.datasets.coco_builder import report_splits
from mmdet_famo.datasets.splits import add_split_arguments
from mmdet_famo.phantom import ANATOMIES, PhantomConfig, \
    generate_phantom_dataset


def parse_args() -> argparse.Namespace:
    defaults = PhantomConfig()
    parser = argparse.ArgumentParser(
        description='Generate phantom fracture radiographs (DICOM + COCO)')
    parser.add_argument(
        'out_dir', nargs='?', default='data/phantom', help='output folder')
    parser.add_argument('--patients', type=int, default=defaults.num_patients)
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
    add_split_arguments(parser, seed=False)  # --seed, above, seeds it all
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    config = PhantomConfig(
        num_patients=args.patients,
        height=args.height,
        width=args.width,
        seed=args.seed,
        fracture_free_fraction=args.fracture_free,
        body_parts=tuple(args.body_parts),
        ratios=dict(args.ratios))
    _, splits = generate_phantom_dataset(args.out_dir, config, progress=True)
    report_splits(args.out_dir, splits)


if __name__ == '__main__':
    main()
