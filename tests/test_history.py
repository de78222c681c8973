"""History, trend and explained change (SPEC "History, trend and explained change"), worked by hand.

The sum method throughout (Visits x 1 + Orders x 10) and the default bands (up to 40 Very
disengaged, above 40 to 75 Somewhat engaged, above 75 Very engaged), so every score, change and
driver below is arithmetic on the counts in the test."""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ces_xl
from ces_xl.core import history as trend
from ces_xl.core.history import Snapshot

from .conftest import libreoffice_export, libreoffice_resave, make_workbook, run_cli

WEIGHTS = [["Metric", "Weight"], ["Visits", 1], ["Orders", 10]]
VD, SE, VE = "Very disengaged", "Somewhat engaged", "Very engaged"


def month_book(path: Path, as_of: dt.date, counts: dict, weights=WEIGHTS) -> Path:
    """The book an analyst keeps: this month's counts pasted over Activity, As of set."""
    if path.exists():
        book = openpyxl.load_workbook(path)
        for name in ("Activity", "Settings", "Weights"):
            del book[name]
        sheets = {}
    else:
        book = None
    rows = [["Customer", "Visits", "Orders"]] + [[c, v, o] for c, (v, o) in counts.items()]
    sheets = {"Activity": rows, "Weights": weights, "Settings": [["As of", as_of]]}
    if book is None:
        return make_workbook(path, sheets)
    for position, (name, rows) in enumerate(sheets.items()):
        ws = book.create_sheet(name, position)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def rows_of(path: Path, sheet: str) -> list[dict]:
    ws = openpyxl.load_workbook(path)[sheet]
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], row)) for row in values[1:]]


def test_three_monthly_snapshots_with_their_changes_and_drivers(tmp_path):
    book = tmp_path / "book.xlsx"
    month_book(book, dt.date(2026, 9, 30), {"C-1": (30, 5), "C-2": (5, 0)})
    first = ces_xl.score_workbook(book, in_place=True)
    assert "Change" not in first.scores.columns  # nothing to compare with yet

    month_book(book, dt.date(2026, 10, 31), {"C-1": (4, 1), "C-2": (5, 4), "C-3": (1, 0)})
    second = ces_xl.score_workbook(book, in_place=True)
    s = second.scores.set_index("Customer")
    # C-1: 80 -> 14 (Visits 30 -> 4: -26 points; Orders 5 -> 1: -40 points); C-2: 5 -> 45; C-3 is new.
    assert s["Previous score"].tolist()[:2] == [80, 5] and np.isnan(s.loc["C-3", "Previous score"])
    assert s["Change"].tolist()[:2] == [-66, 40]
    assert s["Previous band"].tolist() == [VE, VD, None]
    assert s["Change driver"].tolist() == ["Orders -40.0", "Orders +40.0", None]
    assert list(s.columns[s.columns.get_loc("Top driver") + 1:][:4]) == ["Previous score", "Change", "Previous band",
                                                                       "Change driver"]

    month_book(book, dt.date(2026, 11, 30), {"C-1": (4, 1), "C-2": (6, 4), "C-3": (0, 0)})
    third = ces_xl.score_workbook(book, in_place=True)
    s = third.scores.set_index("Customer")
    assert s["Change"].tolist() == [0, 1, -1]
    assert s["Change driver"].tolist() == [None, "Visits +1.0", "Visits -1.0"]
    history = rows_of(book, "History")
    assert [(r["As of"].date(), r["Customer"], r["Score"], r["Band"]) for r in history] == [
        (dt.date(2026, 9, 30), "C-1", 80, VE), (dt.date(2026, 9, 30), "C-2", 5, VD),
        (dt.date(2026, 10, 31), "C-1", 14, VD), (dt.date(2026, 10, 31), "C-2", 45, SE),
        (dt.date(2026, 10, 31), "C-3", 1, VD),
        (dt.date(2026, 11, 30), "C-1", 14, VD), (dt.date(2026, 11, 30), "C-2", 46, SE),
        (dt.date(2026, 11, 30), "C-3", 0, VD)]
    assert [r["Visits"] for r in history] == [30, 5, 4, 5, 1, 4, 6, 0]
    assert len({r["Model"] for r in history}) == 1 and len(history[0]["Model"]) == 12

    # The same as-of date again: the snapshot is replaced, not added (a re-run is idempotent).
    again = ces_xl.score_workbook(book, in_place=True)
    assert rows_of(book, "History") == history
    assert again.scores["Change"].tolist() == [0, 1, -1]
    movement = again.band_movement.set_index("Previous band")
    assert movement.loc[VD, VD] == 2 and movement.loc[SE, SE] == 1 and movement.values.sum() == 3


def test_a_model_edit_is_not_taken_for_the_customers_doing(tmp_path):
    book = tmp_path / "book.xlsx"
    month_book(book, dt.date(2026, 10, 31), {"C-1": (30, 5)})
    ces_xl.score_workbook(book, in_place=True)                        # 30 + 50 = 80
    lighter = [["Metric", "Weight"], ["Visits", 1], ["Orders", 5]]
    month_book(book, dt.date(2026, 11, 30), {"C-1": (20, 5)}, weights=lighter)
    result = ces_xl.score_workbook(book, in_place=True)                # 20 + 25 = 45
    row = result.scores.iloc[0]
    # The old counts under the new model: 30 + 25 = 55. The customer did 10 points less (from 55
    # to 45); the weight edit took 25 (from 80 to 55). Together: the change, -35.
    assert row["Change"] == -35 and row["From activity"] == -10 and row["From model"] == -25
    assert row["Change driver"] == "Visits -10.0"
    assert any("the model changed since 2026-10-31" in n for n in result.notes)


def test_snapshots_from_events_step_back_by_calendar_months(tmp_path):
    events = [["Customer", "Event", "Date"], ["C-1", "Visits", dt.date(2026, 9, 15)],
              ["C-1", "Visits", dt.date(2026, 10, 20)], ["C-1", "Visits", dt.date(2026, 11, 25)],
              ["C-1", "Orders", dt.date(2026, 11, 1)], ["C-2", "Visits", dt.date(2026, 10, 31)]]
    settings = [["As of", dt.date(2026, 11, 30)], ["History", 2], ["Every", "month"]]
    book = make_workbook(tmp_path / "e.xlsx", {"Events": events, "Weights": WEIGHTS, "Settings": settings})
    out = tmp_path / "out.xlsx"
    result = ces_xl.score_workbook(book, out)
    # Snapshots on 2026-09-30 and 2026-10-30 (30 November less one month), then 30 November.
    assert [s.as_of for s in result.history] == [46295, 46325, 46356]
    s = result.scores.set_index("Customer")
    assert s["Score"].tolist() == [13, 1]
    # C-1 had 2 visits by 30 October: +1 visit and +1 order since. C-2's first event came after 30 October.
    assert s.loc["C-1", "Previous score"] == 2 and s.loc["C-1", "Change"] == 11
    assert s.loc["C-1", "Change driver"] == "Orders +10.0" and np.isnan(s.loc["C-2", "Previous score"])
    history = rows_of(out, "History")
    assert [(r["As of"].date().isoformat(), r["Customer"], r["Score"]) for r in history] == [
        ("2026-09-30", "C-1", 1), ("2026-10-30", "C-1", 2), ("2026-11-30", "C-1", 13), ("2026-11-30", "C-2", 1)]
    mix = result.band_mix
    assert [d.isoformat() for d in mix["As of"]] == ["2026-09-30", "2026-10-30", "2026-11-30"]
    assert mix[VD].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("edit, where, words", [
    (lambda ws: ws.__setitem__("C3", "lots"), "History!C3", "the count is 'lots', not a number"),
    (lambda ws: ws.__setitem__("A2", "someday"), "History!A2", "the date is 'someday', not a date"),
    (lambda ws: ws.__setitem__("D1", "Grade"), "History!A1:", "no 'Band' column in the header row"),
])
def test_a_history_sheet_edited_into_nonsense_is_one_clear_line(tmp_path, edit, where, words):
    book = tmp_path / "book.xlsx"
    month_book(book, dt.date(2026, 10, 31), {"C-1": (30, 5), "C-2": (1, 1)})
    ces_xl.score_workbook(book, in_place=True)
    edited = openpyxl.load_workbook(book)
    edit(edited["History"])
    edited.save(book)
    before = book.read_bytes()
    done = run_cli("score", book, "--in-place")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"ces-xl: error: {where}") and words in done.stderr
    assert book.read_bytes() == before


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.data())
def test_point_changes_and_the_model_part_add_up_to_the_change(n, m, data):
    counts = st.lists(st.lists(st.integers(0, 50), min_size=m, max_size=m), min_size=n, max_size=n)
    norms = [data.draw(st.sampled_from(["cap", "log", "percentile", "minmax"])) for _ in range(m)]
    metrics = lambda w: [ces_xl.Metric(f"M{i}", w[i], target=5 if norms[i] in ("cap", "log") else None,  # noqa: E731
                                       normalization=norms[i]) for i in range(m)]
    before_w = data.draw(st.lists(st.integers(1, 9), min_size=m, max_size=m))
    after_w = data.draw(st.sampled_from([before_w, data.draw(st.lists(st.integers(1, 9), min_size=m, max_size=m))]))
    then_model, now_model = ces_xl.Model(metrics(before_w)), ces_xl.Model(metrics(after_w))
    ids = np.array([f"C{i}" for i in range(n)], dtype=object)
    then = np.array(data.draw(counts), dtype=float)
    now = np.array(data.draw(counts), dtype=float)
    then_scores, _ = trend.rescorer(then_model)(then)
    previous = Snapshot(1, ids, then_scores, np.full(n, "", dtype=object), then, then_model.fingerprint())
    scores, points = trend.rescorer(now_model)(now)
    change = trend.explain(ids, scores, points, now_model, previous, trend.rescorer(now_model))
    model_part = 0 if change.from_model is None else change.from_model
    np.testing.assert_allclose(change.points.sum(axis=1) + model_part, change.change, atol=1e-8)
    assert (change.from_model is None) == (before_w == after_w)


def test_libreoffice_opens_the_trend_and_reads_the_engines_numbers(tmp_path, soffice):
    book = tmp_path / "book.xlsx"
    month_book(book, dt.date(2026, 10, 31), {"C-1": (30, 5), "C-2": (5, 0)})
    ces_xl.score_workbook(book, in_place=True)
    month_book(book, dt.date(2026, 11, 30), {"C-1": (4, 1), "C-2": (5, 4)})
    result = ces_xl.score_workbook(book, in_place=True)
    sheets = libreoffice_export(soffice, book, tmp_path / "lo")
    header, *rows = sheets["Scores"]
    got = {r[0]: (float(r[header.index("Change")]), r[header.index("Change driver")]) for r in rows}
    assert got == {"C-1": (-66.0, "Orders -40.0"), "C-2": (40.0, "Orders +40.0")}
    assert len(sheets["History"]) == 1 + 4
    summary = sheets["Summary"]
    trend_at = next(i for i, r in enumerate(summary) if r and r[0] == "Band mix over time")
    assert summary[trend_at + 1][:4] == ["As of", VD, SE, VE]
    shown = [float(x[:-1]) / 100 if x.endswith("%") else float(x) for x in summary[trend_at + 3][1:4]]
    assert shown == pytest.approx(list(result.band_mix.iloc[1, 1:4]))
    # LibreOffice read the line chart: saved again by LibreOffice's own writer, it is still a line
    # chart of the three bands over the band mix's dates on the Summary.
    first = trend_at + 3  # 1-based: the title, the header, then the dates from this row
    for path in (book, libreoffice_resave(soffice, book, tmp_path / "resaved")):
        with zipfile.ZipFile(path) as package:
            charts = [package.read(n).decode() for n in package.namelist() if n.startswith("xl/charts/chart")]
        [line] = [c for c in charts if re.search(r"<c:lineChart>", c)]
        refs = [r.replace("'", "") for r in re.findall(r"<c:f>([^<]*)</c:f>", line)]
        assert line.count("<c:ser>") == 3, path
        assert sorted({r for r in refs if r.endswith(f"${first + 1}")}) == [
            f"Summary!${c}${first}:${c}${first + 1}" for c in "ABCD"], (path, refs)


def test_the_button_scores_events_and_history_like_the_headless_run(tmp_path):
    pytest.importorskip("xlwings")
    from ces_xl import button

    from .test_button import remote_book

    events = [["Customer", "Event", "Date", "Count"], ["C-1", "Visits", dt.datetime(2026, 11, 2, 9, 0), 2],
              ["C-1", "Orders", dt.date(2026, 10, 15), 1], ["C-2", "Visits", "2026-11-29", None]]
    settings = [["As of", dt.date(2026, 11, 30)], ["Window", 60], ["Half-life", 30], ["History", 1]]
    book = make_workbook(tmp_path / "e.xlsx", {"Events": events, "Weights": WEIGHTS, "Settings": settings})
    headless = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    pressed = button.run(remote_book(book))
    for column in ("Score", "Previous score", "Change", "Change driver"):
        assert pressed.scores[column].tolist() == pytest.approx(headless.scores[column].tolist(), nan_ok=True) \
            if column != "Change driver" else pressed.scores[column].tolist() == headless.scores[column].tolist()
    # By hand: C-1 has 2 visits 28 days ago and an order 46 days ago: 2 x 0.5**(28/30) + 10 x 0.5**(46/30).
    assert headless.scores["Score"].iloc[0] == pytest.approx(2 * 0.5 ** (28 / 30) + 10 * 0.5 ** (46 / 30))


def test_a_history_sheet_of_the_analysts_own_is_refused_with_the_fix(tmp_path):
    book = make_workbook(tmp_path / "b.xlsx", {
        "Activity": [["Customer", "Visits", "Orders"], ["C-1", 1, 1]], "Weights": WEIGHTS,
        "History": [["Year", "Revenue"], [2025, 1000]]})
    with pytest.raises(ces_xl.InputError) as caught:
        ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    assert caught.value.problem.startswith("no 'As of' column in the header row (found: Year, Revenue)")
    assert "if it is a sheet of your own, rename it" in caught.value.fix


def test_a_rerun_into_the_same_output_keeps_its_history(tmp_path):
    # The analyst keeps the data book and writes the results to scored.xlsx, replacing it monthly.
    book, scored = tmp_path / "book.xlsx", tmp_path / "scored.xlsx"
    month_book(book, dt.date(2026, 10, 31), {"C-1": (30, 5), "C-2": (5, 0)})
    assert run_cli("score", book, "-o", scored).returncode == 0
    book.unlink()
    month_book(book, dt.date(2026, 11, 30), {"C-1": (4, 1), "C-2": (5, 4)})
    done = run_cli("score", book, "-o", scored, "--force")
    assert done.returncode == 0, done.stderr
    history = rows_of(scored, "History")
    assert [(r["As of"].date().isoformat(), r["Customer"], r["Score"]) for r in history] == [
        ("2026-10-31", "C-1", 80), ("2026-10-31", "C-2", 5), ("2026-11-30", "C-1", 14), ("2026-11-30", "C-2", 45)]
    scores = {r["Customer"]: (r["Previous score"], r["Change"]) for r in rows_of(scored, "Scores")}
    assert scores == {"C-1": (80, -66), "C-2": (5, 40)}
    assert "History" not in openpyxl.load_workbook(book).sheetnames  # the data book is left as it was


def test_a_broken_history_in_the_output_being_replaced_names_that_file(tmp_path):
    book, scored = tmp_path / "book.xlsx", tmp_path / "scored.xlsx"
    month_book(book, dt.date(2026, 10, 31), {"C-1": (30, 5)})
    ces_xl.score_workbook(book, scored)
    edited = openpyxl.load_workbook(scored)
    edited["History"]["C2"] = "lots"
    edited.save(scored)
    before = scored.read_bytes()
    done = run_cli("score", book, "-o", scored, "--force")
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("ces-xl: error: '[scored.xlsx]History'!C2: the count is 'lots', not a number")
    assert scored.read_bytes() == before


def test_window_and_half_life_without_events_are_no_change_of_model(tmp_path):
    book = tmp_path / "book.xlsx"
    month_book(book, dt.date(2026, 10, 31), {"C-1": (30, 5)})
    ces_xl.score_workbook(book, in_place=True)
    edited = openpyxl.load_workbook(book)
    edited["Settings"].append(["Window", 90])
    edited["Settings"].append(["Half-life", 30])
    edited["Settings"]["B1"] = dt.date(2026, 11, 30)
    edited.save(book)
    result = ces_xl.score_workbook(book, in_place=True)
    assert "From model" not in result.scores.columns and result.scores["Change"].tolist() == [0]
    assert any("Window and Half-life count events, and there is no Events sheet" in n for n in result.notes)


def test_customers_whose_events_all_come_after_as_of_are_not_yet_scored(tmp_path):
    events = [["Customer", "Event", "Date"], ["C-1", "Orders", dt.date(2026, 11, 1)],
              ["C-2", "Orders", dt.date(2026, 12, 5)]]
    settings = [["As of", dt.date(2026, 11, 30)]]
    book = make_workbook(tmp_path / "e.xlsx", {"Events": events, "Weights": WEIGHTS, "Settings": settings})
    result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    assert result.scores["Customer"].tolist() == ["C-1"] and result.scores["Score"].tolist() == [10]
    assert "1 customer(s) have events only after the as-of date 2026-11-30: they are not scored" in result.notes

    settings = [["As of", dt.date(2026, 10, 1)]]
    book = make_workbook(tmp_path / "early.xlsx", {"Events": events, "Weights": WEIGHTS, "Settings": settings})
    done = run_cli("score", book, "-o", tmp_path / "early-out.xlsx")
    assert done.returncode == 1 and not (tmp_path / "early-out.xlsx").exists()
    assert done.stderr.startswith("ces-xl: error: Settings!B1: there are no customers on the as-of date 2026-10-01")


def test_score_events_counts_history_as_the_settings_sheet_does(tmp_path):
    events = [["Customer", "Event", "Date"], ["C-1", "Visits", dt.date(2026, 9, 15)],
              ["C-1", "Visits", dt.date(2026, 10, 20)], ["C-1", "Visits", dt.date(2026, 11, 25)],
              ["C-1", "Orders", dt.date(2026, 11, 1)], ["C-2", "Visits", dt.date(2026, 10, 31)]]
    frame = pd.DataFrame(events[1:], columns=events[0])
    model = ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("Orders", 10)])
    result = ces_xl.score_events(frame, model, as_of="2026-11-30", history=2, every="month")
    # As in test_snapshots_from_events_step_back_by_calendar_months, by hand.
    assert [s.as_of for s in result.history] == [46295, 46325, 46356]
    s = result.scores.set_index("Customer")
    assert s.loc["C-1", "Previous score"] == 2 and s.loc["C-1", "Change"] == 11
    assert s.loc["C-1", "Change driver"] == "Orders +10.0"
    with pytest.raises(ces_xl.InputError, match="every must be 'month', 'week' or a number of days"):
        ces_xl.score_events(frame, model, history=2, every="fortnight")
    with pytest.raises(ces_xl.InputError, match="history must be a whole number"):
        ces_xl.score_events(frame, model, history=-1)
