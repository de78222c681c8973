"""Columns an analyst added to a results sheet (Scores), and the Kept notes sheet, read back
from a workbook so that a re-run carries them by customer ID (SPEC "Nothing the analyst typed
is lost")."""
from __future__ import annotations

from typing import Callable

from ..core.notes import Notes
from ..grid import Grid, is_blank
from .cells import text


def parse_notes(grid: Grid | None, is_ours: Callable[[str], bool], header_at: int = 0) -> Notes:
    """The analyst's columns of a results sheet: every column with a header that ``is_ours``
    does not claim, by the customer ID in the first column. ``header_at``: the header's row
    in the grid."""
    if grid is None or len(grid.rows) <= header_at:
        return Notes()
    header = list(grid.rows[header_at])
    if not header or is_blank(header[0]):
        return Notes()
    theirs = [(c, text(h)) for c, h in enumerate(header) if c and not is_blank(h) and not is_ours(text(h))]
    if not theirs:
        return Notes()
    ids, columns = [], {h: [] for _, h in theirs}
    for row in grid.rows[header_at + 1:]:
        if not len(row) or is_blank(row[0]):
            continue
        ids.append(row[0])
        for c, h in theirs:
            value = row[c] if c < len(row) else None
            columns[h].append(None if is_blank(value) else value)
    return Notes(ids, columns)
