"""The scoring core on the seeds' examples and small tables checked by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import ces_xl
from ces_xl import Band, CESError, Metric, Model, assign_bands, score

from .reference import index_scores

DEFAULT_LABELS = ["Very disengaged", "Somewhat engaged", "Very engaged"]


def frame(ids, **columns) -> pd.DataFrame:
    return pd.DataFrame({"Customer": ids, **columns})


# --- seed 001: the sum method ------------------------------------------------------------

def test_seed_001_scores_30():
    activity = frame(["C-1"], **{"Website Visit": [10], "Email Click": [5], "Purchase": [2]})
    model = Model([Metric("Website Visit", 1), Metric("Email Click", 2), Metric("Purchase", 5)])
    result = score(activity, model)
    assert result.method == "sum"
    assert result.scores.loc[0, "Score"] == 30
    # Each activity's row of seed 001's table: 10, 10 and 10 points.
    assert result.scores.loc[0, ["Website Visit (points)", "Email Click (points)", "Purchase (points)"]].tolist() \
        == [10, 10, 10]


def test_sum_method_negative_weight_is_a_penalty():
    activity = frame(["A", "B"], Visits=[10, 3], Complaints=[2, 0])
    result = score(activity, Model([Metric("Visits", 1), Metric("Complaints", -3)]))
    assert result.scores["Score"].tolist() == [10 - 6, 3]
    assert result.scores["Top driver"].tolist() == ["Visits", "Visits"]


# --- seed 000: the weighted formula on normalised scores ---------------------------------

SEED_000 = [("Website Interactions", 0.2), ("Purchase Frequency", 0.3), ("Social Media Interactions", 0.1),
            ("Email Engagement", 0.15), ("Product Reviews", 0.1), ("Customer Support Interactions", 0.05),
            ("Loyalty Program Participation", 0.1)]


def test_seed_000_formula_with_its_weights():
    # Targets of 10 turn counts into the normalised scores 0.8, 0.5, 1, 0.3, 0, 1 (capped), 0.6.
    counts = [8, 5, 10, 3, 0, 12, 6]
    activity = frame(["C-1"], **{name: [n] for (name, _), n in zip(SEED_000, counts)})
    model = Model([Metric(name, w, target=10) for name, w in SEED_000])
    result = score(activity, model)
    # Seed 000: CES = sum(score_i x weight_i) = .2*.8 + .3*.5 + .1*1 + .15*.3 + .1*0 + .05*1 + .1*.6
    # = 0.565, on a 0-100 scale 56.5.
    assert result.method == "index"
    assert result.scores.loc[0, "Score"] == pytest.approx(56.5)
    assert result.scores.loc[0, "Band"] == "Somewhat engaged"
    assert result.scores.loc[0, "Top driver"] == "Website Interactions"  # 16 points, the most
    assert result.scores.loc[0, "Biggest gap"] == "Purchase Frequency"   # 15 points left on the table


def test_weights_need_not_sum_to_one_and_a_note_says_so():
    activity = frame(["A"], X=[10], Y=[0])
    result = score(activity, Model([Metric("X", 3, target=10), Metric("Y", 1, target=10)]))
    assert result.scores.loc[0, "Score"] == pytest.approx(75)  # 100 * 3 / (3 + 1)
    assert any("sum to 4" in n for n in result.notes)
    same = score(activity, Model([Metric("X", 75, target=10), Metric("Y", 25, target=10)]))
    assert same.scores.loc[0, "Score"] == pytest.approx(75)
    assert not any("sum to" in n for n in same.notes)


# --- seed 004: bands ----------------------------------------------------------------------

@pytest.mark.parametrize("value, label", [
    (40, "Very disengaged"), (40.5, "Somewhat engaged"), (41, "Somewhat engaged"),
    (75, "Somewhat engaged"), (75.2, "Very engaged"), (76, "Very engaged"),
    (0, "Very disengaged"), (-12, "Very disengaged"), (100, "Very engaged"), (130, "Very engaged"),
])
def test_seed_004_bands(value, label):
    assert assign_bands([value], ces_xl.DEFAULT_BANDS).tolist() == [label]


@pytest.mark.parametrize("targets, counts, exact, label", [
    # 100 * (0.1 * 3/3 + 0.7 * 5/7) / 0.8 = 100 * 0.6 / 0.8 = 75 exactly
    ((3, 7), (3, 5), 75, "Somewhat engaged"),
    # 100 * (0.1 * 1/6 + 0.7 * 13/30) / 0.8 = 100 * (1/60 + 18.2/60) / 0.8 = 40 exactly
    ((6, 30), (1, 13), 40, "Very disengaged"),
])
def test_scores_exactly_on_a_boundary_are_not_pushed_up_by_float_noise(targets, counts, exact, label):
    weights = (0.1, 0.7)
    naive = sum(100 * (c / t) * w / sum(weights) for c, t, w in zip(counts, targets, weights))
    assert naive > exact  # the float noise is real: naive arithmetic lands just above the boundary
    activity = frame(["A"], X=[counts[0]], Y=[counts[1]])
    model = Model([Metric("X", weights[0], target=targets[0]), Metric("Y", weights[1], target=targets[1])])
    result = score(activity, model)
    assert result.scores.loc[0, "Score"] == exact
    assert result.scores.loc[0, "Band"] == label


def test_custom_bands():
    bands = (Band("Cold", 0, 49.99), Band("Warm", 50, 100))
    labels = assign_bands([49.99, 49.995, 50, 0], bands).tolist()
    assert labels == ["Cold", "Warm", "Warm", "Cold"]


# --- normalizations -----------------------------------------------------------------------

def one_metric(values, **metric) -> list[float]:
    activity = frame([f"C{i}" for i in range(len(values))], X=values)
    return score(activity, Model([Metric("X", 1, **metric)])).scores["Score"].tolist()


def test_cap():
    assert one_metric([0, 5, 10, 20], target=10) == [0, 50, 100, 100]


def test_cap_is_the_default_with_a_target():
    assert one_metric([0, 5, 10, 20], target=10, normalization="cap") == one_metric([0, 5, 10, 20], target=10)


def test_log():
    got = one_metric([0, 3, 9, 99], target=9, normalization="log")
    # ln(1+3) / ln(1+9) = ln 4 / ln 10 = 0.60206
    assert got == pytest.approx([0, 60.206, 100, 100], abs=1e-3)


def test_percentile_ties_share_the_average_rank():
    # Ranks 1, 2.5, 2.5, 4 -> (rank - 1) / 3 = 0, 0.5, 0.5, 1.
    assert one_metric([10, 20, 20, 40], normalization="percentile") == pytest.approx([0, 50, 50, 100])


def test_minmax():
    assert one_metric([2, 4, 10], normalization="minmax") == pytest.approx([0, 25, 100])


@pytest.mark.parametrize("norm", ["percentile", "minmax"])
def test_relative_normalizations_of_a_constant_column_are_one_half(norm):
    activity = frame(["A", "B", "C"], X=[7, 7, 7])
    result = score(activity, Model([Metric("X", 1, normalization=norm)]))
    assert result.scores["Score"].tolist() == [50, 50, 50]
    assert any("same value for every customer" in n for n in result.notes)
    assert one_metric([3], normalization=norm) == [50]


@pytest.mark.parametrize("norm, metric", [("cap", {"target": 10}), ("log", {"target": 9}),
                                          ("percentile", {}), ("minmax", {})])
def test_direction_lower_mirrors_higher(norm, metric):
    values = [0, 3, 9, 12]
    higher = one_metric(values, normalization=norm, **metric)
    lower = one_metric(values, normalization=norm, direction="lower", **metric)
    assert lower == pytest.approx([100 - h for h in higher])


def test_direction_lower_by_hand():
    assert one_metric([0, 5, 10], target=10, direction="lower") == [100, 50, 0]


def test_negative_counts_score_zero_under_cap_with_a_note():
    activity = frame(["A", "B"], X=[-5, 5])
    result = score(activity, Model([Metric("X", 1, target=10)]))
    assert result.scores["Score"].tolist() == [0, 50]
    assert any("negative" in n for n in result.notes)


# --- missing values -----------------------------------------------------------------------

def test_missing_zero_counts_a_blank_as_zero():
    activity = frame(["A", "B"], A=[10, np.nan], B=[np.nan, 10])
    model = Model([Metric("A", 1, target=10), Metric("B", 3, target=10)])
    result = score(activity, model)
    assert result.scores["Score"].tolist() == [25, 75]  # 100*1/4 and 100*3/4
    assert "Data coverage" not in result.scores


def test_missing_exclude_renormalises_over_present_metrics_and_reports_coverage():
    activity = frame(["A", "B", "C"], A=[10, np.nan, np.nan], B=[np.nan, 5, np.nan])
    model = Model([Metric("A", 1, target=10), Metric("B", 3, target=10)], missing="exclude")
    result = score(activity, model)
    scores = result.scores
    assert scores.loc[0, "Score"] == 100       # only A counts: 100 * 1*1 / 1
    assert scores.loc[1, "Score"] == 50        # only B counts: 100 * 3*0.5 / 3
    assert math.isnan(scores.loc[2, "Score"])  # no data at all: no made-up score
    assert scores["Band"].tolist() == ["Very engaged", "Somewhat engaged", ces_xl.NO_DATA]
    assert scores["Data coverage"].tolist() == [0.25, 0.75, 0]
    assert math.isnan(scores.loc[0, "B (points)"])  # excluded, not zero
    assert any("no data" in n for n in result.notes)
    assert result.bands.set_index("Band").loc[ces_xl.NO_DATA, "Customers"] == 1


def test_missing_exclude_keeps_blanks_out_of_the_percentile_population():
    activity = frame(["A", "B", "C", "D"], X=[1, np.nan, 2, 3])
    model = Model([Metric("X", 1, normalization="percentile")], missing="exclude")
    scores = score(activity, model).scores["Score"].tolist()
    assert scores[0] == 0 and scores[2] == 50 and scores[3] == 100 and math.isnan(scores[1])
    # Under "zero" the blank is a 0 and takes the bottom rank.
    zero = score(activity, model.with_settings(missing="zero")).scores["Score"].tolist()
    assert zero == pytest.approx([100 / 3, 0, 200 / 3, 100])


# --- the explanation columns ---------------------------------------------------------------

def test_rank_percentile_and_contributions():
    activity = frame(["A", "B", "C", "D"], X=[5, 8, 8, 1], Y=[0, 2, 2, 0])
    model = Model([Metric("X", 0.5, target=10), Metric("Y", 0.5, target=4)])
    s = score(activity, model).scores
    assert s["Score"].tolist() == [25, 65, 65, 5]
    assert s["Rank"].tolist() == [3, 1, 1, 4]              # ties share the best rank
    assert s["Percentile"].tolist() == [1 / 3, 5 / 6, 5 / 6, 0]  # mid-rank, like the normalization
    points = s[["X (points)", "Y (points)"]].sum(axis=1)
    assert points.tolist() == pytest.approx(s["Score"].tolist())
    assert s["Top driver"].tolist() == ["X", "X", "X", "X"]
    assert s["Biggest gap"].tolist() == ["Y", "Y", "Y", "Y"]
    assert list(s.columns[:6]) == ["Customer", "Score", "Band", "Rank", "Percentile", "Top driver"]


def test_no_activity_means_no_top_driver():
    s = score(frame(["A"], X=[0]), Model([Metric("X", 1, target=5)])).scores
    assert s.loc[0, "Top driver"] == ""


def test_segments_roll_up():
    activity = frame(["A", "B", "C"], X=[10, 0, 5], Segment=["SMB", "SMB", "Enterprise"])
    result = score(activity, Model([Metric("X", 1, target=10)]))
    seg = result.segments.set_index("Segment")
    assert seg.loc["SMB", "Customers"] == 2 and seg.loc["SMB", "Mean score"] == 50
    assert seg.loc["Enterprise", "Somewhat engaged"] == 1
    assert result.scores["Segment"].tolist() == ["SMB", "SMB", "Enterprise"]
    assert result.bands["Customers"].tolist() == [1, 1, 1]


def test_method_auto_and_explicit():
    activity = frame(["A"], X=[4])
    assert score(activity, Model([Metric("X", 2)])).scores.loc[0, "Score"] == 8
    assert score(activity, Model([Metric("X", 2, target=8)])).scores.loc[0, "Score"] == 50
    assert score(activity, Model([Metric("X", 2, target=8)], method="sum")).scores.loc[0, "Score"] == 8


def test_headers_match_case_and_space_insensitively():
    activity = pd.DataFrame({"id": ["A"], " email  CLICKS ": [3]})
    assert score(activity, Model([Metric("Email clicks", 2)])).scores.loc[0, "Score"] == 6


def test_engine_agrees_with_the_reference_implementation():
    rng = np.random.default_rng(7)
    n = 200
    counts = rng.poisson(4, size=(n, 4)).astype(float)
    counts[rng.random((n, 4)) < 0.1] = np.nan
    specs = [dict(weight=0.4, norm="cap", target=6), dict(weight=0.3, norm="log", target=10),
             dict(weight=0.2, norm="percentile", direction="lower"), dict(weight=0.1, norm="minmax")]
    activity = frame([f"C{i}" for i in range(n)], **{f"M{i}": counts[:, i] for i in range(4)})
    for missing in ("zero", "exclude"):
        model = Model([Metric(f"M{i}", s["weight"], target=s.get("target"), normalization=s["norm"],
                              direction=s.get("direction", "higher")) for i, s in enumerate(specs)],
                      missing=missing)
        got = score(activity, model).scores["Score"].to_numpy()
        rows = [[None if np.isnan(v) else float(v) for v in row] for row in counts]
        expected = np.array([np.nan if v is None else v for v in index_scores(rows, specs, missing)])
        np.testing.assert_allclose(got, expected, atol=1e-9)


# --- model validation (Python-built models name the metric and field) -------------------------

@pytest.mark.parametrize("model, words", [
    (Model([Metric("X", 0), Metric("Y", 0)]), "every weight is 0"),
    (Model([Metric("X", -1, target=5)]), "negative"),
    (Model([Metric("X", 1, target=0)]), "must be a number above 0"),
    (Model([Metric("X", 1, normalization="sqrt")]), "normalization 'sqrt'"),
    (Model([Metric("X", 1, target=5, direction="up")]), "direction 'up'"),
    (Model([Metric("X", 1, normalization="cap")]), "has no target"),
    (Model([Metric("X", 1)], method="average"), "unknown method"),
    (Model([Metric("X", 1)], missing="mean"), "missing-value policy"),
    (Model([Metric("X", 1), Metric(" x", 2)]), "listed twice"),
    (Model([Metric("X", 1)], bands=(Band("A", 0, 50), Band("B", 50, 100))), "overlaps"),
    (Model([Metric("X", 1)], bands=(Band("A", 50, 100), Band("B", 0, 49))), "ascending"),
    (Model([Metric("X", 1)], bands=(Band("A", 60, 40),)), "From no larger than To"),
])
def test_invalid_models_are_refused(model, words):
    with pytest.raises(CESError, match=words):
        score(frame(["A"], X=[1], Y=[1]), model)


@pytest.mark.parametrize("activity, words", [
    (frame(["A", "A"], X=[1, 2]), "duplicate customer IDs: 'A'"),
    (frame(["A", None], X=[1, 2]), "blank"),
    (frame(["A"], X=["lots"]), "activity column 'X', row 1: the count is 'lots', not a number"),
    (frame(["A"], Z=[1]), "metric 'X' has no column in the activity table"),
    (frame([], X=[]), "no customer rows"),
])
def test_bad_activity_is_refused(activity, words):
    with pytest.raises(CESError, match=words):
        score(activity, Model([Metric("X", 1)]))
