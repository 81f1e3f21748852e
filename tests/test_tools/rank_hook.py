"""A hook for the distributed-training test: each rank records its
training iterations in ``work_dir/rank<k>_iterations.txt``."""
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmdet.registry import HOOKS


@HOOKS.register_module()
class RankIterationsHook(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        path = osp.join(runner.work_dir, f'rank{get_rank()}_iterations.txt')
        with open(path, 'a') as record:
            record.write(f'{runner.iter}\n')
