"""Group radiographs into cases and give each case its verdict."""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

from mmdet_famo.evaluation.functional import is_case_positive
from .predictor import ImagePrediction


@dataclass
class Case:
    """The views of one study.

    Args:
        study (str): The StudyInstanceUID, or the folder of the files when
            they have none (PNG, JPEG, DICOM without the tag). An
            identifier: reported only on request.
        grouped_by (str): 'StudyInstanceUID' or 'folder'.
        images (list[ImagePrediction]): The views, in input order.
    """
    study: str
    grouped_by: str
    images: List[ImagePrediction] = field(default_factory=list)

    @property
    def score(self) -> float:
        """The highest image score of its views (as ``FractureCaseMetric``)."""
        return max(image.score for image in self.images)

    def is_positive(self, threshold: float) -> bool:
        """Positive if any view is (the rule of
        :mod:`mmdet_famo.evaluation.functional.fracture_levels`)."""
        return is_case_positive(
            image.is_positive(threshold) for image in self.images)


def case_key(image: ImagePrediction) -> Tuple[str, str]:
    """How ``image`` is grouped: ``('StudyInstanceUID', uid)``, or
    ``('folder', its parent folder)`` when it has no StudyInstanceUID."""
    study_uid = image.radiograph_meta.get('study_instance_uid')
    if study_uid:
        return 'StudyInstanceUID', study_uid
    return 'folder', osp.dirname(osp.abspath(image.path))


def group_cases(images: Sequence[ImagePrediction]) -> List[Case]:
    """Group ``images`` into cases by :func:`case_key`, cases in the order of
    their first view, views in input order.

    A DICOM study is one case wherever its files lie (several folders, files
    named one by one); files without a StudyInstanceUID form one case per
    folder, so a folder per study is the layout to use for PNG or JPEG.
    """
    cases: Dict[Tuple[str, str], Case] = {}
    for image in sorted(images, key=lambda image: image.index):
        grouped_by, study = key = case_key(image)
        cases.setdefault(key, Case(study, grouped_by)).images.append(image)
    return list(cases.values())
