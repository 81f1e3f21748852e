"""Two hand-built test runs of FractureCaseMetric on the same small test set,
written by the metric itself, with the outcomes each model should get."""
import warnings
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from mmdet_famo.evaluation.metrics import FractureCaseMetric
from tests.reader_factory import READER_A, READER_B, build_reader, write

THRESHOLD = 0.5
IMAGE_SIZE = (64, 80)  # height, width
FRACTURE = [20., 20., 40., 44.]
HIT = [21., 19., 41., 43.]  # IoU 0.84 with FRACTURE
FALSE = [2., 2., 12., 12.]  # far from it
# fracture orientations (degrees), cycled: two near-horizontal, an oblique
# and a near-vertical one
ORIENTATIONS = [5., 170., 45., 90.]
# cases: (body part, number of views); a view is fractured when
# (case index + view) % 3 == 0; ankle cases have fractures on every view
CASES = [('wrist', 2)] * 6 + [('hand', 2)] * 5 + [('ankle', 2)] * 2
# boxes each model puts on an image, cycled over the images
MODEL_BOXES = {
    'A': ['hit', 'false', 'hit', 'none', 'both', 'hit', 'false'],
    'B': ['false', 'none', 'hit', 'hit', 'none', 'false', 'both', 'hit'],
}


def build_test_set():
    """Per image: id, path, case, body part, view, fractured."""
    images = []
    for case_index, (body_part, num_views) in enumerate(CASES):
        for view in range(num_views):
            img_id = len(images) + 1
            images.append(
                dict(
                    img_id=img_id,
                    img_path=f'images/img_{img_id}.png',
                    case_id=f'{body_part}{case_index}',
                    patient_id=f'p{case_index}',
                    body_part=body_part,
                    view=('ap', 'lateral')[view],
                    fractured=body_part == 'ankle'
                    or (case_index + view) % 3 == 0))
    return images


def model_records(model, images, seed):
    """The metric's records of one model, and per image the expected
    (highest box score, localised score) built by hand, -inf without a
    box that counts."""
    rng = np.random.default_rng(seed)
    records, expected = [], []
    for index, image in enumerate(images):
        kind = MODEL_BOXES[model][index % len(MODEL_BOXES[model])]
        boxes = {
            'hit': [HIT],
            'false': [FALSE],
            'both': [HIT, FALSE],
            'none': []
        }[kind]
        scores = rng.uniform(0.05, 0.95, len(boxes)).round(3)
        records.append(
            dict(
                img_id=image['img_id'],
                img_path=image['img_path'],
                case_id=image['case_id'],
                patient_id=image['patient_id'],
                body_part=image['body_part'],
                view=image['view'],
                gt_bboxes=np.array([FRACTURE] if image['fractured'] else [],
                                   float).reshape(-1, 4),
                gt_orientations=[float(ORIENTATIONS[index % 4])]
                if image['fractured'] else [],
                pred_bboxes=np.array(boxes, float).reshape(-1, 4),
                pred_scores=scores))
        score = scores.max() if len(scores) else -np.inf  # no box
        if image['fractured']:
            localised = scores[0] if kind in ('hit', 'both') else -np.inf
        else:
            localised = score
        expected.append((score, localised))
    return records, np.array(expected).reshape(-1, 2)


def evaluate(records, output_dir):
    """Run the metric on records; its metrics without the prefix."""
    metric = FractureCaseMetric(score_thr=THRESHOLD, output_dir=output_dir,
                                breakdown=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return metric.compute_metrics(records)


def write_images(root, images):
    (root / 'images').mkdir(parents=True, exist_ok=True)
    height, width = IMAGE_SIZE
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    for image in images:
        cv2.imwrite(str(root / image['img_path']), np.tile(ramp, (height, 1)))


@pytest.fixture(scope='session')
def two_runs(tmp_path_factory):
    """Model A (seed 1) and model B (seed 2) evaluated on the same images:
    their folders, the metric's own figures, and the hand-built truth."""
    root = tmp_path_factory.mktemp('runs')
    images = build_test_set()
    write_images(root, images)
    runs = {}
    for model, seed in (('A', 1), ('B', 2)):
        records, expected = model_records(model, images, seed)
        directory = root / f'run_{model}'
        runs[model] = SimpleNamespace(
            directory=str(directory),
            records=records,
            metrics=evaluate(records, str(directory)),
            scores=expected[:, 0],
            localised=expected[:, 1])
    labels = np.array([image['fractured'] for image in images])
    case_ids = np.array([image['case_id'] for image in images])
    return SimpleNamespace(
        root=root,
        threshold=THRESHOLD,
        images=images,
        labels=labels,
        case_ids=case_ids,
        body_parts=np.array([image['body_part'] for image in images]),
        a=runs['A'],
        b=runs['B'])


@pytest.fixture
def two_readers(tmp_path):
    """Two readers' files of the 8 hand-built images (tests/reader_factory)."""
    return [
        write(tmp_path / 'reader_a.json', build_reader(READER_A)),
        write(tmp_path / 'reader_b.json', build_reader(READER_B))
    ]
