"""Grouping views into cases and the verdicts, on hand-built predictions."""
import numpy as np
import pytest

from mmdet_famo.apis import ImagePrediction, group_cases


def prediction(index, path, scores, study_uid=None):
    return ImagePrediction(index=index,
                           path=path,
                           bboxes=np.tile([0., 0., 10., 10.],
                                          (len(scores), 1)),
                           scores=np.array(scores, float),
                           height=20,
                           width=20,
                           radiograph_meta=dict(study_instance_uid=study_uid))


def test_views_are_grouped_by_study_uid_else_by_folder():
    images = [
        prediction(1, '/in/x/ap.dcm', [0.2, 0.1], '1.2.3'),
        prediction(2, '/in/y/ap.png', [0.3]),
        prediction(3, '/elsewhere/lat.dcm', [0.7], '1.2.3'),  # same study
        prediction(4, '/in/x/obl.dcm', [], '1.2.4'),  # same folder as 1
        prediction(5, '/in/y/lat.png', [0.49]),
    ]

    cases = group_cases(images[::-1])  # input order, not list order, rules

    assert [(case.grouped_by, case.study)
            for case in cases] == [('StudyInstanceUID', '1.2.3'),
                                   ('folder', '/in/y'),
                                   ('StudyInstanceUID', '1.2.4')]
    assert [[image.index for image in case.images]
            for case in cases] == [[1, 3], [2, 5], [4]]


@pytest.mark.parametrize(
    'threshold, image_verdicts, case_verdicts',
    [
        (0.5, [False, False, True, False, False], [True, False, False]),
        (0.3, [False, True, True, False, True], [True, True, False]),
        (0.7, [False, False, True, False, False], [True, False, False]),
        (0.71, [False] * 5, [False] * 3),
        # an image without boxes is never positive
        (0.0, [True, True, True, False, True], [True, True, False]),
    ])
def test_a_case_is_positive_if_any_view_is(threshold, image_verdicts,
                                           case_verdicts):
    images = [
        prediction(1, '/in/x/ap.dcm', [0.2, 0.1], '1.2.3'),
        prediction(2, '/in/y/ap.png', [0.3]),
        prediction(3, '/elsewhere/lat.dcm', [0.7, 0.05], '1.2.3'),
        prediction(4, '/in/x/obl.dcm', [], '1.2.4'),
        prediction(5, '/in/y/lat.png', [0.49]),
    ]
    cases = group_cases(images)

    assert [image.is_positive(threshold) for image in images] == \
        image_verdicts
    assert [case.is_positive(threshold) for case in cases] == case_verdicts
    assert [case.score for case in cases] == [0.7, 0.49, 0.]
