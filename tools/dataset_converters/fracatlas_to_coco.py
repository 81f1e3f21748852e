"""Convert FracAtlas to the package's COCO format.

FracAtlas has no patient or study identifiers: each image is its own
patient and case.  ``--split stratified`` (default) splits the images with
the package's stratified split; ``--split official`` keeps FracAtlas's own
split of the fractured images (Utilities/Fracture Split) and splits the
fracture-free ones, which it leaves out, by ``--ratios``.  The tool prints
the number of images per ``dataset.csv`` flag (body parts, hardware,
multiscan, views), kept in the image records, and names duplicate images.
Files that cannot be decoded (FracAtlas holds truncated JPEGs) are left out
of every split and listed, with the reason, in ``excluded.json``; they are
found while fingerprinting for duplicates, so ``--no-duplicate-check``
keeps them (the loader then refuses them by name).

Example::

    python tools/dataset_converters/fracatlas_to_coco.py data/FracAtlas
    # writes data/FracAtlas/annotations/{all,train,val,test}.json
"""
import argparse
import os
import os.path as osp

from mmengine.fileio import dump

from mmdet_famo.datasets.coco_builder import (exit_on_record_error,
                                              report_splits, save_annotations)
from mmdet_famo.datasets.converters import (convert_fracatlas,
                                            fracatlas_flag_counts,
                                            official_split)
from mmdet_famo.datasets.duplicates import (add_duplicate_arguments,
                                            duplicate_groups_from_args,
                                            leave_out_unreadable)
from mmdet_famo.datasets.splits import add_split_arguments, split_by_patient
from mmdet_famo.quick_exit import skip_collection_at_exit


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert FracAtlas to COCO with case metadata')
    parser.add_argument('root', help='FracAtlas folder (holds dataset.csv)')
    parser.add_argument(
        '--out-dir', help='output folder (default: ROOT/annotations)')
    parser.add_argument(
        '--split', choices=('stratified', 'official'), default='stratified')
    add_split_arguments(parser)
    add_duplicate_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out_dir = args.out_dir or osp.join(args.root, 'annotations')
    with exit_on_record_error():
        coco = convert_fracatlas(args.root)
        groups = duplicate_groups_from_args(
            coco, osp.join(args.root, 'images'), args)
        if args.split == 'official':
            splits = official_split(args.root, coco, args.ratios, args.seed,
                                    groups)
        else:
            splits = split_by_patient(coco, args.ratios, args.seed, groups)
        coco, splits, excluded = leave_out_unreadable(coco, splits)
    save_annotations(out_dir, coco, splits)
    os.makedirs(out_dir, exist_ok=True)
    dump(excluded, osp.join(out_dir, 'excluded.json'), indent=1)
    if excluded:
        print(f'{len(excluded)} images could not be decoded and are left out '
              f'of every split (listed in {osp.join(out_dir, "excluded.json")}'
              '): ' + ', '.join(
                  f'{image["file_name"]} ({image["reason"]})'
                  for image in excluded))
    print('FracAtlas has no patient ids: each image is its own patient and '
          'case (a group of duplicate images counts as one patient).')
    print('images per dataset.csv flag: ' + ', '.join(
        f'{flag} {count}'
        for flag, count in fracatlas_flag_counts(coco).items()))
    report_splits(out_dir, splits)


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
