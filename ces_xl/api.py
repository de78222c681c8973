"""The headless face as a Python API: score a workbook file, or read its contract sheets; score
event files on DuckDB, or write the model as SQL (``score_event_files``, ``events_sql``)."""
from __future__ import annotations

import os
from pathlib import Path

from . import pipeline
from .contract import WorkbookInput, read_contract
from .core.scoring import ScoreResult
from .errors import InputError
from .pipeline import Progress, events_sql, score_event_files
from .xlsx.atomic import default_output, resolve_output
from .xlsx.reader import WorkbookRead, check_input_path, read_grids

__all__ = ["default_output", "events_sql", "read_workbook", "score_event_files", "score_workbook"]


def read_workbook(path: str | os.PathLike) -> WorkbookInput:
    """Read and validate the contract sheets (Activity, Weights, Bands, Settings) of a file."""
    return read_contract(read_grids(Path(path)))


def score_workbook(path: str | os.PathLike, output: str | os.PathLike | None = None, *,
                   in_place: bool = False, force: bool = False, progress: Progress | None = None) -> ScoreResult:
    """Score the workbook at ``path`` and write it with ``Scores`` and ``Summary`` sheets.

    ``output`` defaults to ``<name>-scored.xlsx`` beside the input; an existing output is
    replaced only with ``force=True``. The input is never changed unless ``in_place=True``,
    and then only by an atomic replace. Everything is read and
    validated before anything is written; on any error no output file is left behind.
    ``progress``: an optional ``progress(stage, percent)`` callback (stages ``reading``,
    ``scoring``, ``writing``, ``done``). Returns the :class:`~ces_xl.core.scoring.ScoreResult`
    (``result.scores`` is a DataFrame).
    """
    if progress is not None and not callable(progress):
        raise InputError(f"progress must be a function progress(stage, percent), not {progress!r}",
                         where="progress", fix="pass a function, or leave it out")
    source = Path(path)
    check_input_path(source)
    target = resolve_output(source, output, in_place, force)
    reading = WorkbookRead(source, progress=pipeline.reading_progress(progress))
    return pipeline.score_file(reading, target, progress=progress)
