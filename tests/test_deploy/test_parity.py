"""The exported graph in ONNX Runtime against the PyTorch model, image by
image, on briefly trained tiny models (baseline and FAMO): phantoms, an
empty image, crops with the anatomy cut at the border and strips of
extreme aspect ratio."""
import cv2
import numpy as np
import pytest

from mmdet_famo.apis import RadiographPredictor, find_radiographs
from mmdet_famo.datasets.transforms.loading import LoadRadiograph
from mmdet_famo.deploy.runtime import OnnxDetector
from mmdet_famo.evaluation.functional.box_matching import pairwise_overlaps

pytestmark = pytest.mark.heavy

#: The parity bars: every box matched at IoU >= 0.99 (one to one), scores
#: within 1e-3.
MIN_IOU = 0.99
MAX_SCORE_DIFFERENCE = 1e-3


@pytest.fixture(scope='module')
def images(phantom_root, tmp_path_factory):
    """The phantoms' DICOM files, and PNGs made from one: black (nothing
    to find), its top-left quarter (anatomy cut by two borders), strips of
    1:16 and 12:1, and a 41 x 37 px crop (upscaled by the resize)."""
    files, failures = find_radiographs([str(phantom_root / 'images')])
    assert not failures
    folder = tmp_path_factory.mktemp('parity_pngs')
    loaded = LoadRadiograph()(dict(img_path=files[0]))['img'][:, :, 0]
    height, width = loaded.shape
    crops = dict(
        black=np.zeros((200, 150), np.uint8),
        quarter=loaded[:height // 2, :width // 2],
        wide=loaded[150:166, :],
        tall=loaded[:, 100:127],
        small=loaded[140:181, 110:147])
    made = []
    for name, crop in crops.items():
        path = str(folder / f'{name}.png')
        cv2.imwrite(path, np.ascontiguousarray(crop))
        made.append(path)
    return files + made


def test_rescale_matches_mmdet_resize():
    """The runtime's resize is the test pipeline's, pixel for pixel."""
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope

    from mmdet_famo.deploy.runtime import rescale
    init_default_scope('mmdet')
    resize = Compose([dict(type='Resize', scale=(160, 160),
                           keep_ratio=True)])
    rng = np.random.RandomState(0)
    for height, width in [(320, 256), (16, 256), (320, 27), (41, 37),
                          (161, 160), (999, 1001)]:
        image = rng.randint(0, 256, (height, width, 3), dtype=np.uint8)
        expected = resize(dict(img=image))
        actual, scale_factor = rescale(image, (160, 160), 'bilinear')
        np.testing.assert_array_equal(actual, expected['img'])
        np.testing.assert_allclose(scale_factor, expected['scale_factor'])


def match(torch_boxes, torch_scores, onnx_boxes, onnx_scores):
    """Pair each PyTorch box with its best-overlapping ONNX box; the
    IoUs and score differences of the pairs."""
    assert len(onnx_boxes) == len(torch_boxes)
    if not len(torch_boxes):
        return np.ones(0), np.zeros(0)
    ious = pairwise_overlaps(torch_boxes, onnx_boxes, 'iou')
    best = ious.argmax(axis=1)
    assert len(set(best.tolist())) == len(best), 'a box matched twice'
    return ious[np.arange(len(best)), best], \
        np.abs(torch_scores - onnx_scores[best])


def test_onnx_matches_pytorch(trained, images):
    """Same boxes kept, each matched at IoU >= 0.99, scores within 1e-3,
    on every image; boxes on the image border are among them."""
    predictor = RadiographPredictor(trained.config, trained.checkpoint)
    detector = OnnxDetector(trained.onnx, num_threads=1)
    boxes_seen, border_boxes, empty_images = 0, 0, 0
    for prediction in predictor(images):
        assert not hasattr(prediction, 'reason'), prediction
        onnx_boxes, onnx_scores = detector(prediction.image)
        ious, differences = match(prediction.bboxes, prediction.scores,
                                  onnx_boxes, onnx_scores)
        name = prediction.path.rsplit('/', 1)[-1]
        assert (ious >= MIN_IOU).all(), (name, ious.min())
        assert (differences <= MAX_SCORE_DIFFERENCE).all(), \
            (name, differences.max())
        boxes_seen += len(ious)
        empty_images += not len(ious)
        border_boxes += int(
            ((prediction.bboxes[:, :2] <= 0.5).any(axis=1) |
             (prediction.bboxes[:, 2] >= prediction.width - 0.5) |
             (prediction.bboxes[:, 3] >= prediction.height - 0.5)).sum())
    assert boxes_seen > 20, 'too few boxes to compare'
    assert border_boxes > 0, 'no box on an image border'
    assert empty_images > 0, 'no image without boxes'


def test_model_info(trained):
    """The file describes itself: config, checkpoint and its SHA-256,
    classes and preprocessing, as exported."""
    import hashlib
    from mmdet_famo.deploy.model_info import ModelInfo
    info = ModelInfo.from_file(trained.onnx)
    assert info == trained.info
    with open(trained.checkpoint, 'rb') as file:
        assert info.checkpoint_sha256 == hashlib.sha256(
            file.read()).hexdigest()
    assert info.checkpoint == trained.checkpoint.rsplit('/', 1)[-1]
    assert info.class_names == ('fracture', )
    assert info.preprocessing['resize'] == dict(scale=[160, 160],
                                                interpolation='bilinear')
    assert info.preprocessing['max_size'] == [160, 160]
    assert "type='FAMOBBoxRoIExtractor'" in info.config or \
        trained.name == 'baseline'
