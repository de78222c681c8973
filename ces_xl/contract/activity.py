"""The Activity sheet: one row per customer; the ID in the first column, one column per metric,
an optional Segment column, other columns carried along.

The sheet is turned into the core's :class:`~ces_xl.core.table.Table` by the core's table
rules, with the problems named by their cells. Vectorised over rows: a million-row sheet is a
few numpy passes over the whole table, not a Python loop per cell.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core import table as rules
from ..core.model import Model
from ..errors import CESError, InputError
from ..grid import Grid, is_blank
from .cells import SheetPlaces, text
from .weights import MAX_HEADER


def parse_activity(grid: Grid, model: Model) -> rules.Table:
    """The customers of the Activity sheet as a :class:`~ces_xl.core.table.Table`. Every
    problem found in the sheet is in the one :class:`~ces_xl.errors.InputError` raised."""
    h = grid.header_row()
    if h is None:
        raise InputError("the sheet is empty", where=grid.name,
                         fix="put the customer ID header in the first column, one column per metric, "
                             "and one row per customer")
    header = list(grid.rows[h])
    first = next(c for c, v in enumerate(header) if not is_blank(v))
    table = _object_table(grid.rows[h + 1:], len(header))
    header += [None] * (table.shape[1] - len(header))
    blank, types = rules.classify(table)
    if first and not blank[:, :first].all():
        raise InputError("the customer ID column has no header", where=grid.ref(h, first - 1),
                         fix="type a header for it, e.g. Customer ID")
    id_header = text(header[first])
    if len(id_header) > MAX_HEADER:
        raise InputError(f"the customer ID header is {len(id_header)} characters long", where=grid.ref(h, first),
                         fix=f"shorten it to at most {MAX_HEADER} characters (the longest header an Excel table holds)")
    places = SheetPlaces(grid=grid, header_at=h, header_name="Activity header")
    problems: list[CESError] = []
    metric_at = rules.match_metrics(header, model, places, skip=range(first + 1), problems=problems,
                                    header_place=f"the {grid.name} header (row {grid.row_number(h)})")
    if problems:
        raise InputError.gather(problems)

    keep = np.flatnonzero(~blank[:, first:].all(axis=1))
    if not len(keep):
        raise InputError(f"there are no customer rows below the header (row {grid.row_number(h)})",
                         where=grid.name, fix="add one row per customer")
    rows = keep + h + 1  # the grid row of each customer
    if len(keep) < len(table):  # rows left blank between customers
        table, blank, types = table[keep], blank[keep], types[keep]
    ids = rules.customer_ids(table[:, first], places, first, blank=blank[:, first], types=types[:, first],
                             rows=rows, problems=problems)
    counts = np.empty((len(table), len(metric_at)))
    # Columns of nothing but floats and blanks (what a reader gives for counts) become floats
    # in one pass over them all; the rules check their range. Any other column goes through
    # the rules cell by cell, which name every bad cell.
    plain = [c for c in dict.fromkeys(metric_at) if set(types[:, c][~blank[:, c]].tolist()) <= {float}]
    position = {c: i for i, c in enumerate(plain)}
    if plain:
        numbers = table[:, plain]
        numbers[blank[:, plain]] = np.nan
        numbers = numbers.astype(float)
    for i, c in enumerate(metric_at):
        if c in position:
            counts[:, i] = rules.counts(numbers[:, position[c]], places, c, rows=rows, problems=problems)
        else:
            counts[:, i] = rules.counts(table[:, c], places, c, blank=blank[:, c], types=types[:, c], rows=rows,
                                        problems=problems)
    if problems:
        raise InputError.gather(problems)
    segment_at = rules.find_column(header, "Segment", skip=[*range(first + 1), *metric_at])
    segments = None if segment_at is None else rules.segment_values(table[:, segment_at], blank[:, segment_at])
    return rules.Table(ids=ids, counts=counts, id_header=id_header,
                       metric_headers=[text(header[c]) for c in metric_at], segments=segments,
                       segment_header=None if segment_at is None else text(header[segment_at]), rows=rows)


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
