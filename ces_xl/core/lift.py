"""What it would take (SPEC "Actions: who to call, and what it would take").

* ``To next band``: the current band's upper bound minus the score, the points the score must
  rise past to reach the next band up (none in the top band).
* ``Fastest lift``: among the metrics that alone, the others held fixed, can take the score
  past that bound, the one needing the fewest extra events, with that smallest whole number of
  events (``+2 Purchase Frequency``). Where less of a metric lifts the score (``Direction =
  lower``, or a negative weight under the sum method) it is fewer events (``-3 Support
  tickets``), and never below none. A metric that can only bring the score *up to* the bound
  (a cap reached exactly there) does not qualify. Ties go to the metric listed first.

Exact under the model's rules: each candidate number of events is scored as the engine scores
it (the same normalization, cap, direction, missing-value policy and 9-decimal rounding; for
``percentile`` and ``minmax`` the customer's own value moves among the rest of the population,
held fixed), and the smallest that passes is kept. A first guess comes from inverting the
normalization; the guess and its neighbours are then checked, so float noise in the guess can
never give a wrong answer. Vectorised over customers: the only loop is over the metrics.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bands import band_index
from .model import Model

# Scores are banded after rounding to this many decimals (as in scoring.SCORE_DECIMALS).
_DECIMALS = 9


@dataclass
class Lift:
    """Per customer: the points to the next band, and the fastest lift (NaN / -1 where none)."""

    to_next: np.ndarray   # float: points to rise past (NaN: top band, or no score)
    events: np.ndarray    # float: the whole number of events (NaN: no single metric gets there)
    metric: np.ndarray    # int: the metric's position in the model (-1: none)
    fewer: np.ndarray     # bool per metric: fewer events lift it (Direction lower, negative sum weight)

    def labels(self, names: list[str]) -> np.ndarray:
        """``+2 Purchase Frequency`` / ``-3 Support tickets`` per customer; None where none.
        Each distinct lift is written once (a million customers share a few hundred)."""
        out = np.full(len(self.metric), None, dtype=object)
        some = np.flatnonzero(self.metric >= 0)
        if not len(some):
            return out
        pairs, where = np.unique(np.column_stack([self.metric[some], self.events[some]]), axis=0,
                                 return_inverse=True)
        texts = np.array([f"{'-' if self.fewer[int(j)] else '+'}{int(k)} {names[int(j)]}" for j, k in pairs.tolist()],
                         dtype=object)
        out[some] = texts[where.ravel()]
        return out


def lifts(counts: np.ndarray, model: Model, core, *, row_sums) -> Lift:
    """The lift of every customer. ``counts``: customers x metrics (NaN: blank); ``core``: the
    :class:`~ces_xl.core.scoring.MatrixScores` they scored to; ``row_sums``: the engine's row
    sum (the unrounded score)."""
    total = core.total
    n, m = counts.shape
    bands = model.bands
    where = band_index(total, bands)
    uppers = np.array([b.upper for b in bands] + [np.nan, np.nan], dtype=float)
    boundary = uppers[np.where(where < len(bands) - 1, where, len(bands))]  # NaN: top band or no score
    to_next = np.round(boundary - total, _DECIMALS)
    index_method = model.resolved_method == "index"
    fewer = np.array([(m_.direction == "lower") if index_method else (m_.weight < 0) for m_ in model.metrics],
                     dtype=bool)
    events = np.full(n, np.inf)
    metric = np.full(n, -1, dtype=np.intp)
    rows = np.flatnonzero(~np.isnan(boundary))
    if len(rows) and m:
        unrounded = row_sums(core.contributions[rows])
        for i in range(m):
            if core.weights[i] == 0:
                continue
            k = _metric_lift(i, rows, counts, model, core, unrounded, boundary[rows], fewer[i], index_method)
            better = k < events[rows]
            events[rows[better]] = k[better]
            metric[rows[better]] = i
    events[metric < 0] = np.nan
    return Lift(to_next, events, metric, fewer)


def _metric_lift(i: int, rows: np.ndarray, counts: np.ndarray, model: Model, core, unrounded: np.ndarray,
                 bound: np.ndarray, fewer: bool, index_method: bool) -> np.ndarray:
    """The fewest events of metric ``i`` that take each customer of ``rows`` past ``bound``
    (inf where none can)."""
    spec = model.metrics[i]
    w = float(core.weights[i])
    x0 = counts[rows, i]
    blank = np.isnan(x0)
    base = np.where(blank, 0.0, x0)
    contribution = np.nan_to_num(core.contributions[rows, i])
    other = unrounded - contribution
    # How many events can go: any number more; at most the whole events there are, fewer.
    most = np.where(blank, 0.0, np.floor(np.maximum(base, 0.0))) if fewer else np.full(len(rows), np.inf)

    if not index_method:
        def score(k):
            v = base[:, None] - k if fewer else base[:, None] + k
            return other[:, None] + v * w

        t = (bound - other) / w  # the value at which the score is exactly the bound
        guesses = [np.floor(base - t) + 1 if fewer else np.floor(t - base) + 1]
        return _smallest(score, guesses, bound, most)

    d = np.broadcast_to(core.denominator, (counts.shape[0],))[rows]
    joins = blank & (model.missing == "exclude")  # a blank metric left out: events bring it in
    d_new = np.where(joins, d + w, d)
    g = _Normalized(counts[:, i], spec, model.missing, rows, x0, base)

    def score(k):
        v = base[:, None] - k if fewer else base[:, None] + k
        s = g(v)
        if fewer:
            s = 1.0 - s
        c = 100.0 * s
        c *= w
        c /= d_new[:, None]
        return (other * d / d_new)[:, None] + c

    # The normalized score at which the customer's score is exactly the bound.
    with np.errstate(invalid="ignore", divide="ignore"):
        s_star = (bound * d_new - other * d) / (100.0 * w)
    guesses = g.guesses(s_star, fewer)
    return _smallest(score, guesses, bound, most)


def _smallest(score, guesses: list[np.ndarray], bound: np.ndarray, most: np.ndarray) -> np.ndarray:
    """The smallest whole k >= 1 (and <= ``most``) among the guesses and their neighbours whose
    rounded ``score(k)`` is past ``bound``; inf where none is."""
    columns = []
    for guess in guesses:
        guess = np.where(np.isfinite(guess), guess, 1.0)
        columns += [guess - 1, guess, guess + 1]
    k = np.clip(np.column_stack(columns + [np.ones(len(bound))]), 1.0, None)
    k = np.minimum(k, np.maximum(most, 1.0)[:, None])
    with np.errstate(invalid="ignore", over="ignore"):
        passes = (np.round(score(k), _DECIMALS) > bound[:, None]) & (k <= most[:, None])
    return np.where(passes, k, np.inf).min(axis=1)


class _Normalized:
    """A metric's normalization ``g(v)`` (before Direction) of one customer's value moved to
    ``v``, the rest of the population held fixed, computed as the engine computes it; and
    first guesses of the whole events that reach a normalized score."""

    def __init__(self, column: np.ndarray, metric, missing: str, rows: np.ndarray, x0: np.ndarray,
                 base: np.ndarray):
        self.kind = metric.effective_normalization
        self.target = metric.target
        self.base = base
        if self.kind in ("cap", "log"):
            return
        # The population: present values (every value, blank as 0, under the zero policy).
        values = np.where(np.isnan(column), 0.0, column) if missing == "zero" else column[~np.isnan(column)]
        self.sorted = np.sort(values)
        self.mine = ~np.isnan(x0) | (missing == "zero")  # the customer's own value is in it
        self.others = len(values) - self.mine          # how many others
        n = len(self.sorted)
        first = np.searchsorted(self.sorted, base, side="left")  # one copy of the customer's value
        if self.kind == "minmax":
            # The others' least and greatest: without one copy of the customer's value.
            at_bottom = self.mine & (first == 0)
            at_top = self.mine & (np.searchsorted(self.sorted, base, side="right") == n)
            self.low = np.where(at_bottom, self.sorted[1] if n > 1 else np.inf, self.sorted[0] if n else np.inf)
            self.high = np.where(at_top, self.sorted[-2] if n > 1 else -np.inf, self.sorted[-1] if n else -np.inf)
            self.low = np.where(self.others > 0, self.low, np.inf)
            self.high = np.where(self.others > 0, self.high, -np.inf)
        self.first = first

    def __call__(self, v: np.ndarray) -> np.ndarray:
        if self.kind == "cap":
            return np.minimum(np.maximum(v, 0.0) / self.target, 1.0)
        if self.kind == "log":
            return np.minimum(np.log1p(np.maximum(v, 0.0)) / np.log1p(self.target), 1.0)
        mine = self.mine[:, None]
        base = self.base[:, None]
        if self.kind == "minmax":
            lo = np.minimum(self.low[:, None], v)
            hi = np.maximum(self.high[:, None], v)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(hi == lo, 0.5, (v - lo) / (hi - lo))
        left = np.searchsorted(self.sorted, v, side="left")
        right = np.searchsorted(self.sorted, v, side="right")
        below = left - (mine & (base < v))           # others below v
        equal = right - left - (mine & (base == v))  # others equal to v
        n = self.others[:, None] + 1
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (((below + 1 + (below + equal + 1)) / 2.0) - 1.0) / (n - 1)
        return np.where((n <= 1) | (equal == n - 1), 0.5, s)

    def guesses(self, s_star: np.ndarray, fewer: bool) -> list[np.ndarray]:
        """First guesses of the whole events that take the normalized score past ``s_star``."""
        base = self.base
        need = 1.0 - s_star if fewer else s_star  # g must fall below this (fewer) or rise above it
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            if self.kind in ("cap", "log"):
                t = need * self.target if self.kind == "cap" else np.expm1(need * np.log1p(self.target))
                return [np.floor(base - t) + 1 if fewer else np.floor(t - base) + 1]
            if self.kind == "minmax":
                t = self.low + need * (self.high - self.low)
                if fewer:
                    return [np.floor(base - t) + 1, np.floor(base - self.low), np.floor(base - self.low) + 1]
                return [np.floor(t - base) + 1, np.ceil(self.high - base), np.ceil(self.high - base) + 1]
            # percentile: the score first passes at, or just past, one other value: the one
            # with floor(Q) others below it (Q = s_star x others: the mid-rank position the
            # score needs), counted from the bottom (more events) or, mirrored, from the top
            # (fewer: 1 - g is the percentile of -v).
            q = np.floor(s_star * self.others)
            q = np.where(np.isfinite(q), q, 0).astype(np.int64)
            out = []
            for t in (q - 1, q, q + 1):
                t = np.clip(t, 0, np.maximum(self.others - 1, 0))
                if fewer:  # the t-th other from the top
                    t = self.others - 1 - t
                t_all = np.clip(t + (self.mine & (t >= self.first)), 0, max(len(self.sorted) - 1, 0))
                u = self.sorted[t_all] if len(self.sorted) else np.zeros(len(base))
                out.append(np.ceil(base - u) if fewer else np.ceil(u - base))
            return out
