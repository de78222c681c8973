"""The Activity sheet: one row per customer; the customer ID, one column per metric, an optional
Segment column, other columns carried along.

* **Header row**: the first row that holds the ID header (Settings ``ID column``) or a metric
  name, within the first :data:`HEADER_SEARCH_ROWS` rows; title rows, notes and blank rows
  above it are skipped. A sheet that holds neither has its header in its first non-empty row.
* **ID column**: Settings ``ID column``, or the first column with a header.
* **Blank values**: Settings markers (``n/a, -``) that count as blank cells.
* **Totals rows** are left out with a note; **Show columns** (default: every column that is
  not the ID or a metric, in order) are carried into the results.

The sheet becomes the core's :class:`~ces_xl.core.table.Table` by the core's table rules, with
problems named by their cells. Vectorised over rows: a million-row sheet is a few numpy
passes over the whole table, not a Python loop per cell.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core import table as rules
from ..core.model import Model
from ..core.names import did_you_mean, name_key
from ..errors import CESError, InputError
from ..grid import Grid, is_blank
from .cells import SheetPlaces, text
from .settings import Settings
from .weights import MAX_HEADER

HEADER_SEARCH_ROWS = 1_000  # title rows and notes above a header are a few, not thousands


@dataclass
class ActivityPlaces(SheetPlaces):
    """Cells of the Activity sheet, and a fix that points at the Blank values setting."""

    def text_fix(self, value: str) -> str:
        return (f"enter a number, or leave the cell blank; if '{value.strip()}' means no data, list it under "
                "Blank values in the Settings sheet")


def parse_activity(grid: Grid, model: Model, settings: Settings | None = None,
                   problems: list[CESError] | None = None, notes: list[str] | None = None,
                   events: bool = False) -> rules.Table | None:
    """The customers of the Activity sheet as a :class:`~ces_xl.core.table.Table` (None when
    a problem stops the reading). Problems are appended to ``problems`` (raised together when
    it is not given), notes to ``notes``. With ``events`` (an Events sheet beside it), a metric
    may have no column: its header is None and its counts blank, for the events to fill."""
    found: list[CESError] = []
    table = _parse(grid, model, settings or Settings(), found, [] if notes is None else notes, events)
    if found and problems is None:
        raise InputError.gather(found)
    if problems is not None:
        problems.extend(found)
    return None if found else table


def _parse(grid: Grid, model: Model, settings: Settings, problems: list[CESError],
           notes: list[str], events: bool = False) -> rules.Table | None:
    h = _header_row(grid, model, settings)
    if h is None:
        problems.append(InputError("the sheet is empty", where=grid.name,
                                   fix="put the customer ID header in the first column, one column per metric, "
                                       "and one row per customer"))
        return None
    header = list(grid.rows[h])
    table = _object_table(grid.rows[h + 1:], len(header))
    header += [None] * (table.shape[1] - len(header))
    blank, types = rules.classify(table, errors=grid.errors)
    rules.mark_blanks(table, blank, types, settings.blank_values)
    places = ActivityPlaces(grid=grid, header_at=h, header_name="Activity header")
    held = _row_text(header)
    first = _id_column(grid, h, header, settings, held, problems)
    if first is None:
        return None
    if settings.id_column is None and first and not blank[:, :first].all():
        problems.append(InputError("the customer ID column has no header", where=grid.ref(h, first - 1),
                                   fix="type a header for it, e.g. Customer ID (or name the ID column in "
                                       "Settings: ID column)"))
        return None
    id_header = text(header[first])
    if len(id_header) > MAX_HEADER:
        problems.append(InputError(
            f"the customer ID header is {len(id_header)} characters long", where=grid.ref(h, first),
            fix=f"shorten it to at most {MAX_HEADER} characters (the longest header an Excel table holds)"))
        return None
    # Columns left of a default ID column hold nothing (checked above); an ID column named in
    # Settings may have carried columns on its left.
    skip = range(first + 1) if settings.id_column is None else [first]
    metric_at = rules.match_metrics(header, model, places, skip=skip, problems=problems, optional=events,
                                    header_place=f"the {grid.name} header (row {grid.row_number(h)}: {held})")
    shown_at = _shown_columns(grid, header, first, metric_at, settings, problems)
    if problems:
        return None

    keep = ~blank[:, first:].all(axis=1) if settings.id_column is None else ~blank.all(axis=1)
    keep = np.flatnonzero(keep)
    rows = keep + h + 1  # the grid row of each customer
    if len(keep) < len(table):  # rows left blank between customers
        table, blank, types = table[keep], blank[keep], types[keep]
    totals = rules.totals_rows(table[:, first], table, blank[:, first])
    if len(totals):
        notes.append(rules.totals_note(rows[totals], rules.total_labels(table[totals], first), places))
        others = np.setdiff1d(np.arange(len(table)), totals)
        table, blank, types, rows = table[others], blank[others], types[others], rows[others]
    if not len(table):
        problems.append(InputError(f"there are no customer rows below the header (row {grid.row_number(h)})",
                                   where=grid.name, fix="add one row per customer"))
        return None
    ids = rules.customer_ids(table[:, first], places, first, blank=blank[:, first], types=types[:, first],
                             rows=rows, problems=problems)
    counts = np.empty((len(table), len(metric_at)))
    # Columns of nothing but floats and blanks (what a reader gives for counts) become floats
    # in one pass over them all; the rules check their range. Any other column goes through
    # the rules cell by cell, which name every bad cell.
    plain = [c for c in dict.fromkeys(metric_at) if c >= 0 and set(types[:, c][~blank[:, c]].tolist()) <= {float}]
    position = {c: i for i, c in enumerate(plain)}
    if plain:
        numbers = table[:, plain]
        numbers[blank[:, plain]] = np.nan
        numbers = numbers.astype(float)
    for i, c in enumerate(metric_at):
        if c < 0:
            counts[:, i] = np.nan  # counted from the events
        elif c in position:
            counts[:, i] = rules.counts(numbers[:, position[c]], places, c, rows=rows, problems=problems)
        else:
            counts[:, i] = rules.counts(table[:, c], places, c, blank=blank[:, c], types=types[:, c], rows=rows,
                                        problems=problems)
    outcome_name = settings.outcome_column or "Outcome"
    outcome_at = rules.find_column(header, outcome_name, skip=[first, *metric_at])
    if outcome_at is None and settings.outcome_column:
        problems.append(InputError(
            f"the Outcome column '{settings.outcome_column}' is not in the {grid.name} sheet's header (row "
            f"{grid.row_number(h)}){did_you_mean(settings.outcome_column, [text(v) for v in header if not is_blank(v)])}",
            where=settings.cells.get("outcome_column", "Settings"),
            fix="type the header of the column that says what happened next, or clear the setting"))
    outcome_values = None if outcome_at is None else rules.outcomes(table[:, outcome_at], places, outcome_at, rows=rows,
                                                                     problems=problems)
    if problems:
        return None
    segment_at = rules.find_column(header, "Segment", skip=[first, *metric_at])
    segments = None if segment_at is None else rules.segment_values(table[:, segment_at], blank[:, segment_at])
    shown = {}
    for c in shown_at:
        values = table[:, c].copy()
        values[blank[:, c]] = None
        shown[text(header[c])] = values
    return rules.Table(ids=ids, counts=counts, id_header=id_header,
                       metric_headers=[text(header[c]) if c >= 0 else None for c in metric_at], segments=segments,
                       segment_header=None if segment_at is None else text(header[segment_at]), rows=rows,
                       shown=shown, headers=[text(h) for h in header if not is_blank(h)],
                       id_cell=(grid.top + int(rows[0]), grid.left + first), outcomes=outcome_values,
                       number_columns=[c if c in position else None for c in metric_at],
                       outcome_header=None if outcome_at is None else text(header[outcome_at]))


def _header_row(grid: Grid, model: Model, settings: Settings) -> int | None:
    """The first row holding the ID header (when Settings names it) or a metric name; else
    the first non-empty row."""
    wanted = {name_key(m.name) for m in model.metrics}
    if settings.id_column:
        wanted.add(name_key(settings.id_column))
    for r, row in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        if any(type(v) is str and name_key(v) in wanted for v in row):
            return r
        if any(isinstance(v, (int, float)) and not is_blank(v) and name_key(v) in wanted for v in row):
            return r  # a metric named like a number ("2024")
    return grid.header_row()


def _id_column(grid: Grid, h: int, header: list, settings: Settings, held: str,
               problems: list[CESError]) -> int | None:
    if settings.id_column is None:
        return next(c for c, v in enumerate(header) if not is_blank(v))
    key = name_key(settings.id_column)
    hits = [c for c, v in enumerate(header) if not is_blank(v) and name_key(v) == key]
    if not hits:
        present = [text(v) for v in header if not is_blank(v)]
        problems.append(InputError(
            f"ID column '{settings.id_column}' is not in the {grid.name} header (row {grid.row_number(h)}: {held})"
            f"{did_you_mean(settings.id_column, present)}", where=settings.cells.get("id_column", "ID column"),
            fix="type the header of the column that holds the customer IDs, as it is in the Activity sheet"))
        return None
    return hits[0]


def _shown_columns(grid: Grid, header: list, first: int, metric_at: list[int], settings: Settings,
                   problems: list[CESError]) -> list[int]:
    """The columns carried into the results: Settings' Show columns, or every column with a
    header that is not the ID or a metric, in order."""
    taken = {first, *metric_at}
    named = [c for c, v in enumerate(header) if not is_blank(v) and c not in taken]
    if settings.show_columns is None:
        return named
    by_key = {}
    for c in named:
        by_key.setdefault(name_key(header[c]), c)
    chosen = []
    for wanted in settings.show_columns:
        c = by_key.get(name_key(wanted))
        if c is None:
            reason = "it is the ID or a metric column, which Scores has already" if any(
                name_key(header[t]) == name_key(wanted) for t in taken if not is_blank(header[t])) else \
                f"no {grid.name} column is headed so"
            problems.append(InputError(
                f"Show columns lists '{wanted}', but {reason}"
                f"{did_you_mean(wanted, [text(header[c]) for c in named])}",
                where=settings.cells.get("show_columns", "Show columns"),
                fix="list Activity headers separated by commas, or leave the setting blank for all of them"))
        elif c not in chosen:
            chosen.append(c)
    return chosen


def _row_text(row: Sequence[object], limit: int = 8) -> str:
    """What a header row holds, quoted for a message."""
    cells = [repr(text(v)) for v in row if not is_blank(v)]
    more = f", ... ({len(cells) - limit} more)" if len(cells) > limit else ""
    return (", ".join(cells[:limit]) + more) if cells else "nothing"


def _object_table(rows: Sequence[Sequence[object]], width: int) -> np.ndarray:
    """Rows of cell values -> a 2-D object array, short rows padded with blanks."""
    if isinstance(rows, np.ndarray) and rows.ndim == 2 and rows.shape[1] >= width:
        return rows  # the headless reader's grids are such arrays already
    width = max([width, *map(len, rows)]) if len(rows) else width
    if all(len(row) == width for row in rows):
        table = np.empty((len(rows), width), dtype=object)
        if len(rows):
            table[:] = rows
        return table
    return np.array([list(row) + [None] * (width - len(row)) for row in rows], dtype=object).reshape(-1, width)
