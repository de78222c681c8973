"""Scoring math: a :class:`~ces_xl.core.table.Table` and a :class:`Model` in, scores out.

Nothing here knows about Excel; the table rules (what a count or an ID is) are in
:mod:`ces_xl.core.table`, the summaries in :mod:`ces_xl.core.summary`. All arithmetic is
vectorised over customers with numpy; the only Python loop is over the (few) metrics.

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

from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import InputError
from .bands import NO_DATA, band_index, band_labels
from .lift import Lift, lifts
from .model import Model
from .names import name_key
from .ranks import ranks as _ranks
from .rounding import rounded
from .outcomes import OutcomeReport, report as outcome_report
from .scenario import ScenarioReport
from .fit import Suggestion
from .summary import band_summary, segment_summary, stats
from .table import Table, prepare, side_by_side



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
    kept: pd.DataFrame | None = None  # analysts' notes on customers no longer scored (see core.notes)
    id_format: str | None = None      # the number format the IDs had where they came from (e.g. 00000)
    history: list = field(default_factory=list)  # the snapshots, oldest first (core.history.Snapshot)
    band_mix: pd.DataFrame | None = None   # each snapshot's share of customers per band
    band_movement: pd.DataFrame | None = None  # previous band x current band, counts
    change_since: int | None = None        # the previous snapshot's as-of day
    point_changes: np.ndarray | None = None  # customers x metrics: each metric's point change
    lift: Lift | None = None               # points to the next band and the fastest lift (core.lift)
    actions: pd.DataFrame | None = None    # who to call and why, most urgent first (core.actions)
    segment_values: np.ndarray | None = None  # each customer's segment (None: blank), when there are segments
    segment_header: str | None = None
    card: dict[str, object] | None = None  # the model card (from the workbook: file name, Settings in force)
    outcomes: "OutcomeReport | None" = None  # what the outcomes say of the score (core.outcomes)
    outcome_values: np.ndarray | None = None  # each customer's outcome: 1, 0 or NaN (not known)
    scenario: "ScenarioReport | None" = None  # the what-if weights against today's (core.scenario)
    suggestion: "Suggestion | None" = None  # weights fitted to the outcomes, never applied (core.fit)


def contribution_header(metric_name: str) -> str:
    return f"{metric_name} (points)"


def score(activity: pd.DataFrame, model: Model, *, id_column: str | None = None,
          segment_column: str | None = None, outcome_column: str | None = None,
          actions: bool = True, scenario: dict[str, float] | None = None) -> ScoreResult:
    """Score every customer (row) of ``activity`` with ``model``.

    ``activity``: the first column (or ``id_column``) holds customer IDs; one column per metric,
    matched to the metric names case- and space-insensitively; an optional ``Segment`` column
    (or ``segment_column``); an optional ``Outcome`` column (or ``outcome_column``) of what
    happened next, yes/no, TRUE/FALSE or 1/0 (``result.outcomes``: rates per band and tenth of
    the scores, the AUC); other columns are ignored. Blank (NaN/None/"") counts are missing.
    The table rules (:mod:`ces_xl.core.table`) are those of a workbook's Activity sheet.
    ``actions``: also work out what it would take (``To next band``, ``Fastest lift``) and the
    Actions table, as a workbook's run does; ``False`` scores alone, in about half the time.
    ``scenario``: what-if weights by metric name (the others keep theirs), compared with today
    in ``result.scenario`` (band migration, movers, the AUC of both), as a Weights sheet's
    Scenario column is; nothing is applied.
    """
    if scenario is not None:
        if not isinstance(scenario, dict):
            raise InputError(f"scenario must be a dict of metric name -> weight, not {type(scenario).__name__}",
                             where="scenario", fix="pass e.g. scenario={'Visits': 2}")
        known = {name_key(m.name): m for m in model.metrics}
        unknown = [name for name in scenario if name_key(name) not in known]
        if unknown:
            raise InputError(f"scenario names {', '.join(map(repr, unknown))}, not a metric of the model",
                             where="scenario", fix=f"use the model's metric names: "
                                                   f"{', '.join(m.name for m in model.metrics)}")
        weights = {name_key(k): v for k, v in scenario.items()}
        model = model.with_settings(metrics=[m if name_key(m.name) not in weights else
                                             replace(m, scenario=weights[name_key(m.name)]) for m in model.metrics])
    if not isinstance(actions, bool):
        raise InputError(f"actions must be True or False, not {actions!r}", where="actions",
                         fix="pass actions=True (the default) or actions=False")
    notes = model.validate()
    table = prepare(activity, model, id_column=id_column, segment_column=segment_column, outcome_column=outcome_column)
    result = score_table(table, model, notes=notes, validated=True, lift=actions)
    complete(result, table, actions=actions)
    return result


def complete(result: ScoreResult, table: Table, *, actions: bool = True) -> None:
    """What comes after the scores and their trend, on every face: the Actions table (which
    reads the change), and with scenario weights in the model the what-if."""
    if actions:
        from .actions import actions_table

        result.actions = actions_table(result)
    what_if = result.model.scenario_model()
    if what_if is not None:
        from .scenario import compare

        result.scenario = compare(result, table.counts, what_if, carried=list(table.shown))


def score_table(table: Table, model: Model, *, notes: list[str] | None = None,
                validated: bool = False, lift: bool = True) -> ScoreResult:
    """Score a prepared :class:`Table` (its counts in the model's metric order).
    ``validated``: the model has passed :meth:`Model.validate` (its notes are in ``notes``).
    ``lift``: add what it would take (To next band, Fastest lift; :mod:`ces_xl.core.lift`)."""
    notes = [] if notes is None else notes
    notes.extend(table.notes)
    if not validated:
        notes.extend(model.validate())
    method = model.resolved_method
    core = score_matrix(table.counts, model, notes, validate=False)
    total, contributions, has_data = core.total, core.contributions, core.has_data

    contribution_columns = [contribution_header(m.name) for m in model.metrics]
    names = [m.name for m in model.metrics]
    index = band_index(total, model.bands)
    average_rank, rank = _ranks(total)
    columns = {
        _id_header(table.id_header, contribution_columns): table.ids,
        "Score": total,
        "Band": band_labels(model.bands)[index],
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
    if lift:
        lift = lift_matrix(table.counts, model, core)
        columns["To next band"] = lift.to_next
        columns["Fastest lift"] = pd.Series(lift.labels(names), dtype=object, copy=False)  # None where there is none
    else:
        lift = None
    names_taken = dict.fromkeys([*columns, *contribution_columns])
    shown = {}
    for header, values in table.shown.items():  # carried from the activity table, untouched
        shown[name := _carried_header(header, names_taken)] = values
        names_taken[name] = None
    # The points as one block (one column each would cost seconds at 16,000 metrics); every
    # array here is new, so nothing is copied.
    out = side_by_side([pd.DataFrame(columns, copy=False),
                        pd.DataFrame(contributions, columns=contribution_columns, copy=False),
                        pd.DataFrame(shown, index=pd.RangeIndex(len(total)), copy=False)])

    report = suggestion = None
    if table.outcomes is not None:
        report = outcome_report(total, columns["Band"], [b.label for b in model.bands], table.outcomes,
                                table.outcome_header or "Outcome")
        notes.extend(report.notes)
        if report.auc is not None and core.normalized is not None:
            from .fit import suggest
            from .outcomes import LOWER

            shares = core.weights / core.weights.sum()
            suggestion, said = suggest(np.ascontiguousarray(core.normalized), table.outcomes, shares,
                                       report.auc.direction == LOWER, names)
            notes.extend(said)
        elif report.auc is not None:
            notes.append("suggested weights are fitted to the metrics' normalized scores: they need the index method")
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
        bands=band_summary(out, model.bands, index, method),
        segments=None if table.segments is None else segment_summary(out, table.segments, model.bands, index),
        stats=stats(out, model, method),
        model=model,
        method=method,
        id_column=str(out.columns[0]),
        metric_columns=list(table.metric_headers),
        contribution_columns=contribution_columns,
        notes=notes,
        lift=lift,
        segment_values=table.segments,
        segment_header=table.segment_header,
        outcomes=report,
        outcome_values=table.outcomes,
        suggestion=suggestion,
    )


class MatrixScores(NamedTuple):
    """What :func:`score_matrix` computes: one row per customer, one column per metric."""

    total: np.ndarray              # the scores, rounded (core.rounding); NaN: no data
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
        raise ValueError(f"expected one column per metric ({len(model.metrics)}), not an array of shape {x.shape}")
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
    total = rounded(total)
    return MatrixScores(total, contributions, s, denominator, weights, present, has_data)


def lift_matrix(x: np.ndarray, model: Model, core: MatrixScores) -> Lift:
    """What it would take (:mod:`ces_xl.core.lift`) for counts ``x`` that scored to ``core``."""
    return lifts(np.asarray(x, dtype=float), model, core, row_sums=_row_sums)


def _row_sums(values: np.ndarray) -> np.ndarray:
    """Each row's sum, NaN counting as 0 (``np.nansum``). The rows are added as C-ordered rows
    whatever the layout of ``values``: numpy adds up the rows of a column-major array in another
    order, which can change the last bit of a score."""
    rows = np.ascontiguousarray(values)
    total = rows.sum(axis=1)
    if np.isnan(total).any():
        total = np.nansum(rows, axis=1)  # the same sums for the rows without NaN
    return total


# Every result column a Scores table may have, whatever the run (the ones of history and
# actions included): an ID or carried column named like one is renamed, and a column a re-run
# finds under another header is the analyst's.
RESULT_COLUMNS = ("Score", "Band", "Rank", "Percentile", "Top driver", "Biggest gap", "Data coverage",
                  "Previous score", "Change", "Previous band", "Change driver", "From activity", "From model",
                  "To next band", "Fastest lift")


def _carried_header(header: str, columns: dict) -> str:
    """A carried column's header, with " (Activity)" added if a result column has its name."""
    taken = {name_key(c) for c in columns}
    name = header
    while name_key(name) in taken:
        name += " (Activity)"
    return name


def _id_header(id_column, contribution_columns: list[str]) -> str:
    """The Scores table's ID header: the Activity's, unless it clashes with a result column
    (an ID column headed 'Score' would otherwise be overwritten); then ' (ID)' is added."""
    taken = {name_key(c) for c in (*RESULT_COLUMNS, *contribution_columns)}
    name = str(id_column).strip() or "ID"
    while name_key(name) in taken:
        name += " (ID)"
    return name


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


# Points at or below this drive nothing (float noise of a zero); the SQL and the live formulas
# use the same threshold.
DRIVER_FLOOR = 1e-12


def _argmax_label(values: np.ndarray, names: list[str]) -> np.ndarray:
    """Per row, the metric with the largest positive value ("" when none is above 0).
    Ties go to the metric listed first; NaN never wins."""
    best = np.fmax.reduce(values, axis=1)  # NaN only where the whole row is NaN
    which = np.full(len(values), len(names), dtype=np.intp)
    for i in range(values.shape[1] - 1, -1, -1):  # the first metric that reaches the best wins
        np.putmask(which, values[:, i] == best, i)
    which[~(best > DRIVER_FLOOR)] = len(names)
    return np.array(list(names) + [""], dtype=object)[which]


def plain(value):
    """A numpy scalar as the Python value it holds (for messages: 7, not np.int64(7))."""
    return value.item() if isinstance(value, np.generic) else value
