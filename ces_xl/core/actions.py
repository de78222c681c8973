"""Who to call, and why (SPEC "Actions: who to call, and what it would take").

Each customer who needs attention now gets one action, the first that applies:

* ``Re-engage``: in the lowest band, or moved down a band since the previous snapshot, or
  ``Change <= -Drop alert``. Priority ``High`` when the customer fell (moved down a band or
  dropped by the alert or more), else ``Medium``.
* ``Convert trial``: the segment is the ``Trial segment`` and the score is at or above ``Trial
  ready`` (default: the top band's From). Priority ``Medium``.
* ``Upsell``: in the top band and not falling (no change yet, or a change of 0 or more).
  Priority ``Low``.

Most urgent first: by priority; then Re-engage before Convert trial before Upsell; the
largest drop first (then the lowest score) among Re-engage, the highest score first among the
others; then the input order. ``Why`` is a sentence from the data: the score and band, the
change and since when, and the metric behind the change, or what it would take.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .bands import band_index
from .distinct import distinct_rows
from .history import biggest_moves
from .names import name_key

RE_ENGAGE, CONVERT, UPSELL = "Re-engage", "Convert trial", "Upsell"
HIGH, MEDIUM, LOW = "High", "Medium", "Low"
ACTION_COLUMNS = ("Action", "Priority", "Why", "Score", "Band", "Change", "To next band", "Fastest lift")
CARRIED = ("Segment", "Owner")  # shown in Actions when the Activity sheet has them


def actions_table(result) -> pd.DataFrame:
    """The Actions table of a :class:`~ces_xl.core.scoring.ScoreResult` (after its trend)."""
    scores = result.scores
    model = result.model
    bands = model.bands
    n = len(scores)
    total = scores["Score"].to_numpy(dtype=float)
    where = band_index(total, bands)
    scored = where < len(bands)
    change = _floats(scores, "Change", n)
    positions = {b.label: i for i, b in enumerate(bands)}
    previous = scores["Previous band"].map(positions).to_numpy(dtype=float, na_value=np.nan) \
        if "Previous band" in scores else np.full(n, np.nan)
    moved_down = previous > where  # NaN (no previous band) compares False
    dropped = change <= -model.drop_alert
    fell = scored & (moved_down | dropped)
    re_engage = scored & ((where == 0) | fell)
    segments = result.segment_values
    trial = np.zeros(n, dtype=bool)
    if segments is not None:
        wanted = name_key(model.trial_segment)
        codes, distinct = pd.factorize(pd.Series(segments, dtype=object))  # each segment compared once
        match = np.array([name_key(str(v)) == wanted for v in distinct] + [False], dtype=bool)
        ready = bands[-1].lower if model.trial_ready is None else model.trial_ready
        trial = match[codes] & (total >= ready) & ~re_engage  # code -1 (blank) takes the last: False
    upsell = scored & (where == len(bands) - 1) & ~(change < 0) & ~re_engage & ~trial

    chosen = np.flatnonzero(re_engage | trial | upsell)
    kind = np.where(re_engage, 0, np.where(trial, 1, 2))[chosen]
    priority = np.where(fell[chosen], 0, np.where(kind == 2, 2, 1))
    # Sort keys, last is first: priority, action, then the largest drop / the highest score.
    drop = np.where(kind == 0, np.nan_to_num(change[chosen], nan=np.inf), 0.0)
    level = np.where(kind == 0, total[chosen], -total[chosen])
    order = chosen[np.lexsort((chosen, level, drop, kind, priority))]
    kind = np.where(re_engage, 0, np.where(trial, 1, 2))[order]
    priority = np.where(fell[order], 0, np.where(kind == 2, 2, 1))

    id_header = str(scores.columns[0])
    # The labels as categories: their codes are known here, so no one need find them again.
    columns = {
        id_header: scores.iloc[order, 0].to_numpy(dtype=object),
        "Action": pd.Categorical.from_codes(kind, [RE_ENGAGE, CONVERT, UPSELL]),
        "Priority": pd.Categorical.from_codes(priority, [HIGH, MEDIUM, LOW]),
        "Why": _why(result, order, kind, where, change),
        "Score": total[order],
        "Band": pd.Categorical.from_codes(where[order], [b.label for b in bands]),
        "Change": change[order],
        "To next band": scores["To next band"].to_numpy(dtype=float)[order],
        "Fastest lift": scores["Fastest lift"].to_numpy(dtype=object)[order],
    }
    for wanted in CARRIED:
        header = next((c for c in scores.columns[1:] if name_key(str(c)) == name_key(wanted)), None)
        if header is not None:
            columns[str(header)] = scores[header].to_numpy(dtype=object)[order]
        elif wanted == "Segment" and segments is not None:
            columns[result.segment_header or wanted] = np.asarray(segments, dtype=object)[order]
    return pd.DataFrame({k: pd.Series(v, dtype=v.dtype, copy=False) for k, v in columns.items()},
                        index=pd.RangeIndex(len(order)))


def _floats(scores: pd.DataFrame, column: str, n: int) -> np.ndarray:
    return scores[column].to_numpy(dtype=float) if column in scores else np.full(n, np.nan)


def _why(result, order: np.ndarray, kind: np.ndarray, where: np.ndarray, change: np.ndarray) -> np.ndarray:
    """One sentence per action: ``Score 32 (Very disengaged), down 18 since 2026-10-31;
    Purchase Frequency -12 points``. Many customers share a sentence (a score shown to one
    decimal, a band, a lift...): each distinct one is written once, from everything it says."""
    scores = result.scores
    moved = change[order]
    parts = [kind, np.round(scores["Score"].to_numpy(dtype=float)[order], 1), where[order],
             np.sign(moved), np.round(np.abs(moved), 1),
             scores["Fastest lift"].to_numpy(dtype=object)[order],
             np.round(scores["To next band"].to_numpy(dtype=float)[order], 1),
             scores["Top driver"].to_numpy(dtype=object)[order]]
    if "Previous band" in scores:
        parts.append(scores["Previous band"].to_numpy(dtype=object)[order])
    if result.point_changes is not None and len(order):
        best, value, any_moved = biggest_moves(result.point_changes[order])
        parts += [best, any_moved, np.round(value, 1)]
    codes, first = distinct_rows(parts, len(order))
    return _sentences(result, order[first], kind[first], where, change)[codes]


def _sentences(result, order: np.ndarray, kind: np.ndarray, where: np.ndarray, change: np.ndarray) -> np.ndarray:
    """The sentence of each row of ``order`` (positions in Scores)."""
    from .events import date_of

    scores = result.scores
    model = result.model
    labels = [b.label for b in model.bands]
    total = scores["Score"].to_numpy(dtype=float)[order]
    band = scores["Band"].to_numpy(dtype=object)[order]
    moved = change[order]
    sentence = "Score " + _shown(total) + " (" + band + ")"
    if result.change_since is not None:
        since = date_of(result.change_since).isoformat()
        was = scores["Previous band"].to_numpy(dtype=object)[order] if "Previous band" in scores else None
        word = np.where(moved < 0, ", down ", np.where(moved > 0, ", up ", ""))
        steady = np.where(moved == 0, f", unchanged since {since}", "")
        has = ~np.isnan(moved) & (moved != 0)
        sentence = sentence + np.where(has, word + _shown(np.abs(moved)) + f" since {since}", steady)
        if was is not None:
            other = np.array([w is not None and w != b for w, b in zip(was.tolist(), band.tolist())], dtype=bool)
            sentence = sentence + np.where(other, " (was " + np.where(other, was, "").astype(object) + ")", "")
    detail = np.full(len(order), "", dtype=object)
    names = [m.name for m in model.metrics]
    # Re-engage with a change: the metric behind it; otherwise what it would take.
    points = result.point_changes
    if points is not None and len(order):
        best, value, any_moved = biggest_moves(points[order])
        behind = (kind == 0) & any_moved & (np.nan_to_num(moved) < 0)
        detail = np.where(behind, "; " + np.array(names, dtype=object)[best] + " " + _shown(value, signed=True)
                          + " points", detail)
    lift = scores["Fastest lift"].to_numpy(dtype=object)[order]
    next_band = np.array(labels[1:] + [""], dtype=object)[np.minimum(where[order], len(labels) - 1)]
    to_next = scores["To next band"].to_numpy(dtype=float)[order]
    plain = (detail == "") & (kind == 0)
    has_lift = plain & np.array([v is not None for v in lift.tolist()], dtype=bool)
    detail = np.where(has_lift, "; " + lift.astype(str) + " would take it to " + next_band, detail)
    no_lift = plain & ~has_lift & ~np.isnan(to_next)
    detail = np.where(no_lift, "; " + _shown(to_next) + " points to " + next_band + ", more than any one metric can give",
                      detail)
    if (kind == 1).any():
        ready = model.bands[-1].lower if model.trial_ready is None else model.trial_ready
        detail = np.where(kind == 1, f"; a {model.trial_segment} customer at or above {_number(ready)} (Trial ready)",
                          detail)
    top = scores["Top driver"].to_numpy(dtype=object)[order]
    detail = np.where((kind == 2) & (top != ""), "; top driver " + top.astype(str), detail)
    return (sentence + detail).astype(object)


def _shown(values: np.ndarray, signed: bool = False) -> np.ndarray:
    """Numbers as a sentence shows them: one decimal at most (32, 32.5, -12), each distinct
    value formatted once."""
    rounded = np.round(np.asarray(values, dtype=float), 1) + 0.0  # -0.0 -> 0.0
    distinct, at = np.unique(rounded, return_inverse=True)
    texts = np.array([_number(v, signed) for v in distinct.tolist()], dtype=object)
    return texts[at.ravel()] if len(distinct) else np.array([], dtype=object)


def _number(value: float, signed: bool = False) -> str:
    if value != value:  # NaN
        return ""
    text = f"{value:+.1f}" if signed else f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
