"""To next band and Fastest lift (SPEC "Actions: who to call, and what it would take").

The hand-worked cases use the default bands (up to 40, above 40 to 75, above 75). The property
checks every lift the way a user would: put the suggested events into the table, score the whole
table again with the engine, and look at the band; one event fewer must not be enough, and no
other metric may get there with fewer."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ces_xl
from ces_xl.core.bands import band_index

VD, SE, VE = "Very disengaged", "Somewhat engaged", "Very engaged"


def scored(rows: dict, metrics: list, **model) -> pd.DataFrame:
    frame = pd.DataFrame({"Customer": list(rows), **{
        m.name: [r[i] for r in rows.values()] for i, m in enumerate(metrics)}})
    return ces_xl.score(frame, ces_xl.Model(metrics, **model)).scores.set_index("Customer")


def lift_of(scores: pd.DataFrame, customer: str) -> tuple[float, object]:
    row = scores.loc[customer]
    return row["To next band"], row["Fastest lift"]


# --- hand-worked --------------------------------------------------------------------------------

def test_the_heaviest_metrics_cap_stops_exactly_at_the_boundary_so_another_is_chosen():
    # Index method, weights 6 and 4 (shares 60% and 40%). Orders: target 10; Visits: target 20.
    # C-1 has 0 orders and 10 visits: 0.6 x 0 + 0.4 x 0.5 = 20 points. To pass 40 it needs 20 more.
    # Orders alone: k orders give 60 x k/10 points, past 20 from k = 4 (24 points; 3 give 18).
    # C-2 has 5 orders and 0 visits: 30 points, 10 to go; and C-3: 6 orders, 5 visits (36 + 10 = 46).
    # C-3 needs to pass 75 (29 to go): Orders can add only 60 x 0.4 = 24 (its cap), so never;
    # Visits can add 40 x 0.75 = 30 > 29: past 75 when 40 x (5 + k)/20 > 39, k >= 15 (14 give 38).
    # C-4: 7 orders, 10 visits: 42 + 20 = 62, 13 to go. Orders: 6 points each, k = 3 (80; 2 give 74).
    # Visits: 2 points each, k = 7. C-5: 10 orders, 10 visits = 80: the top band, nothing to reach.
    # C-6: 9 orders, 0 visits: 54, 21 to go: Orders can add only 6 (to 60); Visits can add 40:
    # 40 x k/20 > 21 -> k = 11 (10 give 20). C-8: 10 orders, 7.5 visits: 60 + 15 = 75, exactly
    # the bound; Orders are capped (can add nothing); Visits: 40 x (7.5 + k)/20 > 15 -> k = 1.
    metrics = [ces_xl.Metric("Orders", 6, target=10), ces_xl.Metric("Visits", 4, target=20)]
    s = scored({"C-1": (0, 10), "C-2": (5, 0), "C-3": (6, 5), "C-4": (7, 10), "C-5": (10, 10), "C-6": (9, 0),
                "C-8": (10, 7.5)}, metrics)
    assert lift_of(s, "C-1") == (20, "+4 Orders")
    assert lift_of(s, "C-2") == (10, "+2 Orders")      # 60 x 7/10 = 42 > 40; 6 orders give 36
    assert lift_of(s, "C-3") == (29, "+15 Visits")
    assert lift_of(s, "C-4") == (13, "+3 Orders")
    assert s.loc["C-5", "Band"] == VE and math.isnan(s.loc["C-5", "To next band"])
    assert s.loc["C-5", "Fastest lift"] is None
    assert lift_of(s, "C-6") == (21, "+11 Visits")
    assert s.loc["C-8", "Band"] == SE and lift_of(s, "C-8") == (0, "+1 Visits")


def test_a_cap_that_reaches_only_up_to_the_boundary_does_not_qualify():
    # One metric, weight 1, target 10: each order is 10 points. 4 orders = 40, the top of the
    # first band; passing 75 takes 8 (80). With bands whose bound is 100 (To 100 for the middle
    # band and a top band above it), the cap brings the score to 100 at most: never past.
    bands = [ces_xl.Band("Low", 0, 40), ces_xl.Band("Mid", 41, 100), ces_xl.Band("Beyond", 101, 200)]
    s = scored({"C-1": (4,), "C-2": (6,)}, [ces_xl.Metric("Orders", 1, target=10)], bands=bands)
    assert lift_of(s, "C-1") == (0, "+1 Orders")
    assert s.loc["C-2", "Band"] == "Mid" and s.loc["C-2", "To next band"] == 40
    assert s.loc["C-2", "Fastest lift"] is None


def test_no_single_metric_can_get_there():
    # Two metrics of equal weight, targets 10: each adds at most 50. C-1 has 0 and 0; passing 75
    # needs both. Its lift into the middle band (past 40): 50 x k/10 > 40, k = 9 (8 give 40: not past).
    metrics = [ces_xl.Metric("A", 1, target=10), ces_xl.Metric("B", 1, target=10)]
    s = scored({"C-1": (0, 0), "C-2": (2, 6)}, metrics)
    assert lift_of(s, "C-1") == (40, "+9 A")          # ties go to the metric listed first
    # C-2: 10 + 30 = 40 -> to 75 needs 35 more: A can add 40 (k: 50 x (2+k)/10 > 45, k = 8), B 20.
    s2 = scored({"C-2": (2, 9), "C-3": (0, 4)}, metrics)
    assert lift_of(s2, "C-2") == (20, "+5 A")         # 10 + 45 = 55; 50 x (2+k)/10 > 30 -> k = 5 (4 give 30)
    s3 = scored({"C-4": (9, 10)}, metrics)            # 45 + 50 = 95: top band
    assert s3.loc["C-4", "Band"] == VE
    s4 = scored({"C-5": (1, 1)}, metrics, bands=[ces_xl.Band("Low", 0, 60), ces_xl.Band("High", 61, 100)])
    # 5 + 5 = 10; past 60 needs 50 more: A can add only 45, so can B: no single metric gets there.
    assert lift_of(s4, "C-5") == (50, None)


def test_log_normalization():
    # log, target 99: s = ln(1 + x) / ln(100). One metric, weight 1: score = 100 ln(1+x)/ln(100).
    # x = 4: 100 ln 5 / ln 100 = 34.95: past 40 needs ln(1+x) > 0.4 ln 100 = ln(100^0.4) = ln 6.31,
    # so 1 + x > 6.31, x >= 6: k = 2. Past 75 from x = 6 needs 1 + x > 100^0.75 = 31.62: x >= 31, k = 25.
    metric = ces_xl.Metric("Logins", 1, target=99, normalization="log")
    s = scored({"C-1": (4,), "C-2": (6,)}, [metric])
    assert s.loc["C-1", "Score"] == pytest.approx(100 * math.log(5) / math.log(100))
    assert s.loc["C-1", "Fastest lift"] == "+2 Logins"
    assert s.loc["C-2", "Fastest lift"] == "+25 Logins"


def test_lower_is_better_lifts_by_fewer_events():
    # Support tickets, Direction lower, target 10 (cap): s = 1 - min(x/10, 1). With Visits
    # (target 10) at equal weight. C-1: 8 tickets, 2 visits: 50 x 0.2 + 50 x 0.2 = 20; past 40
    # needs 20 more: fewer tickets add 5 each (k > 4: -5 tickets), visits 5 each (+5 visits):
    # a tie, and ties go to the metric listed first: -5 Support tickets.
    metrics = [ces_xl.Metric("Support tickets", 1, target=10, direction="lower"), ces_xl.Metric("Visits", 1, target=10)]
    s = scored({"C-1": (8, 2), "C-2": (3, 0), "C-3": (14, 10)}, metrics)
    assert lift_of(s, "C-1") == (20, "-5 Support tickets")
    # C-2: 35 + 0 = 35, 5 to pass 40: one ticket fewer gives 40 (not past), two give 45: -2; Visits: +2 (45).
    assert lift_of(s, "C-2") == (5, "-2 Support tickets")
    # C-3: 14 tickets (0 points: over the cap), 10 visits (50): 50, 25 to pass 75; Visits is capped;
    # tickets must fall below 5: 14 - k < 5, k = 10 (9 leave 5 tickets: 25 points, exactly 75).
    assert lift_of(s, "C-3") == (25, "-10 Support tickets")
    # One customer with no tickets cannot have fewer.
    s2 = scored({"C-4": (0, 1)}, metrics)             # 50 + 5 = 55: Visits +5 gives 80
    assert lift_of(s2, "C-4") == (20, "+5 Visits")


def test_the_sum_method_with_a_negative_weight():
    # Visits x 1, Orders x 10, Complaints x -5. C-1: 10 visits, 2 orders, 4 complaints: 10 + 20 - 20 = 10.
    # Past 40 (30 to go): orders +4 (50), visits +31, complaints: 4 fewer give 30 (the most there are).
    metrics = [ces_xl.Metric("Visits", 1), ces_xl.Metric("Orders", 10), ces_xl.Metric("Complaints", -5)]
    s = scored({"C-1": (10, 2, 4), "C-2": (30, 1, 1)}, metrics)
    assert lift_of(s, "C-1") == (30, "+4 Orders")
    # C-2: 30 + 10 - 5 = 35, 5 to go: one complaint fewer gives 40 (not past); orders +1 gives 45.
    assert lift_of(s, "C-2") == (5, "+1 Orders")
    s2 = scored({"C-3": (36, 2)}, metrics[::2])  # Visits and Complaints only: 36 - 10 = 26, 14 to go
    # Complaints: two fewer add 10 (36): not enough; visits: +15 (41).
    assert lift_of(s2, "C-3") == (14, "+15 Visits")
    s3 = scored({"C-4": (39, 0, 1)}, metrics)         # 39 - 5 = 34: one complaint fewer gives 39; +7 visits 41
    assert lift_of(s3, "C-4") == (6, "+1 Orders")


def test_percentile_with_the_rest_of_the_population_held_fixed():
    # One metric, percentile: (mid-rank - 1) / (n - 1). Values 0, 1, 2, 3, 4 (n = 5): C-0 scores 0.
    # To pass 40 its percentile must exceed 0.4: moving to v among the others 1, 2, 3, 4 gives
    # below = #others < v, equal = #others == v, rank = below + (equal + 2)/2, score 100 (rank-1)/4.
    # v = 2: below 1, equal 1 -> rank 2.5, 37.5; v = 3: rank 3.5, 62.5 > 40: k = 3.
    metric = ces_xl.Metric("Visits", 1, normalization="percentile")
    s = scored({f"C-{v}": (v,) for v in range(5)}, [metric])
    assert s.loc["C-0", "Score"] == 0 and lift_of(s, "C-0") == (40, "+3 Visits")
    # C-2 (score 50) must pass 75: v = 4 ties the top (rank 4.5: 87.5): k = 2.
    assert lift_of(s, "C-2") == (25, "+2 Visits")


def test_minmax_moves_the_customer_among_the_others():
    # minmax over 0, 10, 20 (one metric): C-0 scores 0; passing 40 needs (v - 0)/(20 - 0) > 0.4
    # where the minimum of the population becomes min(10, v): v = 9 -> (9 - 9)/(20 - 9) = 0!
    # The others are 10 and 20: v <= 10 gives (v - v)/(20 - v) = 0; v = 10 gives 0 (ties the
    # minimum); v = 15: (15 - 10)/10 = 0.5 > 0.4: but 14 gives 0.4 (not past): k = 15.
    metric = ces_xl.Metric("Visits", 1, normalization="minmax")
    s = scored({"C-0": (0,), "C-10": (10,), "C-20": (20,)}, [metric])
    assert lift_of(s, "C-0") == (40, "+15 Visits")


def test_a_customer_in_the_top_band_or_without_a_score_has_none():
    metrics = [ces_xl.Metric("A", 1, target=10)]
    s = scored({"C-1": (10,), "C-2": (None,)}, metrics, missing="exclude")
    assert s.loc["C-1", "Band"] == VE and math.isnan(s.loc["C-1", "To next band"])
    assert s.loc["C-2", "Band"] == ces_xl.NO_DATA and math.isnan(s.loc["C-2", "To next band"])
    assert s.loc["C-2", "Fastest lift"] is None


# --- the property: apply the lift, score again ---------------------------------------------------

@st.composite
def books(draw):
    method = draw(st.sampled_from(["index", "sum"]))
    m = draw(st.integers(1, 3))
    metrics = []
    for i in range(m):
        if method == "index":
            norm = draw(st.sampled_from(["cap", "log", "percentile", "minmax"]))
            target = draw(st.sampled_from([1, 3, 5, 10, 12.5])) if norm in ("cap", "log") else None
            metrics.append(ces_xl.Metric(f"M{i}", draw(st.integers(0, 5)), target=target, normalization=norm,
                                         direction=draw(st.sampled_from(["higher", "lower"]))))
        else:
            metrics.append(ces_xl.Metric(f"M{i}", draw(st.sampled_from([-5, -2, -0.5, 1, 2, 2.5, 10]))))
    if all(x.weight == 0 for x in metrics):
        metrics[0] = ces_xl.Metric(metrics[0].name, 1, target=metrics[0].target,
                                   normalization=metrics[0].normalization, direction=metrics[0].direction)
    n = draw(st.integers(1, 7))
    value = st.one_of(st.integers(0, 15).map(float), st.sampled_from([np.nan, 0.5, 2.25, 7.5]))
    counts = np.array([[draw(value) for _ in range(m)] for _ in range(n)], dtype=float)
    missing = draw(st.sampled_from(["zero", "exclude"]))
    bands = draw(st.sampled_from([ces_xl.DEFAULT_BANDS, (ces_xl.Band("Low", 0, 10), ces_xl.Band("Mid", 11, 20),
                                                          ces_xl.Band("High", 21, 100))]))
    return ces_xl.Model(metrics, bands=bands, method=method, missing=missing), counts


def band_after(model, counts, row: int, metric: int, delta: float) -> int:
    changed = counts.copy()
    changed[row, metric] = (0.0 if np.isnan(changed[row, metric]) else changed[row, metric]) + delta
    frame = pd.DataFrame(changed, columns=[x.name for x in model.metrics])
    frame.insert(0, "ID", [f"C{i}" for i in range(len(counts))])
    total = ces_xl.score(frame, model).scores["Score"].to_numpy()
    return int(band_index(total, model.bands)[row])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_the_suggested_lift_is_enough_and_one_event_fewer_is_not(book):
    model, counts = book
    frame = pd.DataFrame(counts, columns=[x.name for x in model.metrics])
    frame.insert(0, "ID", [f"C{i}" for i in range(len(counts))])
    result = ces_xl.score(frame, model)
    lift = result.lift
    total = result.scores["Score"].to_numpy()
    now = band_index(total, model.bands)
    top = len(model.bands) - 1
    for row in range(len(counts)):
        if now[row] >= top:  # the top band (or no score): nothing to reach
            assert math.isnan(lift.to_next[row]) and lift.metric[row] == -1
            continue
        assert lift.to_next[row] == pytest.approx(model.bands[now[row]].upper - total[row], abs=1e-9)
        sign = [-1 if f else 1 for f in lift.fewer]
        if lift.metric[row] >= 0:
            j, k = int(lift.metric[row]), lift.events[row]
            assert band_after(model, counts, row, j, sign[j] * k) > now[row], (row, j, k)
            # No metric gets there with one event fewer (so none with fewer still).
            for i in range(len(model.metrics)):
                if k > 1 and (not lift.fewer[i] or k - 1 <= np.nan_to_num(counts[row, i])):
                    assert band_after(model, counts, row, i, sign[i] * (k - 1)) <= now[row], (row, i, k - 1)
        else:
            # None can: not with a thousand more events, nor with every event there is removed.
            for i in range(len(model.metrics)):
                x = np.nan_to_num(counts[row, i])
                delta = -math.floor(max(x, 0)) if lift.fewer[i] else 1000.0
                if delta:
                    assert band_after(model, counts, row, i, delta) <= now[row], (row, i, delta)


def test_customers_taken_a_piece_at_a_time_give_the_same_lifts(monkeypatch):
    from ces_xl.core import lift as lift_module

    rng = np.random.default_rng(7)
    counts = rng.poisson(4, (500, 4)).astype(float)
    counts[rng.random((500, 4)) < 0.05] = np.nan
    metrics = [ces_xl.Metric("A", 3, target=6), ces_xl.Metric("B", 2, normalization="percentile"),
               ces_xl.Metric("C", 1, normalization="minmax", direction="lower"),
               ces_xl.Metric("D", 2, target=9, normalization="log")]
    frame = pd.DataFrame(counts, columns=list("ABCD"))
    frame.insert(0, "ID", range(500))
    for missing in ("zero", "exclude"):
        model = ces_xl.Model(metrics, missing=missing)
        whole = ces_xl.score(frame, model).scores
        monkeypatch.setattr(lift_module, "_PIECE", 7)
        pieces = ces_xl.score(frame, model).scores
        monkeypatch.undo()
        assert whole["Fastest lift"].tolist() == pieces["Fastest lift"].tolist()
        assert whole["Fastest lift"].notna().sum() > 100
