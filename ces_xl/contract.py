"""The workbook contract: which sheets and headers drive the score, read from plain cell grids.

Both the headless reader (python-calamine) and the Excel button (xlwings) hand this module the
same thing, a :class:`Grid` of cell values per sheet, so the rules below (header matching, what
a blank means, which cell is wrong) are the same on every face.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .core.model import DEFAULT_BANDS, Band, Metric, Model
from .core.names import did_you_mean, name_key as normalize_header, nearest
from .errors import CESError
from .xlsx.a1 import column_letter
from .grid import ACTIVITY, BANDS, EXCEL_ERRORS, SETTINGS, WEIGHTS, ExcelError, Grid, find_sheet, is_blank

__all__ = ["ACTIVITY", "BANDS", "EXCEL_ERRORS", "SETTINGS", "WEIGHTS", "ExcelError", "Grid", "WorkbookInput",
           "find_sheet", "is_blank", "read_contract", "to_number"]

_WEIGHTS_COLUMNS = ("metric", "weight", "target", "normalization", "direction", "description")
_SETTING_KEYS = {
    "method": "method",
    "missingvalues": "missing", "missingvalue": "missing", "missing": "missing",
    "missingvaluepolicy": "missing", "blanks": "missing",
    "period": "period",
}
_SETTING_NAMES = ("Method", "Missing values", "Period")


@dataclass
class WorkbookInput:
    """What the contract sheets say: the activity table, the model, and notes for the user."""

    activity: pd.DataFrame
    model: Model
    id_header: str
    sheet_names: dict[str, str]  # contract name -> the sheet's actual name
    notes: list[str] = field(default_factory=list)


def read_contract(grids: Mapping[str, Grid]) -> WorkbookInput:
    """Parse and validate the contract sheets. Raises :class:`CESError` naming sheet and cell."""
    names = list(grids)
    found = {}
    for required in (ACTIVITY, WEIGHTS):
        actual = find_sheet(names, required)
        if actual is None:
            near = nearest(required, names)
            raise CESError(f"the workbook has no '{required}' sheet (it has: {', '.join(names) or 'none'})",
                           fix=f"rename sheet '{near}' to '{required}'" if near else
                           f"add a sheet named '{required}' (run 'ces-xl template' for an example)")
        found[required] = actual
    notes: list[str] = []
    metrics, weights_cells = parse_weights(grids[found[WEIGHTS]])
    bands = DEFAULT_BANDS
    if (bands_name := find_sheet(names, BANDS)) is not None:
        found[BANDS] = bands_name
        bands = parse_bands(grids[bands_name], notes)
    settings: dict[str, object] = {}
    if (settings_name := find_sheet(names, SETTINGS)) is not None:
        found[SETTINGS] = settings_name
        settings = parse_settings(grids[settings_name])
    model = Model(metrics=metrics, bands=bands, cells=weights_cells | settings.pop("cells", {}), **settings)
    model.validate()  # Weights/Bands/Settings errors come before Activity ones; score() reports the notes
    activity, id_header = parse_activity(grids[found[ACTIVITY]], model)
    return WorkbookInput(activity=activity, model=model, id_header=id_header, sheet_names=found, notes=notes)


# --- Weights -------------------------------------------------------------------------------

def parse_weights(grid: Grid) -> tuple[list[Metric], dict[str, str]]:
    h = grid.header_row()
    if h is None:
        raise CESError("the sheet is empty", where=grid.name,
                       fix="add a header row with Metric and Weight, and one row per metric")
    columns = _header_columns(grid, h, _WEIGHTS_COLUMNS, required=("metric", "weight"))
    metrics: list[Metric] = []
    for r in range(h + 1, len(grid.rows)):
        row = grid.rows[r]
        values = {key: _at(row, c) for key, c in columns.items()}
        if all(is_blank(v) for v in values.values()):
            continue
        cells = {key if key != "metric" else "name": grid.ref(r, c) for key, c in columns.items()}
        name = values["metric"]
        if is_blank(name):
            raise CESError("this row has no metric name", where=cells["name"],
                           fix="type the Activity column header the row scores, or clear the row")
        name = _text(name)
        if len(name) > MAX_METRIC_NAME:
            raise CESError(f"metric name '{name[:20]}...' is {len(name)} characters long", where=cells["name"],
                           fix=f"shorten it to at most {MAX_METRIC_NAME} characters (Excel table headers hold 255, "
                               "and ' (points)' is added to it)")
        weight = values["weight"]
        if is_blank(weight):
            raise CESError(f"metric '{name}' has no weight", where=cells["weight"],
                           fix="enter a number (0 switches the metric off)")
        weight = to_number(weight)
        if weight is None:
            raise CESError(f"weight {values['weight']!r} of metric '{name}' is not a number",
                           where=cells["weight"], fix="enter a number (0 switches the metric off)")
        target = values.get("target")
        if not is_blank(target):
            parsed = to_number(target)
            if parsed is None:
                raise CESError(f"target {target!r} of metric '{name}' is not a number", where=cells["target"],
                               fix="enter the activity level that earns full marks, or leave it blank")
            target = parsed
        else:
            target = None
        metrics.append(Metric(
            name=name, weight=weight, target=target,
            normalization=None if is_blank(values.get("normalization")) else _text(values["normalization"]).lower(),
            direction="higher" if is_blank(values.get("direction")) else _text(values["direction"]).lower(),
            description="" if is_blank(values.get("description")) else _text(values["description"]),
            cells=cells,
        ))
    weights_col = column_letter(grid.left + columns["weight"])
    span = f"{grid.name}!{weights_col}{grid.row_number(h) + 1}:{weights_col}{grid.top + len(grid.rows)}"
    return metrics, {"metrics": grid.ref(h, columns["metric"]), "weights": span}


# --- Bands ---------------------------------------------------------------------------------

def parse_bands(grid: Grid, notes: list[str]) -> tuple[Band, ...]:
    h = grid.header_row()
    if h is None:
        notes.append(f"the {grid.name} sheet is empty, so the default bands are used")
        return DEFAULT_BANDS
    columns = _header_columns(grid, h, ("band", "from", "to"), required=("band", "from", "to"))
    bands = []
    for r in range(h + 1, len(grid.rows)):
        row = grid.rows[r]
        values = {key: _at(row, c) for key, c in columns.items()}
        if all(is_blank(v) for v in values.values()):
            continue
        cells = {"label": grid.ref(r, columns["band"]), "from": grid.ref(r, columns["from"]),
                 "to": grid.ref(r, columns["to"])}
        label = "" if is_blank(values["band"]) else _text(values["band"])
        bounds = {}
        for key in ("from", "to"):
            number = to_number(values[key])
            if number is None:
                raise CESError(f"{key.capitalize()} value {values[key]!r} of band '{label}' is not a number",
                               where=cells[key], fix="enter a score, e.g. 40")
            bounds[key] = number
        bands.append(Band(label, bounds["from"], bounds["to"], cells=cells))
    if not bands:
        raise CESError("the band table has a header but no bands", where=grid.name,
                       fix="add Band, From and To rows, or delete the sheet to use the default bands")
    return tuple(bands)


# --- Settings ------------------------------------------------------------------------------

def parse_settings(grid: Grid) -> dict[str, object]:
    settings: dict[str, object] = {}
    cells: dict[str, str] = {}
    h = grid.header_row()
    if h is None:
        return {}
    first = h
    if normalize_header(_at(grid.rows[h], 0)) in ("setting", "settings", "key", "name", "option"):
        first = h + 1
    for r in range(first, len(grid.rows)):
        row = grid.rows[r]
        key, value = _at(row, 0), _at(row, 1)
        if is_blank(key):
            if not is_blank(value):
                raise CESError("this setting has a value but no name", where=grid.ref(r, 0),
                               fix=f"name it ({', '.join(_SETTING_NAMES)}) or clear the row")
            continue
        field_name = _SETTING_KEYS.get(normalize_header(key))
        if field_name is None:
            raise CESError(f"unknown setting '{key}'{did_you_mean(_text(key), _SETTING_NAMES)}",
                           where=grid.ref(r, 0), fix=f"use one of: {', '.join(_SETTING_NAMES)}")
        cells[field_name] = grid.ref(r, 1)
        if field_name == "period":
            settings["period"] = "" if is_blank(value) else _text(value)
        elif field_name == "method":
            settings["method"] = "auto" if is_blank(value) else _text(value).lower()
        else:
            settings["missing"] = "zero" if is_blank(value) else _text(value).lower()
    settings["cells"] = cells
    return settings


# --- Activity ------------------------------------------------------------------------------

def parse_activity(grid: Grid, model: Model) -> tuple[pd.DataFrame, str]:
    """The customer rows below the header as a table: IDs, one float column per metric, and
    the Segment column if there is one. Vectorised over rows: a million-row sheet is a few
    numpy passes over the whole table, not a Python loop per cell."""
    h = grid.header_row()
    if h is None:
        raise CESError("the sheet is empty", where=grid.name,
                       fix="put the customer ID header in the first column, one column per metric, "
                           "and one row per customer")
    header = grid.rows[h]
    first = next(c for c, v in enumerate(header) if not is_blank(v))
    table = _object_table(grid.rows[h + 1:], len(header))
    blank, types = blank_table(table)
    if first and not blank[:, :first].all():
        raise CESError("the customer ID column has no header", where=grid.ref(h, first - 1),
                       fix="type a header for it, e.g. Customer ID")
    by_key: dict[str, list[int]] = {}
    for c in range(first + 1, len(header)):
        if not is_blank(header[c]):
            by_key.setdefault(normalize_header(header[c]), []).append(c)
    id_header = _text(header[first])
    if len(id_header) > MAX_HEADER:
        raise CESError(f"the customer ID header is {len(id_header)} characters long", where=grid.ref(h, first),
                       fix=f"shorten it to at most {MAX_HEADER} characters (the longest header an Excel table holds)")

    keep = np.flatnonzero(~blank[:, first:].all(axis=1))
    if not len(keep):
        raise CESError(f"there are no customer rows below the header (row {grid.row_number(h)})",
                       where=grid.name, fix="add one row per customer")
    row_index = (keep + h + 1).tolist()  # grid row of each customer
    if len(keep) < len(table):  # rows left blank between customers
        table, blank, types = table[keep], blank[keep], types[keep]
    ids = _customer_ids(table[:, first], blank[:, first], set(types[:, first]), grid, first, row_index)

    headers = [_text(header[c]) for c in range(len(header))]
    metric_columns = []
    for metric in model.metrics:
        hits = by_key.get(normalize_header(metric.name), [])
        if not hits:
            raise CESError(f"metric '{metric.name}' has no column in the {grid.name} header "
                           f"(row {grid.row_number(h)})"
                           f"{did_you_mean(metric.name, [headers[c] for c in range(first + 1, len(header))])}",
                           where=metric.where("name"),
                           fix="make the metric name and the Activity header the same "
                               "(case and spaces do not matter)")
        if len(hits) > 1:
            raise CESError(f"metric '{metric.name}' matches {len(hits)} columns ("
                           + ", ".join(grid.ref(h, c) for c in hits) + ")",
                           where=grid.name, fix="rename or remove the extra column")
        metric_columns.append(hits[0])
    # Columns of nothing but floats and blanks (what a reader gives for counts) become floats
    # in one pass over them all; any other goes through numeric_cells, which names a bad cell.
    plain = [c for c in dict.fromkeys(metric_columns) if set(types[:, c][~blank[:, c]]) <= {float}]
    if plain:
        numbers = table[:, plain]
        numbers[blank[:, plain]] = np.nan
        numbers = numbers.astype(float)
    columns: dict[str, object] = {id_header: pd.Series(ids, dtype=object)}
    for c in metric_columns:
        columns[headers[c]] = (_check_range(numbers[:, plain.index(c)], grid, c, row_index) if c in plain
                               else numeric_cells(table[:, c], blank[:, c], grid, c, row_index))
    segment = by_key.get("segment")
    if segment:
        c = segment[0]
        values = table[:, c].copy()
        values[blank[:, c]] = None
        if not set(types[:, c][~blank[:, c]]) <= {str}:
            values = np.array([_segment_value(v) for v in values], dtype=object)
        columns[headers[c]] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns), id_header


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


_cell_type = np.frompyfunc(type, 1, 1)


def blank_table(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`is_blank` of every cell of a 2-D object table (None, NaN, "" and whitespace-only
    text), and the type of every cell.

    Whole-table passes in row order: a reader creates the cell values row by row, so they lie
    in memory row by row, and a pass down one column would touch a new cache line per cell
    (three times slower for a 100k-row sheet)."""
    types = _cell_type(table) if table.size else np.empty(table.shape, dtype=object)
    blank = pd.isna(table)
    flat = table.ravel()
    # Text is blank when empty or whitespace only; an error value only when empty. (No
    # `table == ""`: one cell that cannot be compared would spoil the whole comparison.)
    text = np.flatnonzero((types == str) & ~blank)
    if len(text):
        blank.flat[text] = np.fromiter(map(len, map(str.strip, flat[text])), np.intp, len(text)) == 0
    errors = np.flatnonzero(types == ExcelError)  # a str subclass
    if len(errors):
        blank.flat[errors] = [v == "" for v in flat[errors]]
    return blank, types


def _customer_ids(ids: np.ndarray, blank: np.ndarray, kinds: set, grid: Grid, c: int,
                  row_index: list[int]) -> list:
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise CESError("this row has activity but no customer ID", where=grid.ref(row_index[i], c),
                       fix="fill in the ID or delete the row")
    if ExcelError in kinds:
        i = next(i for i, v in enumerate(ids) if isinstance(v, ExcelError))
        raise CESError(f"the customer ID is the Excel error {ids[i]}", where=grid.ref(row_index[i], c),
                       fix="correct the formula or data behind it")
    values = ids.tolist()
    if float in kinds:  # calamine reads every number as float; 1001 is an ID, not 1001.0
        values = [int(v) if type(v) is float and v.is_integer() else v for v in values]
    if len(set(values)) < len(values):
        _check_duplicate_ids(values, row_index, grid)
    return values


def numeric_cells(values: np.ndarray, blank: np.ndarray, grid: Grid, c: int, row_index: list[int]) -> np.ndarray:
    """Cell values of one column -> floats (NaN for blank). Numbers and numeric text count;
    anything else is an error naming its cell."""
    present = values[~blank]
    if pd.api.types.infer_dtype(present, skipna=False) in ("floating", "integer", "mixed-integer-float", "empty"):
        # Only numbers (no text, TRUE/FALSE, dates or error values): one conversion.
        out = np.full(len(values), np.nan)
        out[~blank] = present.astype(float)
        return _check_range(out, grid, c, row_index)
    values = values.tolist()
    series = pd.Series(values, dtype=object)
    kinds = series.map(type)
    numeric = kinds.isin(_NUMBER_TYPES).to_numpy()
    out = np.full(len(values), np.nan)
    out[numeric] = series[numeric].to_numpy(dtype=float)
    is_text = kinds.eq(str).to_numpy()
    text = series[is_text].str.strip()
    parsed = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(dtype=float)
    out[is_text] = parsed
    text_bad = np.zeros(len(values), bool)
    text_bad[is_text] = np.isnan(parsed) & (text != "").to_numpy()
    other = ~numeric & ~is_text & ~blank
    bad = np.flatnonzero(text_bad | other)
    if len(bad):
        i = int(bad[0])
        value = values[i]
        if isinstance(value, ExcelError):
            raise CESError(f"the count is the Excel error {value}", where=grid.ref(row_index[i], c),
                           fix="correct the formula or data behind it, or clear the cell")
        what = ("a date" if isinstance(value, (_dt.date, _dt.datetime, _dt.time, _dt.timedelta))
                else "TRUE/FALSE" if isinstance(value, bool) else f"{value!r}, not a number")
        raise CESError(f"the count is {what}", where=grid.ref(row_index[i], c),
                       fix="enter a number, or leave the cell blank")
    return _check_range(out, grid, c, row_index)


def _check_range(out: np.ndarray, grid: Grid, c: int, row_index: list[int]) -> np.ndarray:
    if np.isinf(out).any():
        i = int(np.flatnonzero(np.isinf(out))[0])
        raise CESError("the count is infinite", where=grid.ref(row_index[i], c), fix="enter a finite number")
    with np.errstate(invalid="ignore"):
        huge = np.abs(out) > MAX_COUNT
    if huge.any():
        i = int(np.flatnonzero(huge)[0])
        raise CESError(f"the count {out[i]:g} is too large to score (weighted sums would overflow or lose "
                       "precision)", where=grid.ref(row_index[i], c),
                       fix=f"use counts up to {MAX_COUNT:g}, e.g. in thousands")
    return out


MAX_COUNT = 1e15  # Excel itself keeps 15 significant digits
MAX_HEADER = 255  # an Excel table's column names (the Scores sheet is a table)
MAX_METRIC_NAME = MAX_HEADER - len(" (points)")


_NUMBER_TYPES = [float, int, np.float64, np.float32, np.int64, np.int32]


def _check_duplicate_ids(ids: list, row_index: list[int], grid: Grid) -> None:
    seen: dict[object, list[int]] = {}
    for value, r in zip(ids, row_index):
        seen.setdefault(value, []).append(grid.row_number(r))
    dupes = [(v, rows) for v, rows in seen.items() if len(rows) > 1]
    if dupes:
        shown = "; ".join(f"{v!r} (rows {', '.join(map(str, rows))})" for v, rows in dupes[:5])
        more = f" and {len(dupes) - 5} more" if len(dupes) > 5 else ""
        raise CESError(f"duplicate customer IDs: {shown}{more}", where=grid.name,
                       fix="give every customer one row (add up their activity first)")


def _header_columns(grid: Grid, h: int, known: Sequence[str], required: Sequence[str]) -> dict[str, int]:
    header = grid.rows[h]
    columns: dict[str, int] = {}
    for c, value in enumerate(header):
        key = normalize_header(value) if not is_blank(value) else ""
        if key in known and key not in columns:
            columns[key] = c
    present = [_text(v) for v in header if not is_blank(v)]
    for key in required:
        if key not in columns:
            span = f"{grid.ref(h, 0)}:{column_letter(grid.left + max(len(header) - 1, 0))}{grid.row_number(h)}"
            near = nearest(key, present)
            raise CESError(f"no '{key.capitalize()}' column in the header row (found: "
                           f"{', '.join(present) or 'nothing'})", where=span,
                           fix=f"rename '{near}' to '{key.capitalize()}'" if near
                           else f"head a column '{key.capitalize()}'")
    return columns


def _at(row: Sequence[object], c: int) -> object:
    return row[c] if c < len(row) else None


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def to_number(value: object) -> float | None:
    """A cell value as a number: numbers and plain numeric text ("12", " 3.5 ", "1e3") count;
    blank, TRUE/FALSE, NaN/infinity and other text ("1_000", "n/a") do not (None). The same
    rule as the Activity columns, so every face reads a cell the same way."""
    if isinstance(value, (bool, np.bool_)) or is_blank(value):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text.isascii() or "_" in text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _segment_value(value: object) -> object:
    if is_blank(value):
        return None
    return _text(value) if not isinstance(value, str) else value
