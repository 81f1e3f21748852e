"""Convert GRAZPEDWRI-DX to the package's COCO format, split by patient.

A case is patient_id + study_number; the fracture class of the YOLO labels
is kept (its box as the segmentation), the other classes are dropped.

Example::

    python tools/dataset_converters/grazpedwri_to_coco.py data/GRAZPEDWRI-DX
    # writes data/GRAZPEDWRI-DX/annotations/{all,train,val,test}.json
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from mmdet_famo.datasets.coco_builder import (DatasetRecordError,
                                              save_annotations, summary_table)
from mmdet_famo.datasets.converters import convert_grazpedwri
from mmdet_famo.datasets.splits import DEFAULT_RATIOS, split_by_patient


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
        coco = convert_grazpedwri(args.root, args.fracture_class)
    except DatasetRecordError as e:
        sys.exit(f'error: {e}')
    splits = split_by_patient(coco, args.ratios, args.seed)
    save_annotations(out_dir, coco, splits)
    print(f'written to {out_dir}')
    print(summary_table(splits))


if __name__ == '__main__':
    main()
