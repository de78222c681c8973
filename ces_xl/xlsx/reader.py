"""Read the contract sheets of a workbook file with python-calamine (fast, cached formula values)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import python_calamine

from ..contract import ACTIVITY, BANDS, SETTINGS, WEIGHTS, Grid, find_sheet
from ..errors import CESError
from .errorcells import error_cells

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm")


def check_input_path(path: Path) -> None:
    """Refuse what cannot be read, before any work, with the fix."""
    if not path.exists():
        raise CESError("no such file", where=str(path), fix="check the path")
    if path.is_dir():
        raise CESError("this is a folder, not a workbook", where=str(path), fix="give the path of an .xlsx file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CESError(f"'{suffix or 'no extension'}' files are not supported", where=str(path),
                       fix="open it in Excel and save it as an Excel Workbook (.xlsx)")
    if not zipfile.is_zipfile(path):
        raise CESError("the file is not a valid Excel workbook (it is damaged, encrypted or of another type)",
                       where=str(path), fix="open it in Excel, remove any password and save it as .xlsx")


def read_grids(path: Path) -> dict[str, Grid]:
    """The contract sheets present in the workbook, as grids of cell values from A1."""
    check_input_path(path)
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for damaged packages
        raise CESError(f"cannot read the workbook ({exc})", where=str(path),
                       fix="open it in Excel and save it again as .xlsx") from None
    grids: dict[str, Grid] = {}
    names = list(book.sheet_names)
    for wanted in (ACTIVITY, WEIGHTS, BANDS, SETTINGS):
        actual = find_sheet(names, wanted)
        if actual is None:
            continue
        try:
            rows = book.get_sheet_by_name(actual).to_python(skip_empty_area=False)
        except Exception as exc:
            raise CESError(f"cannot read the sheet ({exc})", where=actual,
                           fix="open the workbook in Excel and save it again as .xlsx") from None
        grids[actual] = Grid(actual, rows)
    _mark_error_cells(path, grids)
    # Keep the other sheet names visible so that a missing-sheet error can list them.
    for name in names:
        grids.setdefault(name, Grid(name, []))
    return grids


def _mark_error_cells(path: Path, grids: dict[str, Grid]) -> None:
    """Put Excel error values (which calamine reads as blanks) back into the grids, so a
    #DIV/0! is reported by cell instead of counting as 0."""
    try:
        found = error_cells(path, list(grids))
    except Exception:  # a package calamine could read but this scan cannot: nothing to add
        return
    for name, cells in found.items():
        rows = grids[name].rows
        for (r, c), value in cells.items():
            if r < len(rows) and c < len(rows[r]):
                rows[r][c] = value
