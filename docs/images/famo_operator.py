"""Draw docs/images/famo-operator.png, the README's picture: a phantom
radiograph's two kinds of fracture box and the square FAMO pools for each.

    python docs/images/famo_operator.py

A transverse fracture of an upright bone has a narrow box, an oblique one a
squarish box; RoI-Align would stretch each to the same 7 x 7 grid, so the
two become differently distorted features of one class. FAMO expands each
box's short side to its long side about the same centre first (the paper's
Fig. 7; docs/famo-operator.md).
"""
import os.path as osp
import sys
import tempfile

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
from mmdet_famo.datasets.transforms import LoadRadiograph  # noqa: E402
from mmdet_famo.phantom import (PhantomConfig,  # noqa: E402
                                generate_phantom_dataset)
from mmdet_famo.structures import square_boxes  # noqa: E402

OUT_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'famo-operator.png')


def pick_images(coco: dict):
    """The first image with an elongated box (>= 3:1) and the first with a
    squarish one (< 1.5:1)."""
    picks = {}
    for annotation in coco['annotations']:
        _, _, w, h = annotation['bbox']
        ratio = max(w, h) / min(w, h)
        kind = 'elongated' if ratio >= 3 else \
            'squarish' if ratio < 1.5 else None
        if kind and kind not in picks and min(w, h) >= 4:
            picks[kind] = annotation
    return picks['elongated'], picks['squarish']


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        coco, _ = generate_phantom_dataset(
            folder, PhantomConfig(num_patients=12, seed=0,
                                  fracture_free_fraction=0.))
        images = {image['id']: image for image in coco['images']}
        figure = Figure(figsize=(8, 4.4), dpi=100)
        titles = ('transverse fracture: narrow box', 'oblique fracture: '
                  'squarish box')
        for axes, annotation, title in zip(figure.subplots(1, 2),
                                           pick_images(coco), titles):
            image = images[annotation['image_id']]
            pixels = LoadRadiograph(output='float32')(dict(
                img_path=osp.join(folder, 'images',
                                  image['file_name'])))['img']
            x, y, w, h = annotation['bbox']
            square = square_boxes(torch.tensor([[x, y, x + w,
                                                 y + h]]))[0].tolist()
            centre = np.array([x + w / 2, y + h / 2])
            half = max(w, h) * 1.6
            axes.imshow(pixels, cmap='gray')
            axes.add_patch(
                Rectangle((x, y), w, h, fill=False, color='tab:green', lw=2,
                          label='fracture box (RoI)'))
            axes.add_patch(
                Rectangle(square[:2], square[2] - square[0],
                          square[3] - square[1], fill=False,
                          color='gold', lw=2, ls='--',
                          label='FAMO square pooled'))
            axes.set_xlim(centre[0] - half, centre[0] + half)
            axes.set_ylim(centre[1] + half, centre[1] - half)
            axes.set_title(title, fontsize=10)
            axes.axis('off')
        axes.legend(loc='lower right', fontsize=8)
        figure.tight_layout()
        figure.savefig(OUT_FILE)
    print(OUT_FILE)


if __name__ == '__main__':
    main()
