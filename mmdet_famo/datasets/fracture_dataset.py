from typing import List, Union

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.fileio import exists
from mmengine.logging import print_log

from .coco_builder import UNKNOWN


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

    Args:
        keep_fracture_free (bool): Keep images without fractures whatever
            ``filter_cfg`` says. Defaults to True.
        **kwargs: Passed to :class:`mmdet.datasets.CocoDataset`.
    """

    METAINFO = {'classes': ('fracture', ), 'palette': [(220, 20, 60)]}
    CASE_KEYS = ('case_id', 'patient_id', 'body_part', 'view')

    def __init__(self,
                 *args,
                 keep_fracture_free: bool = True,
                 **kwargs) -> None:
        self.keep_fracture_free = keep_fracture_free
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Parse one image record and its annotations, adding the case
        metadata and checking that the record is usable."""
        img_info = raw_data_info['raw_img_info']
        record = (f'{self.ann_file}: image {img_info.get("id")} '
                  f'({img_info.get("file_name")!r})')
        missing = [
            key for key in ('file_name', 'width', 'height', 'case_id',
                            'patient_id') if img_info.get(key) in (None, '')
        ]
        if missing:
            raise ValueError(f'{record} lacks {", ".join(missing)}; convert '
                             'the data with tools/dataset_converters')
        data_info = super().parse_data_info(raw_data_info)
        if not exists(data_info['img_path'], backend_args=self.backend_args):
            raise FileNotFoundError(
                f'{record}: image file {data_info["img_path"]} not found')
        for key in self.CASE_KEYS:
            data_info[key] = str(img_info.get(key) or UNKNOWN)
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
