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

import datetime as _dt
import os
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .contract import WorkbookInput, read_contract
from .contract.notes import parse_notes
from .core.actions import ACTION_COLUMNS
from .core.notes import carry, id_key, merged
from .core.scoring import ScoreResult, complete, score_table
from .errors import CESError, InputError
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
    sheets = result_sheets(result)
    if workbook.live is not None:
        live_scores(result, workbook, sheets)
    return result, sheets


def live_scores(result: ScoreResult, workbook: WorkbookInput, sheets: list[ResultSheet]) -> None:
    """Settings Formulas = live: the Scores sheet's score, points and band as formulas over the
    Activity, Weights and Bands cells (ces_xl.formulas), the engine's values cached in them."""
    from .formulas import scores_formulas

    block = next(sheet for sheet in sheets if sheet.name == SCORES).blocks[0]
    columns = {str(c): block.left + j for j, c in enumerate(block.frame.columns)}
    block.formulas, said = scores_formulas(result.model, workbook.live, columns, result.contribution_columns)
    block.sources = np.asarray(workbook.live.rows, dtype=np.int64) + 1
    result.notes.extend(said)


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


# --- event logs beyond a sheet (ces-xl score-events) ---------------------------------------

@dataclass
class EventsRun:
    """What scoring an event log produced."""

    output: Path | None           # the file written (None: the scores are in ``scores``)
    events: int                   # rows in the event files
    customers: int
    as_of: "_dt.date"
    bands: pd.DataFrame           # Band, Customers, Share
    notes: list[str]
    scores: pd.DataFrame | None = None     # one row per customer, when no Parquet or CSV file was written
    result: ScoreResult | None = None      # the numpy core's full result, for an .xlsx output


OUTPUT_KINDS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".xlsx": "xlsx"}


def score_event_files(events, model, output: str | os.PathLike | None = None, *, as_of=None, columns=None,
                      memory_limit: str | None = None, threads: int | None = None, force: bool = False,
                      progress: Progress | None = None) -> EventsRun:
    """Score an event log of Parquet or CSV files (a file, a folder, a glob, or a list of files)
    on DuckDB with ``model`` (a :class:`~ces_xl.core.model.Model`, or the path of a workbook
    whose Weights, Bands and Settings sheets are the model). ``output``: a ``.parquet`` or
    ``.csv`` file of one row per customer, or an ``.xlsx`` copy of the model workbook with the
    Scores, Summary and Actions sheets (when the customers fit in a sheet); None returns the
    rows in ``EventsRun.scores``. ``columns``: the log's column names where they are not
    customer_id, event, date and count, e.g. ``{"customer_id": "account", "date": "ts"}``.
    Nothing is written until everything is counted and checked, and then atomically."""
    from .engines.duckdb import EventColumns, EventLog, find_files
    from .xlsx.atomic import check_new_output

    report = progress or (lambda stage, percent: None)
    book = Path(model) if isinstance(model, (str, os.PathLike)) else None
    model, settings, notes = _book_model(model)
    target = kind = None
    if output is not None:
        target = Path(output)
        kind = OUTPUT_KINDS.get(target.suffix.lower())
        if kind is None:
            raise InputError(f"{target.name}: the scores are written as .parquet, .csv or .xlsx", where="--output",
                             fix="end the file name with .parquet, .csv or .xlsx")
        if kind == "xlsx" and book is None:
            raise InputError("an .xlsx output is the model's workbook with the result sheets", where="--output",
                             fix="give the model as a workbook path, or write .parquet or .csv")
        check_new_output(target, force)
    day = _as_of(as_of, settings)
    if settings is not None and settings.history:
        notes.append("History is counted by 'ces-xl score' on a workbook's Events sheet; score-events scores the "
                     "as-of date alone")
    if isinstance(columns, dict):  # the names of the log's columns, e.g. {"customer_id": "account"}
        fields = [f.name for f in dataclasses.fields(EventColumns)]
        unknown = [k for k in columns if k not in fields]
        if unknown:
            raise InputError(f"columns names {', '.join(map(repr, unknown))}, not a column of an event log",
                             where="columns", fix=f"use the keys {', '.join(fields)}")
        columns = EventColumns(**columns)
    files = find_files(events)
    with EventLog(files, columns or EventColumns(), memory_limit=memory_limit, threads=threads) as log:
        counted = log.count(model, day, progress=report)
        notes += counted.notes
        if kind == "xlsx":
            return _events_workbook(log, model, settings, book, target, counted, notes, report)
        mix = log.score(lambda share: report("scoring", 85.0 + 10.0 * share))
        mix["Share"] = mix["Customers"] / max(counted.customers, 1)
        scores = None
        if target is None:
            scores = log.scores_frame()
        else:
            with atomic_output(target) as tmp:
                log.write(tmp, kind, lambda share: report("writing", 95.0 + 5.0 * share))
    report("done", 100.0)
    return EventsRun(output=target, events=counted.events, customers=counted.customers, as_of=counted.as_of,
                     bands=mix, notes=notes, scores=scores)


def _events_workbook(log, model, settings, book: Path, target: Path, counted, notes: list[str],
                     report: Progress) -> EventsRun:
    """The counts DuckDB made, scored by the numpy core (the same numbers: the parity tests
    say so) into the model workbook's copy with the usual result sheets."""
    from .contract import Settings, WorkbookInput
    from .core.events import day_of
    from .core.table import Table
    from .xlsx.a1 import MAX_ROWS

    if counted.customers > MAX_ROWS - 1:
        raise InputError(f"{counted.customers:,} customers do not fit in a sheet ({MAX_ROWS - 1:,} rows)",
                         where="--output", fix="write the scores as .parquet or .csv")
    ids, counts = log.counts_frame()
    table = Table(ids=ids, counts=counts, id_header=log.id_header, metric_headers=[None] * len(model.metrics))
    report("scoring", 85.0)
    result = score_table(table, model, notes=list(notes), validated=True)
    complete(result, table)
    workbook = WorkbookInput(table=table, model=model, settings=settings or Settings(), sheet_names={}, notes=notes,
                             as_of=day_of(counted.as_of))
    result.card = workbook.card(book.name, events=True)
    sheets = result_sheets(result)
    report("writing", 90.0)
    with atomic_output(target) as tmp:
        write_results(book, tmp, sheets)
    report("done", 100.0)
    return EventsRun(output=target, events=counted.events, customers=counted.customers, as_of=counted.as_of,
                     bands=result.bands[["Band", "Customers", "Share"]], notes=result.notes, result=result)


def _book_model(model) -> tuple[object, object, list[str]]:
    """``model`` as a Model, with the Settings and notes of its workbook when it is a path."""
    from .contract import read_model
    from .core.model import Model
    from .grid import BANDS, SETTINGS, WEIGHTS
    from .xlsx.reader import check_input_path

    if isinstance(model, (str, os.PathLike)):
        book = Path(model)
        check_input_path(book)
        return read_model(read_sheets(book, [WEIGHTS, BANDS, SETTINGS]))
    if not isinstance(model, Model):
        raise InputError(f"model must be a Model or the path of a workbook, not {type(model).__name__}",
                         where="model", fix="pass ces_xl.Model([...]) or 'model.xlsx'")
    return model, None, model.validate()


def _as_of(as_of, settings) -> int | None:
    """The day scored: ``as_of`` (the option), else the Settings' As of; None: the latest event."""
    from .core.events import date_value

    if as_of is not None:
        return date_value(as_of, "--as-of")
    return settings.as_of if settings is not None else None


def events_sql(model, dialect: str = "duckdb", *, as_of=None) -> str:
    """The SQL that scores a table ``events(customer_id, event, date, count)`` with ``model`` (a
    Model, or a workbook path: its Weights, Bands and Settings) in ``dialect`` (duckdb, spark,
    bigquery, snowflake or postgres), with a header comment. ``as_of``: the date scored; default
    the Settings' As of, else the latest event in the table."""
    from . import __version__
    from .core.events import date_of
    from .engines import DIALECTS
    from .engines.sql import compile_model

    if dialect not in DIALECTS:
        raise InputError(f"there is no SQL dialect {dialect!r} here", where="--dialect",
                         fix=f"choose one of {', '.join(DIALECTS)}")
    model, settings, _ = _book_model(model)
    day = _as_of(as_of, settings)
    header = [f"-- Customer Engagement Scores by ces-xl {__version__}, in {dialect} SQL: one row per customer of the",
              "-- table events(customer_id, event, date, count) (a view will do).",
              f"-- Model fingerprint {model.fingerprint()}, {model.resolved_method} method, as of "
              f"{date_of(day).isoformat() if day is not None else 'the latest event date'}."]
    return "\n".join(header) + "\n" + compile_model(model, as_of=day).sql(dialect) + ";\n"
