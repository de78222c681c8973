"""The bundled template workbook: ``ces-xl template`` writes it, ``workbook/CES_Template.xlsx``
is a copy of its output (a test keeps the two equal).

Seven metrics and weights from the e-commerce CES formula (seed 000), the engagement bands of
seed 004, and 60 sample customers made by a fixed random generator so the output never changes.
"""
from __future__ import annotations

import datetime as _dt
import io
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..core.model import DEFAULT_BANDS
from .styles import fonts_in_schema_order

# (metric, weight, target, normalization, description): seed 000's metrics and weights.
METRICS = [
    ("Website Interactions", 0.20, 30, "cap", "Website sessions in the period"),
    ("Purchase Frequency", 0.30, 6, "cap", "Orders placed in the period"),
    ("Social Media Interactions", 0.10, 20, "cap", "Likes, shares and comments on the brand's posts"),
    ("Email Engagement", 0.15, 12, "cap", "Marketing emails clicked in the period"),
    ("Product Reviews", 0.10, 3, "cap", "Product reviews written in the period"),
    ("Customer Support Interactions", 0.05, 4, "cap", "Support chats, calls and tickets in the period"),
    ("Loyalty Program Participation", 0.10, 10, "cap", "Loyalty points redemptions and member actions"),
]
SEGMENTS = [("Consumer", 30, 0.45), ("Small business", 18, 0.55), ("Enterprise", 12, 0.65)]
_FIRST = ["Acme", "Blue", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Indigo", "Juniper",
          "Keystone", "Lumen", "Maple", "Northwind", "Orchid", "Pioneer", "Quartz", "Redwood", "Summit", "Tidal"]
_SECOND = ["Goods", "Outfitters", "Supply", "Studio", "Trading", "Home", "Labs", "Market", "Works", "Co."]

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", start_color="305496", end_color="305496")
_FIXED_TIME = _dt.datetime(2026, 1, 1)

INSTRUCTIONS = [
    "Customer Engagement Score (CES) workbook",
    "",
    "1. Activity: one row per customer. The first column is the customer ID (or the column named in Settings);",
    "   Segment is optional; one column per metric, headed exactly like the metric in Weights (case and spaces",
    "   do not matter). Counts are activity over the period (see Settings). A blank count is 0. Other columns",
    "   (name, owner, ...) are copied into the Scores sheet. Paste a CRM export as it comes: title rows above",
    "   the header are skipped, and a Total row at the bottom is left out with a note.",
    "2. Weights: one row per metric. Weight = its importance (they need not add up to 1 or 100).",
    "   Target = the activity level that earns full marks. Normalization: cap (default), log,",
    "   percentile or minmax. Direction: higher (default) or lower is better.",
    "3. Bands: the score ranges and their labels (0-40 Very disengaged, 41-75 Somewhat engaged, 76-100 Very engaged).",
    "4. Settings: Method (index, sum or auto), Missing values (zero or exclude), Period (a label), ID column,",
    "   Blank values (markers such as n/a that mean no data), Show columns (the Activity columns to copy),",
    "   what calls for an action: Drop alert, Trial segment, Trial ready; and Formulas (live: the scores",
    "   recalculate in Excel when you edit a count or a weight, without Python; values: numbers only).",
    "",
    "Score it: click CES > Score workbook in Excel, or run:  ces-xl score CES_Template.xlsx",
    "The results go to new Scores, Summary, Actions and History sheets; your sheets are never changed. Scoring",
    "again replaces them. Actions is the call list: who to re-engage, convert or upsell, most urgent first, and why;",
    "Scores' Fastest lift says what would take each customer into the next band (e.g. +2 Purchase Frequency).",
    "In a cell: =CES_SCORE(D2:J2, Weights!B2:B8, Weights!C2:C8) gives row 2's score (the cap normalization),",
    "=CES_BAND(score) its band and =CES_LIFT(D2:J2, Weights!B2:B8, Weights!C2:C8) its fastest lift.",
    "Normalization log compresses big counts: ln(1+x) / ln(1+Target).",
    "",
    "Index method: CES = 100 x sum(weight x normalized score) / sum(weight), a 0-100 score.",
    "Sum method: CES = sum(weight x count), e.g. 10 visits x 1 + 5 email clicks x 2 + 2 purchases x 5 = 30.",
]


class TemplateWorkbook(openpyxl.Workbook):
    """An openpyxl workbook whose ``save`` writes the fonts of ``xl/styles.xml`` in the order Excel
    and the Open XML SDK's validator require.

    openpyxl serialises a font's children in its own order (name, family, color, sz, ...; its
    default font has all of those), which the validator reports as an error; the saved package's
    styles part is put right at zip level, every other part is kept as openpyxl wrote it."""

    def save(self, filename) -> None:
        written = io.BytesIO()
        super().save(written)
        fixed = io.BytesIO()
        with zipfile.ZipFile(written) as source, zipfile.ZipFile(fixed, "w") as target:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == "xl/styles.xml":
                    data = fonts_in_schema_order(data.decode("utf-8")).encode("utf-8")
                # A new ZipInfo: writestr() would overwrite the source's offsets in the one it is given.
                copy = zipfile.ZipInfo(info.filename, info.date_time)
                copy.compress_type, copy.external_attr = info.compress_type, info.external_attr
                target.writestr(copy, data)
        if hasattr(filename, "write"):
            filename.write(fixed.getvalue())
        else:
            Path(filename).write_bytes(fixed.getvalue())


def build_template() -> TemplateWorkbook:
    rng = np.random.default_rng(20241001)
    book = TemplateWorkbook()
    book.properties.created = book.properties.modified = _FIXED_TIME
    book.properties.creator = "ces-xl"
    book.properties.title = "Customer Engagement Score template"

    ws = book.active
    ws.title = "Instructions"
    for i, line in enumerate(INSTRUCTIONS, start=1):
        ws.cell(row=i, column=1, value=line)
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 110

    activity = book.create_sheet("Activity")
    headers = ["Customer ID", "Customer name", "Segment"] + [m[0] for m in METRICS] + ["Country"]
    rows = []
    number = 1001
    countries = ["US", "UK", "DE", "FR", "CA", "AU", "NL"]
    for segment, count, mean_engagement in SEGMENTS:
        for _ in range(count):
            # One latent engagement level per customer drives all their activity, so scores spread
            # across every band the way real customers do.
            engagement = rng.beta(mean_engagement * 4, (1 - mean_engagement) * 4)
            counts = [int(rng.poisson(engagement * target * 1.3)) for _, _, target, _, _ in METRICS]
            name = f"{_FIRST[rng.integers(len(_FIRST))]} {_SECOND[rng.integers(len(_SECOND))]}"
            rows.append([f"C-{number}", name, segment, *counts, countries[rng.integers(len(countries))]])
            number += 1
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    for r, c in ((4, 6), (17, 8), (33, 5)):  # a few blanks: a blank count is 0 by default
        rows[r][c] = None
    _table(activity, headers, rows, widths=[13, 22, 15] + [16] * len(METRICS) + [9])

    weights = book.create_sheet("Weights")
    _table(weights, ["Metric", "Weight", "Target", "Normalization", "Direction", "Description"],
           [[name, weight, target, norm, "higher", text] for name, weight, target, norm, text in METRICS],
           widths=[30, 9, 9, 15, 11, 64])

    bands = book.create_sheet("Bands")
    _table(bands, ["Band", "From", "To"], [[b.label, b.lower, b.upper] for b in DEFAULT_BANDS],
           widths=[20, 8, 8])

    settings = book.create_sheet("Settings")
    _table(settings, ["Setting", "Value", "Options"], [
        ["Method", "index", "index (0-100, uses Target and Normalization), sum (weight x count), or auto"],
        ["Missing values", "zero", "zero (a blank count is 0) or exclude (score over the metrics with data)"],
        ["Period", "Last 90 days", "A label for the period the counts cover"],
        ["ID column", "Customer ID", "The Activity header of the customer IDs (blank: the first column)"],
        ["Blank values", None, "Markers that mean no data, separated by commas, e.g. n/a, -, none (blank: none)"],
        ["Show columns", None, "Activity columns to copy into Scores, separated by commas (blank: all the others)"],
        ["Drop alert", 10, "A fall of this many points since the last run calls for Re-engage (Actions sheet)"],
        ["Trial segment", "Trial", "The Segment of free-trial customers (Convert trial)"],
        ["Trial ready", None, "The score from which a trial is ready to convert (blank: the top band's From)"],
        ["Formulas", "live", "live (Score, points and Band are formulas: they recalculate in Excel when a count or "
                             "a weight changes) or values"],
    ], widths=[16, 14, 80])
    return book


def write_template(path: str | Path) -> Path:
    path = Path(path)
    build_template().save(path)
    return path


def _table(ws, headers, rows, widths) -> None:
    for j, text in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=j, value=text)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(rows, start=2):
        for j, value in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=value)
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"
