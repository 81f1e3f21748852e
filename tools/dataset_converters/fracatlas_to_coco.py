"""Convert FracAtlas to the package's COCO format.

FracAtlas has no patient or study identifiers: each image is its own
patient and case.  ``--split stratified`` (default) splits the images with
the package's stratified split; ``--split official`` keeps FracAtlas's own
split of the fractured images (Utilities/Fracture Split) and splits the
fracture-free ones, which it leaves out, by ``--ratios``.

Example::

    python tools/dataset_converters/fracatlas_to_coco.py data/FracAtlas
    # writes data/FracAtlas/annotations/{all,train,val,test}.json
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from mmdet_famo.datasets.coco_builder import (DatasetRecordError,
                                              save_annotations, summary_table)
from mmdet_famo.datasets.converters import convert_fracatlas, official_split
from mmdet_famo.datasets.splits import DEFAULT_RATIOS, split_by_patient


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert FracAtlas to COCO with case metadata')
    parser.add_argument('root', help='FracAtlas folder (holds dataset.csv)')
    parser.add_argument(
        '--out-dir', help='output folder (default: ROOT/annotations)')
    parser.add_argument(
        '--split', choices=('stratified', 'official'), default='stratified')
    parser.add_argument(
        '--ratios',
        nargs='+',
        action=DictAction,
        default=DEFAULT_RATIOS,
        help='split name=share, e.g. train=0.7 val=0.1 test=0.2')
    parser.add_argument('--seed', type=int, default=0, help='split seed')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out_dir = args.out_dir or osp.join(args.root, 'annotations')
    try:
        coco = convert_fracatlas(args.root)
        if args.split == 'official':
            splits = official_split(args.root, coco, args.ratios, args.seed)
        else:
            splits = split_by_patient(coco, args.ratios, args.seed)
    except DatasetRecordError as e:
        sys.exit(f'error: {e}')
    save_annotations(out_dir, coco, splits)
    print('FracAtlas has no patient ids: each image is its own patient and '
          'case.')
    print(f'written to {out_dir}')
    print(summary_table(splits))


if __name__ == '__main__':
    main()
