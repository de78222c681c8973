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
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import CESError
from .names import did_you_mean, name_key as normalize_header
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
    # One row per metric, so that each metric's column of counts is contiguous (x is its transpose).
    by_metric = np.empty((len(metric_columns), len(activity)))
    for i, c in enumerate(metric_columns):
        by_metric[i] = _numeric_column(activity[c], c, ids)
    core = score_matrix(by_metric.T, model, notes, validate=False)
    total, contributions, has_data = core.total, core.contributions, core.has_data

    contribution_columns = [contribution_header(m.name) for m in model.metrics]
    names = [m.name for m in model.metrics]
    band_index = _band_index(total, model.bands)
    average_rank, rank = _ranks(total)
    columns = {
        _id_header(id_column, contribution_columns): ids.to_numpy(copy=True),
        "Score": total,
        "Band": _band_labels(model.bands)[band_index],
        "Rank": rank,
        "Percentile": _midrank_percentile(total, average_rank),
        "Top driver": _argmax_label(contributions, names),
    }
    gaps = core.gaps()
    if gaps is not None:
        columns["Biggest gap"] = _argmax_label(gaps, names)
    if model.missing == "exclude":
        weight = np.abs(core.weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            # Row sums over C-ordered rows, as in score_matrix.
            columns["Data coverage"] = (np.ascontiguousarray(core.present) * weight).sum(axis=1) / weight.sum()
    for i, header in enumerate(contribution_columns):
        columns[header] = contributions[:, i]
    segment_column = _find_segment(activity, segment_column, exclude=[id_column, *metric_columns])
    if segment_column is not None:
        columns["Segment"] = activity[segment_column].to_numpy(copy=True)
    out = pd.DataFrame(columns, copy=False)  # every array in it is new

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
        bands=_band_summary(out, model.bands, band_index),
        segments=_segment_summary(out, model.bands, band_index) if segment_column is not None else None,
        stats=_stats(out, model, method),
        model=model,
        method=method,
        id_column=str(out.columns[0]),
        metric_columns=[str(c) for c in metric_columns],
        contribution_columns=contribution_columns,
        notes=notes,
    )


class MatrixScores(NamedTuple):
    """What :func:`score_matrix` computes: one row per customer, one column per metric."""

    total: np.ndarray              # the scores, rounded to SCORE_DECIMALS; NaN: no data
    contributions: np.ndarray      # each metric's points (NaN where a count is excluded)
    normalized: np.ndarray | None  # index method: each metric's score s in [0, 1]
    denominator: np.ndarray        # index method: the weight total a row is divided by
    weights: np.ndarray
    present: np.ndarray            # where a count was given (all True under missing "zero")
    has_data: np.ndarray           # customers with data for at least one weighted metric

    def gaps(self) -> np.ndarray | None:
        """Index method: the points each metric leaves on the table, ``100 w (1 - s) / sum w``."""
        if self.normalized is None:
            return None
        gaps = 1.0 - self.normalized
        with np.errstate(invalid="ignore", divide="ignore"):
            gaps *= 100.0  # in place, in the order of 100.0 * (1.0 - s) * w / d
            gaps *= self.weights
            gaps /= self.denominator[:, None]
        return gaps


def score_matrix(x, model: Model, notes: list[str] | None = None, *, validate: bool = True) -> MatrixScores:
    """The numeric core every face shares: counts in, scores and points out, no tables.

    ``x``: one row per customer and one column per metric of ``model`` (in the model's order),
    NaN for a blank count; counts must be finite (:func:`score` and the UDFs refuse the rest).
    ``notes`` collects what is worth telling the user. ``validate=False`` skips
    :meth:`Model.validate` for a model that has already passed it.
    """
    if notes is None:
        notes = []
    if validate:
        notes.extend(model.validate())
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(model.metrics):
        raise CESError(f"expected one column per metric ({len(model.metrics)}), not an array of shape {x.shape}")
    n, m = x.shape
    weights = np.array([metric.weight for metric in model.metrics], dtype=float)
    blank = np.isnan(x)
    if model.missing == "zero":
        x = np.where(blank, 0.0, x)
        present = np.ones((n, m), dtype=bool)
        # Every row has every metric, so every row has the same weight total: add it up once.
        denominator = (present[:1] * weights).sum(axis=1)
        has_data = np.full(n, bool((weights != 0).any()))
    else:
        present = ~blank
        denominator = (np.ascontiguousarray(present) * weights).sum(axis=1)
        has_data = (present & (weights != 0)).any(axis=1)

    s = None
    if model.resolved_method == "index":
        s = _normalize_all(x, model.metrics, notes)
        contributions = 100.0 * s
        with np.errstate(invalid="ignore", divide="ignore"):
            contributions *= weights  # in place, in the order of 100.0 * s * w / d
            contributions /= denominator[:, None]
        no_weight = denominator == 0
        if no_weight.any():
            contributions[np.broadcast_to(no_weight, (n,)), :] = np.nan
    else:
        contributions = x * weights
    total = _row_sums(contributions)
    if not has_data.all():
        # A customer with no data for any weighted metric (only possible under the exclude policy)
        # has no score rather than a made-up one.
        total = np.where(has_data, total, np.nan)
    total = np.round(total, SCORE_DECIMALS)
    return MatrixScores(total, contributions, s, denominator, weights, present, has_data)


def _row_sums(values: np.ndarray) -> np.ndarray:
    """Each row's sum, NaN counting as 0 (``np.nansum``). The rows are added as C-ordered rows
    whatever the layout of ``values``: numpy adds up the rows of a column-major array in another
    order, which can change the last bit of a score."""
    rows = np.ascontiguousarray(values)
    total = rows.sum(axis=1)
    if np.isnan(total).any():
        total = np.nansum(rows, axis=1)  # the same sums for the rows without NaN
    return total


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
    return _band_labels(bands)[_band_index(scores, bands)]


def _band_index(scores, bands) -> np.ndarray:
    """Each score's position in ``bands`` by :func:`assign_bands`' rule; ``len(bands)`` for NaN."""
    scores = np.asarray(scores, dtype=float)
    uppers = np.array([b.upper for b in bands], dtype=float)
    index = np.minimum(np.searchsorted(uppers, scores, side="left"), len(bands) - 1)
    index[np.isnan(scores)] = len(bands)
    return index


def _band_labels(bands) -> np.ndarray:
    """The band labels and then NO_DATA, to index with :func:`_band_index`."""
    return np.array([b.label for b in bands] + [NO_DATA], dtype=object)


def _normalize_all(x: np.ndarray, metrics, notes: list[str]) -> np.ndarray:
    """Each metric's column of counts -> scores in [0, 1] (NaN where missing). Metrics with the
    same normalization are done together; the notes come in metric order."""
    n, m = x.shape
    s = np.empty((n, m), order="F")
    kinds = [metric.effective_normalization for metric in metrics]
    said: dict[int, str] = {}
    for norm in ("cap", "log"):
        idx = [i for i, kind in enumerate(kinds) if kind == norm]
        if not idx:
            continue
        block = x if len(idx) == m else x[:, idx]
        negative = (block < 0).sum(axis=0).tolist()
        values = np.maximum(block, 0.0)
        if norm == "cap":  # min(max(x, 0) / target, 1), in place
            values /= np.array([metrics[i].target for i in idx], dtype=float)
        else:              # min(ln(1 + max(x, 0)) / ln(1 + target), 1)
            np.log1p(values, out=values)
            values /= np.array([np.log1p(metrics[i].target) for i in idx], dtype=float)
        np.minimum(values, 1.0, out=values)
        if len(idx) == m:
            s = values
        else:
            s[:, idx] = values
        for i, count in zip(idx, negative):
            if count:
                said[i] = f"metric '{metrics[i].name}': {count} negative value(s) score 0 under {norm}"
    for i, norm in enumerate(kinds):
        if norm in ("percentile", "minmax"):
            column = x[:, i]
            valid = column[~np.isnan(column)]
            if len(valid) > 0 and valid.min() == valid.max():
                said[i] = (f"metric '{metrics[i].name}' has the same value for every customer, so its "
                           f"{norm} score is 0.5 for all")
            s[:, i] = _midrank_percentile(column) if norm == "percentile" else _minmax(column)
    lower = [i for i, metric in enumerate(metrics) if metric.direction == "lower"]
    if lower:
        s[:, lower] = 1.0 - s[:, lower]
    notes.extend(said[i] for i in sorted(said))
    return s


def _ranks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two rankings of the non-NaN values of ``x`` (NaN stays NaN), from one sort:
    ascending with tied values sharing the average of the ranks they span (pandas'
    ``rank(method="average")``), and descending with ties taking the best rank
    (``rank(method="min", ascending=False)``: 1 + how many are larger)."""
    average = np.full(len(x), np.nan)
    from_top = np.full(len(x), np.nan)
    valid = ~np.isnan(x)
    values = x[valid]
    n = len(values)
    if n == 0:
        return average, from_top
    order = np.argsort(values)
    ordered = values[order]
    starts = np.empty(n, dtype=bool)  # where a run of equal values begins, in sorted order
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    first = np.flatnonzero(starts)  # each run's first sorted position (0-based)
    end = np.append(first[1:], n)   # and one past its last
    run = np.cumsum(starts) - 1     # the run of each sorted position
    ranked = np.empty(n)
    ranked[order] = ((first + 1 + end) / 2.0)[run]
    average[valid] = ranked
    ranked[order] = (n - end + 1.0)[run]
    from_top[valid] = ranked
    return average, from_top


def _midrank_percentile(x: np.ndarray, ranks: np.ndarray | None = None) -> np.ndarray:
    """(average rank - 1) / (n - 1) over non-missing values; 0.5 when they cannot be told apart.
    ``ranks``: the average ranks of ``x`` when they are already known."""
    valid = x[~np.isnan(x)]
    n = len(valid)
    if n <= 1 or valid.min() == valid.max():
        return np.where(np.isnan(x), np.nan, 0.5)
    if ranks is None:
        ranks = _ranks(x)[0]
    return (ranks - 1.0) / (n - 1)


def _minmax(x: np.ndarray) -> np.ndarray:
    valid = x[~np.isnan(x)]
    if len(valid) == 0:
        return x.copy()
    lo, hi = valid.min(), valid.max()
    if hi == lo:
        return np.where(np.isnan(x), np.nan, 0.5)
    return (x - lo) / (hi - lo)


def _argmax_label(values: np.ndarray, names: list[str]) -> np.ndarray:
    """Per row, the metric with the largest positive value ("" when none is above 0).
    Ties go to the metric listed first; NaN never wins."""
    best = np.fmax.reduce(values, axis=1)  # NaN only where the whole row is NaN
    which = np.full(len(values), len(names), dtype=np.intp)
    for i in range(values.shape[1] - 1, -1, -1):  # the first metric that reaches the best wins
        np.putmask(which, values[:, i] == best, i)
    which[~(best > 1e-12)] = len(names)
    return np.array(list(names) + [""], dtype=object)[which]


def _check_ids(ids: pd.Series) -> None:
    if _ids_are_fine(ids):
        return
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


def _ids_are_fine(ids: pd.Series) -> bool:
    """A quick look at the usual IDs (all text, or all integers): True when none is blank and
    none repeats. False means "look closer": :func:`_check_ids` then applies its exact rules."""
    values = ids.to_numpy()
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind in ("string", "mixed-integer"):  # text, or text and integers (as read from a workbook)
        items = values.tolist()
        if kind == "string":
            texts = items
        elif set(map(type, items)) <= {int, str}:
            texts = [v for v in items if type(v) is str]
        else:
            return False
        if not all(texts) or any(map(str.isspace, texts)):  # "" or only spaces: blank once stripped
            return False
    elif kind != "integer":
        return False
    return bool(pd.Index(values, dtype=values.dtype).is_unique)


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


def _band_summary(scores: pd.DataFrame, bands, band_index: np.ndarray) -> pd.DataFrame:
    counts: dict[str, int] = {}  # by label, as counting the Band column's values would give them
    for label, count in zip([b.label for b in bands] + [NO_DATA],
                            np.bincount(band_index, minlength=len(bands) + 1).tolist()):
        counts[label] = counts.get(label, 0) + count
    rows = [(b.label, b.lower, b.upper, counts[b.label]) for b in bands]
    if counts[NO_DATA]:
        rows.append((NO_DATA, np.nan, np.nan, counts[NO_DATA]))
    table = pd.DataFrame(rows, columns=["Band", "From", "To", "Customers"])
    table["Share"] = table["Customers"] / len(scores)
    return table


def _segment_summary(scores: pd.DataFrame, bands, band_index: np.ndarray) -> pd.DataFrame:
    """Per segment (sorted; None, NaN and blank text are "(blank)"): customers, mean and median
    score, and how many customers each band has."""
    labels = [b.label for b in bands]
    coded = _segment_codes(scores["Segment"].to_numpy(dtype=object))
    if coded is None or len(set(labels)) < len(labels) or NO_DATA in labels:
        return _segment_summary_by_label(scores, bands)
    codes, names = coded
    k, width = len(names), len(bands) + 1
    by_segment = pd.Series(scores["Score"].to_numpy()).groupby(codes, sort=True)
    table = pd.DataFrame({
        "Segment": names,
        "Customers": np.bincount(codes, minlength=k).astype(np.int64),
        "Mean score": by_segment.mean().reindex(range(k)).fillna(0).to_numpy(),
        "Median score": by_segment.median().reindex(range(k)).fillna(0).to_numpy(),
    })
    by_band = np.bincount(codes * width + band_index, minlength=k * width).reshape(k, width)
    for j, label in enumerate(labels):
        table[label] = by_band[:, j].astype(np.int64)
    if by_band[:, -1].any():
        table[NO_DATA] = by_band[:, -1].astype(np.int64)
    return table


def _segment_codes(values: np.ndarray) -> tuple[np.ndarray, list[str]] | None:
    """Each row's segment as a position in the sorted list of segment names (None, NaN and blank
    text named "(blank)"). None when a segment is not text: the general route takes those."""
    codes, uniques = pd.factorize(values)
    missing = codes < 0
    if missing.any() and not set(map(type, values[missing].tolist())) <= {type(None), float}:
        return None  # pandas also counts pd.NA, NaT, ... as missing; those are not "(blank)"
    named = [_segment_name(v) for v in uniques.tolist()]
    if not all(type(v) is str for v in named):
        return None
    names = sorted(set(named) | ({"(blank)"} if missing.any() else set()))
    position = {name: i for i, name in enumerate(names)}
    lookup = np.array([position[v] for v in named] + [position.get("(blank)", -1)], dtype=np.intp)
    return lookup[codes], names  # code -1 (missing) takes the last entry, "(blank)"


def _segment_name(v):
    return "(blank)" if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "" else v


def _segment_summary_by_label(scores: pd.DataFrame, bands) -> pd.DataFrame:
    segment = scores["Segment"].map(_segment_name)
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
