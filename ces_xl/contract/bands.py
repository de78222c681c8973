"""The Bands sheet (optional): Band, From, To, in ascending order."""
from __future__ import annotations

from ..core.model import DEFAULT_BANDS, Band
from ..errors import CESError, InputError
from ..grid import Grid, is_blank
from .cells import at, header_columns, text, to_number


def parse_bands(grid: Grid, notes: list[str], problems: list[CESError]) -> tuple[Band, ...]:
    """The band table of ``grid`` (the default bands when the sheet is empty); each problem
    found is appended to ``problems``."""
    h = grid.header_row()
    if h is None:
        notes.append(f"the {grid.name} sheet is empty, so the default bands are used")
        return DEFAULT_BANDS
    try:
        columns = header_columns(grid, h, ("band", "from", "to"), required=("band", "from", "to"))
    except InputError as error:
        problems.append(error)
        return DEFAULT_BANDS
    bands = []
    for r in range(h + 1, len(grid.rows)):
        row = grid.rows[r]
        values = {key: at(row, c) for key, c in columns.items()}
        if all(is_blank(v) for v in values.values()):
            continue
        cells = {"label": grid.ref(r, columns["band"]), "from": grid.ref(r, columns["from"]),
                 "to": grid.ref(r, columns["to"])}
        label = "" if is_blank(values["band"]) else text(values["band"])
        bounds = {key: to_number(values[key]) for key in ("from", "to")}
        for key, number in bounds.items():
            if number is None:
                problems.append(InputError(f"{key.capitalize()} value {values[key]!r} of band '{label}' is not a "
                                           "number", where=cells[key], fix="enter a score, e.g. 40"))
        if None not in bounds.values():
            bands.append(Band(label, bounds["from"], bounds["to"], cells=cells))
    if not bands and not problems:
        problems.append(InputError("the band table has a header but no bands", where=grid.name,
                                   fix="add Band, From and To rows, or delete the sheet to use the default bands"))
    return tuple(bands) or DEFAULT_BANDS
