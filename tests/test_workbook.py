"""Scored workbooks on disk, opened back with openpyxl and with LibreOffice Calc."""
from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import python_calamine
from openpyxl.workbook.defined_name import DefinedName

import ces_xl
from ces_xl.layout import result_sheets
from ces_xl.xlsx.template import METRICS
from ces_xl.xlsx.writer import write_results

from .conftest import REPO, SEED_001, libreoffice_export, make_workbook, run_cli
from .reference import band, index_scores

TEMPLATE = REPO / "workbook" / "CES_Template.xlsx"
HOSTILE_IDS = ["=1+1", "@SUM(A1)", "+1", "-2", "=HYPERLINK(\"http://x\")", "\t=2+2", "'=4+4"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sheet_rows(path: Path, sheet: str, cached: bool = False) -> list[tuple]:
    """The cells of ``sheet``; ``cached``: a formula's cached value, not its text."""
    book = openpyxl.load_workbook(path, data_only=cached)
    return [tuple(c.value for c in row) for row in book[sheet].iter_rows()]


def scores_by_id(path: Path) -> dict:
    """The Scores rows by customer ID, as a reader that does not calculate sees them (the
    template's scores are live formulas, with the engine's values cached in them)."""
    rows = sheet_rows(path, "Scores", cached=True)
    header = rows[0]
    return {row[0]: dict(zip(header, row)) for row in rows[1:]}


def template_expectations() -> dict[str, tuple[float, str]]:
    """The template's scores from the reference implementation, reading the Activity sheet
    with openpyxl (not the engine's calamine reader)."""
    rows = sheet_rows(TEMPLATE, "Activity")
    header = list(rows[0])
    columns = [header.index(name) for name, *_ in METRICS]
    counts = [[None if row[c] is None else float(row[c]) for c in columns] for row in rows[1:]]
    specs = [dict(weight=w, target=t, norm=n) for _, w, t, n, _ in METRICS]
    bands = [(b.label, b.lower, b.upper) for b in ces_xl.DEFAULT_BANDS]
    return {row[0]: (s, band(s, bands)) for row, s in zip(rows[1:], index_scores(counts, specs))}


def test_seed_001_workbook_scores_30(tmp_path):
    source = make_workbook(tmp_path / "seed.xlsx", SEED_001)
    done = run_cli("score", source)
    assert done.returncode == 0, done.stderr
    assert "Scored 1 customer (sum method)" in done.stdout
    row = scores_by_id(tmp_path / "seed-scored.xlsx")["C-1"]
    assert row["Score"] == 30
    assert row["Band"] == "Very disengaged"  # 30 is in seed 004's 0-40 band


def test_template_scores_match_the_reference_and_openpyxl_reads_them(tmp_path):
    out = tmp_path / "scored.xlsx"
    result = ces_xl.score_workbook(TEMPLATE, out)
    expected = template_expectations()
    got = scores_by_id(out)
    assert len(got) == len(expected) >= 50
    for customer, (value, label) in expected.items():
        assert got[customer]["Score"] == pytest.approx(value, abs=1e-9), customer
        assert got[customer]["Band"] == label, customer
    # Every band is used by the sample customers, and the contributions explain each score.
    assert set(result.scores["Band"]) == {b.label for b in ces_xl.DEFAULT_BANDS}
    for row in got.values():
        points = sum(v for k, v in row.items() if k.endswith("(points)"))
        assert points == pytest.approx(row["Score"], abs=1e-6)


def test_scores_sheet_layout(tmp_path):
    out = tmp_path / "scored.xlsx"
    ces_xl.score_workbook(TEMPLATE, out)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Instructions", "Activity", "Weights", "Bands", "Settings", "Scores", "Summary",
                               "Actions", "History"]
    ws = book["Scores"]
    header = [c.value for c in ws[1]]
    assert header[:9] == ["Customer ID", "Score", "Band", "Rank", "Percentile", "Top driver", "Biggest gap",
                          "To next band", "Fastest lift"]
    assert header[9:16] == [f"{name} (points)" for name, *_ in METRICS]
    assert header[16:] == ["Customer name", "Segment", "Country"]  # the other Activity columns, in their order
    assert ws.freeze_panes == "B2"
    (table,) = ws.tables.values()
    assert table.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}61"
    assert ws["B2"].number_format == "0.0" and ws["E2"].number_format == "0%"
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert len(rules) == 4  # three bands and "No data"
    assert ws.column_dimensions["A"].width > 8
    summary = book["Summary"]
    assert len(summary._charts) == 2
    texts = {c.value for row in summary.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"Customers by band", "By segment", "Model", "Very engaged", "Enterprise"} <= texts


def test_libreoffice_reads_the_same_numbers_as_the_engine(tmp_path, soffice):
    out = tmp_path / "scored.xlsx"
    result = ces_xl.score_workbook(TEMPLATE, out)
    sheets = libreoffice_export(soffice, out, tmp_path / "lo")
    rows = sheets["Scores"]
    header = rows[0]
    assert header[:3] == ["Customer ID", "Score", "Band"]
    engine = result.scores.set_index("Customer ID")
    assert len(rows) - 1 == len(engine)
    for row in rows[1:]:
        record = dict(zip(header, row))
        mine = engine.loc[record["Customer ID"]]
        assert float(record["Score"]) == pytest.approx(mine["Score"], abs=1e-9)
        assert record["Band"] == mine["Band"]
        assert float(record["Rank"]) == mine["Rank"]
        for column in result.contribution_columns:
            assert float(record[column]) == pytest.approx(mine[column], abs=1e-9)
    # The summary's band counts, as LibreOffice sees them.
    summary = sheets["Summary"]
    header = next(r for r in summary if r[:5] == ["Band", "From", "To", "Range", "Customers"])
    band_rows = summary[summary.index(header) + 1:summary.index(header) + 4]
    assert {r[0]: int(float(r[4])) for r in band_rows} == engine["Band"].value_counts().to_dict()
    # Each band's effective range: the scores it really holds (40.7 is above 40, so in the second).
    assert [r[3] for r in band_rows] == ["0 to 40", "above 40 to 75", "above 75 to 100"]


def test_input_is_byte_identical_after_runs(tmp_path):
    source = tmp_path / "book.xlsx"
    shutil.copy(TEMPLATE, source)
    before = sha(source)
    assert run_cli("score", source).returncode == 0
    assert run_cli("score", source, "-o", tmp_path / "other.xlsx").returncode == 0
    ces_xl.score_workbook(source, tmp_path / "third.xlsx")
    assert sha(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book-scored.xlsx", "book.xlsx", "other.xlsx",
                                                          "third.xlsx"]


def hostile_book(path: Path) -> Path:
    activity = [["Customer", "Visits", "Segment", "Note"]]
    for i, customer in enumerate(HOSTILE_IDS):
        activity.append([customer, i + 1, "=cmd|' /C calc'!A0", "@risk"])
    return make_workbook(path, {"Activity": activity, "Weights": [["Metric", "Weight"], ["Visits", 2]]})


def test_formula_like_ids_stay_text_in_every_output(tmp_path):
    source = hostile_book(tmp_path / "hostile.xlsx")
    out = tmp_path / "hostile-scored.xlsx"
    assert run_cli("score", source).returncode == 0
    book = openpyxl.load_workbook(out)
    for sheet in ("Scores", "Activity"):
        ids = [c for c in book[sheet]["A"][1:]]
        assert [c.value for c in ids] == HOSTILE_IDS, sheet
        assert all(c.data_type == "s" for c in ids), sheet
    segment_cells = [c for c in book["Scores"][1] if c.value == "Segment"][0].column_letter
    assert {c.data_type for c in book["Scores"][segment_cells][1:]} == {"s"}
    # And as a spreadsheet application sees it, after recalculating: text, not evaluated.
    scores = scores_by_id(out)
    assert scores["=1+1"]["Score"] == 2 and scores["-2"]["Score"] == 8


def test_formula_like_ids_stay_text_in_libreoffice(tmp_path, soffice):
    source = hostile_book(tmp_path / "hostile.xlsx")
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(source, out)
    sheets = libreoffice_export(soffice, out, tmp_path / "lo")
    assert [r[0] for r in sheets["Scores"][1:]] == HOSTILE_IDS
    assert {r[-2] for r in sheets["Scores"][1:]} == {"=cmd|' /C calc'!A0"}  # Segment, carried as text
    assert {r[-1] for r in sheets["Scores"][1:]} == {"@risk"}  # Note, carried as text
    assert [r[0] for r in sheets["Activity"][1:]] == HOSTILE_IDS


def book_with_extras(path: Path) -> Path:
    """A workbook whose other sheets carry a formula, a style and a defined name."""
    make_workbook(path, SEED_001 | {"Report": [["Total visits"]]})
    book = openpyxl.load_workbook(path)
    report = book["Report"]
    report["B1"] = "=SUM(Activity!B2:B2)*3"
    report["A1"].font = openpyxl.styles.Font(bold=True, color="FF0000")
    book.defined_names["VisitCounts"] = DefinedName("VisitCounts", attr_text="Activity!$B$2:$B$2")
    book.save(path)
    return path


def test_rerun_replaces_results_and_keeps_everything_else(tmp_path, soffice):
    source = book_with_extras(tmp_path / "book.xlsx")
    first = tmp_path / "first.xlsx"
    ces_xl.score_workbook(source, first)
    # Change the data in the scored book and score it again: results are replaced, not added.
    book = openpyxl.load_workbook(first)
    book["Activity"]["B2"] = 20
    book.move_sheet("Scores", offset=-2)  # the user moved the results tab
    book.save(first)
    second = tmp_path / "second.xlsx"
    ces_xl.score_workbook(first, second)
    out = openpyxl.load_workbook(second)
    assert out.sheetnames == ["Activity", "Scores", "Weights", "Report", "Summary", "Actions", "History"]
    assert out["Scores"]["B2"].value == 20 * 1 + 5 * 2 + 2 * 5
    assert out["Report"]["B1"].value == "=SUM(Activity!B2:B2)*3"
    assert out["Report"]["A1"].font.bold and out["Report"]["A1"].font.color.rgb == "00FF0000"
    assert out.defined_names["VisitCounts"].attr_text == "Activity!$B$2:$B$2"
    # LibreOffice recalculates the user's formula against the new data.
    report = libreoffice_export(soffice, second, tmp_path / "lo")["Report"]
    assert float(report[0][1]) == 60


def test_in_place_updates_atomically_and_leaves_no_temp_files(tmp_path):
    source = make_workbook(tmp_path / "book.xlsx", SEED_001)
    done = run_cli("score", source, "--in-place")
    assert done.returncode == 0, done.stderr
    assert f"-> {source}" in done.stdout
    assert openpyxl.load_workbook(source).sheetnames == ["Activity", "Weights", "Scores", "Summary", "Actions", "History"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]
    assert scores_by_id(source)["C-1"]["Score"] == 30


def test_failed_write_leaves_the_target_as_it_was(tmp_path, monkeypatch):
    source = make_workbook(tmp_path / "book.xlsx", SEED_001)
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"previous results")

    def explode(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ces_xl.pipeline.write_results", explode)
    with pytest.raises(OSError):
        ces_xl.score_workbook(source, target, force=True)
    assert target.read_bytes() == b"previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx", "out.xlsx"]


def test_exclude_policy_blank_scores_are_empty_cells(tmp_path, soffice):
    source = make_workbook(tmp_path / "b.xlsx", {
        "Activity": [["ID", "A", "B"], [1001, 10, None], [1002, None, None]],
        "Weights": [["Metric", "Weight", "Target"], ["A", 1, 10], ["B", 1, 10]],
        "Settings": [["Setting", "Value"], ["Missing values", "exclude"]],
    })
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(source, out)
    got = scores_by_id(out)
    assert got[1001]["Score"] == 100 and got[1001]["Data coverage"] == 0.5
    assert got[1002]["Score"] is None and got[1002]["Band"] == ces_xl.NO_DATA
    lo = libreoffice_export(soffice, out, tmp_path / "lo")["Scores"]
    assert lo[2][:3] == ["1002", "", ces_xl.NO_DATA]
    assert not any(math.isnan(float(v)) for v in lo[1][1:2])


def test_an_id_header_named_like_a_result_column_keeps_the_ids(tmp_path):
    source = make_workbook(tmp_path / "b.xlsx", {
        "Activity": [["Score", "Visits", "Segment"], ["A", 3, "x"], ["B", 4, "y"]],
        "Weights": [["Metric", "Weight"], ["Visits", 2]]})
    ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    rows = sheet_rows(tmp_path / "out.xlsx", "Scores")
    assert rows[0][:3] == ("Score (ID)", "Score", "Band")
    assert [r[:2] for r in rows[1:]] == [("A", 6), ("B", 8)]
    assert [r[-1] for r in rows[1:]] == ["x", "y"]


def test_headers_typed_as_numbers_match_metric_names(tmp_path):
    source = make_workbook(tmp_path / "b.xlsx", {
        "Activity": [["ID", 2024, 2025], ["A", 3, 1]],
        "Weights": [["Metric", "Weight"], [2024, 1], ["2025", 10]]})
    ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    assert scores_by_id(tmp_path / "out.xlsx")["A"]["Score"] == 3 + 10


def test_a_results_table_name_taken_elsewhere_gets_a_free_name(tmp_path):
    scored = tmp_path / "scored.xlsx"
    ces_xl.score_workbook(make_workbook(tmp_path / "b.xlsx", SEED_001), scored)
    book = openpyxl.load_workbook(scored)
    book["Scores"].title = "Old scores"  # the user kept the old results under another name
    book.save(scored)
    ces_xl.score_workbook(scored, tmp_path / "again.xlsx")
    again = openpyxl.load_workbook(tmp_path / "again.xlsx")
    assert list(again["Old scores"].tables) == ["CES_Scores"]
    assert list(again["Scores"].tables) == ["CES_Scores2"]


ODD_TEXT = ["bell\x07here", "\r=3+3", "line1\nline2", "x_x0041_y", "tab\tin"]


def test_control_characters_and_escape_lookalikes_round_trip_exactly(tmp_path, soffice):
    # Written the way Excel stores them (_xHHHH_), so readers that follow the format
    # (calamine, LibreOffice, Excel) get back exactly the text the engine had.
    activity = pd.DataFrame({"ID": ODD_TEXT, "Visits": range(len(ODD_TEXT))})
    result = ces_xl.score(activity, ces_xl.Model([ces_xl.Metric("Visits", 1)]))
    out = tmp_path / "out.xlsx"
    make_workbook(tmp_path / "b.xlsx", {"Activity": [["ID"]], "Weights": [["Metric", "Weight"]]})
    write_results(tmp_path / "b.xlsx", out, result_sheets(result))
    ids = python_calamine.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Scores").to_python()
    assert [row[0] for row in ids[1:]] == ODD_TEXT
    lo = libreoffice_export(soffice, out, tmp_path / "lo")["Scores"]
    assert [row[0] for row in lo[1:]] == ODD_TEXT


def test_sum_method_says_what_it_does_not_use(tmp_path):
    source = make_workbook(tmp_path / "b.xlsx", {
        "Activity": [["ID", "Visits", "Tickets"], ["A", 3, 2]],
        "Weights": [["Metric", "Weight", "Direction"], ["Visits", 1, None], ["Tickets", 2, "lower"]],
        "Settings": [["Setting", "Value"], ["Method", "sum"]]})
    result = ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    assert result.scores.loc[0, "Score"] == 3 + 4
    assert any("sum method does not use Direction 'lower'" in n and "negative weight" in n for n in result.notes)


def offset_book(path: Path, count_cell_value) -> Path:
    """Activity laid out from C3 (two blank rows and columns before it), as people do when
    they leave room for a title."""
    book = openpyxl.Workbook()
    activity = book.active
    activity.title = "Activity"
    for r, row in enumerate(SEED_001["Activity"] + [["C-2", 1, count_cell_value, 0]], start=3):
        for c, value in enumerate(row, start=3):
            activity.cell(row=r, column=c, value=value)
    weights = book.create_sheet("Weights")
    for row in SEED_001["Weights"]:
        weights.append(row)
    book.save(path)
    return path


def test_a_table_that_starts_below_and_right_of_a1(tmp_path):
    source = offset_book(tmp_path / "b.xlsx", 4)
    result = ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    assert dict(zip(result.scores.iloc[:, 0], result.scores["Score"])) == {"C-1": 30, "C-2": 1 + 4 * 2}


def test_an_error_value_in_an_offset_table_is_named_by_its_cell(tmp_path):
    source = offset_book(tmp_path / "b.xlsx", "#DIV/0!")  # openpyxl stores it as an error cell
    done = run_cli("score", source)
    assert done.returncode == 1
    # The second customer is on row 5 (header on 3), Email Click in column E.
    assert "Activity!E5: the count is the Excel error #DIV/0!" in done.stderr


def test_summary_charts_show_bands_in_their_colours_and_order(tmp_path):
    """The band chart: one column per band, in the band table's order, each in its band's colour
    (red through yellow to green); the segment chart: the band mix of each segment, stacked to
    100%, one series per band in the same colours."""
    import re
    import zipfile

    out = tmp_path / "scored.xlsx"
    ces_xl.score_workbook(TEMPLATE, out)
    with zipfile.ZipFile(out) as package:
        charts = sorted(n for n in package.namelist() if n.startswith("xl/charts/chart"))
        bands_xml, segments_xml = (package.read(n).decode() for n in charts[-2:])
    assert '<c:barDir val="col"/>' in bands_xml and '<c:grouping val="clustered"/>' in bands_xml
    points = re.findall(r'<c:dPt><c:idx val="(\d)"/>.*?<a:srgbClr val="(\w{6})"/>', bands_xml)
    assert points == [("0", "F8696B"), ("1", "FFEB84"), ("2", "63BE7B")]  # Excel's red, yellow, green
    assert "Summary'!$E$" in bands_xml  # the Customers column of the band table
    assert '<c:grouping val="percentStacked"/>' in segments_xml
    assert re.findall(r'<c:ser>.*?<a:srgbClr val="(\w{6})"/>', segments_xml) == ["F8696B", "FFEB84", "63BE7B"]
    segments = ces_xl.score_workbook(TEMPLATE, tmp_path / "again.xlsx").segments
    shares = openpyxl.load_workbook(out)["Summary"]
    header_row = next(r for r in shares.iter_rows() if r[0].value == "Segment")
    names = [c.value for c in header_row]
    assert names[-3:] == [f"{b} (share)" for b in ("Very disengaged", "Somewhat engaged", "Very engaged")]
    first = shares[header_row[0].row + 1]
    by_hand = segments.iloc[0]
    assert first[names.index("Very engaged (share)")].value == pytest.approx(by_hand["Very engaged"] / by_hand["Customers"])


def test_result_sheets_print_one_page_wide_in_landscape(tmp_path):
    out = tmp_path / "scored.xlsx"
    ces_xl.score_workbook(TEMPLATE, out)
    book = openpyxl.load_workbook(out)
    for name in ("Scores", "Summary"):
        ws = book[name]
        assert ws.page_setup.orientation == "landscape", name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1, name
        assert ws.page_setup.fitToHeight == 0, name  # as many pages down as it takes


def test_the_scored_workbook_opens_on_summary_with_no_sheets_grouped(tmp_path):
    """The template opens on Instructions; scored, it opens on Summary, with Summary the only
    selected tab (two selected tabs would be grouped in Excel: typing in one types in both)."""
    import re
    import zipfile

    book = openpyxl.load_workbook(TEMPLATE)
    book.active = book.sheetnames.index("Activity")  # as if saved with Activity selected
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = ws.title == "Activity"
    source = tmp_path / "saved-on-activity.xlsx"
    book.save(source)
    for run in range(2):  # a re-run in place replaces the sheets and keeps it so
        out = tmp_path / "scored.xlsx"
        if run:
            ces_xl.score_workbook(out, in_place=True)
        else:
            ces_xl.score_workbook(source, out)
        scored = openpyxl.load_workbook(out)
        assert scored.active.title == "Summary"
        assert [ws.title for ws in scored.worksheets if ws.sheet_view.tabSelected] == ["Summary"]
        with zipfile.ZipFile(out) as package:
            workbook = package.read("xl/workbook.xml").decode()
        titles = re.findall(r'<definedName name="_xlnm.Print_Titles" localSheetId="(\d+)">([^<]*)<', workbook)
        assert titles == [(str(scored.sheetnames.index(name)), f"{name}!$1:$1") for name in ("Scores", "Actions", "History")]
    assert scored["Scores"].print_title_rows == "$1:$1"  # openpyxl reads the header row as the print titles


def test_a_deselected_sheet_is_the_same_sheet_but_for_its_tab(tmp_path):
    import zipfile

    book = openpyxl.load_workbook(TEMPLATE)
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = ws.title == "Activity"
    source = tmp_path / "selected.xlsx"
    book.save(source)
    out = tmp_path / "scored.xlsx"
    ces_xl.score_workbook(source, out)
    part = "xl/worksheets/sheet2.xml"  # openpyxl writes the sheets in order: Activity is the second
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(out) as after:
        old, new = before.read(part), after.read(part)
        assert after.testzip() is None
    assert b'tabSelected="1"' in old and b"tabSelected" not in new
    assert old.replace(b' tabSelected="1"', b"", 1) == new
