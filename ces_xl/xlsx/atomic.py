"""Write a file so that it is either wholly there or not changed at all."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import FileError


def check_output_path(path: Path) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if path.is_dir():
        raise FileError("the output path is a folder", where=str(path), fix="give a file name ending in .xlsx")
    folder = path.parent
    if not folder.is_dir():
        raise FileError("the output folder does not exist", where=str(folder), fix="create it or choose another")
    if not os.access(folder, os.W_OK):
        raise FileError("the output folder is not writable", where=str(folder), fix="choose a folder you can write to")


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    On any error the temporary file is removed and ``path`` is left as it was. The temporary
    file lives in the same folder so the final ``os.replace`` is atomic on the same filesystem.
    """
    check_output_path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
