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
