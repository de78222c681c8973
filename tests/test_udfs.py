"""=CES_SCORE() and =CES_BAND() as Excel would call them, off Windows (no conversion by xlwings)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ces_xl
from ces_xl.udfs import CES_BAND, CES_LIFT, CES_SCORE

from .conftest import make_workbook

SEED_001_WEIGHTS = [1, 2, 5]  # website visit, email click, purchase


@pytest.mark.parametrize("activity, weights", [
    ([10, 5, 2], SEED_001_WEIGHTS),                        # a row, as xlwings hands a 1-row range
    ([[10, 5, 2]], [[1, 2, 5]]),                           # 2D row and 2D row of weights
    ([[10.0, 5.0, 2.0]], [[1.0], [2.0], [5.0]]),           # weights as a column, floats as Excel sends
    ((10, 5, 2), (1, 2, 5)),
    (np.array([10, 5, 2]), np.array([1, 2, 5])),           # numpy, as off-Windows callers may pass
    (np.array([[10, 5, 2]]), np.array([[1], [2], [5]])),
    (["10", " 5 ", "2"], ["1", "2", "5"]),                 # numeric text is a number
])
def test_seed_001_is_30_whatever_the_shape(activity, weights):
    assert CES_SCORE(activity, weights) == 30


def test_seed_000_with_targets():
    weights = [0.2, 0.3, 0.1, 0.15, 0.1, 0.05, 0.1]
    # Normalised scores 0.8, 0.5, 1, 0.3, 0, 1 (capped), 0.6 -> 56.5 (see test_engine).
    assert CES_SCORE([8, 5, 10, 3, 0, 12, 6], weights, [10] * 7) == pytest.approx(56.5)
    assert CES_SCORE([8, 5, 10, 3, 0, 12, 6], weights, [10] * 7, "sum") == pytest.approx(
        0.2 * 8 + 0.3 * 5 + 0.1 * 10 + 0.15 * 3 + 0 + 0.05 * 12 + 0.1 * 6)


def test_a_block_spills_one_score_per_row():
    block = [[10, 5, 2], [0, 0, 0], [1, 1, 1]]
    assert CES_SCORE(block, SEED_001_WEIGHTS) == [[30], [0], [8]]
    indexed = CES_SCORE(np.array(block), [1, 1, 2], [10, 5, 4])
    # 100 * (1*1 + 1*1 + 2*0.5) / 4 = 75; 0; 100 * (0.1 + 0.2 + 2*0.25) / 4 = 20
    assert indexed == [[pytest.approx(75)], [0], [pytest.approx(20)]]


def test_one_metric_for_a_column_of_customers():
    assert CES_SCORE([3, 4, 5], [2]) == [[6], [8], [10]]
    assert CES_SCORE([[3], [4], [5]], 2) == [[6], [8], [10]]
    assert CES_SCORE(7, 3) == 21


def test_blanks_are_zero():
    assert CES_SCORE([10, 5, 2], [1, None, 5]) == 10 + 0 + 10  # a blank weight switches a metric off
    assert CES_SCORE([10, None, 2], SEED_001_WEIGHTS) == 20
    assert CES_SCORE([10, "", 2], SEED_001_WEIGHTS) == 20
    assert CES_SCORE(np.array([10, np.nan, 2]), SEED_001_WEIGHTS) == 20
    assert CES_SCORE([[None, None, None]], SEED_001_WEIGHTS, [1, 1, 1]) == 0


@pytest.mark.parametrize("args, message", [
    (([10, 5, 2, 1], SEED_001_WEIGHTS), "#CES! 3 weights for 4 metrics"),
    (([10, "lots", 2], SEED_001_WEIGHTS), "#CES! activity row 1, value 2: the count is 'lots', not a number"),
    (([10, True, 2], SEED_001_WEIGHTS), "#CES! activity row 1, value 2: the count is TRUE/FALSE"),
    (([10, 5, 2], [1, "nan", 5]), "#CES! weights row 1, value 2 is 'nan', not a number"),
    (([10, "1_000", 2], SEED_001_WEIGHTS), "#CES! activity row 1, value 2: the count is '1_000', not a number"),
    (([10, 5, 2], SEED_001_WEIGHTS, [1, None, 2]), "#CES! targets value 2 is blank"),
    (([10, 5, 2], [[1, 2], [5, 6]]), "#CES! weights must be one row or one column"),
    (([10, 5, 2], SEED_001_WEIGHTS, [1, 2]), "#CES! 2 targets for 3 metrics"),
    (([10, 5, 2], SEED_001_WEIGHTS, [1, 0, 2]), "#CES! target 0.0 of metric 'Metric 2' must be a number above 0"),
    (([10, 5, 2], SEED_001_WEIGHTS, None, "index"), "#CES! the index method needs targets"),
    (([10, 5, 2], SEED_001_WEIGHTS, None, "average"), '#CES! method "average" is not "sum" or "index"'),
    (([10, 5, 2], [0, 0, 0]), "#CES! every weight is 0, so no metric counts"),
    (([10, 5, 2], [1, -2, 1], [5, 5, 5]), "#CES! weight -2 of metric 'Metric 2' is negative"),
    (([[1, 2, 3], [1, 2]], SEED_001_WEIGHTS), "#CES! activity rows differ in length"),
    (({"a": 1}, SEED_001_WEIGHTS), "#CES! activity: the count is {'a': 1}, not a number"),
    (([[1, 2], 3], [1, 1]), "#CES! activity mixes rows and single values"),
])
def test_bad_input_is_a_short_message_not_a_traceback(args, message):
    got = CES_SCORE(*args)
    assert isinstance(got, str) and got.startswith(message), got
    assert "Traceback" not in got and len(got) <= 255


@pytest.mark.parametrize("value, label", [
    (40, "Very disengaged"), (40.5, "Somewhat engaged"), (41, "Somewhat engaged"),
    (75, "Somewhat engaged"), (75.2, "Very engaged"), (76, "Very engaged"), ("75.2", "Very engaged"),
    (-3, "Very disengaged"), (150, "Very engaged"), (None, ""),
])
def test_seed_004_bands(value, label):
    assert CES_BAND(value) == label


def test_bands_keep_the_shape_of_the_scores():
    assert CES_BAND([[40, 76]]) == [["Very disengaged", "Very engaged"]]  # a row spills as a row
    assert CES_BAND([[40, 76], [10, 50]]) == [["Very disengaged", "Very engaged"],
                                               ["Very disengaged", "Somewhat engaged"]]


def test_band_of_a_column_of_scores_and_custom_bands():
    assert CES_BAND([[40], [40.5], [76]]) == [["Very disengaged"], ["Somewhat engaged"], ["Very engaged"]]
    assert CES_BAND(np.array([10, 90])) == [["Very disengaged"], ["Very engaged"]]
    bands = [["Band", "From", "To"], ["Cold", 0, 50], ["Hot", 50.01, 100]]
    assert CES_BAND(50, bands) == "Cold"
    assert CES_BAND(50.005, np.array(bands, dtype=object)) == "Hot"
    assert CES_BAND([[1], [None], [99]], bands) == [["Cold"], [""], ["Hot"]]


@pytest.mark.parametrize("args, message", [
    (("high",), "#CES! score is 'high', not a number"),
    ((50, [["Band", "From", "To"], ["Low", 0, 50], ["High", 40, 100]]), "#CES! bands B3: band 'High'"),
    ((50, [["Label", "From", "To"], ["Low", 0, 50]]), "#CES! bands A1:C1: no 'Band' column"),
    ((50, [1, 2, 3]), "#CES! bands must be a range with a Band, From, To header row"),
])
def test_band_errors(args, message):
    got = CES_BAND(*args)
    assert got.startswith(message), got


def test_udf_gives_the_same_numbers_as_the_headless_run(tmp_path):
    rng = np.random.default_rng(3)
    counts = rng.poisson(3, size=(25, 3)).tolist()
    weights, targets = [0.5, 0.3, 0.2], [6, 4, 2]
    source = make_workbook(tmp_path / "b.xlsx", {
        "Activity": [["ID", "A", "B", "C"]] + [[f"C{i}", *row] for i, row in enumerate(counts)],
        "Weights": [["Metric", "Weight", "Target"]] + [[m, w, t] for m, w, t in zip("ABC", weights, targets)],
    })
    headless = ces_xl.score_workbook(source, tmp_path / "out.xlsx").scores["Score"].tolist()
    assert [row[0] for row in CES_SCORE(counts, weights, targets)] == headless
    assert [row[0] for row in CES_BAND([[s] for s in headless])] == \
        ces_xl.score_workbook(source, tmp_path / "out2.xlsx").scores["Band"].tolist()


def test_the_template_formula_gives_the_scores_sheet_numbers(tmp_path):
    """The Instructions sheet's =CES_SCORE(D2:J2, Weights!B2:B8, Weights!C2:C8), for every row."""
    import openpyxl

    from .test_workbook import TEMPLATE

    book = openpyxl.load_workbook(TEMPLATE)
    instructions = " ".join(str(c.value) for c in book["Instructions"]["A"] if c.value)
    assert "=CES_SCORE(D2:J2, Weights!B2:B8, Weights!C2:C8)" in instructions
    weights = [[c.value for c in row] for row in book["Weights"]["B2:B8"]]
    targets = [[c.value for c in row] for row in book["Weights"]["C2:C8"]]
    result = ces_xl.score_workbook(TEMPLATE, tmp_path / "scored.xlsx")
    for r, row in enumerate(book["Activity"].iter_rows(min_row=2, max_row=61, min_col=4, max_col=10)):
        cells = [c.value for c in row]  # blanks arrive as None, as from Excel
        assert CES_SCORE(cells, weights, targets) == result.scores.loc[r, "Score"]
        assert CES_BAND(CES_SCORE(cells, weights, targets)) == result.scores.loc[r, "Band"]


GENERATE_VBA = textwrap.dedent("""
    import io, json, sys, types
    # The win32 modules xlwings.udfs imports at module level, stubbed (see XLWINGS-NOTES.md).
    pythoncom = types.ModuleType("pythoncom"); pythoncom.CoInitialize = lambda: None
    pywintypes = types.ModuleType("pywintypes")
    class com_error(Exception): pass
    pywintypes.com_error = com_error
    win32com = types.ModuleType("win32com"); client = types.ModuleType("win32com.client")
    client.Dispatch = object; win32com.client = client
    sys.modules.update({"pythoncom": pythoncom, "pywintypes": pywintypes, "win32com": win32com,
                        "win32com.client": client})
    import xlwings as xw, xlwings.udfs as udfs
    xw.func, xw.arg, xw.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret
    import ces_xl.udfs as module
    out = io.StringIO()
    addin = types.SimpleNamespace(Name="ces_xl.xlam")  # the workbook the wrappers go into
    udfs.generate_vba_wrapper("ces_xl.udfs", module, out, addin)
    meta = {name: getattr(module, name).__xlfunc__ for name in ("CES_SCORE", "CES_BAND", "CES_LIFT")}
    print(json.dumps({"vba": out.getvalue(), "meta": meta}, default=str))
""")


def test_the_vba_xlwings_generates_names_both_functions_with_their_arguments():
    done = subprocess.run([sys.executable, "-c", GENERATE_VBA], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    vba = data["vba"]
    assert "Function CES_SCORE(activity, weights, Optional targets, Optional method)" in vba
    assert "Function CES_BAND(score, Optional bands)" in vba
    assert ('XLPy.CallUDF("ces_xl.udfs", "CES_SCORE", Array(activity, weights, targets, method), '
            'ActiveWorkbook, Application.Caller)') in vba
    assert 'XLPy.CallUDF("ces_xl.udfs", "CES_BAND", Array(score, bands), ActiveWorkbook' in vba
    assert "CES_SCORE = Err.Description" in vba  # xlwings' own error branch
    # What Excel's function wizard shows: a description of each function and of every argument.
    assert "Function CES_LIFT(activity, weights, Optional targets, Optional bands)" in vba
    for name, args in (("CES_SCORE", ["activity", "weights", "targets", "method"]), ("CES_BAND", ["score", "bands"]),
                       ("CES_LIFT", ["activity", "weights", "targets", "bands"])):
        meta = data["meta"][name]
        description = meta["ret"]["doc"]  # xlwings registers the docstring as the description
        assert description.startswith(("Customer Engagement Score", "The engagement band", "The fastest lift"))
        assert len(" ".join(description.split())) <= 255
        assert meta["category"] == "CES"
        assert [a["name"] for a in meta["args"]] == args
        assert all(a["doc"] for a in meta["args"]), name


def test_ces_lift_gives_the_fastest_lift_as_the_scores_sheet_does(tmp_path):
    # Hand-worked in tests/test_lift.py: weights 6 and 4, targets 10 and 20: (0 orders, 10 visits)
    # scores 20 and needs +4 of the first metric; (6, 5) scores 46 and needs +15 of the second;
    # (10, 10) is in the top band: blank.
    assert CES_LIFT([[0, 10]], [6, 4], [10, 20]) == "+4 Metric 1"
    assert CES_LIFT(np.array([[0, 10], [6, 5], [10, 10]]), [[6, 4]], [[10, 20]]) == [
        ["+4 Metric 1"], ["+15 Metric 2"], [""]]
    # The sum method, a negative weight: fewer complaints. 30 visits, 1 order, 1 complaint = 35;
    # past 40: one order more (45). Visits x 1, complaints x -5, 30 visits and 2 complaints = 20:
    # past 24 (bands of its own), five more visits or one complaint fewer (25).
    assert CES_LIFT([[30, 1, 1]], [1, 10, -5]) == "+1 Metric 2"
    bands = [["Band", "From", "To"], ["Low", 0, 24], ["High", 25, 100]]
    assert CES_LIFT([[30, 2]], [1, -5], None, bands) == "-1 Metric 2"
    assert CES_LIFT([[30, 0]], [1, -5], None, bands) == ""  # 30: already in the top band
    # The same as the workbook's Fastest lift for the same counts.
    book = make_workbook(tmp_path / "b.xlsx", {
        "Activity": [["ID", "Orders", "Visits"], ["C-1", 0, 10], ["C-2", 6, 5], ["C-3", 10, 10]],
        "Weights": [["Metric", "Weight", "Target"], ["Orders", 6, 10], ["Visits", 4, 20]]})
    lifts = ces_xl.score_workbook(book, tmp_path / "out.xlsx").scores["Fastest lift"].tolist()
    assert lifts == ["+4 Orders", "+15 Visits", None]
    assert CES_LIFT([["x", 1]], [1, 1]).startswith("#CES! activity row 1, value 1")
    assert CES_LIFT([[1, 1, 1]], [1, 2]) == "#CES! 2 weights for 3 metrics"
