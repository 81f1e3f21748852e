"""Inference on phantom radiographs with a tiny random-init detector."""
import shutil

import mmcv
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmdet.datasets.transforms import PackDetInputs
from mmdet_famo.apis import (ImageFailure, infer_radiographs,
                             load_operating_points)
from mmdet_famo.datasets.transforms import LoadRadiograph
from mmdet_famo.evaluation.metrics import FractureCaseMetric
from mmdet_famo.phantom import ANATOMIES, render_radiograph
from tests.dicom_factory import write_dicom


def rendered_pixels(height, width, bits=12, seed=0):
    """A phantom radiograph with a fracture as stored values of ``bits``."""
    rng = np.random.default_rng(seed)
    image = render_radiograph(rng, height, width, ANATOMIES['wrist'], 1).image
    return np.rint(image * (2**bits - 1)).astype(np.uint16)


def test_boxes_are_in_original_image_coordinates(predictor, tmp_path):
    """A 640 x 512 image is resized to 160 x 128: the boxes are the model's
    boxes on the resized image, run by hand, scaled back by 4."""
    path = write_dicom(tmp_path / 'big.dcm',
                       rendered_pixels(640, 512),
                       BitsStored=12)
    prediction, = predictor([str(path)])

    img = LoadRadiograph()(dict(img_path=str(path)))['img']
    small = mmcv.imresize(img, (128, 160))  # mmdet's Resize: cv2 bilinear
    meta = dict(img_shape=(160, 128),
                ori_shape=(160, 128),
                scale_factor=(1., 1.))
    packed = PackDetInputs(meta_keys=tuple(meta))(dict(img=small, **meta))
    with torch.no_grad():
        reference, = predictor.model.test_step(pseudo_collate([packed]))

    assert (prediction.height, prediction.width) == (640, 512)
    assert len(prediction.scores) == len(reference.pred_instances) >= 10
    np.testing.assert_allclose(prediction.bboxes,
                               reference.pred_instances.bboxes.numpy() * 4,
                               atol=1e-3)
    np.testing.assert_allclose(prediction.scores,
                               reference.pred_instances.scores.numpy())
    # not in resized coordinates: boxes reach beyond 128 x 160
    assert prediction.bboxes[:, 2].max() > 128
    assert prediction.bboxes[:, 3].max() > 160
    assert (prediction.bboxes >= 0).all()
    assert (prediction.bboxes[:, 2] <= 512).all()
    assert (prediction.bboxes[:, 3] <= 640).all()


def test_monochrome1_and_monochrome2_twins_give_the_same_findings(
        predictor, tmp_path):
    pixels = rendered_pixels(256, 224)
    mono2 = write_dicom(tmp_path / 'mono2.dcm', pixels, BitsStored=12)
    mono1 = write_dicom(tmp_path / 'mono1.dcm',
                        4095 - pixels,
                        BitsStored=12,
                        PhotometricInterpretation='MONOCHROME1')
    # the same stored values read as MONOCHROME2: a negative image
    negative = write_dicom(tmp_path / 'negative.dcm',
                           4095 - pixels,
                           BitsStored=12)

    first, second, third = predictor([str(mono2), str(mono1), str(negative)])

    assert len(first.scores) > 0
    np.testing.assert_array_equal(first.bboxes, second.bboxes)
    np.testing.assert_array_equal(first.scores, second.scores)
    assert not np.array_equal(first.scores, third.scores)  # it can fail


def test_a_bad_file_is_skipped_and_the_batch_goes_on(predictor, phantoms,
                                                     phantom_predictions,
                                                     tmp_path):
    truncated = tmp_path / 'truncated.dcm'
    truncated.write_bytes(open(phantoms.files[0], 'rb').read()[:400])
    text = tmp_path / 'text.dcm'
    text.write_text('not a radiograph')
    files = phantoms.files[:3]
    paths = [files[0], str(truncated), files[1], str(text), files[2]]

    alone = phantom_predictions[:3]
    batched = list(predictor(paths, batch_size=4))

    failures = [r for r in batched if isinstance(r, ImageFailure)]
    assert [(f.index, f.path) for f in failures] == [(2, str(truncated)),
                                                     (4, str(text))]
    assert 'no Pixel Data' in failures[0].reason
    assert 'neither DICOM' in failures[1].reason
    assert all(str(tmp_path) not in f.reason for f in failures)
    images = [r for r in batched if not isinstance(r, ImageFailure)]
    assert [image.index for image in images] == [1, 3, 5]
    for image, reference in zip(images, alone):
        assert image.path == reference.path
        np.testing.assert_allclose(image.bboxes, reference.bboxes, atol=1e-3)
        np.testing.assert_allclose(image.scores, reference.scores, atol=1e-5)


def test_report_cases_follow_studies_and_verdicts_follow_views(
        predictor, phantoms, phantom_predictions, tmp_path):
    (tmp_path / 'in').mkdir()
    shutil.copytree(phantoms.root, tmp_path / 'in' / 'images')
    (tmp_path / 'in' / 'broken.dcm').write_text('not a radiograph')
    image_scores = [p.score for p in phantom_predictions]
    threshold = float(np.median(image_scores))

    report = infer_radiographs(
        predictor,
        [str(tmp_path / 'in'), str(tmp_path / 'missing')],
        str(tmp_path / 'out'),
        threshold,
        overlays=False)

    # broken.dcm is first (root files before sub-folders), the phantoms follow
    images = {
        image['image']: image
        for case in report['cases']
        for image in case['images']
    }
    assert sorted(images) == [f'image-{i:04d}' for i in range(2, 11)]
    study_of = {
        f'image-{i:04d}': phantoms.case_of[path]
        for i, path in enumerate(phantoms.files, start=2)
    }
    assert sorted(
        sorted(study_of[image['image']] for image in case['images'])
        for case in report['cases']) == sorted(
            sorted(study_of[name] for name in study_of
                   if study_of[name] == study)
            for study in set(study_of.values()))
    for case in report['cases']:
        assert case['grouped_by'] == 'StudyInstanceUID'
        assert case['positive'] == any(image['positive']
                                       for image in case['images'])
        assert case['score'] == max(image['score'] for image in case['images'])
        for image in case['images']:
            scores = [box['score'] for box in image['boxes']]
            assert image['positive'] == (max(scores) >= threshold)
            boxes = image['boxes']
            merged = [b for b in boxes if b['merged_into'] is not None]
            assert image['num_findings'] == sum(
                s >= threshold for s in scores) - len(merged)
            for box in merged:  # inside a higher finding by half or more
                finding = boxes[box['merged_into'] - 1]
                assert finding['merged_into'] is None
                assert finding['score'] >= box['score'] >= threshold
                assert covered_share(box['bbox'], finding['bbox']) >= 0.5
    verdicts = [image['positive'] for image in images.values()]
    assert any(verdicts) and not all(verdicts)
    summary = report['summary']
    assert summary['images'] == 9 and summary['cases'] == 4
    assert summary['positive_images'] == sum(verdicts)
    assert summary['positive_cases'] == sum(c['positive']
                                            for c in report['cases'])
    assert report['failures'][:1] == [
        dict(input='argument-2', reason='no such file or folder'),
    ]
    assert report['failures'][1]['input'] == 'image-0001'
    assert report['failures'][1]['reason'].startswith(
        "neither DICOM (no 'DICM' at byte 128) nor an image")
    assert summary['failures'] == 2


def test_the_threshold_saved_by_the_metric_is_used(tmp_path):
    """The metric picks Youden's threshold on two images and saves it; the
    inference API reads the same value from the file or its folder."""
    metric = FractureCaseMetric(choose_operating_points=True,
                                output_dir=str(tmp_path))
    fractured = dict(
        img_id=0,
        gt_instances=dict(bboxes=torch.tensor([[10., 10., 20., 20.]])),
        pred_instances=dict(bboxes=torch.tensor([[10., 10., 20., 21.]]),
                            scores=torch.tensor([0.8])))
    intact = dict(img_id=1,
                  gt_instances=dict(bboxes=torch.zeros(0, 4)),
                  pred_instances=dict(bboxes=torch.tensor([[1., 1., 5., 5.]]),
                                      scores=torch.tensor([0.3])))
    metric.process({}, [fractured, intact])
    # one image of each class: DeLong's variance is undefined, and says so
    with pytest.warns(UserWarning, match='DeLong variance needs'):
        chosen = metric.compute_metrics(metric.results)['threshold']

    assert chosen == pytest.approx(0.8)
    for path in (tmp_path, tmp_path / 'operating_threshold.json'):
        points = load_operating_points(str(path))
        assert points.definite.threshold == pytest.approx(0.8)
        assert points.definite.method == 'image_case_youden'


def test_an_undefined_saved_threshold_is_refused(tmp_path):
    (tmp_path / 'operating_threshold.json'
     ).write_text('{"threshold": NaN, "method": "youden"}')
    with pytest.raises(ValueError, match='--threshold'):
        load_operating_points(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        load_operating_points(str(tmp_path / 'missing.json'))


def covered_share(a, b) -> float:
    """The share of the smaller of boxes ``a`` and ``b`` inside both."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return max(width, 0) * max(height, 0) / smaller
