"""Bands: which band a score falls in (SPEC "Bands"), for every face and engine."""
from __future__ import annotations

import numpy as np

from .model import Band

NO_DATA = "No data"  # the band of a customer with no score (no data for any weighted metric)


def assign_bands(scores, bands: tuple[Band, ...] | list[Band]) -> np.ndarray:
    """The SPEC rule: the first band (ascending) whose upper bound the score does not exceed;
    below the first band -> the first band, above the last -> the last. NaN -> "No data"."""
    return band_labels(bands)[band_index(scores, bands)]


def band_index(scores, bands) -> np.ndarray:
    """Each score's position in ``bands`` by :func:`assign_bands`' rule; ``len(bands)`` for NaN."""
    scores = np.asarray(scores, dtype=float)
    uppers = np.array([b.upper for b in bands], dtype=float)
    index = np.minimum(np.searchsorted(uppers, scores, side="left"), len(bands) - 1)
    index[np.isnan(scores)] = len(bands)
    return index


def band_labels(bands) -> np.ndarray:
    """The band labels and then NO_DATA, to index with :func:`band_index`."""
    return np.array([b.label for b in bands] + [NO_DATA], dtype=object)


def effective_ranges(bands, method: str) -> list[str]:
    """What each band really holds under :func:`assign_bands`' rule, in words: a band starts
    just above the previous band's upper bound, whatever its own lower bound says (so 40.7 is in
    a band typed as 41-75), the first band also takes every score below it, and the last every
    score above it. Index scores lie in 0-100, so there the ends are 0 and 100."""
    ranges = []
    for i, band in enumerate(bands):
        upper = f"{band.upper:g}"
        if len(bands) == 1:
            ranges.append("0 to 100" if method == "index" else "any score")
        elif i == 0:
            ranges.append(f"0 to {upper}" if method == "index" and band.upper >= 0 else f"up to {upper}")
        elif i == len(bands) - 1:
            below = f"{bands[i - 1].upper:g}"
            ranges.append(f"above {below} to 100" if method == "index" and band.upper <= 100 else f"above {below}")
        else:
            ranges.append(f"above {bands[i - 1].upper:g} to {upper}")
    return ranges
