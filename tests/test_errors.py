"""Bad workbooks through the CLI: one clear line naming the sheet/cell and the fix, a non-zero
exit, no traceback, no output file, and the input left exactly as it was."""
from __future__ import annotations

import copy
import datetime
import hashlib
from pathlib import Path

import pytest

from .conftest import SEED_001, ExcelErrorValue, make_workbook, run_cli

ACTIVITY = [["Customer", "Visits", "Email Click", "Purchase"],
            ["C-1", 10, 5, 2], ["C-2", 3, 0, 1], ["C-3", 0, 1, 0], ["C-4", 7, 2, 2]]
WEIGHTS = [["Metric", "Weight", "Target"], ["Visits", 0.5, 10], ["Email Click", 0.3, 5], ["Purchase", 0.2, 2]]


def book(**changes) -> dict:
    sheets = {"Activity": copy.deepcopy(ACTIVITY), "Weights": copy.deepcopy(WEIGHTS)}
    for name, rows in changes.items():
        if rows is None:
            sheets.pop(name)
        else:
            sheets[name] = rows
    return sheets


def edit(rows, r, c, value):
    rows = copy.deepcopy(rows)
    rows[r][c] = value
    return rows


CASES = {
    # A Weights metric with no Activity column, and the nearest header.
    "metric without column": (book(Weights=edit(WEIGHTS, 2, 0, "Email Clicks")),
                              ["Weights!A3", "'Email Clicks'", "did you mean 'Email Click'", "same"]),
    "non-numeric weight": (book(Weights=edit(WEIGHTS, 1, 1, "high")),
                           ["Weights!B2", "'high'", "not a number", "enter a number"]),
    "blank weight": (book(Weights=edit(WEIGHTS, 1, 1, None)), ["Weights!B2", "no weight"]),
    "all weights zero": (book(Weights=[["Metric", "Weight"], ["Visits", 0], ["Purchase", 0]]),
                         ["Weights!B2:B3", "every weight is 0", "at least one"]),
    "negative weight in index": (book(Weights=edit(WEIGHTS, 3, 1, -0.2)),
                                 ["Weights!B4", "negative", "Direction 'lower'"]),
    "target zero": (book(Weights=edit(WEIGHTS, 1, 2, 0)), ["Weights!C2", "above 0"]),
    "target negative": (book(Weights=edit(WEIGHTS, 2, 2, -5)), ["Weights!C3", "above 0"]),
    "target text": (book(Weights=edit(WEIGHTS, 2, 2, "ten")), ["Weights!C3", "'ten'", "not a number"]),
    "unknown normalization": (book(Weights=[["Metric", "Weight", "Target", "Normalization"],
                                            ["Visits", 1, 10, "logarithm"], ["Purchase", 1, 2, None]]),
                              ["Weights!D2", "'logarithm'", "did you mean 'log'", "cap, log, percentile or minmax"]),
    "unknown direction": (book(Weights=[["Metric", "Weight", "Target", "Direction"],
                                        ["Visits", 1, 10, "down"]]), ["Weights!D2", "'down'", "higher or lower"]),
    "cap without target": (book(Weights=[["Metric", "Weight", "Target"], ["Visits", 1, 10], ["Purchase", 1, None]]),
                           ["Weights!C3", "no target", "percentile or minmax"]),
    "missing Weight header": (book(Weights=[["Metric", "Wieght"], ["Visits", 1]]),
                              ["Weights!A1:B1", "no 'Weight' column", "rename 'Wieght' to 'Weight'"]),
    "duplicate metric": (book(Weights=[["Metric", "Weight"], ["Visits", 1], ["visits ", 2]]),
                         ["Weights!A3", "listed twice", "Weights!A2"]),
    "overlapping bands": (book(Bands=[["Band", "From", "To"], ["Low", 0, 50], ["High", 40, 100]]),
                          ["Bands!B3", "overlaps", "start it above 50"]),
    "unordered bands": (book(Bands=[["Band", "From", "To"], ["High", 51, 100], ["Low", 0, 50]]),
                        ["Bands!B3", "ascending"]),
    "band from above to": (book(Bands=[["Band", "From", "To"], ["Low", 60, 10]]),
                           ["Bands!B2", "From no larger than To"]),
    "band bound text": (book(Bands=[["Band", "From", "To"], ["Low", 0, "forty"]]),
                        ["Bands!C2", "'forty'", "not a number"]),
    "text count": (book(Activity=edit(ACTIVITY, 4, 2, "n/a")),
                   ["Activity!C5", "'n/a', not a number", "leave the cell blank"]),
    # calamine reads error cells as blanks; they must be reported, not counted as 0.
    "error value in a count": (book(Activity=edit(ACTIVITY, 3, 1, ExcelErrorValue("#DIV/0!"))),
                               ["Activity!B4", "Excel error #DIV/0!", "correct the formula"]),
    "error value as an ID": (book(Activity=edit(ACTIVITY, 2, 0, ExcelErrorValue("#N/A"))),
                             ["Activity!A3", "customer ID is the Excel error #N/A"]),
    "error value as a weight": (book(Weights=edit(WEIGHTS, 2, 1, ExcelErrorValue("#REF!"))),
                                ["Weights!B3", "weight #REF! of metric 'Email Click' is not a number"]),
    "date as a count": (book(Activity=edit(ACTIVITY, 1, 3, datetime.date(2024, 5, 1))),
                        ["Activity!D2", "the count is a date"]),
    "huge count": (book(Activity=edit(ACTIVITY, 2, 1, 1e308)), ["Activity!B3", "too large", "thousands"]),
    "nan text count": (book(Activity=edit(ACTIVITY, 2, 2, "NaN")), ["Activity!C3", "'NaN', not a number"]),
    "infinite text count": (book(Activity=edit(ACTIVITY, 3, 3, "inf")), ["Activity!D4", "infinite"]),
    "TRUE as a count": (book(Activity=edit(ACTIVITY, 1, 1, True)), ["Activity!B2", "TRUE/FALSE"]),
    "empty Activity": (book(Activity=[]), ["Activity: the sheet is empty"]),
    "duplicate metric header": (book(Activity=[["Customer", "Visits", "visits", "Email Click", "Purchase"],
                                               ["C-1", 1, 2, 3, 4]]),
                                ["metric 'Visits' matches 2 columns", "Activity!B1", "Activity!C1"]),
    "blank metric name": (book(Weights=edit(WEIGHTS, 2, 0, None)), ["Weights!A3", "no metric name"]),
    "duplicate IDs": (book(Activity=ACTIVITY + [["C-2", 1, 1, 1], ["C-4", 0, 0, 0]]),
                      ["duplicate customer IDs", "'C-2' (rows 3, 6)", "'C-4' (rows 5, 7)"]),
    "blank ID header": (book(Activity=edit(ACTIVITY, 0, 0, None)),
                        ["Activity!A1", "customer ID column has no header", "Customer ID"]),
    "blank ID": (book(Activity=edit(ACTIVITY, 2, 0, None)), ["Activity!A3", "the customer ID is blank"]),
    "no Weights sheet": (book(Weights=None), ["no 'Weights' sheet", "it has: Activity"]),
    "no Activity sheet": (book(Activity=None, Sheet1=ACTIVITY), ["no 'Activity' sheet", "Sheet1"]),
    "misspelt sheet": (book(Activity=None, Activty=ACTIVITY), ["no 'Activity' sheet",
                                                               "rename sheet 'Activty' to 'Activity'"]),
    "header only": (book(Activity=ACTIVITY[:1]), ["Activity", "no customer rows"]),
    "user's own Summary sheet": (book(Summary=[["My notes"], ["keep me"]]),
                                 ["Summary: the workbook already has a sheet 'Summary' that ces-xl did not write",
                                  "rename that sheet"]),
    "user's own Scores sheet": (book(scores=[["Name", "Score"], ["Ann", 3]]),
                                ["scores: the workbook already has a sheet 'scores'", "rename"]),
    "unknown setting": (book(Settings=[["Setting", "Value"], ["Methd", "sum"]]),
                        ["Settings!A2", "'Methd'", "did you mean 'Method'"]),
    "unknown method": (book(Settings=[["Setting", "Value"], ["Method", "weighted"]]),
                       ["Settings!B2", "unknown method 'weighted'", "sum, index or auto"]),
    "unknown missing policy": (book(Settings=[["Setting", "Value"], ["Missing values", "mean"]]),
                               ["Settings!B2", "'mean'", "zero or exclude"]),
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", list(CASES))
def test_bad_workbook_gives_one_clear_line_and_no_output(tmp_path, name):
    sheets, words = CASES[name]
    source = make_workbook(tmp_path / "in.xlsx", sheets)
    before = sha(source)
    done = run_cli("score", source)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("ces-xl: error: ")
    assert "Traceback" not in done.stderr and done.stdout == ""
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xlsx"]  # no output, no temp file
    assert sha(source) == before


def test_the_good_book_behind_those_cases_scores(tmp_path):
    source = make_workbook(tmp_path / "in.xlsx", book())
    done = run_cli("score", source)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "in-scored.xlsx").exists()


@pytest.mark.parametrize("args, words", [
    (["score", "{dir}/missing.xlsx"], ["missing.xlsx", "no such file"]),
    (["score", "{dir}"], ["folder, not a workbook"]),
    (["score", "{dir}/old.xls"], ["'.xls' files are not supported", "save it as"]),
    (["score", "{dir}/in.xlsx", "-o", "{dir}/nowhere/out.xlsx"], ["nowhere", "output folder does not exist"]),
    (["score", "{dir}/in.xlsx", "-o", "{dir}"], ["output path is a folder"]),
    (["score", "{dir}/in.xlsx", "-o", "{dir}/in.xlsx"], ["would overwrite the input", "--in-place"]),
    (["score", "{dir}/in.xlsx", "-o", "{dir}/out.csv"], ["must be an .xlsx", ".xlsx"]),
    (["score", "{dir}/in.xlsx", "-o", "{dir}/o.xlsx", "--in-place"], ["--in-place", "not both"]),
    (["score", "{dir}/notzip.xlsx"], ["not a valid Excel workbook"]),
])
def test_bad_paths_and_options(tmp_path, args, words):
    make_workbook(tmp_path / "in.xlsx", SEED_001)
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0 not really")
    (tmp_path / "notzip.xlsx").write_text("Customer,Visits\nC-1,3\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    done = run_cli(*[a.format(dir=tmp_path) for a in args])
    assert done.returncode != 0
    line = done.stderr.strip()
    assert "\n" not in line and line.startswith("ces-xl: error: ") and "Traceback" not in line
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_usage_errors_are_one_line_with_exit_2(tmp_path):
    for args in (["score"], ["score", "x.xlsx", "--bogus"], ["frobnicate"]):
        done = run_cli(*args)
        assert done.returncode == 2, args
        line = done.stderr.strip()
        assert "\n" not in line and line.startswith("ces-xl: error: ") and "--help" in line, line


@pytest.mark.parametrize("name", list(CASES))
def test_bad_workbook_through_the_python_api(tmp_path, name):
    import ces_xl

    sheets, words = CASES[name]
    source = make_workbook(tmp_path / "in.xlsx", sheets)
    with pytest.raises(ces_xl.CESError) as error:
        ces_xl.score_workbook(source)
    for word in words:
        assert word in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xlsx"]


def test_a_workbook_open_in_excel_is_not_replaced_in_place(tmp_path):
    source = make_workbook(tmp_path / "book.xlsx", SEED_001)
    (tmp_path / "~$book.xlsx").write_bytes(b"owner")  # what Excel leaves while the book is open
    before = sha(source)
    done = run_cli("score", source, "--in-place")
    assert done.returncode == 4 and "open in Excel" in done.stderr and "close it" in done.stderr
    assert sha(source) == before
    assert run_cli("score", source, "-o", tmp_path / "copy.xlsx").returncode == 0  # a copy is fine


def test_an_unwritable_output_folder(tmp_path, monkeypatch):
    import os

    import ces_xl

    source = make_workbook(tmp_path / "book.xlsx", SEED_001)
    folder = tmp_path / "readonly"
    folder.mkdir()
    real_access = os.access
    # Tests run as root in CI, where permission bits do not stop writes; ask the check itself.
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == folder else real_access(p, mode))
    with pytest.raises(ces_xl.CESError, match="output folder is not writable"):
        ces_xl.score_workbook(source, folder / "out.xlsx")
    assert list(folder.iterdir()) == []


def test_negative_counts_are_scored_with_a_warning(tmp_path):
    source = make_workbook(tmp_path / "in.xlsx", book(Activity=edit(ACTIVITY, 1, 1, -4)))
    done = run_cli("score", source)
    assert done.returncode == 0
    assert "ces-xl: note: metric 'Visits': 1 negative value(s) score 0 under cap" in done.stderr


def test_names_longer_than_an_excel_table_header_are_refused(tmp_path):
    long_name = "Visits " + "x" * 250
    source = make_workbook(tmp_path / "b.xlsx", {
        "Activity": [["ID", long_name], ["A", 1]], "Weights": [["Metric", "Weight"], [long_name, 1]]})
    done = run_cli("score", source)
    assert done.returncode == 1 and "Weights!A2: metric name 'Visits xxxxxxxxxxxxx...' is 257 characters" in done.stderr
    assert "at most 246 characters" in done.stderr
    source = make_workbook(tmp_path / "c.xlsx", {
        "Activity": [["I" * 300, "Visits"], ["A", 1]], "Weights": [["Metric", "Weight"], ["Visits", 1]]})
    done = run_cli("score", source)
    assert done.returncode == 1 and "Activity!A1: the customer ID header is 300 characters long" in done.stderr
