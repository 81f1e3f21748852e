"""Writing files whole or not at all, durably: the one way the package
writes a file that something else reads (the DICOM node's spool, the DICOM
results a node sends, evaluation reports and figures).

It imports nothing beyond the standard library, so that the runtime install
(docs/deployment.md: no torch, MMCV or MMDetection) has it too.
"""
import os
import os.path as osp
import secrets
from typing import Callable, Union

#: Temporary files start with this: hidden, so that a folder walker (the
#: node's outbox, ``find_radiographs``) skips one a crash left behind.
PARTIAL_PREFIX = '.partial-'


def write_atomically(path: str, content: Union[bytes, Callable[[str],
                                                               None]]) -> str:
    """Write ``path`` so that it holds the new content in full, or its
    previous content (or nothing) after any failure or crash, and is on
    disk when this returns.

    The content is written to a hidden temporary file in the same folder
    (``.partial-<random>-<name>``: the name keeps its extension for writers
    that go by it), flushed to disk (fsync), moved over ``path`` with
    ``os.replace`` (atomic on POSIX), and the folder is fsynced so that the
    rename itself survives a power cut. On error (ENOSPC, say) the
    temporary file is removed and the error raised.

    Args:
        path (str): The file to write; its folder must exist.
        content (bytes | Callable[[str], None]): The bytes, or a function
            that writes the content to the path it is given (e.g.
            ``lambda partial: ds.save_as(partial)``).

    Returns:
        str: ``path``.
    """
    folder = osp.dirname(osp.abspath(path))
    partial = osp.join(
        folder, f'{PARTIAL_PREFIX}{secrets.token_hex(6)}-'
        f'{osp.basename(path)}')
    try:
        if isinstance(content, (bytes, bytearray, memoryview)):
            with open(partial, 'wb') as file:
                file.write(content)
        else:
            content(partial)
        descriptor = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(partial, path)
    except BaseException:
        if osp.lexists(partial):
            os.remove(partial)
        raise
    sync_folder(folder)
    return path


def sync_folder(folder: str) -> None:
    """fsync a folder, so that a new entry or rename in it is durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_partial_files(folder: str) -> int:
    """Delete the temporary files a crash left under ``folder`` (never
    complete files); returns how many."""
    removed = 0
    for root, _, names in os.walk(folder):
        for name in names:
            if name.startswith(PARTIAL_PREFIX):
                os.remove(osp.join(root, name))
                removed += 1
    return removed
