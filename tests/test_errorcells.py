"""Excel error cells in the sheet XML, found in one streaming pass (calamine reads them as blanks)."""
from __future__ import annotations

import zipfile

from ces_xl.xlsx import errorcells
from ces_xl.xlsx.errorcells import error_cells

from .conftest import ExcelErrorValue, make_workbook


def test_error_cells_are_found_with_their_positions(tmp_path):
    path = make_workbook(tmp_path / "e.xlsx", {
        "Weights": [["Metric", "Weight"], ["X", ExcelErrorValue("#REF!")]],
        "Activity": [["ID", "X"], ["A", ExcelErrorValue("#DIV/0!")], ["B", 1], ["C", ExcelErrorValue("#N/A")]],
    })
    found = error_cells(path, ["Activity", "Weights", "Missing"])
    assert found == {"Activity": {(1, 1): "#DIV/0!", (3, 1): "#N/A"}, "Weights": {(1, 1): "#REF!"}, "Missing": {}}


def test_a_formula_cell_with_a_cached_error_and_cells_across_chunk_boundaries(tmp_path, monkeypatch):
    path = tmp_path / "f.xlsx"
    cells = "".join(f'<c r="B{r}" t="e"><f>1/0</f><v>#DIV/0!</v></c>' if r % 7 == 0 else f'<c r="B{r}"><v>{r}</v></c>'
                    for r in range(1, 200))
    sheet = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<sheetData><row r="1">{cells}</row></sheetData></worksheet>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                   '<sheet name="Activity" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/'
                   '2006/relationships"><Relationship Id="rId1" Type="x" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    monkeypatch.setattr(errorcells, "_CHUNK", 100)  # force many chunk boundaries
    found = error_cells(path, ["Activity"])["Activity"]
    assert found == {(r - 1, 1): "#DIV/0!" for r in range(7, 200, 7)}


def test_namespace_prefixed_cells(tmp_path):
    path = tmp_path / "x.xlsx"
    sheet = ('<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
             '<x:row r="2"><x:c r="C2" t="e"><x:f>NA()</x:f><x:v>#N/A</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                   '<sheet name="Activity" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/'
                   '2006/relationships"><Relationship Id="rId1" Type="x" Target="/xl/worksheets/s.xml"/></Relationships>')
        z.writestr("xl/worksheets/s.xml", sheet)
    assert error_cells(path, ["Activity"]) == {"Activity": {(1, 2): "#N/A"}}
