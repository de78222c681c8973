"""Rows told apart by hashing: a million rows that repeat a few thousand combinations of
values (a sentence's parts, a lift's metric and events) are each written once."""
from __future__ import annotations

import numpy as np
import pandas as pd


def distinct_rows(parts: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows alike in every part share a code (0, 1, ... in order of first appearance); and the
    first row of each code. By hashing, one part at a time: no sort of the rows."""
    codes = np.zeros(n, dtype=np.int64)
    for part in parts:
        part_codes, distinct = pd.factorize(part)  # NaN and None: -1
        codes, _ = pd.factorize(codes * (len(distinct) + 1) + part_codes + 1)
    if not n:
        return codes, codes
    # Codes come in order of first appearance: a row whose code is above every code before it
    # is the first of its code, and these rows come in code order.
    seen = np.maximum.accumulate(codes)
    return codes, np.flatnonzero(np.r_[True, codes[1:] > seen[:-1]])
