"""Run a fracture detector on radiograph files, in batches, file by file
failures included: the MMDetection model in PyTorch, or its ONNX export in
ONNX Runtime (docs/deployment.md). Importing this module needs neither
torch nor MMCV nor MMDetection; the PyTorch predictor imports them when
built."""
import copy
import os.path as osp
from dataclasses import dataclass
from pathlib import Path
from typing import (TYPE_CHECKING, Any, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import numpy as np
import pydicom
from tqdm import tqdm

from mmdet_famo.datasets.modalities import modality_refusal
from mmdet_famo.datasets.radiograph_reader import (RadiographError,
                                                   RadiographReader, is_dicom)
from mmdet_famo.evaluation.functional.fracture_levels import (
    is_image_positive, shown_score)

if TYPE_CHECKING:
    from mmcv.transforms import Compose
    from mmengine.config import Config

    from mmdet_famo.deploy.model_info import ModelInfo

#: The backends a predictor runs on: the MMDetection model in PyTorch, or
#: its ONNX export in ONNX Runtime (no torch, MMCV or MMDetection).
BACKENDS = ('pytorch', 'onnxruntime')
ANNOTATION_LOADERS = ('LoadAnnotations', 'mmdet.LoadAnnotations')
RADIOGRAPH_LOADERS = ('LoadRadiograph', 'mmdet.LoadRadiograph')


@dataclass
class ImagePrediction:
    """The detector's boxes on one radiograph.

    Args:
        index (int): Position of the file in the input list, from 1.
        path (str): The file (an identifier: reported only on request).
        bboxes (np.ndarray): (N, 4) x1, y1, x2, y2 in original image pixels.
        scores (np.ndarray): (N, ) fracture scores.
        height (int): Original image height.
        width (int): Original image width.
        radiograph_meta (dict): ``LoadRadiograph``'s DICOM facts (empty for
            another loader).
        image (np.ndarray, optional): The loaded image at its original size
            (after CLAHE: what the detector saw, before resizing), for
            drawing; dropped once drawn.
    """
    index: int
    path: str
    bboxes: np.ndarray
    scores: np.ndarray
    height: int
    width: int
    radiograph_meta: dict
    image: Optional[np.ndarray] = None

    @property
    def score(self) -> float:
        """The image score: its highest box score, shown as 0 without
        boxes (as ``FractureCaseMetric`` writes it)."""
        return shown_score(self.scores.max(initial=-np.inf))

    def is_positive(self, threshold: float) -> bool:
        """Whether a box scores at least ``threshold`` (never without
        boxes; the rule of
        :mod:`mmdet_famo.evaluation.functional.fracture_levels`)."""
        return is_image_positive(self.scores, threshold)


@dataclass(frozen=True)
class ImageFailure:
    """A file that could not be run.

    Args:
        index (int): Position of the file in the input list, from 1.
        path (str): The file (an identifier: reported only on request).
        reason (str): Why, without the path.
    """
    index: int
    path: str
    reason: str


def build_inference_pipeline(cfg: 'Config') -> Tuple['Compose', 'Compose']:
    """The config's test pipeline for files without annotations, split after
    its loading transform.

    As MMDetection's ``inference_detector`` and ``DetInferencer``, the
    pipeline is ``cfg.test_dataloader.dataset.pipeline``
    (``get_test_pipeline_cfg``), here without ``LoadAnnotations``. The first
    transform is the loader; it is run apart so that the original image is
    at hand for overlays. A ``LoadRadiograph`` loader raises on a bad file
    whatever the config says, so that the reason reaches the report.

    Returns:
        tuple[Compose, Compose]: The loader and the remaining transforms.
    """
    from mmcv.transforms import Compose

    from mmdet.datasets.transforms import LoadAnnotations
    from mmdet.utils import get_test_pipeline_cfg
    from mmdet_famo.datasets.transforms import LoadRadiograph
    pipeline_cfg = [
        transform for transform in copy.deepcopy(get_test_pipeline_cfg(cfg))
        if transform['type'] not in ANNOTATION_LOADERS + (LoadAnnotations, )
    ]
    loader_cfg = pipeline_cfg[0]
    if loader_cfg['type'] in RADIOGRAPH_LOADERS + (LoadRadiograph, ):
        loader_cfg['on_error'] = 'raise'
    return Compose([loader_cfg]), Compose(pipeline_cfg[1:])


class BasePredictor:
    """Runs a detector on radiograph files, in batches, file by file
    failures included.

    Files are loaded one by one and forwarded in batches; a file that fails
    to load or transform becomes an :class:`ImageFailure` and the batch
    goes on without it. A DICOM file that is not a projection radiograph
    (see :mod:`mmdet_famo.datasets.modalities`: CR and DX For
    Presentation) is refused with the reason, unless its Modality is in
    ``allowed_modalities``. Every box counts as a fracture (the package's
    datasets have one class). Subclasses load (:meth:`_load`) and detect
    (:meth:`_forward`).

    Attributes:
        config_name (str): The config's file name.
        checkpoint (str): The weights' file, for the results' algorithm
            identification.
        model_info (ModelInfo, optional): An exported model's metadata
            (its config and checkpoint identify the algorithm).
    """
    config_name: str
    checkpoint: str
    model_info: Optional['ModelInfo'] = None

    def __init__(self, allowed_modalities: Sequence[str] = ()) -> None:
        self.allowed_modalities = tuple(allowed_modalities)

    def __call__(
        self,
        paths: Sequence[str],
        batch_size: int = 1,
        progress: bool = False
    ) -> Iterator[Union[ImagePrediction, ImageFailure]]:
        """Predict on ``paths``, yielding one result per file in order.

        Args:
            paths (Sequence[str]): Radiograph files.
            batch_size (int): Images per forward pass. Defaults to 1.
            progress (bool): Show a progress bar (counts only, no names).

        Yields:
            ImagePrediction | ImageFailure: In the order of ``paths``.
        """
        if batch_size < 1:
            raise ValueError(f'batch_size must be at least 1, got '
                             f'{batch_size}')
        batch: List[Tuple[ImagePrediction, Any]] = []
        for index, path in enumerate(tqdm(paths,
                                          desc='radiographs',
                                          unit='image',
                                          disable=not progress),
                                     start=1):
            try:
                batch.append(self._prepare(index, path))
            except Exception as error:  # any bad file; the batch goes on
                yield ImageFailure(index, path, failure_reason(error, path))
                continue
            if len(batch) == batch_size:
                yield from self._forward(batch)
                batch = []
        if batch:
            yield from self._forward(batch)

    def _prepare(self, index: int, path: str) -> Tuple[ImagePrediction, Any]:
        """Load and transform one file; the prediction without boxes yet."""
        image, facts, loaded = self._load(index, path)
        self._check_modality(path)  # after: a broken file says so first
        height, width = image.shape[:2]
        prediction = ImagePrediction(
            index=index,
            path=path,
            bboxes=np.zeros((0, 4)),
            scores=np.zeros(0),
            height=height,
            width=width,
            radiograph_meta=facts or {},
            image=image)
        return prediction, self._inputs(loaded)

    def _load(self, index: int, path: str) -> Tuple[np.ndarray, dict, Any]:
        """The loaded image, its DICOM facts (None for another loader) and
        what :meth:`_inputs` takes."""
        raise NotImplementedError

    def _inputs(self, loaded: Any) -> Any:
        """The detector's input from what :meth:`_load` gave."""
        return loaded

    def _forward(
            self, batch: List[Tuple[ImagePrediction,
                                    Any]]) -> Iterator[ImagePrediction]:
        """Run one batch and fill in its boxes."""
        raise NotImplementedError

    def _check_modality(self, path: str) -> None:
        """Raise :class:`RadiographError` if ``path`` is a DICOM file that
        is not a projection radiograph (nor an allowed modality)."""
        if not is_dicom(path):
            return
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception as error:  # pydicom raises many types on bad files
            raise RadiographError(
                path, f'not a readable DICOM file ({error})') from error
        refusal = modality_refusal(header, self.allowed_modalities)
        if refusal:
            raise RadiographError(path, refusal)


class RadiographPredictor(BasePredictor):
    """A detector and its test pipeline, run on radiograph files in
    PyTorch.

    Built as MMDetection's ``DetInferencer`` builds it (``init_detector``:
    the config's model, the checkpoint's weights, eval mode on ``device``),
    with the pipeline of :func:`build_inference_pipeline`. Boxes come back
    in original image coordinates (the model's ``test_step`` rescales them
    by the pipeline's ``scale_factor``). See :class:`BasePredictor` for
    the batches, failures and refused modalities.

    Args:
        config (str | Path | Config): Model config, e.g.
            ``configs/famo/famo_faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py``.
        checkpoint (str): Checkpoint file.
        device (str): 'cpu', 'cuda', 'cuda:1'... Defaults to 'cpu'.
        cfg_options (dict, optional): Config overrides.
        allowed_modalities (Sequence[str]): Further Modality values to run
            (``--allow-modality``). Defaults to none.
    """

    def __init__(self,
                 config: Union[str, Path, 'Config'],
                 checkpoint: str,
                 device: str = 'cpu',
                 cfg_options: Optional[dict] = None,
                 allowed_modalities: Sequence[str] = ()) -> None:
        from mmengine.config import Config

        from mmdet.apis import init_detector
        super().__init__(allowed_modalities)
        #: The config's file name and the checkpoint, for the results'
        #: algorithm identification.
        self.config_name = osp.basename(
            str((config.filename if isinstance(config, Config) else config)
                or 'config'))
        self.checkpoint = checkpoint
        self.model = init_detector(config,
                                   checkpoint,
                                   device=device,
                                   cfg_options=cfg_options)
        self.loader, self.transforms = build_inference_pipeline(self.model.cfg)

    def _load(self, index: int, path: str) -> Tuple[np.ndarray, dict, dict]:
        loaded = self.loader(dict(img_path=path, img_id=index))
        return loaded['img'], loaded.get('radiograph_meta'), loaded

    def _inputs(self, loaded: dict) -> dict:
        data = self.transforms(loaded)
        if data is None:
            raise ValueError('the test pipeline dropped the image')
        return data

    def _forward(
        self, batch: List[Tuple[ImagePrediction,
                                dict]]) -> Iterator[ImagePrediction]:
        import torch
        from mmengine.dataset import pseudo_collate

        from mmdet.structures.bbox import get_box_tensor
        with torch.no_grad():
            samples = self.model.test_step(
                pseudo_collate([data for _, data in batch]))
        for (prediction, _), sample in zip(batch, samples):
            instances = sample.pred_instances
            prediction.bboxes = get_box_tensor(
                instances.bboxes).cpu().numpy().reshape(-1, 4)
            prediction.scores = instances.scores.cpu().numpy().reshape(-1)
            yield prediction


class OnnxRadiographPredictor(BasePredictor):
    """An exported detector (``tools/deployment/export_onnx.py``) run on
    radiograph files in ONNX Runtime, without torch, MMCV or MMDetection.

    Files are read as the exported config's ``LoadRadiograph`` reads them
    (its arguments are in the model's metadata) and resized as its test
    pipeline resizes; the graph does the rest. Images go through the graph
    one at a time (``batch_size`` only groups the loading). See
    :class:`BasePredictor` for the failures and refused modalities.

    Args:
        onnx_file (str): The exported model.
        num_threads (int, optional): ONNX Runtime's threads; None lets it
            choose (one per core).
        allowed_modalities (Sequence[str]): Further Modality values to run
            (``--allow-modality``). Defaults to none.
    """

    def __init__(self,
                 onnx_file: str,
                 num_threads: Optional[int] = None,
                 allowed_modalities: Sequence[str] = ()) -> None:
        from mmdet_famo.deploy.runtime import OnnxDetector
        super().__init__(allowed_modalities)
        self.detector = OnnxDetector(onnx_file, num_threads)
        self.model_info = self.detector.info
        self.config_name = self.model_info.config_name
        self.checkpoint = onnx_file
        self.reader = RadiographReader(
            **self.model_info.preprocessing['loader'])

    def _load(self, index: int,
              path: str) -> Tuple[np.ndarray, dict, np.ndarray]:
        image, facts = self.reader.read(path)
        return image, facts, image

    def _forward(
        self, batch: List[Tuple[ImagePrediction,
                                np.ndarray]]) -> Iterator[ImagePrediction]:
        for prediction, image in batch:
            prediction.bboxes, prediction.scores = self.detector(image)
            yield prediction


def failure_reason(error: Exception, path: str) -> str:
    """The reason of a failure, with the file's path taken out (paths may
    hold patient identifiers)."""
    if isinstance(error, RadiographError):
        reason = error.reason
    else:
        reason = f'{type(error).__name__}: {error}'
    return reason.replace(path, '<file>')
