"""Suggested weights, fitted to the analyst's own outcomes (SPEC "Trust": suggested weights).

A regularised (L2) logistic regression of the outcome on the metrics' normalized scores (the
index method's ``s``, ``Direction`` already inside it), by scikit-learn. The weights must be
non-negative: a metric whose fitted coefficient comes out below 0 is left out and the rest
fitted again, until none is (an active set, each step an ordinary scikit-learn fit). They are
then rescaled to add up to 1. The outcome is taken the way the score runs: when a low score
means the outcome (churn), the fit predicts its absence, so a good metric still gets a weight
above 0.

Their AUC is cross-validated: the customers in 5 folds (stratified, a fixed seed), the weights
fitted on 4 and the AUC of their score taken on the fifth, never on the customers they were
fitted on; beside it, the current model's AUC on the same folds. Nothing is applied.

scikit-learn is imported here only, when outcomes ask for a fit (it takes a second to import).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .outcomes import auc

MIN_EACH = 20        # outcomes of each kind needed before weights are suggested
FOLDS = 5
MAX_FIT_ROWS = 100_000  # customers a fit uses at most (a random sample, fixed seed)
SEED = 0


@dataclass
class Suggestion:
    weights: np.ndarray          # one per metric, >= 0, adding up to 1
    cv_auc: float                # the suggested weights' AUC, cross-validated (mean over the folds)
    current_auc: float           # the current weights' AUC on the same folds
    folds: list = field(default_factory=list, repr=False)  # (train rows, test rows) of each fold
    notes: list[str] = field(default_factory=list)


def suggest(normalized: np.ndarray, outcomes: np.ndarray, current: np.ndarray, low_means_yes: bool,
            names: list[str]) -> tuple[Suggestion | None, list[str]]:
    """Suggested weights for the metrics (columns of ``normalized``, scores in [0, 1]) from
    ``outcomes`` (1/0/NaN), or None with a note saying how many more outcomes are needed.
    ``current``: today's weights; ``low_means_yes``: a low score means the outcome."""
    known = ~np.isnan(outcomes) & ~np.isnan(normalized).any(axis=1)
    x = normalized[known]
    y = outcomes[known] == 1
    if low_means_yes:
        y = ~y  # fit what the score predicts: the outcome's absence
    have = {"yes": int(y.sum()), "no": int((~y).sum())}
    if low_means_yes:
        have = {"yes": have["no"], "no": have["yes"]}
    short = {kind: MIN_EACH - n for kind, n in have.items() if n < MIN_EACH}
    if short:
        need = " and ".join(f"{n} more with outcome {kind}" for kind, n in short.items())
        return None, [f"suggested weights need at least {MIN_EACH} customers with each outcome: {need}"]
    notes = []
    rng = np.random.default_rng(SEED)
    if len(y) > MAX_FIT_ROWS:
        sample = np.sort(rng.choice(len(y), MAX_FIT_ROWS, replace=False))
        x, y = x[sample], y[sample]
        notes.append(f"suggested weights are fitted on {MAX_FIT_ROWS:,} customers with outcomes, drawn at random")
    from sklearn.model_selection import StratifiedKFold

    folds, aucs, current_aucs = [], [], []
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(x, y):
        w = fit_weights(x[train], y[train])
        folds.append((train, test))
        aucs.append(auc(x[test] @ w, y[test].astype(float)).raw)
        current_aucs.append(auc(x[test] @ current, y[test].astype(float)).raw)
    weights = fit_weights(x, y)
    silent = [names[i] for i in np.flatnonzero(weights == 0)]
    if silent:
        notes.append(f"the suggested weights leave out {', '.join(silent)}: with the others, more of it did not "
                     "make the outcome more likely")
    return Suggestion(weights, float(np.mean(aucs)), float(np.mean(current_aucs)), folds, notes), notes


def fit_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative logistic-regression weights of the columns of ``x`` for ``y``, adding up to
    1 (all 0 if no column helps)."""
    from sklearn.linear_model import LogisticRegression

    active = list(range(x.shape[1]))
    weights = np.zeros(x.shape[1])
    while active:
        model = LogisticRegression(C=1.0, max_iter=1000).fit(x[:, active], y)
        coef = model.coef_[0]
        if (coef >= 0).all():
            weights[active] = coef
            break
        active.pop(int(np.argmin(coef)))  # the most negative leaves; the rest are fitted again
    total = weights.sum()
    return weights / total if total > 0 else weights
