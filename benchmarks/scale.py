#!/usr/bin/env python3
"""Performance at Excel's full scale (issue 5): time ``ces-xl score`` against its floor and ceiling.

For each size N (customers), one run:

1. generates an Activity workbook of N customers x 10 metrics, written by hand with ``zipfile``
   the way Excel lays out a package (shared strings, ``r=`` on every row and cell), with
   Weights, Bands and Settings sheets that make ``ces-xl`` use the index method with cap, log,
   percentile and a ``lower`` metric; files are cached in the work folder;
2. runs three contenders, each in its own child process, and takes its wall time and peak RSS
   from ``os.wait4``:

   * ``ces-xl``: the installed command, ``ces-xl score IN -o OUT -q``, end to end;
   * ``naive``: an openpyxl round trip (load the whole workbook, append a Scores sheet row by
     row with a weighted sum, save), the I/O pattern a first attempt would use;
   * ``calamine``: python-calamine reading the Activity sheet and nothing else (the floor: a
     scorer cannot be faster than reading its input);

3. times in-process, best of several repeats: the scoring engine on 1,000,000 x 10 and the
   ``CES_SCORE`` worksheet function on a 100,000-row block and on a single row;

and prints one table with the issue's targets marked PASS or FAIL.

Run ``python benchmarks/scale.py --help`` for the options; benchmarks/README.md explains the
columns. Nothing here is imported by ces_xl or its tests.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator
from xml.sax.saxutils import escape

EXCEL_MAX_CUSTOMERS = 1_048_575          # 1,048,576 rows less the header row
DEFAULT_SIZES = (10_000, 100_000, EXCEL_MAX_CUSTOMERS)
QUICK_SIZES = (10_000,)
# The naive openpyxl round trip took 28 s and 0.67 GB at 100k rows on the 2-core machine and
# grows linearly (1M rows: ~5 minutes, ~7 GB). Its ratios are targets only at 100k, so bigger
# sizes skip it unless asked for.
DEFAULT_NAIVE_MAX = 100_000
DEFAULT_TIMEOUT = 600.0                  # seconds per child; a slower contender is killed
FORMAT_VERSION = 1                       # bump when the generated workbook changes (cache key)
SEED = 20_240_505
CHUNK_ROWS = 20_000                      # rows generated, formatted and written per step
BLANK_SHARE = 0.01                       # share of metric cells left empty (missing values)
MB = 1e6                                 # peak memory is reported in MB of 10^6 bytes


# --- the workbook --------------------------------------------------------------------------

@dataclass(frozen=True)
class MetricSpec:
    """A metric as the Weights sheet gives it, plus how its counts are drawn."""

    name: str
    weight: float
    target: float | None
    normalization: str        # "" = the default (cap)
    direction: str
    description: str
    mean: float               # negative binomial mean of the counts
    dispersion: float         # negative binomial n: small = overdispersed, many zeros


METRICS = (
    MetricSpec("Logins", 15, 20, "", "higher", "Days with a login in the period", 14, 1.5),
    MetricSpec("Feature uses", 15, 200, "log", "higher", "Feature actions in the app", 110, 1.0),
    MetricSpec("Support tickets", 5, 6, "", "lower", "Tickets opened (fewer is better)", 1.5, 0.6),
    MetricSpec("Emails opened", 10, 12, "", "higher", "Marketing emails opened", 8, 1.2),
    MetricSpec("Email clicks", 5, 6, "", "higher", "Links clicked in emails", 3, 0.8),
    MetricSpec("Purchases", 15, 4, "", "higher", "Orders placed", 2.2, 1.0),
    MetricSpec("Webinars attended", 5, 2, "", "higher", "Webinars and events attended", 0.9, 0.6),
    # No target: the percentile normalization ranks customers against each other instead.
    MetricSpec("Community posts", 10, None, "percentile", "higher", "Posts in the user community", 2.5, 0.4),
    MetricSpec("Referrals", 10, 2, "", "higher", "Customers referred", 0.7, 0.4),
    MetricSpec("Survey responses", 10, 2, "", "higher", "NPS and feedback surveys answered", 1.1, 0.9),
)
# Each customer's counts share one engagement level (gamma, mean 1), so metrics correlate as
# they do in real data and the scores spread over all three bands (~47% / 46% / 7%) instead
# of averaging out to the middle.
ENGAGEMENT_SHAPE = 1.0
ID_HEADER, SEGMENT_HEADER = "Customer ID", "Segment"
SEGMENTS = ("Enterprise", "Mid-market", "SMB")
SEGMENT_SHARES = (0.15, 0.35, 0.50)
BANDS = (("Very disengaged", 0, 40), ("Somewhat engaged", 41, 75), ("Very engaged", 76, 100))
SETTINGS = (("Method", "index"), ("Missing values", "zero"))
SHEETS = ("Activity", "Weights", "Bands", "Settings")

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
_COLUMNS = "ABCDEFGHIJKL"  # ID, Segment and the 10 metrics
# A fixed timestamp: the same N always gives the same bytes.
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def workbook_path(workdir: Path, n: int) -> Path:
    return workdir / f"activity-{n}x{len(METRICS)}-v{FORMAT_VERSION}.xlsx"


def activity_chunks(n: int) -> Iterator[tuple]:
    """(first data row index, segment codes, counts, blank mask) per chunk of CHUNK_ROWS.

    Drawn chunk by chunk from one seeded generator, so N rows never sit in memory at once and
    the first rows of every size are the same customers."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    dispersion = np.array([m.dispersion for m in METRICS])
    means = np.array([m.mean for m in METRICS])
    for start in range(0, n, CHUNK_ROWS):
        k = min(CHUNK_ROWS, n - start)
        segments = rng.choice(len(SEGMENTS), size=k, p=SEGMENT_SHARES)
        engagement = rng.gamma(ENGAGEMENT_SHAPE, 1 / ENGAGEMENT_SHAPE, size=(k, 1))
        counts = rng.negative_binomial(dispersion, dispersion / (dispersion + means * engagement))
        blanks = rng.random((k, len(METRICS))) < BLANK_SHARE
        yield start, segments, counts, blanks


def customer_id(i: int) -> str:
    return f"C{i + 1:07d}"


class SharedStrings:
    """Excel's shared string table: the few fixed strings interned first, the N customer IDs
    appended after them (their index is ``id_base + i``, so they need no dictionary)."""

    def __init__(self) -> None:
        self.fixed: dict[str, int] = {}
        self.references = 0

    def index(self, text: str) -> int:
        self.references += 1
        return self.fixed.setdefault(text, len(self.fixed))


def _cell_xml(ref: str, value, strings: SharedStrings) -> str:
    if value is None or value == "":
        return ""  # Excel writes no element for an empty, unstyled cell
    if isinstance(value, str):
        return f'<c r="{ref}" t="s"><v>{strings.index(value)}</v></c>'
    return f'<c r="{ref}"><v>{value:g}</v></c>' if isinstance(value, float) else f'<c r="{ref}"><v>{value}</v></c>'


def _sheet_start(last_ref: str, selected: bool = False) -> str:
    view = '<sheetView tabSelected="1" workbookViewId="0">' if selected else '<sheetView workbookViewId="0">'
    pane = '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView>' \
        if selected else "</sheetView>"
    return (f'{_XML_DECL}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><dimension ref="A1:{last_ref}"/>'
            f'<sheetViews>{view}{pane}</sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>')


_SHEET_END = ('</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
              'footer="0.3"/></worksheet>')


def small_sheet_xml(rows: list[list[object]], strings: SharedStrings) -> str:
    """A whole sheet from a short list of rows (str -> shared string, number, None -> empty)."""
    width = max(len(r) for r in rows)
    body = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(_cell_xml(f"{_COLUMNS[c]}{r}", v, strings) for c, v in enumerate(row))
        body.append(f'<row r="{r}" spans="1:{width}">{cells}</row>')
    return _sheet_start(f"{_COLUMNS[width - 1]}{len(rows)}") + "".join(body) + _SHEET_END


def weights_rows() -> list[list[object]]:
    header = ["Metric", "Weight", "Target", "Normalization", "Direction", "Description"]
    return [header] + [[m.name, m.weight, m.target, m.normalization or None, m.direction, m.description]
                       for m in METRICS]


def bands_rows() -> list[list[object]]:
    return [["Band", "From", "To"]] + [list(b) for b in BANDS]


def settings_rows(settings=SETTINGS) -> list[list[object]]:
    return [["Setting", "Value"]] + [list(s) for s in settings]


def activity_row_template() -> str:
    """``str.format`` template of one full data row: {0} row number, {1} ID string index,
    {2} segment string index, {3}..{12} the counts. One format call per row keeps a million
    rows to a few seconds."""
    cells = ['<c r="A{0}" t="s"><v>{1}</v></c>', '<c r="B{0}" t="s"><v>{2}</v></c>']
    cells += [f'<c r="{_COLUMNS[2 + i]}{{0}}"><v>{{{3 + i}}}</v></c>' for i in range(len(METRICS))]
    return f'<row r="{{0}}" spans="1:{len(_COLUMNS)}">' + "".join(cells) + "</row>"


def activity_sheet_parts(n: int, strings: SharedStrings, id_base: int,
                         segment_index: list[int]) -> Iterator[str]:
    """The Activity sheet XML, one chunk of rows at a time."""
    full_row = activity_row_template()
    yield _sheet_start(f"{_COLUMNS[-1]}{n + 1}", selected=True)
    header = [ID_HEADER, SEGMENT_HEADER] + [m.name for m in METRICS]
    yield '<row r="1" spans="1:12">' + "".join(
        _cell_xml(f"{_COLUMNS[c]}1", h, strings) for c, h in enumerate(header)) + "</row>"
    for start, segments, counts, blanks in activity_chunks(n):
        has_blank = blanks.any(axis=1).tolist()
        counts_list, blanks_list = counts.tolist(), blanks.tolist()
        parts = []
        for j, seg in enumerate(segments.tolist()):
            i = start + j
            if not has_blank[j]:
                parts.append(full_row.format(i + 2, id_base + i, segment_index[seg], *counts_list[j]))
                continue
            # ~10% of rows have an empty cell: spell their cells out and leave the blanks out.
            r = i + 2
            cells = [f'<c r="A{r}" t="s"><v>{id_base + i}</v></c><c r="B{r}" t="s"><v>{segment_index[seg]}</v></c>']
            cells += [f'<c r="{_COLUMNS[2 + c]}{r}"><v>{v}</v></c>'
                      for c, (v, blank) in enumerate(zip(counts_list[j], blanks_list[j])) if not blank]
            parts.append(f'<row r="{r}" spans="1:12">' + "".join(cells) + "</row>")
        strings.references += 2 * len(parts)  # each row's ID and segment
        yield "".join(parts)
    yield _SHEET_END


def shared_strings_parts(n: int, strings: SharedStrings) -> Iterator[str]:
    unique = len(strings.fixed) + n
    yield f'{_XML_DECL}<sst xmlns="{_MAIN_NS}" count="{strings.references}" uniqueCount="{unique}">'
    yield "".join(f"<si><t>{escape(s)}</t></si>" for s in strings.fixed)
    for start in range(0, n, CHUNK_ROWS * 5):  # customer_id(i), inlined: a million calls add up
        yield "".join(f"<si><t>C{i + 1:07d}</t></si>" for i in range(start, min(n, start + CHUNK_ROWS * 5)))
    yield "</sst>"


def _package_parts(SHEETS: tuple[str, ...] = SHEETS, date_style: bool = False) -> dict[str, str]:  # noqa: N803
    """The small fixed parts of the package: content types, relationships, properties, styles
    (``date_style``: a second cell style, s="1", for dates)."""
    sheet_types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(SHEETS) + 1))
    content_types = (
        f'{_XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f'{sheet_types}'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>')
    root_rels = (
        f'{_XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
        'metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    titles = "".join(f"<vt:lpstr>{s}</vt:lpstr>" for s in SHEETS)
    app = (
        f'{_XML_DECL}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        '<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>'
        '<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr>'
        f'</vt:variant><vt:variant><vt:i4>{len(SHEETS)}</vt:i4></vt:variant></vt:vector></HeadingPairs>'
        f'<TitlesOfParts><vt:vector size="{len(SHEETS)}" baseType="lpstr">{titles}</vt:vector></TitlesOfParts>'
        '<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>'
        '<HyperlinksChanged>false</HyperlinksChanged><AppVersion>16.0300</AppVersion></Properties>')
    core = (
        f'{_XML_DECL}<cp:coreProperties '
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<dc:creator>ces_xl benchmarks</dc:creator><cp:lastModifiedBy>ces_xl benchmarks</cp:lastModifiedBy>'
        '<dcterms:created xsi:type="dcterms:W3CDTF">2024-01-01T00:00:00Z</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">2024-01-01T00:00:00Z</dcterms:modified>'
        '</cp:coreProperties>')
    sheets = "".join(f'<sheet name="{s}" sheetId="{i}" r:id="rId{i}"/>' for i, s in enumerate(SHEETS, 1))
    workbook = (
        f'{_XML_DECL}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="27328"/>'
        '<workbookPr defaultThemeVersion="166925"/><bookViews>'
        '<workbookView xWindow="0" yWindow="0" windowWidth="28800" windowHeight="12300"/></bookViews>'
        f'<sheets>{sheets}</sheets><calcPr calcId="191029"/></workbook>')
    k = len(SHEETS)
    workbook_rels = (
        f'{_XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">'
        + "".join(f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                  for i in range(1, k + 1))
        + f'<Relationship Id="rId{k + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{k + 2}" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>')
    styles = (
        f'{_XML_DECL}<styleSheet xmlns="{_MAIN_NS}">'
        '<fonts count="1"><font><sz val="11"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/>'
        '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        + ('<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
           if date_style else
           '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>')
        + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium2" '
        'defaultPivotStyle="PivotStyleLight16"/></styleSheet>')
    return {"[Content_Types].xml": content_types, "_rels/.rels": root_rels, "docProps/app.xml": app,
            "docProps/core.xml": core, "xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": workbook_rels,
            "xl/styles.xml": styles}


def _write_part(package: zipfile.ZipFile, name: str, parts) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    with package.open(info, "w") as stream:
        for part in [parts] if isinstance(parts, str) else parts:
            stream.write(part.encode("utf-8"))


def write_activity_workbook(path: Path, n: int, settings=SETTINGS) -> None:
    """Write the N-customer workbook to ``path`` with the Settings rows ``settings`` (through a
    temporary name, so an interrupted run never leaves a half file that a later run would take
    from the cache)."""
    strings = SharedStrings()
    # Intern the fixed strings first, so the IDs can take the indexes after them.
    small = {name: small_sheet_xml(rows, strings)
             for name, rows in (("Weights", weights_rows()), ("Bands", bands_rows()), ("Settings", settings_rows(settings)))}
    segment_index = [strings.index(s) for s in SEGMENTS]
    strings.references -= len(SEGMENTS)  # interned ahead of use; the rows count their references
    for header in (ID_HEADER, SEGMENT_HEADER):
        strings.index(header)
    strings.references -= 2
    id_base = len(strings.fixed)
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as package:
        fixed = _package_parts()
        for name in ("[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml",
                     "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            _write_part(package, name, fixed[name])
        _write_part(package, "xl/worksheets/sheet1.xml", activity_sheet_parts(n, strings, id_base, segment_index))
        for i, name in enumerate(SHEETS[1:], start=2):
            _write_part(package, f"xl/worksheets/sheet{i}.xml", small[name])
        _write_part(package, "xl/styles.xml", fixed["xl/styles.xml"])
        _write_part(package, "xl/sharedStrings.xml", shared_strings_parts(n, strings))
    os.replace(partial, path)


def generated(partial: Path, path: Path, started: float) -> tuple[Path, float]:
    """Move a finished workbook into place; (its path, the seconds generating it took)."""
    os.replace(partial, path)
    seconds = time.perf_counter() - started
    progress(f"  generated in {seconds:.1f} s ({path.stat().st_size / MB:.1f} MB)")
    return path, seconds


def workbook_result(source: Path, generated_seconds: float | None, **fields) -> dict:
    """The start of a measurement's record: what was measured on which file."""
    return {**fields, "file": str(source), "file_mb": source.stat().st_size / MB,
            "generated_seconds": generated_seconds, "contenders": {}}


def ensure_workbook(workdir: Path, n: int) -> tuple[Path, float | None]:
    """The cached workbook for N, generated if missing; returns (path, seconds or None if cached)."""
    path = workbook_path(workdir, n)
    if path.exists():
        return path, None
    progress(f"generating {n:,} rows -> {path}")
    started = time.perf_counter()
    write_activity_workbook(path, n)
    seconds = time.perf_counter() - started
    progress(f"  generated in {seconds:.1f} s ({path.stat().st_size / MB:.1f} MB)")
    return path, seconds


# --- a wide sheet ---------------------------------------------------------------------------
# Issue 10: a sheet of 16,000 metric columns took 56 s (a step quadratic in the number of
# metric columns). It is measured here against the calamine floor of that sheet.

WIDE_METRICS = 16_000
WIDE_CUSTOMERS = 100
WIDE_TARGET_SECONDS = 5.0  # "scores in a few seconds"


def wide_workbook(workdir: Path) -> tuple[Path, float | None]:
    """WIDE_CUSTOMERS x WIDE_METRICS counts (sum method, weight 1 each), cached like the others."""
    path = workdir / f"wide-{WIDE_CUSTOMERS}x{WIDE_METRICS}-v{FORMAT_VERSION}.xlsx"
    if path.exists():
        return path, None
    import numpy as np
    import openpyxl

    progress(f"generating {WIDE_CUSTOMERS} rows x {WIDE_METRICS:,} metrics -> {path}")
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    names = [f"Metric {i + 1}" for i in range(WIDE_METRICS)]
    book = openpyxl.Workbook(write_only=True)
    activity = book.create_sheet("Activity")
    activity.append(["Customer", *names])
    for i, row in enumerate(rng.poisson(3, size=(WIDE_CUSTOMERS, WIDE_METRICS)).tolist()):
        activity.append([customer_id(i), *row])
    weights = book.create_sheet("Weights")
    weights.append(["Metric", "Weight"])
    for name in names:
        weights.append([name, 1])
    partial = path.with_name(path.name + ".partial")
    book.save(partial)
    return generated(partial, path, started)


def measure_wide(workdir: Path, args) -> dict:
    source, generated_seconds = wide_workbook(workdir)
    result = workbook_result(source, generated_seconds, customers=WIDE_CUSTOMERS, metrics=WIDE_METRICS)
    for name, (argv, output) in contender_commands(source, workdir).items():
        if name in ("naive", "ces-xl without actions"):
            continue
        progress(f"  {name} on {WIDE_CUSTOMERS} x {WIDE_METRICS:,}...")
        measured = run_contender(argv, output, args.repeat, args.timeout)
        result["contenders"][name] = measured
        progress(f"    {_num(measured['seconds'], '.2f')} s, {_num(measured['peak_mb'], '.0f')} MB")
    return result


# --- an event log ---------------------------------------------------------------------------
# Issue 12: an Events sheet of 1,048,575 events over 100,000 customers and the 10 metrics, with a
# window, a half-life and History = 6, scored end to end against the calamine floor of that sheet.

EVENTS_ROWS = EXCEL_MAX_CUSTOMERS
EVENTS_CUSTOMERS = 100_000
EVENTS_AS_OF = 46356  # 2026-11-30 as a spreadsheet day number
EVENTS_SETTINGS = (("Method", "index"), ("As of", EVENTS_AS_OF), ("Window", 90), ("Half-life", 30),
                   ("History", 6), ("Every", "month"))
EVENTS_TARGET_SECONDS, EVENTS_TARGET_MB, EVENTS_TARGET_RATIO = 60.0, 2000.0, 3.0


def events_workbook(workdir: Path) -> tuple[Path, float | None]:
    """EVENTS_ROWS events (Customer, Event, Date as a date cell, Count), Weights and Settings,
    written by hand as Excel lays a package out; cached."""
    path = workdir / f"events-{EVENTS_ROWS}x{EVENTS_CUSTOMERS}-v{FORMAT_VERSION}.xlsx"
    if path.exists():
        return path, None
    import numpy as np

    progress(f"generating {EVENTS_ROWS:,} events over {EVENTS_CUSTOMERS:,} customers -> {path}")
    started = time.perf_counter()
    strings = SharedStrings()
    small = {name: small_sheet_xml(rows, strings) for name, rows in
             (("Weights", weights_rows()), ("Settings", settings_rows(EVENTS_SETTINGS)))}
    names = [strings.index(m.name) for m in METRICS]
    for header in ("Customer", "Event", "Date", "Count"):
        strings.index(header)
    strings.references -= len(METRICS) + 4
    id_base = len(strings.fixed)
    rng = np.random.default_rng(SEED)
    sheets = ("Events", "Weights", "Settings")

    def events_parts():
        yield _sheet_start(f"D{EVENTS_ROWS + 1}", selected=True)
        yield '<row r="1" spans="1:4">' + "".join(_cell_xml(f"{c}1", h, strings) for c, h in
                                                   zip("ABCD", ("Customer", "Event", "Date", "Count"))) + "</row>"
        row = ('<row r="{0}" spans="1:4"><c r="A{0}" t="s"><v>{1}</v></c><c r="B{0}" t="s"><v>{2}</v></c>'
               '<c r="C{0}" s="1"><v>{3}</v></c><c r="D{0}"><v>{4}</v></c></row>')
        for start in range(0, EVENTS_ROWS, CHUNK_ROWS):
            k = min(CHUNK_ROWS, EVENTS_ROWS - start)
            who = rng.integers(0, EVENTS_CUSTOMERS, k).tolist()
            what = rng.integers(0, len(METRICS), k).tolist()
            when = (EVENTS_AS_OF - rng.integers(0, 240, k)).tolist()
            count = rng.integers(1, 4, k).tolist()
            strings.references += 2 * k
            yield "".join(row.format(start + j + 2, id_base + who[j], names[what[j]], when[j], count[j])
                          for j in range(k))
        yield _SHEET_END

    def shared_strings():
        unique = len(strings.fixed) + EVENTS_CUSTOMERS
        yield f'{_XML_DECL}<sst xmlns="{_MAIN_NS}" count="{strings.references}" uniqueCount="{unique}">'
        yield "".join(f"<si><t>{escape(s)}</t></si>" for s in strings.fixed)
        yield "".join(f"<si><t>{customer_id(i)}</t></si>" for i in range(EVENTS_CUSTOMERS))
        yield "</sst>"

    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as package:
        fixed = _package_parts(sheets, date_style=True)
        for name in ("[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml",
                     "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            _write_part(package, name, fixed[name])
        _write_part(package, "xl/worksheets/sheet1.xml", events_parts())
        for i, name in enumerate(sheets[1:], start=2):
            _write_part(package, f"xl/worksheets/sheet{i}.xml", small[name])
        _write_part(package, "xl/styles.xml", fixed["xl/styles.xml"])
        _write_part(package, "xl/sharedStrings.xml", shared_strings())
    return generated(partial, path, started)


def measure_events(workdir: Path, args) -> dict:
    source, generated_seconds = events_workbook(workdir)
    result = workbook_result(source, generated_seconds, events=EVENTS_ROWS, customers=EVENTS_CUSTOMERS)
    out = workdir / "events-cesxl.xlsx"
    contenders = {"ces-xl": ([str(ces_xl_command()), "score", str(source), "-o", str(out), "-q", "--force"], out),
                  "calamine": ([sys.executable, "-c", CALAMINE_CODE.replace('"Activity"', '"Events"'), str(source)],
                               None)}
    for name, (argv, output) in contenders.items():
        progress(f"  {name} on {EVENTS_ROWS:,} events...")
        measured = run_contender(argv, output, args.repeat, args.timeout)
        result["contenders"][name] = measured
        progress(f"    {_num(measured['seconds'], '.2f')} s, {_num(measured['peak_mb'], '.0f')} MB")
    return result


# --- child processes -----------------------------------------------------------------------

# The naive round trip: what a first attempt with openpyxl looks like. A plain weighted sum
# stands in for the score; the point is the I/O pattern (whole workbook in, row-by-row append).
NAIVE_CODE = """\
import sys, openpyxl
source, target = sys.argv[1], sys.argv[2]
book = openpyxl.load_workbook(source)
weights = {row[0]: row[1] for row in book["Weights"].iter_rows(min_row=2, values_only=True) if row[0]}
rows = book["Activity"].iter_rows(values_only=True)
header = next(rows)
w = [weights.get(h, 0) for h in header[2:]]
scores = book.create_sheet("Scores")
scores.append([header[0], "Score"])
for row in rows:
    scores.append([row[0], sum(wi * (x or 0) for wi, x in zip(w, row[2:]))])
book.save(target)
"""
# The floor: read the Activity sheet into Python values and stop.
CALAMINE_CODE = """\
import sys, python_calamine
rows = python_calamine.CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_name("Activity").to_python()
"""


# Issue 13: the same ces-xl run without what it added (the To next band and Fastest lift
# columns, the Actions sheet), to measure what they cost in the same run. ces_xl.pipeline is
# patched as it is imported, so the CLI still starts reading before it imports the scoring code.
WITHOUT_ACTIONS_CODE = """\
import importlib.abc, importlib.util, sys
import numpy as np

def patch(pipeline):
    from ces_xl.core import scoring
    from ces_xl.core.lift import Lift
    def no_lift(x, model, core):
        n = len(core.total)
        return Lift(np.full(n, np.nan), np.full(n, np.nan), np.full(n, -1, dtype=np.intp),
                    np.zeros(len(model.metrics), dtype=bool))
    scoring.lift_matrix = no_lift
    pipeline.actions_table = lambda result: None
    sheets = pipeline.result_sheets
    def result_sheets(result):
        for column in ("To next band", "Fastest lift"):
            del result.scores[column]
        return sheets(result)
    pipeline.result_sheets = result_sheets

class Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "ces_xl.pipeline":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        inner = spec.loader
        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return inner.create_module(spec)
            def exec_module(self, module):
                inner.exec_module(module)
                patch(module)
        spec.loader = Loader()
        return spec

sys.meta_path.insert(0, Finder())
from ces_xl.cli import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass
class ChildRun:
    """One child process: wall seconds from spawn to reaped, peak resident memory, outcome."""

    seconds: float | None     # None: not known (the launcher failed)
    peak_mb: float | None     # None: not known (killed, or the launcher failed)
    ok: bool
    detail: str = ""


# Linux counts in a child's ru_maxrss the high-water mark of the memory it was spawned from
# (the spawner's pages, shared by vfork or copied by fork, until the exec). Spawned from this
# process, which may have generated a million-row workbook with numpy, every child would report
# at least this process's own peak (a 'python -c pass' showed 489 MB after the parent had held
# 500 MB). So each child is spawned by a bare launcher ('python -S', ~10 MB, see the baselines
# line) that waits for it with os.wait4 and writes seconds, exit code and ru_maxrss to a file.
LAUNCHER_CODE = """\
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as handle:
    handle.write(f"{seconds!r} {os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_child(argv: list[str], timeout: float) -> ChildRun:
    """Run ``argv`` through the launcher: wall seconds from spawn to reaped, and the child's
    peak RSS (``ru_maxrss`` from ``os.wait4``, KiB on Linux).

    A child still running after ``timeout`` seconds is killed (with its launcher: they share a
    new process group) and reported as failed."""
    with tempfile.TemporaryFile() as output, tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report"
        timed_out = threading.Event()
        proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER_CODE, str(report), *argv],
                                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        output.seek(0)
        text = output.read().decode("utf-8", "replace").strip()
        last = text.splitlines()[-1] if text else ""
        if timed_out.is_set():
            return ChildRun(float(timeout), None, False, f"killed after {timeout:g} s (--timeout)")
        if not report.exists():
            return ChildRun(None, None, False, f"launcher failed (exit {proc.returncode}): {last}"[:300])
        seconds, code, maxrss_kib = report.read_text().split()
    run = ChildRun(float(seconds), int(maxrss_kib) * 1024 / MB, int(code) == 0, text[:300])
    if not run.ok:
        run.detail = f"exit {code}: {last}"[:300]
    return run


def ces_xl_command() -> Path:
    """The installed console command of this interpreter's environment."""
    return Path(sys.executable).parent / "ces-xl"


def contender_commands(source: Path, outdir: Path) -> dict[str, tuple[list[str], Path | None]]:
    """Each contender's argv and the file it must leave behind (None: writes nothing)."""
    ces_out, naive_out = outdir / f"{source.stem}-cesxl.xlsx", outdir / f"{source.stem}-naive.xlsx"
    bare_out = outdir / f"{source.stem}-cesxl-without-actions.xlsx"
    return {
        "ces-xl": ([str(ces_xl_command()), "score", str(source), "-o", str(ces_out), "-q"], ces_out),
        "ces-xl without actions": ([sys.executable, "-c", WITHOUT_ACTIONS_CODE, "score", str(source), "-o",
                                    str(bare_out), "-q"], bare_out),
        "naive": ([sys.executable, "-c", NAIVE_CODE, str(source), str(naive_out)], naive_out),
        "calamine": ([sys.executable, "-c", CALAMINE_CODE, str(source)], None),
    }


def run_contender(argv: list[str], output: Path | None, repeat: int, timeout: float,
                  made: Callable[[Path], bool] = zipfile.is_zipfile) -> dict:
    """Best wall time over ``repeat`` runs, the largest peak memory among them (memory barely
    varies, and the larger figure is the safe one to hold against a target). A run that exits 0
    counts only when ``output`` (if any) is ``made`` (by default: a zip, as a workbook is)."""
    runs = []
    for _ in range(repeat):
        if output is not None:
            output.unlink(missing_ok=True)
        run = run_child(argv, timeout)
        if run.ok and output is not None and not made(output):
            run.ok, run.detail = False, f"exit 0 but {output.name} is missing or not what it should be"
        runs.append(run)
        if not run.ok:
            break  # a failure (or a 10-minute kill) is not worth repeating
    if output is not None:
        output.unlink(missing_ok=True)  # outputs of a million rows add up; the timing is what we keep
    seconds = [r.seconds for r in runs if r.seconds is not None]
    peaks = [r.peak_mb for r in runs if r.peak_mb is not None]
    return {"seconds": min(seconds, default=None), "peak_mb": max(peaks, default=None),
            "ok": all(r.ok for r in runs), "detail": next((r.detail for r in runs if not r.ok), ""),
            "runs": [asdict(r) for r in runs]}


def measure_baselines(timeout: float) -> dict[str, dict]:
    """What any child pays before work starts: the interpreter, and ces-xl's own imports."""
    return {
        "launcher floor (/bin/true)": asdict(run_child(["true"], timeout)),
        "python -c pass": asdict(run_child([sys.executable, "-c", "pass"], timeout)),
        "ces-xl --version": asdict(run_child([str(ces_xl_command()), "--version"], timeout)),
    }


def measure_size(n: int, workdir: Path, args) -> dict:
    source, generated_seconds = ensure_workbook(workdir, n)
    result = {"n": n, "file": str(source), "file_mb": source.stat().st_size / MB,
              "generated_seconds": generated_seconds, "contenders": {}}
    for name, (argv, output) in contender_commands(source, workdir).items():
        if name == "naive" and n > args.naive_max:
            result["contenders"][name] = {"skipped": f"skipped (--naive-max {args.naive_max:,})"}
            progress(f"  {name}: skipped, {n:,} > --naive-max {args.naive_max:,}")
            continue
        progress(f"  {name} on {n:,} rows...")
        measured = run_contender(argv, output, args.repeat, args.timeout)
        result["contenders"][name] = measured
        status = "" if measured["ok"] else f"  FAILED: {measured['detail']}"
        progress(f"    {_num(measured['seconds'], '.2f')} s, {_num(measured['peak_mb'], '.0f')} MB{status}")
    return result


# --- in-process timings ------------------------------------------------------------------

MICRO_BUDGET_SECONDS = 10.0


def best_of(repeat: int, work) -> tuple[float, object]:
    """The smallest of up to ``repeat`` wall times of ``work()`` (the least disturbed run), and
    its result. Repeats stop once MICRO_BUDGET_SECONDS are spent, so a slow function costs a
    few runs, not minutes; the first run always completes."""
    best, value, spent = math.inf, None, 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        value = work()
        elapsed = time.perf_counter() - started
        best, spent = min(best, elapsed), spent + elapsed
        if spent > MICRO_BUDGET_SECONDS:
            break
    return best, value


def engine_activity(n: int):
    """An N x 10 activity DataFrame from the same generator as the workbooks (blanks as NaN)."""
    import numpy as np
    import pandas as pd

    blocks = []
    for _, _, counts, blanks in activity_chunks(n):
        x = counts.astype(float)
        x[blanks] = np.nan
        blocks.append(x)
    x = np.concatenate(blocks)
    frame = pd.DataFrame(x, columns=[m.name for m in METRICS])
    frame.insert(0, ID_HEADER, np.array([customer_id(i) for i in range(n)], dtype=object))
    return frame


def benchmark_model(method: str, all_cap: bool = False):
    """The workbook's model (cap, log, percentile, a lower metric), or all metrics capped."""
    from ces_xl.core.model import Model, Metric

    metrics = [Metric(m.name, m.weight, target=m.target if m.target is not None else 5.0,
                      normalization=None, direction="higher")
               if all_cap else
               Metric(m.name, m.weight, target=m.target, normalization=m.normalization or None,
                      direction=m.direction, description=m.description)
               for m in METRICS]
    if method == "sum":
        metrics = [Metric(m.name, m.weight) for m in metrics]
    return Model(metrics, method=method, missing="zero")


def measure_engine(n: int, repeat: int) -> dict[str, dict]:
    from ces_xl.core.scoring import score

    progress(f"engine: building a {n:,} x {len(METRICS)} DataFrame...")
    frame = engine_activity(n)
    results = {}
    for label, model in (("index, workbook model (cap/log/percentile/lower)", benchmark_model("index")),
                         ("index (all cap)", benchmark_model("index", all_cap=True)),
                         ("sum", benchmark_model("sum"))):
        progress(f"engine: {label}...")
        # The target is for scoring (issue 5); what it would take and the actions (issue 13)
        # are timed beside it, by the default call.
        seconds, result = best_of(repeat, lambda: score(frame, model, actions=False))
        assert len(result.scores) == n and result.method == model.method, "engine returned the wrong table"
        with_actions, result = best_of(repeat, lambda: score(frame, model))
        assert result.actions is not None, "the default call returned no actions"
        results[label] = {"rows": n, "seconds": seconds, "with_actions": with_actions}
    return results


def measure_udf(rows: int, single_calls: int, repeat: int) -> dict[str, dict]:
    import numpy as np

    from ces_xl.udfs import CES_SCORE

    # What xlwings hands over for a block: a list of row lists of Python floats (blank -> None,
    # here 0.0, as the floats the issue asks for).
    counts = engine_activity(rows).iloc[:, 1:].to_numpy()
    activity = np.nan_to_num(counts).tolist()
    weights = [float(m.weight) for m in METRICS]
    targets = [float(m.target if m.target is not None else 5.0) for m in METRICS]
    progress(f"udf: CES_SCORE over {rows:,} rows...")
    block_seconds, block = best_of(repeat, lambda: CES_SCORE(activity, weights, targets))
    if not (isinstance(block, list) and len(block) == rows):
        raise RuntimeError(f"CES_SCORE on the block returned {str(block)[:200]!r}")
    one_row = [activity[0]]
    progress(f"udf: single row x {single_calls:,} calls...")

    def many_single_calls():
        for _ in range(single_calls):
            value = CES_SCORE(one_row, weights, targets)
        return value

    single_seconds, single = best_of(repeat, many_single_calls)
    if not isinstance(single, float):
        raise RuntimeError(f"CES_SCORE on one row returned {single!r}")
    return {"block": {"rows": rows, "seconds": block_seconds},
            "single": {"calls": single_calls, "microseconds_per_call": single_seconds / single_calls * 1e6}}


# --- targets and the report ----------------------------------------------------------------

@dataclass
class Target:
    what: str
    goal: str
    measured: str = "not run"
    status: str = "n/a"


def evaluate_targets(results: dict) -> list[Target]:
    by_n = {s["n"]: s["contenders"] for s in results["sizes"]}
    targets = []

    def contender(n, name):
        c = by_n.get(n, {}).get(name)
        return c if c and "skipped" not in c else None

    def ratio_target(what, goal, top, bottom, key, passes, suffix):
        """A 100k ratio; FAIL if ces-xl itself failed, n/a if only the comparison failed."""
        t = Target(what, goal)
        a, b = contender(100_000, top), contender(100_000, bottom)
        if a is None or b is None:
            pass  # not run
        elif not contender(100_000, "ces-xl")["ok"]:
            t.measured, t.status = "ces-xl failed", "FAIL"
        elif not (a["ok"] and b["ok"]):
            t.measured, t.status = "failed", f"n/a ({top if not a['ok'] else bottom} failed)"
        else:
            ratio = a[key] / b[key]
            t.measured, t.status = f"{ratio:.2f}{suffix}", _pass(passes(ratio))
        targets.append(t)

    ratio_target("100k x 10: ces-xl speed-up over naive", ">= 5x", "naive", "ces-xl", "seconds",
                 lambda r: r >= 5, "x")
    ratio_target("100k x 10: ces-xl peak memory / naive's", "<= 0.33", "ces-xl", "naive", "peak_mb",
                 lambda r: r <= 1 / 3, "")
    ratio_target("100k x 10: ces-xl time / calamine read floor", "<= 3x", "ces-xl", "calamine", "seconds",
                 lambda r: r <= 3, "x")
    full = contender(EXCEL_MAX_CUSTOMERS, "ces-xl")
    t = Target("1,048,575 x 10: ces-xl wall time", "< 60 s")
    if full:
        t.measured = f"{_num(full['seconds'], '.1f')} s"
        t.status = _pass(full["ok"] and full["seconds"] < 60)
    targets.append(t)
    t = Target("1,048,575 x 10: ces-xl peak memory", "< 2,000 MB")
    if full:
        t.measured = f"{_num(full['peak_mb'], ',.0f')} MB"
        t.status = _pass(full["ok"] and full["peak_mb"] < 2000)
    targets.append(t)
    bare = contender(EXCEL_MAX_CUSTOMERS, "ces-xl without actions")
    t = Target("1,048,575 x 10: time added by To next band, Fastest lift, Actions", "< 25%")
    if full and bare:
        if full["ok"] and bare["ok"]:
            added = full["seconds"] / bare["seconds"] - 1
            t.measured, t.status = f"{added:.0%}", _pass(added < 0.25)
        else:
            t.measured, t.status = "failed", "FAIL"
    targets.append(t)
    for label, e in results.get("engine", {}).items():
        # The target is for a million rows; a --quick run times fewer and is not judged.
        judged = e["rows"] >= 1_000_000
        targets.append(Target(f"engine {e['rows']:,} x 10, {label}, scoring", "< 1 s", f"{e['seconds']:.3f} s",
                              _pass(e["seconds"] < 1) if judged else "n/a (target is for 1M rows)"))
    ev = results.get("events")
    if ev:
        c, floor = ev["contenders"].get("ces-xl", {}), ev["contenders"].get("calamine", {})
        label = f"{ev['events']:,} events, {ev['customers']:,} customers, History 6"
        for what, goal, measured, ok in (
                ("wall time", f"< {EVENTS_TARGET_SECONDS:g} s", f"{_num(c.get('seconds'), '.1f')} s",
                 c.get("ok") and c["seconds"] < EVENTS_TARGET_SECONDS),
                ("peak memory", f"< {EVENTS_TARGET_MB:,.0f} MB", f"{_num(c.get('peak_mb'), ',.0f')} MB",
                 c.get("ok") and c["peak_mb"] < EVENTS_TARGET_MB),
                ("time / calamine read of Events", f"<= {EVENTS_TARGET_RATIO:g}x",
                 f"{c['seconds'] / floor['seconds']:.2f}x" if c.get("ok") and floor.get("ok") else "?",
                 c.get("ok") and floor.get("ok") and c["seconds"] / floor["seconds"] <= EVENTS_TARGET_RATIO)):
            targets.append(Target(f"{label}: {what}", goal, measured, _pass(bool(ok)) if c else "not run"))
    wide = results.get("wide")
    if wide:
        c = wide["contenders"].get("ces-xl", {})
        floor = wide["contenders"].get("calamine", {})
        t = Target(f"{wide['customers']} x {wide['metrics']:,} metrics: ces-xl wall time",
                   f"< {WIDE_TARGET_SECONDS:g} s")
        if c:
            ratio = (f", {c['seconds'] / floor['seconds']:.1f}x floor" if c.get("ok") and floor.get("ok") else "")
            t.measured = f"{_num(c['seconds'], '.1f')} s{ratio}"
            t.status = _pass(c["ok"] and c["seconds"] < WIDE_TARGET_SECONDS)
        targets.append(t)
    udf = results.get("udf")
    if udf:
        b, s = udf["block"], udf["single"]
        targets.append(Target(f"CES_SCORE, {b['rows']:,}-row block", "< 0.2 s", f"{b['seconds']:.3f} s",
                              _pass(b["seconds"] < 0.2)))
        targets.append(Target("CES_SCORE, single row", "< 100 us", f"{s['microseconds_per_call']:.0f} us",
                              _pass(s["microseconds_per_call"] < 100)))
    return targets


def _pass(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _num(value: float | None, spec: str) -> str:
    return "?" if value is None else format(value, spec)


def format_report(results: dict, targets: list[Target]) -> str:
    env = results["environment"]
    lines = [f"ces_xl scale benchmark: {env['cpus']} CPUs, Python {env['python']}, ces_xl {env['ces_xl']}, "
             f"openpyxl {env['openpyxl']}, python-calamine {env['python_calamine']}, numpy {env['numpy']}, "
             f"pandas {env['pandas']}",
             f"workdir {env['workdir']}; per child process: wall seconds from spawn to exit (best of "
             f"{env['repeat']}) and peak RSS in MB (10^6 bytes)",
             ""]
    base = results["baselines"]
    lines.append("child baselines (the launcher's floor, interpreter start, ces-xl imports): " + "; ".join(
        f"{name} {_num(b['seconds'], '.2f')} s, {_num(b['peak_mb'], '.0f')} MB" for name, b in base.items()))
    lines.append("")
    head = (f"{'customers':>10} {'file MB':>8} {'gen s':>6} | {'ces-xl s':>9} {'MB':>6} | {'naive s':>9} "
            f"{'MB':>6} | {'calamine s':>10} {'MB':>6} | {'naive/ces-xl':>12} {'mem ces/naive':>13} "
            f"{'ces-xl/calam.':>13}")
    lines += [head, "-" * len(head)]
    notes = []
    for s in results["sizes"]:
        c = s["contenders"]
        gen = "cached" if s["generated_seconds"] is None else f"{s['generated_seconds']:.1f}"

        def cell(name, width_s, width_mb=6):
            m = c.get(name, {})
            if "skipped" in m:
                return f"{'skipped':>{width_s}} {'':>{width_mb}}"
            if not m:
                return f"{'-':>{width_s}} {'':>{width_mb}}"
            if not m["ok"]:
                return f"{'FAILED':>{width_s}} {'':>{width_mb}}"
            return f"{m['seconds']:>{width_s}.2f} {m['peak_mb']:>{width_mb}.0f}"

        def ratio(a, b, key, suffix):
            ma, mb = c.get(a, {}), c.get(b, {})
            if not (ma.get("ok") and mb.get("ok")):
                return "-"  # skipped, or failed
            return f"{ma[key] / mb[key]:.2f}{suffix}"

        lines.append(f"{s['n']:>10,} {s['file_mb']:>8.1f} {gen:>6} | {cell('ces-xl', 9)} | {cell('naive', 9)} | "
                     f"{cell('calamine', 10)} | {ratio('naive', 'ces-xl', 'seconds', 'x'):>12} "
                     f"{ratio('ces-xl', 'naive', 'peak_mb', ''):>13} {ratio('ces-xl', 'calamine', 'seconds', 'x'):>13}")
        for name, m in c.items():
            if "skipped" in m:
                notes.append(f"{s['n']:,} rows, {name}: {m['skipped']}: openpyxl's full load grows linearly "
                             "(~30 s and ~0.7 GB per 100k rows), and its ratios are targets at 100k only")
            elif not m["ok"]:
                notes.append(f"{s['n']:,} rows, {name} FAILED: {m['detail']}")
    if notes:
        lines += [""] + [f"  note: {n}" for n in notes]
    lines += ["", "what the new columns and the Actions sheet cost (issue 13): the same ces-xl run without them, "
                  "same run:"]
    for s in results["sizes"]:
        a, b = s["contenders"].get("ces-xl", {}), s["contenders"].get("ces-xl without actions", {})
        if a.get("ok") and b.get("ok"):
            lines.append(f"  {s['n']:>10,}: {b['seconds']:.2f} s, {b['peak_mb']:.0f} MB without; "
                         f"{a['seconds']:.2f} s, {a['peak_mb']:.0f} MB with (+{a['seconds'] / b['seconds'] - 1:.0%} "
                         f"time, {a['peak_mb'] - b['peak_mb']:+.0f} MB)")
    if "engine" in results or "udf" in results:
        lines += ["", f"in-process (best of up to {env['micro_repeat']} runs, fewer once "
                      f"{MICRO_BUDGET_SECONDS:g} s are spent):"]
        for label, e in results.get("engine", {}).items():
            lines.append(f"  engine.score {e['rows']:,} x 10, {label}: {e['seconds']:.3f} s (actions=False); "
                         f"{e['with_actions']:.3f} s with To next band, Fastest lift and Actions (the default)")
        if "udf" in results:
            b, s = results["udf"]["block"], results["udf"]["single"]
            lines.append(f"  CES_SCORE {b['rows']:,}-row block (list of lists of floats): {b['seconds']:.3f} s")
            lines.append(f"  CES_SCORE single row: {s['microseconds_per_call']:.1f} us per call "
                         f"(over {s['calls']:,} calls)")
    width = max(len(t.what) for t in targets)
    wide = results.get("wide")
    if wide:
        c, f = wide["contenders"].get("ces-xl", {}), wide["contenders"].get("calamine", {})
        lines += ["", f"wide sheet, {wide['customers']} customers x {wide['metrics']:,} metrics "
                      f"({wide['file_mb']:.1f} MB): ces-xl {_num(c.get('seconds'), '.2f')} s, "
                      f"{_num(c.get('peak_mb'), '.0f')} MB; calamine read {_num(f.get('seconds'), '.2f')} s, "
                      f"{_num(f.get('peak_mb'), '.0f')} MB"]
    ev = results.get("events")
    if ev:
        c, f = ev["contenders"].get("ces-xl", {}), ev["contenders"].get("calamine", {})
        lines += [f"events, {ev['events']:,} over {ev['customers']:,} customers x 10 metrics, window 90, half-life "
                  f"30, History 6 ({ev['file_mb']:.1f} MB): ces-xl {_num(c.get('seconds'), '.2f')} s, "
                  f"{_num(c.get('peak_mb'), '.0f')} MB; calamine read of Events {_num(f.get('seconds'), '.2f')} s, "
                  f"{_num(f.get('peak_mb'), '.0f')} MB"]
    lines += ["", "targets (issues 5, 10, 12 and 13):"]
    lines += [f"  {t.what:<{width}}  {t.goal:>10}  {t.measured:>10}  {t.status}" for t in targets]
    return "\n".join(lines)


def environment(args, workdir: Path) -> dict:
    import importlib.metadata as md

    def version(dist):
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "?"

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "ces_xl": version("ces-xl"), "openpyxl": version("openpyxl"),
            "python_calamine": version("python-calamine"), "numpy": version("numpy"), "pandas": version("pandas"),
            "workdir": str(workdir), "repeat": args.repeat, "micro_repeat": args.micro_repeat}


# --- self-check ----------------------------------------------------------------------------

def self_check(workdir: Path, timeout: float) -> None:
    """Check the generator against independent readers and ces-xl against the SPEC's math, on
    100 customers: calamine reads back exactly the drawn counts, openpyxl loads the package,
    and ``ces-xl score`` accepts it and writes the index scores the SPEC formula gives."""
    import numpy as np
    import openpyxl
    import pandas as pd
    import python_calamine

    n = 100
    path = workbook_path(workdir, n)
    path.unlink(missing_ok=True)  # always check a freshly generated file
    ensure_workbook(workdir, n)
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == list(SHEETS), book.sheet_names
    rows = book.get_sheet_by_name("Activity").to_python(skip_empty_area=False)
    assert rows[0] == [ID_HEADER, SEGMENT_HEADER] + [m.name for m in METRICS], rows[0]
    assert len(rows) == n + 1, len(rows)
    expected = engine_activity(n)
    for i, row in enumerate(rows[1:]):
        assert row[0] == customer_id(i) and row[1] in SEGMENTS, row[:2]
        want = [None if math.isnan(v) else v for v in expected.iloc[i, 1:].tolist()]
        got = [None if v == "" else v for v in row[2:]]
        assert got == want, (i, got, want)
    assert any(v == "" for row in rows[1:] for v in row[2:]), "no blank cells drawn in 100 rows"
    weights = book.get_sheet_by_name("Weights").to_python()
    assert [r[0] for r in weights[1:]] == [m.name for m in METRICS]
    assert openpyxl.load_workbook(path).sheetnames == list(SHEETS)
    print(f"generator: {path.name} reads back exactly in calamine and loads in openpyxl")

    out = workdir / "self-check-scored.xlsx"
    out.unlink(missing_ok=True)
    run = run_child([str(ces_xl_command()), "score", str(path), "-o", str(out), "-q"], timeout)
    assert run.ok and out.exists(), f"ces-xl score failed on {path}: {run.detail}"
    scored = python_calamine.CalamineWorkbook.from_path(str(out))
    grid = scored.get_sheet_by_name("Scores").to_python()
    header = grid[0]
    table = pd.DataFrame(grid[1:], columns=header)
    assert len(table) == n and header[:3] == [ID_HEADER, "Score", "Band"], header[:4]
    assert table[ID_HEADER].tolist() == [customer_id(i) for i in range(n)]
    # The SPEC's index formula, computed independently (blank = 0 under Missing values = zero).
    x = expected.iloc[:, 1:].fillna(0.0).to_numpy()
    parts = []
    for i, m in enumerate(METRICS):
        col = x[:, i]
        if m.normalization == "percentile":
            s = (pd.Series(col).rank(method="average").to_numpy() - 1) / (n - 1)
        elif m.normalization == "log":
            s = np.minimum(np.log1p(col) / np.log1p(m.target), 1.0)
        else:
            s = np.minimum(col / m.target, 1.0)
        parts.append(1 - s if m.direction == "lower" else s)
    w = np.array([m.weight for m in METRICS], dtype=float)
    want = 100 * (np.column_stack(parts) * w).sum(axis=1) / w.sum()
    got = table["Score"].astype(float).to_numpy()
    assert np.allclose(got, want, atol=1e-6), float(np.abs(got - want).max())
    out.unlink()
    print(f"ces-xl: scored {n} customers ({run.seconds:.2f} s); scores match the SPEC index formula")
    print("self-check passed")


# --- command line --------------------------------------------------------------------------

def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for item in text.split(","):
        item = item.strip().lower().replace("_", "")
        n = EXCEL_MAX_CUSTOMERS if item == "max" else int(item[:-1]) * 1000 if item.endswith("k") else int(item)
        if not 1 <= n <= EXCEL_MAX_CUSTOMERS:
            raise argparse.ArgumentTypeError(f"{n:,} customers do not fit one Excel sheet (1 to {EXCEL_MAX_CUSTOMERS:,})")
        sizes.append(n)
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/scale.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Time ces-xl at Excel's full scale (issue 5).

For each size N it generates (once, cached in --workdir) an Activity workbook of N customers
x 10 metrics with Weights, Bands and Settings sheets (index method; cap, log, percentile and a
'lower' metric; ~1% blank counts), then runs each contender in its own child process and
records its wall time (spawn to exit, interpreter start-up included) and peak resident memory
(ru_maxrss from os.wait4):

  ces-xl    the installed command: ces-xl score IN -o OUT -q (read, score, write; end to end)
  naive     openpyxl round trip: load_workbook(IN), append a Scores sheet row by row, save(OUT)
  calamine  python-calamine reads the Activity sheet to Python values, nothing else (the floor)

Then, in this process (best of --micro-repeat): ces_xl.core.scoring.score on 1,000,000 x 10
(index and sum methods), and ces_xl.udfs.CES_SCORE on a 100,000-row block and on one row.

The table shows seconds and peak MB per contender, the ratios naive/ces-xl (speed-up),
ces-xl/naive (memory) and ces-xl/calamine (distance from the floor), and PASS/FAIL against
the issue's targets. Progress goes to stderr, the report to stdout.""",
        epilog="Examples:\n  python benchmarks/scale.py --quick\n  python benchmarks/scale.py\n"
               "  python benchmarks/scale.py --sizes 100k --repeat 3 --json results.json\n"
               "  python benchmarks/scale.py --self-check")
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                        help="comma-separated customer counts; 'k' suffix and 'max' (1,048,575) accepted "
                             "(default: 10000,100000,1048575)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ces_xl-bench",
                        help="where generated workbooks are cached and outputs written "
                             "(default: %(default)s)")
    parser.add_argument("--naive-max", type=int, default=DEFAULT_NAIVE_MAX, metavar="N",
                        help="run the naive openpyxl contender only for sizes <= N (default: %(default)s; it "
                             "takes ~30 s and ~0.7 GB per 100k rows, so ~5 min at 1M)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per child-process contender; best time, largest peak (default: 1)")
    parser.add_argument("--micro-repeat", type=int, default=5,
                        help="repeats of each in-process timing, the best kept; repeats stop after 10 s "
                             "(default: 5)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="kill a contender after this many seconds and mark it failed (default: %(default)g)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 10000 customers only, and the engine on 100,000 rows")
    parser.add_argument("--no-micro", action="store_true", help="skip the in-process engine and UDF timings")
    parser.add_argument("--no-events", action="store_true",
                        help=f"skip the event log ({EVENTS_ROWS:,} events over {EVENTS_CUSTOMERS:,} customers)")
    parser.add_argument("--no-wide", action="store_true",
                        help=f"skip the wide sheet ({WIDE_CUSTOMERS} customers x {WIDE_METRICS:,} metrics)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--self-check", action="store_true",
                        help="check the generator and ces-xl on 100 customers, then exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    if not ces_xl_command().exists():
        progress(f"error: {ces_xl_command()} not found; install ces_xl into this interpreter's environment")
        return 2
    if args.self_check:
        self_check(workdir, args.timeout)
        return 0
    sizes = list(QUICK_SIZES) if args.quick else args.sizes
    engine_rows = 100_000 if args.quick else 1_000_000
    results: dict = {"environment": environment(args, workdir), "sizes": []}
    progress("baselines: launcher floor, python -c pass, ces-xl --version")
    results["baselines"] = measure_baselines(args.timeout)
    for n in sizes:
        results["sizes"].append(measure_size(n, workdir, args))
    if not args.no_wide:
        results["wide"] = measure_wide(workdir, args)
    if not args.no_events and not args.quick:
        results["events"] = measure_events(workdir, args)
    if not args.no_micro:
        results["engine"] = measure_engine(engine_rows, args.micro_repeat)
        results["udf"] = measure_udf(100_000, 2000, args.micro_repeat)
    targets = evaluate_targets(results)
    results["targets"] = [asdict(t) for t in targets]
    print(format_report(results, targets))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        progress(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
