"""The workbook contract: which sheets and headers drive the score, read from plain cell grids.

Both the headless reader (python-calamine) and the Excel button (xlwings) hand this package the
same thing, a :class:`~ces_xl.grid.Grid` of cell values per sheet, so the rules (header
matching, what a blank means, which cell is wrong) are the same on every face. One module per
input sheet; the table rules themselves are the core's (:mod:`ces_xl.core.table`).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from ..core import events as timeline
from ..core.history import Snapshot
from ..core.history import apply as apply_history
from ..core.model import DEFAULT_BANDS, Model
from ..core.names import nearest
from ..core.table import Table
from ..errors import CESError, InputError
from ..formulas import Cell, LiveCells
from ..grid import ACTIVITY, BANDS, EVENTS, HISTORY, SETTINGS, WEIGHTS, Grid, find_sheet
from ..xlsx.a1 import MAX_ROWS, parse_cell_ref
from .activity import parse_activity
from .bands import parse_bands
from .events import parse_events
from .history import parse_history
from .settings import Settings, parse_settings
from .weights import parse_weights

__all__ = ["WorkbookInput", "read_contract", "read_model"]


@dataclass
class WorkbookInput:
    """What the contract sheets say: the customers, the model, and notes for the user."""

    table: Table
    model: Model
    settings: Settings
    sheet_names: dict[str, str]  # contract name -> the sheet's actual name
    notes: list[str] = field(default_factory=list)
    events: timeline.EventLog | None = None  # the Events sheet's log, when there is one
    as_of: int | None = None  # the day scored (a day number): Settings' As of, the latest event, or today
    history: list[Snapshot] = field(default_factory=list)  # earlier snapshots: from the events, or the History sheet
    live: LiveCells | None = None  # Settings Formulas = live: where the model's numbers are, for formulas

    def trend(self, result) -> None:
        """Add this run's history and explained change to ``result`` (see core.history.apply)."""
        apply_history(result, self.table.counts, self.history, self.as_of, max_rows=MAX_ROWS - 1)

    def card(self, source: str | None = None, events: bool | None = None) -> dict[str, object]:
        """The model card (SPEC "Actions"): the model's fingerprint, the ces_xl version, the
        as-of date, the input file's name and every setting in force, defaults included, as the
        Settings sheet names them."""
        from .. import __version__

        s, m = self.settings, self.model
        events = self.events is not None if events is None else events  # events: counted from a log

        def days(value, otherwise: str) -> object:
            return otherwise if value is None else value

        ready = m.trial_ready if m.trial_ready is not None else m.bands[-1].lower
        return {
            "Model fingerprint": m.fingerprint(),
            "ces_xl version": __version__,
            "As of": timeline.date_of(self.as_of).isoformat() if self.as_of is not None else "",
            "Input file": source or "",
            "Method": m.resolved_method,
            "Missing values": m.missing,
            "Window (days)": days(m.window, "no limit") if events else "no events",
            "Half-life (days)": days(m.half_life, "no decay") if events else "no events",
            "History": s.history if events else "each run's snapshot",
            "Every": s.every if events else "no events",
            "Drop alert": m.drop_alert,
            "Trial segment": m.trial_segment,
            "Trial ready": ready,
            "ID column": s.id_column or self.table.id_header,
            "Blank values": ", ".join(s.blank_values) or "none",
            "Show columns": "all" if s.show_columns is None else ", ".join(s.show_columns) or "none",
            "Outcome column": self.table.outcome_header or "none",
            "Formulas": s.formulas,
        }

    @property
    def id_header(self) -> str:
        return self.table.id_header

    @property
    def activity(self) -> pd.DataFrame:
        """The Activity customers as a DataFrame: IDs, one float column per metric, Segment."""
        return self.table.frame()


def read_contract(grids: Mapping[str, Grid], today: _dt.date | None = None) -> WorkbookInput:
    """Parse and validate the contract sheets. Every problem found in them is reported at once,
    in one :class:`~ces_xl.errors.InputError` whose ``problems`` name each sheet and cell.
    ``today``: the date of the run (the as-of date when neither Settings nor events give one)."""
    names = list(grids)
    found = {}
    problems: list[CESError] = []
    found[EVENTS] = find_sheet(names, EVENTS)
    # With an Events sheet, Activity is optional: it lists customers and their attributes.
    for required in ((WEIGHTS,) if found[EVENTS] else (ACTIVITY, WEIGHTS)):
        actual = find_sheet(names, required)
        if actual is None:
            near = nearest(required, names)
            problems.append(InputError(
                f"the workbook has no '{required}' sheet (it has: {', '.join(names) or 'none'})",
                fix=f"rename sheet '{near}' to '{required}'" if near else
                f"add a sheet named '{required}' (run 'ces-xl template' for an example)"))
        found[required] = actual
    if problems:
        raise InputError.gather(problems)
    found[ACTIVITY] = find_sheet(names, ACTIVITY)
    notes: list[str] = []
    model, settings, metrics = _model(grids, found, notes, problems)
    events = id_header = table = None
    if metrics and found[EVENTS]:
        read = parse_events(grids[found[EVENTS]], model, settings, problems, notes)
        if read is not None:
            events, id_header = read
    if metrics and found[ACTIVITY]:
        table = parse_activity(grids[found[ACTIVITY]], model, settings, problems, notes, events=bool(found[EVENTS]))
    if problems:
        raise InputError.gather(problems)
    found = {k: v for k, v in found.items() if v is not None}
    as_of = settings.as_of
    if events is not None:
        _check_sources(model, table, events, grids[found[EVENTS]], found, problems, notes)
        if problems:
            raise InputError.gather(problems)
        if as_of is None and len(events):
            as_of = int(events.day.max())  # the latest event
        if as_of is None:
            as_of = ((today or _dt.date.today()) - timeline.EPOCH).days
        counting = timeline.Timeline(table, events, model, id_header)
        table = counting.table_at(as_of, present_only=True)
        history = counting.snapshots(timeline.snapshot_days(as_of, settings.history, settings.every))
        if not len(table.ids):
            if len(events):
                raise InputError(f"there are no customers on the as-of date {timeline.date_of(as_of).isoformat()}: "
                                 "every event comes after it", where=settings.cells.get("as_of", found[EVENTS]),
                                 fix="enter a later As of in the Settings sheet, or leave it blank for the latest "
                                     "event")
            raise InputError("there are no customers: the Events sheet has no events and there is no Activity "
                             "sheet", where=found[EVENTS], fix="add one row per event")
    else:
        if model.window is not None or model.half_life is not None:
            notes.append("Window and Half-life count events, and there is no Events sheet: they change nothing here")
            # nor the model's fingerprint: setting them is no change of model to explain
            model = model.with_settings(window=None, half_life=None)
        if settings.history:
            notes.append("History counts earlier snapshots from events, and there is no Events sheet: each run adds "
                         f"its own snapshot to the {HISTORY} sheet instead")
        history = []
        if (history_name := find_sheet(names, HISTORY)) is not None:
            found[HISTORY] = history_name
            history = parse_history(grids[history_name], model, problems, notes)
            if problems:
                raise InputError.gather(problems)
    if as_of is None:
        as_of = ((today or _dt.date.today()) - timeline.EPOCH).days
    live = _live_cells(grids, found, model, table) if settings.formulas == "live" else None
    return WorkbookInput(table=table, model=model, settings=settings, sheet_names=found, notes=notes,
                         events=events, as_of=as_of, history=history, live=live)


def _live_cells(grids: Mapping[str, Grid], found: dict[str, str], model: Model, table: Table) -> LiveCells:
    """Where the counts, weights, targets and bands are, for live formulas (ces_xl.formulas):
    a cell takes part only when it holds a plain number (a label: plain text), so that a
    formula over it computes what the engine did."""
    activity = grids.get(found.get(ACTIVITY, ""))
    if activity is not None and table.rows is not None and table.number_columns is not None \
            and len(table.rows) == len(table.ids):
        rows = [activity.top + int(r) for r in table.rows]
        columns = [None if c is None else activity.left + c for c in table.number_columns]
        sheet = activity.name
    else:  # counted from events (or no Activity rows): the points are values
        rows, columns, sheet = [0] * len(table.ids), [None] * len(model.metrics), ""

    def place(ref: str | None, kind: type) -> Cell | None:
        """The cell ``ref`` names (``'My sheet'!B2``) when it holds a plain ``kind`` value."""
        spot = parse_cell_ref(ref) if ref else None
        grid = grids.get(spot[0]) if spot else None
        if grid is None:
            return None
        name, row, col = spot
        r, c = row - grid.top, col - grid.left
        value = grid.rows[r][c] if 0 <= r < len(grid.rows) and 0 <= c < len(grid.rows[r]) else None
        plain = (isinstance(value, (int, float)) and not isinstance(value, bool)) if kind is float else (
            isinstance(value, str) and value == value.strip() and value != "")
        return Cell(name, row, col) if plain else None

    bands = found.get(BANDS) is not None
    return LiveCells(
        counts_sheet=sheet, rows=rows, columns=columns,
        weights=[place(m.cells.get("weight"), float) for m in model.metrics],
        targets=[place(m.cells.get("target"), float) for m in model.metrics],
        band_labels=[place(b.cells.get("label"), str) for b in model.bands] if bands else None,
        band_uppers=[place(b.cells.get("to"), float) for b in model.bands] if bands else None,
        names=[place(m.cells.get("name"), str) for m in model.metrics])


def read_model(grids: Mapping[str, Grid]) -> tuple[Model, Settings, list[str]]:
    """The model alone (Weights, and the optional Bands and Settings), for scoring events that are
    not in the workbook (``ces-xl score-events``, ``ces-xl sql``); the notes for the user. Every
    problem in those sheets is reported at once, as :func:`read_contract` does."""
    names = list(grids)
    if (weights := find_sheet(names, WEIGHTS)) is None:
        near = nearest(WEIGHTS, names)
        raise InputError(f"the workbook has no '{WEIGHTS}' sheet (it has: {', '.join(names) or 'none'})",
                         fix=f"rename sheet '{near}' to '{WEIGHTS}'" if near else
                         f"add a sheet named '{WEIGHTS}' (run 'ces-xl template' for an example)")
    problems: list[CESError] = []
    notes: list[str] = []
    model, settings, metrics = _model(grids, {WEIGHTS: weights}, notes, problems)
    if problems:
        raise InputError.gather(problems)
    return model, settings, notes


def _model(grids: Mapping[str, Grid], found: dict[str, str | None], notes: list[str],
           problems: list[CESError]) -> tuple[Model, Settings, list | None]:
    """The Settings, Weights and Bands sheets read into a model (``found`` gains the names of the
    sheets there are); problems go to ``problems``."""
    names = list(grids)
    settings = Settings()
    if (settings_name := find_sheet(names, SETTINGS)) is not None:
        found[SETTINGS] = settings_name
        settings = parse_settings(grids[settings_name], problems)
    metrics, weights_cells = parse_weights(grids[found[WEIGHTS]], problems)
    bands = DEFAULT_BANDS
    if (bands_name := find_sheet(names, BANDS)) is not None:
        found[BANDS] = bands_name
        bands = parse_bands(grids[bands_name], notes, problems)
    model = Model(metrics=metrics or [], bands=bands, cells=weights_cells | settings.cells,
                  **settings.model_fields())
    notes.extend(model.validate(problems, empty_ok=metrics is None))
    return model, settings, metrics


def _check_sources(model: Model, table: Table | None, events: timeline.EventLog, grid: Grid,
                   found: dict[str, str], problems: list[CESError], notes: list[str]) -> None:
    """Each metric comes from one place: an Activity column, or the events. Both is a problem
    naming both; neither is a note (its count is 0 for everyone)."""
    both, neither = timeline.metric_sources(model, table, events)
    for i in both:
        metric = model.metrics[i]
        first = int(np.flatnonzero(events.metric == i)[0])
        row = int(events.rows[first]) if events.rows is not None else first
        problems.append(InputError(
            f"metric '{metric.name}' has a column in the {found[ACTIVITY]} sheet ('{table.metric_headers[i]}') and "
            f"events in the {found[EVENTS]} sheet (the first in row {grid.row_number(row)})", where=metric.where("name"),
            fix=f"keep one: delete the {found[ACTIVITY]} column, or that metric's events"))
    notes += [f"metric '{model.metrics[i].name}' has no {ACTIVITY} column and no events: it is 0 for every customer"
              for i in neither]
