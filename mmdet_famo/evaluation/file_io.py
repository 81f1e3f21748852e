"""Writing evaluation files whole or not at all."""
import os
import os.path as osp
from typing import Callable, Optional

from mmengine.fileio import dump


def write_atomically(path: str, write: Callable[[str], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then move it into
    place, so that a failure leaves the previous file intact.

    Args:
        path (str): The file to write.
        write (Callable[[str], None]): Writes the content to the path given.
    """
    partial = f'{path}.partial'
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        if osp.exists(partial):
            os.remove(partial)


def write_json(path: str, obj, indent: Optional[int] = None) -> None:
    """Write ``obj`` (numpy values allowed) as JSON atomically, encoded in
    one go: the C encoder is many times faster than streaming ``json.dump``.

    Args:
        path (str): The file.
        obj: What to write.
        indent (int, optional): JSON indentation.
    """
    text = dump(obj, file_format='json', indent=indent)

    def write(partial: str) -> None:
        with open(partial, 'w') as file:
            file.write(text)

    write_atomically(path, write)
