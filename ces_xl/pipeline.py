"""The one pipeline every face calls: read, validate, score, lay out, write.

* :func:`score_grids`: contract sheets (as grids of cell values) in, the result and the
  result sheets out. The button (grids from xlwings) and the headless run (grids from
  python-calamine) share it, so both write the same cells.
* :func:`score_file`: a workbook file in, a scored workbook file out (atomically), with an
  optional ``progress(stage, percent)`` callback; the CLI draws its bar from it.
* :func:`resolve_output`: where a scored workbook goes, checked before any work is done.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .contract import read_contract
from .core.scoring import ScoreResult, score_table
from .errors import FileError, InputError
from .grid import Grid
from .layout import ResultSheet, result_sheets
from .xlsx.atomic import atomic_output, check_output_path
from .xlsx.reader import WorkbookRead
from .xlsx.writer import write_results

Progress = Callable[[str, float], None]
"""``progress(stage, percent)``: the stage (``reading``, ``scoring``, ``writing``, ``done``)
and how far the whole run is, 0-100."""

# Shares of the run, roughly the shares of the time at a million rows.
READ_SHARE, SCORE_SHARE = 45.0, 10.0


def score_grids(grids: dict[str, Grid]) -> tuple[ScoreResult, list[ResultSheet]]:
    """Contract sheets in; the result, and the sheets that show it, out."""
    workbook = read_contract(grids)
    result = score_table(workbook.table, workbook.model, notes=workbook.notes, validated=True)
    return result, result_sheets(result)


def score_file(reading: WorkbookRead, target: Path, progress: Progress | None = None) -> ScoreResult:
    """Score the workbook being read into ``target`` (checked by :func:`resolve_output`).

    ``reading`` is started by the caller (the command line starts it before importing this
    module, so that the import and the read overlap). Everything is read and validated before
    anything is written; the output appears whole or not at all."""
    report = progress or (lambda stage, percent: None)
    report("reading", 0.0)
    grids = reading.result()
    report("scoring", READ_SHARE)
    result, sheets = score_grids(grids)
    del grids  # the cell values (a third of the peak memory at a million rows) go now
    report("writing", READ_SHARE + SCORE_SHARE)
    total = max(sum(len(block.frame) for sheet in sheets for block in sheet.blocks), 1)
    written = 0

    def rows_written(n: int) -> None:
        nonlocal written
        written += n
        report("writing", READ_SHARE + SCORE_SHARE + (100 - READ_SHARE - SCORE_SHARE) * min(written / total, 1))

    with atomic_output(target) as tmp:
        write_results(reading.path, tmp, sheets, progress=rows_written)
    report("done", 100.0)
    return result


def default_output(path: str | os.PathLike) -> Path:
    """``book.xlsx`` -> ``book-scored.xlsx`` in the same folder."""
    path = Path(path)
    return path.with_name(f"{path.stem}-scored{path.suffix}")


def resolve_output(source: Path, output, in_place: bool) -> Path:
    """Where the scored copy of ``source`` goes, refused with the fix when it cannot be
    written: both ``output`` and ``in_place``, a workbook open in Excel, the input itself,
    another extension, a folder that does not exist or cannot be written."""
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
    wants_macros = source.suffix.lower() == ".xlsm"
    if target.suffix.lower() != source.suffix.lower():
        raise InputError(f"the output must be {'an .xlsm' if wants_macros else 'an .xlsx'} file like the input",
                         where=str(target), fix=f"end the output name with {source.suffix.lower()}")
    return target
