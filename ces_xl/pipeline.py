"""The one pipeline every face calls: read, validate, score, lay out, write.

* :func:`score_grids`: contract sheets (as grids of cell values) in, the result and the
  result sheets out. The button (grids from xlwings) and the headless run (grids from
  python-calamine) share it, so both write the same cells.
* :func:`score_file`: a workbook file in, a scored workbook file out (atomically), with an
  optional ``progress(stage, percent)`` callback; the CLI draws its bar from it.
* :func:`resolve_output` (from :mod:`ces_xl.xlsx.atomic`): where a scored workbook goes,
  checked before any work is done.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .contract import read_contract
from .core.scoring import ScoreResult, score_table
from .grid import Grid
from .layout import ResultSheet, result_sheets
from .xlsx.atomic import atomic_output
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
