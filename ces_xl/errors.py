"""The errors users see: :class:`CESError` and the kinds beneath it that a caller can act on.

Every message names the place (a sheet and cell such as ``Weights!B2``, a column, a file or an
option), the problem and the fix, on one line, so the CLI can print it as
``ces-xl: error: ...``, the button can show it and a UDF can put it in a cell.

::

    CESError                 the base: catch this to catch them all (a ValueError)
    +-- InputError           the input cannot be scored: a workbook's cells, a damaged file,
    |                        a DataFrame, an option's value; carries every problem found
    +-- FileError            a path that cannot be read or written: missing, a folder, locked,
    |                        not writable, an output that exists
    +-- SetupError           something the machine lacks: Excel, xlwings, Java, Spark
"""
from __future__ import annotations

from typing import Iterable, Sequence


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

    @property
    def problems(self) -> list["CESError"]:
        """Every problem this error stands for (itself, unless it gathers several)."""
        return [self]


class InputError(CESError):
    """The input cannot be scored: a cell, a sheet, a damaged file, a DataFrame, an option value.

    Gathers every problem a check found: ``problems`` lists them, each a :class:`CESError` with
    its own ``where``, ``problem`` and ``fix``; ``str(error)`` is the first one's message, with
    how many more there are.
    """

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None,
                 problems: Sequence[CESError] = ()):
        super().__init__(message, where=where, fix=fix)
        self._problems = list(problems)

    @property
    def problems(self) -> list[CESError]:
        return self._problems or [self]

    @classmethod
    def gather(cls, problems: Iterable[CESError]) -> "InputError":
        """One error standing for several problems (the first is its message)."""
        problems = [p for error in problems for p in error.problems]
        if not problems:
            raise ValueError("no problems to gather")
        first = problems[0]
        more = len(problems) - 1
        fix = first.fix if not more else f"{first.fix or 'correct it'} (and {more} more problem{'s' * (more > 1)})"
        return cls(first.problem, where=first.where, fix=fix, problems=problems)


class FileError(CESError):
    """A path that cannot be used: missing, a folder, locked by Excel, not writable, or an
    output that exists without ``--force``."""


class SetupError(CESError):
    """Something this machine lacks that the task needs: desktop Excel, xlwings, Java, Spark."""
