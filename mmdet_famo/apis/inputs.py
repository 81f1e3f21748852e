"""Find the radiographs to run inference on: files, folders and studies."""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from mmdet_famo.datasets.radiograph_reader import RadiographError, is_dicom

#: Extensions taken from folders without looking inside the file.
IMAGE_EXTENSIONS = ('.dcm', '.dicom', '.png', '.jpg', '.jpeg')
#: File names in folders that are DICOM but never a radiograph.
NOT_RADIOGRAPHS = ('DICOMDIR', )


@dataclass(frozen=True)
class InputFailure:
    """An input argument that gave no radiograph.

    Args:
        argument (int): Position of the argument, from 1.
        path (str): The argument as given (an identifier: it is reported
            only on request).
        reason (str): Why, without the path.
    """
    argument: int
    path: str
    reason: str


def find_radiographs(
        inputs: Sequence[str]) -> Tuple[List[str], List[InputFailure]]:
    """The radiograph files named by ``inputs``, in a fixed order.

    Each input is a file or a folder. A file is always taken (if it is not a
    radiograph, loading it reports why). A folder is searched recursively in
    sorted order, skipping hidden entries; a file in it is taken if its
    extension is one of :data:`IMAGE_EXTENSIONS` or if it starts with the
    DICOM preamble (PACS exports often have no extension), except a
    ``DICOMDIR``. Several files of one study may be given one by one: cases
    are formed later from their StudyInstanceUID, not from the arguments. A
    file named twice is taken once.

    Args:
        inputs (Sequence[str]): Files and folders.

    Returns:
        tuple[list[str], list[InputFailure]]: The files, and the inputs
        that gave none (missing paths, folders without radiographs).
    """
    files: List[str] = []
    failures: List[InputFailure] = []
    for argument, path in enumerate(inputs, start=1):
        if osp.isdir(path):
            found = _radiographs_in_folder(path)
            if not found:
                failures.append(
                    InputFailure(
                        argument, path, 'a folder without DICOM, PNG or JPEG '
                        'files'))
        elif osp.exists(path):
            found = [path]
        else:
            failures.append(
                InputFailure(argument, path, 'no such file or folder'))
            found = []
        files.extend(found)
    return list(dict.fromkeys(osp.normpath(f) for f in files)), failures


def _radiographs_in_folder(folder: str) -> List[str]:
    """The radiograph files under ``folder``, depth first, sorted."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in sorted(names):
            path = osp.join(root, name)
            if name.startswith('.') or name in NOT_RADIOGRAPHS:
                continue
            if name.lower().endswith(IMAGE_EXTENSIONS) or _starts_as_dicom(
                    path):
                found.append(path)
    return found


def _starts_as_dicom(path: str) -> bool:
    """Whether ``path`` has the DICOM preamble; False if unreadable."""
    try:
        return is_dicom(path)
    except RadiographError:
        return False
