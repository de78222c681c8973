"""Read the contract sheets of a workbook file with python-calamine (fast, cached formula values)."""
from __future__ import annotations

import threading
import time
from typing import Callable
import zipfile
from pathlib import Path

import python_calamine

from ..errors import CESError, FileError, InputError
from ..grid import Grid
from .errorcells import contract_sheets, scan_contract_sheets
from .package import REPAIR_FIX, Package, check_member, not_a_workbook, open_zip

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_RATIO = 200
MAX_PART_BYTES_AT_HIGH_RATIO = 64 * 2**20
MAX_TOTAL_BYTES = 4 * 2**30
MAX_ROWS = 1_048_576  # Excel's sheet limit


def check_input_path(path: Path) -> None:
    """Refuse what cannot be read, before any work, with the fix."""
    if not path.exists():
        raise FileError("no such file", where=str(path), fix="check the path")
    if path.is_dir():
        raise FileError("this is a folder, not a workbook", where=str(path), fix="give the path of an .xlsx file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(f"'{suffix or 'no extension'}' files are not supported", where=str(path),
                         fix="open it in Excel and save it as an Excel Workbook (.xlsx)")
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic == _OLE_MAGIC:
        # Excel saves a password-protected .xlsx inside an OLE compound file, like an old .xls.
        raise InputError("the workbook is password-protected (encrypted), or an old-format .xls with an .xlsx name",
                         where=str(path), fix="open it in Excel, remove the password (File > Info > Protect "
                                            "Workbook) and save it as an Excel Workbook (.xlsx)")
    if not zipfile.is_zipfile(path):
        raise not_a_workbook(path)
    check_package_size(path)


def check_package_size(path: Path) -> None:
    """Refuse a zip bomb from the sizes in the zip's directory, before decompressing anything.

    Real sheets compress about 5-20 times; a part that inflates past 64 MiB at more than 200
    times is not a spreadsheet. The total is capped well above Excel's largest sheets (a full
    1,048,576-row sheet of ten metrics is under 1 GiB of XML)."""
    with open_zip(path) as package:
        members = package.infolist()
    total = sum(m.file_size for m in members)
    for m in members:
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > MAX_PART_BYTES_AT_HIGH_RATIO and ratio > MAX_RATIO:
            raise InputError(f"part {m.filename} would inflate {ratio:,.0f} times to {m.file_size / 2**20:,.0f} MiB, "
                             "which no real workbook does (a zip bomb?)", where=str(path),
                             fix="do not open this file; re-export the data from its source")
    if total > MAX_TOTAL_BYTES:
        raise InputError(f"the workbook would inflate to {total / 2**30:,.1f} GiB, over the "
                         f"{MAX_TOTAL_BYTES / 2**30:.0f} GiB limit", where=str(path),
                         fix="split the Activity sheet into smaller workbooks")
    with Package(path) as package:  # sizes checked above: reading the small .rels is safe
        rels = package.read("_rels/.rels") if "_rels/.rels" in package.names else b""
    if b"purl.oclc.org/ooxml/" in rels:
        # Excel's "Strict Open XML Spreadsheet" uses other namespaces in every part; results
        # could not be added without rewriting them all.
        raise InputError("the workbook is saved as Strict Open XML, which ces-xl cannot add results to",
                         where=str(path), fix="open it in Excel and save it as an Excel Workbook (.xlsx)")


def read_grids(path: Path) -> dict[str, Grid]:
    """The contract sheets present in the workbook, as grids of cell values from A1."""
    return WorkbookRead(path).result()


def read_sheets(path: Path, wanted: list[str]) -> dict[str, Grid]:
    """The sheets named in ``wanted`` (any case) that the workbook has, read as the contract
    sheets are (checked first, then python-calamine), on this thread; other sheets by name only."""
    scans = scan_contract_sheets(path, wanted)
    book = _open(path)
    try:
        return _read(path, book, scans, [n for n in scans])
    except BaseException as exc:
        raise _as_input_error(exc, path) from None


class WorkbookRead:
    """Reading a workbook's contract sheets, python-calamine's part on a background thread.

    First, here, one pass over each contract sheet's XML (see :mod:`.errorcells`) checks the
    part, finds its error cells and makes sure python-calamine can hold its cells (it aborts the
    whole process on a sheet whose cells span billions of cells); meanwhile the thread opens the
    workbook in python-calamine. Then python-calamine reads the sheets on the thread, releasing
    the GIL, so the caller can go on meanwhile: the command line imports pandas and the scoring
    code during the read instead of before it. Errors in the path or the pass raise here;
    :meth:`result` waits for the grids and raises any error the read met.
    """

    # Of the read, the share the checked pass takes, the rest python-calamine's parse; and how
    # many times the pass's time calamine takes to parse the same sheets (measured: 3 to 4).
    SCAN_SHARE, PARSE_TIMES_SCAN = 0.25, 3.5

    def __init__(self, path: Path, progress: Callable[[float], None] | None = None):
        """``progress(share)`` is told how far the read is (0 to 1), from this thread: by the
        XML checked, then, while python-calamine parses (which says nothing until it is done),
        by the time taken against the time the check took."""
        self.path = Path(path)
        check_input_path(self.path)
        self._progress = progress or (lambda share: None)
        self._grids: dict[str, Grid] | None = None
        self._error: BaseException | None = None
        self._scanned = threading.Event()
        self._scans: dict | None = None
        self._thread = threading.Thread(target=self._run, name="ces-xl-read", daemon=True)
        self._thread.start()
        started = time.perf_counter()
        try:
            self._scans = scan_contract_sheets(self.path, progress=lambda s: self._progress(s * self.SCAN_SHARE))
        finally:
            self._scanned.set()  # on an error the thread stops without reading a sheet
        self._parse_started = time.perf_counter()
        self._parse_expected = max((self._parse_started - started) * self.PARSE_TIMES_SCAN, 0.05)

    def _run(self) -> None:
        try:
            book = _open(self.path)
            self._scanned.wait()
            if self._scans is None:
                return
            self._grids = _read(self.path, book, self._scans)
        except BaseException as exc:  # handed to the caller by result()
            self._error = _as_input_error(exc, self.path)

    def result(self) -> dict[str, Grid]:
        """The grids, handed over once: this object keeps no reference, so the cell values
        (a third of the peak memory at a million rows) go as soon as the caller drops them."""
        while self._thread.is_alive():
            self._thread.join(0.1)
            waited = (time.perf_counter() - self._parse_started) / self._parse_expected
            self._progress(self.SCAN_SHARE + (1 - self.SCAN_SHARE) * min(waited, 0.95))
        if self._error is not None:
            raise self._error
        grids, self._grids = self._grids, None
        if grids is None:
            raise RuntimeError("the workbook's grids were already handed over")
        return grids


def _as_input_error(exc: BaseException, path: Path) -> BaseException:
    """python-calamine turns a Rust panic into a PanicException, a BaseException that no
    ``except Exception`` sees: it is a workbook it cannot read."""
    if type(exc).__name__ == "PanicException":
        return InputError(f"cannot read the workbook (python-calamine failed: {exc})", where=str(path),
                          fix=REPAIR_FIX)
    return exc


def _open(path: Path):
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for damaged packages
        # Name the damaged part if there is one: calamine's messages do not.
        damaged_part(path)
        raise InputError(f"cannot read the workbook ({exc})", where=str(path), fix=REPAIR_FIX) from None


def damaged_part(path: Path) -> None:
    """Raise the InputError naming the first damaged part of ``path``, if any (every part is
    inflated: only for a workbook that could not be read)."""
    with Package(path) as package, open(path, "rb") as handle:
        for info in package.infos:
            if not info.filename.endswith("/"):
                check_member(handle, info, path)


def _read(path: Path, book, scans: dict[str, dict], sheets: list[str] | None = None) -> dict[str, Grid]:
    grids: dict[str, Grid] = {}
    names = list(book.sheet_names)
    for actual in contract_sheets(names) if sheets is None else sheets:
        if actual not in scans:
            # Only sheets whose cells were checked go to python-calamine (it may abort on others).
            raise InputError("the part that holds this sheet cannot be found or checked (the workbook's sheet "
                             "list and its relationships disagree)", where=actual, fix=REPAIR_FIX)
        try:
            sheet = book.get_sheet_by_name(actual)
            if sheet.height > MAX_ROWS:  # only non-Excel writers make these; refuse before reading
                raise InputError(f"the sheet has {sheet.height:,} rows, more than Excel's {MAX_ROWS:,}",
                                 where=actual, fix="split it into workbooks of at most 1,048,575 customers")
            grid = _sheet_grid(actual, sheet)
        except CESError:
            raise
        except Exception as exc:
            raise InputError(f"cannot read the sheet ({exc})", where=actual,
                             fix="open the workbook in Excel and save it again as .xlsx") from None
        _mark_errors(grid, scans[actual])
        grids[actual] = grid
    # Keep the other sheet names visible so that a missing-sheet error can list them.
    for name in names:
        grids.setdefault(name, Grid(name, []))
    return grids


def _sheet_grid(name: str, sheet) -> Grid:
    """A sheet's cells as a 2-D numpy object array, filled row by row from calamine.

    A million-row Activity sheet as a list of row lists would cost 150 MB more than this (a
    list object per row); each row list here is freed as soon as it is copied."""
    import numpy as np  # here, on the reading thread: the main thread is importing pandas meanwhile

    end = sheet.end
    if end is None:
        return Grid(name, [])
    table = None
    count = 0
    for count, row in enumerate(sheet.iter_rows(), start=1):
        if table is None:
            table = np.empty((end[0] + 1, len(row)), dtype=object)
        table[count - 1] = row
    if table is None:
        return Grid(name, [])
    # calamine's rows end at the sheet's last used cell; they may start at A1 or at the first
    # used cell, so the grid's top-left corner is counted back from that end.
    return Grid(name, table[:count], top=end[0] + 1 - count, left=end[1] + 1 - table.shape[1])


def _mark_errors(grid: Grid, cells: dict) -> None:
    """Put the Excel error values (which calamine reads as blanks) back into the grid, so that a
    #DIV/0! is reported by cell instead of counting as 0."""
    grid.errors = bool(cells)
    for (row, col), value in cells.items():
        r, c = row - grid.top, col - grid.left
        if 0 <= r < len(grid.rows) and 0 <= c < len(grid.rows[r]):
            grid.rows[r][c] = value
