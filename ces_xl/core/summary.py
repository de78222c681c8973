"""Summaries of a scored table: customers per band, per segment, and the overview numbers."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .bands import NO_DATA, effective_ranges
from .model import Model


def band_summary(scores: pd.DataFrame, bands, band_index: np.ndarray, method: str) -> pd.DataFrame:
    """Per band, in the table's order: its From and To as typed, the scores it really holds
    (``Range``, see :func:`~ces_xl.core.bands.effective_ranges`), customers and share."""
    counts: dict[str, int] = {}  # by label, as counting the Band column's values would give them
    for label, count in zip([b.label for b in bands] + [NO_DATA],
                            np.bincount(band_index, minlength=len(bands) + 1).tolist()):
        counts[label] = counts.get(label, 0) + count
    rows = [(b.label, b.lower, b.upper, words, counts[b.label])
            for b, words in zip(bands, effective_ranges(bands, method))]
    if counts[NO_DATA]:
        rows.append((NO_DATA, np.nan, np.nan, "no data", counts[NO_DATA]))
    table = pd.DataFrame(rows, columns=["Band", "From", "To", "Range", "Customers"])
    table["Share"] = table["Customers"] / len(scores)
    return table


def segment_summary(scores: pd.DataFrame, segments: np.ndarray, bands, band_index: np.ndarray) -> pd.DataFrame:
    """Per segment (sorted; None, NaN and blank text are "(blank)"): customers, mean and median
    score, and how many customers each band has. ``segments``: each customer's segment."""
    labels = [b.label for b in bands]
    coded = _segment_codes(segments)
    if coded is None or len(set(labels)) < len(labels) or NO_DATA in labels:
        return _segment_summary_by_label(scores.assign(Segment=segments), bands)
    codes, names = coded
    k, width = len(names), len(bands) + 1
    by_segment = pd.Series(scores["Score"].to_numpy()).groupby(codes, sort=True)
    table = pd.DataFrame({
        "Segment": names,
        "Customers": np.bincount(codes, minlength=k).astype(np.int64),
        "Mean score": by_segment.mean().reindex(range(k)).fillna(0).to_numpy(),
        "Median score": by_segment.median().reindex(range(k)).fillna(0).to_numpy(),
    })
    by_band = np.bincount(codes * width + band_index, minlength=k * width).reshape(k, width)
    for j, label in enumerate(labels):
        table[label] = by_band[:, j].astype(np.int64)
    if by_band[:, -1].any():
        table[NO_DATA] = by_band[:, -1].astype(np.int64)
    return table


def _segment_codes(values: np.ndarray) -> tuple[np.ndarray, list[str]] | None:
    """Each row's segment as a position in the sorted list of segment names (None, NaN and blank
    text named "(blank)"). None when a segment is not text: the general route takes those."""
    codes, uniques = pd.factorize(values)
    missing = codes < 0
    if missing.any() and not set(map(type, values[missing].tolist())) <= {type(None), float}:
        return None  # pandas also counts pd.NA, NaT, ... as missing; those are not "(blank)"
    named = [_segment_name(v) for v in uniques.tolist()]
    if not all(type(v) is str for v in named):
        return None
    names = sorted(set(named) | ({"(blank)"} if missing.any() else set()))
    position = {name: i for i, name in enumerate(names)}
    lookup = np.array([position[v] for v in named] + [position.get("(blank)", -1)], dtype=np.intp)
    return lookup[codes], names  # code -1 (missing) takes the last entry, "(blank)"


def _segment_name(v):
    return "(blank)" if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "" else v


def _segment_summary_by_label(scores: pd.DataFrame, bands) -> pd.DataFrame:
    segment = scores["Segment"].map(_segment_name)
    grouped = scores.assign(Segment=segment).groupby("Segment", sort=True, dropna=False)
    table = pd.DataFrame({
        "Customers": grouped.size(),
        "Mean score": grouped["Score"].mean(),
        "Median score": grouped["Score"].median(),
    })
    labels = [b.label for b in bands] + ([NO_DATA] if (scores["Band"] == NO_DATA).any() else [])
    by_band = pd.crosstab(segment, scores["Band"]).reindex(columns=labels, fill_value=0)
    table = table.join(by_band.rename_axis("Segment")).fillna(0)
    for label in labels:
        table[label] = table[label].astype(int)
    return table.reset_index()


def stats(scores: pd.DataFrame, model: Model, method: str) -> dict[str, object]:
    s = scores["Score"].dropna()
    return {
        "Customers": len(scores),
        "Scored": len(s),
        "Method": method,
        "Missing values": model.missing,
        "Period": model.period,
        # Rounded as the scores are (9 decimals): an average should not show float noise.
        "Mean score": round(float(s.mean()), 9) if len(s) else None,
        "Median score": round(float(s.median()), 9) if len(s) else None,
        "Lowest score": float(s.min()) if len(s) else None,
        "Highest score": float(s.max()) if len(s) else None,
    }
