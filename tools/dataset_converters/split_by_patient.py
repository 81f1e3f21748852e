"""Split a COCO file in the package's format by patient, stratified by
body part and fracture presence, keeping each group of duplicate images in
one split.

Only the splits ``--ratios`` names are written.  Duplicates are found from
the fingerprints the converters store in the image records; ``--img-dir``
computes those a record lacks.

Example::

    python tools/dataset_converters/split_by_patient.py \
        data/hospital/annotations/all.json --ratios train=0.8 test=0.2 \
        --out-dir data/hospital/annotations/80-20
    # writes all.json, train.json and test.json (no val.json) to 80-20/
"""
import argparse
import os.path as osp

from mmengine.fileio import load

from mmdet_famo.datasets.coco_builder import (check_fracture_coco,
                                              exit_on_record_error,
                                              write_splits)
from mmdet_famo.datasets.duplicates import (add_duplicate_arguments,
                                            duplicate_groups_from_args)
from mmdet_famo.datasets.splits import add_split_arguments, split_by_patient
from mmdet_famo.quick_exit import skip_collection_at_exit


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Split a fracture COCO file by patient')
    parser.add_argument('ann_file', help='COCO file of every image')
    parser.add_argument(
        '--out-dir', help='output folder (default: next to ann_file)')
    add_split_arguments(parser)
    add_duplicate_arguments(parser, img_dir=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    coco = load(args.ann_file)
    with exit_on_record_error():
        check_fracture_coco(coco, args.ann_file)
        groups = duplicate_groups_from_args(coco, args.img_dir, args,
                                            args.ann_file)
    splits = split_by_patient(coco, args.ratios, args.seed, groups)
    out_dir = args.out_dir or osp.dirname(osp.abspath(args.ann_file))
    write_splits(out_dir, coco, splits)


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
