"""Table rules: what a count, a blank and a customer ID are, and which column is which metric.

The only copy of these rules. Every face reaches them: a workbook's Activity sheet (through
:mod:`ces_xl.contract`), a pandas DataFrame (:func:`prepare`), and the worksheet functions'
ranges (:func:`count_value`), so the same rows give the same numbers or the same problem.

* A **blank** is a missing value (None, NaN, NaT, ``pd.NA``) or text of nothing but spaces.
* A **count** is a number (Python or numpy; not TRUE/FALSE) or plain numeric text (``12``,
  `` 3.5 ``, ``1e3``; not ``1_000``, ``1,000``, ``n/a`` or non-ASCII digits), finite, and at most
  :data:`MAX_COUNT` in size. A date, TRUE/FALSE, an error value or other text is a problem.
* A **customer ID** is any non-blank value, unique in the table; a whole float (``1001.0``, as
  spreadsheet readers hand numbers over) is the integer ``1001``.
* A **metric's column** is the one column whose header matches the metric's name case- and
  space-insensitively (:func:`~ces_xl.core.names.name_key`).
* A row with no value at all is not a customer (rows left blank between customers), and
  neither is a **totals row**: one whose ID reads ``Total``, ``Grand total``, ``Subtotal``,
  ``Totals`` or ``Sum`` (any case, with or without a trailing colon); it is left out with a note.
* **Blank markers** (a caller's list, such as ``n/a, -, none``) are text that counts as blank.
* The other columns are **carried** along untouched (all of them, or those asked for).

Problems are reported through a :class:`Places` object that names a position the way the
caller's user sees it (``Activity!C5`` in a workbook, ``activity column 'Visits', row 3`` for
a DataFrame, ``activity row 1, value 2`` in a cell formula): the rule and its words are here,
the place is the caller's.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import CESError, InputError
from .model import Model
from .names import did_you_mean, name_key
from .values import ErrorValue, is_blank

MAX_COUNT = 1e15  # spreadsheets keep 15 significant digits; beyond, sums lose precision
MAX_PROBLEMS = 1_000  # problems gathered from one table before the rest are only counted
# pandas 2 copies what it concatenates unless told not to; pandas 3 never does (and warns at the word).
_NO_COPY = {"copy": False} if int(pd.__version__.split(".")[0]) < 3 else {}
COUNT_FIX = "enter a number, or leave the cell blank"


@dataclass
class Places:
    """How positions in a table are named for the user. Subclasses name cells of a sheet."""

    what: str = "the activity table"
    header_name: str = "column header"  # what a fix calls the header a metric's name must match

    def cell(self, row: int, col: int) -> str:
        """0-based data row ``row`` of column ``col``."""
        return f"{self.what}, column {col + 1}, row {row + 1}"

    def header(self, col: int) -> str:
        return f"{self.what}, column {col + 1}"

    def row_number(self, row: int) -> int:
        """The number a user would call data row ``row`` by."""
        return row + 1

    def table(self) -> str:
        return self.what

    def row_name(self, row: int) -> str:
        """Data row ``row`` as a note names it."""
        return f"row {self.row_number(row)}"

    def text_fix(self, value: str) -> str:
        """The fix for text that is not a count."""
        return COUNT_FIX


@dataclass
class FramePlaces(Places):
    """Places in a pandas DataFrame: by column name and data row (1 = the first row)."""

    columns: Sequence[object] = ()

    def cell(self, row: int, col: int) -> str:
        return f"{self._noun()} column {str(self.columns[col])!r}, row {row + 1}"

    def header(self, col: int) -> str:
        return f"{self._noun()} column {str(self.columns[col])!r}"

    def _noun(self) -> str:
        return "events" if self.what == "the events" else "activity"


@dataclass
class Table:
    """Customers as the scoring core takes them: what the rules above made of a table."""

    ids: np.ndarray                  # object: one customer ID per row
    counts: np.ndarray               # float (customers x metrics, in the model's order); NaN: blank
    id_header: str
    metric_headers: list[str | None]  # each metric's column header as the table spells it (None: no column)
    segments: np.ndarray | None = None  # object, None for blank
    segment_header: str | None = None
    outcomes: np.ndarray | None = None  # float: 1 yes, 0 no, NaN not known (an Outcome column)
    outcome_header: str | None = None
    rows: np.ndarray | None = None   # each customer's data row in the source (blank rows skipped)
    shown: dict[str, np.ndarray] = field(default_factory=dict)  # carried columns: header -> values
    headers: list[str] = field(default_factory=list)  # every column header of the source table
    id_cell: tuple[int, int] | None = None  # where the first ID sits in the source (0-based row, column)
    number_columns: list[int | None] | None = None  # per metric: its source column when it holds plain numbers
    notes: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame: IDs, one float column per metric, and the segments."""
        columns: dict[str, object] = {self.id_header: pd.Series(self.ids, dtype=object)}
        for i, header in enumerate(self.metric_headers):
            if header is not None:
                columns[header] = self.counts[:, i]
        if self.segments is not None:
            columns[self.segment_header] = pd.Series(self.segments, dtype=object)
        return pd.DataFrame(columns)


TOTAL_LABEL = re.compile(r"\s*(?:grand\s*total|sub\s*total|totals?|sum)\s*:?\s*", re.I)


def is_total_label(value: object) -> bool:
    """Whether an ID reads like the label of a totals row (Total, Grand total, Subtotal,
    Totals, Sum; any case; a trailing colon allowed)."""
    return isinstance(value, str) and TOTAL_LABEL.fullmatch(value) is not None


def totals_rows(ids: np.ndarray, rows: np.ndarray | None = None, blank_ids: np.ndarray | None = None) -> np.ndarray:
    """Positions of the totals rows: those whose ID is a totals label, and, given the whole
    ``rows`` and where the IDs are blank, those with no ID whose first value is such a label
    (a ``Grand Total`` typed in the name column beside an empty ID cell)."""
    found = _total_ids(ids.tolist())
    if rows is not None and blank_ids is not None and blank_ids.any():
        for i in np.flatnonzero(blank_ids).tolist():
            first = next((v for v in rows[i].tolist() if not is_blank(v)), None)
            if is_total_label(first):
                found.append(i)
    return np.array(sorted(found), dtype=np.intp)


def _total_ids(ids: list) -> list[int]:
    """Positions of the IDs that are totals labels. The IDs are joined a line each and searched
    for "total" and "sum" at C speed (a million IDs in a few hundredths of a second, against a
    second one by one); only the lines holding one are looked at. IDs holding a line break,
    which would misplace the lines, are looked at one by one."""
    try:
        joined = "\n".join(ids)
    except TypeError:  # not all text: numbers, dates, blanks
        joined = "\n".join(v if type(v) is str else "" for v in ids)
    if joined.count("\n") != max(len(ids) - 1, 0):
        return [i for i, v in enumerate(ids) if type(v) is str and len(v) < 20 and is_total_label(v)]
    low = joined.lower()
    starts = set()
    for word in ("total", "sum"):
        at = low.find(word)
        while at >= 0:
            start = joined.rfind("\n", 0, at) + 1
            end = joined.find("\n", at)
            end = len(joined) if end < 0 else end
            if end - start < 30 and is_total_label(joined[start:end]):
                starts.add(start)
            at = low.find(word, end)
    found, line, at = [], 0, 0
    for start in sorted(starts):
        line += joined.count("\n", at, start)
        at = start
        found.append(line)
    return found


def total_labels(rows: np.ndarray, id_at: int) -> list[str]:
    """The label that makes each totals row one: its ID, or its first value when the ID is blank."""
    labels = []
    for row in rows.tolist():
        label = row[id_at] if is_total_label(row[id_at]) else next((v for v in row if is_total_label(v)), "")
        labels.append(str(label).strip())
    return labels


def totals_note(rows: Sequence[int], labels: Sequence[str], places: Places) -> str:
    shown = ", ".join(f"{places.row_name(int(r))} ({label!r})" for r, label in zip(rows[:10], labels))
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"{len(rows)} totals row{'s' * (len(rows) > 1)} left out, not scored as customers: {shown}{more}"


def mark_blanks(table: np.ndarray, blank: np.ndarray, types: np.ndarray, markers: Sequence[str]) -> None:
    """Text cells that read as one of ``markers`` (any case, spaces around ignored) become blank."""
    if not markers:
        return
    wanted = {m.strip().casefold() for m in markers}
    text = np.flatnonzero((types == str) & ~blank)
    if len(text):
        flat = table.ravel()
        hits = np.fromiter((v.strip().casefold() in wanted for v in flat[text]), bool, len(text))
        blank.flat[text[hits]] = True


# --- single values ---------------------------------------------------------------------------

def to_number(value: object) -> float | None:
    """A value as a number: numbers and plain numeric text ("12", " 3.5 ", "1e3") count;
    blank, TRUE/FALSE, NaN/infinity, dates and other text ("1_000", "n/a") do not (None)."""
    if isinstance(value, (bool, np.bool_)) or is_blank(value) or isinstance(value, ErrorValue):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float's range
            return None
    elif isinstance(value, str):
        number = _text_number(value)
        if number is None:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _text_number(value: str) -> float | None:
    """Plain numeric text as the float it spells (infinity and NaN included); None for other
    text: not ASCII digits, Python's "1_000", "1,000", words."""
    text = value.strip()
    if not text.isascii() or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def count_problem(value: object) -> tuple[str, str]:
    """Why ``value`` (not blank) is not a count: the problem and its fix."""
    if isinstance(value, ErrorValue):
        return f"the count is the {value.label} {value}", "correct the formula or data behind it, or clear the cell"
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time, _dt.timedelta, np.datetime64, np.timedelta64)):
        return "the count is a date", COUNT_FIX
    if isinstance(value, (bool, np.bool_)):
        return "the count is TRUE/FALSE", COUNT_FIX
    number = to_number(value)
    if number is not None:  # a number, but too large
        return (f"the count {number:g} is too large to score (weighted sums would overflow or lose precision)",
                f"use counts up to {MAX_COUNT:g}, e.g. in thousands")
    if isinstance(value, (int, np.integer)):  # beyond even a float's range
        return ("the count is too large to score (weighted sums would overflow or lose precision)",
                f"use counts up to {MAX_COUNT:g}, e.g. in thousands")
    if _infinite(value):
        return "the count is infinite", "enter a finite number"
    return f"the count is {value!r}, not a number", COUNT_FIX


def _infinite(value: object) -> bool:
    """A float infinity, or text that reads as one ("inf", "-Infinity")."""
    if isinstance(value, str):
        value = _text_number(value)
    return isinstance(value, (float, np.floating)) and math.isinf(value)


def count_value(value: object) -> float:
    """One cell as a count: NaN for a blank; :class:`ValueError` with (problem, fix) otherwise."""
    if is_blank(value):
        return math.nan
    number = to_number(value)
    if number is None or abs(number) > MAX_COUNT:
        raise ValueError(*count_problem(value))
    return number


# --- whole tables ----------------------------------------------------------------------------

_cell_type = np.frompyfunc(type, 1, 1)


def classify(table: np.ndarray, errors: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """:func:`is_blank` of every cell of a 2-D object table, and the type of every cell.
    ``errors=False``: the caller knows no cell is an error value (one whole-table pass less).

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
    if errors:
        found = np.flatnonzero(_is_error_type(types))
        if len(found):
            blank.flat[found] = [v == "" for v in flat[found]]
    return blank, types


def _is_error_type(types: np.ndarray) -> np.ndarray:
    """Where the cells are error values (of :class:`ErrorValue` or a reader's subclass of it)."""
    found = types == ErrorValue
    for kind in ErrorValue.__subclasses__():
        found |= types == kind
    return found


def counts(values: np.ndarray, places: Places, col: int, *, blank: np.ndarray | None = None,
           types: np.ndarray | None = None, rows: Sequence[int] | None = None,
           problems: list[CESError] | None = None) -> np.ndarray:
    """One column of cell values -> counts (NaN for blank), by the rules above.

    ``blank`` and ``types`` are :func:`classify`'s results when the caller has them. ``rows``
    maps each value to its data row for :class:`Places` (default: its position). Each bad cell
    is a problem: appended to ``problems`` when given, else raised at once."""
    rows = np.arange(len(values)) if rows is None else np.asarray(rows)
    if values.dtype != object:  # a numeric column of a DataFrame (bool and dates are not numbers)
        if values.dtype.kind in "fiu":
            out = values.astype(float)
            bad = np.zeros(len(out), bool)
        else:
            values = values.astype(object)
            out, bad = _object_counts(values, None, None)
    else:
        out, bad = _object_counts(values, blank, types)
    with np.errstate(invalid="ignore"):
        bad |= ~np.isnan(out) & ~(np.abs(out) <= MAX_COUNT)
    if bad.any():
        found = []
        for i in np.flatnonzero(bad)[:MAX_PROBLEMS].tolist():
            value = values[i]
            value = str(value) if isinstance(value, np.str_) else value
            problem, fix = count_problem(value)
            if fix == COUNT_FIX and isinstance(value, str):
                fix = places.text_fix(value)
            found.append(InputError(problem, where=places.cell(int(rows[i]), col), fix=fix))
        if problems is None:
            raise found[0]
        problems.extend(found)
    return out


OUTCOME_WORDS = {"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}


def outcomes(values: np.ndarray, places: Places, col: int, *, rows: Sequence[int] | None = None,
             problems: list[CESError] | None = None) -> np.ndarray:
    """An outcome column (what happened next) -> 1.0 (yes), 0.0 (no) or NaN (blank: not known).
    Yes/no and true/false in any case, TRUE/FALSE cells, and 1/0 as numbers or text; anything
    else is a problem naming its cell."""
    rows = np.arange(len(values)) if rows is None else np.asarray(rows)
    out = np.full(len(values), np.nan)
    found = []
    for i, value in enumerate(values.tolist()):
        if is_blank(value):
            continue
        if isinstance(value, (bool, np.bool_)):
            out[i] = float(value)
        elif isinstance(value, (int, float, np.integer, np.floating)) and float(value) in (0.0, 1.0):
            out[i] = float(value)
        elif isinstance(value, str) and value.strip().casefold() in OUTCOME_WORDS:
            out[i] = OUTCOME_WORDS[value.strip().casefold()]
        elif len(found) < MAX_PROBLEMS:
            shown = f"{float(value):g}" if isinstance(value, (int, float, np.integer, np.floating)) else repr(value)
            found.append(InputError(f"the outcome is {shown}, not yes/no, TRUE/FALSE or 1/0",
                                    where=places.cell(int(rows[i]), col),
                                    fix="enter yes or no (TRUE/FALSE or 1/0 also do), or leave it blank if it is "
                                        "not known"))
    if found:
        if problems is None:
            raise found[0]
        problems.extend(found)
    return out


def _object_counts(values: np.ndarray, blank: np.ndarray | None, types: np.ndarray | None):
    """Object cell values -> (counts, bad): the common cases in whole-column passes."""
    if blank is None:
        blank, types = classify(values.reshape(-1, 1))
        blank, types = blank.ravel(), types.ravel()
    present = ~blank
    kinds = set(types[present].tolist())
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), bool)
    if kinds <= {float, int}:  # plain numbers: one conversion
        try:
            out[present] = values[present].astype(float)
            return out, bad
        except OverflowError:  # an int beyond float's range: value by value below
            pass
    for i in np.flatnonzero(present).tolist():
        number = to_number(values[i])
        if number is None:
            bad[i] = True
        else:
            out[i] = number
    return out, bad


def customer_ids(values: np.ndarray, places: Places, col: int, *, blank: np.ndarray | None = None,
                 types: np.ndarray | None = None, rows: Sequence[int] | None = None,
                 problems: list[CESError] | None = None, unique: bool = True) -> np.ndarray:
    """One column of customer IDs, checked: none blank, none an error value, none repeated
    (unless ``unique`` is False: a log of events repeats them). A whole float is the integer
    it holds (1001.0 -> 1001). ``blank`` and ``types`` are :func:`classify`'s results when the
    caller has them; ``types=str`` says every value is known to be plain text with something in it."""
    rows = np.arange(len(values)) if rows is None else np.asarray(rows)
    values = values.astype(object) if values.dtype != object else values
    if blank is None and (types is str or _all_text_filled(values)):  # the usual IDs: all text, none blank
        duplicate = _duplicates(values.tolist(), rows, places) if unique else None
        if duplicate is not None:
            if problems is None:
                raise InputError.gather([duplicate])
            problems.append(duplicate)
        return values.copy()
    if blank is None:
        blank, types = classify(values.reshape(-1, 1))
        blank, types = blank.ravel(), types.ravel()
    found: list[CESError] = []
    for i in np.flatnonzero(blank)[:MAX_PROBLEMS].tolist():
        found.append(InputError("the customer ID is blank", where=places.cell(int(rows[i]), col),
                                fix="fill in the ID or delete the row"))
    kinds = {str} if len(types) and types[0] is str and (types == str).all() else set(types.tolist())
    if any(isinstance(k, type) and issubclass(k, ErrorValue) for k in kinds):
        for i, v in enumerate(values.tolist()):
            if isinstance(v, ErrorValue) and v:
                found.append(InputError(f"the customer ID is the {v.label} {v}", where=places.cell(int(rows[i]), col),
                                        fix="correct the formula or data behind it"))
    ids = values.tolist()
    if kinds & {float, np.float64}:
        ids = [int(v) if isinstance(v, float) and v.is_integer() else v for v in ids]
    ids_array = np.empty(len(ids), dtype=object)
    ids_array[:] = ids
    if not found and unique:
        duplicate = _duplicates(ids, rows, places)
        if duplicate is not None:
            found.append(duplicate)
    if found:
        if problems is None:
            raise InputError.gather(found)
        problems.extend(found)
    return ids_array


def _all_text_filled(values: np.ndarray) -> bool:
    """Whether every value is text with something in it (a quick look: a million IDs in a few
    hundredths of a second); False means "look closer", not "a problem"."""
    items = values.tolist()
    return set(map(type, items)) == {str} and all(items) and not any(map(str.isspace, items))


def _duplicates(ids: list, rows: np.ndarray, places: Places) -> CESError | None:
    try:
        unique = pd.Index(ids, dtype=object).is_unique
    except TypeError:  # unhashable values: compared the slow way below
        unique = False
    if unique:
        return None
    seen: dict[object, list[int]] = {}
    for value, r in zip(ids, rows.tolist()):
        seen.setdefault(_hashable(value), []).append(places.row_number(r))
    dupes = [(v, where) for v, where in seen.items() if len(where) > 1]
    if not dupes:
        return None
    shown = "; ".join(f"{v!r} (rows {', '.join(map(str, where))})" for v, where in dupes[:5])
    more = f" and {len(dupes) - 5} more" if len(dupes) > 5 else ""
    return InputError(f"duplicate customer IDs: {shown}{more}", where=places.table(),
                      fix="give every customer one row (add up their activity first)")


def _hashable(value: object) -> object:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def match_metrics(headers: Sequence[object], model: Model, places: Places, *, skip: Sequence[int] = (),
                  problems: list[CESError] | None = None, header_place: str | None = None,
                  optional: bool = False) -> list[int]:
    """The column of each metric of ``model`` among ``headers`` (positions), matched once, by
    name, case- and space-insensitively. ``skip``: positions that are not metric columns (the
    ID). A metric with more than one column is a problem, and so is one with none, unless
    ``optional`` (its values come from elsewhere, e.g. events): then its position is -1."""
    skipped = set(skip)
    by_key: dict[str, list[int]] = {}
    for c, header in enumerate(headers):
        if c not in skipped and not is_blank(header):
            by_key.setdefault(name_key(header), []).append(c)
    shown = [str(h) if not isinstance(h, float) or not h.is_integer() else str(int(h))
             for c, h in enumerate(headers) if c not in skipped and not is_blank(h)]
    found: list[CESError] = []
    matched: list[int] = []
    for metric in model.metrics:
        hits = by_key.get(name_key(metric.name), [])
        if len(hits) == 1:
            matched.append(hits[0])
        elif not hits and optional:
            matched.append(-1)
        elif not hits:
            found.append(InputError(
                f"metric '{metric.name}' has no column in {header_place or places.table()}"
                f"{did_you_mean(metric.name, shown)}", where=metric.where("name"),
                fix=f"make the metric name and the {places.header_name} the same (case and spaces do not matter)"))
        else:
            found.append(InputError(f"metric '{metric.name}' matches {len(hits)} columns ("
                                    + ", ".join(places.header(c) for c in hits) + ")",
                                    where=places.table(), fix="rename or remove the extra column"))
    if found:
        if problems is None:
            raise InputError.gather(found)
        problems.extend(found)
    return matched


def find_column(headers: Sequence[object], name: str, skip: Sequence[int] = ()) -> int | None:
    """The first column headed ``name`` (case- and space-insensitively), not among ``skip``."""
    key, skipped = name_key(name), set(skip)
    return next((c for c, h in enumerate(headers) if c not in skipped and not is_blank(h) and name_key(h) == key),
                None)


def segment_values(values: np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
    """A Segment column: blanks None, numbers as their text (2024.0 -> "2024"), text as it is."""
    out = values.astype(object, copy=True)
    if blank is None:
        blank = classify(out.reshape(-1, 1))[0].ravel()
    out[blank] = None
    items = out.tolist()
    if set(map(type, items)) <= {str, type(None)}:  # the usual segments: text (a quick look)
        return out
    others = [i for i, v in enumerate(items) if v is not None and type(v) is not str]
    for i in others:
        v = out[i]
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        out[i] = str(v).strip()
    return out


# --- a DataFrame -----------------------------------------------------------------------------

def prepare(frame: pd.DataFrame, model: Model, *, id_column=None, segment_column=None,
            optional: bool = False, outcome_column=None) -> Table:
    """A DataFrame as a :class:`Table`: IDs in the first column (or ``id_column``), one column
    per metric matched by name, a ``Segment`` column found by name (or ``segment_column``), an
    ``Outcome`` column found by name (or ``outcome_column``), and every other column carried.
    Every problem found is in the one :class:`~ces_xl.errors.InputError` raised. ``optional``:
    a metric may have no column (its counts come from events)."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"activity must be a pandas DataFrame, not {type(frame).__name__}",
                         fix="pass a DataFrame with an ID column and one column per metric")
    columns = list(frame.columns)
    if not columns:
        raise InputError("the activity table has no columns", fix="give it an ID column and one column per metric")
    id_at = 0 if id_column is None else _position(columns, id_column, "ID column")
    places = FramePlaces(columns=columns)
    problems: list[CESError] = []
    metric_at = match_metrics(columns, model, places, skip=[id_at], problems=problems, optional=optional)
    if problems:
        raise InputError.gather(problems)
    id_values = frame.iloc[:, id_at].to_numpy(dtype=object)
    positions = np.arange(len(frame))
    if _all_text_filled(id_values):  # the usual IDs: nothing to look at closely
        id_blank, id_types = np.zeros(len(id_values), dtype=bool), None
    else:
        id_blank, id_types = (a.ravel() for a in classify(id_values.reshape(-1, 1)))
    if id_blank.any():  # rows with nothing in them at all are not customers
        positions = positions[~(id_blank & np.asarray(frame.isna().all(axis=1)))]
    notes = []
    totals = totals_rows(id_values[positions])
    if len(totals):
        notes.append(totals_note(positions[totals], [str(v).strip() for v in id_values[positions[totals]]], places))
        positions = np.delete(positions, totals)
    if len(positions) < len(frame):
        frame = frame.iloc[positions]
        id_values, id_blank = id_values[positions], id_blank[positions]
        id_types = None if id_types is None else id_types[positions]
    if len(frame) == 0:
        raise InputError("the activity table has no customer rows", fix="add one row per customer")
    rows = positions
    # types=str: every ID is known to be text with something in it
    ids = customer_ids(id_values, places, id_at, blank=None if id_types is None else id_blank,
                       types=str if id_types is None else id_types, rows=rows, problems=problems)
    counts_by_metric = np.empty((len(metric_at), len(frame)))
    for i, c in enumerate(metric_at):
        counts_by_metric[i] = np.nan if c < 0 else counts(frame.iloc[:, c].to_numpy(), places, c, rows=rows,
                                                          problems=problems)
    if outcome_column is not None:
        outcome_at = _position(columns, outcome_column, "outcome column")
    else:
        outcome_at = find_column(columns, "Outcome", skip=[id_at, *metric_at])
    outcome_values = None if outcome_at is None else outcomes(
        frame.iloc[:, outcome_at].to_numpy(dtype=object), places, outcome_at, rows=rows, problems=problems)
    if problems:
        raise InputError.gather(problems)
    if segment_column is not None:
        segment_at = _position(columns, segment_column, "segment column")
    else:
        segment_at = find_column(columns, "Segment", skip=[id_at, *metric_at])
    segments = None if segment_at is None else segment_values(frame.iloc[:, segment_at].to_numpy(dtype=object))
    taken = {id_at, *metric_at}
    shown = {str(columns[c]): frame.iloc[:, c].to_numpy(dtype=object, copy=True)
             for c in range(len(columns)) if c not in taken}
    return Table(ids=ids, counts=np.ascontiguousarray(counts_by_metric.T), id_header=str(columns[id_at]),
                 metric_headers=[str(columns[c]) if c >= 0 else None for c in metric_at], segments=segments,
                 segment_header=None if segment_at is None else str(columns[segment_at]), rows=rows,
                 shown=shown, notes=notes, headers=[str(c) for c in columns], outcomes=outcome_values,
                 outcome_header=None if outcome_at is None else str(columns[outcome_at]))


def _position(columns: list, name, what: str) -> int:
    hits = [c for c, column in enumerate(columns) if column == name]
    if not hits:
        raise InputError(f"{what} {name!r} is not in the activity table",
                         fix=f"use one of its columns: {', '.join(map(str, columns[:10]))}")
    return hits[0]


def side_by_side(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Frames of the same rows as one, their columns side by side, their arrays not copied: a
    matrix of 16,000 metrics stays one block, where a column each costs seconds in pandas."""
    return pd.concat(frames, axis=1, **_NO_COPY)
