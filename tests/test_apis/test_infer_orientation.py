"""Inference sees a turned image as displayed: a PNG stored turned with its
EXIF orientation gives the findings, size and overlay image of the same
picture stored upright."""
import numpy as np
from PIL import Image

from mmdet_famo.phantom import ANATOMIES, render_radiograph


def test_turned_image_gives_the_upright_findings(predictor, tmp_path):
    rng = np.random.default_rng(0)
    image = render_radiograph(rng, 256, 224, ANATOMIES['wrist'], 1).image
    display = np.rint(image * 255).astype(np.uint8)
    upright = tmp_path / 'upright.png'
    Image.fromarray(display).save(upright)
    turned = tmp_path / 'turned.png'
    exif = Image.Exif()
    exif[0x0112] = 6  # a viewer turns it 90 degrees clockwise
    Image.fromarray(display).transpose(Image.Transpose.ROTATE_90).save(
        turned, exif=exif)

    first, second = predictor([str(upright), str(turned)])

    assert (second.height, second.width) == (256, 224)
    assert len(first.scores) > 0
    np.testing.assert_array_equal(second.bboxes, first.bboxes)
    np.testing.assert_array_equal(second.scores, first.scores)
    assert second.image.shape[:2] == (256, 224)  # the overlay background
    np.testing.assert_array_equal(second.image, first.image)
