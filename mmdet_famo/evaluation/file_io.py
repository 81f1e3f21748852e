"""Writing evaluation files whole or not at all."""
from typing import Optional

from mmengine.fileio import dump

from mmdet_famo.atomic_files import write_atomically

__all__ = ['write_atomically', 'write_json']


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
