"""Report patients, cases or image files that occur in more than one split,
and duplicate images (same pixels, or near-identical by perceptual hash;
see ``mmdet_famo.datasets.duplicates``) that lie in two splits.

Duplicates are found from the fingerprints the converters store in the
image records; ``--img-dir`` (the folder the file names are relative to)
computes those a record lacks. Exits with status 1 when there is any
leakage, so it can guard a pipeline.

Example::

    python tools/dataset_converters/check_leakage.py \
        data/phantom/annotations/{train,val,test}.json \
        --img-dir data/phantom/images
"""
import argparse
import os.path as osp
import sys

from mmengine.fileio import load

from mmdet_famo.datasets.coco_builder import DatasetRecordError
from mmdet_famo.datasets.duplicates import (add_duplicate_arguments,
                                            find_duplicate_leaks)
from mmdet_famo.datasets.splits import LEAKAGE_KEYS, find_leakage
from mmdet_famo.quick_exit import skip_collection_at_exit


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check split files for patient, case or image leakage')
    parser.add_argument(
        'split_files', nargs='+', help='COCO files, one per split')
    parser.add_argument(
        '--keys',
        nargs='+',
        default=list(LEAKAGE_KEYS),
        help='image-record keys that must not be shared between splits')
    add_duplicate_arguments(parser, img_dir=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if len(args.split_files) < 2:
        sys.exit('error: give at least two split files')
    splits = {path: load(path) for path in args.split_files}
    try:
        leaks = find_leakage(splits, args.keys)
        copies = [] if args.no_duplicate_check else find_duplicate_leaks(
            splits, args.img_dir, args.max_phash_distance)
    except DatasetRecordError as e:
        sys.exit(f'error: {e}')
    for leak in leaks + copies:
        print(f'LEAK: {leak}')
    counts = {key: sum(leak.key == key for leak in leaks) for key in args.keys}
    names = ', '.join(osp.basename(path) for path in splits)
    summary = [
        f'{count} {key} value(s) in several splits'
        for key, count in counts.items()
    ]
    if not args.no_duplicate_check:
        summary.append(f'{len(copies)} duplicate image pair(s) across splits')
    print(f'{names}: ' + ', '.join(summary))
    sys.exit(1 if leaks or copies else 0)


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
