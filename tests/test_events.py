"""Events: counts from a dated log (SPEC "Events: counts from a dated log"), worked by hand.

An event counts when ``0 <= age < Window`` (age: the as-of date minus the event's date, in whole
days); it counts ``Count x 0.5 ** (age / Half-life)``. Day numbers are whole days since
1899-12-30, as spreadsheets count (2026-11-30 is 46356)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ces_xl
from ces_xl.core import events as timeline

from .conftest import make_workbook, run_cli

AS_OF = dt.date(2026, 11, 30)
WEIGHTS = [["Metric", "Weight"], ["Visits", 1], ["Orders", 10]]


def day(date: dt.date) -> int:
    return (date - dt.date(1899, 12, 30)).days


def ago(days: int) -> dt.datetime:
    return dt.datetime.combine(AS_OF - dt.timedelta(days=days), dt.time(14, 5))  # a time of day counts by its date


def test_day_numbers_are_spreadsheet_serials():
    assert day(AS_OF) == 46356 == timeline.day_of(AS_OF) == timeline.day_of(46356.9)
    assert timeline.date_of(46356) == AS_OF


def test_the_window_and_the_half_life_by_hand(tmp_path):
    # Visits at ages 0, 30, 60, 89, 90 and one day in the future; Window 90, Half-life 30.
    ages = [0, 30, 60, 89, 90, -1]
    events = [["Customer", "Event", "Date"]] + [["C-1", "Visits", ago(a)] for a in ages]
    settings = [["Setting", "Value"], ["As of", AS_OF], ["Window", 90], ["Half-life", 30]]
    book = make_workbook(tmp_path / "e.xlsx", {"Events": events, "Weights": WEIGHTS, "Settings": settings})
    result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    by_hand = 1 + 0.5 + 0.25 + 0.5 ** (89 / 30)  # ages 90 (outside the window) and -1 (future) do not count
    assert result.scores["Score"].tolist() == [pytest.approx(by_hand, abs=1e-9)]
    # the count is rounded to 9 decimals, as scores are (README "The math"): 1.8779217364... -> 1.877921736
    assert result.scores["Visits (points)"].tolist() == [pytest.approx(1.877921736, abs=1e-12)]
    frame = pd.DataFrame({"Customer": ["C-1"] * len(ages), "Event": "Visits", "Date": [ago(a) for a in ages]})
    model = ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("Orders", 10)])
    api = ces_xl.score_events(frame, model, as_of="2026-11-30", window=90, half_life=30)
    assert api.scores["Score"].tolist() == result.scores["Score"].tolist()


def test_counts_and_dates_as_serials_text_and_date_times(tmp_path):
    events = [["ID", "Event", "Date", "Count"],
              ["C-1", "Orders", "2026-11-30", 2],          # ISO text
              ["C-1", "Orders", " 2026-11-01 09:30 ", None],  # ISO date-time text; a blank Count is 1
              ["C-1", "Visits", 46300.75, 3],               # a serial: 2026-10-05
              ["C-1", "visits", dt.date(2026, 11, 29), 1]]  # a date; names match any case
    book = make_workbook(tmp_path / "e.xlsx", {"Events": events, "Weights": WEIGHTS})
    result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")  # as of the latest event, no window, no decay
    assert result.scores["Visits (points)"].tolist() == [4.0] and result.scores["Orders (points)"].tolist() == [30.0]
    assert result.scores.columns[0] == "ID"


def test_activity_lists_customers_and_events_count_the_rest(tmp_path):
    activity = [["Customer", "Owner", "Orders"], ["C-1", "Dana", 2], ["C-3", "Eli", 0]]
    events = [["Customer", "Event", "Date"], ["C-2", "Visits", AS_OF], ["C-1", "Visits", AS_OF],
              ["C-2", "Visits", AS_OF], ["C-4", "Visit", AS_OF], ["C-4", "Logins", AS_OF]]
    book = make_workbook(tmp_path / "e.xlsx", {"Activity": activity, "Events": events, "Weights": WEIGHTS})
    result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    scores = result.scores.set_index("Customer")
    # Activity rows first, then those only in Events by first appearance; C-3 has no events: 0 visits.
    assert scores.index.tolist() == ["C-1", "C-3", "C-2", "C-4"]
    assert scores["Score"].tolist() == [1 + 20, 0, 2, 0]
    assert scores["Owner"].tolist()[:2] == ["Dana", "Eli"] and scores["Owner"].iloc[2:].isna().all()
    assert "2 customer(s) appear only in the events: they come after the Activity rows" in result.notes
    [unknown] = [n for n in result.notes if "match no metric" in n]
    assert unknown == ("Events: event names that match no metric are left out: 'Visit' (1 row) (did you mean "
                       "'Visits'?), 'Logins' (1 row)")


@pytest.mark.parametrize("rows, where, words", [
    ([["C-1", "Visits", "30/11/2026"]], "Events!C2", "the date is '30/11/2026', not a date"),
    ([["C-1", "Visits", AS_OF, "two"]], "Events!D2", "the count is 'two', not a number"),
    ([[None, "Visits", AS_OF]], "Events!A2", "the customer ID is blank"),
    ([["C-1", "Visits", True]], "Events!C2", "the date is TRUE/FALSE"),
])
def test_bad_events_are_one_clear_line_each(tmp_path, rows, where, words):
    events = [["Customer", "Event", "Date", "Count"], *rows]
    book = make_workbook(tmp_path / "e.xlsx", {"Events": events, "Weights": WEIGHTS})
    before = book.read_bytes()
    done = run_cli("score", book, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"ces-xl: error: {where}: {words}")
    assert not (tmp_path / "out.xlsx").exists() and book.read_bytes() == before


def test_a_metric_in_both_sheets_names_both_places(tmp_path):
    activity = [["Customer", "Visits"], ["C-1", 4]]
    events = [["Customer", "Event", "Date"], ["C-1", "Orders", AS_OF], ["C-1", "Visits", AS_OF]]
    book = make_workbook(tmp_path / "e.xlsx", {"Activity": activity, "Events": events, "Weights": WEIGHTS})
    with pytest.raises(ces_xl.InputError) as caught:
        ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    assert caught.value.where == "Weights!A2"
    assert caught.value.problem == ("metric 'Visits' has a column in the Activity sheet ('Visits') and events in the "
                                    "Events sheet (the first in row 3)")
    before = book.read_bytes()
    done = run_cli("score", book, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1 and done.stderr.startswith("ces-xl: error: Weights!A2: metric 'Visits' has a column")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.xlsx").exists() and book.read_bytes() == before


def test_bad_time_settings_name_their_cells(tmp_path):
    settings = [["As of", "yesterday"], ["Window", -5], ["History", 1.5], ["Every", "fortnight"]]
    book = make_workbook(tmp_path / "e.xlsx", {"Events": [["C", "Event", "Date"], ["C-1", "Visits", AS_OF]],
                                               "Weights": WEIGHTS, "Settings": settings})
    with pytest.raises(ces_xl.InputError) as caught:
        ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    assert [p.where for p in caught.value.problems] == ["Settings!B1", "Settings!B3", "Settings!B4", "Settings!B2"]


# --- properties ------------------------------------------------------------------------------

EVENT_ROWS = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["Visits", "Orders", "Other"]),
                                st.integers(46000, 46400), st.integers(1, 5)), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(EVENT_ROWS)
def test_without_window_or_decay_counts_are_a_plain_group_by(rows):
    frame = pd.DataFrame(rows, columns=["ID", "Event", "Date", "Count"])
    model = ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("Orders", 1)])
    result = ces_xl.score_events(frame, model)  # as of the latest event: every event counts
    plain = frame[frame.Event != "Other"].groupby(["ID", "Event"])["Count"].sum()
    for _, row in result.scores.iterrows():
        for metric in ("Visits", "Orders"):
            assert row[f"{metric} (points)"] == plain.get((row["ID"], metric), 0)


@settings(max_examples=100, deadline=None)
@given(EVENT_ROWS, st.integers(1, 400), st.floats(1, 200))
def test_an_as_of_date_past_every_event_and_its_window_gives_zeros(rows, window, half_life):
    frame = pd.DataFrame(rows, columns=["ID", "Event", "Date", "Count"])
    model = ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("Orders", 1)])
    late = int(frame.Date.max()) + window
    result = ces_xl.score_events(frame, model, as_of=late, window=window, half_life=half_life)
    assert (result.scores["Score"] == 0).all()
    with pytest.raises(ces_xl.InputError, match="every event comes after it"):  # no one is a customer yet
        ces_xl.score_events(frame, model, as_of=int(frame.Date.min()) - 1, window=window)
    middle = int(frame.Date.median())  # those with an event by then, and no one else
    scored = ces_xl.score_events(frame, model, as_of=middle, window=window)
    assert set(scored.scores["ID"]) == set(frame.ID[frame.Date <= middle])


def test_counting_a_million_events_is_vectorised():
    rng = np.random.default_rng(1)
    n = 1_000_000
    log = timeline.EventLog(ids=np.array([f"C{i}" for i in rng.integers(0, 100_000, n)], dtype=object),
                            metric=rng.integers(0, 10, n).astype(np.intp), day=rng.integers(46000, 46356, n),
                            count=np.ones(n))
    who, _ = timeline.customers(None, log.ids)
    counts = timeline.event_counts(log, who, 10, 46356, window=90, half_life=30)
    assert counts.shape == (len(who), 10) and counts.sum() > 0
    young = log.day > 46356 - 90
    assert counts.sum() == pytest.approx((0.5 ** ((46356 - log.day[young]) / 30)).sum())


def test_every_month_steps_back_by_calendar_months():
    march31 = day(dt.date(2026, 3, 31))
    assert [timeline.date_of(d) for d in timeline.snapshot_days(march31, 3, "month")] == [
        dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 2, 28)]
    assert timeline.snapshot_days(46356, 2, "week") == [46342, 46349]
    assert timeline.snapshot_days(46356, 2, 10) == [46336, 46346]


def write_book(tmp_path: Path, sheets: dict) -> Path:
    return make_workbook(tmp_path / "book.xlsx", sheets)
