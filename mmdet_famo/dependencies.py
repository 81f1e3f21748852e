"""Which of the package's two installs this is (docs/deployment.md).

The full install trains, evaluates and runs the PyTorch model: it has
MMDetection, and with it torch and MMCV. The runtime install runs an
exported ONNX model with ONNX Runtime and has none of the three: the
readers, the inference API, the DICOM writers and the node import without
them, and the components registered into MMDetection's registries are left
out.
"""
from importlib.util import find_spec

#: Whether MMDetection is installed: the registered components (datasets,
#: transforms, metrics, hooks, models) are imported only then.
WITH_MMDET = find_spec('mmdet') is not None
