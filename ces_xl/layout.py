"""What the result sheets hold and how they look, independent of the library that writes them.

The headless writer (:mod:`ces_xl.xlsx.sheetxml`) and the Excel button (xlwings) both render these
:class:`ResultSheet` descriptions, so every face writes the same cells, formats and colours.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .core.bands import NO_DATA
from .core.events import date_of
from .core.scoring import RESULT_COLUMNS, ScoreResult
from .core.table import side_by_side
from .errors import CESError

SCORES, SUMMARY, KEPT_NOTES, HISTORY, ACTIONS = "Scores", "Summary", "Kept notes", "History", "Actions"
SCENARIO, SCENARIO_TITLE = "Scenario", "What if: the Scenario weights against today's"
_HISTORY_MARK = ["As of", None, "Score", "Band"]  # A1:D1 of every History sheet (B1: the ID header)
SUMMARY_TITLE = "Customer Engagement Score summary"
KEPT_TITLE = "Notes kept for customers no longer scored"
KEPT_HEADER_ROW = 2  # 0-based: the title, a line of explanation, then the table
# One or two decimals. ("0.##" would show 40 as "40." in Excel, with a dangling point.)
NUMBER = "0.0#"
SIGNED = "+0.0;-0.0;0.0"  # a change, with its sign
_SCORES_MARK = ["Score", "Band", "Rank", "Percentile"]  # B1:E1 of every Scores sheet
_ACTIONS_MARK = ["Action", "Priority", "Why", "Score"]  # B1:E1 of every Actions sheet
# Excel's own red-yellow-green colour scale, so band colours look native.
_RED, _YELLOW, _GREEN, _GREY = (0xF8, 0x69, 0x6B), (0xFF, 0xEB, 0x84), (0x63, 0xBE, 0x7B), "D9D9D9"


@dataclass
class Block:
    """A table of cells: a header row (the frame's columns) and the frame's rows below it,
    its top-left cell at 0-based (``top``, ``left``); an optional bold title just above."""

    top: int
    left: int
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)  # column -> Excel number format
    title: str | None = None
    excel_table: str | None = None   # make it a formatted Excel table of this name
    row_formats: dict[int, str] = field(default_factory=dict)  # data row -> format (beats formats)
    band_column: str | None = None   # colour these cells by band
    # Live columns (Settings Formulas = live): header -> its formulas (ces_xl.formulas.Column),
    # the frame's values cached in them; ``sources``: each row's 1-based row of counts.
    formulas: dict = field(default_factory=dict)
    sources: np.ndarray | None = None

    @property
    def header_row(self) -> int:
        return self.top + (1 if self.title else 0)

    @property
    def bottom(self) -> int:
        """0-based index of the last row."""
        return self.header_row + len(self.frame)


@dataclass
class Chart:
    """A native column chart over a block: one series per column of ``series``.

    ``colors``: one fill per series (RRGGBB); or, for a single series, ``point_colors`` fills
    its columns one by one (the band chart: each band in its colour). ``stacked``: the series
    are stacked to 100% (shares)."""

    title: str
    block: Block             # the categories and values come from this block
    categories: str          # column of ``block`` with the labels
    series: list[str]        # columns of ``block`` with the numbers
    anchor: tuple[int, int]  # 0-based (row, column) of the chart's top-left corner
    colors: list[str] = field(default_factory=list)
    point_colors: list[str] = field(default_factory=list)
    stacked: bool = False
    value_title: str = ""
    kind: str = "column"     # "column" or "line" (the categories are dates: the trend)


@dataclass
class ResultSheet:
    name: str
    blocks: list[Block]
    band_colors: dict[str, str]
    charts: list[Chart] = field(default_factory=list)
    title: str | None = None                 # large title in A1
    freeze: tuple[int, int] | None = None    # 0-based (row, column) of the first unfrozen cell
    widths: dict[int, float] = field(default_factory=dict)
    active: bool = False                     # the sheet the workbook opens on
    print_title_rows: tuple[int, int] | None = None  # 0-based rows repeated on every printed page


def score_format(result: ScoreResult) -> str:
    """How scores and points are shown: one decimal for the 0-100 index, one or two for sums."""
    return "0.0" if result.method == "index" else NUMBER


def check_replaceable(name: str, first_row: list) -> None:
    """Refuse to replace a sheet called Scores, Summary or Kept notes that ces_xl did not write.

    ``first_row`` holds the sheet's A1:E1 values. Ours are recognised by cells every engine can
    read: the Summary's and Kept notes' titles in A1, the Scores header in B1:E1.
    """
    first_row = list(first_row) + [None] * 5
    titles = {SUMMARY.casefold(): SUMMARY_TITLE, KEPT_NOTES.casefold(): KEPT_TITLE,
              SCENARIO.casefold(): SCENARIO_TITLE}
    if name.casefold() in titles:
        ours = first_row[0] == titles[name.casefold()]
    elif name.casefold() == HISTORY.casefold():
        ours = [first_row[0], first_row[2], first_row[3]] == [_HISTORY_MARK[0], *_HISTORY_MARK[2:]]
    elif name.casefold() == ACTIONS.casefold():
        ours = [str(v) for v in first_row[1:5]] == _ACTIONS_MARK
    else:
        ours = [str(v) for v in first_row[1:5]] == _SCORES_MARK
    if not ours:
        raise CESError(f"the workbook already has a sheet '{name}' that ces-xl did not write, and the results "
                       "would replace it", where=name, fix="rename that sheet, then score again")


def free_name(wanted: str, taken) -> str:
    """``wanted``, or ``wanted2``, ``wanted3``... : the first name not in ``taken`` (any case).
    Excel table names must be unique in a workbook."""
    taken = {t.casefold() for t in taken}
    name, n = wanted, 2
    while name.casefold() in taken:
        name, n = f"{wanted}{n}", n + 1
    return name


def plain_value(value):
    """A table value as a plain Python cell value: numpy scalars unwrapped; NaN, NaT and <NA>
    an empty cell. Both writers (the package writer and xlwings) start from this."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) else value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
        return None if value is pd.NaT else value.to_pydatetime()
    return value


def band_colors(labels: list[str]) -> dict[str, str]:
    """Red for the lowest band through yellow to green for the highest."""
    colors = {}
    n = len(labels)
    for i, label in enumerate(labels):
        t = 0.5 if n == 1 else i / (n - 1)
        a, b, u = (_RED, _YELLOW, t * 2) if t <= 0.5 else (_YELLOW, _GREEN, (t - 0.5) * 2)
        colors[label] = "".join(f"{round(x + (y - x) * u):02X}" for x, y in zip(a, b))
    colors[NO_DATA] = _GREY
    return colors


def result_sheets(result: ScoreResult) -> list[ResultSheet]:
    colors = band_colors([b.label for b in result.model.bands])
    sheets = [scores_sheet(result, colors), summary_sheet(result, colors)]
    if result.actions is not None:
        sheets.append(actions_sheet(result, colors))
    if result.scenario is not None:
        sheets.append(scenario_sheet(result, colors))
    if result.history:
        sheets.append(history_sheet(result))
    if result.kept is not None:
        sheets.append(kept_sheet(result.kept, result.id_format))
    return sheets


def is_result_header(header: str) -> bool:
    """Whether a Scores column with this header is one ces-xl writes (not the analyst's)."""
    return header in RESULT_COLUMNS or header.endswith((" (points)", " (Activity)", " (ID)"))


def history_sheet(result: ScoreResult) -> ResultSheet:
    """Every snapshot, one row per customer per snapshot, oldest first: As of, the ID, Score,
    Band, each metric's raw value and the model's fingerprint."""
    snapshots = result.history
    names = [m.name for m in result.model.metrics]
    sizes = [len(s) for s in snapshots]
    columns = {
        # Day numbers shown as dates: a column of numbers is written far faster than of dates.
        "As of": np.repeat(np.array([float(s.as_of) for s in snapshots]), sizes),
        result.id_column: np.concatenate([s.ids for s in snapshots]),
        "Score": np.concatenate([s.scores for s in snapshots]),
        "Band": np.concatenate([s.bands for s in snapshots]),
    }
    counts = np.concatenate([s.counts for s in snapshots])
    raw = [i for i, name in enumerate(names) if name not in columns]
    model = np.repeat(np.array([s.model for s in snapshots], dtype=object), sizes)
    # The raw values as one block (one column each would cost seconds at 16,000 metrics).
    frame = side_by_side([pd.DataFrame(columns, copy=False),
                          pd.DataFrame(counts[:, raw], columns=[names[i] for i in raw], copy=False),
                          pd.DataFrame({"Model": model}, copy=False)])
    formats = {"As of": "yyyy-mm-dd", "Score": score_format(result)}
    if result.id_format:
        formats[result.id_column] = result.id_format
    block = Block(0, 0, frame, formats, excel_table="CES_History")
    return ResultSheet(HISTORY, [block], {}, freeze=(1, 0), widths=_widths(frame), print_title_rows=(0, 0))


def actions_sheet(result: ScoreResult, colors: dict[str, str]) -> ResultSheet:
    """Who to call, most urgent first: an Excel table with filters, so a team can take its
    own rows (by Owner, Segment, Action or Priority)."""
    frame = result.actions
    number = score_format(result)
    formats = {"Score": number, "Change": SIGNED, "To next band": number}
    if result.id_format:
        formats[result.id_column] = result.id_format
    # A table needs a row below its header: with no one to call, the header stands alone.
    block = Block(0, 0, frame, formats, excel_table="CES_Actions" if len(frame) else None, band_column="Band")
    return ResultSheet(ACTIONS, [block], colors, freeze=(1, 1), widths=_widths(frame, cap=80),
                       print_title_rows=(0, 0))


def scenario_sheet(result: ScoreResult, colors: dict[str, str]) -> ResultSheet:
    """The what-if: the weights side by side, how many customers move from each band to each,
    with outcomes the AUC of both, and the customers who change band. Nothing is applied."""
    report = result.scenario
    number = score_format(result)
    blocks = [Block(2, 0, report.weights, {"Weight": "0.0##", "Scenario weight": "0.0##"}, title="Weights")]
    blocks.append(Block(blocks[-1].bottom + 2, 0, report.migration, {},
                        title="Customers by band: today's in rows, the scenario's in columns"))
    if report.auc_today is not None or report.auc_scenario is not None:
        rows = [(name, a) for name, a in (("Today", report.auc_today), ("Scenario", report.auc_scenario))]
        table = pd.DataFrame({"Model": [n for n, _ in rows],
                              "AUC": [a.value if a else None for _, a in rows],
                              "AUC 95% low": [a.low if a else None for _, a in rows],
                              "AUC 95% high": [a.high if a else None for _, a in rows],
                              "Direction": [a.direction if a else "" for _, a in rows]})
        blocks.append(Block(blocks[-1].bottom + 2, 0, table, {c: "0.000" for c in ("AUC", "AUC 95% low", "AUC 95% high")},
                            title=f"Does each predict {result.outcomes.column}?"))
    movers = report.movers
    formats = {"Score": number, "Scenario score": number}
    if result.id_format:
        formats[str(movers.columns[0])] = result.id_format
    blocks.append(Block(blocks[-1].bottom + 2, 0, movers, formats, title=f"Customers who change band ({len(movers)})",
                        excel_table="CES_Scenario" if len(movers) else None, band_column="Band"))
    return ResultSheet(SCENARIO, blocks, colors, title=SCENARIO_TITLE, widths=_block_widths(blocks))


def kept_sheet(kept: pd.DataFrame, id_format: str | None = None) -> ResultSheet:
    """What analysts typed beside customers no longer scored, by customer ID: a title, a line
    that says why, then the table (its header in row KEPT_HEADER_ROW + 1)."""
    formats = {str(kept.columns[0]): id_format} if id_format else {}
    block = Block(KEPT_HEADER_ROW - 1, 0, kept, formats, title="These customers were not in the Activity sheet of a later "
                  "run; if one comes back, its notes return to Scores.")
    return ResultSheet(KEPT_NOTES, [block], {}, title=KEPT_TITLE, widths=_widths(kept))


def scores_sheet(result: ScoreResult, colors: dict[str, str]) -> ResultSheet:
    frame = result.scores
    number = score_format(result)
    formats = {"Score": number, "Rank": "0", "Percentile": "0%", "Data coverage": "0%"}
    formats.update({c: number for c in result.contribution_columns})
    formats |= {"Previous score": number, "Change": SIGNED, "From activity": SIGNED, "From model": SIGNED,
                "To next band": number}
    if result.id_format:  # IDs look as they did (00123, not 123)
        formats[result.id_column] = result.id_format
    block = Block(0, 0, frame, formats, excel_table="CES_Scores", band_column="Band")
    return ResultSheet(SCORES, [block], colors, freeze=(1, 1), widths=_widths(frame), print_title_rows=(0, 0))


def summary_sheet(result: ScoreResult, colors: dict[str, str]) -> ResultSheet:
    stats = pd.DataFrame({"Measure": list(result.stats), "Value": [
        "" if v is None else v for v in result.stats.values()]})
    score_rows = {i: "0.0" for i, key in enumerate(result.stats) if key.endswith("score")}
    blocks = [Block(2, 0, stats, {"Value": "0"}, title="Overview", row_formats=score_rows)]
    bands = Block(blocks[-1].bottom + 2, 0, result.bands,
                  {"From": NUMBER, "To": NUMBER, "Customers": "0", "Share": "0.0%"},
                  title="Customers by band", band_column="Band")
    blocks.append(bands)
    charts = [Chart("Customers by band", bands, "Band", ["Customers"], anchor=(2, 8), value_title="Customers",
                    point_colors=[colors.get(label, _GREY) for label in result.bands["Band"]])]
    if result.segments is not None:
        segments = _with_shares(result.segments, result.bands["Band"].tolist())
        formats = {c: "0.0%" if c.endswith(SHARE_SUFFIX) else "0" for c in segments.columns
                   if c not in ("Segment", "Mean score", "Median score")}
        formats |= {"Mean score": "0.0", "Median score": "0.0"}
        by_segment = Block(blocks[-1].bottom + 2, 0, segments, formats, title="By segment")
        blocks.append(by_segment)
        counted = [label for label in result.bands["Band"] if label in segments.columns]
        charts.append(Chart("Band mix by segment", by_segment, "Segment", counted, anchor=(18, 8), stacked=True,
                            colors=[colors.get(label, _GREY) for label in counted], value_title="Share of customers"))
    if result.outcomes is not None:
        blocks, more = _outcome_blocks(result.outcomes, blocks)
        charts += more
    if result.band_mix is not None and len(result.band_mix) > 1:
        mix = result.band_mix
        trend = Block(blocks[-1].bottom + 2, 0, mix, {c: "0.0%" for c in mix.columns[1:]} | {"As of": "yyyy-mm-dd"},
                      title="Band mix over time")
        blocks.append(trend)
        labels = list(mix.columns[1:])
        charts.append(Chart("Band mix over time", trend, "As of", labels, anchor=(2 + 16 * len(charts), 8), kind="line",
                            colors=[colors.get(label, _GREY) for label in labels], value_title="Share of customers"))
    if result.band_movement is not None:
        blocks.append(Block(blocks[-1].bottom + 2, 0, result.band_movement, {},
                            title=f"Band movement since {date_of(result.change_since).isoformat()} (customers)"))
    if result.card:
        card = pd.DataFrame({"Setting": list(result.card), "Value": [str(v) if isinstance(v, str) else v
                                                                    for v in result.card.values()]})
        blocks.append(Block(blocks[-1].bottom + 2, 0, card, {"Value": "General"}, title="Model card"))
    blocks.append(Block(blocks[-1].bottom + 2, 0, _model_table(result),
                        {"Weight": "0.0##", "Share of weight": "0.0%", "Suggested share": "0.0%", "Target": NUMBER},
                        title="Model"))
    if result.suggestion is not None:
        s = result.suggestion
        fit = pd.DataFrame({"Weights": ["In force", "Suggested (fitted to the outcomes, not applied)"],
                            "AUC, cross-validated": [s.current_auc, s.cv_auc]})
        blocks.append(Block(blocks[-1].bottom + 2, 0, fit, {"AUC, cross-validated": "0.000"},
                            title=f"Suggested weights: how well each predicts {result.outcomes.column} on customers "
                                  "left out of the fit"))
    if result.notes:
        blocks.append(Block(blocks[-1].bottom + 2, 0, pd.DataFrame({"Note": result.notes}), title="Notes"))
    # The charts stand right of the widest table (the notes may run under them).
    right = max(b.left + len(b.frame.columns) for b in blocks if list(b.frame.columns) != ["Note"]) + 1
    for i, chart in enumerate(charts):  # one under another, each 15 rows high
        chart.anchor = (2 + 16 * i, right)
    return ResultSheet(SUMMARY, blocks, colors, charts=charts, title=SUMMARY_TITLE, widths=_block_widths(blocks),
                       active=True)


SHARE_SUFFIX = " (share)"
AUC_LABEL = "AUC"  # SPEC: the cell labelled AUC, its value in the cell to its right


def _outcome_blocks(report, blocks: list[Block]) -> tuple[list[Block], list[Chart]]:
    """Does the score predict the outcome: the AUC with its interval and direction, the
    outcome rate per band, and per tenth of the scores with its lift (and a chart of it)."""
    name = report.column
    auc = report.auc
    measures = [("Outcome column", name), ("Customers with an outcome", report.known), ("Outcome yes", report.yes),
                ("Outcome no", report.no), ("Outcome rate", report.yes / report.known if report.known else None),
                (AUC_LABEL, auc.value if auc else None), ("AUC 95% low", auc.low if auc else None),
                ("AUC 95% high", auc.high if auc else None), ("Direction", auc.direction if auc else "")]
    formats = {4: "0.0%", 5: "0.000", 6: "0.000", 7: "0.000", 1: "0", 2: "0", 3: "0"}
    # The direction beside the AUC itself (and on a row of its own, for filters and formulas).
    about = {AUC_LABEL: auc.direction if auc else "no AUC: it needs outcomes of both kinds",
             "AUC 95% low": "DeLong's 95% interval" if auc else "", "AUC 95% high": "DeLong's 95% interval" if auc else ""}
    table = pd.DataFrame({"Measure": [m for m, _ in measures], "Value": ["" if v is None else v for _, v in measures],
                          "About": [about.get(m, "") for m, _ in measures]})
    summary = Block(blocks[-1].bottom + 2, 0, table, {}, title=f"Does the score predict {name}?", row_formats=formats)
    by_band = Block(summary.bottom + 2, 0, report.by_band, {"Customers": "0", "With an outcome": "0",
                                                            "Outcome yes": "0", "Rate": "0.0%"},
                    title=f"{name} rate by band", band_column="Band")
    tenths = report.by_tenth.copy()
    last = len(tenths)
    tenths["Tenth"] = [f"{t} (lowest)" if t == 1 else f"{t} (highest)" if t == last and last > 1 else str(t)
                       for t in tenths["Tenth"].tolist()]
    by_tenth = Block(by_band.bottom + 2, 0, tenths, {"Lowest score": NUMBER, "Highest score": NUMBER,
                                                     "Customers": "0", "Outcome yes": "0", "Rate": "0.0%",
                                                     "Lift": "0.00"},
                     title=f"{name} by tenth of the scores (lowest first)")
    charts = [Chart(f"Lift of {name} by tenth of the scores", by_tenth, "Tenth", ["Lift"], anchor=(0, 8),
                    value_title="Rate / overall rate", colors=["4472C4"])] if len(tenths) else []
    return blocks + [summary, by_band, by_tenth], charts


def _with_shares(segments: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """The per-segment table with each band's share of the segment after the counts."""
    out = segments.copy()
    total = segments["Customers"].to_numpy(dtype=float)
    for label in labels:
        if label in segments.columns:
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{label}{SHARE_SUFFIX}"] = np.where(total > 0, segments[label].to_numpy() / total, 0.0)
    return out


def _model_table(result: ScoreResult) -> pd.DataFrame:
    metrics = result.model.metrics
    total = sum(m.weight for m in metrics)
    index = result.method == "index"
    table = {
        "Metric": [m.name for m in metrics],
        "Weight": [m.weight for m in metrics],
        "Share of weight": [m.weight / total if index and total else None for m in metrics],
    }
    if result.suggestion is not None:  # beside the weights in force, never in their place
        table["Suggested share"] = result.suggestion.weights.tolist()
    table |= {
        "Target": [m.target if index else None for m in metrics],
        "Normalization": [m.effective_normalization if index else "" for m in metrics],
        "Direction": [m.direction if index else "" for m in metrics],
        "Description": [m.description for m in metrics],
    }
    return pd.DataFrame(table)


def _block_widths(blocks: list[Block], notes_width: float = 90) -> dict[int, float]:
    """Each column as wide as the widest header or value any block puts in it (titles may run
    over; a lone column of notes is capped and wraps nothing: it is the last block)."""
    widths: dict[int, float] = {}
    for block in blocks:
        for j, width in _widths(block.frame, cap=notes_width if list(block.frame.columns) == ["Note"] else 48).items():
            widths[block.left + j] = max(widths.get(block.left + j, 0), width)
    return widths


def _widths(frame: pd.DataFrame, cap: float = 48) -> dict[int, float]:
    """Column widths from the header and the first 200 values (numbers as shown, one decimal),
    with room for a table's filter button beside the header."""
    sample = frame.head(200)
    longest = [len(str(c)) for c in frame.columns]
    # The plain float columns at once (a sheet may have 16,000): the widest of "%.1f" is that
    # of the largest value or of the most negative.
    floats = [j for j, d in enumerate(sample.dtypes.tolist()) if isinstance(d, np.dtype) and d.kind == "f"]
    if floats and len(sample):
        values = sample.iloc[:, floats].to_numpy(dtype=float)
        finite = np.isfinite(values)
        top = np.where(finite, values, -np.inf).max(axis=0).tolist()
        bottom = np.where(finite, values, np.inf).min(axis=0).tolist()
        for j, high, low in zip(floats, top, bottom):
            if high != -np.inf:
                longest[j] = max(longest[j], len(f"{high:.1f}"), len(f"{low:.1f}"))
    plain = set(floats)
    for j in range(len(longest)):
        if j in plain or not len(sample):
            continue
        column = sample.iloc[:, j]
        if pd.api.types.is_float_dtype(column.dtype):
            values = column.to_numpy(dtype=float, na_value=np.nan)
            finite = values[np.isfinite(values)]
            if len(finite):
                longest[j] = max(longest[j], *(len(f"{v:.1f}") for v in (finite.max(), finite.min())))
        else:
            longest[j] = max(longest[j], max(len(_shown(v)) for v in column.tolist()))
    return {j: float(min(max(n + 3, len(str(c)) + 5, 9), max(cap, len(str(c)) + 5)))
            for j, (n, c) in enumerate(zip(longest, frame.columns))}


def _shown(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.1f}"
    return str(value)
