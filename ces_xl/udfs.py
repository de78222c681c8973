"""Worksheet functions: ``=CES_SCORE(...)``, ``=CES_BAND(...)`` and ``=CES_LIFT(...)``.

Thin: they turn what Excel hands over into numbers and a :class:`~ces_xl.core.model.Model` and
call the same scoring core as every other face (:func:`~ces_xl.core.scoring.score_matrix`, which
:func:`~ces_xl.core.scoring.score` uses too, and :func:`~ces_xl.core.bands.assign_bands`), with
the same table rules (:mod:`ces_xl.core.table`: what a count is, and how large it may be). In
Excel (Windows), xlwings hands over scalars, lists and lists of lists with ``None`` for blanks;
off Windows its decorators do no conversion, so the functions also take numpy arrays and
anything array-like. Bad input returns a short ``#CES! ...`` message for the cell, never a
traceback.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import xlwings as xw

from .contract.bands import parse_bands
from .core.bands import assign_bands
from .core.model import DEFAULT_BANDS, Metric, Model
from .core.scoring import lift_matrix, score_matrix
from .core.table import MAX_COUNT, count_value, is_blank, to_number
from .errors import CESError
from .grid import Grid

ERROR_PREFIX = "#CES!"
# What Excel's function wizard shows for the arguments the functions share.
ACTIVITY_DOC = ("One customer's row of metric values, or a block of rows (one customer per row): activity counts "
                "over the period; blank is 0.")
WEIGHTS_DOC = "The weight of each metric, a row or column as long as a row of activity."
TARGETS_DOC = ("Optional: the activity level that earns full marks for each metric. With targets the score is the "
               "0-100 index; without, the weighted sum.")
BANDS_DOC = ("Optional: a range laid out like the Bands sheet (a Band, From, To header row, then one row per band). "
             "Default: 0-40 Very disengaged, 41-75 Somewhat engaged, 76-100 Very engaged.")


@xw.func(category="CES")
@xw.arg("activity", ndim=2, doc=ACTIVITY_DOC)
@xw.arg("weights", doc=WEIGHTS_DOC)
@xw.arg("targets", doc=TARGETS_DOC)
@xw.arg("method", doc='Optional: "sum" or "index" (the default follows targets).')
def CES_SCORE(activity, weights, targets=None, method=None):
    """Customer Engagement Score: the weighted sum of activity, or with targets a 0-100 index.
    A block of rows gives one score per row."""
    try:
        rows, model = _rows_and_model(activity, weights, targets, method)
        values = score_matrix(rows, model, validate=False).total.tolist()
    except CESError as exc:
        return _message(exc)
    except Exception as exc:  # never a traceback in a cell
        return f"{ERROR_PREFIX} {type(exc).__name__}: {exc}"[:255]
    return values[0] if len(values) == 1 else [[v] for v in values]


@xw.func(category="CES")
@xw.arg("activity", ndim=2, doc=ACTIVITY_DOC)
@xw.arg("weights", doc=WEIGHTS_DOC)
@xw.arg("targets", doc=TARGETS_DOC)
@xw.arg("bands", doc=BANDS_DOC)
def CES_LIFT(activity, weights, targets=None, bands=None):
    """The fastest lift into the next band: the fewest extra events of one metric that take the
    score past its band's To, e.g. "+2 Metric 3" (the row's third value; "-2": two fewer). Blank
    in the top band or where no one metric can. A block gives one per row."""
    try:
        rows, model = _rows_and_model(activity, weights, targets, None)
        if not _omitted(bands):
            model = model.with_settings(bands=_bands(bands))
        core = score_matrix(rows, model, validate=False)
        labels = lift_matrix(rows, model, core).labels([m.name for m in model.metrics])
        values = ["" if v is None else v for v in labels.tolist()]
    except CESError as exc:
        return _message(exc)
    except Exception as exc:  # never a traceback in a cell
        return f"{ERROR_PREFIX} {type(exc).__name__}: {exc}"[:255]
    return values[0] if len(values) == 1 else [[v] for v in values]


def _rows_and_model(activity, weights, targets, method) -> tuple[np.ndarray, Model]:
    """The activity rows and the model of a call (CES_SCORE's and CES_LIFT's arguments)."""
    rows = _matrix(activity, "activity")
    weight_list = _vector(weights, "weights", blank=0.0)
    if rows.shape[0] == 1 and rows.shape[1] != len(weight_list) and len(weight_list) == 1:
        rows = rows.reshape(-1, 1)  # a single column of one metric for many customers
    if rows.shape[1] != len(weight_list):
        raise CESError(f"{len(weight_list)} weights for {rows.shape[1]} metrics")
    target_list = None if _omitted(targets) else _vector(targets, "targets")
    if target_list is not None and len(target_list) != len(weight_list):
        raise CESError(f"{len(target_list)} targets for {len(weight_list)} metrics")
    chosen = _method(method, has_targets=target_list is not None)
    model = _model(weight_list.tobytes(),
                   None if target_list is None or chosen == "sum" else target_list.tobytes(), chosen)
    return rows, model


@xw.func(category="CES")
@xw.arg("score", ndim=2, doc="A score, or a column of scores.")
@xw.arg("bands", doc=BANDS_DOC)
def CES_BAND(score, bands=None):
    """The engagement band of a score: the first band whose To the score does not exceed.
    A column of scores gives a column of bands."""
    try:
        table = DEFAULT_BANDS if _omitted(bands) else _bands(bands)
        grid = _matrix(score, "score").tolist()
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

@functools.lru_cache(maxsize=64)
def _model(weights: bytes, targets: bytes | None, method: str) -> Model:
    """The validated model for a call's weights and targets (float64 bytes: a cache key that
    tells 0.0 from -0.0). Cached, since a sheet calls the function with the same ones row after
    row; a model that fails validation raises every time and is not kept."""
    weight_list = np.frombuffer(weights).tolist()
    target_list = None if targets is None else np.frombuffer(targets).tolist()
    model = Model([Metric(f"Metric {i + 1}", w, target=None if target_list is None else target_list[i])
                   for i, w in enumerate(weight_list)], method=method)
    model.validate()
    return model


def _matrix(value: Any, what: str) -> np.ndarray:
    """Scalar, list, list of lists or numpy array -> 2-D array of floats. ``activity`` holds
    counts (the table rules; blank -> 0); any other range holds numbers (blank -> NaN)."""
    blank = 0.0 if what == "activity" else np.nan
    if isinstance(value, np.ndarray):
        value = value.tolist()
    convert = _count if what == "activity" else _number
    if not isinstance(value, (list, tuple)):
        return np.array([[convert(value, what, blank)]])
    elif not value or not isinstance(value[0], (list, tuple, np.ndarray)):
        value = [value]
    fast = _plain_numbers(value, blank)
    if fast is not None:
        return fast
    rows = []
    for r, row in enumerate(value, start=1):
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if not isinstance(row, (list, tuple)):
            raise CESError(f"{what} mixes rows and single values")
        rows.append([convert(v, f"{what} row {r}, value {c}", blank)
                     for c, v in enumerate(row, start=1)])
    if not rows or not rows[0]:
        raise CESError(f"{what} is empty")
    if any(len(row) != len(rows[0]) for row in rows):
        raise CESError(f"{what} rows differ in length")
    return np.array(rows, dtype=float)


_PLAIN = frozenset({float, int, type(None)})


def _plain_numbers(rows: list | tuple, blank: float) -> np.ndarray | None:
    """The fast road for what Excel usually hands over: rows of equal length holding only
    Python floats, ints and None (blank), each within the table rules' limit. None when
    anything else is there (text, TRUE/FALSE, dates, numpy scalars, infinity, huge numbers,
    ragged rows, ...): :func:`_matrix` then reads value by value, with the exact rules."""
    if not set(map(type, rows)) <= {list, tuple}:
        return None
    if not set(map(type, itertools.chain.from_iterable(rows))) <= _PLAIN:  # never text: numpy
        return None                                                       # reads "1_000" too
    if len(set(map(len, rows))) != 1 or not rows[0]:
        return None
    try:
        x = np.array(rows, dtype=float)  # None -> NaN
    except (OverflowError, ValueError, TypeError):
        return None
    if (np.abs(x) > MAX_COUNT).any():  # infinity too (NaN, a blank, compares False)
        return None
    if blank == 0.0:
        np.copyto(x, 0.0, where=np.isnan(x))
    return x


def _vector(value: Any, what: str, blank: float = np.nan) -> np.ndarray:
    """A row or column of numbers; a blank is ``blank`` (NaN: not allowed)."""
    rows = _matrix(value, what)
    if rows.shape[0] > 1 and rows.shape[1] > 1:
        raise CESError(f"{what} must be one row or one column")
    flat = rows.ravel()
    missing = np.isnan(flat)
    if missing.any():
        flat = np.where(missing, blank, flat)
        if np.isnan(blank):
            raise CESError(f"{what} value {int(np.flatnonzero(missing)[0]) + 1} is blank")
    return flat


def _count(value: Any, where: str, blank: float) -> float:
    """An activity value by the table rules (:func:`~ces_xl.core.table.count_value`)."""
    try:
        number = count_value(value)
    except ValueError as exc:
        raise CESError(f"{where}: {exc.args[0]}") from None
    return blank if np.isnan(number) else number


def _number(value: Any, where: str, blank: float) -> float:
    """A weight, target or score: any number (or numeric text), not TRUE/FALSE."""
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
    problems: list[CESError] = []
    table = parse_bands(Grid("bands", [list(row) for row in value]), [], problems)
    if problems:
        raise problems[0]
    Model([Metric("x", 1)], bands=table).validate()
    return table


def _message(exc: CESError) -> str:
    """A short cell message: the problem and, for sheet ranges, where it is."""
    # Only a position inside a range argument helps in a cell; the model's own fallbacks
    # ("metric 'Metric 2' target") would repeat the problem text.
    where = exc.where if exc.where and "!" in exc.where else None
    text = exc.problem if not where else f"{where.replace('bands!', 'bands ')}: {exc.problem}"
    return f"{ERROR_PREFIX} {text}"[:255]
