"""Convert a folder of DICOM radiographs plus fracture instance
segmentations to the package's COCO format, split by patient.

Segmentations come as a COCO file (polygons or RLE, ``file_name`` relative
to the DICOM folder) or as one mask image per instance
(``<dicom path without .dcm>_<k>.png``).  Case, patient, body part and view
are read from the DICOM tags where the COCO image records do not give them.
Duplicate images (same pixels, or near-identical; see
``mmdet_famo.datasets.duplicates``) are named and kept in one split.

Example::

    python tools/dataset_converters/dicom_to_coco.py data/hospital/images \
        --coco data/hospital/segmentations.json \
        --out-dir data/hospital/annotations \
        --ratios train=0.7 val=0.1 test=0.2
"""
import argparse

from mmdet_famo.datasets.coco_builder import (exit_on_record_error,
                                              write_splits)
from mmdet_famo.datasets.converters import convert_dicom_folder
from mmdet_famo.datasets.duplicates import (add_duplicate_arguments,
                                            duplicate_groups_from_args)
from mmdet_famo.datasets.splits import add_split_arguments, split_by_patient
from mmdet_famo.quick_exit import skip_collection_at_exit


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert DICOM radiographs and instance segmentations '
        'to COCO with case metadata, split by patient')
    parser.add_argument('dicom_dir', help='folder of DICOM files (recursive)')
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--coco', help='COCO file of the segmentations')
    source.add_argument(
        '--mask-dir', help='folder of <dicom path stem>_<k>.png masks')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--suffix', default='.dcm', help="DICOM file suffix ('' for all)")
    parser.add_argument(
        '--fracture-categories',
        nargs='+',
        default=['fracture'],
        help='category names in --coco that are fractures; the others are '
        'dropped')
    parser.add_argument(
        '--allow-modality',
        action='append',
        default=[],
        metavar='MOD',
        help='also accept DICOM files of this Modality; only projection '
        'radiographs (CR, DX) are accepted by default. Repeat for several')
    add_split_arguments(parser)
    add_duplicate_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with exit_on_record_error():
        coco = convert_dicom_folder(
            args.dicom_dir,
            coco_file=args.coco,
            mask_dir=args.mask_dir,
            suffix=args.suffix,
            fracture_categories=args.fracture_categories,
            allowed_modalities=args.allow_modality)
        groups = duplicate_groups_from_args(coco, args.dicom_dir, args)
    splits = split_by_patient(coco, args.ratios, args.seed, groups)
    write_splits(args.out_dir, coco, splits)


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
