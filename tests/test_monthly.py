"""The monthly cycle: score, annotate the Scores sheet, come back next month. Nothing the analyst
typed is lost: their columns follow each customer ID into the new Scores sheet, and the notes of
customers no longer scored wait on the Kept notes sheet until those customers come back."""
from __future__ import annotations

import datetime
from pathlib import Path

import openpyxl
import pytest

import ces_xl

from .conftest import make_workbook, run_cli

WEIGHTS = [["Metric", "Weight"], ["Visits", 1]]


def month(path: Path, customers: dict[str, int]) -> Path:
    rows = [["Customer", "Visits", "Owner"]] + [[c, v, "Dana"] for c, v in customers.items()]
    return make_workbook(path, {"Activity": rows, "Weights": WEIGHTS})


def annotate(path: Path, sheet: str, header_row: int, column: str, values: dict) -> None:
    """What an analyst does in Excel: a new column beside the results, typed by hand."""
    book = openpyxl.load_workbook(path)
    ws = book[sheet]
    col = ws.max_column + 1
    ws.cell(row=header_row, column=col, value=column)
    for row in range(header_row + 1, ws.max_row + 1):
        customer = ws.cell(row=row, column=1).value
        if customer in values:
            cell = ws.cell(row=row, column=col, value=values[customer])
            if isinstance(values[customer], str):
                cell.data_type = "s"  # typed as text (openpyxl would take "=..." for a formula)
    book.save(path)


def sheet_rows(path: Path, sheet: str, header_row: int = 1) -> list[dict]:
    ws = openpyxl.load_workbook(path)[sheet]
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def test_an_analysts_column_follows_each_customer_across_runs(tmp_path):
    out = tmp_path / "scored.xlsx"
    ces_xl.score_workbook(month(tmp_path / "oct.xlsx", {"C-1": 5, "C-2": 3, "C-3": 1}), out)
    called = datetime.datetime(2026, 11, 2)
    annotate(out, "Scores", 1, "Called?", {"C-1": "yes", "C-2": "left a message", "C-3": called})

    # November: C-2 has gone, C-4 is new, and the rows come in another order.
    nov = month(tmp_path / "nov.xlsx", {"C-4": 2, "C-3": 4, "C-1": 6})
    with pytest.raises(ces_xl.FileError, match="--force"):
        ces_xl.score_workbook(nov, out)
    result = ces_xl.score_workbook(nov, out, force=True)
    scores = {r["Customer"]: r for r in sheet_rows(out, "Scores")}
    assert {c: r["Called?"] for c, r in scores.items()} == {"C-4": None, "C-3": called, "C-1": "yes"}
    assert scores["C-1"]["Score"] == 6 and scores["C-1"]["Owner"] == "Dana"
    assert sheet_rows(out, "Kept notes", header_row=3) == [{"Customer": "C-2", "Called?": "left a message"}]
    assert ("1 customer(s) with notes in Scores are no longer scored; their notes are on the Kept notes sheet"
            in result.notes)
    assert result.scores["Called?"].tolist() == [None, called.date(), "yes"]  # a date, as it was typed

    # December: C-2 is back, and so is its note; Kept notes is empty again.
    dec = month(tmp_path / "dec.xlsx", {"C-1": 1, "C-2": 9})
    done = run_cli("score", dec, "-o", out, "--force")
    assert done.returncode == 0, done.stderr
    assert {r["Customer"]: r["Called?"] for r in sheet_rows(out, "Scores")} == {"C-1": "yes", "C-2": "left a message"}
    assert sheet_rows(out, "Kept notes", header_row=3) == [{"Customer": "C-3", "Called?": called}]
    assert "no longer scored; their notes are on the Kept notes sheet" in done.stderr


def test_a_rerun_in_place_keeps_the_column(tmp_path):
    book = month(tmp_path / "book.xlsx", {"C-1": 5, "C-2": 3})
    ces_xl.score_workbook(book, in_place=True)
    annotate(book, "Scores", 1, "Next step", {"C-2": "renewal call"})
    # Next month's counts pasted over the Activity sheet, then scored in place again.
    edited = openpyxl.load_workbook(book)
    edited["Activity"]["B3"] = 8
    edited.save(book)
    done = run_cli("score", book, "--in-place", "-q")
    assert done.returncode == 0, done.stderr
    rows = {r["Customer"]: r for r in sheet_rows(book, "Scores")}
    assert rows["C-2"]["Next step"] == "renewal call" and rows["C-2"]["Score"] == 8
    assert rows["C-1"]["Next step"] is None
    assert "Kept notes" not in openpyxl.load_workbook(book).sheetnames  # nobody left, nothing kept


def test_no_column_of_ours_is_taken_for_the_analysts(tmp_path):
    """Result and carried columns of a previous run, even of a model since changed (a metric
    dropped), are ces-xl's: they are not carried as notes."""
    out = tmp_path / "scored.xlsx"
    two = make_workbook(tmp_path / "two.xlsx", {
        "Activity": [["Customer", "Visits", "Orders", "Owner"], ["C-1", 1, 2, "Dana"]],
        "Weights": [["Metric", "Weight"], ["Visits", 1], ["Orders", 1]]})
    ces_xl.score_workbook(two, out)
    one = make_workbook(tmp_path / "one.xlsx", {
        "Activity": [["Customer", "Visits", "Orders", "Owner"], ["C-1", 1, 2, "Dana"]],
        "Weights": [["Metric", "Weight"], ["Visits", 1]]})
    result = ces_xl.score_workbook(one, out, force=True)
    assert "Orders (points)" not in result.scores.columns and result.kept is None
    assert list(result.scores.columns) == ["Customer", "Score", "Band", "Rank", "Percentile", "Top driver",
                                           "To next band", "Fastest lift", "Visits (points)", "Orders", "Owner"]


def test_an_output_that_cannot_be_read_is_replaced_with_a_note(tmp_path):
    out = tmp_path / "scored.xlsx"
    out.write_bytes(b"not a workbook")
    result = ces_xl.score_workbook(month(tmp_path / "m.xlsx", {"C-1": 1}), out, force=True)
    assert any("could not be read, so they are not carried over" in n for n in result.notes)
    assert openpyxl.load_workbook(out)["Scores"]["A2"].value == "C-1"


def test_a_kept_notes_sheet_of_someone_elses_is_not_replaced(tmp_path):
    book = month(tmp_path / "book.xlsx", {"C-1": 5, "C-2": 1})
    ces_xl.score_workbook(book, in_place=True)
    annotate(book, "Scores", 1, "Called?", {"C-2": "yes"})
    edited = openpyxl.load_workbook(book)
    edited.create_sheet("Kept notes")["A1"] = "my own list"
    edited["Activity"].delete_rows(3)  # C-2 leaves: its note would go to Kept notes
    edited.save(book)
    before = book.read_bytes()
    with pytest.raises(ces_xl.CESError, match="'Kept notes' that ces-xl did not write"):
        ces_xl.score_workbook(book, in_place=True)
    assert book.read_bytes() == before


def test_the_button_carries_the_column_too(tmp_path):
    pytest.importorskip("xlwings")
    from ces_xl import button

    from .test_button import excel_text, remote_book, replay

    book = month(tmp_path / "book.xlsx", {"C-1": 5, "C-2": 3, "C-3": 2})
    ces_xl.score_workbook(book, in_place=True)
    annotate(book, "Scores", 1, "Called?", {"C-1": "yes", "C-3": "no answer"})
    edited = openpyxl.load_workbook(book)
    edited["Activity"].delete_rows(4)  # C-3 leaves
    edited.save(book)
    remote = remote_book(book)
    start = [s.name for s in remote.sheets]
    assert button.run(remote) is not None
    names, cells = replay(remote, start)
    scores = cells["Scores"]
    header = [excel_text(scores[(0, c)]) for c in range(len(scores)) if (0, c) in scores]
    column = header.index("Called?")
    assert [scores.get((r, column)) for r in (1, 2)] == ["'yes", None]  # text is written with Excel's apostrophe
    kept = cells["Kept notes"]
    assert [kept[(3, 0)], kept[(3, 1)]] == ["'C-3", "'no answer"]
    # The headless run on the same book writes the same cells.
    headless = ces_xl.score_workbook(book, tmp_path / "headless.xlsx")
    assert headless.scores["Called?"].tolist() == ["yes", None]


def test_libreoffice_reads_the_carried_column_and_the_kept_notes(tmp_path, soffice):
    from .conftest import libreoffice_export

    out = tmp_path / "scored.xlsx"
    ces_xl.score_workbook(month(tmp_path / "oct.xlsx", {"C-1": 5, "C-2": 3}), out)
    annotate(out, "Scores", 1, "Called?", {"C-1": "=not a formula", "C-2": "yes"})
    result = ces_xl.score_workbook(month(tmp_path / "nov.xlsx", {"C-1": 7}), out, force=True)
    sheets = libreoffice_export(soffice, out, tmp_path / "lo")
    header, *rows = sheets["Scores"]
    assert [(r[0], float(r[header.index("Score")]), r[header.index("Called?")]) for r in rows] == [
        ("C-1", 7.0, "=not a formula")]  # text typed by the analyst stays text
    kept = sheets["Kept notes"]
    assert kept[0][0] == "Notes kept for customers no longer scored" and kept[2:4] == [["Customer", "Called?"],
                                                                                     ["C-2", "yes"]]
    assert result.scores["Score"].tolist() == [7.0]
