"""Sheets as plain grids of cell values: what every reader hands to :mod:`ces_xl.contract`.

Kept free of numpy and pandas, so the headless command can start reading a workbook (on a
thread: python-calamine releases the GIL) while those heavy libraries are still importing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .core.names import name_key as normalize_header
from .xlsx.a1 import cell_ref

ACTIVITY, WEIGHTS, BANDS, SETTINGS = "Activity", "Weights", "Bands", "Settings"


class ExcelError(str):
    """An Excel error value such as ``#DIV/0!`` in a cell (readers mark them; a ``str`` so
    grids stay plain values)."""

    def __repr__(self) -> str:
        return str(self)


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


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))


def find_sheet(names: Sequence[str], wanted: str) -> str | None:
    key = normalize_header(wanted)
    return next((n for n in names if normalize_header(n) == key), None)
