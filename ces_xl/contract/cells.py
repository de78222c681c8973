"""What every contract sheet shares: header rows, named cells, text and numbers of cells."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..core.names import name_key, nearest
from ..core.table import Places, to_number
from ..errors import InputError
from ..grid import Grid, is_blank
from ..xlsx.a1 import column_letter

__all__ = ["SheetPlaces", "at", "header_columns", "text", "to_number"]


@dataclass
class SheetPlaces(Places):
    """Places in a table read from a sheet: data row ``r`` is grid row ``rows[r]``, column
    ``c`` is grid column ``c``, so problems are named by their cells (``Activity!C5``)."""

    grid: Grid | None = None
    header_at: int = 0  # the grid row of the header

    def cell(self, row: int, col: int) -> str:
        return self.grid.ref(row, col)

    def header(self, col: int) -> str:
        return self.grid.ref(self.header_at, col)

    def row_number(self, row: int) -> int:
        return self.grid.row_number(row)

    def table(self) -> str:
        return self.grid.name


def header_columns(grid: Grid, h: int, known: Sequence[str], required: Sequence[str],
                   labels: dict[str, str] | None = None) -> dict[str, int]:
    """The column of each ``known`` header (by its key) in grid row ``h``; a ``required`` one
    that is missing is a problem naming the header row. ``labels``: how a message writes a key
    (default: capitalized)."""
    header = grid.rows[h]
    columns: dict[str, int] = {}
    for c, value in enumerate(header):
        key = name_key(value) if not is_blank(value) else ""
        if key in known and key not in columns:
            columns[key] = c
    present = [text(v) for v in header if not is_blank(v)]
    for key in required:
        if key not in columns:
            label = (labels or {}).get(key, key.capitalize())
            span = f"{grid.ref(h, 0)}:{column_letter(grid.left + max(len(header) - 1, 0))}{grid.row_number(h)}"
            near = nearest(key, present)
            raise InputError(f"no '{label}' column in the header row (found: "
                             f"{', '.join(present) or 'nothing'})", where=span,
                             fix=f"rename '{near}' to '{label}'" if near else f"head a column '{label}'")
    return columns


def at(row: Sequence[object], c: int) -> object:
    return row[c] if c < len(row) else None


def text(value: object) -> str:
    """A cell as text: a whole number without ".0" (2024.0 -> "2024"), spaces stripped."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
