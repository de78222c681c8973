"""What if the weights were others? (SPEC "Trust": the Scenario column of Weights.)

The scenario model is the model with each metric's scenario weight in place of its weight
(:meth:`~ces_xl.core.model.Model.scenario_model`); the same customers are scored under it and
compared with today: how many move from each band to each band, who changes band, and, with
outcomes, the AUC of both. Nothing is applied.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .bands import band_index, band_labels
from .model import Model
from .outcomes import Auc, auc


@dataclass
class ScenarioReport:
    """Today's model against the scenario's, on the same customers."""

    weights: pd.DataFrame      # Metric, Weight, Scenario weight
    migration: pd.DataFrame    # Band (today) x each scenario band, counts
    movers: pd.DataFrame       # the customers who change band: ID, Score, Band, Scenario score, Scenario band, ...
    auc_today: Auc | None = None
    auc_scenario: Auc | None = None


def compare(result, counts: np.ndarray, scenario: Model, carried: list[str]) -> ScenarioReport:
    """Score ``counts`` (the customers of ``result``, in its order) under ``scenario`` and
    compare with ``result``. ``carried``: the Scores columns to show beside the movers."""
    from .scoring import score_matrix

    model = result.model
    labels = band_labels(model.bands)
    today = result.scores["Score"].to_numpy(dtype=float)
    then = score_matrix(counts, scenario, validate=False).total
    now_band, what_if_band = band_index(today, model.bands), band_index(then, model.bands)
    names = list(labels)
    table = pd.DataFrame(0, index=names, columns=names, dtype=np.int64)
    np.add.at(table.values, (now_band, what_if_band), 1)
    keep = table.index.isin(names[:-1]) | (table.sum(axis=1) > 0)
    keep_columns = table.columns.isin(names[:-1]) | (table.sum(axis=0) > 0)
    migration = table.loc[keep, keep_columns].rename_axis("Band").reset_index()
    moved = np.flatnonzero(now_band != what_if_band)
    scores = result.scores
    movers = pd.DataFrame({
        str(scores.columns[0]): scores.iloc[moved, 0].to_numpy(dtype=object),
        "Score": today[moved], "Band": labels[now_band[moved]],
        "Scenario score": then[moved], "Scenario band": labels[what_if_band[moved]],
        **{c: scores[c].to_numpy(dtype=object)[moved] for c in carried if c in scores}})
    weights = pd.DataFrame({"Metric": [m.name for m in model.metrics], "Weight": [m.weight for m in model.metrics],
                            "Scenario weight": [m.weight for m in scenario.metrics]})
    report = ScenarioReport(weights, migration, movers)
    if result.outcomes is not None:
        outcomes = result.outcome_values
        report.auc_today, report.auc_scenario = auc(today, outcomes), auc(then, outcomes)
    return report
