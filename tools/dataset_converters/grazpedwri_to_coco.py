"""Convert GRAZPEDWRI-DX to the package's COCO format, split by patient.

A case is patient_id + study_number; the fracture class of the YOLO labels
is kept (its box as the segmentation, marked ``box_only``), the other
classes are dropped.  Duplicate images are named and kept in one split.

Example::

    python tools/dataset_converters/grazpedwri_to_coco.py data/GRAZPEDWRI-DX
    # writes data/GRAZPEDWRI-DX/annotations/{all,train,val,test}.json
"""
import argparse
import os.path as osp

from mmdet_famo.datasets.coco_builder import (exit_on_record_error,
                                              write_splits)
from mmdet_famo.datasets.converters import convert_grazpedwri
from mmdet_famo.datasets.duplicates import (add_duplicate_arguments,
                                            duplicate_groups_from_args)
from mmdet_famo.datasets.splits import add_split_arguments, split_by_patient
from mmdet_famo.quick_exit import skip_collection_at_exit


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert GRAZPEDWRI-DX to COCO with case metadata, '
        'split by patient')
    parser.add_argument(
        'root',
        help='GRAZPEDWRI-DX folder (images/, labels/, meta.yaml, '
        'dataset.csv)')
    parser.add_argument(
        '--out-dir', help='output folder (default: ROOT/annotations)')
    parser.add_argument(
        '--fracture-class',
        default='fracture',
        help='class name in meta.yaml to keep')
    add_split_arguments(parser)
    add_duplicate_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out_dir = args.out_dir or osp.join(args.root, 'annotations')
    with exit_on_record_error():
        coco = convert_grazpedwri(args.root, args.fracture_class)
        groups = duplicate_groups_from_args(
            coco, osp.join(args.root, 'images'), args)
    splits = split_by_patient(coco, args.ratios, args.seed, groups)
    write_splits(out_dir, coco, splits)


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
