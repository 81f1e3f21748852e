"""Shrink the package's real configs to CPU size for tests."""
from mmengine.config import Config

TINY_BACKBONE = dict(
    depth=50, groups=4, base_width=4, base_channels=16, init_cfg=None)
TINY_FPN_CHANNELS = [64, 128, 256, 512]
TINY_NECK_CHANNELS = 32


def tiny_detector_cfg(config_file: str) -> Config:
    """Load ``config_file`` and shrink its detector: a narrow ResNeXt-50
    without pretrained weights, a 32-channel FPN and box head."""
    cfg = Config.fromfile(config_file)
    model = cfg.model
    model.backbone.update(TINY_BACKBONE)
    model.neck.update(
        in_channels=TINY_FPN_CHANNELS, out_channels=TINY_NECK_CHANNELS)
    model.rpn_head.update(
        in_channels=TINY_NECK_CHANNELS, feat_channels=TINY_NECK_CHANNELS)
    model.roi_head.bbox_roi_extractor.update(out_channels=TINY_NECK_CHANNELS)
    model.roi_head.bbox_head.update(
        in_channels=TINY_NECK_CHANNELS, fc_out_channels=64)
    return cfg
