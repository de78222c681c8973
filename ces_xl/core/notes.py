"""What an analyst typed beside the results: carried by customer ID from one run to the next.

A re-run replaces the results, not the analyst's own columns (``Called?``, ``Next step``): each
customer's values follow their ID into the new results; the values of customers no longer
scored are kept apart (``kept``), and come back if the customer does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .values import is_blank


@dataclass
class Notes:
    """Analysts' columns: one row per customer ID, one column per header, blanks None."""

    ids: list = field(default_factory=list)
    columns: dict[str, list] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.columns)


@dataclass
class Carried:
    """The analysts' columns for the customers scored now, and the rows kept aside."""

    columns: dict[str, np.ndarray]  # header -> a value per customer scored now (None: nothing)
    kept: pd.DataFrame | None       # ID, then the columns: customers no longer scored
    kept_count: int = 0             # customers newly kept aside by this run


def merged(first: Notes, second: Notes) -> Notes:
    """``first`` with ``second`` laid over it, by customer ID: a value ``second`` has wins, a
    blank in it does not wipe out what ``first`` has (notes typed in the Actions sheet over
    those in Scores)."""
    if not second:
        return first
    if not first:
        return second
    headers = list(dict.fromkeys([*first.columns, *second.columns]))
    rows: dict[object, dict[str, object]] = {}
    order: dict[object, object] = {}
    for source in (first, second):
        for i, value in enumerate(source.ids):
            key = id_key(value)
            order.setdefault(key, value)
            row = rows.setdefault(key, {})
            for h in source.columns:
                v = source.columns[h][i]
                if not is_blank(v) or h not in row:
                    row[h] = v
    keys = list(order)
    return Notes([order[k] for k in keys], {h: [rows[k].get(h) for k in keys] for h in headers})


def id_key(value: object) -> object:
    """IDs compare as the table rules read them: a whole float is the integer it holds, text
    as it is (``00123`` stays text)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def carry(ids: np.ndarray, id_header: str, previous: Notes, kept: Notes) -> Carried:
    """Each current customer's values from ``previous`` (the last results) or, for a customer
    who returns, from ``kept``; and the rows of customers no longer scored, old ``kept`` rows
    included, in the order they were seen."""
    headers = list(dict.fromkeys([*previous.columns, *kept.columns]))
    if not headers:
        return Carried({}, None)
    rows: dict[object, dict[str, object]] = {}
    for source in (kept, previous):  # the last results win over older kept rows
        for i, value in enumerate(source.ids):
            key = id_key(value)
            rows[key] = {**rows.get(key, {}), **{h: source.columns[h][i] for h in source.columns}}
    current = {id_key(v) for v in ids.tolist()}
    columns = {h: np.empty(len(ids), dtype=object) for h in headers}
    for j, value in enumerate(ids.tolist()):
        row = rows.get(id_key(value), {})
        for h in headers:
            columns[h][j] = row.get(h)
    gone = [(key, row) for key, row in rows.items()
            if key not in current and any(not is_blank(v) for v in row.values())]
    kept_before = {id_key(v) for v in kept.ids}
    table = None
    if gone or kept.columns:
        table = pd.DataFrame({id_header: pd.Series([key for key, _ in gone], dtype=object),
                              **{h: pd.Series([row.get(h) for _, row in gone], dtype=object) for h in headers}})
    return Carried(columns, table, sum(1 for key, _ in gone if key not in kept_before))
