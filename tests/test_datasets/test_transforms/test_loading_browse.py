"""The browse tool draws a turned image's boxes on its marked structure: it
reads through ``LoadRadiograph``, which applies the EXIF orientation."""
import importlib.util
import json
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset

ROOT = Path(__file__).parents[3]
CONFIG = ROOT / 'configs/famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'


def browse_module():
    spec = importlib.util.spec_from_file_location(
        'browse_dataset', ROOT / 'tools/misc/browse_dataset.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('tagged', [True, False])
def test_browse_draws_boxes_on_the_displayed_image(tmp_path, tagged):
    data = tmp_path / 'data'
    generate_phantom_dataset(
        data,
        PhantomConfig(num_patients=1,
                      height=128,
                      width=96,
                      fracture_free_fraction=0.))
    coco_file = data / 'annotations' / 'train.json'
    coco = json.loads(coco_file.read_text())
    record = coco['images'][0]
    # One large box (the label text covers the top of a small one).
    x, y, w, h = 20, 30, 50, 70
    annotation = next(a for a in coco['annotations']
                      if a['image_id'] == record['id'])
    annotation.update(bbox=[x, y, w, h], area=w * h)
    coco['annotations'] = [
        a for a in coco['annotations']
        if a['image_id'] != record['id'] or a is annotation
    ]
    # The displayed image: dark, with a bright structure inside the box.
    display = np.full((record['height'], record['width']), 20, np.uint8)
    display[y + 2:y + h - 2, x + 2:x + w - 2] = 250
    # Stored turned by 90 degrees, tagged 6 so that viewers turn it back
    # (untagged: a file whose boxes do not fit it, the control).
    stored = Image.fromarray(display).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6 if tagged else 1
    stored.save(data / 'images' / 'turned.png', exif=exif)
    record['file_name'] = 'turned.png'
    coco_file.write_text(json.dumps(coco))

    init_default_scope('mmdet')
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.dataset.data_root = str(data) + '/'
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='LoadRadiograph', clip_limit=None),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='PackDetInputs')
    ]
    # one visualizer per test: mmengine keeps instances by name
    cfg.visualizer.name = f'browse-tagged-{tagged}'
    browse = partial(browse_module().browse,
                     cfg,
                     str(tmp_path / 'browse'),
                     num_images=1,
                     repeats=1,
                     seed=0)
    if tagged:
        files = browse()
    else:  # the control's box runs past the turned image, as mmengine says
        with pytest.warns(UserWarning, match='out of bounds'):
            files = browse()
    drawing = cv2.imread(files[0]).astype(int)
    grey = (np.abs(drawing[..., 2] - drawing[..., 1])
            < 10) & (np.abs(drawing[..., 1] - drawing[..., 0]) < 10)
    # The lower part of the box's inside (the label text lies at its top).
    structure = drawing[y + h // 2:y + h - 4, x + 4:x + w - 4].mean(axis=2)
    if not tagged:
        assert drawing.shape[:2] == (record['width'], record['height'])
        assert structure.mean() < 200  # the box misses the structure
        return
    assert drawing.shape[:2] == (record['height'], record['width'])
    # Inside the box: the bright structure; along its edges: the drawn box.
    assert structure.min() > 200
    edges = np.concatenate([
        drawing[y, x:x + w], drawing[y + h - 1, x:x + w], drawing[y:y + h, x],
        drawing[y:y + h, x + w - 1]
    ])
    assert not grey[y, x] and (np.abs(edges[:, 2] - edges[:, 1]) > 40).mean() \
        > 0.8
