"""The Events sheet (optional): one row per event; the customer ID in the first column, then
``Event`` (a metric's name), ``Date`` and an optional ``Count`` (default 1).

The rows become the core's :class:`~ces_xl.core.events.EventLog` by the core's rules (dates,
counts, IDs), with the problems named by their cells. Event names no metric has are left out,
with one note listing them, their row counts and a "did you mean".
"""
from __future__ import annotations

import numpy as np

from ..core import events as timeline
from ..core import table as rules
from ..core.model import Model
from ..core.names import name_key
from ..errors import CESError, InputError
from ..grid import Grid, is_blank
from .activity import HEADER_SEARCH_ROWS, ActivityPlaces, _object_table, _row_text
from .cells import header_columns, text
from .settings import Settings


def parse_events(grid: Grid, model: Model, settings: Settings, problems: list[CESError],
                 notes: list[str]) -> tuple[timeline.EventLog, str] | None:
    """The events of ``grid`` and the header of its ID column (None when a problem stops the
    reading); problems are appended to ``problems``, notes to ``notes``."""
    h = _header_row(grid)
    if h is None:
        notes.append(f"the {grid.name} sheet is empty, so no metric is counted from events")
        return timeline.EventLog(*(np.empty(0, dtype=t) for t in (object, np.intp, np.int64, float))), "Customer"
    header = list(grid.rows[h])
    try:
        columns = header_columns(grid, h, ("event", "date", "count"), required=("event", "date"))
    except InputError as error:
        problems.append(error)
        return None
    first = next(c for c, v in enumerate(header) if not is_blank(v))
    if first in (columns["event"], columns["date"], columns.get("count")):
        problems.append(InputError(
            f"the first column of the {grid.name} sheet must hold the customer IDs, not {text(header[first])!r} "
            f"(row {grid.row_number(h)}: {_row_text(header)})", where=grid.ref(h, first),
            fix="put the customer ID column first, then Event, Date and Count"))
        return None
    table = _object_table(grid.rows[h + 1:], len(header))
    blank, types = rules.classify(table, errors=grid.errors)
    rules.mark_blanks(table, blank, types, settings.blank_values)
    keep = np.flatnonzero(~blank.all(axis=1))
    rows = keep + h + 1
    table, blank, types = table[keep], blank[keep], types[keep]
    places = ActivityPlaces(grid=grid, header_at=h, header_name=f"{grid.name} header")
    found: list[CESError] = []
    ids = rules.customer_ids(table[:, first], places, first, blank=blank[:, first], types=types[:, first],
                             rows=rows, problems=found, unique=False)
    e = columns["event"]
    for i in np.flatnonzero(blank[:, e])[:rules.MAX_PROBLEMS].tolist():
        found.append(InputError("the event is blank", where=grid.ref(int(rows[i]), e),
                                fix="type the metric the event counts for, as in the Weights sheet, or delete the row"))
    days = timeline.day_numbers(table[:, columns["date"]], places, columns["date"], blank=blank[:, columns["date"]],
                                types=types[:, columns["date"]], rows=rows, problems=found)
    if "count" in columns:
        c = columns["count"]
        count = rules.counts(table[:, c], places, c, blank=blank[:, c], types=types[:, c], rows=rows,
                             problems=found)
        count = np.where(np.isnan(count), 1.0, count)  # a blank Count is one event
    else:
        count = np.ones(len(table))
    problems.extend(found)
    if found:
        return None
    names = table[:, e].copy()
    metric, unknown = timeline.match_events(names, model)
    if unknown:
        notes.append(f"{grid.name}: {timeline.left_out_note(unknown)}")
    return timeline.EventLog(ids, metric, days, count, rows), text(header[first])


def _header_row(grid: Grid) -> int | None:
    """The first row that holds both an Event and a Date header; else the first non-empty row."""
    for r, row in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        keys = {name_key(v) for v in row if type(v) is str}
        if {"event", "date"} <= keys:
            return r
    return grid.header_row()
