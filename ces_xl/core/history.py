"""History, trend and explained change (SPEC "History, trend and explained change").

A snapshot is the customers' scores at one as-of date, with each metric's raw value and the
model's fingerprint. Against the previous snapshot, each customer's change is explained:

* ``Change`` = this score minus the previous one;
* each metric's point change = its points now minus its points then, both under today's model
  (the previous raw values rescored over the previous snapshot's customers, for the relative
  normalizations); the ``Change driver`` is the metric whose points changed most, signed;
* when the model changed since (another fingerprint), ``Change`` is split into ``From
  activity`` (the previous raw values rescored under today's model, compared with today: the
  sum of the point changes) and ``From model`` (the rest), so a weight edit is never taken for
  customer behaviour. Either way, the point changes and ``From model`` add up to ``Change``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .bands import NO_DATA
from .model import Model
from .notes import id_key
from .rounding import rounded


@dataclass
class Snapshot:
    """The scores of one as-of date (a day number, see :mod:`ces_xl.core.events`)."""

    as_of: int
    ids: np.ndarray      # object
    scores: np.ndarray   # float (NaN: no score)
    bands: np.ndarray    # object: band labels
    counts: np.ndarray   # float, customers x the model's metrics (NaN: blank or unknown)
    model: str           # the fingerprint of the model that scored it

    def __len__(self) -> int:
        return len(self.ids)


def latest_before(snapshots: list[Snapshot], as_of: int) -> Snapshot | None:
    """The snapshot just before ``as_of`` (the latest of those earlier), if any."""
    earlier = [s for s in snapshots if s.as_of < as_of]
    return max(earlier, key=lambda s: s.as_of) if earlier else None


def merged(snapshots: list[Snapshot], new: Snapshot, max_rows: int | None = None) -> tuple[list[Snapshot], int]:
    """``snapshots`` with ``new`` added (one of the same date replaced: a re-run is idempotent),
    oldest first; the oldest dropped while the rows would exceed ``max_rows``. Returns the
    snapshots and how many were dropped."""
    kept = sorted([s for s in snapshots if s.as_of != new.as_of] + [new], key=lambda s: s.as_of)
    dropped = 0
    while max_rows is not None and len(kept) > 1 and sum(map(len, kept)) > max_rows:
        kept.pop(0)
        dropped += 1
    return kept, dropped


@dataclass
class Change:
    """Each current customer's change since the previous snapshot (NaN/None where it is new)."""

    previous_score: np.ndarray
    change: np.ndarray
    previous_band: np.ndarray
    driver: np.ndarray          # object: "Purchase Frequency -12.0", or None
    points: np.ndarray          # customers x metrics: each metric's point change
    from_activity: np.ndarray | None  # only when the model changed
    from_model: np.ndarray | None
    since: int                  # the previous snapshot's as-of day


def explain(ids: np.ndarray, scores: np.ndarray, points: np.ndarray, model: Model, previous: Snapshot,
            rescore) -> Change:
    """The change of each customer (``ids``, their ``scores`` and per-metric ``points`` under
    ``model``) since ``previous``. ``rescore(counts)`` scores a table of raw values under
    ``model`` and returns (scores, points): the previous snapshot's values, rescored."""
    then_scores, then_points = rescore(previous.counts)
    where = pd.Index(pd.Series([id_key(v) for v in previous.ids.tolist()], dtype=object)).get_indexer(
        pd.Series([id_key(v) for v in ids.tolist()], dtype=object))
    seen = where >= 0
    n, m = points.shape
    previous_score = np.full(n, np.nan)
    previous_score[seen] = previous.scores[where[seen]]
    previous_band = np.full(n, None, dtype=object)
    previous_band[seen] = previous.bands[where[seen]]
    change = scores - previous_score
    moved = np.full((n, m), np.nan)
    now = np.nan_to_num(points)
    moved[seen] = now[seen] - np.nan_to_num(then_points[where[seen]])
    from_activity = from_model = None
    if previous.model != model.fingerprint():
        from_activity = np.full(n, np.nan)
        from_activity[seen] = moved[seen].sum(axis=1)
        from_model = change - from_activity
    return Change(previous_score, change, previous_band, drivers(moved, [m.name for m in model.metrics]), moved,
                  from_activity, from_model, previous.as_of)


def drivers(moved: np.ndarray, names: list[str]) -> np.ndarray:
    """Per customer, the metric whose points changed most (either way) with its signed change,
    ``"Purchase Frequency -12.0"``; None where nothing moved (or the customer is new). Ties go
    to the metric listed first."""
    out = np.full(len(moved), None, dtype=object)
    if not len(moved) or not moved.shape[1]:
        return out
    best, value, any_moved = biggest_moves(moved)
    for i in np.flatnonzero(any_moved).tolist():
        out[i] = f"{names[best[i]]} {value[i]:+.1f}"
    return out


def biggest_moves(moved: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer (a row of ``moved``, each metric's point change): the metric whose points
    changed most either way (the first listed on a tie), its signed change, and whether
    anything moved at all."""
    size = np.abs(np.nan_to_num(moved))
    best = size.argmax(axis=1)
    return best, moved[np.arange(len(moved)), best], size.max(axis=1) > 1e-9


def band_movement(previous_bands: np.ndarray, current_bands: np.ndarray, gone: np.ndarray,
                  labels: list[str]) -> pd.DataFrame:
    """Previous band x current band, counts: a row per band a customer was in (and ``(new)``
    for customers not in the previous snapshot), a column per band they are in now (and
    ``(gone)`` for customers of the previous snapshot no longer scored)."""
    rows = labels + [NO_DATA, "(new)"]
    columns = labels + [NO_DATA, "(gone)"]
    table = pd.DataFrame(0, index=rows, columns=columns, dtype=np.int64)
    before = pd.Series(previous_bands, dtype=object).fillna("(new)")
    for (b, a), size in pd.crosstab(before, pd.Series(current_bands, dtype=object)).stack().items():
        if b in table.index and a in table.columns:
            table.loc[b, a] += int(size)
    for b, size in pd.Series(gone, dtype=object).value_counts().items():
        if b in table.index:
            table.loc[b, "(gone)"] += int(size)
    table = table.loc[(table.sum(axis=1) > 0) | table.index.isin(labels),
                      (table.sum(axis=0) > 0) | table.columns.isin(labels)]
    return table.rename_axis("Previous band").reset_index()


def band_mix(snapshots: list[Snapshot], labels: list[str]) -> pd.DataFrame:
    """Each snapshot's date and share of customers per band, oldest first (the trend chart's
    table)."""
    from .events import date_of

    rows = []
    for s in snapshots:
        counts = pd.Series(s.bands, dtype=object).value_counts()
        total = max(len(s), 1)
        rows.append([date_of(s.as_of)] + [counts.get(label, 0) / total for label in labels])
    return pd.DataFrame(rows, columns=["As of", *labels])


def rescorer(model: Model):
    """``rescore(counts) -> (scores, points)`` under ``model``: how a snapshot's raw values score
    today (its own customers are the population of the relative normalizations)."""
    from .scoring import score_matrix

    def rescore(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(counts):
            return np.empty(0), np.empty((0, len(model.metrics)))
        core = score_matrix(counts, model, validate=False)
        return core.total, core.contributions

    return rescore


CHANGE_COLUMNS = ("Previous score", "Change", "Previous band", "Change driver", "From activity", "From model")


def apply(result, table_counts: np.ndarray, snapshots: list[Snapshot], as_of: int,
          max_rows: int | None = None) -> None:
    """Add the trend to a :class:`~ces_xl.core.scoring.ScoreResult`: this run's snapshot joins
    ``snapshots`` (``result.history``), and against the previous one each customer's change
    (Scores' change columns, before the points), the band movement and the band mix."""
    from .bands import band_index, band_labels

    model = result.model
    scores = result.scores
    ids = scores.iloc[:, 0].to_numpy(dtype=object)
    total = scores["Score"].to_numpy(dtype=float)
    labels = [b.label for b in model.bands]
    current = Snapshot(as_of, ids, total, band_labels(model.bands)[band_index(total, model.bands)],
                       table_counts, model.fingerprint())
    result.history, dropped = merged(snapshots, current, max_rows)
    if dropped:
        result.notes.append(f"the {dropped} oldest snapshot(s) are dropped from the history: it would not fit "
                            "in a sheet")
    result.band_mix = band_mix(result.history, labels)
    previous = latest_before(result.history, as_of)
    if previous is None:
        return
    points = scores[result.contribution_columns].to_numpy(dtype=float)
    change = explain(ids, total, points, model, previous, rescorer(model))
    new = {"Previous score": change.previous_score, "Change": rounded(change.change),
           "Previous band": change.previous_band, "Change driver": change.driver}
    if change.from_activity is not None:
        new |= {"From activity": rounded(change.from_activity), "From model": rounded(change.from_model)}
        result.notes.append(f"the model changed since {_date(previous.as_of)} (its fingerprint was "
                            f"{previous.model or 'unknown'}): Change is split into From activity and From model")
    # Before what it would take (To next band, Fastest lift) and the points.
    at = next((k for k, c in enumerate(scores.columns) if c == "To next band" or c in result.contribution_columns),
              len(scores.columns))
    for k, (name, values) in enumerate(new.items()):  # text stays object: None, not NaN, where there is none
        scores.insert(at + k, name, pd.Series(values, index=scores.index, dtype=values.dtype))
    result.change_since = previous.as_of
    result.point_changes = change.points
    gone_at = ~pd.Series([id_key(v) for v in previous.ids.tolist()], dtype=object).isin(
        pd.Series([id_key(v) for v in ids.tolist()], dtype=object)).to_numpy()
    result.band_movement = band_movement(change.previous_band, scores["Band"].to_numpy(dtype=object),
                                         previous.bands[gone_at], labels)


def _date(day: int) -> str:
    from .events import date_of

    return date_of(day).isoformat()
