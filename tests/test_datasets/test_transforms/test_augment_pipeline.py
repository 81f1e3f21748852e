"""The configs' training pipeline, after loading, over many seeds: boxes
stay inside the image, never degenerate, and agree with their masks;
fracture-free images stay; a seed reproduces a run."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmdet.datasets.transforms import FilterAnnotations
from mmdet.registry import TRANSFORMS
from mmdet.structures.mask import BitmapMasks
from mmdet_famo.phantom import ANATOMIES, PhantomConfig, \
    generate_phantom_dataset, render_radiograph

ROOT = Path(__file__).parents[3]
CONFIG = ROOT / 'configs/famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'
LOADERS = ('LoadRadiograph', 'LoadAnnotations')
# Boxes are scaled exactly while bitmap masks are resized by nearest
# neighbour, which moves a mask's box by less than a pixel; there are two
# resizes (RandomResize, then RandomAspectRatio stretching the first error
# by up to sqrt(1.2)), so a mask's own box is within this of its box.
MASK_BOX_TOLERANCE = 1 + 1.2**0.5


@pytest.fixture(scope='module')
def config():
    init_default_scope('mmdet')
    return Config.fromfile(CONFIG)


@pytest.fixture(scope='module')
def augment(config):
    """The training pipeline from the config, without its two loaders."""
    types = [step['type'] for step in config.train_pipeline]
    assert types[:2] == list(LOADERS)
    return Compose(
        [TRANSFORMS.build(step) for step in config.train_pipeline[2:]])


def loaded(img, masks):
    """What LoadRadiograph + LoadAnnotations give for a grey ``img`` (float
    in [0, 1] or uint8) and boolean instance ``masks``."""
    if img.dtype != np.uint8:
        img = np.rint(img.clip(0, 1) * 255).astype(np.uint8)
    height, width = img.shape
    gt_masks = BitmapMasks(
        np.array(masks, dtype=np.uint8).reshape(-1, height, width), height,
        width)
    num = len(gt_masks)
    return dict(
        img=cv2.cvtColor(img, cv2.COLOR_GRAY2BGR),
        img_shape=(height, width),
        ori_shape=(height, width),
        img_path=f'synthetic_{height}x{width}.png',
        gt_bboxes=gt_masks.get_bboxes('hbox'),
        gt_bboxes_labels=np.zeros(num, dtype=np.int64),
        gt_ignore_flags=np.zeros(num, dtype=bool),
        gt_masks=gt_masks)


def fracture_lines(rng, height, width, num):
    """Thin lines of random place, orientation and thickness, some of them
    at the border or in a corner, where shifts and rotations cut them."""
    masks = np.zeros((num, height, width), dtype=np.uint8)
    for mask in masks:
        start = rng.uniform([0, 0], [width, height])
        if rng.random() < 0.3:  # hug a border or a corner
            start = np.where(rng.random(2) < 0.5, 2, [width - 3, height - 3])
        angle = rng.uniform(0, np.pi)
        length = rng.uniform(8, 0.4 * min(height, width))
        end = start + length * np.array([np.cos(angle), np.sin(angle)])
        cv2.line(mask, tuple(int(v) for v in start),
                 tuple(int(v) for v in end), 1, int(rng.integers(1, 5)))
    return masks


def check_sample(packed, min_box_size, masks_survive=True):
    """The invariants of a packed training sample; ``masks_survive``: no
    mask is thin enough to vanish in a nearest-neighbour downscale."""
    inputs = packed['inputs']
    sample = packed['data_samples']
    height, width = inputs.shape[1:]
    assert tuple(sample.metainfo['img_shape']) == (height, width)
    assert torch.equal(inputs[0], inputs[1]) and torch.equal(
        inputs[0], inputs[2])  # grey stays grey
    gt = sample.gt_instances
    boxes = gt.bboxes.tensor.numpy()
    masks = gt.masks
    assert len(boxes) == len(gt.labels) == len(masks)
    assert (masks.height, masks.width) == (height, width)
    assert (boxes[:, :2] >= 0).all()
    assert (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()
    assert (boxes[:, 2:] - boxes[:, :2] > min_box_size).all()
    if masks_survive:
        assert all(mask.any() for mask in masks.masks)
        np.testing.assert_allclose(
            masks.get_bboxes('hbox').numpy(), boxes, atol=MASK_BOX_TOLERANCE)
    return len(boxes)


def test_synthetic_fractures_over_many_seeds(config, augment):
    rng = np.random.default_rng(0)
    kept = total = 0
    for seed in range(60):
        height, width = rng.integers(160, 400, 2)
        num = int(rng.integers(0, 4))
        img = rng.integers(0, 256, (height, width), dtype=np.uint8)
        np.random.seed(seed)
        packed = augment(
            loaded(img, fracture_lines(rng, height, width, num)))
        assert packed is not None
        kept += check_sample(packed, config.min_box_size)
        total += num
    assert 0.7 * total < kept <= total  # the border cases lose a few


def test_phantom_radiographs_over_many_seeds(config, augment):
    anatomies = list(ANATOMIES.values())
    fractures = fracture_free = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        radiograph = render_radiograph(rng, 320, 256,
                                       anatomies[seed % len(anatomies)],
                                       seed % 3)
        np.random.seed(seed)
        packed = augment(
            loaded(radiograph.image, radiograph.fracture_masks))
        count = check_sample(packed, config.min_box_size)
        fractures += count
        fracture_free += count == 0
    assert fractures >= 30 and fracture_free >= 13


def test_same_seed_same_sample(augment):
    rng = np.random.default_rng(1)
    radiograph = render_radiograph(rng, 320, 256, ANATOMIES['wrist'], 2)
    runs = []
    for seed in (5, 5, 6):
        np.random.seed(seed)
        runs.append(
            augment(loaded(radiograph.image, radiograph.fracture_masks)))
    first, again, other = (run['data_samples'] for run in runs)
    assert torch.equal(runs[0]['inputs'], runs[1]['inputs'])
    assert torch.equal(first.gt_instances.bboxes.tensor,
                       again.gt_instances.bboxes.tensor)
    np.testing.assert_array_equal(first.gt_instances.masks.masks,
                                  again.gt_instances.masks.masks)
    assert first.metainfo == again.metainfo
    assert first.metainfo['img_shape'] != other.metainfo['img_shape']


def test_fracture_free_and_emptied_images_stay(config, augment):
    empty = np.zeros((0, 200, 160), dtype=bool)
    for seed in range(10):
        np.random.seed(seed)
        packed = augment(loaded(np.full((200, 160), 90, np.uint8), empty))
        assert packed is not None
        assert len(packed['data_samples'].gt_instances) == 0
    # A 2 x 2 px fracture on a 2000 px image shrinks below a pixel at the
    # training scale (800 px * 0.8..1.2) unless rotated into 3 x 3 px.
    tiny = np.zeros((1, 2000, 2000), dtype=bool)
    tiny[0, 1000:1002, 1000:1002] = True
    emptied = 0
    for seed in range(6):
        np.random.seed(seed)
        packed = augment(loaded(np.zeros((2000, 2000), np.uint8), tiny))
        emptied += check_sample(
            packed, config.min_box_size, masks_survive=False) == 0
    assert emptied >= 3
    # MMDetection's default, keep_empty=True, would drop such an image
    filters = [
        step for step in config.train_pipeline
        if step['type'] == 'FilterAnnotations'
    ]
    assert [f['keep_empty'] for f in filters] == [False]
    sliver = loaded(np.zeros((20, 20), np.uint8), tiny[:, 999:1019,
                                                       999:1019])
    assert FilterAnnotations(min_gt_bbox_wh=(2, 2))(sliver) is None


def test_browse_dataset_writes_the_augmented_samples(tmp_path, config):
    generate_phantom_dataset(
        tmp_path / 'data',
        PhantomConfig(
            num_patients=1, height=128, width=96,
            fracture_free_fraction=0.))
    spec = importlib.util.spec_from_file_location(
        'browse_dataset', ROOT / 'tools/misc/browse_dataset.py')
    browse_dataset = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(browse_dataset)
    cfg = config.copy()
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'data') + '/'
    cfg.visualizer.name = 'browse-augmented'  # mmengine keeps it by name
    files = browse_dataset.browse(
        cfg, str(tmp_path / 'browse'), num_images=2, repeats=2, seed=0)
    assert len(files) == 4 and len(set(files)) == 4
    for file in files:
        assert Path(file).name.startswith(('0000_PH0001_S1_', '0001_PH0001'))
        drawing = cv2.imread(file).astype(np.int64)
        # the radiograph is grey, so coloured pixels are the drawn boxes
        # and masks of the fractures (every phantom study here has one)
        coloured = np.abs(drawing[..., 2] - drawing[..., 1]) > 40
        assert 10 < coloured.sum() < 0.2 * coloured.size
