from .fracture_dataset import FractureDataset  # noqa: F401
from .transforms import *  # noqa: F401,F403
