"""Real exports (SPEC "Real exports and the monthly cycle"): title rows, a chosen ID column,
blank markers, totals rows, carried columns, and every problem reported in one run.

Every workbook is built here as a real .xlsx file; expected scores are worked by hand (weight
2 on Visits and 1 on Orders, the sum method, unless a test says otherwise)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import ces_xl

from .conftest import make_workbook, run_cli

WEIGHTS = [["Metric", "Weight"], ["Visits", 2], ["Orders", 1]]


def book(tmp_path: Path, activity, settings=None, weights=WEIGHTS, name="export.xlsx") -> Path:
    sheets = {"Activity": activity, "Weights": weights}
    if settings:
        sheets["Settings"] = [["Setting", "Value"], *settings]
    return make_workbook(tmp_path / name, sheets)


def scores(result) -> dict:
    frame = result.scores
    return dict(zip(frame.iloc[:, 0], frame["Score"]))


@pytest.mark.parametrize("label", ["Total", "Grand Total", "GRAND TOTAL:", "Subtotal", "Sub total", "Totals",
                                   "sum", "Sum:", " Total "])
def test_a_totals_row_is_left_out_with_a_note(tmp_path, label):
    rows = [["Customer", "Visits", "Orders"], ["C-1", 3, 1], ["C-2", 1, 0], [label, 4, 1]]
    result = ces_xl.score_workbook(book(tmp_path, rows), tmp_path / "out.xlsx")
    assert scores(result) == {"C-1": 7.0, "C-2": 2.0}
    [note] = [n for n in result.notes if "totals row" in n]
    assert note == f"1 totals row left out, not scored as customers: row 4 ({label.strip()!r})"
    done = run_cli("score", book(tmp_path, rows, name="again.xlsx"), "-o", tmp_path / "cli.xlsx")
    assert done.returncode == 0 and f"ces-xl: note: {note}" in done.stderr


def test_a_customer_named_like_a_total_but_longer_is_scored(tmp_path):
    rows = [["Customer", "Visits", "Orders"], ["Total Wine & More", 1, 1], ["Sum Corp", 2, 0]]
    result = ces_xl.score_workbook(book(tmp_path, rows), tmp_path / "out.xlsx")
    assert scores(result) == {"Total Wine & More": 3.0, "Sum Corp": 4.0}


def test_the_dataframe_api_leaves_totals_rows_out_too():
    frame = pd.DataFrame({"Customer": ["C-1", "Grand total"], "Visits": [3, 3], "Orders": [1, 1]})
    result = ces_xl.score(frame, ces_xl.Model([ces_xl.Metric("Visits", 2), ces_xl.Metric("Orders", 1)]))
    assert result.scores["Customer"].tolist() == ["C-1"]
    assert "1 totals row left out, not scored as customers: row 2 ('Grand total')" in result.notes


def test_bad_cells_in_several_rows_and_columns_are_all_named_in_one_run(tmp_path):
    rows = [["Customer", "Visits", "Orders"], ["C-1", "n/a", 1], ["C-2", 2, "-"], ["C-3", 3, 1],
            ["C-4", "lots", True]]
    source = book(tmp_path, rows)
    before = source.read_bytes()
    done = run_cli("score", source, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert [line.split(":")[2].strip() for line in lines] == ["Activity!B2", "Activity!B5", "Activity!C3",
                                                               "Activity!C5"]
    assert all(line.startswith("ces-xl: error: Activity!") for line in lines)
    assert "the count is 'n/a', not a number" in lines[0] and "list it under Blank values" in lines[0]
    assert "the count is TRUE/FALSE" in lines[3]
    assert not (tmp_path / "out.xlsx").exists() and source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["export.xlsx"]  # nothing half-written


def test_problems_in_every_contract_sheet_come_together(tmp_path):
    rows = [["Customer", "Visits", "Orders"], ["C-1", "ten", 1]]
    weights = [["Metric", "Weight"], ["Visits", "heavy"], ["Orders", 1]]
    source = make_workbook(tmp_path / "bad.xlsx", {
        "Activity": rows, "Weights": weights, "Settings": [["Methd", "sum"]],
        "Bands": [["Band", "From", "To"], ["Low", 0, "forty"], ["High", 41, 100]]})
    with pytest.raises(ces_xl.InputError) as caught:
        ces_xl.score_workbook(source, tmp_path / "out.xlsx")
    assert [p.where for p in caught.value.problems] == ["Settings!A1", "Weights!B2", "Bands!C2"]
    assert "unknown setting 'Methd' (did you mean 'Method'?)" in str(caught.value.problems[0])
    # Visits has no valid weight, so its column is not read; a bad Orders cell would be found:
    rows[1][2] = "x"
    again = make_workbook(tmp_path / "bad2.xlsx", {"Activity": rows, "Weights": weights})
    with pytest.raises(ces_xl.InputError) as caught:
        ces_xl.score_workbook(again, tmp_path / "out.xlsx")
    assert [p.where for p in caught.value.problems] == ["Weights!B2", "Activity!C2"]


def test_more_than_fifty_problems_are_cut_with_a_count(tmp_path):
    rows = [["Customer", "Visits", "Orders"]] + [[f"C-{i}", "x", 1] for i in range(60)]
    done = run_cli("score", book(tmp_path, rows), "-o", tmp_path / "out.xlsx")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 51
    assert lines[-1] == "ces-xl: error: ... and 10 more problems"


def test_blank_values_count_as_blank_cells(tmp_path):
    rows = [["Customer", "Visits", "Orders"], ["C-1", "n/a", 1], ["C-2", 2, " - "], ["C-3", "N/A", "NONE"]]
    zero = ces_xl.score_workbook(book(tmp_path, rows, [["Blank values", "n/a, -, none"]]), tmp_path / "z.xlsx")
    assert scores(zero) == {"C-1": 1.0, "C-2": 4.0, "C-3": 0.0}
    excluded = ces_xl.score_workbook(
        book(tmp_path, rows, [["Blank values", "n/a, -, none"], ["Missing values", "exclude"], ["Method", "index"]],
             weights=[["Metric", "Weight", "Target"], ["Visits", 2, 4], ["Orders", 1, 2]], name="ex.xlsx"),
        tmp_path / "ex-out.xlsx")
    # index over the weights present: C-1 has only Orders (1/2 of 2 -> 50), C-2 only Visits (2/4 -> 50)
    got = scores(excluded)
    assert got["C-1"] == 50.0 and got["C-2"] == 50.0 and pd.isna(got["C-3"])


def test_an_id_column_named_in_settings_below_title_rows(tmp_path):
    rows = [["CRM export: accounts, Q3"], ["generated 2026-10-01 by Salesforce"], [],
            ["Account Name", "Account ID", "Owner", "Visits", "Orders"],
            ["Acme", "A-100", "Dana", 3, 1], ["Globex", "A-200", "Eli", 0, 2]]
    result = ces_xl.score_workbook(book(tmp_path, rows, [["ID column", "account id"]]), tmp_path / "out.xlsx")
    assert result.scores.columns[0] == "Account ID"
    assert scores(result) == {"A-100": 7.0, "A-200": 2.0}
    assert list(result.scores.columns[-2:]) == ["Account Name", "Owner"]  # carried, in Activity order
    assert result.scores["Account Name"].tolist() == ["Acme", "Globex"]


def test_an_unknown_id_column_names_the_settings_cell_and_the_header_it_saw(tmp_path):
    rows = [["Report"], ["Account Name", "Acct ID", "Visits", "Orders"], ["Acme", "A-1", 1, 1]]
    with pytest.raises(ces_xl.InputError) as caught:
        ces_xl.score_workbook(book(tmp_path, rows, [["ID column", "Account ID"]]), tmp_path / "out.xlsx")
    error = caught.value
    assert error.where == "Settings!B2"
    assert error.problem == ("ID column 'Account ID' is not in the Activity header (row 2: 'Account Name', "
                             "'Acct ID', 'Visits', 'Orders') (did you mean 'Acct ID'?)")


def test_title_rows_above_a_header_found_by_its_metric_names(tmp_path):
    rows = [["Monthly activity"], [None, "exported from HubSpot"], ["Customer", "Visits", "Orders"], ["C-1", 1, 1]]
    assert scores(ces_xl.score_workbook(book(tmp_path, rows), tmp_path / "out.xlsx")) == {"C-1": 3.0}


def test_a_header_problem_quotes_the_row_it_looked_at(tmp_path):
    rows = [["Customer", "Visitz", "Orders"], ["C-1", 1, 1]]
    with pytest.raises(ces_xl.InputError) as caught:
        ces_xl.score_workbook(book(tmp_path, rows), tmp_path / "out.xlsx")
    assert caught.value.problem == ("metric 'Visits' has no column in the Activity header (row 1: 'Customer', "
                                    "'Visitz', 'Orders') (did you mean 'Visitz'?)")


def test_show_columns_default_and_explicit(tmp_path):
    rows = [["Customer", "Owner", "Visits", "Region", "Orders", "Segment"], ["C-1", "Dana", 1, "EU", 1, "Pro"]]
    default = ces_xl.score_workbook(book(tmp_path, rows), tmp_path / "d.xlsx").scores
    assert list(default.columns[-3:]) == ["Owner", "Region", "Segment"]
    chosen = ces_xl.score_workbook(book(tmp_path, rows, [["Show columns", "segment, OWNER"]], name="c.xlsx"),
                                   tmp_path / "c-out.xlsx").scores
    assert list(chosen.columns[-2:]) == ["Segment", "Owner"] and "Region" not in chosen.columns
    with pytest.raises(ces_xl.InputError) as caught:
        ces_xl.score_workbook(book(tmp_path, rows, [["Show columns", "Owner, Regoin"]], name="bad.xlsx"),
                              tmp_path / "bad-out.xlsx")
    assert caught.value.where == "Settings!B2"
    assert caught.value.problem == ("Show columns lists 'Regoin', but no Activity column is headed so "
                                    "(did you mean 'Region'?)")


def test_a_carried_column_named_like_a_result_column_is_renamed(tmp_path):
    rows = [["Customer", "Visits", "Orders", "Band"], ["C-1", 1, 1, "gold"]]
    frame = ces_xl.score_workbook(book(tmp_path, rows), tmp_path / "out.xlsx").scores
    assert frame["Band"].tolist() == ["Very disengaged"] and frame["Band (Activity)"].tolist() == ["gold"]


def test_bands_show_the_scores_they_really_hold(tmp_path):
    # 40.7 lies between the typed 0-40 and 41-75: it is in the second band, whose range says so.
    rows = [["Customer", "Visits"], ["C-1", 40.7], ["C-2", 40], ["C-3", 120]]
    weights = [["Metric", "Weight"], ["Visits", 1]]
    result = ces_xl.score_workbook(book(tmp_path, rows, weights=weights), tmp_path / "out.xlsx")
    assert result.scores["Band"].tolist() == ["Somewhat engaged", "Very disengaged", "Very engaged"]
    assert result.bands["Range"].tolist() == ["up to 40", "above 40 to 75", "above 75"]  # sum: no ends
    index = ces_xl.score(pd.DataFrame({"ID": ["a"], "X": [1]}), ces_xl.Model([ces_xl.Metric("X", 1, target=2)]))
    assert index.bands["Range"].tolist() == ["0 to 40", "above 40 to 75", "above 75 to 100"]
    custom = ces_xl.Model([ces_xl.Metric("X", 1, target=2)], bands=[ces_xl.Band("All", 0, 100)])
    assert ces_xl.score(pd.DataFrame({"ID": ["a"], "X": [1]}), custom).bands["Range"].tolist() == ["0 to 100"]
    done = run_cli("score", book(tmp_path, rows, weights=weights, name="cli.xlsx"), "-o", tmp_path / "cli-out.xlsx")
    assert "  Somewhat engaged  above 40 to 75        1  ( 33.3%)" in done.stdout.splitlines()


def test_a_totals_row_labelled_beside_an_empty_id_is_left_out(tmp_path):
    rows = [["Account Name", "Account ID", "Visits", "Orders"], ["Acme", "A-1", 3, 1], ["Grand Total", None, 3, 1]]
    result = ces_xl.score_workbook(book(tmp_path, rows, [["ID column", "Account ID"]]), tmp_path / "out.xlsx")
    assert scores(result) == {"A-1": 7.0}
    assert "1 totals row left out, not scored as customers: row 3 ('Grand Total')" in result.notes
    # A blank ID beside something that is not a total is still a problem.
    rows[2][0] = "Globex"
    with pytest.raises(ces_xl.InputError, match="the customer ID is blank"):
        ces_xl.score_workbook(book(tmp_path, rows, [["ID column", "Account ID"]], name="b.xlsx"), tmp_path / "b-out.xlsx")


def test_id_numbers_keep_their_format(tmp_path):
    import openpyxl

    rows = [["Customer", "Visits"], [123, 2], [4567, 1]]
    source = book(tmp_path, rows, weights=[["Metric", "Weight"], ["Visits", 1]])
    edited = openpyxl.load_workbook(source)
    for r in (2, 3):
        edited["Activity"].cell(row=r, column=1).number_format = "00000"
    edited.save(source)
    out = tmp_path / "out.xlsx"
    result = ces_xl.score_workbook(source, out)
    assert result.id_format == "00000"
    ids = [c for c in openpyxl.load_workbook(out)["Scores"]["A"][1:]]
    assert [(c.value, c.number_format) for c in ids] == [(123, "00000"), (4567, "00000")]


def test_id_numbers_show_as_they_did_in_libreoffice(tmp_path, soffice):
    import subprocess

    import openpyxl

    rows = [["Customer", "Visits"], [123, 2]]
    source = book(tmp_path, rows, weights=[["Metric", "Weight"], ["Visits", 1]])
    edited = openpyxl.load_workbook(source)
    edited["Activity"]["A2"].number_format = "00000"
    edited.save(source)
    out = tmp_path / "out.xlsx"
    ces_xl.score_workbook(source, out)
    # Exported as shown (formatted text), not as raw values: the ID's leading zeros are the point.
    done = subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'p').as_uri()}", "--headless",
                           "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true"
                           ",false,false,-1", "--outdir", str(tmp_path / "lo"), str(out)],
                          capture_output=True, text=True, timeout=180)
    shown = (tmp_path / "lo" / "out-Scores.csv").read_text().splitlines()
    assert shown[1].startswith("00123,"), (shown, done.stderr)


def test_the_button_shows_every_problem_in_one_message(tmp_path):
    pytest.importorskip("xlwings")
    from ces_xl import button

    from .test_button import remote_book

    rows = [["Customer", "Visits", "Orders"], ["C-1", "n/a", 1], ["C-2", 2, "-"], ["C-3", "lots", True]]
    remote = remote_book(book(tmp_path, rows))
    assert button.run(remote) is None
    actions = remote.json()["actions"]
    assert [a["func"] for a in actions] == ["alert"]  # one message, nothing written
    lines = actions[0]["args"][0].splitlines()
    assert lines[0] == "4 problems; nothing was written:"
    assert [line.split(":")[0] for line in lines[1:]] == ["Activity!B2", "Activity!B4", "Activity!C3", "Activity!C4"]
