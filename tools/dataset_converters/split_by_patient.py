"""Split a COCO file in the package's format by patient, stratified by
body part and fracture presence.

Example::

    python tools/dataset_converters/split_by_patient.py \
        data/hospital/annotations/all.json --ratios train=0.8 test=0.2
    # writes train.json and test.json next to all.json
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.fileio import load

from mmdet_famo.datasets.coco_builder import (DatasetRecordError,
                                              check_fracture_coco,
                                              save_annotations, summary_table)
from mmdet_famo.datasets.splits import DEFAULT_RATIOS, split_by_patient


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Split a fracture COCO file by patient')
    parser.add_argument('ann_file', help='COCO file of every image')
    parser.add_argument(
        '--out-dir', help='output folder (default: next to ann_file)')
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
    coco = load(args.ann_file)
    try:
        check_fracture_coco(coco, args.ann_file)
    except DatasetRecordError as e:
        sys.exit(f'error: {e}')
    splits = split_by_patient(coco, args.ratios, args.seed)
    out_dir = args.out_dir or osp.dirname(osp.abspath(args.ann_file))
    save_annotations(out_dir, coco, splits)
    print(f'written to {out_dir}')
    print(summary_table(splits))


if __name__ == '__main__':
    main()
