"""Ranks: the one ranking the scores, the percentile normalization and the AUC all use."""
from __future__ import annotations

import numpy as np


def ranks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
