"""The headless face as a Python API: score a workbook file, or read its contract sheets."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from .contract import Grid, WorkbookInput, read_contract
from .core.engine import ScoreResult, score
from .errors import FileError, InputError
from .layout import ResultSheet, result_sheets
from .xlsx.atomic import atomic_output, check_output_path
from .xlsx.reader import WorkbookRead, check_input_path, read_grids
from .xlsx.writer import write_results


def default_output(path: str | os.PathLike) -> Path:
    """``book.xlsx`` -> ``book-scored.xlsx`` in the same folder."""
    path = Path(path)
    return path.with_name(f"{path.stem}-scored{path.suffix}")


def read_workbook(path: str | os.PathLike) -> WorkbookInput:
    """Read and validate the contract sheets (Activity, Weights, Bands, Settings) of a file."""
    return read_contract(read_grids(Path(path)))


def score_grids(grids: dict[str, Grid]) -> tuple[ScoreResult, list[ResultSheet]]:
    """The step every whole-workbook face shares: contract sheets in, result and sheets out."""
    return score_input(read_contract(grids))


def score_input(workbook: WorkbookInput) -> tuple[ScoreResult, list[ResultSheet]]:
    result = score(workbook.activity, workbook.model, id_column=workbook.id_header)
    result.notes[:0] = workbook.notes
    return result, result_sheets(result)


def score_workbook(path: str | os.PathLike, output: str | os.PathLike | None = None, *,
                   in_place: bool = False, progress: bool = False) -> ScoreResult:
    """Score the workbook at ``path`` and write it with ``Scores`` and ``Summary`` sheets.

    ``output`` defaults to ``<name>-scored.xlsx`` beside the input. The input is never changed
    unless ``in_place=True``, and then only by an atomic replace. Everything is read and
    validated before anything is written; on any error no output file is left behind.
    Returns the :class:`~ces_xl.core.engine.ScoreResult` (``result.scores`` is a DataFrame).
    """
    source = Path(path)
    check_input_path(source)
    target = resolve_output(source, output, in_place)
    return score_reading(WorkbookRead(source), target, progress=progress)


def score_reading(reading: WorkbookRead, target: Path, *, progress: bool = False) -> ScoreResult:
    """:func:`score_workbook` for a read already under way (the command line starts it before
    importing this module, so that the import and the read overlap), into a checked ``target``
    (see :func:`resolve_output`)."""
    with _Progress(progress) as bar:
        bar.stage("reading", 0)
        workbook = read_contract(reading.result())  # the cell values are freed once parsed
        bar.stage("scoring", _Progress.READ)
        result, sheets = score_input(workbook)
        del workbook
        bar.stage("writing", _Progress.READ + _Progress.SCORE)
        rows = sum(len(block.frame) for sheet in sheets for block in sheet.blocks)
        with atomic_output(target) as tmp:
            write_results(reading.path, tmp, sheets, progress=bar.rows(rows))
        bar.stage("done", 100)
    return result


def resolve_output(source: Path, output, in_place: bool) -> Path:
    if in_place and output is not None:
        raise InputError("both an output path and in-place were asked for", where="--in-place",
                       fix="give either -o/--output or --in-place, not both")
    target = source if in_place else Path(output) if output is not None else default_output(source)
    # Excel's owner file while the workbook is open (in place, the target is the input).
    if target.with_name("~$" + target.name).exists():
        raise FileError("the workbook is open in Excel (its lock file ~$" + target.name + " is there)",
                       where=str(target), fix="close it in Excel (or use the CES > Score workbook button "
                                              "there), then run again")
    if not in_place and target.exists() and os.path.samefile(target, source):
        raise FileError("the output would overwrite the input", where=str(target),
                       fix="choose another output path, or pass --in-place to update the input")
    check_output_path(target)
    wants_macros = source.suffix.lower() == ".xlsm"
    if target.suffix.lower() != source.suffix.lower():
        raise InputError(f"the output must be {'an .xlsm' if wants_macros else 'an .xlsx'} file like the input",
                       where=str(target), fix=f"end the output name with {source.suffix.lower()}")
    return target


class _Progress:
    """One bar on stderr: reading, then scoring, then writing row by row; only on a terminal,
    and never with ``enabled=False`` (--quiet)."""

    # Shares of the bar, roughly the shares of the time at a million rows.
    READ, SCORE = 45, 10

    def __init__(self, enabled: bool):
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm  # only when a bar is shown: it costs a twentieth of a second to import
        else:
            tqdm = _NoBar
        self._bar = tqdm(total=100, leave=False, file=sys.stderr,
                         bar_format="ces-xl: {desc:<8} {bar} {percentage:3.0f}% {elapsed}")

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc) -> None:
        self._bar.close()

    def stage(self, name: str, at: float) -> None:
        self._bar.update(at - self._bar.n)
        self._bar.set_description_str(name)  # shown at once, however short the stage

    def rows(self, total: int) -> Callable[[int], None]:
        """A callback for the writer: ``n`` more of ``total`` rows written."""
        start, share, done = self._bar.n, 100 - self._bar.n, 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            self._bar.update(start + share * min(done / max(total, 1), 1) - self._bar.n)

        return advance


class _NoBar:
    """tqdm's interface, doing nothing (no terminal, or --quiet)."""

    n = 0.0

    def __init__(self, **kwargs):
        pass

    def update(self, n: float) -> None:
        self.n += n

    def set_description_str(self, desc: str, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass
