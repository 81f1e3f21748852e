"""Split a COCO file in the package's format by patient, stratified by
body part and fracture presence.

Example::

    python tools/dataset_converters/split_by_patient.py \
        data/hospital/annotations/all.json --ratios train=0.8 test=0.2
    # writes train.json and test.json next to all.json
"""
import argparse
import os.path as osp

from mmengine.fileio import load

from mmdet_famo.datasets.coco_builder import (check_fracture_coco,
                                              exit_on_record_error,
                                              write_splits)
from mmdet_famo.datasets.splits import add_split_arguments, split_by_patient


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Split a fracture COCO file by patient')
    parser.add_argument('ann_file', help='COCO file of every image')
    parser.add_argument(
        '--out-dir', help='output folder (default: next to ann_file)')
    add_split_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    coco = load(args.ann_file)
    with exit_on_record_error():
        check_fracture_coco(coco, args.ann_file)
    splits = split_by_patient(coco, args.ratios, args.seed)
    out_dir = args.out_dir or osp.dirname(osp.abspath(args.ann_file))
    write_splits(out_dir, coco, splits)


if __name__ == '__main__':
    main()
