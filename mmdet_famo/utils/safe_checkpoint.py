"""Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

torch >= 2.6 loads with ``weights_only=True`` by default, while mmengine
0.10.7 calls ``torch.load`` without the argument. A resumable checkpoint
holds, besides tensors, the runner's ``message_hub`` (mmengine
``HistoryBuffer`` objects with numpy arrays) and numpy scalars in ``meta``, so
loading it fails.

Instead of turning the safety off for every file (``weights_only=False``), we
allow-list exactly what mmengine writes: ``HistoryBuffer`` and the numpy
array/scalar/dtype reconstructors.  ``HistoryBuffer`` also pickles its
statistics registry as ``getattr(HistoryBuffer, 'min')`` and friends; a plain
``builtins.getattr`` on the allow-list would let a crafted file reach any
attribute (and from there ``eval``), so the name ``builtins.getattr`` is bound
to :func:`history_buffer_statistic`, which resolves only those four methods.

Only torch >= 2.6 needs this.  Earlier versions load with
``weights_only=False`` by default, so mmengine's calls read its checkpoints
as they are; torch < 2.4 also lacks ``add_safe_globals``.  There nothing is
registered and the package uses none of torch's allow-list API.

The allow-list is process-wide: torch keeps one list, consulted by every
weights-only load, so importing :mod:`mmdet_famo` lets any such load in the
process read these types.  Narrowing it (``torch.serialization.safe_globals``
around each load) would mean wrapping mmengine's internal ``torch.load``
calls (resume, ``load_from``, ``CheckpointLoader``) and leaving a user's own
``torch.load(checkpoint)`` failing.  What it adds is data (a buffer of
logged scalars, numpy arrays, scalars and dtypes) and the restricted
``getattr``: a file can build these objects, but still cannot run code.
"""
import pickle

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.utils import digit_version

#: The first torch whose ``torch.load`` defaults to ``weights_only=True``.
WEIGHTS_ONLY_DEFAULT_SINCE = (2, 6)

HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_statistic(owner, name: str):
    """A ``getattr`` restricted to ``HistoryBuffer``'s statistics methods."""
    if owner is not HistoryBuffer or name not in HISTORY_BUFFER_STATISTICS:
        raise pickle.UnpicklingError(
            f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint '
            'loaded with weights_only=True')
    return getattr(owner, name)


def numpy_dtype_classes() -> list:
    """The concrete numpy dtype classes (``numpy.dtypes.Float64DType`` ...)."""
    return [
        cls for cls in vars(np.dtypes).values()
        if isinstance(cls, type) and issubclass(cls, np.dtype)
    ]


def loads_weights_only_by_default() -> bool:
    """Whether this torch's ``torch.load`` defaults to ``weights_only=True``.
    """
    return digit_version(torch.__version__)[:2] >= WEIGHTS_ONLY_DEFAULT_SINCE


def allow_mmengine_checkpoints() -> bool:
    """Add mmengine's checkpoint contents to torch's weights-only allow-list
    where torch loads weights-only by default (torch >= 2.6).

    Idempotent; safe to call on every import of :mod:`mmdet_famo`.

    Returns:
        bool: Whether anything was added (False on torch < 2.6, which loads
        mmengine's checkpoints without an allow-list).
    """
    if not loads_weights_only_by_default():
        return False
    multiarray = np._core.multiarray if hasattr(np, '_core') else \
        np.core.multiarray  # numpy < 2
    torch.serialization.add_safe_globals([
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        multiarray._reconstruct,
        multiarray.scalar,
        *numpy_dtype_classes(),
        (history_buffer_statistic, 'builtins.getattr'),
    ])
    return True
