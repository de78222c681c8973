"""One rule set for tables, on every face: the same rows give the same numbers or the same problem.

Each case is one customer's count, typed into a real workbook (read by the headless run and by
the button on xlwings' remote Book), put into a DataFrame for ``ces_xl.score``, and handed to
``=CES_SCORE`` as xlwings would hand it over. The expected outcome of each is written by hand
from the rules (README "The workbook contract": counts are numbers or plain numeric text, at
most 1e15; dates, TRUE/FALSE, error values and other text are problems; a blank is 0).
"""
from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ces_xl
from ces_xl.udfs import CES_SCORE

from .conftest import make_workbook

xw = pytest.importorskip("xlwings")

from ces_xl import button  # noqa: E402

from .test_button import remote_book  # noqa: E402

TOO_LARGE = "is too large to score (weighted sums would overflow or lose precision)"

# value of customer C-2's count -> the score (weight 2, sum method), or the problem, by hand.
CASES = {
    "a number": (3, 6.0),
    "numeric text": (" 3.5 ", 7.0),
    "exponent text": ("1e3", 2000.0),
    "blank": (None, 0.0),
    "spaces": ("   ", 0.0),
    "negative": (-4, -8.0),
    "1e15, the largest count": (1e15, 2e15),
    "just over 1e15": (1.5e15, f"the count 1.5e+15 {TOO_LARGE}"),
    "2e15": (2e15, f"the count 2e+15 {TOO_LARGE}"),
    "1e300": (1e300, f"the count 1e+300 {TOO_LARGE}"),
    "1e300 as text": ("1e300", f"the count 1e+300 {TOO_LARGE}"),
    "NaN as text": ("nan", "the count is 'nan', not a number"),
    "infinity as text": ("inf", "the count is infinite"),
    "TRUE": (True, "the count is TRUE/FALSE"),
    "FALSE": (False, "the count is TRUE/FALSE"),
    "a date": (datetime.datetime(2026, 11, 30), "the count is a date"),
    "underscore digits": ("1_000", "the count is '1_000', not a number"),
    "thousands comma": ("1,000", "the count is '1,000', not a number"),
    "n/a": ("n/a", "the count is 'n/a', not a number"),
}


def rows_with(value) -> list[list]:
    return [["Customer", "Visits"], ["C-1", 1], ["C-2", value]]


def expected(value_and_outcome):
    return value_and_outcome[1]


def through_workbook(tmp_path: Path, value):
    book = make_workbook(tmp_path / "rules.xlsx", {"Activity": rows_with(value),
                                                   "Weights": [["Metric", "Weight"], ["Visits", 2]]})
    try:
        result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    except ces_xl.CESError as error:
        assert error.where == "Activity!B3", error
        return error.problem, book
    return result.scores["Score"].tolist()[1], book


def through_button(book: Path):
    remote = remote_book(book)
    result = button.run(remote)
    if result is None:
        message = remote.json()["actions"][0]["args"][0]
        assert message.startswith("Activity!B3: "), message
        return message[len("Activity!B3: "):].split("; ")[0]
    return result.scores["Score"].tolist()[1]


def through_dataframe(value):
    frame = pd.DataFrame({"Customer": ["C-1", "C-2"], "Visits": pd.Series([1, value], dtype=object)})
    try:
        return ces_xl.score(frame, ces_xl.Model([ces_xl.Metric("Visits", 2)])).scores["Score"].tolist()[1]
    except ces_xl.CESError as error:
        assert error.where == "activity column 'Visits', row 2", error
        return error.problem


def through_udf(value):
    got = CES_SCORE([[1.0], [value]], [2.0])
    if isinstance(got, str):
        assert got.startswith("#CES! activity row 2, value 1: "), got
        return got[len("#CES! activity row 2, value 1: "):]
    return got[1][0]


@pytest.mark.parametrize("name", list(CASES))
def test_every_face_applies_the_same_rule(tmp_path, name):
    value, outcome = CASES[name]
    in_workbook, book = through_workbook(tmp_path, value)
    got = {"workbook": in_workbook, "button": through_button(book), "DataFrame": through_dataframe(value),
           "=CES_SCORE": through_udf(value)}
    assert got == dict.fromkeys(got, outcome)


def test_a_numeric_dataframe_column_follows_the_same_limits():
    """Typed columns (float64, int64, bool, datetime64) take the same rules as cells."""
    model = ces_xl.Model([ces_xl.Metric("Visits", 2)])
    for column, problem in ((pd.Series([1.0, 1e300]), f"the count 1e+300 {TOO_LARGE}"),
                            (pd.Series([1.0, np.inf]), "the count is infinite"),
                            (pd.Series([1, 2 * 10 ** 15], dtype="int64"), f"the count 2e+15 {TOO_LARGE}"),
                            (pd.Series([True, False]), "the count is TRUE/FALSE"),
                            (pd.Series(pd.to_datetime(["2026-01-01", "2026-01-02"])), "the count is a date")):
        with pytest.raises(ces_xl.InputError) as caught:
            ces_xl.score(pd.DataFrame({"Customer": ["C-1", "C-2"], "Visits": column}), model)
        assert caught.value.problem == problem
    nullable = pd.Series([4, None], dtype="Int64")  # <NA> is a blank: 0
    scores = ces_xl.score(pd.DataFrame({"Customer": ["C-1", "C-2"], "Visits": nullable}), model).scores
    assert scores["Score"].tolist() == [8.0, 0.0]


def test_every_bad_cell_is_reported_at_once(tmp_path):
    rows = [["Customer", "Visits", "Orders"], ["C-1", "n/a", 2], ["C-2", 3, True], ["C-3", 1e300, "-"]]
    book = make_workbook(tmp_path / "bad.xlsx", {"Activity": rows,
                                                 "Weights": [["Metric", "Weight"], ["Visits", 1], ["Orders", 1]]})
    with pytest.raises(ces_xl.InputError) as caught:
        ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    assert [p.where for p in caught.value.problems] == ["Activity!B2", "Activity!B4", "Activity!C3", "Activity!C4"]
    frame = pd.DataFrame({"Customer": ["C-1", "C-2", "C-3"], "Visits": ["n/a", 3, 1e300], "Orders": [2, True, "-"]})
    with pytest.raises(ces_xl.InputError) as from_frame:
        ces_xl.score(frame, ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("Orders", 1)]))
    assert [p.problem for p in from_frame.value.problems] == [p.problem for p in caught.value.problems]


@pytest.mark.parametrize("ids, problem", [
    (["C-1", None, "C-3"], "the customer ID is blank"),
    (["C-1", "  ", "C-3"], "the customer ID is blank"),
    (["C-1", "C-2", "C-1"], "duplicate customer IDs: 'C-1' (rows"),
    ([1001, 1001.0, 7], "duplicate customer IDs: 1001 (rows"),  # 1001.0 is the ID 1001
])
def test_customer_ids_follow_one_rule_in_a_workbook_and_a_dataframe(tmp_path, ids, problem):
    rows = [["Customer", "Visits"]] + [[i, 1] for i in ids]
    book = make_workbook(tmp_path / "ids.xlsx", {"Activity": rows, "Weights": [["Metric", "Weight"], ["Visits", 1]]})
    with pytest.raises(ces_xl.InputError) as in_book:
        ces_xl.read_workbook(book)
    frame = pd.DataFrame({"Customer": pd.Series(ids, dtype=object), "Visits": 1})
    with pytest.raises(ces_xl.InputError) as in_frame:
        ces_xl.score(frame, ces_xl.Model([ces_xl.Metric("Visits", 1)]))
    assert in_book.value.problem.startswith(problem) and in_frame.value.problem.startswith(problem)


def test_whole_float_ids_read_as_integers_on_both_faces(tmp_path):
    rows = [["Customer", "Visits"], [1001.0, 1], [1002, 2]]
    book = make_workbook(tmp_path / "ids.xlsx", {"Activity": rows, "Weights": [["Metric", "Weight"], ["Visits", 1]]})
    frame = pd.DataFrame({"Customer": [1001.0, 1002.0], "Visits": [1, 2]})
    from_book = ces_xl.score_workbook(book, tmp_path / "out.xlsx").scores["Customer"].tolist()
    from_frame = ces_xl.score(frame, ces_xl.Model([ces_xl.Metric("Visits", 1)])).scores["Customer"].tolist()
    assert from_book == from_frame == [1001, 1002]
    assert all(type(v) is int for v in from_book + from_frame)


def test_metric_columns_match_by_name_the_same_way(tmp_path):
    rows = [["Customer", " VISITS ", "e-mail  clicks"], ["C-1", 2, 3]]
    weights = [["Metric", "Weight"], ["Visits", 1], ["E-mail Clicks", 10], ["Purchases", 5]]
    book = make_workbook(tmp_path / "m.xlsx", {"Activity": rows, "Weights": weights})
    with pytest.raises(ces_xl.InputError) as in_book:
        ces_xl.read_workbook(book)
    frame = pd.DataFrame({"Customer": ["C-1"], " VISITS ": [2], "e-mail  clicks": [3]})
    model = ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("E-mail Clicks", 10), ces_xl.Metric("Purchases", 5)])
    with pytest.raises(ces_xl.InputError) as in_frame:
        ces_xl.score(frame, model)
    assert in_book.value.problem.startswith("metric 'Purchases' has no column in")
    assert in_frame.value.problem.startswith("metric 'Purchases' has no column in")
    book_ok = make_workbook(tmp_path / "ok.xlsx", {"Activity": rows, "Weights": weights[:3]})
    scored = ces_xl.score_workbook(book_ok, tmp_path / "ok-out.xlsx")
    assert scored.scores["Score"].tolist() == [32.0] == ces_xl.score(frame, ces_xl.Model(model.metrics[:2])).scores[
        "Score"].tolist()
