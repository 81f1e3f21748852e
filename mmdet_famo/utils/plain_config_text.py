"""A config whose text mmengine lays out without yapf.

mmengine's ``Config.pretty_text`` reformats the whole config with yapf each
time it is asked: when the runner logs the config, dumps it into the work
folder, and saves it into every checkpoint's metadata and the message hub.
A two-epoch training asks ten times, at 0.3-0.6 s of CPU each on this
project's 2-core machine for the demo config, more than the import of
MMDetection (mmcv#2466, "cfg.pretty_text very slow"). mmengine's own
layout, one item a line, is valid Python that loads back to the same config;
``Config.fromfile`` (mmengine 0.10) does not pass its ``format_python_code``
on, so the tools rebuild the loaded config with it off.
"""
from mmengine.config import Config


def plain_config_text(cfg: Config) -> Config:
    """``cfg`` (as loaded by ``Config.fromfile``) with its text unformatted
    by yapf; the same settings, file name and environment variables."""
    return Config(
        cfg.to_dict(),
        cfg_text=cfg.text,
        filename=cfg.filename,
        env_variables=cfg.env_variables,
        format_python_code=False)
