"""Hand-built readers' COCO files for the reader agreement tests: 8
images of 4 two-view cases (wrist and elbow), each reader outlining known
squares, so that every agreement figure can be computed by hand."""
import json

import numpy as np

from mmdet_famo.datasets.coco_builder import CocoBuilder

SIZE = 32
# (case, body part, view) of the 8 images
IMAGES = [(f'c{case}', part, view)
          for case, part in ((1, 'wrist'), (2, 'wrist'), (3, 'elbow'),
                             (4, 'elbow')) for view in ('ap', 'lateral')]
# squares (x, y, side) each reader outlines, by image index
READER_A = {0: [(10, 10, 8)], 1: [(4, 4, 6)], 4: [(2, 2, 6), (20, 20, 8)]}
# image 0: the square shifted 2 px (Dice 0.75, IoU 0.6); image 1 missed;
# image 4: one of two, identical; image 6: a false finding
READER_B = {0: [(12, 10, 8)], 4: [(20, 20, 8)], 6: [(5, 20, 5)]}


def build_reader(squares, images=IMAGES, rename=None):
    builder = CocoBuilder()
    for index, (case, part, view) in enumerate(images):
        file_name = (rename or {}).get(index, f'{case}/{view}.png')
        image_id = builder.add_image(file_name,
                                     SIZE,
                                     SIZE,
                                     case_id=case,
                                     patient_id=f'p{case}',
                                     body_part=part,
                                     view=view)
        for x, y, side in squares.get(index, []):
            mask = np.zeros((SIZE, SIZE), bool)
            mask[y:y + side, x:x + side] = True
            builder.add_mask(image_id, mask, record=f'{file_name}')
    return builder.to_dict()


def write(path, coco):
    path.write_text(json.dumps(coco))
    return str(path)
