"""A1 references: every conversion between 0-based (row, column) and Excel's ``B7`` in one place
(as XlsxWriter keeps them all in ``utility.py``), with Excel's sheet limits."""
from __future__ import annotations

import re

MAX_ROWS = 1_048_576   # rows in an Excel sheet
MAX_COLUMNS = 16_384   # columns (A to XFD)
_REF = re.compile(r"\$?([A-Za-z]{1,7})\$?([0-9]{1,12})")


def column_letter(col: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str | bytes) -> int:
    """Excel letters -> 0-based column index (A -> 0, AA -> 26); any case."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return col - 1


def cell(row: int, col: int) -> str:
    """0-based (row, column) -> ``B7``."""
    return f"{column_letter(col)}{row + 1}"


def parse_cell(ref: str) -> tuple[int, int] | None:
    """``B7`` (or ``$B$7``) -> 0-based (6, 1); None when it is not a cell reference."""
    match = _REF.fullmatch(ref.strip())
    if match is None:
        return None
    return int(match.group(2)) - 1, column_index(match.group(1))


def within_limits(row: int, col: int) -> bool:
    """Whether 0-based (row, column) lies on an Excel sheet."""
    return 0 <= row < MAX_ROWS and 0 <= col < MAX_COLUMNS


def quoted_sheet(sheet: str) -> str:
    """A sheet name quoted, ``'`` doubled (``'Bob''s data'``): right in any reference."""
    return "'" + sheet.replace("'", "''") + "'"


def quote_sheet(sheet: str) -> str:
    """A sheet name as a reference writes it: quoted (with ' doubled) unless plain."""
    if sheet.replace("_", "").isalnum() and not sheet[:1].isdigit():
        return sheet
    return quoted_sheet(sheet)


def cell_ref(sheet: str, row: int, col: int) -> str:
    """0-based (row, column) on ``sheet`` -> ``Sheet!B2`` (``'My sheet'!B2``)."""
    return f"{quote_sheet(sheet)}!{cell(row, col)}"


def parse_cell_ref(ref: str) -> tuple[str, int, int] | None:
    """``'My sheet'!B2`` -> ("My sheet", 1, 1), the inverse of :func:`cell_ref`; None when it is
    not a sheet's cell reference."""
    sheet, mark, at = ref.rpartition("!")
    spot = parse_cell(at) if mark else None
    if spot is None or not sheet:
        return None
    if len(sheet) > 1 and sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, spot[0], spot[1]


def range_ref(sheet: str, top: int, left: int, bottom: int, right: int) -> str:
    """0-based corners -> ``Sheet!A1:C4``."""
    return f"{quote_sheet(sheet)}!{cell(top, left)}:{cell(bottom, right)}"
