"""Live workbooks (Settings ``Formulas`` = ``live``): the Scores sheet's score, points, band and
top driver as formulas that LibreOffice, made to recalculate every formula it loads, computes to the
engine's numbers; again after counts and weights are edited in a copy; no text of the workbook
in any formula; and the formula text itself (ces_xl.formulas)."""
from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

import ces_xl
from ces_xl.formulas import Cell, Column, fixed_range, function, sheet

from .conftest import libreoffice_export, make_workbook, run_cli

# Five customers, counts with blanks (the two policies differ), one over its target, one 0.
ACTIVITY = [["Customer", "Logins", "Reports", "Tickets", "Exports", "Spread"],
            ["A", 12, 3, 0, 40, 5], ["B", 4, None, 2, 2, 1], ["C", None, 9, 7, None, 9],
            ["D", 25, 1, None, 0, 3], ["E", 0, 0, 1, 15, None]]
BANDS = [["Band", "From", "To"], ["Low", 0, 30], ["Mid", 30.5, 60], ["High", 60.5, 100]]


def weights(method: str) -> list[list]:
    if method == "sum":
        return [["Metric", "Weight"], ["Logins", 2], ["Reports", 1.5], ["Tickets", -1], ["Exports", 0.5]]
    # cap and log, each higher and lower; and a percentile metric (values: a note says so)
    return [["Metric", "Weight", "Target", "Normalization", "Direction"],
            ["Logins", 3, 20, "cap", "higher"], ["Reports", 2, 8, "log", "higher"],
            ["Tickets", 1, 5, "cap", "lower"], ["Exports", 1.5, 30, "log", "lower"],
            ["Spread", 1, None, "percentile", "higher"]]


def live_book(path: Path, method: str, missing: str, formulas: str = "live") -> Path:
    settings = [["Setting", "Value"], ["Method", method], ["Missing values", missing], ["Formulas", formulas]]
    return make_workbook(path, {"Activity": ACTIVITY, "Weights": weights(method), "Bands": BANDS,
                                "Settings": settings})


def engine_scores(book: Path) -> dict[str, tuple]:
    """The engine's Score, Band and points per customer (a values run of the same book)."""
    result = ces_xl.score_workbook(book, book.with_name(book.stem + "-values.xlsx"), force=True)
    points = result.contribution_columns
    return {row["Customer"]: (row["Score"], row["Band"], [row[p] for p in points], row["Top driver"])
            for row in result.scores.to_dict("records")}


def number(text: str):
    return None if text == "" else float(text)


def recalculated(soffice, book: Path, outdir: Path) -> dict[str, dict]:
    """Scores as LibreOffice computes them, every formula recalculated."""
    rows = libreoffice_export(soffice, book, outdir, recalculate=True)["Scores"]
    return {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}


def assert_same(engine: dict, recalc: dict, points: list[str]) -> None:
    assert set(engine) == set(recalc)
    for customer, (score, band, contributions, driver) in engine.items():
        got = recalc[customer]
        assert got["Top driver"] == (driver or ""), customer
        if score != score:  # no data: no score
            assert got["Score"] == "" and got["Band"] == "No data", customer
            continue
        assert number(got["Score"]) == pytest.approx(score, abs=1e-9), customer
        assert got["Band"] == band, customer
        for header, value in zip(points, contributions):
            if value != value:
                assert got[header] == "", (customer, header)
            else:
                assert number(got[header]) == pytest.approx(value, abs=1e-9), (customer, header)


@pytest.mark.parametrize("method", ["index", "sum"])
@pytest.mark.parametrize("missing", ["zero", "exclude"])
def test_libreoffice_recalculates_the_engines_numbers(soffice, tmp_path, method, missing):
    book = live_book(tmp_path / "in.xlsx", method, missing)
    out = tmp_path / "live.xlsx"
    done = run_cli("score", book, "-o", out)
    assert done.returncode == 0, done.stderr
    if method == "index":
        assert "the points of 'Spread' are values (percentile compares every customer" in done.stderr
    cells = openpyxl.load_workbook(out)["Scores"]
    header = [c.value for c in cells[1]]
    first = {h: c.value for h, c in zip(header, cells[2])}
    assert "ROUND(SUM(" in first["Score"] and first["Band"].startswith("=")
    assert first["Logins (points)"].startswith("=")
    engine = engine_scores(book)
    # what a reader that does not calculate sees: the engine's values, cached in the formulas
    cached = openpyxl.load_workbook(out, data_only=True)["Scores"]
    for who, score in zip(cached["A"][1:], cached["B"][1:]):
        expected = engine[who.value][0]
        assert (score.value in (None, "") if expected != expected else score.value == pytest.approx(expected, abs=1e-9))
    points = [h for h in header if str(h).endswith("(points)")]
    assert_same(engine, recalculated(soffice, out, tmp_path / "lo"), points)


@pytest.mark.parametrize("method", ["index", "sum"])
def test_after_edits_in_a_copy_every_score_is_the_engines(soffice, tmp_path, method):
    # Only live metrics here (no percentile): every number on the row then follows the edits.
    book = tmp_path / "in.xlsx"
    rows = weights(method)
    rows = [r for r in rows if r[0] != "Spread"]
    make_workbook(book, {"Activity": [r[:5] for r in ACTIVITY], "Weights": rows, "Bands": BANDS,
                         "Settings": [["Setting", "Value"], ["Method", method], ["Formulas", "live"]]})
    out = tmp_path / "live.xlsx"
    ces_xl.score_workbook(book, out)
    edited = tmp_path / "edited.xlsx"
    shutil.copy(out, edited)
    wb = openpyxl.load_workbook(edited)
    wb["Activity"]["B2"] = 3          # A's Logins 12 -> 3
    wb["Activity"]["C3"] = 6          # B's Reports blank -> 6
    wb["Activity"]["E6"] = None       # E's Exports 15 -> blank
    wb["Weights"]["B2"] = 5           # Logins' weight
    wb["Weights"]["B4"] = 0.25        # Tickets' weight
    wb["Bands"]["C2"] = 10            # the Low band ends at 10
    wb.save(edited)
    # The engine on the edited inputs (the same sheets, scored as values)
    inputs = tmp_path / "inputs.xlsx"
    wb = openpyxl.load_workbook(edited)
    for name in [n for n in wb.sheetnames if n not in ("Activity", "Weights", "Bands", "Settings")]:
        del wb[name]
    wb["Settings"]["B3"] = "values"
    wb.save(inputs)
    engine = engine_scores(inputs)
    before = engine_scores(book)
    assert any(abs(engine[c][0] - before[c][0]) > 1 for c in engine)  # the edits change scores
    points = [f"{name} (points)" for name in ("Logins", "Reports", "Tickets", "Exports")]
    assert_same(engine, recalculated(soffice, edited, tmp_path / "lo"), points)


def test_no_text_of_the_workbook_enters_a_formula(tmp_path):
    hostile = ['=1+1', '"),HYPERLINK("http://x', "'; DROP", "A<B&C"]
    activity = [["Customer", hostile[0], hostile[1]], ["=1+1", 2, 3], ["@SUM(A1)", 4, None], ["+1", 1, 1]]
    model = [["Metric", "Weight", "Target"], [hostile[0], 1, 4], [hostile[1], 2, 5]]
    bands = [["Band", "From", "To"], [hostile[2], 0, 50], [hostile[3], 50.5, 100]]
    book = make_workbook(tmp_path / "h.xlsx", {"Activity": activity, "Weights": model, "Bands": bands,
                                               "Settings": [["Setting", "Value"], ["Formulas", "live"]]})
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(book, out)
    with zipfile.ZipFile(out) as package:
        xml = next(package.read(n).decode() for n in package.namelist() if "worksheets/sheet" in n
                   and "Score" in package.read(n).decode()[:5000] and "<f>" in package.read(n).decode())
    formulas = re.findall(r"<f>(.*?)</f>", xml)
    assert len(formulas) == 3 * 5  # score, band, top driver and the two metrics' points, for three customers
    for f in formulas:
        for text in hostile + ["HYPERLINK", "SUM(A1)", "DROP"]:
            assert text not in f.replace("&amp;", "&").replace("&lt;", "<"), f
        assert re.fullmatch(r"[A-Z0-9$'!:,.()+*/\-<>=\"&;a-z_ ]+", f), f
    # the IDs are text cells, not formulas
    scores = openpyxl.load_workbook(out)["Scores"]
    assert [scores.cell(row=r, column=1).value for r in range(2, 5)] == ["=1+1", "@SUM(A1)", "+1"]
    assert all(scores.cell(row=r, column=1).data_type == "s" for r in range(2, 5))


def test_where_formulas_cannot_be_live_the_cells_are_values_and_a_note_says_why(tmp_path):
    # counts typed as text in one column; no Bands sheet
    activity = [["Customer", "Logins", "Reports"], ["A", "3", 2], ["B", 4, 1]]
    book = make_workbook(tmp_path / "t.xlsx", {"Activity": activity,
                                               "Weights": [["Metric", "Weight", "Target"], ["Logins", 1, 5],
                                                           ["Reports", 1, 4]],
                                               "Settings": [["Setting", "Value"], ["Formulas", "live"]]})
    result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    notes = " ".join(result.notes)
    assert "the points of 'Logins' are values (its counts are not plain numbers" in notes
    assert "the bands are values" in notes
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx")["Scores"]
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]]))
    assert isinstance(row["Logins (points)"], (int, float)) and str(row["Reports (points)"]).startswith("=")
    assert str(row["Score"]).startswith("=ROUND(") and row["Band"] == result.scores.loc[0, "Band"] == "Somewhat engaged"


def test_a_formula_excel_could_not_hold_is_a_value(tmp_path):
    # 700 metrics whose weights are not one block (a blank row between each): the weight total
    # alone would be over 8,192 characters in every points formula
    names = [f"M{i}" for i in range(700)]
    weights = [["Metric", "Weight", "Target"]]
    for name in names:
        weights += [[name, 1, 5], [None, None, None]]
    book = make_workbook(tmp_path / "wide.xlsx", {"Activity": [["Customer", *names], ["A", *range(700)]],
                                                  "Weights": weights,
                                                  "Settings": [["Setting", "Value"], ["Formulas", "live"]]})
    result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    assert any("formula would pass Excel's limit of 8,192 characters" in n for n in result.notes)
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx")["Scores"]
    formulas = [c.value for c in ws[2] if isinstance(c.value, str) and c.value.startswith("=")]
    assert all(len(f) <= 8192 for f in formulas) and any(f.startswith("=ROUND(SUM(") for f in formulas)


def test_values_is_the_default(tmp_path):
    book = make_workbook(tmp_path / "v.xlsx", {"Activity": ACTIVITY, "Weights": weights("index")})
    ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    with zipfile.ZipFile(tmp_path / "out.xlsx") as package:
        assert not any(b"<f>" in package.read(n) for n in package.namelist() if n.startswith("xl/worksheets/"))


def test_a_bad_formulas_setting_names_its_cell(tmp_path):
    book = make_workbook(tmp_path / "b.xlsx", {"Activity": ACTIVITY, "Weights": weights("index"),
                                               "Settings": [["Setting", "Value"], ["Formulas", "alive"]]})
    done = run_cli("score", book)
    assert done.returncode == 1
    assert "Settings!B2: Formulas is 'alive' (did you mean 'live'?)" in done.stderr


# --- the formula text itself -----------------------------------------------------------------

def test_sheet_names_are_quoted_and_functions_prefixed():
    assert sheet("Weights") == "'Weights'"
    assert sheet("Bob's data") == "'Bob''s data'"
    assert Cell("Bob's data", 1, 2).fixed() == "'Bob''s data'!$C$2"
    assert function("RANK.EQ") == "_xlfn.RANK.EQ" and function("SUM") == "SUM"
    assert function("percentrank.inc") == "_xlfn.percentrank.inc"


def test_a_range_only_when_the_cells_run_down_one_column():
    down = [Cell("Bands", r, 2) for r in (1, 2, 3)]
    assert fixed_range(down) == "'Bands'!$C$2:$C$4"
    assert fixed_range([Cell("Bands", 1, 2), Cell("Bands", 3, 2)]) is None  # a gap
    assert fixed_range([Cell("Bands", 1, 2), Cell("Other", 2, 2)]) is None
    assert fixed_range([]) is None
    assert fixed_range([Cell("Bands", 1, 2), None]) is None  # a label that is not plain text


def test_a_column_fills_its_rows():
    column = Column("ROUND(SUM($H%d:$Q%d),9)+'Activity'!$C%d", ("row", "row", "source"))
    assert column.render([2, 3], [5, 9]) == ["ROUND(SUM($H2:$Q2),9)+'Activity'!$C5",
                                             "ROUND(SUM($H3:$Q3),9)+'Activity'!$C9"]


def test_the_readmes_formulas_are_the_templates(tmp_path):
    from .conftest import REPO

    text = (REPO / "README.md").read_text()
    shown = text[text.index("For row 2 of a scored template:"):]
    shown = shown[shown.index("```text") + 8:shown.index("```", shown.index("```text") + 8)]
    out = tmp_path / "template-scored.xlsx"
    ces_xl.score_workbook(REPO / "workbook" / "CES_Template.xlsx", out)
    ws = openpyxl.load_workbook(out)["Scores"]
    cells = {ws.cell(row=1, column=c).value: ws.cell(row=2, column=c).value for c in range(1, ws.max_column + 1)}
    for line in shown.strip().splitlines():
        header, formula = line.split(" =", 1)
        assert cells[header.strip()] == "=" + formula.strip(), header


def test_the_button_writes_the_same_formulas(tmp_path):
    pytest.importorskip("xlwings")
    from ces_xl import button

    from .test_button import headless_cells, remote_book, replay

    book = live_book(tmp_path / "in.xlsx", "index", "zero")
    headless = tmp_path / "headless.xlsx"
    ces_xl.score_workbook(book, headless)
    remote = remote_book(book)
    start = [s.name for s in remote.sheets]
    assert button.run(remote) is not None
    _, written = replay(remote, start)
    expected = {k: v for k, v in headless_cells(headless, "Scores").items() if isinstance(v, str) and v.startswith("=")}
    assert len(expected) == 5 * (1 + 1 + 1 + 4)  # score, band, top driver and four live points, five customers
    for key, formula in expected.items():
        assert written["Scores"][key] == formula, key
    assert written["Scores"][(1, 0)] == "'A"  # and the ID stays text


def test_a_cell_reference_reads_back_to_its_sheet_and_cell():
    from ces_xl.xlsx.a1 import cell_ref, parse_cell_ref

    for name in ("Weights", "Bob's data", "My sheet", "2024"):
        assert parse_cell_ref(cell_ref(name, 4, 2)) == (name, 4, 2)
    assert parse_cell_ref("'Weights'!$C$5") == ("Weights", 4, 2)
    assert parse_cell_ref("B2") is None and parse_cell_ref("Weights!") is None
