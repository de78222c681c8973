"""The one rounding every engine applies before it compares numbers: scores before they are
ranked and banded, and counts from events before they are ranked (percentile) or scaled (minmax).

Rounded to 9 decimals, half up, computed as ``floor(x * 1e9 + 0.5) / 1e9`` in doubles. Why not
each engine's ROUND: numpy rounds halves to even, DuckDB away from zero, Spark through a
decimal, so a score such as 0.0009765625 (2 ** -10, common with a half-life) rounds three ways.
A multiplication, an addition, a floor and a division are IEEE steps every engine (numpy,
DuckDB, Spark, a warehouse) takes alike, so the rounded values agree to the bit. Rounding is
what lets them agree at all: the engines add a customer's events and points in different
orders, and the last bits of a sum depend on the order; two customers with the same activity
must tie everywhere. Beyond ``2 ** 52 / 1e9`` (about 4.5 million) a double has no ninth
decimal to round, and the value is kept as it is (``x * 1e9 + 0.5`` would itself round there).
"""
from __future__ import annotations

import numpy as np

DECIMALS = 9
SCALE = 10.0 ** DECIMALS  # 1e9, exactly
EXACT = 2.0 ** 52   # from here on a double is a whole number: nothing to round


def rounded(x) -> np.ndarray:
    """``x`` rounded to :data:`DECIMALS` decimals, half up (NaN stays NaN)."""
    x = np.asarray(x, dtype=float)
    scaled = x * SCALE
    with np.errstate(invalid="ignore"):
        out = np.floor(scaled + 0.5) / SCALE
        return np.where(np.abs(scaled) >= EXACT, x, out)
