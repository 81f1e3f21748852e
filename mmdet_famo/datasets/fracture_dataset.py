import logging
from typing import List, Optional, Union

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.fileio import exists
from mmengine.logging import print_log

from .coco_builder import UNKNOWN
from .metainfo import FRACTURE_METAINFO


@DATASETS.register_module()
class FractureDataset(CocoDataset):
    """Radiographs with fracture annotations in COCO format, with cases.

    Image records carry ``case_id`` (the study), ``patient_id``,
    ``body_part`` and ``view`` besides the COCO keys; they are copied into
    each data info, so ``PackDetInputs(meta_keys=(..., 'case_id',
    'patient_id', 'body_part', 'view'))`` puts them into the data samples'
    metainfo, where the per-case metric reads them (the paper's per-case
    level counts a case positive when any of its views is, Methods,
    "Model evaluation").

    Fracture-free images are kept in training and evaluation: the paper
    reports per-image and per-case specificity, and negatives teach the
    detector what an intact bone looks like.  MMDetection's stock
    ``_base_`` configs set ``filter_cfg=dict(filter_empty_gt=True, ...)``,
    which would silently drop them when a config inherits it, so with
    ``keep_fracture_free=True`` (the default) ``filter_empty_gt`` is
    ignored; ``min_size`` still applies.

    Plain COCO files work as they are: an image record without ``case_id``
    is its own case (``image_<id>``), and one without ``patient_id`` its
    case's own patient, so per-case figures equal per-image ones for such
    images; one warning says how many records were read so.

    Args:
        keep_fracture_free (bool): Keep images without fractures whatever
            ``filter_cfg`` says. Defaults to True.
        **kwargs: Passed to :class:`mmdet.datasets.CocoDataset`.
    """

    METAINFO = FRACTURE_METAINFO
    CASE_KEYS = ('case_id', 'patient_id', 'body_part', 'view')

    def __init__(self,
                 *args,
                 keep_fracture_free: bool = True,
                 **kwargs) -> None:
        self.keep_fracture_free = keep_fracture_free
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the annotation file; warn once if some image records have
        no case or patient and were made their own."""
        self.num_without_case = 0
        data_list = super().load_data_list()
        if self.num_without_case:
            print_log(
                f'{self.ann_file}: {self.num_without_case} of '
                f'{len(data_list)} image records have no case_id or '
                'patient_id; each such image is taken as its own case and '
                'patient (convert the data with tools/dataset_converters '
                'to group views into cases)',
                logger='current',
                level=logging.WARNING)
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Parse one image record and its annotations, adding the case
        metadata and checking that the record is usable."""
        img_info = raw_data_info['raw_img_info']
        record = (f'{self.ann_file}: image {img_info.get("id")} '
                  f'({img_info.get("file_name")!r})')
        missing = [
            key for key in ('file_name', 'width', 'height')
            if is_missing(img_info.get(key))
        ]
        if missing:
            raise ValueError(f'{record} lacks {", ".join(missing)}; convert '
                             'the data with tools/dataset_converters')
        data_info = super().parse_data_info(raw_data_info)
        if not exists(data_info['img_path'], backend_args=self.backend_args):
            raise FileNotFoundError(
                f'{record}: image file {data_info["img_path"]} not found')
        for key in self.CASE_KEYS:
            value = img_info.get(key)
            data_info[key] = UNKNOWN if is_missing(value) else str(value)
        if is_missing(img_info.get('case_id')):
            data_info['case_id'] = f'image_{img_info["img_id"]}'
        if is_missing(img_info.get('patient_id')):
            data_info['patient_id'] = data_info['case_id']
        if any(
                is_missing(img_info.get(key))
                for key in ('case_id', 'patient_id')):
            self.num_without_case += 1
        orientations = fracture_orientations(raw_data_info['raw_ann_info'],
                                             data_info['instances'])
        if orientations is not None:
            data_info['fracture_orientations'] = orientations
        # an instance outlined only by its box (GRAZPEDWRI-DX): RandomRotate
        # turns such images by multiples of 90 degrees only
        data_info['box_only'] = any(
            ann.get('box_only', False)
            for ann in raw_data_info['raw_ann_info'])
        return data_info

    def filter_data(self) -> List[dict]:
        """Apply ``filter_cfg``, keeping fracture-free images when
        ``keep_fracture_free`` is set."""
        if (self.keep_fracture_free and self.filter_cfg
                and self.filter_cfg.get('filter_empty_gt', False)):
            print_log(
                'FractureDataset keeps fracture-free images: '
                'filter_empty_gt=True is ignored (set '
                'keep_fracture_free=False to drop them)',
                logger='current')
            self.filter_cfg = dict(self.filter_cfg, filter_empty_gt=False)
        return super().filter_data()


def is_missing(value) -> bool:
    """Whether a record's value is absent (``None`` or empty); 0 is not."""
    return value is None or value == ''


def fracture_orientations(raw_annotations: List[dict],
                          instances: List[dict]) -> Optional[List]:
    """The ``fracture_orientation`` (degrees in [0, 180) from the image's
    horizontal axis, None where missing) of each instance that is not
    ignored, in the order of ``gt_instances``, for the metric's breakdown
    by orientation; None when no annotation has one.

    CocoDataset drops some annotations (ignored, empty, other classes)
    and keeps the order of the rest, so each instance is the next
    annotation with its box."""
    if not any('fracture_orientation' in ann for ann in raw_annotations):
        return None
    remaining = iter(raw_annotations)
    orientations = []
    for instance in instances:
        for ann in remaining:
            x, y, width, height = ann['bbox']
            if [x, y, x + width, y + height] == instance['bbox']:
                break
        if not instance['ignore_flag']:
            orientations.append(ann.get('fracture_orientation'))
    return orientations
