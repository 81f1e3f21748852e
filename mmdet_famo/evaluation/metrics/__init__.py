from .fracture_case_metric import FractureCaseMetric  # noqa: F401
