"""The package's one atomic writer: the new content in full or the old one,
no temporary file left behind, on a simulated and on a real full disk."""
import errno
import os
import subprocess

import pytest

from mmdet_famo.atomic_files import (PARTIAL_PREFIX, remove_partial_files,
                                     write_atomically)
from tests.disk_errors import disk_full


def no_space(*args, **kwargs):
    raise disk_full()


def test_writes_bytes_or_through_a_writer(tmp_path):
    path = tmp_path / 'report.json'
    assert write_atomically(str(path), b'{"a": 1}') == str(path)
    assert path.read_bytes() == b'{"a": 1}'
    seen = []

    def writer(partial: str) -> None:
        seen.append(os.path.basename(partial))
        with open(partial, 'w') as file:
            file.write('b')

    write_atomically(str(path), writer)
    assert path.read_text() == 'b'
    # hidden, beside the file, and keeping its extension for writers that
    # go by it (matplotlib, numpy)
    assert seen[0].startswith(PARTIAL_PREFIX) and seen[0].endswith('.json')
    assert os.listdir(tmp_path) == ['report.json']


@pytest.mark.parametrize('failing', ['write', 'fsync', 'replace'])
def test_a_failed_write_keeps_the_old_file_and_no_partial(
        tmp_path, monkeypatch, failing):
    path = tmp_path / 'state.json'
    path.write_bytes(b'old')

    def writer(partial: str) -> None:
        with open(partial, 'wb') as file:
            file.write(b'half')
        if failing == 'write':
            no_space()
        with open(partial, 'ab') as file:
            file.write(b' and the rest')

    if failing != 'write':
        monkeypatch.setattr(os, failing, no_space)
    with pytest.raises(OSError) as error:
        write_atomically(str(path), writer)
    monkeypatch.undo()
    assert error.value.errno == errno.ENOSPC
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['state.json']


def test_remove_partial_files(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / f'{PARTIAL_PREFIX}12ab-x.dcm').write_bytes(b'x')
    (tmp_path / 'a' / 'x.dcm').write_bytes(b'x')
    assert remove_partial_files(str(tmp_path)) == 1
    assert os.listdir(tmp_path / 'a') == ['x.dcm']


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs (CI runs as root); skipped where it cannot be
    mounted."""
    folder = tmp_path / 'tmpfs'
    folder.mkdir()
    mounted = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs',
         str(folder)],
        capture_output=True,
        text=True)
    if mounted.returncode != 0:
        pytest.skip('cannot mount a tmpfs here (needs root and '
                    f'CAP_SYS_ADMIN): {mounted.stderr.strip()}')
    yield folder
    subprocess.run(['umount', str(folder)], check=True)


def test_a_real_full_disk(small_tmpfs):
    path = small_tmpfs / 'image.dcm'
    write_atomically(str(path), b'old')
    with pytest.raises(OSError) as error:
        write_atomically(str(path), bytes(2 * 2**20))
    assert error.value.errno == errno.ENOSPC
    assert path.read_bytes() == b'old'
    assert os.listdir(small_tmpfs) == ['image.dcm']
    write_atomically(str(path), bytes(2**19))  # space is back: it works
    assert path.stat().st_size == 2**19
