"""The Settings sheet (optional): a key in column A, its value in column B.

An optional header row (``Setting | Value``) is skipped. Keys match case- and
space-insensitively; an unknown key is a problem naming its cell, with a "did you mean".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core.names import did_you_mean, name_key
from ..errors import CESError, InputError
from ..grid import Grid, is_blank
from .cells import at, text, to_number


@dataclass
class Settings:
    """What the Settings sheet says, each value with the cell it came from (``cells``)."""

    method: str = "auto"
    missing: str = "zero"
    period: str = ""
    id_column: str | None = None               # the Activity header of the customer IDs
    blank_values: tuple[str, ...] = ()         # markers that count as blank cells (any case)
    show_columns: tuple[str, ...] | None = None  # Activity columns carried into Scores
    as_of: int | None = None                   # a day number (see core.events); None: the latest event, or today
    window: float | None = None                # days
    half_life: float | None = None             # days
    history: int = 0                           # earlier snapshots to score (with Events)
    every: str | float = "month"               # "month", "week" or a number of days
    drop_alert: float = 10.0                   # points: a fall this large calls for Re-engage
    trial_segment: str = "Trial"               # the Segment of free-trial customers
    trial_ready: float | None = None           # the score a trial converts from (None: the top band's From)
    outcome_column: str | None = None          # the Activity header of what happened next (None: "Outcome")
    formulas: str = "values"                   # "live": Scores' score, points and band as formulas
    cells: dict[str, str] = field(default_factory=dict)

    def model_fields(self) -> dict[str, object]:
        """The settings the scoring model takes."""
        return {"method": self.method, "missing": self.missing, "period": self.period, "window": self.window,
                "half_life": self.half_life, "drop_alert": self.drop_alert, "trial_segment": self.trial_segment,
                "trial_ready": self.trial_ready}


# Each setting: the names it may be typed as (any case and spacing), and its field.
SETTINGS = {
    "method": ("Method",),
    "missing": ("Missing values", "Missing value", "Missing", "Missing value policy", "Blanks"),
    "period": ("Period",),
    "id_column": ("ID column", "ID header"),
    "blank_values": ("Blank values", "Blank markers"),
    "show_columns": ("Show columns",),
    "as_of": ("As of", "As-of date", "As of date"),
    "window": ("Window", "Window days"),
    "half_life": ("Half-life", "Half life", "Halflife"),
    "history": ("History", "History snapshots"),
    "every": ("Every",),
    "drop_alert": ("Drop alert",),
    "trial_segment": ("Trial segment",),
    "trial_ready": ("Trial ready",),
    "outcome_column": ("Outcome column",),
    "formulas": ("Formulas",),
}
FORMULAS = ("values", "live")
NAMES = tuple(names[0] for names in SETTINGS.values())
_FIELD = {name_key(name): key for key, names in SETTINGS.items() for name in names}
_HEADER_KEYS = ("setting", "settings", "key", "name", "option")


def parse_settings(grid: Grid, problems: list[CESError]) -> Settings:
    """The settings of ``grid``; each problem found is appended to ``problems``."""
    settings = Settings()
    h = grid.header_row()
    if h is None:
        return settings
    first = h + 1 if name_key(at(grid.rows[h], 0)) in _HEADER_KEYS else h
    seen: dict[str, str] = {}
    for r in range(first, len(grid.rows)):
        row = grid.rows[r]
        key, value = at(row, 0), at(row, 1)
        if is_blank(key):
            if not is_blank(value):
                problems.append(InputError("this setting has a value but no name", where=grid.ref(r, 0),
                                           fix=f"name it ({', '.join(NAMES)}) or clear the row"))
            continue
        name = _FIELD.get(name_key(key))
        if name is None:
            problems.append(InputError(f"unknown setting '{text(key)}'{did_you_mean(text(key), NAMES)}",
                                       where=grid.ref(r, 0), fix=f"use one of: {', '.join(NAMES)}"))
            continue
        if name in seen:
            problems.append(InputError(f"setting '{text(key)}' is given twice (also at {seen[name]})",
                                       where=grid.ref(r, 0), fix="keep one row for it"))
            continue
        seen[name] = grid.ref(r, 0)
        settings.cells[name] = grid.ref(r, 1)
        if is_blank(value):
            continue  # the default
        if name in ("method", "missing"):
            setattr(settings, name, text(value).lower())
        elif name == "formulas":
            chosen = text(value).strip().lower()
            if chosen not in FORMULAS:
                problems.append(InputError(f"Formulas is {text(value)!r}{did_you_mean(text(value), FORMULAS)}",
                                           where=grid.ref(r, 1),
                                           fix="use live (scores that recalculate in Excel) or values"))
            else:
                settings.formulas = chosen
        elif name in ("drop_alert", "trial_ready"):  # numbers, checked with the model
            number = to_number(value)
            setattr(settings, name, number if number is not None else value)
        elif name in ("period", "id_column", "trial_segment", "outcome_column"):
            setattr(settings, name, text(value))
        elif name in ("as_of", "window", "half_life", "history", "every"):
            _parse_time_setting(settings, name, value, grid.ref(r, 1), problems)
        elif name == "blank_values":
            settings.blank_values = tuple(dict.fromkeys(m.strip().casefold() for m in text(value).split(",")
                                                        if m.strip()))
        else:  # show_columns
            settings.show_columns = tuple(c.strip() for c in text(value).split(",") if c.strip())
    return settings


def _parse_time_setting(settings: Settings, name: str, value: object, where: str, problems: list[CESError]) -> None:
    """As of (a date), Window and Half-life (days above 0), History (a whole number of snapshots),
    Every (month, week or a number of days)."""
    from ..core.events import date_value  # the date rule, with the events

    if name == "as_of":
        try:
            settings.as_of = date_value(value, where)
        except InputError as error:
            problems.append(error)
        return
    if name == "every" and isinstance(value, str) and value.strip().lower() in ("month", "week"):
        settings.every = value.strip().lower()
        return
    number = to_number(value)
    if name == "every":
        if number is None or number <= 0:
            problems.append(InputError(f"Every is {text(value)!r}{did_you_mean(text(value), ('month', 'week'))}",
                                       where=where, fix="use month, week or a number of days, e.g. 14"))
        else:
            settings.every = number
    elif name == "history":
        if number is None or number < 0 or not float(number).is_integer():
            problems.append(InputError(f"History is {text(value)!r}, not a number of snapshots", where=where,
                                       fix="enter how many earlier snapshots to score, e.g. 6, or 0"))
        else:
            settings.history = int(number)
    else:
        setattr(settings, name, number if number is not None else value)  # checked with the model
