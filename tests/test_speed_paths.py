"""The fast roads (issue 5) give what the exact ones give.

The UDFs read plain floats and ints in one numpy call and anything else value by value; the
engine checks usual IDs and segments with quick vectorised looks and ranks with one sort. These
tests pin each fast road to the slow one, and both to numbers worked out independently: by
hand, with plain Python loops, or with ``tests/reference.py``.
"""
from __future__ import annotations

import datetime
import math

import numpy as np
import pandas as pd
import pytest

from ces_xl import CESError, Metric, Model, score
from ces_xl.core.scoring import score_matrix
from ces_xl.udfs import CES_BAND, CES_SCORE

from .reference import index_scores, normalized

WEIGHTS = [1, 2, 5]


def plain_sum(row, weights):
    """The sum method with plain Python: blank (None) is 0."""
    return sum(w * (0 if v is None else v) for v, w in zip(row, weights))


def reference_index(rows, weights, targets):
    """The UDF's index score (cap, higher, blank = 0) by tests/reference.py."""
    specs = [dict(weight=w, norm="cap", target=t) for w, t in zip(weights, targets)]
    return index_scores([[None if v is None else float(v) for v in row] for row in rows], specs)


def random_block(seed, n=2000, m=3, blanks=0.1):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(4, size=(n, m)).tolist()
    block = [[None if rng.random() < blanks else float(v) for v in row] for row in counts]
    block[0][0] = 7  # a Python int among the floats, as Excel never sends but callers may
    return block


# --- the UDF: plain numbers (fast) against text and odd values (exact) --------------------------

def test_a_block_of_floats_scores_like_plain_python_and_like_the_exact_road():
    block = random_block(1)
    got = CES_SCORE(block, WEIGHTS)
    assert got == [[plain_sum(row, WEIGHTS)] for row in block]
    # The same block with one value as numeric text takes the value-by-value road.
    texty = [list(row) for row in block]
    texty[5][1] = "12" if texty[5][1] is None else f" {texty[5][1]:g} "
    expected = [list(row) for row in block]
    expected[5][1] = 12.0 if block[5][1] is None else block[5][1]
    assert CES_SCORE(texty, WEIGHTS) == [[plain_sum(row, WEIGHTS)] for row in expected]
    assert CES_SCORE(texty, WEIGHTS)[:5] == got[:5] and CES_SCORE(texty, WEIGHTS)[6:] == got[6:]


def test_the_index_of_a_block_matches_the_reference_implementation_on_both_roads():
    block = random_block(2)
    targets = [6, 4, 2]
    expected = reference_index(block, WEIGHTS, targets)
    fast = [row[0] for row in CES_SCORE(block, WEIGHTS, targets)]
    exact = [row[0] for row in CES_SCORE(np.array(block, dtype=object).tolist() + [["1", "1", "1"]],
                                         WEIGHTS, targets)][:-1]
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-9)
    assert fast == exact


def test_none_blanks_score_as_zeros():
    block = random_block(3, blanks=0.3)
    zeros = [[0.0 if v is None else v for v in row] for row in block]
    assert CES_SCORE(block, WEIGHTS) == CES_SCORE(zeros, WEIGHTS) == [[plain_sum(r, WEIGHTS)] for r in zeros]
    assert CES_SCORE(block, WEIGHTS, [5, 5, 5]) == CES_SCORE(zeros, WEIGHTS, [5, 5, 5])
    nan_blanks = [[math.nan if v is None else v for v in row] for row in block]  # NaN is blank too
    assert CES_SCORE(nan_blanks, WEIGHTS) == CES_SCORE(zeros, WEIGHTS)


@pytest.mark.parametrize("value, message", [
    (True, "the count is TRUE/FALSE"),
    (False, "the count is TRUE/FALSE"),
    ("nan", "the count is 'nan', not a number"),
    ("inf", "the count is infinite"),
    ("-inf", "the count is infinite"),
    ("1_000", "the count is '1_000', not a number"),
    ("lots", "the count is 'lots', not a number"),
    (math.inf, "the count is infinite"),
    (-math.inf, "the count is infinite"),
    (datetime.date(2024, 5, 1), "the count is a date"),
    (2e15, "the count 2e+15 is too large to score"),
    (1e300, "the count 1e+300 is too large to score"),
])
def test_bad_values_in_a_large_block_still_give_the_exact_message(value, message):
    block = random_block(4, n=5000)
    block[4321][2] = value
    for got in (CES_SCORE(block, WEIGHTS), CES_SCORE(block, WEIGHTS, [5, 5, 5])):
        assert got.startswith(f"#CES! activity row 4322, value 3: {message}"), got


def test_ragged_and_mixed_blocks_keep_their_messages():
    block = random_block(5, n=300)
    ragged = [list(r) for r in block]
    ragged[200] = ragged[200][:2]
    assert CES_SCORE(ragged, WEIGHTS) == "#CES! activity rows differ in length"
    mixed = [list(r) for r in block]
    mixed[100] = 4.0
    assert CES_SCORE(mixed, WEIGHTS) == "#CES! activity mixes rows and single values"


def test_numpy_scalars_and_big_integers_are_read_exactly():
    assert CES_SCORE([[np.float64(2.5), np.int64(3), 4]], WEIGHTS) == 2.5 + 6 + 20
    big = 2 ** 49 + 1  # a Python int, read as float() reads it
    assert CES_SCORE([[big]], [1]) == float(big)
    assert CES_SCORE([[10 ** 15]], [1]) == 1e15  # the largest count the table rules take
    assert CES_SCORE([[10 ** 15 + 1]], [1]).startswith("#CES! activity row 1, value 1: the count 1e+15 is too large")
    assert CES_SCORE([[10 ** 400]], [1]) == "#CES! activity row 1, value 1: the count is too large to score " \
                                             "(weighted sums would overflow or lose precision)"


def test_a_single_row_as_a_flat_list_or_a_row_of_rows():
    row = [3.0, 5.0, 8.0, 1.0, 0.0, 12.0, 6.0, 2.0, 9.0, 4.0]
    weights = [1.0 + i for i in range(10)]
    by_hand = sum(w * v for w, v in zip(weights, row))
    assert CES_SCORE(row, weights) == CES_SCORE([row], weights) == by_hand
    capped = 100 * sum(w * min(v / 8, 1) for w, v in zip(weights, row)) / sum(weights)
    assert CES_SCORE(row, weights, [8.0] * 10) == pytest.approx(capped, abs=1e-9)


def test_the_model_cache_never_mixes_up_calls():
    assert CES_SCORE([10, 5, 2], [1, 1, 5]) == 10 + 5 + 10
    # True equals 1 for a Python dict, but it is not a weight.
    assert CES_SCORE([10, 5, 2], [1, True, 5]) == "#CES! weights row 1, value 2 is TRUE/FALSE, not a number"
    assert CES_SCORE([10, 5, 2], [1, 1, 5], [10, 10, 10]) == pytest.approx(100 * (1 + 0.5 + 5 * 0.2) / 7)
    assert CES_SCORE([10, 5, 2], [1, 1, 5], [10, 10, 10], "sum") == 10 + 5 + 10
    for _ in range(2):  # a model that fails validation fails every time
        assert CES_SCORE([10, 5, 2], [1, -1, 5], [10, 10, 10]).startswith("#CES! weight -1 of metric 'Metric 2'")


def test_band_of_a_block_of_scores():
    scores = [[10.0], [None], [40.5], [75.0], [90.0]]
    assert CES_BAND(scores) == [["Very disengaged"], [""], ["Somewhat engaged"], ["Somewhat engaged"],
                                ["Very engaged"]]


# --- the numeric core against the reference implementation ---------------------------------

SPECS = [dict(weight=0.4, norm="cap", target=6), dict(weight=0.3, norm="log", target=10),
         dict(weight=0.2, norm="percentile", direction="lower"), dict(weight=0.1, norm="minmax"),
         dict(weight=0.25, norm="cap", target=3, direction="lower"), dict(weight=0.5, norm="percentile"),
         dict(weight=0.15, norm="minmax", direction="lower"), dict(weight=0.05, norm="log", target=2),
         dict(weight=0.3, norm="cap", target=9)]


def spec_model(specs, missing):
    return Model([Metric(f"M{i}", s["weight"], target=s.get("target"), normalization=s["norm"],
                         direction=s.get("direction", "higher")) for i, s in enumerate(specs)], missing=missing)


@pytest.mark.parametrize("missing", ["zero", "exclude"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_score_matrix_agrees_with_the_reference_implementation(seed, missing):
    rng = np.random.default_rng(seed)
    n = 300
    counts = rng.poisson(4, size=(n, len(SPECS))).astype(float)
    counts[rng.random(counts.shape) < 0.15] = np.nan
    counts[:3, 0] = -2.0  # negative counts score 0 under cap
    rows = [[None if np.isnan(v) else float(v) for v in row] for row in counts]
    expected = np.array([np.nan if v is None else v for v in index_scores(rows, SPECS, missing)])
    for layout in (counts, np.asfortranarray(counts)):
        got = score_matrix(layout, spec_model(SPECS, missing)).total
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_score_matrix_sum_method_by_hand():
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 50, size=(500, 4)).astype(float)
    counts[rng.random(counts.shape) < 0.1] = np.nan
    weights = [1, -2, 3, 0.5]
    model = Model([Metric(f"M{i}", w) for i, w in enumerate(weights)])
    expected = [sum(w * (0.0 if math.isnan(v) else v) for v, w in zip(row, weights)) for row in counts.tolist()]
    assert score_matrix(counts, model).total.tolist() == expected


def test_the_layout_of_the_counts_does_not_change_a_single_bit():
    """numpy adds up rows of a column-major array in another order; the core must not."""
    rng = np.random.default_rng(8)
    counts = rng.random((5000, 12)) * 10.0 ** rng.integers(-3, 9, size=(5000, 12))
    model = Model([Metric(f"M{i}", float(w)) for i, w in enumerate(rng.random(12) * 7)])
    c = score_matrix(np.ascontiguousarray(counts), model).total
    f = score_matrix(np.asfortranarray(counts), model).total
    assert c.tobytes() == f.tobytes()


def test_score_matrix_validates_unless_told_not_to():
    with pytest.raises(CESError, match="every weight is 0"):
        score_matrix(np.ones((2, 1)), Model([Metric("X", 0)]))
    with pytest.raises(ValueError, match="one column per metric"):  # a caller's bug, not bad input
        score_matrix(np.ones((2, 3)), Model([Metric("X", 1)]))
    notes: list[str] = []
    score_matrix(np.array([[-1.0], [4.0]]), Model([Metric("X", 3, target=2)]), notes)
    assert notes == ["weights sum to 3, not 1 or 100; they are used as proportions of their total",
                     "metric 'X': 1 negative value(s) score 0 under cap"]


# --- the engine's explanation columns against plain Python ----------------------------------

def test_rank_percentile_and_drivers_match_plain_python():
    rng = np.random.default_rng(11)
    n = 400
    counts = rng.integers(0, 4, size=(n, 3)).astype(float)  # small counts: many tied scores
    counts[rng.random(counts.shape) < 0.2] = np.nan
    activity = pd.DataFrame({"ID": [f"C{i}" for i in range(n)], **{f"M{i}": counts[:, i] for i in range(3)}})
    model = Model([Metric("M0", 1, target=3), Metric("M1", 1, target=2), Metric("M2", 2, normalization="minmax")],
                  missing="exclude")
    scores = score(activity, model).scores
    total = scores["Score"].tolist()
    present = [v for v in total if not math.isnan(v)]
    for i, v in enumerate(total):
        if math.isnan(v):
            assert math.isnan(scores.loc[i, "Rank"]) and math.isnan(scores.loc[i, "Percentile"])
        else:
            assert scores.loc[i, "Rank"] == 1 + sum(1 for p in present if p > v)
    percentile = normalized([None if math.isnan(v) else v for v in total], "percentile", None)
    np.testing.assert_allclose(scores["Percentile"].to_numpy(), np.array(percentile, dtype=float), atol=1e-15)
    names = ["M0", "M1", "M2"]
    points = scores[[f"{m} (points)" for m in names]].to_numpy()
    for i, row in enumerate(points.tolist()):
        best, who = -math.inf, ""
        for name, p in zip(names, row):
            if not math.isnan(p) and p > best:
                best, who = p, name
        assert scores.loc[i, "Top driver"] == (who if best > 1e-12 else "")


# --- the quick looks at IDs and segments -----------------------------------------------------

@pytest.mark.parametrize("bad, words", [
    ("", "activity column 'ID', row 901: the customer ID is blank"),
    ("   ", "activity column 'ID', row 901: the customer ID is blank"),
    ("\u3000", "activity column 'ID', row 901: the customer ID is blank"),  # an ideographic space strips away too
    (None, "activity column 'ID', row 901: the customer ID is blank"),
    ("C17", "duplicate customer IDs: 'C17'"),
])
def test_text_ids_are_still_checked(bad, words):
    ids = [f"C{i}" for i in range(1000)]
    ids[900] = bad
    with pytest.raises(CESError, match=words):
        score(pd.DataFrame({"ID": ids, "X": 1.0}), Model([Metric("X", 1)]))


def test_integer_and_mixed_ids():
    ok = score(pd.DataFrame({"ID": [1, "1", 2, "C-3"], "X": 1.0}), Model([Metric("X", 1)]))  # 1 is not "1"
    assert ok.scores["ID"].tolist() == [1, "1", 2, "C-3"]
    for ids, words in ((np.arange(1000) % 999, r"duplicate customer IDs: \S*0\b"),
                       ([1, "a", 2, 1], "duplicate customer IDs: 1"),
                       ([1, "a", " ", 4], "row 3: the customer ID is blank")):
        with pytest.raises(CESError, match=words):
            score(pd.DataFrame({"ID": ids, "X": 1.0}), Model([Metric("X", 1)]))


def test_segment_summary_by_hand():
    activity = pd.DataFrame({"ID": list("ABCDEFG"), "X": [10, 0, 5, 8, 2, 10, np.nan],
                             "Segment": ["b", " ", None, "a", np.nan, "b", ""]})
    seg = score(activity, Model([Metric("X", 1, target=10)])).segments
    assert seg["Segment"].tolist() == ["(blank)", "a", "b"]
    assert seg["Customers"].tolist() == [4, 1, 2]
    assert seg["Mean score"].tolist() == [(0 + 50 + 20 + 0) / 4, 80, 100]
    assert seg["Median score"].tolist() == [10, 80, 100]
    assert seg["Very disengaged"].tolist() == [3, 0, 0]  # 0, 20, 0
    assert seg["Somewhat engaged"].tolist() == [1, 0, 0]  # 50
    assert seg["Very engaged"].tolist() == [0, 1, 2]      # 80; 100 and 100
    assert list(seg.columns) == ["Segment", "Customers", "Mean score", "Median score", "Very disengaged",
                                 "Somewhat engaged", "Very engaged"]


def test_segment_summary_with_no_data_and_numbers_for_segments():
    activity = pd.DataFrame({"ID": list("ABCD"), "X": [10, np.nan, 4, np.nan], "Segment": [2, 1, 2, 2]})
    seg = score(activity, Model([Metric("X", 1, target=10)], missing="exclude")).segments
    assert seg["Segment"].tolist() == ["1", "2"]  # segments are labels: numbers as their text, as in a workbook
    assert seg["Customers"].tolist() == [1, 3]
    assert seg["Mean score"].tolist() == [0, 70]  # segment 1 has no scored customer
    assert seg["No data"].tolist() == [1, 1]


# --- the contract: whole-table passes against a cell-by-cell reading -----------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ces_xl.contract.activity import parse_activity  # noqa: E402
from ces_xl.grid import ExcelError, Grid  # noqa: E402

BLANKS = [None, float("nan"), "", " ", "\t", "\u3000 ", "\xa0"]
COUNTS = st.one_of(st.floats(-1e6, 1e6), st.integers(-1000, 1000),
                   st.integers(0, 500).map(lambda n: f" {n} "), st.sampled_from(["2.5", "-3", "1e3"]))
WRONG = st.sampled_from([True, False, "abc", ExcelError("#DIV/0!"), ExcelError(" "),
                         datetime.date(2026, 1, 2), float("inf")])
SEGMENTS = st.one_of(st.sampled_from(BLANKS), st.sampled_from(["Pro", "Free", " Team "]))


def cell_by_cell(header, body, metrics):
    """What the Activity contract says, read one cell at a time with plain Python: rows that
    are all blank are skipped; a blank count is NaN; a number or numeric text is its value;
    anything else is an error at the first such cell of the first metric that has one."""
    def blank(v):
        return v is None or (isinstance(v, float) and math.isnan(v)) or (type(v) is str and v.isspace()) or v == ""

    rows = [(i, r) for i, r in enumerate(body, start=2) if not all(blank(v) for v in r)]
    table = {"ID": [r[0] for _, r in rows]}
    for name in metrics:
        c = header.index(name)
        column = []
        for i, r in rows:
            v = r[c]
            if blank(v):
                column.append(math.nan)
            elif type(v) in (int, float) and math.isfinite(v):
                column.append(float(v))
            elif type(v) is str and v != "abc":  # the only text drawn that is not a number
                column.append(float(v.strip()))
            else:
                return f"Activity!{'ABCD'[c]}{i}"
        table[name] = column
    table["Segment"] = [None if blank(r[3]) else r[3] for _, r in rows]
    return table


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), COUNTS | st.sampled_from(BLANKS), COUNTS | st.sampled_from(BLANKS),
                          SEGMENTS), min_size=1, max_size=25),
       st.one_of(st.none(), st.tuples(st.integers(0, 24), st.integers(1, 2), WRONG)), st.booleans())
def test_the_activity_table_is_read_as_cell_by_cell_rules_say(rows, wrong, as_array):
    header = ["ID", "Visits", "Orders", "Segment"]
    body = [["", a if a in BLANKS else "", b if b in BLANKS else "", s if s in BLANKS else ""]
            if empty else [f"C{i}", a, b, s] for i, (empty, a, b, s) in enumerate(rows)]
    if wrong is not None and wrong[0] < len(body) and body[wrong[0]][0]:
        body[wrong[0]][wrong[1]] = wrong[2]
    expected = cell_by_cell(header, body, ["Visits", "Orders"])
    grid_rows = np.array([header, *body], dtype=object) if as_array else [header, *body]
    model = Model([Metric("Visits", 1), Metric("Orders", 2)])
    if isinstance(expected, str):
        with pytest.raises(CESError) as caught:
            parse_activity(Grid("Activity", grid_rows), model)
        assert caught.value.where == expected
        return
    if not expected["ID"]:
        with pytest.raises(CESError, match="no customer rows"):
            parse_activity(Grid("Activity", grid_rows), model)
        return
    parsed = parse_activity(Grid("Activity", grid_rows), model)
    table = parsed.frame()
    assert parsed.id_header == "ID" and list(table.columns) == header
    assert table["ID"].tolist() == expected["ID"]
    for name in ("Visits", "Orders"):
        assert table[name].dtype == float
        np.testing.assert_array_equal(table[name].to_numpy(), np.array(expected[name], dtype=float))
    assert table["Segment"].tolist() == expected["Segment"]


@pytest.mark.parametrize("value", [True, False, "abc", ExcelError("#N/A"), datetime.date(2026, 1, 2), float("inf"),
                                   2e15])
@pytest.mark.parametrize("as_array", [False, True])
def test_one_bad_cell_in_a_column_of_floats_is_named(value, as_array):
    # Floats and blanks only, as a reader gives them, take the whole-table road; one odd cell
    # anywhere in the column must still stop it, at that cell.
    body = [[f"C{i}", float(i % 7), "" if i % 5 == 0 else float(i % 3)] for i in range(300)]
    body[211][2] = value
    rows = [["ID", "Visits", "Orders"], *body]
    grid = Grid("Activity", np.array(rows, dtype=object) if as_array else rows)
    with pytest.raises(CESError) as caught:
        parse_activity(grid, Model([Metric("Visits", 1), Metric("Orders", 2)]))
    assert caught.value.where == "Activity!C213"


# --- the writer: a float column at once against one cell at a time ------------------------------

from ces_xl.xlsx import sheetxml  # noqa: E402
from ces_xl.xlsx.styles import StyleSheet  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(), st.integers(-2**60, 2**60).map(float),
                          st.sampled_from([0.0, -0.0, 2.0**53, 2.0**53 - 1, -(2.0**53), 0.1 + 0.2])), max_size=60))
def test_a_float_column_is_written_as_each_cell_alone_would_be(values):
    array = np.array(values, dtype=float)
    expected = [sheetxml.cell_tail(v, 3, 0, StyleSheet(None)) for v in values]
    assert [tail.decode() for tail in sheetxml._float_tails(array, 3)] == expected
    assert [tail.decode() for tail in sheetxml._float_tail_each(array, 3).tolist()] == expected  # no repeats
    for v, tail in zip(values, expected):  # and each number reads back exactly
        if math.isfinite(v):
            assert float(tail[len(' s="3"><v>'):-len("</v></c>")]) == v
        else:
            assert tail == ' s="3"/>'


def test_a_cell_that_cannot_be_compared_does_not_spoil_the_blanks_elsewhere():
    # pandas' <NA> (from a caller's own grid) cannot be compared with "": the empty cells
    # around it must still count as blank, and <NA> itself is blank.
    rows = [["ID", "Visits", "Notes"], ["C1", 1.0, pd.NA], ["", "", ""], ["C2", 2.0, "x"]]
    table = parse_activity(Grid("Activity", rows), Model([Metric("Visits", 1)])).frame()
    assert table["ID"].tolist() == ["C1", "C2"]
    assert table["Visits"].tolist() == [1.0, 2.0]


def test_empty_error_values_are_blank_and_others_are_not():
    rows = [["ID", "Visits"], ["C1", ExcelError("")], ["C2", 1.0]]
    table = parse_activity(Grid("Activity", rows), Model([Metric("Visits", 1)])).frame()
    assert np.isnan(table["Visits"][0]) and table["Visits"][1] == 1.0
    rows[1][1] = ExcelError("#N/A")
    with pytest.raises(CESError) as caught:
        parse_activity(Grid("Activity", rows), Model([Metric("Visits", 1)]))
    assert caught.value.where == "Activity!B2"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("ab &<>_x0041\n\t \u3000=é€")), min_size=1, max_size=8),
                min_size=1, max_size=20))
def test_plain_text_columns_take_the_quick_road_to_the_same_cells(values):
    # One search over the joined column stands in for a search per value: the same cells either way.
    assert [tail.decode() for tail in sheetxml._text_tails(values, 3)] == [
        f' s="3" t="inlineStr">{sheetxml.inline_text(v)}</c>' for v in values]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["Re-engage", "Upsell", "a & <b>", "=1+1", " x "])),
                min_size=1, max_size=30), st.integers(1, 4))
def test_a_categorical_text_column_is_written_as_its_text_would_be(values, piece):
    # Actions' labels come as categories with their codes: the same cells as the plain text.
    from ces_xl.layout import Block

    def xml(column) -> bytes:
        rows = sheetxml._BlockRows(Block(0, 0, pd.DataFrame({"Action": column, "n": range(len(values))})),
                                   StyleSheet(None))
        return b"".join(rows.render(start) for start in rows.starts)

    original = sheetxml.CHUNK_ROWS
    sheetxml.CHUNK_ROWS = piece  # several pieces of rows
    try:
        assert xml(pd.Categorical(values)) == xml(pd.Series(values, dtype=object))
    finally:
        sheetxml.CHUNK_ROWS = original
