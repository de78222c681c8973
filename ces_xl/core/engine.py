"""Scoring: an Activity table and a :class:`Model` in, a table of scores and summaries out.

Nothing here knows about Excel. All arithmetic is vectorised over customers with numpy; the
only Python loop is over the (few) metrics.

Definitions (README "The math" documents the same):

* sum method: ``score = sum_i w_i * x_i``; a metric's contribution is ``w_i * x_i``.
* index method: ``score = 100 * sum_i w_i * s_i / sum_i w_i`` with ``s_i`` in [0, 1]; a metric's
  contribution is ``100 * w_i * s_i / sum_i w_i`` so contributions add up to the score.
* ``cap``: ``min(x / target, 1)``; ``log``: ``min(ln(1+x) / ln(1+target), 1)``; negative
  counts score 0 under both.
* ``percentile``: the mid-rank percentile ``(rank - 1) / (n - 1)``, where tied values share the
  average of the ranks they span; symmetric, so ``lower`` is the exact mirror of ``higher``.
* ``minmax``: ``(x - min) / (max - min)``.
* Both relative normalizations give 0.5 to everyone when the column cannot tell customers
  apart (a single customer, or the same value for all): neutral, never NaN.
* ``Direction = lower`` uses ``1 - s``.
* missing values: ``zero`` counts a blank as 0; ``exclude`` leaves it out: the index score is
  renormalised over the weights of the metrics the customer has data for (``Data coverage``
  is that share of the total weight), and relative normalizations use only present values.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import CESError, did_you_mean, normalize_header
from .model import Band, Model

NO_DATA = "No data"
# Scores are rounded to this many decimals before banding, so that float noise such as
# 75.00000000000001 cannot move a customer who scored exactly 75 into the next band.
SCORE_DECIMALS = 9


@dataclass
class ScoreResult:
    """What scoring produces: every table the faces show, and the notes to tell the user."""

    scores: pd.DataFrame          # one row per customer, in input order
    bands: pd.DataFrame           # Band, From, To, Customers, Share
    segments: pd.DataFrame | None  # per-segment rollup, when the Activity has a Segment column
    stats: dict[str, object]      # customers, mean, median, ... for the summary
    model: Model
    method: str
    id_column: str
    metric_columns: list[str]     # the Activity headers matched to the model's metrics
    contribution_columns: list[str]
    notes: list[str] = field(default_factory=list)


def contribution_header(metric_name: str) -> str:
    return f"{metric_name} (points)"


def score(activity: pd.DataFrame, model: Model, *, id_column: str | None = None,
          segment_column: str | None = None) -> ScoreResult:
    """Score every customer (row) of ``activity`` with ``model``.

    ``activity``: the first column (or ``id_column``) holds customer IDs; one column per metric,
    matched to the metric names case- and space-insensitively; an optional ``Segment`` column
    (or ``segment_column``); other columns are ignored. Blank (NaN/None/"") counts are missing.
    """
    if not isinstance(activity, pd.DataFrame):
        raise CESError(f"activity must be a pandas DataFrame, not {type(activity).__name__}")
    notes = model.validate()
    method = model.resolved_method
    if activity.shape[1] == 0:
        raise CESError("the activity table has no columns", fix="give it an ID column and one column per metric")
    id_column = activity.columns[0] if id_column is None else id_column
    if id_column not in activity.columns:
        raise CESError(f"ID column '{id_column}' is not in the activity table")
    if len(activity) == 0:
        raise CESError("the activity table has no customer rows", fix="add one row per customer")

    ids = activity[id_column]
    _check_ids(ids)
    metric_columns = _match_metric_columns(activity.columns, model, skip={id_column})
    x = np.column_stack([_numeric_column(activity[c], c, ids) for c in metric_columns])
    weights = np.array([m.weight for m in model.metrics], dtype=float)

    present = ~np.isnan(x)
    if model.missing == "zero":
        x = np.where(present, x, 0.0)
        present = np.ones_like(present)

    if method == "index":
        s = np.column_stack([_normalize(x[:, i], m, notes) for i, m in enumerate(model.metrics)])
        denominator = (present * weights).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            contributions = 100.0 * s * weights / denominator[:, None]
            gaps = 100.0 * (1.0 - s) * weights / denominator[:, None]
        contributions[denominator == 0, :] = np.nan
    else:
        contributions = x * weights
        gaps = None
    # A customer with no data for any weighted metric (only possible under the exclude policy)
    # has no score rather than a made-up one.
    has_data = (present & (weights != 0)).any(axis=1)
    total = np.where(has_data, np.nansum(contributions, axis=1), np.nan)
    total = np.round(total, SCORE_DECIMALS)

    contribution_columns = [contribution_header(m.name) for m in model.metrics]
    out = pd.DataFrame({_id_header(id_column, contribution_columns): ids.to_numpy()})
    out["Score"] = total
    out["Band"] = assign_bands(total, model.bands)
    out["Rank"] = pd.Series(total).rank(method="min", ascending=False).to_numpy()
    out["Percentile"] = _midrank_percentile(total)
    out["Top driver"] = _argmax_label(contributions, model)
    if gaps is not None:
        out["Biggest gap"] = _argmax_label(gaps, model)
    if model.missing == "exclude":
        with np.errstate(invalid="ignore", divide="ignore"):
            out["Data coverage"] = (present * np.abs(weights)).sum(axis=1) / np.abs(weights).sum()
    for i, header in enumerate(contribution_columns):
        out[header] = contributions[:, i]
    segment_column = _find_segment(activity, segment_column, exclude=[id_column, *metric_columns])
    if segment_column is not None:
        out["Segment"] = activity[segment_column].to_numpy()

    if not has_data.all():
        notes.append(f"{int((~has_data).sum())} customer(s) have no data for any weighted metric and "
                     f"are banded '{NO_DATA}'")
    if method == "sum":
        lo, hi = model.bands[0].lower, model.bands[-1].upper
        scored = total[~np.isnan(total)]
        if len(scored) and (scored.min() < lo or scored.max() > hi):
            notes.append(f"sum scores run from {scored.min():g} to {scored.max():g}, outside the bands' "
                         f"{lo:g}-{hi:g}; scores beyond the ends take the first or last band")

    return ScoreResult(
        scores=out,
        bands=_band_summary(out, model.bands),
        segments=_segment_summary(out, model.bands) if segment_column is not None else None,
        stats=_stats(out, model, method),
        model=model,
        method=method,
        id_column=str(out.columns[0]),
        metric_columns=[str(c) for c in metric_columns],
        contribution_columns=contribution_columns,
        notes=notes,
    )


RESULT_COLUMNS = ("Score", "Band", "Rank", "Percentile", "Top driver", "Biggest gap", "Data coverage", "Segment")


def _id_header(id_column, contribution_columns: list[str]) -> str:
    """The Scores table's ID header: the Activity's, unless it clashes with a result column
    (an ID column headed 'Score' would otherwise be overwritten); then ' (ID)' is added."""
    taken = {normalize_header(c) for c in (*RESULT_COLUMNS, *contribution_columns)}
    name = str(id_column).strip() or "ID"
    while normalize_header(name) in taken:
        name += " (ID)"
    return name


def assign_bands(scores, bands: tuple[Band, ...] | list[Band]) -> np.ndarray:
    """The SPEC rule: the first band (ascending) whose upper bound the score does not exceed;
    below the first band -> the first band, above the last -> the last. NaN -> "No data"."""
    scores = np.asarray(scores, dtype=float)
    uppers = np.array([b.upper for b in bands], dtype=float)
    labels = np.array([b.label for b in bands] + [NO_DATA], dtype=object)
    index = np.minimum(np.searchsorted(uppers, scores, side="left"), len(bands) - 1)
    index[np.isnan(scores)] = len(bands)
    return labels[index]


def _normalize(x: np.ndarray, metric, notes: list[str]) -> np.ndarray:
    """One metric's column of counts -> scores in [0, 1] (NaN where missing)."""
    norm = metric.effective_normalization
    if norm in ("cap", "log"):
        negative = int(np.sum(x < 0))
        if negative:
            notes.append(f"metric '{metric.name}': {negative} negative value(s) score 0 under {norm}")
        clipped = np.maximum(x, 0.0)
        if norm == "cap":
            s = np.minimum(clipped / metric.target, 1.0)
        else:
            s = np.minimum(np.log1p(clipped) / np.log1p(metric.target), 1.0)
    else:
        valid = x[~np.isnan(x)]
        if len(valid) > 0 and valid.min() == valid.max():
            notes.append(f"metric '{metric.name}' has the same value for every customer, so its "
                         f"{norm} score is 0.5 for all")
        s = _midrank_percentile(x) if norm == "percentile" else _minmax(x)
    return 1.0 - s if metric.direction == "lower" else s


def _midrank_percentile(x: np.ndarray) -> np.ndarray:
    """(average rank - 1) / (n - 1) over non-missing values; 0.5 when they cannot be told apart."""
    ranks = pd.Series(x).rank(method="average").to_numpy()
    n = int(np.sum(~np.isnan(x)))
    valid = x[~np.isnan(x)]
    if n <= 1 or valid.min() == valid.max():
        return np.where(np.isnan(x), np.nan, 0.5)
    return (ranks - 1.0) / (n - 1)


def _minmax(x: np.ndarray) -> np.ndarray:
    valid = x[~np.isnan(x)]
    if len(valid) == 0:
        return x.copy()
    lo, hi = valid.min(), valid.max()
    if hi == lo:
        return np.where(np.isnan(x), np.nan, 0.5)
    return (x - lo) / (hi - lo)


def _argmax_label(values: np.ndarray, model: Model) -> np.ndarray:
    """Per row, the metric with the largest positive value ("" when none is above 0).
    Ties go to the metric listed first."""
    filled = np.where(np.isnan(values), -np.inf, values)
    best = np.argmax(filled, axis=1)
    names = np.array([m.name for m in model.metrics], dtype=object)
    labels = names[best]
    labels[filled[np.arange(len(filled)), best] <= 1e-12] = ""
    return labels


def _check_ids(ids: pd.Series) -> None:
    blank = ids.isna() | ids.astype(str).str.strip().eq("")
    if blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0])
        raise CESError(f"the customer ID in data row {row + 1} is blank", fix="fill it in or delete the row")
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        shown = ", ".join(repr(v) for v in pd.unique(duplicated)[:5])
        more = len(pd.unique(duplicated)) - 5
        raise CESError(f"duplicate customer IDs: {shown}" + (f" and {more} more" if more > 0 else ""),
                       fix="give every customer one row (sum their activity first)")


def _match_metric_columns(columns, model: Model, skip) -> list:
    by_key: dict[str, list] = {}
    for c in columns:
        if c in skip:
            continue
        by_key.setdefault(normalize_header(c), []).append(c)
    matched = []
    for metric in model.metrics:
        hits = by_key.get(normalize_header(metric.name), [])
        if not hits:
            raise CESError(f"metric '{metric.name}' has no activity column"
                           f"{did_you_mean(metric.name, [c for c in columns if c not in skip])}",
                           where=metric.where("name"),
                           fix="name an activity column exactly like the metric, or correct the metric name")
        if len(hits) > 1:
            raise CESError(f"metric '{metric.name}' matches {len(hits)} activity columns "
                           f"({', '.join(map(str, hits))})", fix="rename or remove the extra column")
        matched.append(hits[0])
    return matched


def _numeric_column(column: pd.Series, name, ids: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column):
        raise CESError(f"activity column '{name}' holds TRUE/FALSE values", fix="use counts")
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
    else:
        raw = column.astype(object)
        blank = raw.isna() | raw.map(lambda v: isinstance(v, str) and not v.strip())
        bools = raw.map(lambda v: isinstance(v, (bool, np.bool_)))
        values = pd.to_numeric(raw.where(~blank & ~bools, None), errors="coerce").to_numpy(dtype=float)
        bad = (np.isnan(values) & ~blank.to_numpy()) | bools.to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise CESError(f"activity column '{name}', customer {plain(ids.iloc[row])!r}: {raw.iloc[row]!r} is not "
                           "a number", fix="enter a count (blank counts as missing)")
    if np.isinf(values).any():
        row = int(np.flatnonzero(np.isinf(values))[0])
        raise CESError(f"activity column '{name}', customer {plain(ids.iloc[row])!r}: the value is infinite",
                       fix="enter a finite count")
    return values


def plain(value):
    """A numpy scalar as the Python value it holds (for messages: 7, not np.int64(7))."""
    return value.item() if isinstance(value, np.generic) else value


def _find_segment(activity: pd.DataFrame, segment_column, exclude) -> object | None:
    if segment_column is not None:
        if segment_column not in activity.columns:
            raise CESError(f"segment column '{segment_column}' is not in the activity table")
        return segment_column
    for c in activity.columns:
        if c not in exclude and normalize_header(c) == "segment":
            return c
    return None


def _band_summary(scores: pd.DataFrame, bands) -> pd.DataFrame:
    counts = scores["Band"].value_counts()
    rows = [(b.label, b.lower, b.upper, int(counts.get(b.label, 0))) for b in bands]
    if counts.get(NO_DATA, 0):
        rows.append((NO_DATA, np.nan, np.nan, int(counts[NO_DATA])))
    table = pd.DataFrame(rows, columns=["Band", "From", "To", "Customers"])
    table["Share"] = table["Customers"] / len(scores)
    return table


def _segment_summary(scores: pd.DataFrame, bands) -> pd.DataFrame:
    segment = scores["Segment"].map(lambda v: "(blank)" if v is None or (isinstance(v, float) and np.isnan(v))
                                    or str(v).strip() == "" else v)
    grouped = scores.assign(Segment=segment).groupby("Segment", sort=True, dropna=False)
    table = pd.DataFrame({
        "Customers": grouped.size(),
        "Mean score": grouped["Score"].mean(),
        "Median score": grouped["Score"].median(),
    })
    labels = [b.label for b in bands] + ([NO_DATA] if (scores["Band"] == NO_DATA).any() else [])
    by_band = pd.crosstab(segment, scores["Band"]).reindex(columns=labels, fill_value=0)
    table = table.join(by_band.rename_axis("Segment")).fillna(0)
    for label in labels:
        table[label] = table[label].astype(int)
    return table.reset_index()


def _stats(scores: pd.DataFrame, model: Model, method: str) -> dict[str, object]:
    s = scores["Score"].dropna()
    return {
        "Customers": len(scores),
        "Scored": len(s),
        "Method": method,
        "Missing values": model.missing,
        "Period": model.period,
        "Mean score": float(s.mean()) if len(s) else None,
        "Median score": float(s.median()) if len(s) else None,
        "Lowest score": float(s.min()) if len(s) else None,
        "Highest score": float(s.max()) if len(s) else None,
    }
