"""Draw validation and test predictions on radiographs, DICOM included."""
import os.path as osp
from typing import Sequence

import numpy as np
from mmengine.runner import Runner
from mmengine.utils import mkdir_or_exist

from mmdet.engine.hooks import DetVisualizationHook
from mmdet.registry import HOOKS
from mmdet.structures import DetDataSample
from mmdet_famo.datasets.transforms import LoadRadiograph


@HOOKS.register_module()
class RadiographVisualizationHook(DetVisualizationHook):
    """:class:`DetVisualizationHook` that reads each image with
    :class:`LoadRadiograph`.

    MMDetection's hook decodes the file's bytes with ``mmcv.imfrombytes``,
    which cannot read DICOM. This one draws on the radiograph as the model
    saw it (CLAHE applied, bone bright) at its original size, where the
    predictions are; painted PNGs go to ``work_dir/<timestamp>/test_out_dir``
    (``tools/test.py --show-dir``) as ``<img_id>_<file name>.png``, since
    views of different cases often share a file name (``ap.dcm``).

    Args:
        **kwargs: Passed to :class:`DetVisualizationHook` (``draw``,
            ``interval``, ``score_thr``, ``show``, ``wait_time``,
            ``test_out_dir``).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._load = LoadRadiograph()

    def read(self, img_path: str) -> np.ndarray:
        """The radiograph at ``img_path`` as an RGB uint8 image."""
        return self._load(dict(img_path=img_path))['img']

    def after_val_iter(self, runner: Runner, batch_idx: int,
                       data_batch: dict,
                       outputs: Sequence[DetDataSample]) -> None:
        """Draw the first sample of every ``interval``-th batch."""
        step = runner.iter + batch_idx
        if not self.draw or step % self.interval:
            return
        sample = outputs[0]
        self._visualizer.add_datasample(
            osp.basename(sample.img_path) if self.show else 'val_img',
            self.read(sample.img_path),
            data_sample=sample,
            show=self.show,
            wait_time=self.wait_time,
            pred_score_thr=self.score_thr,
            step=step)

    def after_test_iter(self, runner: Runner, batch_idx: int,
                        data_batch: dict,
                        outputs: Sequence[DetDataSample]) -> None:
        """Draw every test sample."""
        if not self.draw:
            return
        out_dir = None
        if self.test_out_dir is not None:
            out_dir = osp.join(runner.work_dir, runner.timestamp,
                               self.test_out_dir)
            mkdir_or_exist(out_dir)
        for sample in outputs:
            self._test_index += 1
            stem = osp.splitext(osp.basename(sample.img_path))[0]
            name = f'{sample.img_id}_{stem}.png'
            self._visualizer.add_datasample(
                name if self.show else 'test_img',
                self.read(sample.img_path),
                data_sample=sample,
                show=self.show,
                wait_time=self.wait_time,
                pred_score_thr=self.score_thr,
                out_file=None if out_dir is None else osp.join(out_dir, name),
                step=self._test_index)
