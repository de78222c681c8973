"""Worksheet functions: ``=CES_SCORE(...)`` and ``=CES_BAND(...)``.

Thin: they turn what Excel hands over into a table and a :class:`~ces_xl.core.model.Model` and
call the same :func:`~ces_xl.core.engine.score` and :func:`~ces_xl.core.engine.assign_bands` as
every other face. In Excel (Windows), xlwings hands over scalars, lists and lists of lists with
``None`` for blanks; off Windows its decorators do no conversion, so the functions also take
numpy arrays and anything array-like. Bad input returns a short ``#CES! ...`` message for the
cell, never a traceback.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xlwings as xw

from .contract import Grid, is_blank, parse_bands, to_number
from .core.engine import assign_bands, score
from .core.model import DEFAULT_BANDS, Metric, Model
from .errors import CESError

ERROR_PREFIX = "#CES!"


@xw.func(category="CES")
@xw.arg("activity", ndim=2, doc="One customer's row of metric values, or a block of rows (one customer per row): "
                        "activity counts over the period; blank is 0.")
@xw.arg("weights", doc="The weight of each metric, a row or column as long as a row of activity.")
@xw.arg("targets", doc="Optional: the activity level that earns full marks for each metric. With targets "
                       "the score is the 0-100 index; without, the weighted sum.")
@xw.arg("method", doc='Optional: "sum" or "index" (the default follows targets).')
def CES_SCORE(activity, weights, targets=None, method=None):
    """Customer Engagement Score: the weighted sum of activity, or with targets a 0-100 index.
    A block of rows gives one score per row."""
    try:
        rows = _matrix(activity, "activity")
        weight_list = _vector(weights, "weights", blank=0.0)
        if len(rows) == 1 and len(rows[0]) != len(weight_list) and len(weight_list) == 1:
            rows = [[v] for v in rows[0]]  # a single column of one metric for many customers
        if rows and len(rows[0]) != len(weight_list):
            raise CESError(f"{len(weight_list)} weights for {len(rows[0])} metrics")
        target_list = None if _omitted(targets) else _vector(targets, "targets")
        if target_list is not None and len(target_list) != len(weight_list):
            raise CESError(f"{len(target_list)} targets for {len(weight_list)} metrics")
        chosen = _method(method, has_targets=target_list is not None)
        metrics = [Metric(f"Metric {i + 1}", w,
                          target=None if target_list is None or chosen == "sum" else target_list[i])
                   for i, w in enumerate(weight_list)]
        table = pd.DataFrame(rows, columns=[m.name for m in metrics], dtype=float)
        table.insert(0, "Row", range(1, len(rows) + 1))
        result = score(table, Model(metrics, method=chosen))
        values = result.scores["Score"].tolist()
    except CESError as exc:
        return _message(exc)
    except Exception as exc:  # never a traceback in a cell
        return f"{ERROR_PREFIX} {type(exc).__name__}: {exc}"[:255]
    return values[0] if len(values) == 1 else [[v] for v in values]


@xw.func(category="CES")
@xw.arg("score", ndim=2, doc="A score, or a column of scores.")
@xw.arg("bands", doc="Optional: a range laid out like the Bands sheet (a Band, From, To header row, then one "
                     "row per band). Default: 0-40 Very disengaged, 41-75 Somewhat engaged, 76-100 Very engaged.")
def CES_BAND(score, bands=None):
    """The engagement band of a score: the first band whose To the score does not exceed.
    A column of scores gives a column of bands."""
    try:
        table = DEFAULT_BANDS if _omitted(bands) else _bands(bands)
        grid = _matrix(score, "score")
        if isinstance(score, (list, tuple, np.ndarray)) and np.ndim(score) == 1 and len(grid[0]) > 1:
            grid = [[v] for v in grid[0]]  # a 1-D list is what xlwings hands over for a column
        values = [v for row in grid for v in row]
        labels = [("" if np.isnan(v) else label) for v, label in zip(values, assign_bands(values, table))]
    except CESError as exc:
        return _message(exc)
    except Exception as exc:
        return f"{ERROR_PREFIX} {type(exc).__name__}: {exc}"[:255]
    if len(labels) == 1:
        return labels[0]
    width = len(grid[0])
    return [labels[i:i + width] for i in range(0, len(labels), width)]  # the shape of the scores


# --- turning Excel's values into numbers ---------------------------------------------------

def _matrix(value: Any, what: str) -> list[list[float]]:
    """Scalar, list, list of lists or numpy array -> rows of floats (blank -> 0 for activity)."""
    blank = 0.0 if what == "activity" else np.nan
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return [[_number(value, what, blank=blank)]]
    elif not value or not isinstance(value[0], (list, tuple, np.ndarray)):
        value = [list(value)]
    rows = []
    for r, row in enumerate(value, start=1):
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if not isinstance(row, (list, tuple)):
            raise CESError(f"{what} mixes rows and single values")
        rows.append([_number(v, f"{what} row {r}, value {c}", blank=blank)
                     for c, v in enumerate(row, start=1)])
    if not rows or not rows[0]:
        raise CESError(f"{what} is empty")
    if any(len(row) != len(rows[0]) for row in rows):
        raise CESError(f"{what} rows differ in length")
    return rows


def _vector(value: Any, what: str, blank: float = np.nan) -> list[float]:
    """A row or column of numbers; a blank is ``blank`` (NaN: not allowed)."""
    rows = _matrix(value, what)
    if len(rows) > 1 and len(rows[0]) > 1:
        raise CESError(f"{what} must be one row or one column")
    flat = [blank if np.isnan(v) else v for row in rows for v in row]
    if any(np.isnan(v) for v in flat):
        raise CESError(f"{what} value {next(i for i, v in enumerate(flat, 1) if np.isnan(v))} is blank")
    return flat


def _number(value: Any, where: str, blank: float) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise CESError(f"{where} is TRUE/FALSE, not a number")
    if is_blank(value):
        return blank
    number = to_number(value)
    if number is None:
        raise CESError(f"{where} is '{value}', not a number")
    return number


def _omitted(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.size == 0 or all(is_blank(v) for v in value.ravel().tolist())
    return value is None or (isinstance(value, (list, tuple)) and not value) or is_blank(value)


def _method(method: Any, has_targets: bool) -> str:
    if _omitted(method):
        return "index" if has_targets else "sum"
    chosen = str(method).strip().lower()
    if chosen not in ("sum", "index"):
        raise CESError(f'method "{method}" is not "sum" or "index"')
    if chosen == "index" and not has_targets:
        raise CESError("the index method needs targets")
    return chosen


def _bands(value: Any):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not value or not isinstance(value[0], (list, tuple)):
        raise CESError("bands must be a range with a Band, From, To header row")
    table = parse_bands(Grid("bands", [list(row) for row in value]), [])
    Model([Metric("x", 1)], bands=table).validate()
    return table


def _message(exc: CESError) -> str:
    """A short cell message: the problem and, for sheet ranges, where it is."""
    # Only a position inside a range argument helps in a cell; the model's own fallbacks
    # ("metric 'Metric 2' target") would repeat the problem text.
    where = exc.where if exc.where and "!" in exc.where else None
    text = exc.problem if not where else f"{where.replace('bands!', 'bands ')}: {exc.problem}"
    return f"{ERROR_PREFIX} {text}"[:255]
