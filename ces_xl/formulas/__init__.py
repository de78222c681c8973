"""Excel formula text for live workbooks (Settings ``Formulas`` = ``live``), made from the model
and the places of cells, never from what a cell says.

A formula here is built from cell references (sheet names quoted, ``'` doubled), numbers
ces_xl writes itself, and functions that Excel 2010 and LibreOffice 7.4 both have: MIN, MAX,
LN, ROUND, SUM, SUMPRODUCT, INDEX, MATCH, IF, ISBLANK, COUNT. No metric name, band label or other text
of the workbook ever enters one: a name is where a cell is, not what it holds. Functions that
came with Excel 2010 are spelled ``_xlfn.NAME`` in the file, as Excel writes them
(:func:`function`); none of those above needs it.

The formulas repeat the engine's steps (:mod:`ces_xl.core.scoring`) in the same order, so that
a spreadsheet recalculating them gets the engine's numbers:

* a metric's points: ``100 * s * weight / total weight`` (index) or ``weight * count`` (sum),
  with ``s = MIN(MAX(count, 0) / target, 1)`` (cap) or ``MIN(LN(1 + MAX(count, 0)) / LN(1 +
  target), 1)`` (log), ``1 - s`` for ``lower``; under the ``exclude`` policy a blank count
  leaves the metric out (its points blank, its weight out of the row's total);
* the score: ``ROUND(SUM(points), 9)``; the band: the first band whose To is not below it;
  the top driver: the metric (its name's cell) of the row's largest points, the first of equals.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..core.bands import NO_DATA
from ..core.rounding import DECIMALS
from ..core.scoring import DRIVER_FLOOR
from ..xlsx.a1 import column_letter, quoted_sheet

# Functions Excel 2010 added: a file spells them _xlfn.NAME (Excel shows them without it).
XLFN = frozenset({"RANK.EQ", "RANK.AVG", "PERCENTRANK.INC", "PERCENTRANK.EXC", "PERCENTILE.INC",
                  "PERCENTILE.EXC", "STDEV.S", "STDEV.P", "MODE.SNGL", "AGGREGATE"})
MAX_FORMULA = 8_192      # characters in one formula, Excel's limit


def function(name: str) -> str:
    """A function's name as the file spells it (``_xlfn.RANK.EQ``)."""
    return f"_xlfn.{name}" if name.upper() in XLFN else name


# A sheet name in a reference: always quoted, ``'`` doubled (``'Bob''s data'``).
sheet = quoted_sheet


@dataclass(frozen=True)
class Cell:
    """A cell: its sheet and 0-based row and column."""

    sheet: str
    row: int
    col: int

    def fixed(self) -> str:
        """``'Weights'!$B$2``"""
        return f"{sheet(self.sheet)}!${column_letter(self.col)}${self.row + 1}"


def fixed_range(cells: Sequence[Cell | None]) -> str | None:
    """``'Bands'!$C$2:$C$4`` when ``cells`` run down one column without a gap; else None (a
    gap, another column or sheet, or a cell that is not there: None)."""
    if not cells or any(c is None for c in cells):
        return None
    first = cells[0]
    if any(c.sheet != first.sheet or c.col != first.col or c.row != first.row + i for i, c in enumerate(cells)):
        return None
    last = cells[-1]
    letter = column_letter(first.col)
    return f"{sheet(first.sheet)}!${letter}${first.row + 1}:${letter}${last.row + 1}"


@dataclass(frozen=True)
class LiveCells:
    """Where the model's numbers are in the workbook (from the contract): each customer's row
    on the count sheet, each metric's count column (None: not live, e.g. counted from events or
    typed as text), weight and target cells (None: not a plain number), and the bands' labels
    and To cells (None: no Bands sheet, or not plain)."""

    counts_sheet: str
    rows: Sequence[int]                       # per customer: 0-based row of its counts
    columns: Sequence[int | None]             # per metric: 0-based column of its counts
    weights: Sequence[Cell | None]
    targets: Sequence[Cell | None]
    band_labels: Sequence[Cell] | None = None
    band_uppers: Sequence[Cell] | None = None
    names: Sequence[Cell | None] = ()         # per metric: its name's cell (None: not plain text)


@dataclass(frozen=True)
class Column:
    """One result column's formulas: ``template`` with a ``%d`` for each of ``slots``, each
    ``"row"`` (the cell's own row, 1-based) or ``"source"`` (the customer's row of counts,
    1-based); ``text``: the formula gives text (a band)."""

    template: str
    slots: tuple[str, ...]
    text: bool = False

    def render(self, rows: Sequence[int], sources: Sequence[int]) -> list[str]:
        """The formulas of the cells on ``rows`` (1-based), for customers whose counts are on
        ``sources`` (1-based)."""
        if not self.slots:
            return [self.template] * len(rows)
        picks = [rows if slot == "row" else sources for slot in self.slots]
        return [self.template % values for values in zip(*picks)]


def scores_formulas(model, cells: LiveCells, columns: dict[str, int], contribution_columns: Sequence[str],
                    score_column: str = "Score", band_column: str = "Band",
                    driver_column: str = "Top driver") -> tuple[dict[str, Column], list[str]]:
    """The live columns of a Scores sheet: each metric's points that can be live, the score, the
    top driver and the band; and the notes on what stays a value, and why. ``columns``: each
    Scores header's 0-based column."""
    notes: list[str] = []
    metrics = model.metrics
    index = model.resolved_method == "index"
    exclude = model.missing == "exclude"
    out: dict[str, Column] = {}
    weights = list(cells.weights)
    if any(w is None for w in weights):
        notes.append("Formulas = live: the scores are values (a weight is not a plain number in its cell)")
        return out, notes
    count = [None if c is None else f"{sheet(cells.counts_sheet)}!${column_letter(c)}%d" for c in cells.columns]

    def total_weight() -> tuple[str, int]:
        """The weight total (with its number of source slots): a SUM over the weights' cells,
        or under ``exclude`` each weight whose count is not blank."""
        if not exclude:
            span = fixed_range(weights)
            return (f"SUM({span})" if span else "(" + "+".join(w.fixed() for w in weights) + ")"), 0
        if any(c is None for c in count):
            return "", -1
        return "(" + "+".join(f"IF(ISBLANK({c}),0,{w.fixed()})" for w, c in zip(weights, count)) + ")", len(count)

    denominator, denominator_slots = total_weight() if index else ("", 0)  # slots -1: not live
    kept_back: dict[str, list[str]] = {}
    for i, metric in enumerate(metrics):
        header = contribution_columns[i]
        kind = metric.effective_normalization if index else "sum"
        reason = None
        if count[i] is None:
            reason = "its counts are not plain numbers in an Activity column"
        elif index and kind in ("percentile", "minmax"):
            reason = f"{kind} compares every customer, which recalculates in time that grows with the square"
        elif index and cells.targets[i] is None:
            reason = "its target is not a plain number in its cell"
        elif index and denominator_slots < 0:
            reason = "under the exclude policy its weight total needs every metric's counts in a plain column"
        if reason:
            kept_back.setdefault(reason, []).append(metric.name)
            continue
        c, w = count[i], weights[i].fixed()
        if index:
            t = cells.targets[i].fixed()
            s = (f"MIN(MAX({c},0)/{t},1)" if kind == "cap"
                 else f"MIN(LN(1+MAX({c},0))/LN(1+{t}),1)")
            if metric.direction == "lower":
                s = f"(1-{s})"
            body = f"100*{s}*{w}/{denominator}"
        else:
            body = f"{w}*{c}"
        if exclude:
            body = f'IF(ISBLANK({c}),"",{body})'
        if len(body) + 8 * body.count("%d") > MAX_FORMULA:  # with row numbers of up to 7 digits
            kept_back.setdefault(f"its formula would pass Excel's limit of {MAX_FORMULA:,} characters", []).append(
                metric.name)
            continue
        out[header] = Column(body, _count_slots(body))
    for reason, names in kept_back.items():
        shown = ", ".join(f"'{n}'" for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        notes.append(f"Formulas = live: the points of {shown} are values ({reason})")
    # The score: the points of the row, added up and rounded as the engine does.
    if not contribution_columns:
        return out, notes
    first, last = columns[contribution_columns[0]], columns[contribution_columns[-1]]
    if last - first != len(contribution_columns) - 1:
        return out, notes
    points = f"${column_letter(first)}%d:${column_letter(last)}%d"
    score = f"ROUND(SUM({points}),{DECIMALS})"
    if exclude:
        score = f'IF(COUNT({points})=0,"",{score})'
    out[score_column] = Column(score, ("row",) * score.count("%d"))
    # The top driver: the metric of the row's largest points (the first of equals), named by its
    # cell in Weights; none when no metric scores above 0 (core.scoring._argmax_label).
    name_span = fixed_range(list(cells.names))
    if name_span and driver_column in columns and len(cells.names) == len(contribution_columns):
        best = f"MAX({points})"
        driver = f'IF({best}>{DRIVER_FLOOR:G},INDEX({name_span},MATCH({best},{points},0)),"")'
        out[driver_column] = Column(driver, ("row",) * driver.count("%d"), text=True)
    labels, uppers = cells.band_labels, cells.band_uppers
    label_span = fixed_range(list(labels or []))
    upper_span = fixed_range(list(uppers or []))
    if label_span and upper_span:
        at = f"${column_letter(columns[score_column])}%d"
        band = f"INDEX({label_span},MIN(SUMPRODUCT(--({upper_span}<{at}))+1,{len(labels)}))"
        if exclude:
            band = f'IF({at}="","{NO_DATA}",{band})'
        out[band_column] = Column(band, ("row",) * band.count("%d"), text=True)
    else:
        notes.append("Formulas = live: the bands are values (they are live with a Bands sheet whose Band and To "
                     "cells run down without gaps)")
    return out, notes


def _count_slots(body: str) -> tuple[str, ...]:
    """Every ``%d`` of a points formula is the customer's row of counts."""
    return ("source",) * body.count("%d")
