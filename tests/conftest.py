"""Shared test helpers: real workbooks on disk, the CLI as a subprocess, LibreOffice export."""
from __future__ import annotations

import csv
import os

# xlwings reads its licence key when it is first imported; the remote-engine tests (test_button)
# need it, whichever test module imports xlwings first. Non-commercial test use only.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

REPO = Path(__file__).resolve().parents[1]


class ExcelErrorValue(str):
    """Marks a value to be written as an Excel error cell (t="e"), e.g. ExcelErrorValue("#DIV/0!")."""


def make_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """Write ``sheets`` (name -> rows of values, from A1) as a real .xlsx file.

    Strings are always written as text (even ones that start with '='), like data typed into
    Excel after a leading apostrophe."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=str(value) if isinstance(value, ExcelErrorValue) else value)
                if isinstance(value, ExcelErrorValue):
                    assert cell.data_type == "e"
                elif isinstance(value, str):
                    cell.data_type = "s"
    book.save(path)
    return path


SEED_001 = {
    # Seed 001's table: 10 website visits x 1, 5 email clicks x 2, 2 purchases x 5 = 30.
    "Activity": [["Customer", "Website Visit", "Email Click", "Purchase"], ["C-1", 10, 5, 2]],
    "Weights": [["Metric", "Weight"], ["Website Visit", 1], ["Email Click", 2], ["Purchase", 5]],
}


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ces_xl.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="session")
def soffice() -> str:
    exe = _soffice()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI: .ci/run installs libreoffice-calc-nogui")
        pytest.skip("LibreOffice is not installed here (apt-get install libreoffice-calc-nogui); "
                    "the real-application checks need it")
    return exe


# LibreOffice shows the cached values of a file it did not write unless told to recalculate:
# this profile setting makes it recalculate every formula of every .xlsx it loads.
RECALCULATE_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def libreoffice_export(soffice: str, book: Path, outdir: Path, recalculate: bool = False) -> dict[str, list[list[str]]]:
    """Open ``book`` in LibreOffice Calc headless and export every sheet to CSV (raw values, not
    as shown). ``recalculate``: recalculate every formula first (else LibreOffice shows the
    values cached in the file). Returns sheet name -> rows of strings."""
    outdir.mkdir(parents=True, exist_ok=True)
    profile = outdir / "lo-profile"
    if recalculate:
        (profile / "user").mkdir(parents=True, exist_ok=True)
        (profile / "user" / "registrymodifications.xcu").write_text(RECALCULATE_ALWAYS)
    filt = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    done = subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                           "--convert-to", filt, "--outdir", str(outdir), str(book)],
                          capture_output=True, text=True, timeout=180)
    sheets = {}
    prefix = book.stem + "-"
    for csv_path in outdir.glob(f"{book.stem}-*.csv"):
        with open(csv_path, newline="", encoding="utf-8") as handle:
            sheets[csv_path.stem[len(prefix):]] = list(csv.reader(handle))
    assert sheets, f"LibreOffice exported nothing: {done.stdout} {done.stderr}"
    return sheets


def libreoffice_resave(soffice: str, book: Path, outdir: Path) -> Path:
    """Open ``book`` in LibreOffice and save it again as .xlsx (LibreOffice's own writer)."""
    outdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([soffice, f"-env:UserInstallation={(outdir / 'lo-profile').as_uri()}", "--headless",
                           "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir), str(book)],
                          capture_output=True, text=True, timeout=180)
    saved = outdir / book.name
    assert saved.exists(), done.stdout + done.stderr
    return saved
