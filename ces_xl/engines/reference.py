"""The numpy engine, the reference: :func:`ces_xl.core.events.score_events` itself, its result
shaped as the SQL engine's rows (:mod:`ces_xl.engines.sql`) so that the two can be compared."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.events import score_events
from ..core.model import Model
from ..core.scoring import ScoreResult


def score_frame(events: pd.DataFrame, model: Model, *, as_of=None) -> pd.DataFrame:
    """Score ``events`` (columns ``customer_id``, ``event``, ``date`` and optionally ``count``)
    with the numpy engine: the SQL engine's columns, rows by rank and then customer ID."""
    columns = {"id_column": "customer_id", "event_column": "event", "date_column": "date", "count_column": "count"}
    return shaped(score_events(events, model, as_of=as_of, **columns))


def shaped(result: ScoreResult) -> pd.DataFrame:
    """A :class:`~ces_xl.core.scoring.ScoreResult` as the SQL engine's rows."""
    scores = result.scores
    out = pd.DataFrame({
        "customer_id": scores.iloc[:, 0].to_numpy(dtype=object),
        "score": scores["Score"].to_numpy(dtype=float),
        "band": scores["Band"].to_numpy(dtype=object),
        "rank": scores["Rank"].to_numpy(dtype=float),
        "percentile": scores["Percentile"].to_numpy(dtype=float),
        "top_driver": scores["Top driver"].to_numpy(dtype=object),
    })
    if "Biggest gap" in scores:
        out["biggest_gap"] = scores["Biggest gap"].to_numpy(dtype=object)
    for header in result.contribution_columns:
        out[header] = scores[header].to_numpy(dtype=float)
    order = np.lexsort((out["customer_id"].astype(str).to_numpy(), out["rank"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)
