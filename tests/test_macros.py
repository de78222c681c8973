"""Macro workbooks (.xlsm): scoring keeps the VBA project and the ribbon, byte for byte."""
from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl

import ces_xl
from ces_xl.addin import template_path

from .conftest import SEED_001, libreoffice_export, make_workbook, run_cli

RIBBON_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"


def macro_workbook(tmp: Path) -> Path:
    """The seed-001 book as an .xlsm with a VBA project and a custom ribbon (both taken from
    xlwings' ribbon add-in template, a real Excel-made package)."""
    good = make_workbook(tmp / "plain.xlsx", SEED_001)
    with zipfile.ZipFile(good) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(template_path()) as t:
        vba, ribbon = t.read("xl/vbaProject.bin"), t.read("customUI/customUI.xml")
    types = parts["[Content_Types].xml"].decode()
    types = types.replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    types = types.replace("</Types>", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                          "</Types>")
    parts["[Content_Types].xml"] = types.encode()
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
        b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    parts["_rels/.rels"] = parts["_rels/.rels"].replace(
        b"</Relationships>", f'<Relationship Id="rIdUI" Type="{RIBBON_REL}" Target="customUI/customUI.xml"/>'
        "</Relationships>".encode())
    parts["xl/vbaProject.bin"], parts["customUI/customUI.xml"] = vba, ribbon
    path = tmp / "macros.xlsm"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_scoring_an_xlsm_keeps_vba_and_ribbon_byte_for_byte(tmp_path, soffice):
    source = macro_workbook(tmp_path)
    done = run_cli("score", source)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "macros-scored.xlsm"
    before, after = parts_of(source), parts_of(out)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert after["customUI/customUI.xml"] == before["customUI/customUI.xml"]
    assert f'Type="{RIBBON_REL}" Target="customUI/customUI.xml"' in after["_rels/.rels"].decode()
    assert "macroEnabled" in after["[Content_Types].xml"].decode()
    assert "vbaProject.bin" in after["xl/_rels/workbook.xml.rels"].decode()
    book = openpyxl.load_workbook(out, keep_vba=True)
    assert book.sheetnames == ["Activity", "Weights", "Scores", "Summary", "Actions", "History"]
    assert book["Scores"]["B2"].value == 30
    # A second run on the scored file keeps them too, and LibreOffice opens the result.
    again = tmp_path / "again.xlsm"
    ces_xl.score_workbook(out, again)
    assert parts_of(again)["customUI/customUI.xml"] == before["customUI/customUI.xml"]
    assert parts_of(again)["_rels/.rels"].decode().count(RIBBON_REL) == 1
    assert libreoffice_export(soffice, again, tmp_path / "lo")["Scores"][1][:2] == ["C-1", "30"]


def test_xlsm_output_must_stay_xlsm(tmp_path):
    source = macro_workbook(tmp_path)
    done = run_cli("score", source, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1 and "must be an .xlsm" in done.stderr
