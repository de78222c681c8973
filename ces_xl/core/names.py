"""How names are matched and suggested: case- and space-insensitively, with "did you mean".

The one matching rule of the contract (metric names to column headers, sheet names, Settings
keys, event names): ``Email Click``, ``email click`` and ``EMAILCLICK`` are the same name.
"""
from __future__ import annotations

import difflib
from typing import Iterable


def name_key(value: object) -> str:
    """The key two names are compared by: case- and space-insensitive. A name typed as a
    number (2024, which readers hand over as 2024.0) matches the text "2024"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "".join(str(value).split()).casefold()


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` (case- and space-insensitive), if any is close."""
    pool = {name_key(c): str(c) for c in candidates if str(c).strip()}
    key = name_key(word)
    hits = difflib.get_close_matches(key, list(pool), n=1, cutoff=0.6)
    if hits:
        return pool[hits[0]]
    # A longer or shorter spelling of the same word ("logarithm" for "log"): suggest by prefix.
    prefixed = [c for c in pool if len(c) >= 3 and len(key) >= 3 and (key.startswith(c) or c.startswith(key))]
    return pool[max(prefixed, key=len)] if prefixed else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    hit = nearest(word, candidates)
    return f" (did you mean '{hit}'?)" if hit else ""
