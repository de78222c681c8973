"""The package-level writer: what it keeps byte for byte, what it adds, and that the package
stays consistent (every relationship resolves, every part has a content type), also on
workbooks saved by LibreOffice and on re-runs."""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import python_calamine
from defusedxml import ElementTree

import ces_xl
from ces_xl.layout import result_sheets
from ces_xl.xlsx import sheetxml
from ces_xl.xlsx.package import write_behind
from ces_xl.xlsx.styles import CellStyle, StyleSheet
from ces_xl.xlsx.writer import write_results

from .conftest import REPO, SEED_001, libreoffice_export, libreoffice_resave, make_workbook, run_cli
from .reference import band

TEMPLATE = REPO / "workbook" / "CES_Template.xlsx"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
RESULT_PARTS = re.compile(r"xl/(worksheets/(_rels/)?sheet\d+\.xml(\.rels)?|tables/|drawings/|charts/)")


def package_problems(path: Path) -> list[str]:
    """What a consuming application would trip over: dangling relationships, parts without a
    content type, content types for missing parts, a damaged zip."""
    problems = []
    with zipfile.ZipFile(path) as z:
        if z.testzip() is not None:
            problems.append(f"bad CRC in {z.testzip()}")
        names = set(z.namelist())
        types = ElementTree.fromstring(z.read("[Content_Types].xml"))
        defaults = {d.get("Extension").lower() for d in types.iter(f"{CT}Default")}
        overrides = {o.get("PartName").lstrip("/") for o in types.iter(f"{CT}Override")}
        problems += [f"content type for missing part {p}" for p in overrides - names]
        problems += [f"no content type for {n}" for n in names
                     if not n.endswith("/") and n not in overrides and n.rsplit(".", 1)[-1].lower() not in defaults]
        for rels in (n for n in names if n.endswith(".rels")):
            folder = posixpath.dirname(posixpath.dirname(rels))
            for rel in ElementTree.fromstring(z.read(rels)).iter(f"{PKG}Relationship"):
                if rel.get("TargetMode") == "External":
                    continue
                target = rel.get("Target")
                part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                    posixpath.join(folder, target))
                if part not in names:
                    problems.append(f"{rels}: {rel.get('Id')} -> missing {part}")
    return problems


def raw_members(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """Each member's CRC, compressed size and compressed bytes as stored in the file."""
    out = {}
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        for info in z.infolist():
            f.seek(info.header_offset + 26)
            n, m = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
            f.seek(info.header_offset + 30 + n + m)
            out[info.filename] = (info.CRC, info.compress_size, f.read(info.compress_size))
    return out


def cell_styles(path: Path, sheet: str) -> dict:
    ws = openpyxl.load_workbook(path)[sheet]
    return {c.coordinate: (c.value, c.font.b, c.font.sz, c.fill.fgColor.rgb, c.number_format, c.alignment.horizontal)
            for row in ws.iter_rows() for c in row if c.value is not None}


def test_untouched_parts_are_copied_raw_and_the_package_is_consistent(tmp_path):
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(TEMPLATE, out)
    before, after = raw_members(TEMPLATE), raw_members(out)
    edited = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"}
    for name, member in before.items():
        if name not in edited:
            assert after[name] == member, name  # same CRC, size and compressed bytes
    added = set(after) - set(before)
    assert added and all(RESULT_PARTS.match(n) for n in added), added
    assert package_problems(out) == []
    assert package_problems(TEMPLATE) == []


def test_styles_of_the_other_sheets_are_unchanged(tmp_path):
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(TEMPLATE, out)
    for sheet in ("Instructions", "Activity", "Weights", "Bands", "Settings"):
        assert cell_styles(out, sheet) == cell_styles(TEMPLATE, sheet), sheet


def test_result_cells_carry_the_layout_styles(tmp_path):
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(make_workbook(tmp_path / "b.xlsx", SEED_001), out)
    summary = openpyxl.load_workbook(out)["Summary"]
    assert summary["A1"].font.b and summary["A1"].font.sz == sheetxml.TITLE_SIZE
    assert summary["A3"].value == "Overview" and summary["A3"].font.b
    header = summary["A4"]
    assert header.value == "Measure" and header.font.b and header.fill.fgColor.rgb.endswith(sheetxml.HEADER_FILL)
    scores = openpyxl.load_workbook(out)["Scores"]
    assert scores["C2"].alignment.horizontal == "center"  # the band column


def test_rerun_on_a_workbook_libreoffice_saved(tmp_path, soffice):
    """LibreOffice rewrites everything (shared strings, its own styles.xml, its table and chart
    parts). Scoring that file again must recognise its own sheets and replace them cleanly."""
    first = tmp_path / "first.xlsx"
    ces_xl.score_workbook(make_workbook(tmp_path / "b.xlsx", SEED_001), first)
    resaved = libreoffice_resave(soffice, first, tmp_path / "lo")
    with zipfile.ZipFile(resaved) as z:
        assert "xl/sharedStrings.xml" in z.namelist()
    again = tmp_path / "again.xlsx"
    ces_xl.score_workbook(resaved, again)
    assert package_problems(again) == []
    book = openpyxl.load_workbook(again)
    assert book.sheetnames == ["Activity", "Weights", "Scores", "Summary", "Actions", "History"]
    assert [list(ws.tables) for ws in book.worksheets if ws.tables] == [["CES_Scores"], ["CES_Actions"], ["CES_History"]]
    assert book["Scores"]["B2"].value == 10 * 1 + 5 * 2 + 2 * 5  # seed 001
    with zipfile.ZipFile(again) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1  # LibreOffice's chart went with the old Summary
    exported = libreoffice_export(soffice, again, tmp_path / "lo2")
    assert exported["Scores"][1][:3] == ["C-1", "30", band(30, [(b.label, b.lower, b.upper)
                                                                for b in ces_xl.DEFAULT_BANDS])]


def test_a_calculation_chain_is_dropped_when_sheets_are_replaced(tmp_path):
    scored = tmp_path / "scored.xlsx"
    ces_xl.score_workbook(make_workbook(tmp_path / "b.xlsx", SEED_001), scored)
    # Give the scored book a calcChain that lists a cell of the Scores sheet, as Excel would
    # if the user had typed a formula there.
    with zipfile.ZipFile(scored) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/calcChain.xml"] = (b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                 b'<c r="F2" i="3"/></calcChain>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdCalc" Type="http://schemas.openxmlformats.org/officeDocument/'
                             b'2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>')
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-'
                     b'officedocument.spreadsheetml.calcChain+xml"/></Types>')
    with zipfile.ZipFile(scored, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    assert package_problems(scored) == []
    again = tmp_path / "again.xlsx"
    ces_xl.score_workbook(scored, again)
    with zipfile.ZipFile(again) as z:
        assert "xl/calcChain.xml" not in z.namelist()
        assert b"calcChain" not in z.read("xl/_rels/workbook.xml.rels")
    assert package_problems(again) == []


def test_rows_written_in_chunks_read_back_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(sheetxml, "CHUNK_ROWS", 7)  # many chunks, with a short last one
    n = 100
    activity = pd.DataFrame({"ID": [f"C{i:03d}" for i in range(n)], "Visits": [float(i % 13) for i in range(n)],
                             "Orders": [None if i % 10 == 3 else float(i % 5) for i in range(n)]})
    model = ces_xl.Model([ces_xl.Metric("Visits", 2), ces_xl.Metric("Orders", 3)])
    result = ces_xl.score(activity, model)
    make_workbook(tmp_path / "b.xlsx", {"Activity": [["ID"]], "Weights": [["Metric", "Weight"]]})
    ticks = []
    write_results(tmp_path / "b.xlsx", tmp_path / "out.xlsx", result_sheets(result), progress=ticks.append)
    rows = python_calamine.CalamineWorkbook.from_path(str(tmp_path / "out.xlsx")).get_sheet_by_name(
        "Scores").to_python()
    expected = [2 * (i % 13) + 3 * (0 if i % 10 == 3 else i % 5) for i in range(n)]
    assert [r[0] for r in rows[1:]] == list(activity["ID"])
    assert [r[1] for r in rows[1:]] == expected
    assert sum(ticks) >= n and max(ticks) <= 7 + 20  # told as it goes, not once at the end


def test_style_sheet_edits_keep_prefixes_and_counts():
    xml = ('<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<x:fonts count="1"><x:font><x:sz val="10"/><x:name val="Arial"/></x:font></x:fonts>'
           '<x:fills count="2"><x:fill><x:patternFill patternType="none"/></x:fill>'
           '<x:fill><x:patternFill patternType="gray125"/></x:fill></x:fills>'
           '<x:borders count="1"><x:border/></x:borders>'
           '<x:cellXfs count="1"><x:xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></x:cellXfs>'
           '<x:dxfs count="0"/></x:styleSheet>')
    sheet = StyleSheet(xml)
    bold = sheet.xf(CellStyle(bold=True))
    fmt = sheet.xf(CellStyle(number_format="0.0", center=True))
    assert (bold, fmt) == (1, 2)
    assert sheet.xf(CellStyle(bold=True)) == 1  # asked twice, added once
    assert sheet.dxf("F8696B") == 0
    root = ElementTree.fromstring(sheet.to_bytes())
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    xfs = root.find(f"{ns}cellXfs")
    assert xfs.get("count") == "3" and len(xfs) == 3
    fonts = root.find(f"{ns}fonts")
    assert fonts.get("count") == "2" and fonts[1].find(f"{ns}b") is not None
    assert fonts[1].find(f"{ns}name").get("val") == "Arial"  # derived from the workbook's own font
    formats = root.find(f"{ns}numFmts")
    assert formats.get("count") == "1" and formats[0].get("formatCode") == "0.0"
    assert int(formats[0].get("numFmtId")) >= 164
    assert xfs[2].get("numFmtId") == formats[0].get("numFmtId")
    assert root.find(f"{ns}dxfs").get("count") == "1"
    assert list(root).index(formats) == 0  # numFmts comes first in the schema's order


@pytest.mark.parametrize("text", ["plain", " lead", "trail ", "a&b<c>", "=1+1", "_x0041_", "bell\x07", "ü€漢",
                                  "not\uffffxml"])
def test_inline_text_round_trips_through_an_xml_parser(text):
    element = ElementTree.fromstring(f'<c xmlns="x">{sheetxml.inline_text(text)}</c>'.encode())
    stored = "".join(t.text or "" for t in element.iter("{x}t"))
    # What Excel stores: control characters and escape look-alikes as _xHHHH_ escapes.
    assert stored == sheetxml.ooxml_text(text)
    assert re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), stored.replace("_x005F_", "\0")) \
        .replace("\0", "_") == text


def test_a_failed_write_in_the_deflate_thread_reaches_the_caller_and_stops_the_work():
    class DiskFull(io.RawIOBase):
        writes = 0

        def write(self, data):
            self.writes += 1
            if self.writes > 1:
                raise OSError(28, "No space left on device")
            return len(data)

    produced = []

    def chunks():
        for i in range(1000):
            produced.append(i)
            yield b"<row/>"

    with pytest.raises(OSError, match="No space left"):
        write_behind(DiskFull(), chunks())
    assert len(produced) < 1000  # the producer stopped soon after the failure


def test_a_failure_while_streaming_a_sheet_leaves_no_output(tmp_path, monkeypatch):
    source = make_workbook(tmp_path / "b.xlsx", SEED_001)
    real = sheetxml.worksheet_chunks

    def failing(*args, **kwargs):
        chunks = real(*args, **kwargs)
        yield next(chunks)
        raise MemoryError("out of memory half way")

    monkeypatch.setattr("ces_xl.xlsx.writer.worksheet_chunks", failing)
    with pytest.raises(MemoryError):
        ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.xlsx"]


def rewrite_parts(path: Path, edit) -> Path:
    """Rewrite a package with ``edit(name, data) -> data`` applied to every part."""
    with zipfile.ZipFile(path) as z:
        parts = {n: edit(n, z.read(n)) for n in z.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_relationship_prefix_declared_on_each_sheet_element(tmp_path):
    # Some writers declare xmlns:r on each <sheet> instead of the root: the new <sheet>
    # elements must then declare it too, or workbook.xml is not well-formed.
    rel_ns = b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'

    def move_declaration(name, data):
        if name != "xl/workbook.xml":
            return data
        return data.replace(b" " + rel_ns, b"").replace(b"<sheet ", b"<sheet " + rel_ns + b" ")

    source = rewrite_parts(make_workbook(tmp_path / "b.xlsx", SEED_001), move_declaration)
    with zipfile.ZipFile(source) as z:
        root_tag = z.read("xl/workbook.xml").split(b"<sheets", 1)[0]
        assert rel_ns not in root_tag
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(source, out)
    with zipfile.ZipFile(out) as z:
        ElementTree.fromstring(z.read("xl/workbook.xml"))  # well-formed
    assert openpyxl.load_workbook(out).sheetnames == ["Activity", "Weights", "Scores", "Summary", "Actions", "History"]


def test_strict_open_xml_is_refused_with_the_fix(tmp_path):
    def strict(name, data):
        return data.replace(b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                            b"http://purl.oclc.org/ooxml/officeDocument/relationships") if name == "_rels/.rels" else data

    source = rewrite_parts(make_workbook(tmp_path / "b.xlsx", SEED_001), strict)
    done = run_cli("score", source)
    assert done.returncode == 1
    assert "Strict Open XML" in done.stderr and "save it as an Excel Workbook (.xlsx)" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.xlsx"]


def test_a_result_sheet_written_with_zip64_still_opens(tmp_path, monkeypatch, soffice):
    # Sheets past 2 GiB of XML (many metrics at a million rows) need ZIP64; shown here on a
    # small sheet by lowering the threshold.
    monkeypatch.setattr("ces_xl.xlsx.writer.ZIP64_SAFE_BYTES", 0)
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(make_workbook(tmp_path / "b.xlsx", SEED_001), out)
    assert package_problems(out) == []
    rows = python_calamine.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Scores").to_python()
    assert rows[1][:2] == ["C-1", 30.0]
    assert libreoffice_export(soffice, out, tmp_path / "lo")["Scores"][1][:2] == ["C-1", "30"]


def test_rescoring_adds_no_styles_a_run_already_added(tmp_path):
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    ces_xl.score_workbook(TEMPLATE, first)
    ces_xl.score_workbook(first, second)
    with zipfile.ZipFile(TEMPLATE) as t, zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert a.read("xl/styles.xml") != t.read("xl/styles.xml")
        assert b.read("xl/styles.xml") == a.read("xl/styles.xml")


@pytest.mark.parametrize("blank", [pd.NaT, pd.NA, None, float("nan"), float("inf"), "", np.datetime64("NaT")])
def test_a_blank_is_an_empty_cell_that_keeps_its_style(blank):
    # As Excel writes a formatted empty cell: the style, no type and no value.
    assert sheetxml.cell_xml("A1", blank, 3, 0, StyleSheet(None)) == '<c r="A1" s="3"/>'
    assert sheetxml.cell_xml("A1", blank, 0, 0, StyleSheet(None)) == '<c r="A1"/>'


@pytest.mark.parametrize("with_isal", [True, False])
def test_the_scores_sheet_is_deflated_with_or_without_isal(tmp_path, monkeypatch, with_isal):
    from ces_xl.xlsx import package
    if with_isal and package._isal_zlib is None:
        pytest.skip("isal is not installed here (it is not asked for on Windows on ARM)")
    else:
        monkeypatch.setattr(package, "_isal_zlib", None)  # a platform without an isal wheel
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(TEMPLATE, out)
    assert package_problems(out) == []
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None  # every CRC checks, with the standard library's inflate
        scores = next(i for i in z.infolist() if i.filename.startswith("xl/worksheets/")
                      and b"<c r=\"B1\" t=\"inlineStr\"><is><t>Score</t>" in z.read(i))
        assert scores.compress_type == zipfile.ZIP_DEFLATED and scores.compress_size < scores.file_size / 4
    rows = python_calamine.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Scores").to_python()
    assert len(rows) == 61 and rows[0][:2] == ["Customer ID", "Score"]


def test_nullable_columns_with_missing_values_are_written_blank(tmp_path):
    from ces_xl.layout import Block
    frame = pd.DataFrame({"F": pd.array([1.5, None], dtype="Float64"), "I": pd.array([None, 2], dtype="Int64")})
    rows = sheetxml._BlockRows(Block(0, 0, frame), StyleSheet(None))
    assert rows.render(0).decode() == ('<row r="2"><c r="A2"><v>1.5</v></c><c r="B2"/></row>'
                                       '<row r="3"><c r="A3"/><c r="B3"><v>2</v></c></row>')


def test_appended_fonts_have_their_children_in_the_schema_order():
    # The workbook's first font as openpyxl writes it (color before sz); Excel's order, which the
    # Open XML SDK's validator requires, is b, i, strike, ..., u, vertAlign, sz, color, name, ...
    xml = ('<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1">'
           '<font><color theme="1"/><sz val="11"/><name val="Calibri"/></font></fonts>'
           '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellXfs></styleSheet>')
    sheet = StyleSheet(xml)
    ids = [sheet.xf(CellStyle(bold=True)), sheet.xf(CellStyle(bold=True, size=14)), sheet.xf(CellStyle(size=9))]
    edited = sheet.to_bytes().decode()
    assert re.findall(r"<font>.*?</font>", edited) == [
        '<font><color theme="1"/><sz val="11"/><name val="Calibri"/></font>',  # the workbook's own: as it was
        '<font><b/><sz val="11"/><color theme="1"/><name val="Calibri"/></font>',
        '<font><b/><sz val="14"/><color theme="1"/><name val="Calibri"/></font>',
        '<font><sz val="9"/><color theme="1"/><name val="Calibri"/></font>']
    # A later run finds the fonts and styles it added rather than adding them again.
    again = StyleSheet(edited)
    assert [again.xf(CellStyle(bold=True)), again.xf(CellStyle(bold=True, size=14)),
            again.xf(CellStyle(size=9))] == ids
    assert again.to_bytes().decode() == edited


def test_an_appended_font_puts_every_child_of_the_base_font_in_order():
    children = ["b", "i", "strike", "condense", "extend", "outline", "shadow", "u", "vertAlign", "sz", "color",
                "name", "family", "charset", "scheme"]
    base = "".join(f'<x:{name} val="1"/>' for name in reversed(children))
    sheet = StyleSheet(f'<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                       f'<x:fonts count="1"><x:font>{base}</x:font></x:fonts></x:styleSheet>')
    sheet.xf(CellStyle(bold=True, size=12))
    added = re.findall(r"<x:font>.*?</x:font>", sheet.to_bytes().decode())[1]
    assert re.findall(r"<x:(\w+)", added)[1:] == children
    assert '<x:b/>' in added and '<x:sz val="12"/>' in added and '<x:color val="1"/>' in added
