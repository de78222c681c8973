"""Properties the score must have for any activity table (hypothesis)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import ces_xl
from ces_xl import Metric, Model, score

from .reference import band

NORMS = ["cap", "log", "percentile", "minmax"]
counts = st.one_of(st.integers(0, 500).map(float), st.floats(0, 1e6, allow_nan=False), st.just(np.nan))


@st.composite
def tables(draw, missing=st.sampled_from(["zero", "exclude"])):
    n_metrics = draw(st.integers(1, 4))
    n_rows = draw(st.integers(1, 12))
    metrics = []
    for i in range(n_metrics):
        norm = draw(st.sampled_from(NORMS))
        metrics.append(Metric(f"M{i}", draw(st.floats(0.01, 100)), normalization=norm,
                              target=draw(st.floats(0.5, 1000)) if norm in ("cap", "log") else None,
                              direction=draw(st.sampled_from(["higher", "lower"]))))
    data = {f"M{i}": draw(st.lists(counts, min_size=n_rows, max_size=n_rows)) for i in range(n_metrics)}
    activity = pd.DataFrame({"ID": [f"C{r}" for r in range(n_rows)], **data})
    return activity, Model(metrics, method="index", missing=draw(missing))


@settings(max_examples=150, deadline=None)
@given(tables())
def test_index_scores_stay_within_0_and_100_and_contributions_add_up(table):
    activity, model = table
    scores = score(activity, model).scores
    values = scores["Score"].dropna()
    assert ((values >= 0) & (values <= 100)).all()
    points = scores[[f"M{i} (points)" for i in range(len(model.metrics))]]
    for row, total in zip(points.itertuples(index=False), scores["Score"]):
        if not np.isnan(total):
            assert np.nansum(row) == np.float64(total) or abs(np.nansum(row) - total) < 1e-7


@settings(max_examples=150, deadline=None)
@given(tables(missing=st.just("zero")), st.data())
def test_a_score_never_falls_when_a_higher_is_better_metric_rises(table, data):
    activity, model = table
    rising = [i for i, m in enumerate(model.metrics) if m.direction == "higher"]
    if not rising:
        return
    i = data.draw(st.sampled_from(rising))
    row = data.draw(st.integers(0, len(activity) - 1))
    before = score(activity, model).scores["Score"].iloc[row]
    more = activity.copy()
    more.loc[row, f"M{i}"] = np.nan_to_num(more.loc[row, f"M{i}"]) + data.draw(st.floats(0.001, 1000))
    after = score(more, model).scores["Score"].iloc[row]
    assert after >= before - 1e-9


@settings(max_examples=100, deadline=None)
@given(tables(), st.randoms(use_true_random=False))
def test_row_order_does_not_change_a_customers_score(table, random):
    activity, model = table
    order = list(range(len(activity)))
    random.shuffle(order)
    first = score(activity, model).scores.set_index("ID")
    shuffled = score(activity.iloc[order].reset_index(drop=True), model).scores.set_index("ID")
    pd.testing.assert_series_equal(first["Score"], shuffled.loc[first.index, "Score"], check_exact=False)
    assert (first["Band"] == shuffled.loc[first.index, "Band"]).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-50, 150, allow_nan=False), min_size=1, max_size=30))
def test_bands_always_follow_the_spec_rule(values):
    bands = [(b.label, b.lower, b.upper) for b in ces_xl.DEFAULT_BANDS]
    assert ces_xl.assign_bands(values, ces_xl.DEFAULT_BANDS).tolist() == [band(v, bands) for v in values]
