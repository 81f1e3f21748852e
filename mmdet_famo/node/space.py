"""The spool's free-space floor: below it the node takes no image and
starts no round, so that a full disk refuses new work up front (C-STORE
status 0xA700, Out of Resources, PS3.4 B.2.3) instead of failing half-way
through a write, and everything resumes by itself once space returns.

MONAI Deploy's Informatics Gateway refuses associations the same way below
its reserved space (``storage.reserveSpaceGB``, 5 GB by default).
"""
import re
import shutil
from dataclasses import dataclass

_UNITS = {'': 1, 'K': 2**10, 'M': 2**20, 'G': 2**30, 'T': 2**40}


@dataclass(frozen=True)
class FreeSpaceFloor:
    """The least free space the spool's file system must keep: a size, a
    fraction of the file system, or both (the larger applies).

    Args:
        size (int): Bytes.
        fraction (float): Of the file system's size, in [0, 1).
    """
    size: int = 0
    fraction: float = 0.

    @classmethod
    def parse(cls, text: str) -> 'FreeSpaceFloor':
        """``'5G'``, ``'500M'``, ``'10%'`` or ``'0'`` (no floor).

        Raises:
            ValueError: Anything else, naming the text.
        """
        match = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*', text,
                             re.IGNORECASE)
        if match:
            return cls(size=int(float(match[1]) * _UNITS[match[2].upper()]))
        match = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*%\s*', text)
        if match and float(match[1]) < 100:
            return cls(fraction=float(match[1]) / 100)
        raise ValueError(f'free-space floor {text!r}: expected a size such '
                         "as '5G' or '500M', or a percentage such as '10%'")

    def required(self, folder: str) -> int:
        """The free bytes the floor asks for on ``folder``'s file
        system."""
        return max(self.size,
                   int(self.fraction * shutil.disk_usage(folder).total))

    def below(self, folder: str) -> bool:
        """Whether ``folder``'s file system has less free space than the
        floor (for an unprivileged process: ``statvfs``'s f_bavail)."""
        if not self.size and not self.fraction:
            return False
        return shutil.disk_usage(folder).free < self.required(folder)

    def __str__(self) -> str:
        parts = []
        if self.size:
            parts.append(f'{self.size / 2**30:.3g} GiB')
        if self.fraction:
            parts.append(f'{100 * self.fraction:g} %')
        return ' or '.join(parts) or 'none'
