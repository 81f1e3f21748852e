"""Write PNGs of training samples as the model receives them, after the
augmentation pipeline, with their ground-truth boxes and masks drawn: a
visual check of the pipeline.

MMDetection's ``tools/misc/browse_dataset.py`` for the plugin: the config's
``custom_imports`` registers mmdet_famo; each image is drawn ``--repeats``
times to show the spread of the augmentation; ``--seed`` makes a run
repeatable; files are named by index, case and view (the views of a study
share file names); a greyscale input (``LoadRadiograph(output='uint16')``
or ``'float32'``) is shown as grey. Images are drawn as displayed:
``LoadRadiograph`` applies their EXIF orientation, the one the boxes were
drawn on.

Example, on the phantom data (``tools/misc/make_phantoms.py data/phantom``)::

    python tools/misc/browse_dataset.py \\
        configs/famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py \\
        --output-dir work_dirs/browse --num-images 8 --repeats 4 \\
        --cfg-options train_dataloader.dataset.data_root=data/phantom/
"""
import argparse
import os.path as osp
from typing import List

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import mkdir_or_exist

from mmdet.registry import DATASETS, VISUALIZERS
from mmdet.structures.bbox import BaseBoxes
from mmdet_famo.quick_exit import skip_collection_at_exit


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--output-dir', required=True, help='folder for the PNGs')
    parser.add_argument(
        '--num-images',
        type=int,
        default=8,
        help='the first N images of the training set (0: all)')
    parser.add_argument(
        '--repeats', type=int, default=4, help='augmented copies per image')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the augmentations')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (e.g. '
        'train_dataloader.dataset.data_root=data/phantom/)')
    return parser.parse_args()


def to_display(inputs: np.ndarray) -> np.ndarray:
    """An RGB uint8 H x W x 3 view of a packed C x H x W input (BGR, or a
    single grey channel of any bit depth)."""
    image = inputs.transpose(1, 2, 0)
    if image.dtype == np.uint16:
        image = image >> 8
    elif np.issubdtype(image.dtype, np.floating) and image.max() <= 1:
        image = image * 255
    image = image.clip(0, 255).astype(np.uint8)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image[..., ::-1]


def browse(cfg: Config, output_dir: str, num_images: int, repeats: int,
           seed: int) -> List[str]:
    """Draw ``repeats`` augmented samples of each of the first
    ``num_images`` images of ``cfg``'s training set into ``output_dir``.

    Returns:
        list[str]: The PNG files written.
    """
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    # No storage backend: the PNGs are written through ``out_file``.
    visualizer = VISUALIZERS.build(dict(cfg.visualizer, vis_backends=None))
    visualizer.dataset_meta = dataset.metainfo
    mkdir_or_exist(output_dir)
    np.random.seed(seed)
    files = []
    for index in range(min(num_images or len(dataset), len(dataset))):
        for repeat in range(repeats):
            item = dataset[index]
            sample = item['data_samples']
            gt_instances = sample.gt_instances
            # as numpy: mmdet's visualizer clips the boxes' areas with
            # np.clip, which a torch tensor answers with a deprecated
            # __array_wrap__ (NumPy 2)
            bboxes = gt_instances.get('bboxes')
            if isinstance(bboxes, BaseBoxes):
                bboxes = bboxes.tensor
            if isinstance(bboxes, torch.Tensor):
                gt_instances.bboxes = bboxes.numpy()
            name = '_'.join(
                str(sample.metainfo.get(key, ''))
                for key in ('case_id', 'view'))
            if name == '_':
                name = osp.splitext(osp.basename(sample.img_path))[0]
            out_file = osp.join(output_dir,
                                f'{index:04d}_{name}_{repeat}.png')
            visualizer.add_datasample(
                name,
                to_display(item['inputs'].numpy()),
                sample,
                draw_pred=False,
                out_file=out_file)
            files.append(out_file)
    return files


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    files = browse(cfg, args.output_dir, args.num_images, args.repeats,
                   args.seed)
    print(f'{len(files)} samples written to {args.output_dir}')


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
