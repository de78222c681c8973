"""Does the score predict the outcome? (SPEC "Trust: does the score predict anything?")

The AUC is checked against counting the pairs by hand (a customer with the outcome against one
without: 1 when the first scores higher, one half for a tie), and its interval against DeLong's
variance written out pair by pair: a second implementation, not the engine's mid-ranks."""
from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ces_xl
from ces_xl.core.outcomes import HIGHER, LOWER, auc

from .conftest import libreoffice_export, make_workbook, run_cli

WEIGHTS = [["Metric", "Weight"], ["Visits", 1]]  # the sum method: each customer's score is their visits


def book(tmp_path, outcomes: list, visits: list | None = None, header: str = "Outcome", settings=None):
    visits = visits or list(range(1, len(outcomes) + 1))
    rows = [["Customer", "Visits", header]] + [[f"C-{i}", v, o] for i, (v, o) in enumerate(zip(visits, outcomes))]
    sheets = {"Activity": rows, "Weights": WEIGHTS}
    if settings:
        sheets["Settings"] = settings
    return make_workbook(tmp_path / "b.xlsx", sheets)


def summary_value(path, label: str):
    for row in openpyxl.load_workbook(path)["Summary"].iter_rows(values_only=True):
        if row and row[0] == label:
            return row[1]
    raise AssertionError(f"no {label!r} on the Summary")


def test_the_auc_by_counting_pairs_ties_count_one_half(tmp_path):
    # Scores (visits) and outcomes: yes at 5, 3, 3; no at 4, 3, 1.
    # Pairs (yes, no): 5>4 5>3 5>1 | 3<4 3=3 3>1 | 3<4 3=3 3>1 = 1+1+1 + 0+.5+1 + 0+.5+1 = 6 of 9.
    visits = [5, 3, 3, 4, 3, 1]
    outcomes = ["yes", "yes", "yes", "no", "no", "no"]
    result = ces_xl.score_workbook(book(tmp_path, outcomes, visits), tmp_path / "out.xlsx")
    a = result.outcomes.auc
    assert a.raw == pytest.approx(6 / 9) and a.value == pytest.approx(6 / 9) and a.direction == HIGHER
    assert summary_value(tmp_path / "out.xlsx", "AUC") == pytest.approx(6 / 9)  # the cell right of "AUC"
    [auc_row] = [r for r in openpyxl.load_workbook(tmp_path / "out.xlsx")["Summary"].iter_rows(values_only=True)
                 if r[0] == "AUC"]
    assert auc_row[2] == HIGHER  # and its direction beside it
    assert summary_value(tmp_path / "out.xlsx", "Direction") == HIGHER
    by_band = result.outcomes.by_band  # every score is under 40: all in the first band
    assert by_band.iloc[0][["Customers", "With an outcome", "Outcome yes"]].tolist() == [6, 6, 3]
    assert any("only 3 customer(s)" in n for n in result.notes)  # too few to lean on


def test_perfect_separation_in_both_directions():
    scores = np.array([1.0, 2, 3, 4, 5, 6])
    high = auc(scores, [0, 0, 0, 1, 1, 1])
    assert (high.value, high.raw, high.direction) == (1.0, 1.0, HIGHER)
    low = auc(scores, [1, 1, 1, 0, 0, 0])  # churners score low: the score predicts them perfectly
    assert (low.value, low.raw, low.direction) == (1.0, 0.0, LOWER)
    assert high.high == 1.0 and low.high == 1.0
    assert auc(scores, [1, 1, 1, 1, 1, 1]) is None and auc(scores, [np.nan] * 6) is None


def test_outcomes_as_yes_no_true_false_one_zero_and_blanks(tmp_path):
    outcomes = ["yes", "No", True, False, 1, 0, "TRUE", "false", " 1 ", "0", None, ""]
    result = ces_xl.score_workbook(book(tmp_path, outcomes), tmp_path / "out.xlsx")
    report = result.outcomes
    # yes: scores 1, 3, 5, 7, 9 (visits = position + 1); no: 2, 4, 6, 8, 10; two unknown.
    assert (report.known, report.yes, report.no) == (10, 5, 5)
    yes, no = [1, 3, 5, 7, 9], [2, 4, 6, 8, 10]
    pairs = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in yes for b in no) / 25
    assert report.auc.raw == pytest.approx(pairs)   # 10 of 25: a low score means more likely
    assert report.auc.value == pytest.approx(1 - pairs) and report.auc.direction == LOWER


def test_the_dataframe_api_and_the_outcome_column_setting(tmp_path):
    frame = pd.DataFrame({"ID": ["a", "b", "c", "d"], "Visits": [1, 2, 3, 4], "Renewed": ["no", "no", "yes", "yes"]})
    model = ces_xl.Model([ces_xl.Metric("Visits", 1)])
    assert ces_xl.score(frame, model).outcomes is None  # no column named Outcome
    result = ces_xl.score(frame, model, outcome_column="Renewed")
    assert result.outcomes.auc.value == 1.0 and result.outcomes.column == "Renewed"
    out = ces_xl.score_workbook(book(tmp_path, ["no", "yes"], header="Renewed",
                                     settings=[["Outcome column", "renewed"]]), tmp_path / "out.xlsx")
    assert out.outcomes.auc.value == 1.0 and out.card["Outcome column"] == "Renewed"


@pytest.mark.parametrize("outcomes, settings, where, words", [
    (["yes", "maybe"], None, "Activity!C3", "the outcome is 'maybe', not yes/no, TRUE/FALSE or 1/0"),
    (["yes", 2], None, "Activity!C3", "the outcome is 2, not yes/no"),
    (["yes", "no"], [["Outcome column", "Churned"]], "Settings!B1", "the Outcome column 'Churned' is not in"),
])
def test_bad_outcomes_are_one_clear_line_naming_the_cell(tmp_path, outcomes, settings, where, words):
    path = book(tmp_path, outcomes, settings=settings)
    before = path.read_bytes()
    done = run_cli("score", path, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"ces-xl: error: {where}: {words}")
    assert not (tmp_path / "out.xlsx").exists() and path.read_bytes() == before


def test_no_outcome_of_one_kind_says_so():
    frame = pd.DataFrame({"ID": ["a", "b"], "Visits": [1, 2], "Outcome": ["yes", "yes"]})
    result = ces_xl.score(frame, ces_xl.Model([ces_xl.Metric("Visits", 1)]))
    assert result.outcomes.auc is None
    assert "Outcome: 2 customer(s) with the outcome and 0 without, among those scored: the AUC needs some of each" \
        in result.notes


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0.0, 1.0, np.nan])), min_size=2, max_size=40))
def test_the_auc_and_its_interval_are_delongs_pair_by_pair(rows):
    scores = np.array([s for s, _ in rows], dtype=float)
    outcomes = np.array([o for _, o in rows])
    result = auc(scores, outcomes)
    pos = scores[outcomes == 1]
    neg = scores[outcomes == 0]
    if not len(pos) or not len(neg):
        assert result is None
        return

    def psi(a, b):
        return 1.0 if a > b else 0.5 if a == b else 0.0

    raw = sum(psi(a, b) for a in pos for b in neg) / (len(pos) * len(neg))
    v10 = [sum(psi(a, b) for b in neg) / len(neg) for a in pos]
    v01 = [sum(psi(a, b) for a in pos) / len(pos) for b in neg]
    var = (np.var(v10, ddof=1) / len(pos) if len(pos) > 1 else 0) + (np.var(v01, ddof=1) / len(neg) if len(neg) > 1 else 0)
    value = max(raw, 1 - raw)
    assert result.raw == pytest.approx(raw, abs=1e-12) and result.value == pytest.approx(value, abs=1e-12)
    assert result.low == pytest.approx(max(value - 1.959963984540054 * math.sqrt(var), 0), abs=1e-9)
    assert result.high == pytest.approx(min(value + 1.959963984540054 * math.sqrt(var), 1), abs=1e-9)


def test_libreoffice_shows_the_same_auc_and_rates(tmp_path, soffice):
    outcomes = ["yes", "no", "yes", "no", "no", "yes", "yes", "no", "yes", "yes"]
    result = ces_xl.score_workbook(book(tmp_path, outcomes, visits=[3, 9, 1, 7, 8, 2, 5, 6, 4, 2]),
                                   tmp_path / "out.xlsx")
    summary = libreoffice_export(soffice, tmp_path / "out.xlsx", tmp_path / "lo")["Summary"]
    shown = {r[0]: r[1] for r in summary if len(r) > 1 and r[0]}
    assert float(shown["AUC"]) == pytest.approx(result.outcomes.auc.value, abs=1e-12)
    assert float(shown["AUC 95% low"]) == pytest.approx(result.outcomes.auc.low, abs=1e-12)
    at = next(i for i, r in enumerate(summary) if r and r[0] == "Outcome rate by band")
    assert summary[at + 2][:5] == ["Very disengaged", "10", "10", "6", "60%"]  # 6 of the 10 (all under 40)


# --- what if: the Scenario column of Weights ---------------------------------------------------

SCENARIO_BOOK = {
    "Activity": [["Customer", "Visits", "Orders", "Owner", "Outcome"], ["C-1", 30, 1, "Dana", "yes"],
                 ["C-2", 5, 4, "Eli", "yes"], ["C-3", 10, 2, "Fay", "no"], ["C-4", 45, 0, "Gus", "no"],
                 ["C-5", 0, 0, "Dana", "no"]],
    "Weights": [["Metric", "Weight", "Scenario"], ["Visits", 1, 0.5], ["Orders", 10, 20]],
}


def test_a_scenario_worked_by_hand(tmp_path):
    # The sum method. Today (Visits x 1 + Orders x 10): 40, 45, 30, 45, 0 -> VD, SE, VD, SE, VD.
    # Scenario (x 0.5, x 20): 35, 82.5, 45, 22.5, 0 -> VD, VE, SE, VD, VD.
    # So C-2 (SE -> VE), C-3 (VD -> SE) and C-4 (SE -> VD) move; C-1 and C-5 stay VD.
    # AUC today: yes {40, 45} against no {30, 45, 0}: 1 + 0 + 1 + 1 + 0.5 + 1 = 4.5 of 6 = 0.75.
    # Scenario: yes {35, 82.5} against no {45, 22.5, 0}: 0 + 1 + 1 + 1 + 1 + 1 = 5 of 6.
    path = make_workbook(tmp_path / "b.xlsx", SCENARIO_BOOK)
    result = ces_xl.score_workbook(path, tmp_path / "out.xlsx")
    report = result.scenario
    VD, SE, VE = "Very disengaged", "Somewhat engaged", "Very engaged"
    assert report.migration.set_index("Band").loc[[VD, SE, VE], [VD, SE, VE]].values.tolist() == [
        [2, 1, 0], [1, 0, 1], [0, 0, 0]]
    assert report.movers[["Customer", "Band", "Scenario score", "Scenario band", "Owner"]].values.tolist() == [
        ["C-2", SE, 82.5, VE, "Eli"], ["C-3", VD, 45.0, SE, "Fay"], ["C-4", SE, 22.5, VD, "Gus"]]
    assert report.auc_today.value == pytest.approx(0.75) and report.auc_scenario.value == pytest.approx(5 / 6)
    assert result.scores["Score"].tolist() == [40, 45, 30, 45, 0]  # nothing applied
    assert result.model.fingerprint() == ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("Orders", 10)]).fingerprint()
    sheet = [r for r in openpyxl.load_workbook(tmp_path / "out.xlsx")["Scenario"].iter_rows(values_only=True)]
    assert ("C-2", 45, SE, 82.5, VE, "Eli", "yes") in [tuple(r[:7]) for r in sheet]
    # The same from Python.
    frame = pd.DataFrame(SCENARIO_BOOK["Activity"][1:], columns=SCENARIO_BOOK["Activity"][0])
    model = ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("Orders", 10)])
    api = ces_xl.score(frame, model, scenario={"visits": 0.5, "Orders": 20})
    assert api.scenario.movers["Customer"].tolist() == ["C-2", "C-3", "C-4"]
    assert api.scenario.auc_scenario.value == pytest.approx(5 / 6)
    with pytest.raises(ces_xl.InputError, match="not a metric of the model"):
        ces_xl.score(frame, model, scenario={"Calls": 1})


@pytest.mark.parametrize("scenario, where, words", [
    ([["Metric", "Weight", "Scenario"], ["Visits", 1, "more"], ["Orders", 10, 20]], "Weights!C2",
     "scenario weight 'more' of metric 'Visits' is not a number"),
    ([["Metric", "Weight", "Scenario"], ["Visits", 1, 0], ["Orders", 10, 0]], "Weights!C1",
     "every scenario weight is 0, so the scenario would score nothing"),
])
def test_bad_scenario_weights_are_one_clear_line(tmp_path, scenario, where, words):
    path = make_workbook(tmp_path / "b.xlsx", {**SCENARIO_BOOK, "Weights": scenario})
    before = path.read_bytes()
    done = run_cli("score", path, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"ces-xl: error: {where}: {words}")
    assert not (tmp_path / "out.xlsx").exists() and path.read_bytes() == before


def test_libreoffice_shows_the_scenarios_matrix_and_aucs(tmp_path, soffice):
    path = make_workbook(tmp_path / "b.xlsx", SCENARIO_BOOK)
    ces_xl.score_workbook(path, tmp_path / "out.xlsx")
    sheet = libreoffice_export(soffice, tmp_path / "out.xlsx", tmp_path / "lo")["Scenario"]
    at = next(i for i, r in enumerate(sheet) if r and r[0].startswith("Customers by band"))
    assert [r[:4] for r in sheet[at + 1:at + 5]] == [["Band", "Very disengaged", "Somewhat engaged", "Very engaged"],
                                                     ["Very disengaged", "2", "1", "0"],
                                                     ["Somewhat engaged", "1", "0", "1"],
                                                     ["Very engaged", "0", "0", "0"]]
    aucs = {r[0]: r[1] for r in sheet if r and r[0] in ("Today", "Scenario")}
    assert float(aucs["Today"]) == pytest.approx(0.75) and float(aucs["Scenario"]) == pytest.approx(5 / 6)


# --- suggested weights ---------------------------------------------------------------------------

def simulated(n: int, weights, seed: int, churn: bool = False):
    """Customers simulated from known weights: each metric's normalized score uniform on [0, 1]
    (counts of a cap target 100), the outcome drawn through a logistic link of the weighted score."""
    rng = np.random.default_rng(seed)
    s = rng.random((n, len(weights)))
    p = 1 / (1 + np.exp(-(-4 + 8 * (s @ np.asarray(weights)))))
    renewed = rng.random(n) < p
    frame = pd.DataFrame(s * 100, columns=[f"M{i}" for i in range(len(weights))])
    frame.insert(0, "ID", [f"C{i}" for i in range(n)])
    frame["Outcome"] = np.where(~renewed if churn else renewed, "yes", "no")
    model = ces_xl.Model([ces_xl.Metric(f"M{i}", 1, target=100) for i in range(len(weights))])
    return frame, model


@pytest.mark.parametrize("churn", [False, True])
def test_suggested_weights_recover_the_generating_weights(churn):
    # 20,000 customers from weights 0.5, 0.3, 0.2 and 0 (a metric that does nothing), seed 1.
    # Stated tolerance: each within 0.03 of the truth; the useless metric gets (almost) nothing.
    # As churn (the outcome is the renewal's absence) the same weights come back: the fit takes
    # the outcome the way the score runs.
    frame, model = simulated(20_000, [0.5, 0.3, 0.2, 0.0], seed=1, churn=churn)
    result = ces_xl.score(frame, model)
    suggested = result.suggestion.weights
    assert suggested.sum() == pytest.approx(1) and (suggested >= 0).all()
    np.testing.assert_allclose(suggested, [0.5, 0.3, 0.2, 0.0], atol=0.03)
    assert result.suggestion.cv_auc > result.suggestion.current_auc  # equal weights predict worse
    assert result.outcomes.auc.direction == (LOWER if churn else HIGHER)
    assert [m.weight for m in result.model.metrics] == [1, 1, 1, 1]  # nothing applied


def test_the_cross_validated_auc_is_never_taken_on_the_customers_fitted(monkeypatch):
    from ces_xl.core import fit

    fitted_on = []
    real = fit.fit_weights

    def recording(x, y):
        fitted_on.append({tuple(row) for row in x.tolist()})
        return real(x, y)

    monkeypatch.setattr(fit, "fit_weights", recording)
    frame, model = simulated(600, [0.4, 0.4, 0.2], seed=5)
    result = ces_xl.score(frame, model)
    s = result.suggestion
    x = frame[["M0", "M1", "M2"]].to_numpy() / 100
    assert len(s.folds) == fit.FOLDS and len(fitted_on) == fit.FOLDS + 1  # each fold, then all for the weights
    for (train, test), seen in zip(s.folds, fitted_on):
        assert not set(train) & set(test)
        assert not {tuple(row) for row in x[test].tolist()} & seen  # no test customer was in its fit
    # On pure noise the folds see through overfitting: the AUC stays near chance.
    noise = frame.assign(Outcome=np.random.default_rng(9).choice(["yes", "no"], len(frame)))
    assert abs(ces_xl.score(noise, model).suggestion.cv_auc - 0.5) < 0.08


def test_too_few_outcomes_say_how_many_more(tmp_path):
    frame, model = simulated(60, [0.5, 0.5], seed=2)
    frame["Outcome"] = ["yes"] * 12 + ["no"] * 48
    result = ces_xl.score(frame, model)
    assert result.suggestion is None
    assert "suggested weights need at least 20 customers with each outcome: 8 more with outcome yes" in result.notes


def test_the_summary_shows_the_suggestion_beside_the_weights(tmp_path):
    frame, model = simulated(400, [0.7, 0.3], seed=3)
    rows = [["Customer", "M0", "M1", "Outcome"]] + frame[["ID", "M0", "M1", "Outcome"]].values.tolist()
    path = make_workbook(tmp_path / "b.xlsx", {"Activity": rows, "Weights": [["Metric", "Weight", "Target"],
                                                                           ["M0", 1, 100], ["M1", 1, 100]]})
    result = ces_xl.score_workbook(path, tmp_path / "out.xlsx")
    summary = list(openpyxl.load_workbook(tmp_path / "out.xlsx")["Summary"].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(summary) if r[0] == "Model")
    header = list(summary[at + 1])
    assert header[:4] == ["Metric", "Weight", "Share of weight", "Suggested share"]
    assert [r[3] for r in summary[at + 2:at + 4]] == pytest.approx(result.suggestion.weights.tolist())
    assert [r[1] for r in summary[at + 2:at + 4]] == [1, 1]  # the weights in force are unchanged


def test_the_button_writes_the_outcomes_and_the_scenario_as_the_headless_run(tmp_path):
    pytest.importorskip("xlwings")
    from .test_button import pressed_and_headless

    path = make_workbook(tmp_path / "b.xlsx", SCENARIO_BOOK)
    result, headless, names = pressed_and_headless(path, tmp_path / "out.xlsx")
    assert "Scenario" in names
    assert result.outcomes.auc == headless.outcomes.auc
    assert result.scenario.movers.equals(headless.scenario.movers)
    assert result.scenario.migration.equals(headless.scenario.migration)


def test_outcomes_beside_an_event_log(tmp_path):
    # Activity lists the customers and their outcomes; the events count the visits (no decay):
    # C-1 2 visits, C-2 1, C-3 0, C-4 (only in the events, outcome not known) 3.
    import datetime as dt

    day = dt.date(2026, 11, 30)
    sheets = {"Activity": [["Customer", "Outcome"], ["C-1", "no"], ["C-2", "yes"], ["C-3", "yes"]],
              "Events": [["Customer", "Event", "Date"], ["C-1", "Visits", day], ["C-1", "Visits", day],
                         ["C-2", "Visits", day], ["C-4", "Visits", day], ["C-4", "Visits", day], ["C-4", "Visits", day]],
              "Weights": WEIGHTS}
    result = ces_xl.score_workbook(make_workbook(tmp_path / "e.xlsx", sheets), tmp_path / "out.xlsx")
    report = result.outcomes
    assert (report.known, report.yes) == (3, 2)
    # yes {1, 0} against no {2}: neither scores higher: a low score means the outcome, perfectly.
    assert report.auc.value == 1.0 and report.auc.direction == LOWER


def test_scenario_weights_in_an_event_log_model_are_compared_too():
    # The same what-if on every face: score_events finishes a result as score() and a workbook do.
    events = pd.DataFrame({"Customer": ["C-1", "C-1", "C-2"], "Event": ["Visits", "Orders", "Visits"],
                           "Date": ["2026-11-30"] * 3})
    model = ces_xl.Model([ces_xl.Metric("Visits", 1, scenario=50), ces_xl.Metric("Orders", 10)])
    result = ces_xl.score_events(events, model)
    # Today: C-1 1 + 10 = 11, C-2 1; with Visits x 50: C-1 60 (Somewhat engaged), C-2 50 (Somewhat engaged).
    assert result.scenario.movers["Customer"].tolist() == ["C-1", "C-2"]
    assert result.scenario.movers["Scenario score"].tolist() == [60, 50]
    assert result.actions is not None
