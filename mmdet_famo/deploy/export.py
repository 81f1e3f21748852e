# Copyright (c) mmdet-famo contributors. All rights reserved.
"""Export a trained detector to one self-describing ONNX file of standard
operators (docs/deployment.md)."""
import hashlib
import json
import os.path as osp
import warnings
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from mmdet_famo.version import __version__
from .detector_graph import DetectorGraph
from .model_info import (INPUT_NAMES, METADATA_FORMAT, OUTPUT_NAMES,
                         ModelInfo, preprocessing_of)
from .onnx_ops import OPSET


def file_sha256(path: str) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def class_names_of(model: torch.nn.Module) -> Tuple[str, ...]:
    """The model's class names: the checkpoint's ``dataset_meta``, else
    :class:`~mmdet_famo.datasets.FractureDataset`'s (the package's datasets
    have one class)."""
    from mmdet_famo.datasets import FractureDataset
    num_classes = model.roi_head.bbox_head.num_classes
    classes = tuple((getattr(model, 'dataset_meta', None)
                     or {}).get('classes') or ())
    if len(classes) != num_classes:
        classes = tuple(FractureDataset.METAINFO['classes'])
    return classes


def _load_detector(cfg: Config, checkpoint: Optional[str]) -> torch.nn.Module:
    """The detector of ``cfg`` on the CPU, with ``checkpoint``'s weights,
    or randomly initialised without one (built directly: MMDetection's
    ``init_detector`` would then name COCO's 80 classes, and switch the
    caller's warning filters to 'once' to say so)."""
    from mmdet.apis import init_detector
    if checkpoint is not None:
        return init_detector(cfg, checkpoint, device='cpu')
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.cfg = cfg
    return model.eval()


def export_onnx(config: Union[str, Path, Config],
                checkpoint: Optional[str],
                out_file: str,
                cfg_options: Optional[dict] = None,
                opset: int = OPSET) -> ModelInfo:
    """Export the detector of ``config`` with ``checkpoint``'s weights to
    ``out_file``, and check the file with ``onnx.checker``.

    The graph is :class:`~.detector_graph.DetectorGraph`, traced by the
    TorchScript exporter on a random image of the largest input size (the
    test pipeline's resize scale) with the image's height and width
    dynamic. Its metadata (:class:`~.model_info.ModelInfo`) holds the
    config, the checkpoint's name and SHA-256, the class names and the
    preprocessing, so the file alone runs the detector.

    Args:
        config (str | Path | Config): Model config.
        checkpoint (str, optional): Checkpoint; None keeps the random
            initialisation (to check that a config exports).
        out_file (str): The ``.onnx`` file to write.
        cfg_options (dict, optional): Config overrides.
        opset (int): ONNX opset, at least 16. Defaults to :data:`OPSET`.

    Returns:
        ModelInfo: What was written into the metadata.
    """
    import onnx
    if opset < 16:
        raise ValueError(f'opset must be at least 16 (RoiAlign half_pixel), '
                         f'got {opset}')
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    config_name = osp.basename(str(cfg.filename or config))
    preprocessing = preprocessing_of(cfg, config_name)
    model = _load_detector(cfg, checkpoint)
    graph = DetectorGraph(model).eval()
    info = ModelInfo(
        format=METADATA_FORMAT,
        config_name=config_name,
        config=cfg.pretty_text,
        checkpoint=osp.basename(checkpoint) if checkpoint else '',
        checkpoint_sha256=file_sha256(checkpoint) if checkpoint else '',
        class_names=class_names_of(model),
        preprocessing=preprocessing,
        package_version=__version__,
        opset=opset)
    width, height = preprocessing['max_size']
    image = np.random.RandomState(0).randint(0, 256, (height, width, 3),
                                             dtype=np.uint8)
    args = (torch.from_numpy(image), torch.ones(2))
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns on every Python branch it fixes; DetectorGraph
        # has none that depends on the data.
        warnings.simplefilter('ignore')
        torch.onnx.export(
            graph,
            args,
            out_file,
            dynamo=False,
            opset_version=opset,
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dict(
                image={0: 'height', 1: 'width'},
                boxes={0: 'detections'},
                scores={0: 'detections'}))
    proto = onnx.load(out_file)
    for key, value in info.metadata().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = 'mmdet-famo'
    proto.producer_version = __version__
    proto.doc_string = (f'{info.config_name}: Faster R-CNN fracture '
                        'detector, standard ONNX operators only')
    onnx.save(proto, out_file)
    onnx.checker.check_model(out_file, full_check=True)
    return info


def graph_domains(onnx_file: str) -> dict:
    """``{domain: sorted operator types}`` of the nodes of ``onnx_file``
    (the default ONNX domain is ``''``), subgraphs included."""
    import onnx
    domains: dict = {}

    def visit(graph) -> None:
        for node in graph.node:
            domains.setdefault(node.domain, set()).add(node.op_type)
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    visit(attribute.g)

    visit(onnx.load(onnx_file).graph)
    return {domain: sorted(ops) for domain, ops in domains.items()}


def describe(onnx_file: str) -> str:
    """A summary of an exported file for the command line."""
    info = ModelInfo.from_file(onnx_file)
    return json.dumps(dict(
        file=onnx_file,
        config=info.config_name,
        checkpoint=info.checkpoint,
        checkpoint_sha256=info.checkpoint_sha256,
        class_names=list(info.class_names),
        max_size=info.preprocessing['max_size'],
        opset=info.opset,
        operator_domains=graph_domains(onnx_file)), indent=2)
