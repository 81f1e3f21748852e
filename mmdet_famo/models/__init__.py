from .backbones import *  # noqa: F401,F403
from .roi_extractors import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
