"""The one exception users see, and the helpers that say *where* a problem is.

Every message names the place (a sheet and cell such as ``Weights!B2``, a column, or an option)
and the fix, on one line, so the CLI can print it as ``ces-xl: error: ...`` and a UDF can put
it in a cell.
"""
from __future__ import annotations

import difflib
from typing import Iterable


class CESError(ValueError):
    """Input that cannot be scored. ``str(error)`` is a complete one-line message."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.where = where
        self.problem = message
        self.fix = fix
        text = f"{where}: {message}" if where else message
        if fix:
            text = f"{text}; {fix}"
        super().__init__(" ".join(text.split()))  # always one line


def column_letter(col: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_ref(sheet: str, row: int, col: int) -> str:
    """0-based row and column -> ``Sheet!B2``; sheet names with spaces are quoted as in Excel."""
    quoted = f"'{sheet}'" if not sheet.replace("_", "").isalnum() else sheet
    return f"{quoted}!{column_letter(col)}{row + 1}"


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` (case- and space-insensitive), if any is close."""
    pool = {normalize_header(c): str(c) for c in candidates if str(c).strip()}
    key = normalize_header(word)
    hits = difflib.get_close_matches(key, list(pool), n=1, cutoff=0.6)
    if hits:
        return pool[hits[0]]
    # A longer or shorter spelling of the same word ("logarithm" for "log"): suggest by prefix.
    prefixed = [c for c in pool if len(c) >= 3 and len(key) >= 3 and (key.startswith(c) or c.startswith(key))]
    return pool[max(prefixed, key=len)] if prefixed else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    hit = nearest(word, candidates)
    return f" (did you mean '{hit}'?)" if hit else ""


def normalize_header(value: object) -> str:
    """The contract's matching rule: case- and space-insensitive. A header typed as a number
    (2024, which readers hand over as 2024.0) matches the text "2024"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "".join(str(value).split()).casefold()
