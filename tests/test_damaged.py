"""Damaged workbooks, one small hand-built case for each kind of damage the fuzz test found.

Each ends in one line ``ces-xl: error: BOOK: part PART is damaged (WHY); open it in Excel and
save it again as .xlsx`` (exit 1, no output, the input unchanged), or names the cell that lies
too far out; through the Python API the same is an InputError. Never an internal error, an
"interrupted", a zipfile or zlib exception, or python-calamine aborting the process.
"""
from __future__ import annotations

import hashlib
import re
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest

import ces_xl
from ces_xl import cli
from ces_xl.xlsx import errorcells as errorcells_module
from ces_xl.xlsx import package as package_module

from .conftest import SEED_001, make_workbook, run_cli
from .fuzz import _benchmark_module, build_zip, raw_parts, read_parts, repack, zip_layout

ACTIVITY = "xl/worksheets/sheet1.xml"   # make_workbook writes the sheets in order
WEIGHTS = "xl/worksheets/sheet2.xml"
FIX = "; open it in Excel and save it again as .xlsx"


def good(tmp: Path) -> Path:
    return make_workbook(tmp / "good.xlsx", SEED_001)


def with_raw(tmp: Path, name: str, change) -> Path:
    """The good book rebuilt by hand after ``change(parts)`` edited its raw members."""
    parts = raw_parts(good(tmp).read_bytes())
    change({p.name: p for p in parts})
    path = tmp / name
    path.write_bytes(build_zip(parts))
    return path


def with_xml(tmp: Path, name: str, part: str, edit) -> Path:
    parts = read_parts(good(tmp).read_bytes())
    path = tmp / name
    path.write_bytes(repack([(i, edit(d) if i.filename == part else d) for i, d in parts]))
    return path


def bad_crc(part: str):
    def change(parts):
        parts[part].crc ^= 1
    return change


def flipped_data(tmp: Path, part: str) -> Path:
    """A bit flipped inside a part's deflate stream, the zip left as it was."""
    data = bytearray(good(tmp).read_bytes())
    member = next(m for m in zip_layout(bytes(data)).members if m.name == part)
    data[member.data + member.size // 2] ^= 0x10
    path = tmp / "flipped.xlsx"
    path.write_bytes(bytes(data))
    return path


def bad_local_header(tmp: Path) -> Path:
    data = bytearray(good(tmp).read_bytes())
    member = next(m for m in zip_layout(bytes(data)).members if m.name == "docProps/core.xml")
    data[member.local:member.local + 4] = b"PK\x05\x06"
    path = tmp / "header.xlsx"
    path.write_bytes(bytes(data))
    return path


def bad_magic(tmp: Path) -> Path:
    data = bytearray(good(tmp).read_bytes())
    data[:4] = b"\x00\x00\x00\x00"
    path = tmp / "magic.xlsx"
    path.write_bytes(bytes(data))
    return path


def unknown_encoding(part: str):
    def edit(data: bytes) -> bytes:
        return b'<?xml version="1.0" encoding="bogus"?>' + re.sub(rb"^<\?xml[^>]*\?>", b"", data)
    return edit


def method(part: str, number: int):
    def change(parts):
        parts[part].method = number
    return change


def cut_stream(part: str):
    def change(parts):
        parts[part].payload = parts[part].payload[:len(parts[part].payload) // 2]
    return change


def cell_ref(old: bytes, new: bytes):
    def edit(data: bytes) -> bytes:
        assert old in data
        return data.replace(old, new, 1)
    return edit


CASES = {
    "bad CRC in a contract sheet": (
        lambda tmp: with_raw(tmp, "crc.xlsx", bad_crc(ACTIVITY)), f"part {ACTIVITY} is damaged (bad CRC-32)"),
    "bad CRC in the other contract sheet": (
        lambda tmp: with_raw(tmp, "crc2.xlsx", bad_crc(WEIGHTS)), f"part {WEIGHTS} is damaged (bad CRC-32)"),
    "bad CRC in a part scoring does not read": (
        lambda tmp: with_raw(tmp, "crc3.xlsx", bad_crc("docProps/app.xml")),
        "part docProps/app.xml is damaged (bad CRC-32)"),
    "corrupt deflate data in a contract sheet": (
        lambda tmp: flipped_data(tmp, ACTIVITY), f"part {ACTIVITY} is damaged ("),
    "corrupt deflate data in a part only copied": (
        lambda tmp: flipped_data(tmp, "xl/theme/theme1.xml"), "part xl/theme/theme1.xml is damaged ("),
    "bad local header": (bad_local_header, "part docProps/core.xml is damaged (bad local header)"),
    "bad magic number (the file's first bytes)": (bad_magic, "part docProps/app.xml is damaged (bad local header)"),
    "unknown XML encoding in the workbook part": (
        lambda tmp: with_xml(tmp, "enc.xlsx", "xl/workbook.xml", unknown_encoding("xl/workbook.xml")),
        "part xl/workbook.xml is damaged (its XML declares an unknown encoding: unknown encoding: bogus)"),
    "unknown XML encoding in the relationships": (
        lambda tmp: with_xml(tmp, "enc2.xlsx", "xl/_rels/workbook.xml.rels", unknown_encoding("")),
        "part xl/_rels/workbook.xml.rels is damaged (its XML declares an unknown encoding"),
    "unsupported compression method in a contract sheet": (
        lambda tmp: with_raw(tmp, "bzip.xlsx", method(ACTIVITY, 12)),
        f"part {ACTIVITY} is damaged (compression method 12 (bzip2) is not one Excel writes)"),
    "unknown compression method in a copied part": (
        lambda tmp: with_raw(tmp, "m99.xlsx", method("docProps/app.xml", 99)),
        "part docProps/app.xml is damaged (compression method 99 (AES encryption) is not one Excel writes)"),
    "EOF inside the zip (a deflate stream cut short)": (
        lambda tmp: with_raw(tmp, "eof.xlsx", cut_stream("docProps/core.xml")),
        "part docProps/core.xml is damaged (its compressed data ends early)"),
    "EOF inside a contract sheet": (
        lambda tmp: with_raw(tmp, "eof2.xlsx", cut_stream(ACTIVITY)),
        f"part {ACTIVITY} is damaged (its compressed data ends early)"),
    "a cell far past Excel's limits": (
        lambda tmp: with_xml(tmp, "far.xlsx", ACTIVITY, cell_ref(b'r="D2"', b'r="ZZZZ99999999"')),
        "Activity!ZZZZ99999999: the cell lies past Excel's last cell, XFD1048576"),
    "a row past Excel's limits": (
        lambda tmp: with_xml(tmp, "row.xlsx", WEIGHTS, cell_ref(b'r="B3"', b'r="B1048577"')),
        "Weights!B1048577: the cell lies past Excel's last cell"),
    "two cells within the limits, 17 billion cells apart": (
        lambda tmp: with_xml(tmp, "apart.xlsx", ACTIVITY, cell_ref(b'r="D2"', b'r="XFD1048576"')),
        "Activity!XFD1048576: the cell lies so far from the others that the sheet would span A1:XFD1048576, "
        "17,179,869,184 cells"),
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", list(CASES))
def test_the_command_prints_one_line_naming_the_damage(tmp_path, capsys, name):
    make, words = CASES[name]
    source = make(tmp_path)
    before, files = sha(source), sorted(p.name for p in tmp_path.iterdir())
    code = cli.main(["score", str(source), "-o", str(tmp_path / "out.xlsx")])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("ces-xl: error: "), err
    assert words in err, err
    if "part " in words or "valid Excel" in words:
        assert err.startswith(f"ces-xl: error: {source}: ")
        assert err.rstrip().endswith(FIX) or "save it as an Excel Workbook" in err
    assert sha(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # no output, no temporary file


@pytest.mark.parametrize("name", list(CASES))
def test_the_api_raises_an_input_error(tmp_path, name):
    make, words = CASES[name]
    with pytest.raises(ces_xl.InputError) as error:
        ces_xl.score_workbook(make(tmp_path), tmp_path / "out.xlsx")
    assert words.split(": ", 1)[-1].split(" (")[0] in str(error.value)
    assert not (tmp_path / "out.xlsx").exists()


@pytest.mark.parametrize("ref", ["ZZZZ99999999", "XFD1048576", "A99999999999"])
def test_python_calamine_never_sees_a_far_cell(tmp_path, ref):
    """As a real process: python-calamine aborts the process (no exception) on these."""
    source = with_xml(tmp_path, "far.xlsx", ACTIVITY, cell_ref(b'r="D2"', f'r="{ref}"'.encode()))
    done = run_cli("score", source, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"ces-xl: error: Activity!{ref}: ") and done.stderr.count("\n") == 1


@pytest.mark.parametrize("edit", [
    # the same far cell written the ways python-calamine also reads it
    cell_ref(b'<c r="D2" t="n">', b"<c r='XFD1048576' t=\"n\">"),
    cell_ref(b'<c r="D2" t="n">', b'<c r = "XFD1048576" t="n">'),
    cell_ref(b'<c r="D2" t="n">', b'<c t="n"r="XFD1048576">'),
    cell_ref(b'<c r="D2" t="n">', b'<c r="D2" r="XFD1048576">'),
    cell_ref(b'<c r="D2" t="n">', b'<c r="xfd1048576" t="n">'),
    cell_ref(b'<c r="D2" t="n">', b'<x:c xmlns:x="urn:x" r="XFD1048576" t="n">'),
    # cells without a reference: python-calamine counts rows and columns itself
    cell_ref(b'<row r="2"><c r="A2" t="inlineStr"><is><t>C-1</t></is></c>',
             b'<row r="1048576"><c t="inlineStr"><is><t>C-1</t></is></c>' + b"<c/>" * 16384 + b"<c><v>1</v></c>"),
    cell_ref(b'<row r="2"><c r="A2" t="inlineStr"><is><t>C-1</t></is></c>',
             b'<row r="1048576"><c t="inlineStr"><is><t>C-1</t></is></c>' + b"<c/>" * 9000 + b"<c><v>1</v></c>"),
])
def test_far_cells_written_unusually_are_found_too(tmp_path, capsys, edit):
    source = with_xml(tmp_path, "odd.xlsx", ACTIVITY, edit)
    assert cli.main(["score", str(source), "-o", str(tmp_path / "out.xlsx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ces-xl: error: Activity!") and ("past Excel's last cell" in err or "so far" in err), err


def test_a_formatted_empty_cell_far_out_is_no_problem(tmp_path):
    """Excel writes <c r="XFD1048576" s="1"/> for a cell that was formatted and left empty:
    python-calamine skips it, and so does the check."""
    source = with_xml(tmp_path, "styled.xlsx", ACTIVITY, cell_ref(b"</row></sheetData>",
                                                                  b'</row><row r="1048576"><c r="XFD1048576" s="0"/>'
                                                                  b"</row></sheetData>"))
    result = ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    assert result.scores["Score"].tolist() == [30.0]


def test_a_sheet_wider_than_the_fast_check_vouches_for(tmp_path):
    """80 metrics (columns to CC): measured on its row numbers, then read."""
    names = [f"M{i}" for i in range(80)]
    source = make_workbook(tmp_path / "wide.xlsx", {
        "Activity": [["ID", *names], ["A", *range(80)], ["B", *range(80, 160)]],
        "Weights": [["Metric", "Weight"], *[[n, 1] for n in names]],
    })
    result = ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    assert result.scores["Score"].tolist() == [sum(range(80)), sum(range(80, 160))]


@pytest.mark.parametrize("far, rows, fits", [
    (16_384, 100, True),       # XFD x 100 rows: 1.6M cells, far within what python-calamine may hold (67.1M)
    (703, 100_000, False),     # AAA x 100,000 rows: 70.3M cells
    (16_384, 5_000, False),    # XFD x 5,000 rows: 81.9M cells
])
def test_three_letter_columns_are_measured_on_their_rows(tmp_path, capsys, far, rows, fits):
    """A sheet with a three-letter column is taken as XFD wide and its rows searched for one
    past what that width allows: the cells python-calamine would hold are never more than it can."""
    note = [None] * (far - 5) + ["a note far right"]  # in column ``far`` (1-based)
    activity = [["Customer", "Website Visit", "Email Click", "Purchase"], ["C-1", 10, 5, 2, *note]]
    activity += [[]] * (rows - 3) + [["C-2", 1, 1, 1]]  # the last customer in row ``rows``
    source = make_workbook(tmp_path / "far.xlsx", {"Activity": activity, "Weights": SEED_001["Weights"]})
    code = cli.main(["score", str(source), "-o", str(tmp_path / "out.xlsx")])
    err = capsys.readouterr().err
    if fits:
        assert code == 0, err
    else:
        assert code == 1 and "so far from the others" in err, err


def test_an_output_never_holds_a_damaged_part_and_each_contract_sheet_is_inflated_once(tmp_path, monkeypatch):
    """The reader's pass checks the contract sheets (CRC-32); the writer copies them raw without
    inflating them again, and inflates every other copied part to check it."""
    source = make_workbook(tmp_path / "b.xlsx", {**SEED_001, "Notes": [["free text"]]})
    book = openpyxl.load_workbook(source)  # saved on the Notes sheet: Activity is not re-written to deselect it
    book.active = book.sheetnames.index("Notes")
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = ws.title == "Notes"
    book.save(source)
    scanned: list[str] = []
    copies: dict[str, bool] = {}
    real_scan, real_copy = errorcells_module.scan_sheet, package_module.PackageCopy.copy_raw

    def scanning(package, part, name, *rest):
        scanned.append(part)
        return real_scan(package, part, name, *rest)

    def copying(self, info, checked=False):
        copies[info.filename] = checked
        return real_copy(self, info, checked=checked)

    monkeypatch.setattr(errorcells_module, "scan_sheet", scanning)
    monkeypatch.setattr(package_module.PackageCopy, "copy_raw", copying)
    ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    assert scanned.count(ACTIVITY) == 1 and scanned.count(WEIGHTS) == 1  # inflated and checked once, when read
    assert copies[ACTIVITY] is True and copies[WEIGHTS] is True          # so copied raw, not inflated again
    assert copies["docProps/app.xml"] is False  # not checked before: checked (inflated) as it is copied
    # Notes is re-written, not copied: it was the selected tab, and the results open on Summary.
    assert "xl/worksheets/sheet3.xml" not in copies
    with zipfile.ZipFile(tmp_path / "out.xlsx") as out:
        assert out.testzip() is None
    openpyxl.load_workbook(tmp_path / "out.xlsx").close()


def test_a_contract_sheet_changed_after_the_read_is_checked_again(tmp_path):
    """The record of checked parts follows the file: a file replaced between reading and
    writing gets every part checked during the copy."""
    source = good(tmp_path)
    with zipfile.ZipFile(source) as z:
        infos = [z.getinfo(ACTIVITY)]
    package_module.note_checked(source, infos)
    damaged = with_raw(tmp_path, "same.xlsx", bad_crc(ACTIVITY))
    source.write_bytes(damaged.read_bytes())  # another file now, same path
    assert package_module.take_checked(source) == set()


def test_damaged_shared_strings_are_named_before_their_text_is_used(tmp_path, capsys):
    """python-calamine checks no CRC: a flipped bit in the shared strings would change an ID or a
    metric name. The part is checked before it reads it."""
    book = tmp_path / "excel.xlsx"
    _benchmark_module().write_activity_workbook(book, 20)
    data = bytearray(book.read_bytes())
    member = next(m for m in zip_layout(bytes(data)).members if m.name == "xl/sharedStrings.xml")
    parts = raw_parts(bytes(data))
    strings = next(p for p in parts if p.name == "xl/sharedStrings.xml")
    strings.crc ^= 0x100
    source = tmp_path / "strings.xlsx"
    source.write_bytes(build_zip(parts))
    assert member.size == len(strings.payload)
    assert cli.main(["score", str(source), "-o", str(tmp_path / "out.xlsx")]) == 1
    assert capsys.readouterr().err == (f"ces-xl: error: {source}: part xl/sharedStrings.xml is damaged (bad CRC-32)"
                                       f"{FIX}\n")


def test_the_message_for_a_damaged_part(tmp_path, capsys):
    source = with_raw(tmp_path, "book.xlsx", bad_crc(WEIGHTS))
    assert cli.main(["score", str(source), "-o", str(tmp_path / "out.xlsx")]) == 1
    assert capsys.readouterr().err == (f"ces-xl: error: {source}: part {WEIGHTS} is damaged (bad CRC-32); "
                                       "open it in Excel and save it again as .xlsx\n")


def test_a_zip_directory_that_points_outside_the_file(tmp_path, capsys):
    data = bytearray(good(tmp_path).read_bytes())
    layout = zip_layout(bytes(data))
    data[layout.eocd + 16:layout.eocd + 20] = struct.pack("<I", layout.central + 7)  # the directory moved
    source = tmp_path / "moved.xlsx"
    source.write_bytes(bytes(data))
    assert cli.main(["score", str(source), "-o", str(tmp_path / "out.xlsx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ces-xl: error: ") and err.count("\n") == 1 and "Invalid argument" not in err
