"""SpreadsheetML for the result sheets, written straight from :mod:`ces_xl.layout`.

A worksheet part is produced as a stream of byte chunks, a few thousand rows at a time, so a
million-row Scores sheet never exists in memory as cells or as one string. Text cells are
inline strings (``t="inlineStr"``): nothing is added to the shared-strings part, and text is
always text (a value like ``=1+1`` is never a formula, because formulas live in ``<f>``).
"""
from __future__ import annotations

import datetime as _dt
import functools
import math
import re
from dataclasses import dataclass
from typing import Callable, Iterator
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd

from .a1 import column_letter, quoted_sheet
from ..formulas import Column
from ..layout import Block, Chart, ResultSheet, plain_value
from .package import DOC_REL, MAIN_NS
from .styles import CellStyle, StyleSheet

XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
CHUNK_ROWS = 2_500  # rows per piece of XML: about 2 MB of text at a time, a piece of floats taken at once
TITLE_SIZE = 14
HEADER_FILL = "DDEBF7"
DATE_FORMAT = "yyyy-mm-dd"
_EXCEL_EPOCH = _dt.datetime(1899, 12, 30)

# Characters XML cannot hold (or that XML readers turn into something else: a carriage return
# becomes a line feed), and text that already looks like an escape.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")


def ooxml_text(value: str) -> str:
    """Escape text the way Excel stores it: a control character c as _xHHHH_, and a literal
    "_xHHHH_" as "_x005F_xHHHH_", so Excel, LibreOffice and calamine read back the exact text."""
    return _NEEDS_ESCAPE.sub(lambda m: f"_x{ord(m.group()):04X}_" if len(m.group()) == 1
                             else "_x005F" + m.group(), value)


# Text that needs none of the treatment below (most IDs and labels) is written as it is.
_NEEDS_CARE = re.compile(r"[&<>\x00-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_|^\s|\s$")
# The same, over many values joined by line feeds (a line feed only counts at a value's ends).
_ANY_NEEDS_CARE = re.compile(r"[&<>\x00-\x09\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_|^\s|\s$", re.M)


def inline_text(value: str) -> str:
    """The ``<is>`` element of an inline-string cell holding ``value`` exactly."""
    if not _NEEDS_CARE.search(value):
        return f"<is><t>{value}</t></is>"
    text = escape(ooxml_text(value))
    space = ' xml:space="preserve"' if value != value.strip() or "\n" in value or "\t" in value else ""
    return f"<is><t{space}>{text}</t></is>"


@dataclass
class SheetLinks:
    """Relationship ids the worksheet part refers to (chosen by the package writer)."""

    tables: list[str]          # one per block with ``excel_table``, in block order
    drawing: str | None = None


def worksheet_chunks(spec: ResultSheet, styles: StyleSheet, links: SheetLinks,
                     progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The worksheet part of ``spec``, as UTF-8 chunks (produced as they are consumed)."""
    last_row, last_col = _extent(spec)
    selected = ' tabSelected="1"' if spec.active else ""  # the sheet the workbook opens on
    head = [XML_HEAD, f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{DOC_REL}">',
            # Printed one page wide (as many pages down as it takes).
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
            f'<dimension ref="A1:{column_letter(last_col)}{last_row + 1}"/>',
            f'<sheetViews><sheetView{selected} workbookViewId="0">{_pane(spec.freeze)}</sheetView></sheetViews>',
            '<sheetFormatPr defaultRowHeight="15"/>']
    if spec.widths:
        head.append("<cols>" + "".join(f'<col min="{c + 1}" max="{c + 1}" width="{w:g}" customWidth="1"/>'
                                       for c, w in sorted(spec.widths.items())) + "</cols>")
    head.append("<sheetData>")
    groups = _row_groups(spec, styles, progress)
    return _chain_chunks(["".join(head).encode("utf-8")], *groups, _sheet_tail(spec, styles, links))


def _chain_chunks(*parts) -> Iterator[bytes]:
    try:
        for part in parts:
            yield from part
    finally:
        for part in parts:
            if hasattr(part, "close"):
                part.close()


def _sheet_tail(spec: ResultSheet, styles: StyleSheet, links: SheetLinks) -> Iterator[bytes]:
    tail = ["</sheetData>", _conditional_formats(spec, styles),
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>',
            '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>']
    if links.drawing:
        tail.append(f'<drawing r:id="{links.drawing}"/>')
    if links.tables:
        tail.append(f'<tableParts count="{len(links.tables)}">'
                    + "".join(f'<tablePart r:id="{rid}"/>' for rid in links.tables) + "</tableParts>")
    tail.append("</worksheet>")
    yield "".join(tail).encode("utf-8")


def table_xml(table_id: int, name: str, block: Block) -> bytes:
    """A table part over ``block`` (header row and data rows)."""
    ref = _block_ref(block)
    columns = "".join(f'<tableColumn id="{i}" name={quoteattr(_table_column_name(c))}/>'
                      for i, c in enumerate(block.frame.columns, start=1))
    return (f'{XML_HEAD}<table xmlns="{MAIN_NS}" id="{table_id}" name={quoteattr(name)} '
            f'displayName={quoteattr(name)} ref="{ref}" totalsRowShown="0"><autoFilter ref="{ref}"/>'
            f'<tableColumns count="{len(block.frame.columns)}">{columns}</tableColumns>'
            '<tableStyleInfo name="TableStyleMedium2" showFirstColumn="0" showLastColumn="0" '
            'showRowStripes="1" showColumnStripes="0"/></table>').encode("utf-8")


def drawing_xml(charts: list[Chart], rel_ids: list[str]) -> bytes:
    """A drawing part placing each chart at its anchor cell (15 x 7.5 cm, as before)."""
    anchors = []
    for n, (chart, rid) in enumerate(zip(charts, rel_ids), start=1):
        row, col = chart.anchor
        anchors.append(
            f'<xdr:oneCellAnchor><xdr:from><xdr:col>{col}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row}</xdr:row>'
            '<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="5400000" cy="2700000"/><xdr:graphicFrame macro="">'
            f'<xdr:nvGraphicFramePr><xdr:cNvPr id="{n + 1}" name="Chart {n}"/><xdr:cNvGraphicFramePr/>'
            '</xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
            f'<c:chart r:id="{rid}"/></a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>'
            '</xdr:oneCellAnchor>')
    return (f'{XML_HEAD}<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
            f'xmlns:r="{DOC_REL}">{"".join(anchors)}</xdr:wsDr>').encode("utf-8")


def chart_xml(sheet_name: str, chart: Chart) -> bytes:
    """A column chart of some columns of a block against its label column, in the block's
    order: each series (or, for one series, each column) in its given colour; stacked to 100%
    when the chart says so."""
    block = chart.block
    columns = list(block.frame.columns)
    first, last = block.header_row + 2, block.bottom + 1  # 1-based data rows
    sheet = escape(quoted_sheet(sheet_name))
    cat = column_letter(block.left + columns.index(chart.categories))

    def title(text: str) -> str:
        return (f'<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:pPr><a:defRPr/></a:pPr><a:r><a:t>{escape(text)}</a:t>'
                '</a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>')

    def fill(color: str) -> str:
        return f'<c:spPr><a:solidFill><a:srgbClr val="{color}"/></a:solidFill></c:spPr>'

    if chart.kind == "line":
        return _line_chart(sheet, chart, title, fill, cat, first, last)
    series = []
    for i, name in enumerate(chart.series):
        val = column_letter(block.left + columns.index(name))
        color = fill(chart.colors[i]) if i < len(chart.colors) else ""
        points = "".join(f'<c:dPt><c:idx val="{j}"/><c:invertIfNegative val="0"/><c:bubble3D val="0"/>{fill(c)}'
                         "</c:dPt>" for j, c in enumerate(chart.point_colors)) if len(chart.series) == 1 else ""
        series.append(
            f'<c:ser><c:idx val="{i}"/><c:order val="{i}"/>'
            f'<c:tx><c:strRef><c:f>{sheet}!${val}${first - 1}</c:f></c:strRef></c:tx>{color}'
            f'<c:invertIfNegative val="0"/>{points}<c:cat><c:strRef><c:f>{sheet}!${cat}${first}:${cat}${last}</c:f>'
            f'</c:strRef></c:cat><c:val><c:numRef><c:f>{sheet}!${val}${first}:${val}${last}</c:f>'
            '</c:numRef></c:val></c:ser>')
    grouping = "percentStacked" if chart.stacked else "clustered"
    overlap = '<c:overlap val="100"/>' if chart.stacked else ""
    plot = (f'<c:barChart><c:barDir val="col"/><c:grouping val="{grouping}"/><c:varyColors val="0"/>'
            f'{"".join(series)}<c:gapWidth val="80"/>{overlap}<c:axId val="10"/><c:axId val="100"/></c:barChart>')
    return _chart_space(chart, title, plot, category_format="General",
                        value_format="0%" if chart.stacked else "General", legend=len(chart.series) > 1)


def _line_chart(sheet: str, chart: Chart, title, fill, cat: str, first: int, last: int) -> bytes:
    """A line chart: one line per series over dates (the categories), each in its colour."""
    block = chart.block
    columns = list(block.frame.columns)
    series = []
    for i, name in enumerate(chart.series):
        val = column_letter(block.left + columns.index(name))
        color = chart.colors[i] if i < len(chart.colors) else "4472C4"
        series.append(
            f'<c:ser><c:idx val="{i}"/><c:order val="{i}"/>'
            f'<c:tx><c:strRef><c:f>{sheet}!${val}${first - 1}</c:f></c:strRef></c:tx>'
            f'<c:spPr><a:ln w="28575" cap="rnd"><a:solidFill><a:srgbClr val="{color}"/></a:solidFill></a:ln></c:spPr>'
            f'<c:marker><c:symbol val="circle"/><c:size val="5"/>{fill(color)}</c:marker>'
            f'<c:cat><c:numRef><c:f>{sheet}!${cat}${first}:${cat}${last}</c:f></c:numRef></c:cat>'
            f'<c:val><c:numRef><c:f>{sheet}!${val}${first}:${val}${last}</c:f></c:numRef></c:val>'
            '<c:smooth val="0"/></c:ser>')
    plot = (f'<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>{"".join(series)}'
            '<c:marker val="1"/><c:axId val="10"/><c:axId val="100"/></c:lineChart>')
    return _chart_space(chart, title, plot, category_format="yyyy-mm-dd", value_format="0%", legend=True)


def _chart_space(chart: Chart, title, plot: str, *, category_format: str, value_format: str,
                 legend: bool) -> bytes:
    """A chart part around its plot (bars or lines): the title, the category axis along the
    bottom and the value axis on the left (with gridlines and its own title), the legend on
    the right when asked for."""
    value_title = title(chart.value_title) if chart.value_title else ""
    key = '<c:legend><c:legendPos val="r"/><c:overlay val="0"/></c:legend>' if legend else ""
    return (
        f'{XML_HEAD}<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{DOC_REL}"><c:roundedCorners val="0"/><c:chart>{title(chart.title)}'
        f'<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>{plot}'
        '<c:catAx><c:axId val="10"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>'
        f'<c:axPos val="b"/><c:numFmt formatCode="{category_format}" sourceLinked="0"/><c:majorTickMark val="none"/>'
        '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/><c:crossAx val="100"/><c:crosses val="autoZero"/>'
        '<c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
        '<c:valAx><c:axId val="100"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>'
        f'<c:axPos val="l"/><c:majorGridlines/>{value_title}'
        f'<c:numFmt formatCode="{value_format}" sourceLinked="0"/>'
        '<c:majorTickMark val="none"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="10"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx></c:plotArea>'
        f'{key}<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>').encode("utf-8")

# --- cells ---------------------------------------------------------------------------------
#
# A cell is written as ``<c r="B7"`` and its *tail*: style, type, value and the end of the
# element (`` s="3"><v>0.5</v></c>``). A blank keeps its style and nothing else (`` s="3"/>``),
# as Excel writes a formatted empty cell, so that every row of a block has the same cells and
# a whole row is one ``%`` of a row template: far faster than building each cell on its own.

def cell_xml(ref: str, value, number_style: int, text_style: int, styles: StyleSheet) -> str:
    """One cell of any plain value."""
    return f'<c r="{ref}"{cell_tail(value, number_style, text_style, styles)}'


def cell_tail(value, number_style: int, text_style: int, styles: StyleSheet) -> str:
    """What follows ``<c r="..."`` for any plain value (blank: None, NaN, NaT or empty text)."""
    value = plain_value(value)
    if value is None or value == "" or (isinstance(value, float) and not math.isfinite(value)):
        return f"{_s(number_style)}/>"
    if isinstance(value, bool):
        return f'{_s(text_style)} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f"{_s(number_style)}><v>{_number(value)}</v></c>"
    if isinstance(value, (_dt.date, _dt.datetime)) and not isinstance(value, _dt.time):
        moment = value if isinstance(value, _dt.datetime) else _dt.datetime.combine(value, _dt.time())
        serial = (moment.replace(tzinfo=None) - _EXCEL_EPOCH).total_seconds() / 86400
        return f"{_s(styles.xf(CellStyle(number_format=DATE_FORMAT)))}><v>{serial!r}</v></c>"
    return f'{_s(text_style)} t="inlineStr">{inline_text(str(value))}</c>'


def _number(value: int | float) -> str:
    """The shortest text that reads back as exactly ``value`` (a whole float without ".0")."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return str(int(value))
    return repr(value)


def _s(style: int) -> str:
    return f' s="{style}"' if style else ""


def _b(style: int) -> bytes:
    return b' s="%d"' % style if style else b""


# The fast roads below give the tails as UTF-8 bytes: a row template of bytes fills its slots
# two to three times faster than one of str, and the chunks are bytes in the end anyway.

def _float_tails(values: np.ndarray, number_style: int) -> list[bytes]:
    """The tails of a float column (NaN and infinities blank), each value as :func:`_number`
    writes it. Points columns repeat a few values (one per distinct count), so each distinct
    value is formatted once: turning a float into text is the largest cost of writing a sheet."""
    return _float_tail_array(values, number_style).tolist()


def _float_tail_array(values: np.ndarray, number_style: int) -> np.ndarray:
    """:func:`_float_tails` of an array of any shape, as an object array of that shape (the
    float columns of a block with the same style go through at once): each distinct value
    formatted once, by :func:`_float_tail_each`."""
    distinct, where = np.unique(values, return_inverse=True)
    return _float_tail_each(distinct, number_style)[where.ravel()].reshape(values.shape)


def _float_tail_each(values: np.ndarray, number_style: int) -> np.ndarray:
    """:func:`_float_tail_array` for columns whose values hardly repeat (scores, percentiles):
    each value formatted where it is, without first finding the distinct ones (a sort that
    would only cost)."""
    s = _b(number_style)
    flat = values.ravel()
    finite = np.isfinite(flat)
    whole = finite & (np.trunc(flat, where=finite, out=np.zeros_like(flat)) == flat) \
        & (np.abs(flat, where=finite, out=np.zeros_like(flat)) < 2 ** 53)
    texts = np.empty(len(flat), dtype=object)
    fraction = finite & ~whole
    texts[fraction] = [b"%s><v>%r</v></c>" % (s, v) for v in flat[fraction].tolist()]
    if whole.any():
        texts[whole] = [b"%s><v>%d</v></c>" % (s, v) for v in flat[whole].astype(np.int64).tolist()]
    if not finite.all():
        texts[~finite] = b"%s/>" % s
    return texts.reshape(values.shape)


def _text_tails(values: list[str], text_style: int) -> list[bytes]:
    """The tails of a text column ("" blank). Labels (bands, drivers, segments) repeat, and
    each distinct one is escaped once; a column of plain text (most IDs) is told so by one
    search over all of it."""
    t = _b(text_style)
    joined = "\n".join(values) if all(values) else ""
    if joined and joined.count("\n") == len(values) - 1 and not _ANY_NEEDS_CARE.search(joined):
        return [b'%s t="inlineStr"><is><t>%s</t></is></c>' % (t, v) for v in joined.encode("utf-8").split(b"\n")]
    distinct = dict.fromkeys(values)
    if len(distinct) * 4 <= len(values):
        for v in distinct:
            distinct[v] = _text_tail(v, t)
        return list(map(distinct.__getitem__, values))
    return [_text_tail(v, t) for v in values]


def _text_tail(value: str, t: bytes) -> bytes:
    return b'%s t="inlineStr">%s</c>' % (t, inline_text(value).encode("utf-8")) if value else b"%s/>" % t


def _kind(series: pd.Series) -> str:
    """How a column's cells are written: "float", "int", "text" (str or blank) or "any"."""
    if pd.api.types.is_bool_dtype(series):
        return "any"
    if pd.api.types.is_integer_dtype(series):
        return "any" if series.hasnans else "int"  # a nullable Int64 column with <NA>
    if pd.api.types.is_float_dtype(series):
        return "float"
    if isinstance(series.dtype, pd.StringDtype):
        return "text"
    present = series.dropna().to_numpy()  # iterating a numpy array is far faster than a Series
    kinds = set(map(type, present))
    if kinds <= {str}:  # object or pandas' str dtype; blanks become ""
        return "text"
    if kinds <= {int} and len(present) == len(series):
        return "int"
    return "any"


class _BlockRows:
    """The data rows of one block as XML, one piece of ``CHUNK_ROWS`` rows at a time."""

    def __init__(self, block: Block, styles: StyleSheet):
        frame = block.frame
        columns = [str(c) for c in frame.columns]
        band = block.band_column
        # Every style is registered here, before any piece is rendered (once per format: a
        # sheet may have 16,000 columns of a few formats).
        number_style = functools.lru_cache(maxsize=None)(
            lambda number_format, center: styles.xf(CellStyle(number_format=number_format, center=center)))
        self.number_styles = [number_style(block.formats.get(c), c == band) for c in columns]
        self.text_styles = [styles.xf(CellStyle(center=True)) if c == band else 0 for c in columns]
        self.row_styles = {i: styles.xf(CellStyle(number_format=f)) for i, f in block.row_formats.items()}
        # The plain float columns (points, counts: all but a few) are taken from pandas together,
        # a piece of rows at a time, as one matrix: one Series per column would cost more than
        # the rest of the writing at 16,000 columns, and the whole matrix at once would be a
        # copy of the frame's numbers. Every other column once as a numpy array, sliced for
        # each piece.
        dtypes = frame.dtypes.tolist()
        floats = [] if block.row_formats else [
            j for j, d in enumerate(dtypes) if isinstance(d, np.dtype) and d.kind == "f"]
        self.floats = floats
        self.kinds: list[str] = ["float"] * len(columns)
        self.arrays: list[np.ndarray | None] = [None] * len(columns)
        at = {j: k for k, j in enumerate(floats)}
        # A long text column that repeats (IDs in a history, a band per row) is escaped once per
        # distinct value for the whole block, not once per piece of rows; a categorical column
        # of text (Actions' labels) comes with its codes.
        self.coded: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for j in range(len(columns)):
            if j not in at:
                column = frame.iloc[:, j]
                if isinstance(column.dtype, pd.CategoricalDtype) and all(
                        isinstance(c, str) for c in column.cat.categories) and not block.row_formats:
                    labels = column.cat.categories.tolist()
                    t = _b(self.text_styles[j])
                    codes = column.cat.codes.to_numpy()
                    self.kinds[j], self.arrays[j] = "text", codes
                    self.coded[j] = (np.where(codes < 0, len(labels), codes),
                                     np.array([_text_tail(v, t) for v in labels + [""]], dtype=object))
                    continue
                self.kinds[j] = _kind(column)
                self.arrays[j] = _values(column, self.kinds[j])
        # The float columns of one style as one matrix: a sheet of many metrics formats its
        # points in one pass, not one numpy call per column.
        if len(frame) > CHUNK_ROWS and not block.row_formats:
            for j, kind in enumerate(self.kinds):
                if j in self.coded:
                    continue
                # The first piece tells a column of distinct values (IDs, sentences), not worth
                # factorizing whole.
                if kind == "text" and len(set(self.arrays[j][:CHUNK_ROWS].tolist())) * 2 <= CHUNK_ROWS:
                    codes, uniques = pd.factorize(self.arrays[j])
                    if len(uniques) * 2 <= len(codes):
                        self.coded[j] = (codes, np.array(_text_tails(uniques.tolist(), self.text_styles[j]),
                                                         dtype=object))
        # Columns whose values repeat (points, counts) are formatted once per distinct value;
        # the others (scores, percentiles) value by value. The first piece tells which is which.
        repeats = set()
        if floats:
            sample = np.sort(frame.iloc[:CHUNK_ROWS, floats].to_numpy(dtype=float), axis=0)
            distinct = (sample[1:] != sample[:-1]).sum(axis=0) + 1 if len(sample) else np.zeros(len(floats))
            repeats = {j for j, d in zip(floats, distinct.tolist()) if d * 2 <= len(sample)}
        # (style, repeats): the columns, their places in the piece's matrix
        groups: dict[tuple[int, bool], tuple[list[int], list[int]]] = {}
        for j in floats:
            columns_of, places = groups.setdefault((self.number_styles[j], j in repeats), ([], []))
            columns_of.append(j)
            places.append(at[j])
        self.float_groups = {key: (js, np.array(ks)) for key, (js, ks) in groups.items()}
        letters = [column_letter(block.left + j) for j in range(len(columns))]
        # "%s" slots: the row number, then the row number and the tail of each cell.
        self.template = ('<row r="%s">' + "".join(f'<c r="{c}%s"%s' for c in letters) + "</row>").encode("ascii")
        self.first = block.header_row + 2  # 1-based row of the first data row
        self.block, self.styles = block, styles
        self.starts = range(0, len(frame), CHUNK_ROWS)
        # Live columns: each formula's text escaped once, its row numbers filled in per piece.
        self.live = {columns.index(header): Column(escape(column.template), column.slots, column.text)
                     for header, column in block.formulas.items() if header in columns}

    def render(self, start: int) -> bytes:
        stop = min(start + CHUNK_ROWS, len(self.block.frame))
        rows = [b"%d" % r for r in range(self.first + start, self.first + stop)]
        slots: list[list[bytes]] = [rows]
        done: dict[int, list[bytes]] = {}
        if self.floats:
            piece = self.block.frame.iloc[start:stop, self.floats].to_numpy(dtype=float)
            for (style, repeats), (columns, places) in self.float_groups.items():
                tails = (_float_tail_array if repeats else _float_tail_each)(piece[:, places], style)
                for j, column in zip(columns, tails.T.tolist()):
                    done[j] = column
        if self.live:  # the piece's row numbers, and the row of each customer's counts
            sources = self.block.sources
            lines = (range(self.first + start, self.first + stop),
                     [0] * (stop - start) if sources is None else sources[start:stop].tolist())
        for j, values in enumerate(self.arrays):
            live = self.live.get(j)
            if live is not None:
                formulas = [f.encode("utf-8") for f in live.render(*lines)]
            if live is not None and live.text:
                tails = self._live_labels(j, formulas, start, stop)
            else:
                tails = done[j] if values is None else self._tails(j, values[start:stop], start)
                if live is not None:
                    tails = self._live_numbers(formulas, tails)
            slots += (rows, tails)
        return b"".join(map(self.template.__mod__, zip(*slots)))

    def _live_labels(self, j: int, formulas: list[bytes], start: int, stop: int) -> list[bytes]:
        """A live column of labels (band, top driver): each formula with the frame's label as its
        cached result, so that a reader that does not calculate still sees the engine's."""
        t = _b(self.text_styles[j])
        cached: dict[object, bytes] = {}  # a label's cached value, escaped once (labels repeat)

        def value(v) -> bytes:
            if v not in cached:
                blank = v is None or (isinstance(v, float) and v != v)
                cached[v] = b"" if blank else escape(ooxml_text(str(v))).encode("utf-8")
            return cached[v]

        return [b'%s t="str"><f>%s</f><v>%s</v></c>' % (t, f, value(v))
                for f, v in zip(formulas, self.block.frame.iloc[start:stop, j].tolist())]

    @staticmethod
    def _live_numbers(formulas: list[bytes], tails: list[bytes]) -> list[bytes]:
        """A live column of numbers: each formula with the value written (its tail) as the
        cached result; a blank one caches "" (the formula gives no data)."""
        out = []
        for f, tail in zip(formulas, tails):
            if tail.endswith(b"/>"):
                out.append(b'%s t="str"><f>%s</f><v></v></c>' % (tail[:-2], f))
            else:
                out.append(tail.replace(b"><v>", b"><f>%s</f><v>" % f, 1))
        return out

    def _tails(self, j: int, values: np.ndarray, start: int) -> list[bytes]:
        number_style, text_style, kind = self.number_styles[j], self.text_styles[j], self.kinds[j]
        if self.block.row_formats:  # a small table with a format per row (the Overview)
            return [cell_tail(v, self.row_styles.get(start + i, number_style), text_style, self.styles).encode("utf-8")
                    for i, v in enumerate(values.tolist())]
        if kind == "float":
            return _float_tails(values, number_style)
        if kind == "int":
            s = _b(number_style)
            return [b"%s><v>%d</v></c>" % (s, v) for v in values.tolist()]
        if kind == "text":
            if j in self.coded:
                codes, tails = self.coded[j]
                return tails[codes[start:start + len(values)]].tolist()
            return _text_tails(values.tolist(), text_style)
        return [cell_tail(v, number_style, text_style, self.styles).encode("utf-8") for v in values.tolist()]


def _values(column: pd.Series, kind: str) -> np.ndarray:
    """A column's values as :meth:`_BlockRows._tails` takes them for its kind."""
    if kind == "float":
        return column.to_numpy(dtype=float, na_value=np.nan)
    if kind == "text":
        return column.fillna("").to_numpy(dtype=object)
    return column.to_numpy(dtype=object) if kind == "any" else column.to_numpy()


def _data_rows(block: Block, styles: StyleSheet, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    rows = _BlockRows(block, styles)
    for start in rows.starts:
        yield rows.render(start)
        if progress:
            progress(min(CHUNK_ROWS, len(block.frame) - start))


# --- sheet structure -----------------------------------------------------------------------

def _row_groups(spec: ResultSheet, styles: StyleSheet, progress) -> list[Iterator[bytes]]:
    """Every row of the sheet, in row order: titles, headers and each block's data."""
    bold = styles.xf(CellStyle(bold=True))
    header = styles.xf(CellStyle(bold=True, fill=HEADER_FILL))
    groups: list[tuple[int, Iterator[bytes]]] = []

    def single(row: int, cells: str) -> None:
        groups.append((row, iter([f'<row r="{row + 1}">{cells}</row>'.encode("utf-8")])))

    if spec.title:
        single(0, cell_xml("A1", spec.title, 0, styles.xf(CellStyle(bold=True, size=TITLE_SIZE)), styles))
    for block in spec.blocks:
        if block.title:
            single(block.top, cell_xml(f"{column_letter(block.left)}{block.top + 1}", block.title, 0, bold, styles))
        style = 0 if block.excel_table else header
        single(block.header_row, "".join(
            cell_xml(f"{column_letter(block.left + j)}{block.header_row + 1}", str(c), style, style, styles)
            for j, c in enumerate(block.frame.columns)))
        if len(block.frame):
            groups.append((block.header_row + 1, _data_rows(block, styles, progress)))
    groups.sort(key=lambda g: g[0])
    return [rows for _, rows in groups]


def _extent(spec: ResultSheet) -> tuple[int, int]:
    last_row = 0
    last_col = 0
    for block in spec.blocks:
        last_row = max(last_row, block.bottom)
        last_col = max(last_col, block.left + max(len(block.frame.columns) - 1, 0))
    return last_row, last_col


def _pane(freeze: tuple[int, int] | None) -> str:
    if not freeze or freeze == (0, 0):
        return ""
    row, col = freeze
    top_left = f"{column_letter(col)}{row + 1}"
    pane = "bottomRight" if row and col else "bottomLeft" if row else "topRight"
    split = (f' xSplit="{col}"' if col else "") + (f' ySplit="{row}"' if row else "")
    return (f'<pane{split} topLeftCell="{top_left}" activePane="{pane}" state="frozen"/>'
            f'<selection pane="{pane}" activeCell="{top_left}" sqref="{top_left}"/>')


def _conditional_formats(spec: ResultSheet, styles: StyleSheet) -> str:
    out = []
    priority = 1
    for block in spec.blocks:
        if not block.band_column or not len(block.frame):
            continue
        letter = column_letter(block.left + list(block.frame.columns).index(block.band_column))
        first, last = block.header_row + 2, block.bottom + 1
        rules = []
        for label, color in spec.band_colors.items():
            text = str(label).replace('"', '""')
            rules.append(f'<cfRule type="expression" dxfId="{styles.dxf(color)}" priority="{priority}">'
                         f'<formula>{escape(f"${letter}{first}=" + chr(34) + text + chr(34))}</formula></cfRule>')
            priority += 1
        out.append(f'<conditionalFormatting sqref="{letter}{first}:{letter}{last}">{"".join(rules)}'
                   "</conditionalFormatting>")
    return "".join(out)


def _block_ref(block: Block) -> str:
    right = column_letter(block.left + len(block.frame.columns) - 1)
    return f"{column_letter(block.left)}{block.header_row + 1}:{right}{block.bottom + 1}"


def _table_column_name(name) -> str:
    # Excel stores line breaks and tabs in table column names as _xHHHH_ escapes.
    return ooxml_text(str(name)).replace("\n", "_x000a_").replace("\t", "_x0009_")
