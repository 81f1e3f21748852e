"""Keep the operating points of the best epoch beside its checkpoint."""
import copy
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook

from mmdet.registry import HOOKS
from mmdet_famo.evaluation.file_io import write_json
from mmdet_famo.evaluation.metrics import FractureCaseMetric

#: Written beside the best checkpoint (``best_*.pth``) in the work folder.
BEST_OPERATING_THRESHOLD_FILE = 'best_operating_threshold.json'


@HOOKS.register_module()
class BestOperatingPointsHook(Hook):
    """Write the operating points chosen at the best epoch beside the best
    checkpoint, as ``best_operating_threshold.json``.

    ``CheckpointHook(save_best=...)`` keeps the checkpoint of the best
    validation epoch, while ``FractureCaseMetric`` chooses operating points
    at every validation: without this hook the threshold file a test run
    reads would belong to the last epoch, not to the kept checkpoint. After
    each validation that made a new best checkpoint, the hook writes the
    metric's threshold record (see :mod:`mmdet_famo.evaluation.
    operating_points`) with the checkpoint's name and epoch; test with::

        tools/test.py CONFIG WORK_DIR/best_*.pth \\
            --threshold-file WORK_DIR/best_operating_threshold.json

    It runs after ``CheckpointHook`` (priority 'LOWEST'), on the main
    process, and does nothing without ``save_best`` or without a
    ``FractureCaseMetric`` that chose points (``choose_operating_points``).
    """

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.best_checkpoint: Optional[str] = None

    def before_train(self, runner) -> None:
        """Remember the best checkpoint of a resumed run."""
        self.best_checkpoint = runner.message_hub.get_info('best_ckpt')

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        """Write the file if this validation made a new best checkpoint."""
        checkpoint_hook = next((hook for hook in runner.hooks
                                if isinstance(hook, CheckpointHook)), None)
        if checkpoint_hook is None or checkpoint_hook.save_best is None:
            return
        best = runner.message_hub.get_info('best_ckpt')
        if best is None or best == self.best_checkpoint:
            return
        self.best_checkpoint = best
        record = self._threshold_record(runner)
        if record is None or not is_main_process():
            return
        key = checkpoint_hook.key_indicators[0]
        source = f'validation set, epoch {runner.epoch} (best by {key})'
        record = copy.deepcopy(record)
        for point in (record.get('operating_points') or {}).values():
            point['source'] = source
        record.update(checkpoint=osp.basename(best), epoch=runner.epoch)
        write_json(
            osp.join(osp.dirname(best), BEST_OPERATING_THRESHOLD_FILE),
            record,
            indent=2)
        runner.logger.info(
            f'operating points of epoch {runner.epoch} saved beside '
            f'{osp.basename(best)} as {BEST_OPERATING_THRESHOLD_FILE}')

    @staticmethod
    def _threshold_record(runner) -> Optional[dict]:
        """The record of the validation's FractureCaseMetric that chose
        operating points, if any."""
        for metric in runner.val_evaluator.metrics:
            if isinstance(metric, FractureCaseMetric) and \
                    metric.choose_operating_points and \
                    metric.threshold_record is not None:
                return metric.threshold_record
        return None
