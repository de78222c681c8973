"""Sheets as plain grids of cell values: what every reader hands to :mod:`ces_xl.contract`.

Kept free of numpy and pandas, so the headless command can start reading a workbook (on a
thread: python-calamine releases the GIL) while those heavy libraries are still importing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .core.names import name_key
from .core.values import ErrorValue, is_blank
from .xlsx.a1 import cell_ref

ACTIVITY, WEIGHTS, BANDS, SETTINGS, EVENTS, HISTORY = "Activity", "Weights", "Bands", "Settings", "Events", "History"


class ExcelError(ErrorValue):
    """An Excel error value such as ``#DIV/0!`` in a cell (readers mark them; a ``str`` so
    grids stay plain values)."""

    label = "Excel error"


EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")


@dataclass
class Grid:
    """One sheet's values: ``rows[r][c]`` is the cell ``top + r``, ``left + c`` (0-based).
    Blank cells are ``None`` or ``""``."""

    name: str
    rows: Sequence[Sequence[object]]
    top: int = 0
    left: int = 0
    errors: bool = True  # whether a cell may hold an Excel error value (a reader that looked says so)

    def ref(self, r: int, c: int) -> str:
        return cell_ref(self.name, self.top + r, self.left + c)

    def row_number(self, r: int) -> int:
        return self.top + r + 1

    def header_row(self) -> int | None:
        """Index of the first row with any value: the header row of every contract sheet."""
        for r, row in enumerate(self.rows):
            if any(not is_blank(v) for v in row):
                return r
        return None


def find_sheet(names: Sequence[str], wanted: str) -> str | None:
    key = name_key(wanted)
    return next((n for n in names if name_key(n) == key), None)
