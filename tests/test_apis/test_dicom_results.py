"""The structured report and presentation states read back: every box,
score and level of the JSON report, on the right image of the right study."""
import hashlib
from types import SimpleNamespace

import cv2
import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.uid import (ComprehensiveSRStorage,
                         GrayscaleSoftcopyPresentationStateStorage)

from mmdet_famo.apis import dicom_result_files, infer_radiographs
from mmdet_famo.evaluation.operating_points import given_operating_points

LOCAL = '99MMDETFAMO'
#: The concept name of TID 1410's and 1501's qualitative evaluations.
QUALITATIVE_EVALUATIONS = ('UMLS', 'C0034375')


def coded(code):
    return code.scheme_designator, code.value


@pytest.fixture(scope='module')
def run(predictor, phantoms, phantom_predictions, model_files,
        tmp_path_factory):
    """The phantom study with the most views, run with thresholds between
    its box scores, so that it has definite and suspected findings and
    boxes below both; SR and presentation states written."""
    studies = {}
    for path in phantoms.files:
        studies.setdefault(phantoms.case_of[path], []).append(path)
    files = max(studies.values(), key=len)
    scores = np.sort(
        np.concatenate([
            p.scores for p in phantom_predictions if p.path in files
        ]))[::-1]
    points = given_operating_points(float(scores[1]), float(scores[6]))
    out = tmp_path_factory.mktemp('dicom_results')
    report = infer_radiographs(predictor,
                               files,
                               str(out),
                               points,
                               overlays=False,
                               structured_report=True,
                               presentation_state=True)
    return SimpleNamespace(files=files,
                           points=points,
                           out=out,
                           report=report,
                           case=report['cases'][0],
                           sources=[pydicom.dcmread(f) for f in files],
                           model_files=model_files)


def test_the_report_has_both_levels(run):
    levels = [
        box['level'] for image in run.case['images']
        for box in image['boxes']
    ]
    assert levels.count('definite') == 2
    assert levels.count('suspected') == 5
    assert None in levels
    assert run.case['level'] == 'definite' and run.case['positive']
    for image in run.case['images']:
        assert image['num_findings'] == sum(
            box['level'] is not None and box['merged_into'] is None
            for box in image['boxes'])


def test_the_sr_holds_every_finding_exactly(run):
    path, = run.case['structured_report']
    sr = hd.sr.srread(run.out / path)
    uid_of = {s.SOPInstanceUID: i for i, s in enumerate(run.sources)}

    assert sr.SOPClassUID == ComprehensiveSRStorage
    assert sr.StudyInstanceUID == run.sources[0].StudyInstanceUID
    assert sr.SeriesInstanceUID not in {
        s.SeriesInstanceUID
        for s in run.sources
    }
    assert sr.PatientID == run.sources[0].PatientID
    assert sr.CompletionFlag == 'COMPLETE'
    expected = {}
    for index, image in enumerate(run.case['images']):
        for rank, box in enumerate(image['boxes'], start=1):
            if box['level'] and box['merged_into'] is None:
                expected[f"{image['image']} finding {rank}"] = (index, box)
    groups = sr.content.get_planar_roi_measurement_groups()
    found = {}
    for group in groups:
        region = group.roi
        source, = region.ContentSequence  # SELECTED FROM its image
        reference, = source.ReferencedSOPSequence
        score, = group.get_measurements()
        level, = group.get_qualitative_evaluations()
        assert coded(group.finding_type) == ('SCT', '125605004')
        assert coded(score.name) == ('DCM', '111012')
        assert coded(level.name) == QUALITATIVE_EVALUATIONS
        assert level.value.scheme_designator == LOCAL
        assert region.graphic_type == hd.sr.GraphicTypeValues.POLYLINE
        found[group.tracking_identifier] = (
            uid_of[reference.ReferencedSOPInstanceUID], region.value,
            score.value, level.value.value)
    assert sorted(found) == sorted(expected)
    for name, (index, box) in expected.items():
        image, points, score, level = found[name]
        x1, y1, x2, y2 = box['bbox']
        assert image == index
        # 5 (column, row) points, closed; FL coordinates recover the
        # report's two decimals
        np.testing.assert_array_equal(
            np.round(points, 2),
            [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]])
        assert score == box['score']  # Floating Point Value: exact
        assert level == box['level'].upper()


def test_the_sr_holds_the_verdicts_and_the_algorithm(run):
    path, = run.case['structured_report']
    sr = hd.sr.srread(run.out / path)
    verdicts = {}
    for group in sr.content.get_image_measurement_groups():
        assert coded(group.finding_type) == ('SCT', '125605004')
        verdict, level = group.get_qualitative_evaluations()
        assert coded(verdict.name) == coded(level.name) == \
            QUALITATIVE_EVALUATIONS
        assert verdict.value.scheme_designator == 'SCT'
        assert level.value.scheme_designator == LOCAL
        score, = group.get_measurements()
        verdicts[group.tracking_identifier] = (verdict.value.value,
                                               level.value.value,
                                               score.value)
    expected = {
        entry['image'] if 'image' in entry else entry['case']:
        ('52101004' if entry['positive'] else '272519000',
         (entry['level'] or 'none').upper(), entry['score'])
        for entry in run.case['images'] + [run.case]
    }
    assert verdicts == expected

    parameters = [  # Algorithm Parameters (TID 4019)
        item.TextValue for item in _walk(sr)
        if item.get('ConceptNameCodeSequence')
        and item.ConceptNameCodeSequence[0].CodeValue == '111002'
    ]
    with open(run.model_files.checkpoint, 'rb') as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    assert f'checkpoint_sha256={digest}' in parameters
    assert f"config={run.model_files.config.split('/')[-1]}" in parameters
    for point in run.points:
        assert any(
            p.startswith(f'{point.level}_threshold={point.threshold!r} ')
            for p in parameters)


def _walk(dataset):
    """Every content item under ``dataset``, depth first."""
    for item in dataset.get('ContentSequence', []):
        yield item
        yield from _walk(item)


def test_presentation_states_draw_each_level_in_its_layer(run):
    paths = run.case['presentation_state']
    states = [pydicom.dcmread(run.out / path) for path in paths]
    # one per group of views sharing photometric interpretation and
    # rescale, among the views with findings
    groups = {(s.PhotometricInterpretation, s.RescaleSlope, s.RescaleIntercept)
              for s, image in zip(run.sources, run.case['images'])
              if image['level']}
    assert len(states) == len(groups)
    index_of = {s.SOPInstanceUID: i for i, s in enumerate(run.sources)}
    drawn = {}
    for state in states:
        assert state.SOPClassUID == GrayscaleSoftcopyPresentationStateStorage
        assert state.StudyInstanceUID == run.sources[0].StudyInstanceUID
        layers = {
            layer.GraphicLayer: layer
            for layer in state.GraphicLayerSequence
        }
        assert set(layers) == {'SUSPECTED', 'DEFINITE'}
        photometric = {
            run.sources[index_of[image.ReferencedSOPInstanceUID]].
            PhotometricInterpretation
            for series in state.ReferencedSeriesSequence
            for image in series.ReferencedImageSequence
        }
        assert state.PresentationLUTShape == {
            ('MONOCHROME1', ): 'INVERSE',
            ('MONOCHROME2', ): 'IDENTITY'
        }[tuple(photometric)]
        colours = {
            name: list(layer.GraphicLayerRecommendedDisplayCIELabValue)
            for name, layer in layers.items()
        }
        assert colours['SUSPECTED'] != colours['DEFINITE']
        assert layers['DEFINITE'].GraphicLayerOrder > \
            layers['SUSPECTED'].GraphicLayerOrder  # drawn on top
        referenced = {
            image.ReferencedSOPInstanceUID
            for series in state.ReferencedSeriesSequence
            for image in series.ReferencedImageSequence
        }
        for annotation in state.GraphicAnnotationSequence:
            image, = annotation.ReferencedImageSequence
            assert image.ReferencedSOPInstanceUID in referenced
            index = index_of[image.ReferencedSOPInstanceUID]
            texts = [
                text.UnformattedTextValue
                for text in annotation.TextObjectSequence
            ]
            for graphic, text in zip(annotation.GraphicObjectSequence, texts):
                assert graphic.GraphicAnnotationUnits == 'PIXEL'
                assert graphic.GraphicType == 'POLYLINE'
                drawn[graphic.TrackingID] = (
                    index, annotation.GraphicLayer,
                    np.reshape(graphic.GraphicData, (-1, 2)), text)
    expected = {}
    for index, image in enumerate(run.case['images']):
        for rank, box in enumerate(image['boxes'], start=1):
            if box['level'] and box['merged_into'] is None:
                expected[f"{image['image']} finding {rank}"] = (index, box)
    assert sorted(drawn) == sorted(expected)
    for name, (index, box) in expected.items():
        image, layer, points, text = drawn[name]
        x1, y1, x2, y2 = box['bbox']
        assert (image, layer) == (index, box['level'].upper())
        np.testing.assert_array_equal(
            np.round(points, 2),
            [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]])
        assert text == f"{box['level']} {box['score']:.2f}"


def test_sr_and_presentation_state_share_tracking_uids(run):
    path, = run.case['structured_report']
    sr = hd.sr.srread(run.out / path)
    in_sr = {
        g.tracking_identifier: g.tracking_uid
        for g in sr.content.get_planar_roi_measurement_groups()
    }
    in_states = {
        graphic.TrackingID: graphic.TrackingUID
        for path in run.case['presentation_state']
        for annotation in pydicom.dcmread(run.out /
                                          path).GraphicAnnotationSequence
        for graphic in annotation.GraphicObjectSequence
    }
    assert in_sr == in_states


def test_dicom_files_list_every_result(run):
    listed = dicom_result_files(run.report, str(run.out))
    written = sorted(str(p) for p in run.out.rglob('*.dcm'))
    assert sorted(listed) == written
    assert len(listed) == 1 + len(run.case['presentation_state'])
    assert not list(run.out.rglob('*.tmp'))  # atomic writes leave nothing


def test_no_study_results_without_a_study(predictor, tmp_path):
    cv2.imwrite(str(tmp_path / 'ap.png'), np.full((64, 48), 90, np.uint8))
    report = infer_radiographs(predictor, [str(tmp_path / 'ap.png')],
                               str(tmp_path / 'out'),
                               0.,
                               structured_report=True,
                               presentation_state=True)
    assert report['dicom_files'] == []
    assert 'structured_report' not in report['cases'][0]


def test_no_presentation_state_without_findings(run, predictor, tmp_path):
    report = infer_radiographs(predictor,
                               run.files,
                               str(tmp_path),
                               2.,  # above every score
                               overlays=False,
                               structured_report=True,
                               presentation_state=True)
    case, = report['cases']
    assert case['presentation_state'] == [] and case['level'] is None
    sr = hd.sr.srread(tmp_path / case['structured_report'][0])
    assert sr.content.get_planar_roi_measurement_groups() == []
    assert {
        group.tracking_identifier:
        group.get_qualitative_evaluations()[0].value.value
        for group in sr.content.get_image_measurement_groups()
    } == dict.fromkeys([image['image'] for image in case['images']] +
                       [case['case']], '272519000')  # Absent
