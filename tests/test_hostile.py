"""Hostile and broken files: each gets one clear line, exit 1, no output, the input unchanged,
through the CLI and the same CESError through the Python API."""
from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

import ces_xl

from .conftest import SEED_001, make_workbook, run_cli


def _parts(good: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(good) as z:
        return {n: z.read(n) for n in z.namelist()}


def _repack(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


def _with_entity(tmp: Path, name: str, doctype: bytes, reference: bytes) -> Path:
    """The seed-001 book with its first customer ID replaced by an XML entity reference."""
    parts = _parts(make_workbook(tmp / "good.xlsx", SEED_001))
    sheet = re.sub(rb"^<\?xml[^>]*\?>", b"", parts["xl/worksheets/sheet1.xml"])
    assert b"<t>C-1</t>" in sheet
    parts["xl/worksheets/sheet1.xml"] = b'<?xml version="1.0"?>' + doctype + sheet.replace(
        b"<t>C-1</t>", b"<t>" + reference + b"</t>")
    return _repack(tmp / name, parts)


def billion_laughs(tmp: Path) -> Path:
    entities = b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(2, 10))
    return _with_entity(tmp, "laughs.xlsx", b'<!DOCTYPE worksheet [<!ENTITY lol1 "lol">' + entities + b"]>",
                        b"&lol9;")


def external_entity(tmp: Path) -> Path:
    return _with_entity(tmp, "xxe.xlsx", b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
                        b"&xxe;")


def zip_bomb(tmp: Path) -> Path:
    """80 MiB of whitespace inside the sheet part: about 80 KB on disk."""
    parts = _parts(make_workbook(tmp / "good.xlsx", SEED_001))
    head, tail = parts["xl/worksheets/sheet1.xml"].split(b"<sheetData>", 1)
    path = tmp / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                out.writestr(name, data)
                continue
            with out.open(name, "w", force_zip64=True) as handle:
                handle.write(head)
                for _ in range(80):
                    handle.write(b" " * 2**20)
                handle.write(b"<sheetData>" + tail)
    return path


def encrypted(tmp: Path) -> Path:
    # What Excel writes for a password-protected workbook: an OLE compound file, not a zip.
    path = tmp / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    return path


def truncated(tmp: Path) -> Path:
    data = make_workbook(tmp / "good.xlsx", SEED_001).read_bytes()
    path = tmp / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def not_a_zip(tmp: Path) -> Path:
    path = tmp / "text.xlsx"
    path.write_text("Customer,Visits\nC-1,3\n")
    return path


def renamed(suffix: str):
    def make(tmp: Path) -> Path:
        path = tmp / f"book{suffix}"
        path.write_bytes(make_workbook(tmp / "good.xlsx", SEED_001).read_bytes())
        return path
    return make


def widest_sheet(tmp: Path) -> Path:
    """An Activity sheet 16,384 columns wide (data in XFD, Excel's last column)."""
    path = make_workbook(tmp / "wide.xlsx", SEED_001)
    book = openpyxl.load_workbook(path)
    book["Activity"]["XFD1"] = "Notes"
    book["Activity"]["XFD2"] = "kept"
    book.save(path)
    return path


def merged_header(tmp: Path) -> Path:
    path = make_workbook(tmp / "merged.xlsx", SEED_001)
    book = openpyxl.load_workbook(path)
    book["Activity"].merge_cells("B1:C1")  # "Website Visit" now spans the Email Click header
    book.save(path)
    return path


CASES = {
    "billion laughs": (billion_laughs, ["Activity", "unrecognized entity", "save it again"]),
    "external entity": (external_entity, ["Activity", "unrecognized entity"]),
    "zip bomb": (zip_bomb, ["xl/worksheets/sheet1.xml", "inflate", "zip bomb"]),
    "encrypted": (encrypted, ["password-protected", "remove the password"]),
    "truncated zip": (truncated, ["not a valid Excel workbook"]),
    "not a zip": (not_a_zip, ["not a valid Excel workbook"]),
    "csv": (renamed(".csv"), ["'.csv' files are not supported", "save it as an Excel Workbook"]),
    "xlsb": (renamed(".xlsb"), ["'.xlsb' files are not supported"]),
    "xls": (renamed(".xls"), ["'.xls' files are not supported"]),
    "merged header": (merged_header, ["Weights!A3", "metric 'Email Click' has no column"]),
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_cli(tmp_path, name):
    make, words = CASES[name]
    source = make(tmp_path)
    before_hash, before_files = sha(source), sorted(p.name for p in tmp_path.iterdir())
    done = run_cli("score", source, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1, done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and line.startswith("ces-xl: error: ") and "Traceback" not in line
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"
    assert sha(source) == before_hash
    assert sorted(p.name for p in tmp_path.iterdir()) == before_files
    assert b"root:" not in done.stderr.encode() + done.stdout.encode()  # nothing of /etc/passwd


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_api(tmp_path, name):
    make, words = CASES[name]
    with pytest.raises(ces_xl.CESError) as error:
        ces_xl.score_workbook(make(tmp_path), tmp_path / "out.xlsx")
    assert words[0] in str(error.value)
    assert not (tmp_path / "out.xlsx").exists()


def test_a_sheet_16384_columns_wide_scores_and_keeps_its_last_column(tmp_path):
    source = widest_sheet(tmp_path)
    out = tmp_path / "out.xlsx"
    result = ces_xl.score_workbook(source, out)
    assert result.scores.loc[0, "Score"] == 30
    assert openpyxl.load_workbook(out)["Activity"]["XFD2"].value == "kept"


def test_more_rows_than_excel_allows_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr("ces_xl.xlsx.reader.MAX_ROWS", 3)  # a 4-row sheet stands in for 1,048,577 rows
    source = make_workbook(tmp_path / "b.xlsx", {"Activity": [["ID", "X"], ["A", 1], ["B", 2], ["C", 3]],
                                                 "Weights": [["Metric", "Weight"], ["X", 1]]})
    with pytest.raises(ces_xl.CESError, match="Activity: the sheet has 4 rows, more than Excel's 3"):
        ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()
