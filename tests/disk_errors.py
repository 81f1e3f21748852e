"""The error a write on a full disk raises, for tests of what happens
then."""
import errno
import os
from typing import Optional


def disk_full(filename: Optional[str] = None) -> OSError:
    """``OSError`` ENOSPC, "No space left on device", naming ``filename``
    if given, as the operating system raises it."""
    if filename is None:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filename)
