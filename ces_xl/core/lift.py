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
normalization; the guess and its neighbours are then checked, so float noise in the guess
cannot give a wrong answer (a property test applies every lift and scores the table again).
Vectorised over customers: the loops are over the metrics, and over pieces of customers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bands import band_index
from .rounding import rounded
from .distinct import distinct_rows
from .model import Model


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
        metric, events = self.metric[some], self.events[some]
        where, first = distinct_rows([metric, events], len(some))  # by hashing: no sort of a million pairs
        texts = np.array([f"{'-' if self.fewer[j] else '+'}{int(k)} {names[j]}"
                          for j, k in zip(metric[first].tolist(), events[first].tolist())], dtype=object)
        out[some] = texts[where]
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
    to_next = rounded(boundary - total)
    index_method = model.resolved_method == "index"
    fewer = np.array([(m_.direction == "lower") if index_method else (m_.weight < 0) for m_ in model.metrics],
                     dtype=bool)
    events = np.full(n, np.inf)
    metric = np.full(n, -1, dtype=np.intp)
    rows = np.flatnonzero(~np.isnan(boundary))
    if not len(rows) or not m:
        events[:] = np.nan
        return Lift(to_next, events, metric, fewer)
    # Each relative metric's population once; then the customers a piece at a time, so that
    # the many temporary arrays stay small (and in the processor's cache).
    populations = {i: _Population(counts[:, i], model.missing) for i, spec in enumerate(model.metrics)
                   if index_method and spec.effective_normalization in ("percentile", "minmax")}
    denominator = np.broadcast_to(core.denominator, (n,))
    for start in range(0, len(rows), _PIECE):
        part = rows[start:start + _PIECE]
        points = core.contributions[part]
        x = counts[part]
        unrounded = row_sums(points)
        best = np.full(len(part), np.inf)
        which = np.full(len(part), -1, dtype=np.intp)
        for i in range(m):
            if core.weights[i] == 0:
                continue
            k = _metric_lift(i, x, points, denominator[part], populations.get(i), model, float(core.weights[i]),
                             unrounded, boundary[part], fewer[i], index_method)
            better = k < best
            best[better] = k[better]
            which[better] = i
        events[part] = best
        metric[part] = which
    events[metric < 0] = np.nan
    return Lift(to_next, events, metric, fewer)


_PIECE = 32_768  # customers at a time


def _metric_lift(i: int, x: np.ndarray, points: np.ndarray, d: np.ndarray, population: "_Population | None",
                 model: Model, w: float, unrounded: np.ndarray, bound: np.ndarray, fewer: bool,
                 index_method: bool) -> np.ndarray:
    """The fewest events of metric ``i`` that take each customer past ``bound`` (inf where none
    can). ``x``, ``points``, ``d``: the counts, points and weight totals of some customers below
    the top band; ``population``: metric ``i``'s values of everyone (relative metrics)."""
    spec = model.metrics[i]
    x0 = x[:, i]
    blank = np.isnan(x0)
    base = np.where(blank, 0.0, x0)
    other = unrounded - np.nan_to_num(points[:, i])
    # How many events can go: any number more; at most the whole events there are, fewer.
    most = np.where(blank, 0.0, np.floor(np.maximum(base, 0.0))) if fewer else np.full(len(x0), np.inf)

    if not index_method:
        def score(k, at):
            v = base[at] - k if fewer else base[at] + k
            return other[at] + v * w

        t = (bound - other) / w  # the value at which the score is exactly the bound
        guesses = [np.floor(base - t) + 1 if fewer else np.floor(t - base) + 1]
        return _smallest(score, guesses, bound, most)

    joins = blank & (model.missing == "exclude")  # a blank metric left out: events bring it in
    if joins.any():
        d_new = np.where(joins, d + w, d)
        kept = other * d / d_new  # the other metrics' points over the new weight total
    else:
        d_new, kept = d, other
    g = _Normalized(spec, population, model.missing, x0, base)

    def score(k, at):
        v = base[at] - k if fewer else base[at] + k
        s = g(v, at)
        if fewer:
            s = 1.0 - s
        c = 100.0 * s  # in the engine's order: 100 x s x w / d
        c *= w
        c /= d_new[at]
        return kept[at] + c

    # The normalized score at which the customer's score is exactly the bound.
    with np.errstate(invalid="ignore", divide="ignore"):
        s_star = (bound * d_new - other * d) / (100.0 * w)
    guesses = g.guesses(s_star, fewer)
    return _smallest(score, guesses, bound, most)


def _smallest(score, guesses: list[np.ndarray], bound: np.ndarray, most: np.ndarray) -> np.ndarray:
    """The smallest whole k >= 1 (and <= ``most``) among the guesses and their neighbours whose
    rounded ``score(k, at)`` is past ``bound``; inf where none is. A guess is off by one event
    at most (float noise), and the score only rises with k: so a guess that passes is tried one
    event fewer, and one that fails one event more."""
    ceiling = np.maximum(most, 1.0)
    best = np.full(len(bound), np.inf)
    everyone = slice(None)  # a view, not a copy

    def passes(k, at):
        with np.errstate(invalid="ignore", over="ignore"):
            return (rounded(score(k, at)) > bound[at]) & (k <= most[at])

    for guess in guesses:
        k = np.minimum(np.clip(np.where(np.isfinite(guess), guess, 1.0), 1.0, None), ceiling)
        ok = passes(k, everyone)
        lower = np.flatnonzero(ok & (k > 1))
        fewer = passes(k[lower] - 1, lower)
        k[lower[fewer]] -= 1
        higher = np.flatnonzero(~ok & (k + 1 <= ceiling))
        more = passes(k[higher] + 1, higher)
        k[higher[more]] += 1
        ok[higher[more]] = True
        np.minimum(best, np.where(ok, k, np.inf), out=best)
    return best


class _Population:
    """A relative metric's population: its present values (every value, blank as 0, under the
    zero policy), as the distinct values and how many lie below each (counts repeat: searching
    a few distinct values is far faster than searching them all)."""

    def __init__(self, column: np.ndarray, missing: str):
        values = np.where(np.isnan(column), 0.0, column) if missing == "zero" else column[~np.isnan(column)]
        self.size = len(values)
        self.values, self.repeats = np.unique(values, return_counts=True)
        self.before = np.concatenate([[0], np.cumsum(self.repeats)])  # values below values[j]: before[j]


class _Normalized:
    """A metric's normalization ``g(v)`` (before Direction) of one customer's value moved to
    ``v``, the rest of the population held fixed, computed as the engine computes it; and
    first guesses of the whole events that reach a normalized score."""

    def __init__(self, metric, population: "_Population | None", missing: str, x0: np.ndarray,
                 base: np.ndarray):
        self.kind = metric.effective_normalization
        self.target = metric.target
        self.base = base
        if self.kind in ("cap", "log"):
            return
        self.values, self.before, repeats = population.values, population.before, population.repeats
        self.mine = ~np.isnan(x0) | (missing == "zero")  # the customer's own value is in it
        self.others = population.size - self.mine       # how many others
        if self.kind == "minmax" and len(self.values):
            # The others' least and greatest: without one copy of the customer's value.
            lone_low = self.mine & (base == self.values[0]) & (repeats[0] == 1)
            lone_high = self.mine & (base == self.values[-1]) & (repeats[-1] == 1)
            second_low = self.values[1] if len(self.values) > 1 else np.inf
            second_high = self.values[-2] if len(self.values) > 1 else -np.inf
            self.low = np.where(self.others > 0, np.where(lone_low, second_low, self.values[0]), np.inf)
            self.high = np.where(self.others > 0, np.where(lone_high, second_high, self.values[-1]), -np.inf)
        elif self.kind == "minmax":
            self.low, self.high = np.full(len(base), np.inf), np.full(len(base), -np.inf)

    def _below_and_equal(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How many of the population are below ``v``, and how many equal to it."""
        j = np.searchsorted(self.values, v, side="left")
        hit = self.values[np.minimum(j, len(self.values) - 1)] == v if len(self.values) else np.zeros(len(v), bool)
        below = self.before[j]
        return below, np.where(hit, self.before[np.minimum(j + 1, len(self.values))] - below, 0)

    def _nth(self, t: np.ndarray) -> np.ndarray:
        """The t-th smallest value of the population (0-based)."""
        if not len(self.values):
            return np.zeros(len(t))
        return self.values[np.clip(np.searchsorted(self.before, t, side="right") - 1, 0, len(self.values) - 1)]

    def __call__(self, v: np.ndarray, at: np.ndarray) -> np.ndarray:
        """g of each customer ``at`` (positions among the rows) moved to ``v``."""
        if self.kind == "cap":
            return np.minimum(np.maximum(v, 0.0) / self.target, 1.0)
        if self.kind == "log":
            return np.minimum(np.log1p(np.maximum(v, 0.0)) / np.log1p(self.target), 1.0)
        if self.kind == "minmax":
            lo = np.minimum(self.low[at], v)
            hi = np.maximum(self.high[at], v)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(hi == lo, 0.5, (v - lo) / (hi - lo))
        mine, base = self.mine[at], self.base[at]
        below, equal = self._below_and_equal(v)
        below = below - (mine & (base < v))  # others below v
        equal = equal - (mine & (base == v))  # others equal to v
        n = self.others[at] + 1
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
                # Among everyone, the customer's own value (when it is in) may come first.
                u = self._nth(t)
                u = np.where(self.mine & (u >= base), self._nth(t + 1), u)
                out.append(np.ceil(base - u) if fewer else np.ceil(u - base))
            return out
