"""The scoring model: metrics with weights, the band table and the settings.

A model can be built in Python or read from the ``Weights``, ``Bands`` and ``Settings`` sheets
(see ``ces_xl.contract``). Either way :meth:`Model.validate` checks it before anything is
scored. Where a value came from a sheet, its cell is kept in ``cells`` so that the error can
name it; a model built in Python gets messages that name the metric and field instead.
"""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field, replace
from typing import Mapping

from ..errors import CESError, InputError
from .names import did_you_mean, name_key

METHODS = ("sum", "index")
NORMALIZATIONS = ("cap", "log", "percentile", "minmax")
DIRECTIONS = ("higher", "lower")
MISSING_POLICIES = ("zero", "exclude")


@dataclass(frozen=True)
class Metric:
    """One engagement metric: an Activity column and how it counts towards the score.

    ``normalization`` None means the default: ``cap`` when the index method is used with a
    target. ``cells`` maps a field name ("name", "weight", "target", ...) to the sheet cell it
    was read from, for error messages.
    """

    name: str
    weight: float
    target: float | None = None
    normalization: str | None = None
    direction: str = "higher"
    description: str = ""
    cells: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    scenario: float | None = field(default=None, compare=False)  # a what-if weight (None: the weight)

    def where(self, what: str) -> str:
        return self.cells.get(what) or f"metric '{self.name}' {what}"

    @property
    def effective_normalization(self) -> str:
        return self.normalization or "cap"


@dataclass(frozen=True)
class Band:
    """A labelled score range. A score takes the first band (ascending) whose ``upper`` it
    does not exceed; ``lower`` only documents the range and is checked for overlaps."""

    label: str
    lower: float
    upper: float
    cells: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def where(self, what: str) -> str:
        return self.cells.get(what) or f"band '{self.label}' {what}"


# Seed 004: 0-40 very disengaged, 41-75 somewhat engaged, 76-100 very engaged.
DEFAULT_BANDS: tuple[Band, ...] = (
    Band("Very disengaged", 0, 40),
    Band("Somewhat engaged", 41, 75),
    Band("Very engaged", 76, 100),
)


@dataclass(frozen=True)
class Model:
    """Metrics, bands and settings: everything needed to score an Activity table.

    ``method``: ``"sum"``, ``"index"`` or ``"auto"`` (index when any metric has a target or a
    normalization, else sum). ``missing``: ``"zero"`` (a blank count is 0) or ``"exclude"``
    (a customer's index score is taken over the metrics they have data for).
    """

    metrics: tuple[Metric, ...]
    bands: tuple[Band, ...] = DEFAULT_BANDS
    method: str = "auto"
    missing: str = "zero"
    period: str = ""
    window: float | None = None     # days an event counts for (events only); None: no limit
    half_life: float | None = None  # days after which an event counts half (events only); None: no decay
    # What calls for an action (core.actions); they change no score, so no fingerprint either.
    drop_alert: float = 10.0          # a fall of this many points or more calls for Re-engage
    trial_segment: str = "Trial"      # the Segment of free-trial customers
    trial_ready: float | None = None  # the score a trial converts from; None: the top band's From
    cells: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "bands", tuple(self.bands))

    @functools.cached_property  # read for every metric while validating: computed once
    def resolved_method(self) -> str:
        if self.method in METHODS:
            return self.method
        uses_index = any(m.target is not None or m.normalization for m in self.metrics)
        return "index" if uses_index else "sum"

    def with_settings(self, **changes) -> "Model":
        return replace(self, **changes)

    def scenario_model(self) -> "Model | None":
        """The what-if model: each metric's ``scenario`` weight in place of its weight (a metric
        without one keeps its weight); None when no metric has one. Nothing else changes."""
        if all(m.scenario is None for m in self.metrics):
            return None
        return replace(self, metrics=[replace(m, weight=m.weight if m.scenario is None else m.scenario, scenario=None)
                                      for m in self.metrics])

    def fingerprint(self) -> str:
        """The first 12 hex digits of the SHA-256 of a canonical text of everything that changes a
        score: the metrics in order with weight, target, normalization and direction; the bands;
        the method; the missing-value policy; the window and the half-life. Two runs with the
        same fingerprint scored with the same model (names compare as they match: any case)."""
        def number(value) -> str:
            return "" if value is None else repr(float(value))

        lines = [f"method {self.resolved_method}", f"missing {self.missing}",
                 f"window {number(self.window)}", f"half-life {number(self.half_life)}"]
        uses_index = self.resolved_method == "index"
        for m in self.metrics:
            lines.append("metric " + "\t".join([
                name_key(m.name), number(m.weight), number(m.target) if uses_index else "",
                m.effective_normalization if uses_index else "", m.direction if uses_index else ""]))
        for b in self.bands:
            lines.append("band " + "\t".join([b.label, number(b.lower), number(b.upper)]))
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:12]

    def validate(self, problems: list[CESError] | None = None, *, empty_ok: bool = False) -> list[str]:
        """Check the model; return notes worth telling the user.

        Every problem is found, not just the first: appended to ``problems`` when given, else
        raised together as one :class:`~ces_xl.errors.InputError`. ``empty_ok``: no metrics is
        not a problem of its own (the caller has already said why there are none)."""
        notes: list[str] = []
        found: list[CESError] = []
        self._validate_settings(found)
        if not self.metrics and not empty_ok:
            found.append(InputError("the model has no metrics", where=self.cells.get("metrics", "Weights"),
                                    fix="list one metric per row under the Metric and Weight headers"))
        seen: dict[str, Metric] = {}
        for metric in self.metrics:
            key = "".join(metric.name.split()).casefold()
            if not key:
                found.append(InputError("a metric has no name", where=metric.where("name"),
                                        fix="type the Activity column header it scores"))
                continue
            if key in seen:
                found.append(InputError(f"metric '{metric.name}' is listed twice", where=metric.where("name"),
                                        fix=f"keep one row for it (the other is at {seen[key].where('name')})"))
                continue
            seen[key] = metric
            self._validate_metric(metric, notes, found)
        weights = [m.weight for m in self.metrics]
        if weights and all(w == 0 for w in weights):
            found.append(InputError("every weight is 0, so no metric counts",
                                    where=self.cells.get("weights", "Weights"),
                                    fix="give at least one metric a weight above 0"))
        if self.resolved_method == "index" and all(_finite(w) for w in weights):
            total = sum(weights)
            if not (math.isclose(total, 1.0, abs_tol=1e-9) or math.isclose(total, 100.0, abs_tol=1e-7)):
                notes.append(f"weights sum to {total:g}, not 1 or 100; they are used as proportions "
                             "of their total")
        self._validate_bands(found)
        self._validate_scenario(found)
        if found and problems is None:
            raise InputError.gather(found)
        if problems is not None:
            problems.extend(found)
        return notes

    def _validate_settings(self, found: list[CESError]) -> None:
        if self.method not in METHODS + ("auto",):
            found.append(InputError(f"unknown method '{self.method}'{did_you_mean(self.method, METHODS)}",
                                    where=self.cells.get("method", "method"), fix="use sum, index or auto"))
        for what, value in (("window", self.window), ("half-life", self.half_life)):
            if value is not None and (not _finite(value) or value <= 0):
                found.append(InputError(f"the {what} {value!r} is not a number of days above 0",
                                        where=self.cells.get(what.replace("-", "_"), what),
                                        fix=f"enter a number of days, e.g. 90, or leave it blank for "
                                            f"{'no limit' if what == 'window' else 'no decay'}"))
        if not _finite(self.drop_alert) or self.drop_alert < 0:
            found.append(InputError(f"the drop alert {self.drop_alert!r} is not a number of points, 0 or more",
                                    where=self.cells.get("drop_alert", "drop_alert"),
                                    fix="enter the fall in points that calls for Re-engage, e.g. 10"))
        if self.trial_ready is not None and not _finite(self.trial_ready):
            found.append(InputError(f"Trial ready {self.trial_ready!r} is not a score",
                                    where=self.cells.get("trial_ready", "trial_ready"),
                                    fix="enter the score from which a trial is ready to convert, e.g. 76, or leave "
                                        "it blank for the top band's From"))
        if not isinstance(self.trial_segment, str) or not self.trial_segment.strip():
            found.append(InputError(f"Trial segment {self.trial_segment!r} is not a segment name",
                                    where=self.cells.get("trial_segment", "trial_segment"),
                                    fix="enter the Segment of free-trial customers, e.g. Trial"))
        if self.missing not in MISSING_POLICIES:
            found.append(InputError(f"unknown missing-value policy '{self.missing}'"
                                    f"{did_you_mean(self.missing, MISSING_POLICIES)}",
                                    where=self.cells.get("missing", "missing"), fix="use zero or exclude"))

    def _validate_metric(self, m: Metric, notes: list[str], found: list[CESError]) -> None:
        if not _finite(m.weight):
            found.append(InputError(f"weight '{m.weight}' of metric '{m.name}' is not a number",
                                    where=m.where("weight"), fix="enter a number (0 switches the metric off)"))
            return
        if m.direction not in DIRECTIONS:
            found.append(InputError(f"direction '{m.direction}' of metric '{m.name}' is not known"
                                    f"{did_you_mean(m.direction, DIRECTIONS)}",
                                    where=m.where("direction"), fix="use higher or lower (blank means higher)"))
            return
        if m.normalization is not None and m.normalization not in NORMALIZATIONS:
            found.append(InputError(f"normalization '{m.normalization}' of metric '{m.name}' is not known"
                                    f"{did_you_mean(m.normalization, NORMALIZATIONS)}",
                                    where=m.where("normalization"), fix="use cap, log, percentile or minmax"))
            return
        if m.target is not None and (not _finite(m.target) or m.target <= 0):
            found.append(InputError(f"target {m.target!r} of metric '{m.name}' must be a number above 0",
                                    where=m.where("target"),
                                    fix="enter the activity level that earns full marks, e.g. 10"))
            return
        if self.resolved_method != "index":
            unused = [what for what, used in (("Direction 'lower'", m.direction == "lower"),
                                              (f"Normalization '{m.normalization}'", m.normalization),
                                              ("a Target", m.target is not None)) if used]
            if unused:
                notes.append(f"metric '{m.name}': the sum method does not use {' or '.join(unused)} (it adds "
                             "weight x count; a negative weight makes a penalty)")
            return
        if m.weight < 0:
            found.append(InputError(f"weight {m.weight:g} of metric '{m.name}' is negative, which the index "
                                    "method cannot use", where=m.where("weight"),
                                    fix="use a weight of 0 or more and Direction 'lower' for a metric where less "
                                        "is better (or Method 'sum' for penalties)"))
            return
        norm = m.effective_normalization
        if norm in ("cap", "log") and m.target is None:
            found.append(InputError(f"metric '{m.name}' has no target, which the {norm} normalization needs",
                                    where=m.where("target"),
                                    fix="enter the activity level that earns full marks, or set its "
                                        "Normalization to percentile or minmax"))
            return
        if norm in ("percentile", "minmax") and m.target is not None:
            notes.append(f"metric '{m.name}': the target is not used by the {norm} normalization")

    def _validate_scenario(self, found: list[CESError]) -> None:
        """The what-if weights: numbers the method can use, not all 0."""
        if all(m.scenario is None for m in self.metrics):
            return
        weights = [m.weight if m.scenario is None else m.scenario for m in self.metrics]
        for m in self.metrics:
            if m.scenario is not None and not _finite(m.scenario):
                found.append(InputError(f"scenario weight '{m.scenario}' of metric '{m.name}' is not a number",
                                        where=m.where("scenario"), fix="enter a number, or leave it blank"))
                return
            if m.scenario is not None and m.scenario < 0 and self.resolved_method == "index":
                found.append(InputError(f"scenario weight {m.scenario:g} of metric '{m.name}' is negative, which the "
                                        "index method cannot use", where=m.where("scenario"),
                                        fix="use a weight of 0 or more"))
                return
        if all(w == 0 for w in weights if _finite(w)):
            found.append(InputError("every scenario weight is 0, so the scenario would score nothing",
                                    where=self.cells.get("scenario", "Weights"),
                                    fix="give at least one metric a Scenario weight above 0, or clear the Scenario "
                                        "column"))

    def _validate_bands(self, found: list[CESError]) -> None:
        if not self.bands:
            found.append(InputError("the band table is empty", where=self.cells.get("bands", "Bands"),
                                    fix="list at least one Band with From and To, or delete the Bands sheet "
                                        "to use the default bands"))
            return
        previous: Band | None = None
        for band in self.bands:
            if not band.label.strip():
                found.append(InputError("a band has no label", where=band.where("label"), fix="name the band"))
                return
            for what, value in (("from", band.lower), ("to", band.upper)):
                if not _finite(value):
                    found.append(InputError(f"{what.capitalize()} value {value!r} of band '{band.label}' is not a "
                                            "number", where=band.where(what), fix="enter a score, e.g. 40"))
                    return
            if band.lower > band.upper:
                found.append(InputError(f"band '{band.label}' runs from {band.lower:g} down to {band.upper:g}",
                                        where=band.where("from"), fix="make From no larger than To"))
                return
            if previous is not None:
                if band.upper <= previous.upper or band.lower < previous.lower:
                    found.append(InputError(f"band '{band.label}' ({band.lower:g}-{band.upper:g}) comes after "
                                            f"'{previous.label}' ({previous.lower:g}-{previous.upper:g}) but is not "
                                            "above it", where=band.where("from"),
                                            fix="list bands in ascending order of score"))
                    return
                if band.lower <= previous.upper:
                    found.append(InputError(f"band '{band.label}' ({band.lower:g}-{band.upper:g}) overlaps "
                                            f"'{previous.label}' ({previous.lower:g}-{previous.upper:g})",
                                            where=band.where("from"),
                                            fix=f"start it above {previous.upper:g}"))
                    return
            previous = band


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
