"""Output files: where a scored workbook goes (checked before any work), and writing a file so
that it is either wholly there or not changed at all."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import FileError, InputError


def check_output_path(path: Path) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if path.is_dir():
        raise FileError("the output path is a folder", where=str(path), fix="give a file name ending in .xlsx")
    folder = path.parent
    if not folder.is_dir():
        raise FileError("the output folder does not exist", where=str(folder), fix="create it or choose another")
    if not os.access(folder, os.W_OK):
        raise FileError("the output folder is not writable", where=str(folder), fix="choose a folder you can write to")


def check_new_output(path: Path, force: bool) -> None:
    """:func:`check_output_path`, and refuse a file that exists unless ``force``."""
    check_output_path(path)
    if path.exists() and not force:
        raise FileError("the file exists", where=str(path), fix="pass --force to replace it, or choose another name")


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


def default_output(path: str | os.PathLike) -> Path:
    """``book.xlsx`` -> ``book-scored.xlsx`` in the same folder."""
    path = Path(path)
    return path.with_name(f"{path.stem}-scored{path.suffix}")


def resolve_output(source: Path, output, in_place: bool, force: bool = False) -> Path:
    """Where the scored copy of ``source`` goes, refused with the fix when it cannot be
    written: both ``output`` and ``in_place``, an output that exists (unless ``force``), a
    workbook open in Excel, the input itself, another extension, a folder that does not exist
    or cannot be written."""
    if in_place and output is not None:
        raise InputError("both an output path and in-place were asked for", where="--in-place",
                         fix="give either -o/--output or --in-place, not both")
    target = source if in_place else Path(output) if output is not None else default_output(source)
    # Excel's owner file while the workbook is open (in place, the target is the input).
    if target.with_name("~$" + target.name).exists():
        raise FileError("the workbook is open in Excel (its lock file ~$" + target.name + " is there)",
                        where=str(target), fix="close it in Excel (or use the CES > Score workbook button "
                                               "there), then run again")
    if not in_place and target.exists() and os.path.samefile(target, source):
        raise FileError("the output would overwrite the input", where=str(target),
                        fix="choose another output path, or pass --in-place to update the input")
    check_output_path(target)
    if not in_place and not force and target.exists():
        raise FileError("the output file exists", where=str(target),
                        fix="pass --force to replace it (columns you added to its Scores sheet are kept), "
                            "or choose another output path")
    wants_macros = source.suffix.lower() == ".xlsm"
    if target.suffix.lower() != source.suffix.lower():
        raise InputError(f"the output must be {'an .xlsm' if wants_macros else 'an .xlsx'} file like the input",
                         where=str(target), fix=f"end the output name with {source.suffix.lower()}")
    return target
