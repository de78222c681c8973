"""The Settings sheet (optional): a key in column A, its value in column B."""
from __future__ import annotations

from ..core.names import did_you_mean, name_key
from ..errors import InputError
from ..grid import Grid, is_blank
from .cells import at, text

KEYS = {
    "method": "method",
    "missingvalues": "missing", "missingvalue": "missing", "missing": "missing",
    "missingvaluepolicy": "missing", "blanks": "missing",
    "period": "period",
}
NAMES = ("Method", "Missing values", "Period")


def parse_settings(grid: Grid) -> dict[str, object]:
    settings: dict[str, object] = {}
    cells: dict[str, str] = {}
    h = grid.header_row()
    if h is None:
        return {}
    first = h
    if name_key(at(grid.rows[h], 0)) in ("setting", "settings", "key", "name", "option"):
        first = h + 1
    for r in range(first, len(grid.rows)):
        row = grid.rows[r]
        key, value = at(row, 0), at(row, 1)
        if is_blank(key):
            if not is_blank(value):
                raise InputError("this setting has a value but no name", where=grid.ref(r, 0),
                                 fix=f"name it ({', '.join(NAMES)}) or clear the row")
            continue
        field_name = KEYS.get(name_key(key))
        if field_name is None:
            raise InputError(f"unknown setting '{key}'{did_you_mean(text(key), NAMES)}",
                             where=grid.ref(r, 0), fix=f"use one of: {', '.join(NAMES)}")
        cells[field_name] = grid.ref(r, 1)
        if field_name == "period":
            settings["period"] = "" if is_blank(value) else text(value)
        elif field_name == "method":
            settings["method"] = "auto" if is_blank(value) else text(value).lower()
        else:
            settings["missing"] = "zero" if is_blank(value) else text(value).lower()
    settings["cells"] = cells
    return settings
