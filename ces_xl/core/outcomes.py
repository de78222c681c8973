"""Does the score predict anything? (SPEC "Trust: does the score predict anything?")

Outcomes (what happened next: churned, renewed, converted) are 1 (yes), 0 (no) or NaN
(unknown). From the customers with a score and a known outcome:

* the outcome rate per band and per tenth of the scores (its lift: the rate over the overall
  rate), what a lift chart shows;
* the AUC: the chance that a customer with the outcome scores above one without, ties counting
  one half (the Mann-Whitney statistic over all n1 x n0 pairs, from mid-ranks). Reported
  oriented, so that 0.5 is chance and 1 is perfect, with the direction it runs in; its 95%
  confidence interval from DeLong's variance (DeLong, DeLong and Clarke-Pearson, 1988),
  ``AUC +- 1.96 sqrt(S10 / n1 + S01 / n0)``, clipped to [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .ranks import ranks
Z95 = 1.959963984540054  # the two-sided 95% point of the normal distribution
FEW = 10  # fewer outcomes of either kind than this: the AUC is shown, with a warning
HIGHER, LOWER = "a high score means the outcome is more likely", "a low score means the outcome is more likely"


@dataclass
class Auc:
    """The AUC as reported: ``value`` >= 0.5 (oriented), its interval, and its direction."""

    value: float
    low: float
    high: float
    direction: str
    raw: float  # P(score of a yes > score of a no), ties one half: before orienting


@dataclass
class OutcomeReport:
    """What the outcomes say about the score."""

    column: str                  # the outcome column's header
    known: int                   # scored customers with a known outcome
    yes: int
    by_band: pd.DataFrame        # Band, Customers, With an outcome, Outcome yes, Rate
    by_tenth: pd.DataFrame       # Tenth, Lowest score, Highest score, Customers, Outcome yes, Rate, Lift
    auc: Auc | None              # None: no outcome of one kind
    notes: list[str] = field(default_factory=list)

    @property
    def no(self) -> int:
        return self.known - self.yes


def auc(scores, outcomes) -> Auc | None:
    """The AUC of ``scores`` for ``outcomes`` (1/0; NaN scores and outcomes are left out), with
    DeLong's 95% interval; None without at least one outcome of each kind."""
    scores = np.asarray(scores, dtype=float)
    outcomes = np.asarray(outcomes, dtype=float)
    known = ~np.isnan(scores) & ~np.isnan(outcomes)
    x, y = scores[known], outcomes[known] == 1
    n1, n0 = int(y.sum()), int((~y).sum())
    if not n1 or not n0:
        return None
    every = ranks(x)[0]
    among_yes, among_no = ranks(x[y])[0], ranks(x[~y])[0]
    # Each yes's share of the no's it beats (ties one half), and each no's share of the yes's
    # that beat it: their means are the AUC, their variances DeLong's S10 and S01.
    v10 = (every[y] - among_yes) / n0
    v01 = 1.0 - (every[~y] - among_no) / n1
    raw = float(v10.mean())
    s10 = float(v10.var(ddof=1)) if n1 > 1 else 0.0
    s01 = float(v01.var(ddof=1)) if n0 > 1 else 0.0
    half = Z95 * np.sqrt(s10 / n1 + s01 / n0)
    value, direction = (raw, HIGHER) if raw >= 0.5 else (1.0 - raw, LOWER)
    return Auc(value, float(max(value - half, 0.0)), float(min(value + half, 1.0)), direction, raw)


def report(scores: np.ndarray, bands: np.ndarray, labels: list[str], outcomes: np.ndarray,
           column: str) -> OutcomeReport:
    """The outcome report of customers with ``scores``, in ``bands`` (labels per customer, in
    the order of ``labels``) and ``outcomes`` (1/0/NaN) from the column headed ``column``."""
    scores = np.asarray(scores, dtype=float)
    outcomes = np.asarray(outcomes, dtype=float)
    known = ~np.isnan(scores) & ~np.isnan(outcomes)
    yes = int((outcomes[known] == 1).sum())
    rows = []
    for label in labels:
        here = bands == label
        with_outcome = int((here & known).sum())
        hits = int((here & known & (outcomes == 1)).sum())
        rows.append([label, int(here.sum()), with_outcome, hits, hits / with_outcome if with_outcome else np.nan])
    by_band = pd.DataFrame(rows, columns=["Band", "Customers", "With an outcome", "Outcome yes", "Rate"])
    notes = []
    n = int(known.sum())
    result = auc(scores, outcomes)
    if result is None:
        notes.append(f"{column}: {yes} customer(s) with the outcome and {n - yes} without, among those scored: the "
                     "AUC needs some of each")
    elif min(yes, n - yes) < FEW:
        notes.append(f"{column}: only {min(yes, n - yes)} customer(s) {'with' if yes < n - yes else 'without'} the "
                     f"outcome: the AUC's interval ({result.low:.2f} to {result.high:.2f}) is wide; at least {FEW} of "
                     "each say more")
    if not n:
        notes = [f"{column}: no scored customer has a known outcome (yes/no, TRUE/FALSE or 1/0)"]
    return OutcomeReport(column, n, yes, by_band, _tenths(scores[known], outcomes[known]), result, notes)


def _tenths(scores: np.ndarray, outcomes: np.ndarray) -> pd.DataFrame:
    """Customers with a known outcome in ten groups of (nearly) equal size by score, lowest
    first (fewer groups with fewer than ten customers), with each group's outcome rate and
    its lift over the overall rate."""
    n = len(scores)
    columns = ["Tenth", "Lowest score", "Highest score", "Customers", "Outcome yes", "Rate", "Lift"]
    if not n:
        return pd.DataFrame(columns=columns)
    groups = min(10, n)
    order = np.argsort(scores, kind="mergesort")
    group = np.empty(n, dtype=np.intp)
    group[order] = np.arange(n) * groups // n  # by rank: tied scores may fall either side
    overall = outcomes.mean()
    rows = []
    for g in range(groups):
        here = group == g
        rate = float(outcomes[here].mean())
        rows.append([g + 1, float(scores[here].min()), float(scores[here].max()), int(here.sum()),
                     int(outcomes[here].sum()), rate, rate / overall if overall else np.nan])
    return pd.DataFrame(rows, columns=columns)
