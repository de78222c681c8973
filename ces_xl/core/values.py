"""Single cell values: what a blank is, and a value marked as an error.

Pure Python (no numpy or pandas), so that readers can mark values on their own thread while
the heavy libraries are still importing.
"""
from __future__ import annotations


class ErrorValue(str):
    """A value its source marked as an error rather than data (a spreadsheet's ``#DIV/0!``).
    A ``str``, so tables of values stay plain; ``label`` names the kind in messages."""

    label = "error value"

    def __repr__(self) -> str:
        return str(self)


_MISSING_TYPES = frozenset({"NAType", "NaTType"})  # pandas' <NA> and NaT, known without pandas


def is_blank(value: object) -> bool:
    """The one blank rule: None, NaN, NaT, <NA>, or text of nothing but spaces."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return value != value
    name = type(value).__name__
    if name in _MISSING_TYPES:
        return True
    if name.startswith(("float", "datetime64", "timedelta64", "longdouble")):  # numpy scalars
        return bool(value != value)
    return False
