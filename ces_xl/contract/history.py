"""The History sheet: the scores of earlier runs, one row per customer per snapshot, oldest first.

Columns: ``As of``, the customer ID (any header, right after As of), ``Score``, ``Band``, each
metric's raw value (headed with the metric's name), ``Model`` (the fingerprint of the model
that scored it). ces-xl writes it; a sheet edited into something else is a problem naming the
cell, never a silently wrong trend.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core import events as timeline
from ..core import table as rules
from ..core.history import Snapshot
from ..core.model import Model
from ..core.names import name_key
from ..core.notes import id_key
from ..errors import CESError, InputError
from ..grid import Grid, is_blank
from .activity import ActivityPlaces, _object_table
from .cells import header_columns, text

AS_OF, SCORE, BAND, MODEL = "As of", "Score", "Band", "Model"
# ces-xl keeps its history on a sheet of this name: a sheet of the analyst's own by that name is
# not read as one, and never written over.
_FOREIGN = ("; if it is a sheet of your own, rename it (ces-xl keeps the scores of earlier runs on a sheet named "
            "History), or delete the sheet to start the history afresh")


def parse_history(grid: Grid, model: Model, problems: list[CESError], notes: list[str]) -> list[Snapshot]:
    """The snapshots of ``grid``, oldest first (none for an empty sheet); each problem found
    is appended to ``problems``."""
    h = grid.header_row()
    if h is None:
        return []
    header = list(grid.rows[h])
    try:
        columns = header_columns(grid, h, ("asof", "score", "band", "model"), required=("asof", "score", "band", "model"),
                                 labels={"asof": AS_OF})
    except InputError as error:
        problems.append(InputError(error.problem, where=error.where, fix=f"{error.fix}{_FOREIGN}"))
        return []
    id_at = columns["asof"] + 1
    if id_at in columns.values() or id_at >= len(header) or is_blank(header[id_at]):
        problems.append(InputError(f"the customer ID column is not right after {AS_OF}", where=grid.ref(h, id_at),
                                   fix=f"put the ID column after {AS_OF}, as ces-xl writes it{_FOREIGN}"))
        return []
    table = _object_table(grid.rows[h + 1:], len(header))
    blank, types = rules.classify(table, errors=grid.errors)
    keep = np.flatnonzero(~blank.all(axis=1))
    rows = keep + h + 1
    table, blank, types = table[keep], blank[keep], types[keep]
    if not len(table):
        return []
    places = ActivityPlaces(grid=grid, header_at=h)
    found: list[CESError] = []
    days = timeline.day_numbers(table[:, columns["asof"]], places, columns["asof"], blank=blank[:, columns["asof"]],
                                types=types[:, columns["asof"]], rows=rows, problems=found)
    ids = rules.customer_ids(table[:, id_at], places, id_at, blank=blank[:, id_at], types=types[:, id_at],
                             rows=rows, problems=found, unique=False)
    s = columns["score"]
    scores = rules.counts(table[:, s], places, s, blank=blank[:, s], types=types[:, s], rows=rows, problems=found)
    metric_at = {name_key(h_): c for c, h_ in enumerate(header) if not is_blank(h_)}
    counts = np.full((len(table), len(model.metrics)), np.nan)
    missing = []
    for i, metric in enumerate(model.metrics):
        c = metric_at.get(name_key(metric.name))
        if c is None or c in columns.values() or c == id_at:
            missing.append(metric.name)
            continue
        counts[:, i] = rules.counts(table[:, c], places, c, blank=blank[:, c], types=types[:, c], rows=rows,
                                    problems=found)
    if found:
        problems.extend(found)
        return []
    bands = np.array([None if b else text(v) for v, b in zip(table[:, columns["band"]].tolist(),
                                                              blank[:, columns["band"]].tolist())], dtype=object)
    models = np.array(["" if b else text(v) for v, b in zip(table[:, columns["model"]].tolist(),
                                                             blank[:, columns["model"]].tolist())], dtype=object)
    if missing:
        notes.append(f"the {grid.name} sheet has no column for {', '.join(map(repr, missing))}: earlier snapshots "
                     "count it blank")
    snapshots = []
    for day in sorted(set(days.tolist())):
        at = np.flatnonzero(days == day)
        keys = pd.Series([id_key(v) for v in ids[at].tolist()], dtype=object)
        if keys.duplicated().any():
            i = int(at[np.flatnonzero(keys.duplicated().to_numpy())[0]])
            problems.append(InputError(
                f"customer {ids[i]!r} has two rows for the snapshot of {timeline.date_of(day)}",
                where=grid.ref(int(rows[i]), id_at),
                fix=f"delete one, or delete the {grid.name} sheet to start the history afresh"))
            continue
        fingerprints = set(models[at].tolist())
        snapshots.append(Snapshot(day, ids[at], scores[at], bands[at], counts[at],
                                  fingerprints.pop() if len(fingerprints) == 1 else ""))
    return snapshots
