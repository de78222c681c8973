"""Events to counts: a dated log of what customers did, in; one count per customer and metric, out.

SPEC "Events: counts from a dated log". A metric's value for a customer is the sum of
``Count x decay`` over that customer's events of that metric inside the window:

* ``age`` = the as-of date minus the event's date, in whole days (a date-time counts by its
  date); an event counts when ``0 <= age < window`` (no window: any ``age >= 0``); events after
  the as-of date are ignored;
* ``decay = 0.5 ** (age / half_life)``, or 1 without a half-life;
* the sum is rounded to 9 decimals (:mod:`ces_xl.core.rounding`), so every engine counts alike.

Dates are day numbers: whole days since 1899-12-30, the day spreadsheets count from, so that a
spreadsheet's date serial (46000.75) is its day number once its time of day is dropped. Dates
come as such serials, as date or date-time values, or as ISO text (``2026-11-30``,
``2026-11-30 14:05``). Everything is vectorised over events; only the metrics are looped over.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import CESError, InputError
from .model import Model
from .names import did_you_mean, name_key
from .rounding import rounded
from .table import MAX_PROBLEMS, Places, Table, classify

EPOCH = _dt.date(1899, 12, 30)
_EPOCH64 = np.datetime64("1899-12-30", "D")
FIRST_DAY, LAST_DAY = 1, 2_958_465  # 1900-01-01 to 9999-12-31, the dates spreadsheets know
_ISO = re.compile(r"\s*\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*")
DATE_FIX = "enter a date (a spreadsheet date, or text such as 2026-11-30 or 2026-11-30 14:05)"


@dataclass
class EventLog:
    """Events as the core counts them: one entry per event."""

    ids: np.ndarray      # object: the customer of each event
    metric: np.ndarray   # intp: the position of its metric in the model; -1 for a name no metric has
    day: np.ndarray      # int64: its date, as a day number
    count: np.ndarray    # float: how much it counts (1 unless the log says otherwise)
    rows: np.ndarray | None = None  # each event's row in the source, for notes

    def __len__(self) -> int:
        return len(self.day)


# --- dates ---------------------------------------------------------------------------------

def day_of(value: object) -> int:
    """The day number of a date, date-time or day number (spreadsheet serial)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return int(math.floor(value))
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return (value - EPOCH).days
    raise TypeError(f"not a date: {value!r}")


def date_of(day: int) -> _dt.date:
    """The date of a day number."""
    return EPOCH + _dt.timedelta(days=int(day))


def date_problem(value: object) -> str:
    """Why ``value`` is not a date (for a message)."""
    if isinstance(value, (bool, np.bool_)):
        return "the date is TRUE/FALSE"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"the date {value!r} is not a day a spreadsheet knows (1900-01-01 to 9999-12-31)"
    return f"the date is {str(value)!r}, not a date"


def day_numbers(values: np.ndarray, places: Places, col: int, *, blank: np.ndarray | None = None,
                types: np.ndarray | None = None, rows: Sequence[int] | None = None,
                problems: list[CESError] | None = None) -> np.ndarray:
    """A column of dates -> day numbers (int64). A blank or anything that is no date is a
    problem naming its cell (appended to ``problems``, or raised). ``blank`` and ``types``:
    :func:`~ces_xl.core.table.classify`'s results when the caller has them."""
    rows = np.arange(len(values)) if rows is None else np.asarray(rows)
    values = values.astype(object) if values.dtype != object else values
    if blank is None or types is None:
        blank, types = (a.ravel() for a in classify(values.reshape(-1, 1)))
    kinds = types
    days = np.zeros(len(values), dtype=np.int64)
    bad = blank.copy()
    numbers = np.flatnonzero(_is(kinds, float, int) & ~blank)
    if len(numbers):
        serial = values[numbers].astype(float)
        days[numbers] = np.floor(serial).astype(np.int64)
        bad[numbers] = ~np.isfinite(serial)
    moments = np.flatnonzero(_is(kinds, _dt.datetime, _dt.date, pd.Timestamp) & ~blank)
    if len(moments):
        stamps = pd.to_datetime(pd.Series(values[moments], dtype=object), errors="coerce")
        days[moments] = (stamps.to_numpy(dtype="datetime64[D]") - _EPOCH64).astype(np.int64)
        bad[moments] = stamps.isna().to_numpy()
    texts = np.flatnonzero(_is(kinds, str) & ~blank)
    if len(texts):
        text = pd.Series(values[texts], dtype=object)
        shaped = text.str.fullmatch(_ISO.pattern).fillna(False).to_numpy(dtype=bool)
        stamps = pd.to_datetime(text.where(shaped).str.strip(), format="ISO8601", errors="coerce")
        ok = stamps.notna().to_numpy()
        days[texts[ok]] = (stamps[ok].to_numpy(dtype="datetime64[D]") - _EPOCH64).astype(np.int64)
        bad[texts] = ~ok
    handled = np.zeros(len(values), dtype=bool)
    for group in (numbers, moments, texts):
        handled[group] = True
    bad |= ~handled & ~blank  # TRUE/FALSE, error values, anything else
    bad |= ~blank & ((days < FIRST_DAY) | (days > LAST_DAY))
    if bad.any():
        found = []
        for i in np.flatnonzero(bad)[:MAX_PROBLEMS].tolist():
            if blank[i]:
                problem, fix = "the date is blank", "enter the date of the event, or delete the row"
            else:
                problem, fix = date_problem(values[i]), DATE_FIX
            found.append(InputError(problem, where=places.cell(int(rows[i]), col), fix=fix))
        if problems is None:
            raise InputError.gather(found)
        problems.extend(found)
    return days


def _is(types: np.ndarray, *classes: type) -> np.ndarray:
    """Where ``types`` (an array of classes) is one of ``classes``. (np.equal, not ``==``: a
    class such as pandas' Timestamp answers ``types == Timestamp`` with one False.)"""
    found = np.zeros(len(types), dtype=bool)
    for cls in classes:
        found |= np.equal(types, cls).astype(bool)
    return found


def date_value(value: object, where: str) -> int:
    """One date setting (As of) as a day number; an InputError naming ``where`` otherwise."""
    found: list[CESError] = []
    days = day_numbers(np.array([value], dtype=object), _Single(where), 0, problems=found)
    if found:
        raise InputError(found[0].problem, where=where, fix=DATE_FIX)
    return int(days[0])


@dataclass
class _Single(Places):
    where: str = ""

    def cell(self, row: int, col: int) -> str:
        return self.where


# --- events to counts ----------------------------------------------------------------------

def match_names(sizes: Iterable[tuple[object, int]], model: Model) -> tuple[list[int], list[str]]:
    """Each distinct event name's metric (its position in ``model``, -1 for none), matched as
    metric columns are (case- and space-insensitive), given the names with how many events have
    each; and, for :func:`left_out_note`, the names no metric has, each with its count and a
    "did you mean"."""
    position = {name_key(m.name): i for i, m in enumerate(model.metrics)}
    metric_names = [m.name for m in model.metrics]
    positions, unknown = [], []
    for name, size in sizes:
        where = position.get(name_key(name), -1)
        positions.append(where)
        if where < 0:
            unknown.append(f"'{name}' ({size} row{'s' * (size != 1)}){did_you_mean(str(name), metric_names)}")
    return positions, unknown


def left_out_note(unknown: list[str]) -> str:
    """The note on the event names no metric has (:func:`match_names`'), the first 20 named."""
    more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
    return f"event names that match no metric are left out: {', '.join(unknown[:20])}{more}"


def match_events(names: np.ndarray, model: Model) -> tuple[np.ndarray, list[str]]:
    """Each event's metric (its position in ``model``, -1 for none), by :func:`match_names`; and
    the names no metric has, for a note."""
    codes, uniques = pd.factorize(pd.Series(names, dtype=object))  # a blank name: code -1
    sizes = np.bincount(codes[codes >= 0], minlength=len(uniques))
    positions, unknown = match_names(zip(uniques.tolist(), sizes.tolist()), model)
    lookup = np.array(positions + [-1], dtype=np.intp)
    return lookup[codes], unknown


def customers(listed: np.ndarray | None, event_ids: np.ndarray) -> tuple[np.ndarray, int]:
    """The customers: those ``listed`` (the Activity rows), in order, then the IDs seen only in
    the events, in order of first appearance; and how many of those there are."""
    listed = np.empty(0, dtype=object) if listed is None else listed
    seen = pd.unique(pd.Series(event_ids, dtype=object))
    new = seen[~pd.Series(seen, dtype=object).isin(pd.Series(listed, dtype=object)).to_numpy()]
    out = np.empty(len(listed) + len(new), dtype=object)
    out[:len(listed)] = listed
    out[len(listed):] = new
    return out, len(new)


def event_counts(log: EventLog, who: np.ndarray, metrics: int, as_of: int, window: float | None = None,
                 half_life: float | None = None, positions: np.ndarray | None = None) -> np.ndarray:
    """Customers x metrics: the decayed sum of the events in the window before ``as_of``
    (a day number), by the rule in the module's docstring. ``who``: the customers, in order
    (``positions``: each event's customer's place among them, when known)."""
    if positions is None:
        positions = pd.Index(pd.Series(who, dtype=object)).get_indexer(pd.Series(log.ids, dtype=object))
    age = as_of - log.day
    keep = (log.metric >= 0) & (age >= 0) & (positions >= 0)
    if window is not None:
        keep &= age < window
    weight = log.count[keep]
    if half_life is not None:
        weight = weight * np.power(0.5, age[keep] / half_life)  # as SQL's POWER(0.5, age / half_life)
    flat = np.bincount(positions[keep] * metrics + log.metric[keep], weights=weight, minlength=len(who) * metrics)
    # Rounded as scores are (core.rounding): the sum of a customer's events depends on the order
    # they are added in, and two customers with the same events must tie in every engine.
    return rounded(flat).reshape(len(who), metrics)


# --- snapshots -----------------------------------------------------------------------------

def step_back(day: int, every: str | float, k: int) -> int:
    """The day ``k`` steps of ``every`` before ``day``: ``month`` steps back by calendar months,
    clamped to the month's last day (31 March -> 28 or 29 February); ``week`` by 7 days; a
    number by that many days."""
    if every == "month":
        date = date_of(day)
        month = date.year * 12 + date.month - 1 - k
        year, month = divmod(month, 12)
        last = (_dt.date(year + (month == 11), (month + 1) % 12 + 1, 1) - _dt.timedelta(days=1)).day
        return (_dt.date(year, month + 1, min(date.day, last)) - EPOCH).days
    step = 7 if every == "week" else float(every)
    return int(day - math.floor(k * step))


def snapshot_days(as_of: int, history: int, every: str | float) -> list[int]:
    """The as-of days of the earlier snapshots, oldest first."""
    return [step_back(as_of, every, k) for k in range(history, 0, -1)]


class Timeline:
    """The customers of an Activity table (None: there is none) and of an event log, with every
    metric the table has no column for counted from the events, at any as-of date. The
    customers, and where each event's customer is among them, are worked out once for all the
    dates (a history of snapshots counts the same log again and again)."""

    def __init__(self, table: Table | None, log: EventLog, model: Model, id_header: str):
        self.table, self.log, self.model, self.id_header = table, log, model, id_header
        metrics = len(model.metrics)
        self.from_events = list(range(metrics)) if table is None else [
            i for i, h in enumerate(table.metric_headers) if h is None]
        self.who, self.added = customers(None if table is None else table.ids, log.ids)
        self.listed = 0 if table is None else len(table.ids)
        self.positions = pd.Index(pd.Series(self.who, dtype=object)).get_indexer(pd.Series(log.ids, dtype=object))
        first = np.full(len(self.who), np.iinfo(np.int64).max)
        np.minimum.at(first, self.positions, log.day)
        self.first = first  # each customer's first event (none: the largest day there is)

    def table_at(self, as_of: int, present_only: bool = False) -> Table:
        """The customers' table at ``as_of``: Activity rows first, then those only in the events,
        in order of first appearance (``present_only``: only those whose first event came on or
        before ``as_of``), blank in the Activity columns; a note says how many."""
        table, metrics = self.table, len(self.model.metrics)
        counts = np.full((len(self.who), metrics), np.nan)
        if table is not None:
            counts[:self.listed] = table.counts
        if self.from_events:
            counted = event_counts(self.log, self.who, metrics, as_of, self.model.window, self.model.half_life,
                                   self.positions)
            counts[:, self.from_events] = counted[:, self.from_events]
        keep, added, later = slice(None), self.added, 0
        if present_only:
            keep = np.ones(len(self.who), dtype=bool)
            keep[self.listed:] = self.first[self.listed:] <= as_of
            later = len(self.who) - int(keep.sum())
            added -= later

        def extended(values: np.ndarray | None, blank=None) -> np.ndarray | None:
            """An Activity column over every customer: ``blank`` for those only in the events
            (None, or NaN for an outcome: not known)."""
            if values is None:
                return None
            out = np.full(len(self.who), blank, dtype=object if blank is None else float)
            out[:self.listed] = values
            return out[keep]

        notes = list(table.notes) if table is not None else []
        if added and table is not None:
            notes.append(f"{added} customer(s) appear only in the events: they come after the Activity rows")
        if later:  # not yet customers on that date: scoring them 0 would put them among the churn risks
            notes.append(f"{later} customer(s) have events only after the as-of date {date_of(as_of).isoformat()}: "
                         "they are not scored")
        if table is None:
            return Table(ids=self.who[keep], counts=counts[keep], id_header=self.id_header,
                         metric_headers=[None] * metrics, notes=notes)
        # The Activity table over every customer (a field added to Table is carried as it is);
        # rows and number_columns place Activity cells, which customers of the events have not.
        return dataclasses.replace(table, ids=self.who[keep], counts=counts[keep], segments=extended(table.segments),
                                   outcomes=extended(table.outcomes, np.nan), rows=None, number_columns=None,
                                   shown={h: extended(v) for h, v in table.shown.items()}, notes=notes)

    def snapshots(self, days: list[int]) -> list:
        """The scores at each of ``days`` (earlier as-of dates), from the same events and rules:
        a :class:`~ces_xl.core.history.Snapshot` each. The customers of a snapshot are the
        Activity rows and those whose first event came on or before its date; metrics from
        Activity columns have no dates and keep their values."""
        from .bands import band_index, band_labels
        from .history import Snapshot, rescorer

        rescore, fingerprint = rescorer(self.model), self.model.fingerprint()
        out = []
        for day in days:
            at = self.table_at(day, present_only=True)
            scores, _ = rescore(at.counts)
            out.append(Snapshot(day, at.ids, scores, band_labels(self.model.bands)[band_index(scores, self.model.bands)],
                                at.counts, fingerprint))
        return out


def read_log(frame: pd.DataFrame, model: Model, *, id_column=None, event_column="Event", date_column="Date",
             count_column="Count") -> tuple[EventLog, list[str]]:
    """A DataFrame of events (one row each) as an :class:`EventLog`, by the same rules as an
    Events sheet; and the notes (event names no metric has). Every problem in one InputError."""
    from .table import FramePlaces, counts as count_values, customer_ids  # the table rules

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"events must be a pandas DataFrame, not {type(frame).__name__}",
                         fix="pass a DataFrame with a customer ID column, Event, Date and (optionally) Count")
    columns = list(frame.columns)
    keys = {name_key(c): i for i, c in reversed(list(enumerate(columns)))}
    missing = [name for name in (event_column, date_column) if name_key(name) not in keys]
    if missing or not columns:
        raise InputError(f"the events have no {' or '.join(repr(m) for m in missing) or 'columns'} column "
                         f"(they have: {', '.join(map(str, columns)) or 'none'})",
                         fix="name the columns Event and Date (and Count), or say which they are")
    id_at = 0 if id_column is None else columns.index(id_column)
    places = FramePlaces(what="the events", columns=columns)
    problems: list[CESError] = []
    ids = customer_ids(frame.iloc[:, id_at].to_numpy(dtype=object), places, id_at, problems=problems, unique=False)
    d = keys[name_key(date_column)]
    days = day_numbers(frame.iloc[:, d].to_numpy(dtype=object), places, d, problems=problems)
    if name_key(count_column) in keys:
        c = keys[name_key(count_column)]
        count = count_values(frame.iloc[:, c].to_numpy(), places, c, problems=problems)
        count = np.where(np.isnan(count), 1.0, count)
    else:
        count = np.ones(len(frame))
    if problems:
        raise InputError.gather(problems)
    metric, unknown = match_events(frame.iloc[:, keys[name_key(event_column)]].to_numpy(dtype=object), model)
    notes = [left_out_note(unknown)] if unknown else []
    return EventLog(ids, metric, days, count, np.arange(len(frame))), notes


def metric_sources(model: Model, table: Table | None, log: EventLog) -> tuple[list[int], list[int]]:
    """Each metric comes from one place, an activity column or the events: the metrics (their
    positions in the model) that have both, and those that have neither (0 for everyone)."""
    has_events = np.bincount(log.metric[log.metric >= 0], minlength=len(model.metrics)) > 0
    headers = table.metric_headers if table is not None else [None] * len(model.metrics)
    both = [i for i, (h, e) in enumerate(zip(headers, has_events)) if h is not None and e]
    neither = [i for i, (h, e) in enumerate(zip(headers, has_events)) if h is None and not e]
    return both, neither


def score_events(events: pd.DataFrame, model: Model, *, as_of=None, window: float | None = None,
                 half_life: float | None = None, activity: pd.DataFrame | None = None, history: int = 0,
                 every: str | float = "month", **columns):
    """Score customers from a DataFrame of dated events (SPEC "Events"): one row per event, the
    customer ID first (or ``id_column=``), then ``Event``, ``Date`` and an optional ``Count``.

    ``as_of``: the date scored (a date, a date-time, ISO text or a day number; default the
    latest event). ``window`` and ``half_life`` (days) override the model's. ``activity``: an
    optional table of customers (their attributes, and metrics counted there instead).
    ``history``: how many earlier snapshots to count, ``every`` apart (``"month"``, ``"week"``
    or a number of days), for the trend: ``result.history``, the change columns, the band mix
    and the band movement, as the Settings sheet's History and Every give them. Returns the
    same :class:`~ces_xl.core.scoring.ScoreResult` as :func:`~ces_xl.core.scoring.score`."""
    from .history import apply as apply_history
    from .scoring import complete, score_table
    from .table import prepare

    # the Settings sheet's rules for History and Every
    if isinstance(history, bool) or not isinstance(history, (int, np.integer)) or history < 0:
        raise InputError(f"history must be a whole number of snapshots, 0 or more, not {history!r}",
                         where="history", fix="pass how many earlier snapshots to count, e.g. history=6")
    if not (every in ("month", "week") or (isinstance(every, (int, float, np.number)) and not isinstance(every, bool)
                                           and math.isfinite(every) and every > 0)):
        raise InputError(f"every must be 'month', 'week' or a number of days above 0, not {every!r}",
                         where="every", fix="pass every='month', every='week' or e.g. every=14")

    changes = {k: v for k, v in (("window", window), ("half_life", half_life)) if v is not None}
    model = model.with_settings(**changes) if changes else model
    notes = model.validate()
    log, more = read_log(events, model, **columns)
    notes.extend(more)
    table = prepare(activity, model, optional=True) if activity is not None else None
    both, neither = metric_sources(model, table, log)
    if both:
        raise InputError(f"metric(s) {', '.join(repr(model.metrics[i].name) for i in both)} have a column in the "
                         "activity table and events",
                         fix="keep one source for each metric: drop the column, or those events")
    notes += [f"metric '{model.metrics[i].name}' has no activity column and no events: it is 0 for every customer"
              for i in neither]
    if as_of is None:
        if not len(log):
            raise InputError("there are no events, and no as-of date", where="as_of", fix="pass as_of=")
        day = int(log.day.max())
    else:
        day = date_value(as_of, "as_of")
    id_header = str(events.columns[0]) if columns.get("id_column") is None else str(columns["id_column"])
    counting = Timeline(table, log, model, id_header)
    now = counting.table_at(day, present_only=True)
    if not len(now.ids):
        raise InputError(f"there are no customers on {date_of(day).isoformat()}: every event comes after it",
                         where="as_of", fix="pass a later as_of=")
    result = score_table(now, model, notes=notes, validated=True)
    apply_history(result, now.counts, counting.snapshots(snapshot_days(day, history, every)), day)
    complete(result, now)
    return result

