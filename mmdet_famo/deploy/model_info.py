# Copyright (c) mmdet-famo contributors. All rights reserved.
"""What an exported ONNX file says about itself: its metadata.

Imports neither torch nor MMCV: the runtime reads it.
"""
import json
from dataclasses import asdict, dataclass
from typing import Dict, Mapping, Tuple

#: Version of the metadata layout below.
METADATA_FORMAT = 'mmdet-famo-onnx/1'
#: The graph's inputs: the resized image, (H, W, 3) uint8, and its scale
#: factor (w_scale, h_scale) float32.
INPUT_NAMES = ('image', 'scale_factor')
#: The graph's outputs: boxes (K, 4) x1, y1, x2, y2 in original pixels,
#: scores (K,), highest first.
OUTPUT_NAMES = ('boxes', 'scores')
#: OpenCV interpolation codes of mmcv's ``imresize`` names.
INTERPOLATIONS = ('nearest', 'bilinear', 'bicubic', 'area', 'lanczos')
RESIZES = ('Resize', 'mmdet.Resize')
LOADERS = ('LoadRadiograph', 'mmdet.LoadRadiograph')
PACKERS = ('PackDetInputs', 'mmdet.PackDetInputs')
ANNOTATION_LOADERS = ('LoadAnnotations', 'mmdet.LoadAnnotations')


@dataclass(frozen=True)
class ModelInfo:
    """The metadata of an exported detector.

    Args:
        format (str): :data:`METADATA_FORMAT`.
        config_name (str): The config's file name.
        config (str): The whole config, as MMEngine prints it.
        checkpoint (str): The checkpoint's file name ('' for random
            weights).
        checkpoint_sha256 (str): Its SHA-256, hex ('' for random weights).
        class_names (tuple[str]): Class names by label.
        preprocessing (dict): See :func:`preprocessing_of`.
        package_version (str): mmdet-famo's version at export.
        opset (int): The ONNX opset.
    """
    format: str
    config_name: str
    config: str
    checkpoint: str
    checkpoint_sha256: str
    class_names: Tuple[str, ...]
    preprocessing: dict
    package_version: str
    opset: int

    def metadata(self) -> Dict[str, str]:
        """The ONNX ``metadata_props``: strings, dicts and lists as
        JSON."""
        return {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str],
                      source: str) -> 'ModelInfo':
        """Read :meth:`metadata` back; ``ValueError`` naming ``source`` if
        it is not an mmdet-famo export."""
        if metadata.get('format') != METADATA_FORMAT:
            raise ValueError(
                f'{source} is not an ONNX model exported by mmdet-famo '
                f'(metadata format {metadata.get("format")!r}, expected '
                f'{METADATA_FORMAT!r}); export it with '
                'tools/deployment/export_onnx.py')
        try:
            return cls(
                format=metadata['format'],
                config_name=metadata['config_name'],
                config=metadata['config'],
                checkpoint=metadata['checkpoint'],
                checkpoint_sha256=metadata['checkpoint_sha256'],
                class_names=tuple(json.loads(metadata['class_names'])),
                preprocessing=json.loads(metadata['preprocessing']),
                package_version=metadata['package_version'],
                opset=int(metadata['opset']))
        except (KeyError, ValueError) as error:
            raise ValueError(f'{source}: incomplete mmdet-famo metadata '
                             f'({type(error).__name__}: {error})') from error

    @classmethod
    def from_file(cls, onnx_file: str) -> 'ModelInfo':
        """The metadata of ``onnx_file`` (read with ONNX Runtime)."""
        import onnxruntime
        session = onnxruntime.InferenceSession(
            onnx_file, providers=['CPUExecutionProvider'])
        return cls.from_metadata(session.get_modelmeta().custom_metadata_map,
                                 onnx_file)


def preprocessing_of(cfg, config_name: str) -> dict:
    """The test pipeline of ``cfg`` as the runtime repeats it.

    The exported graph starts where ``PackDetInputs`` ends; the runtime
    loads and resizes as the config's test pipeline does. Supported: the
    package's pipelines, ``LoadRadiograph`` then ``Resize`` with
    ``keep_ratio=True`` then ``PackDetInputs`` (``LoadAnnotations``
    ignored, as inference does).

    Returns:
        dict: ``loader`` (``LoadRadiograph``'s arguments), ``resize``
        (``scale`` (w, h), ``interpolation``) and ``max_size`` (long side,
        short side): the largest image the resize gives, on which the graph
        is traced (any size runs; time and memory grow with it).
    """
    from mmdet.utils import get_test_pipeline_cfg
    pipeline = [
        dict(transform) for transform in get_test_pipeline_cfg(cfg)
        if transform['type'] not in ANNOTATION_LOADERS
    ]
    types = [transform['type'] for transform in pipeline]
    if len(pipeline) != 3 or types[0] not in LOADERS or \
            types[1] not in RESIZES or types[2] not in PACKERS:
        raise ValueError(
            f'{config_name}: the ONNX runtime repeats test pipelines of '
            f'LoadRadiograph, Resize and PackDetInputs; this one is {types}')
    loader = {
        key: value for key, value in pipeline[0].items()
        if key not in ('type', 'on_error')
    }
    if loader.get('output', 'rgb_uint8') != 'rgb_uint8':
        raise ValueError(f"{config_name}: LoadRadiograph output must be "
                         f"'rgb_uint8' for export, got {loader['output']!r}")
    resize = pipeline[1]
    unsupported = set(resize) - {'type', 'scale', 'keep_ratio',
                                 'interpolation', 'backend'}
    if not resize.get('keep_ratio') or unsupported or \
            resize.get('backend', 'cv2') != 'cv2' or \
            resize.get('interpolation', 'bilinear') not in INTERPOLATIONS \
            or resize.get('scale') is None:
        raise ValueError(
            f'{config_name}: the ONNX runtime repeats Resize with a scale, '
            f'keep_ratio=True and an OpenCV interpolation; got {resize}')
    scale = resize['scale']
    scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
    long_side, short_side = max(scale), min(scale)
    if 'tile_grid_size' in loader:
        loader['tile_grid_size'] = list(loader['tile_grid_size'])
    return dict(
        loader=loader,
        resize=dict(scale=list(scale),
                    interpolation=resize.get('interpolation', 'bilinear')),
        max_size=[long_side, short_side])
