"""The Settings sheet (optional): a key in column A, its value in column B.

An optional header row (``Setting | Value``) is skipped. Keys match case- and
space-insensitively; an unknown key is a problem naming its cell, with a "did you mean".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core.names import did_you_mean, name_key
from ..errors import CESError, InputError
from ..grid import Grid, is_blank
from .cells import at, text


@dataclass
class Settings:
    """What the Settings sheet says, each value with the cell it came from (``cells``)."""

    method: str = "auto"
    missing: str = "zero"
    period: str = ""
    id_column: str | None = None               # the Activity header of the customer IDs
    blank_values: tuple[str, ...] = ()         # markers that count as blank cells (any case)
    show_columns: tuple[str, ...] | None = None  # Activity columns carried into Scores
    cells: dict[str, str] = field(default_factory=dict)

    def model_fields(self) -> dict[str, object]:
        """The settings the scoring model takes."""
        return {"method": self.method, "missing": self.missing, "period": self.period}


# Each setting: the names it may be typed as (any case and spacing), and its field.
SETTINGS = {
    "method": ("Method",),
    "missing": ("Missing values", "Missing value", "Missing", "Missing value policy", "Blanks"),
    "period": ("Period",),
    "id_column": ("ID column", "ID header"),
    "blank_values": ("Blank values", "Blank markers"),
    "show_columns": ("Show columns",),
}
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
        elif name in ("period", "id_column"):
            setattr(settings, name, text(value))
        elif name == "blank_values":
            settings.blank_values = tuple(dict.fromkeys(m.strip().casefold() for m in text(value).split(",")
                                                        if m.strip()))
        else:  # show_columns
            settings.show_columns = tuple(c.strip() for c in text(value).split(",") if c.strip())
    return settings
