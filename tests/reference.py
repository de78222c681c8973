"""A second, deliberately plain implementation of the SPEC's math, for cross-checking the engine.

Written from ../shared/SPEC.md and the README's definitions with Python loops and the math
module only (no numpy, no pandas), so a shared bug is unlikely.
"""
from __future__ import annotations

import math


def normalized(values: list[float | None], norm: str, target: float | None) -> list[float | None]:
    present = [v for v in values if v is not None]
    out: list[float | None] = []
    for v in values:
        if v is None:
            out.append(None)
        elif norm == "cap":
            out.append(min(max(v, 0.0) / target, 1.0))
        elif norm == "log":
            out.append(min(math.log(1 + max(v, 0.0)) / math.log(1 + target), 1.0))
        elif len(set(present)) <= 1:
            out.append(0.5)
        elif norm == "minmax":
            out.append((v - min(present)) / (max(present) - min(present)))
        else:  # percentile: (average 1-based rank - 1) / (n - 1)
            below = sum(1 for p in present if p < v)
            equal = sum(1 for p in present if p == v)
            average_rank = below + (equal + 1) / 2
            out.append((average_rank - 1) / (len(present) - 1))
    return out


def index_scores(rows: list[list[float | None]], metrics: list[dict], missing: str = "zero") -> list[float | None]:
    """rows: one list of counts per customer (None = blank); metrics: dicts with weight,
    target, norm, direction."""
    if missing == "zero":
        rows = [[0.0 if v is None else v for v in row] for row in rows]
    columns = [normalized([row[i] for row in rows], m["norm"], m.get("target")) for i, m in enumerate(metrics)]
    scores = []
    for c in range(len(rows)):
        num = den = 0.0
        for i, m in enumerate(metrics):
            s = columns[i][c]
            if s is None:
                continue
            if m.get("direction", "higher") == "lower":
                s = 1 - s
            num += m["weight"] * s
            den += m["weight"]
        scores.append(100 * num / den if den else None)
    return scores


def band(score: float, bands: list[tuple[str, float, float]]) -> str:
    for label, _low, high in bands:
        if score <= high:
            return label
    return bands[-1][0]
