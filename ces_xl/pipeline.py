"""The one pipeline every face calls: read, validate, score, lay out, write.

* :func:`score_grids`: contract sheets (as grids of cell values) in, the result and the
  result sheets out. The button (grids from xlwings) and the headless run (grids from
  python-calamine) share it, so both write the same cells.
* :func:`score_file`: a workbook file in, a scored workbook file out (atomically), with an
  optional ``progress(stage, percent)`` callback; the CLI draws its bar from it.

Columns an analyst added to the last results (Scores) are carried into the new ones by
customer ID; those of customers no longer scored go to the Kept notes sheet (SPEC "Nothing the
analyst typed is lost").
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .contract import WorkbookInput, read_contract
from .contract.notes import parse_notes
from .core.actions import ACTION_COLUMNS
from .core.notes import carry, id_key, merged
from .core.scoring import ScoreResult, complete, score_table
from .errors import CESError
from .grid import ACTIVITY, EVENTS, HISTORY, Grid, find_sheet
from .layout import ACTIONS, KEPT_HEADER_ROW, KEPT_NOTES, SCORES, ResultSheet, is_result_header, result_sheets
from .xlsx.atomic import atomic_output
from .xlsx.package import REL_STYLES, Package
from .xlsx.styles import StyleSheet
from .xlsx.reader import WorkbookRead, read_sheets
from .xlsx.writer import write_results

Progress = Callable[[str, float], None]
"""``progress(stage, percent)``: the stage (``reading``, ``scoring``, ``writing``, ``done``)
and how far the whole run is, 0-100."""

# Shares of the run, roughly the shares of the time at a million rows.
READ_SHARE, SCORE_SHARE = 45.0, 10.0


CellFormat = Callable[[str, int, int], "str | None"]
"""``cell_format(sheet, row, col)``: a cell's number format code (0-based row and column)."""


def score_grids(grids: dict[str, Grid],
                previous: Callable[[Callable[[str], bool]], Mapping[str, Grid]] | None = None,
                cell_format: CellFormat | None = None, source: str | None = None,
                release: bool = False) -> tuple[ScoreResult, list[ResultSheet]]:
    """Contract sheets in; the result, and the sheets that show it, out. The last results
    (Scores, Actions, Kept notes) are among ``grids``, or ``previous(is_ours)`` reads them (``is_ours``
    tells which Scores headers are ces-xl's). ``cell_format`` tells the IDs' number format;
    ``source`` is the workbook's file name, for the model card. ``release``: empty ``grids``
    once the contract is read, so the cell values (a third of the memory at a million rows)
    are gone before the scores are worked out."""
    workbook = read_contract(grids)
    names = list(grids)
    last = {name: grids[name] for name in (find_sheet(names, SCORES), find_sheet(names, KEPT_NOTES),
                                          find_sheet(names, ACTIONS)) if name is not None} if previous is None else None
    if release:
        grids.clear()
    result = score_table(workbook.table, workbook.model, notes=workbook.notes, validated=True)
    workbook.trend(result)
    complete(result, workbook.table)
    result.card = workbook.card(source)
    if cell_format is not None and workbook.table.id_cell is not None:
        result.id_format = cell_format(workbook.sheet_names[ACTIVITY], *workbook.table.id_cell)
    ours = _ours(result, workbook)
    carry_notes(result, last if previous is None else previous(ours), ours)
    return result, result_sheets(result)


def carry_notes(result: ScoreResult, previous: Mapping[str, Grid], ours: Callable[[str], bool]) -> None:
    """Add to ``result`` the analysts' columns of the last results, by customer ID."""
    names = list(previous)
    scores = previous.get(find_sheet(names, SCORES) or "")
    kept = previous.get(find_sheet(names, KEPT_NOTES) or "")
    actions = previous.get(find_sheet(names, ACTIONS) or "")
    # Notes typed beside the call list are the customer's notes as much as those in Scores.
    last = merged(parse_notes(scores, ours), parse_notes(actions, ours))
    aside = parse_notes(kept, ours, header_at=KEPT_HEADER_ROW)
    if not last and not aside:
        return
    ids = result.scores.iloc[:, 0].to_numpy()
    carried = carry(ids, result.id_column, last, aside)
    for header, values in carried.columns.items():  # as typed: text, numbers, dates; None for nothing
        result.scores[header] = pd.Series(values, dtype=object, index=result.scores.index)
    if result.actions is not None and carried.columns:
        at = {id_key(v): i for i, v in enumerate(ids.tolist())}
        rows = np.array([at[id_key(v)] for v in result.actions.iloc[:, 0].tolist()], dtype=np.intp)
        for header, values in carried.columns.items():
            name = header if header not in result.actions.columns else f"{header} (notes)"
            result.actions[name] = pd.Series(values[rows], dtype=object, index=result.actions.index)
    result.kept = carried.kept
    if carried.kept_count:
        result.notes.append(f"{carried.kept_count} customer(s) with notes in Scores are no longer scored; their "
                            f"notes are on the {KEPT_NOTES} sheet")


def _ours(result: ScoreResult, workbook: WorkbookInput) -> Callable[[str], bool]:
    """Which headers of a results sheet ces-xl wrote (the rest are the analyst's)."""
    written = {str(c) for c in result.scores.columns} | set(workbook.table.headers) | set(ACTION_COLUMNS)
    if result.actions is not None:
        written |= {str(c) for c in result.actions.columns}
    return lambda header: header in written or is_result_header(header)


def reading_progress(progress: Progress | None) -> Callable[[float], None] | None:
    """The callback a :class:`~ces_xl.xlsx.reader.WorkbookRead` takes, as the reading stage of
    ``progress``."""
    if progress is None:
        return None
    return lambda share: progress("reading", READ_SHARE * share)


def score_file(reading: WorkbookRead, target: Path, progress: Progress | None = None) -> ScoreResult:
    """Score the workbook being read into ``target`` (checked by
    :func:`~ces_xl.xlsx.atomic.resolve_output`).

    ``reading`` is started by the caller (the command line starts it before importing this
    module, so that the import and the read overlap). Everything is read and validated before
    anything is written; the output appears whole or not at all. The last results are those
    of ``target`` when it exists (a re-run with --force), else those in the input itself; so is
    the History sheet (without an Events sheet, which counts its own history)."""
    report = progress or (lambda stage, percent: None)
    grids = reading.result()  # the reading reports its own progress (see reading_progress)
    report("scoring", READ_SHARE)
    source = reading.path
    last = target if target.exists() and not os.path.samefile(target, source) else source
    notes: list[str] = []
    if last != source and find_sheet(list(grids), EVENTS) is None:
        grids = _with_last_history(grids, last, notes)
    result, sheets = score_grids(grids, previous=lambda ours: _last_results(last, ours, notes),
                                 cell_format=lambda sheet, row, col: _cell_format(source, sheet, row, col),
                                 source=source.name, release=True)
    result.notes.extend(notes)
    report("writing", READ_SHARE + SCORE_SHARE)
    total = max(sum(len(block.frame) for sheet in sheets for block in sheet.blocks), 1)
    written = 0

    def rows_written(n: int) -> None:
        nonlocal written
        written += n
        report("writing", READ_SHARE + SCORE_SHARE + (100 - READ_SHARE - SCORE_SHARE) * min(written / total, 1))

    with atomic_output(target) as tmp:
        write_results(source, tmp, sheets, progress=rows_written)
    report("done", 100.0)
    return result


def _cell_format(path: Path, sheet: str, row: int, col: int) -> str | None:
    """A cell's number format, from its style in the file."""
    with Package(path) as package:
        part = package.sheet_parts().get(sheet)
        if part is None:
            return None
        styles = next((r.target for r in package.relationships(package.main_part()) if r.type == REL_STYLES), None)
        if styles not in package.names:
            return None
        return StyleSheet(package.read(styles)).number_format(package.cell_style(part, row, col))


def _with_last_history(grids: dict[str, Grid], path: Path, notes: list[str]) -> dict[str, Grid]:
    """``grids`` with the History sheet of the results being replaced (``path``), when it has
    one: their earlier snapshots go on (the input's own History, if any, is older). Its cells
    are named as in Excel, ``'[scored.xlsx]History'!C3``."""
    try:
        with Package(path) as package:
            name = find_sheet(list(package.sheet_parts()), HISTORY)
        if name is None:
            return grids
        grid = read_sheets(path, [name])[name]
    except CESError as error:
        notes.append(f"the History sheet of {path.name} could not be read, so its snapshots are not carried over "
                     f"({error})")
        return grids
    key = find_sheet(list(grids), HISTORY) or HISTORY
    grid.name = f"[{path.name}]{name}"
    return {**{k: v for k, v in grids.items() if k != key}, key: grid}


def _last_results(path: Path, ours: Callable[[str], bool], notes: list[str]) -> dict[str, Grid]:
    """The last results' Scores, Actions and Kept notes sheets of ``path``, read only when there
    is something of the analyst's to carry: a Kept notes sheet, or a Scores or Actions column
    ces-xl does not write (the header rows alone decide; a million-row Scores sheet is not read
    for nothing)."""
    try:
        with Package(path) as package:
            parts = package.sheet_parts()
            names = list(parts)
            scores, kept, actions = (find_sheet(names, n) for n in (SCORES, KEPT_NOTES, ACTIONS))
            headers = [str(v) for sheet in (scores, actions) if sheet
                       for v in package.first_row(parts[sheet], columns=None)[1:] if v is not None]
        if kept is None and all(ours(h) for h in headers):
            return {}
        return read_sheets(path, [n for n in (scores, kept, actions) if n])
    except CESError as error:  # results that cannot be read are replaced all the same
        notes.append(f"the columns you added to the Scores or Actions sheet of {path.name} could not be read, so they "
                     f"are not carried over ({error})")
        return {}
