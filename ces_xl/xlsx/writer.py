"""Render :class:`~ces_xl.layout.ResultSheet` descriptions into a copy of the input workbook.

openpyxl loads the whole workbook so that every other sheet, formula, style and defined name
is saved back; earlier result sheets are replaced in place (same position in the tab order).
"""
from __future__ import annotations

import re
from pathlib import Path

import openpyxl
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..contract import find_sheet
from ..errors import CESError
from .package import carry_over_ribbon
from ..layout import Block, ResultSheet, check_replaceable, free_name, plain_value

_TITLE_FONT = Font(bold=True, size=14)
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")


def write_results(source: Path, target: Path, sheets: list[ResultSheet]) -> None:
    """Load ``source``, replace or add the result sheets, save to ``target``.

    ``target`` should be a fresh temporary path (see :func:`ces_xl.xlsx.atomic.atomic_output`).
    """
    keep_vba = source.suffix.lower() == ".xlsm"
    try:
        book = openpyxl.load_workbook(source, keep_vba=keep_vba, rich_text=True)
    except Exception as exc:  # openpyxl raises many types for damaged or hostile packages
        raise CESError(f"cannot open the workbook to write results ({type(exc).__name__}: {exc})",
                       where=str(source), fix="open it in Excel and save it again as .xlsx") from None
    for spec in sheets:  # all checks before the first change
        if (existing := find_sheet(book.sheetnames, spec.name)) is not None:
            check_replaceable(existing, [book[existing].cell(row=1, column=c).value for c in range(1, 6)])
    for sheet in sheets:
        write_sheet(book, sheet)
    book.save(target)
    if keep_vba:
        carry_over_ribbon(source, target)  # openpyxl drops the ribbon of a macro workbook


def write_sheet(book: openpyxl.Workbook, spec: ResultSheet) -> None:
    existing = find_sheet(book.sheetnames, spec.name)
    position = None
    if existing is not None:
        position = book.sheetnames.index(existing)
        book.remove(book[existing])
    ws = book.create_sheet(spec.name, position)
    if spec.title:
        ws.cell(row=1, column=1, value=spec.title).font = _TITLE_FONT
    for block in spec.blocks:
        _write_block(book, ws, block, spec.band_colors)
    for chart_spec in spec.charts:
        block = chart_spec.block
        columns = list(block.frame.columns)
        first, last = block.header_row + 2, block.bottom + 1  # 1-based data rows
        chart = BarChart()
        chart.type = "bar"
        chart.title = chart_spec.title
        chart.legend = None
        chart.y_axis.title = chart_spec.values
        chart.add_data(Reference(ws, min_col=block.left + columns.index(chart_spec.values) + 1,
                                 min_row=first - 1, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=block.left + columns.index(chart_spec.categories) + 1,
                                       min_row=first, max_row=last))
        chart.height, chart.width = 7.5, 15
        row, col = chart_spec.anchor
        ws.add_chart(chart, f"{get_column_letter(col + 1)}{row + 1}")
    for col, width in spec.widths.items():
        ws.column_dimensions[get_column_letter(col + 1)].width = width
    if spec.freeze:
        row, col = spec.freeze
        ws.freeze_panes = f"{get_column_letter(col + 1)}{row + 1}"


def _write_block(book, ws, block: Block, colors: dict[str, str]) -> None:
    if block.title:
        ws.cell(row=block.top + 1, column=block.left + 1, value=block.title).font = _BOLD
    header_row = block.header_row + 1  # 1-based
    columns = [str(c) for c in block.frame.columns]
    for j, name in enumerate(columns):
        cell = ws.cell(row=header_row, column=block.left + j + 1)
        put(cell, name)
        if not block.excel_table:
            cell.font = _BOLD
            cell.fill = _HEADER_FILL
    formats = [block.formats.get(c) for c in columns]
    for i, row in enumerate(block.frame.itertuples(index=False, name=None)):
        r = header_row + 1 + i
        row_format = block.row_formats.get(i)
        for j, value in enumerate(row):
            cell = ws.cell(row=r, column=block.left + j + 1)
            put(cell, value)
            number_format = row_format or formats[j]
            if number_format and isinstance(cell.value, (int, float)):
                cell.number_format = number_format
    if len(block.frame) == 0:
        return
    first_col = get_column_letter(block.left + 1)
    last_col = get_column_letter(block.left + len(columns))
    last_row = header_row + len(block.frame)
    if block.excel_table:
        taken = [name for sheet in book.worksheets for name in sheet.tables]
        table = Table(displayName=free_name(block.excel_table, taken),
                      ref=f"{first_col}{header_row}:{last_col}{last_row}")
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        ws.add_table(table)
    if block.band_column:
        letter = get_column_letter(block.left + columns.index(block.band_column) + 1)
        area = f"{letter}{header_row + 1}:{letter}{last_row}"
        for label, color in colors.items():
            text = label.replace('"', '""')
            fill = PatternFill(start_color=color, end_color=color, fill_type="solid")
            ws.conditional_formatting.add(
                area, FormulaRule(formula=[f'${letter}{header_row + 1}="{text}"'], fill=fill))
        for r in range(header_row + 1, last_row + 1):
            ws[f"{letter}{r}"].alignment = Alignment(horizontal="center")


def put(cell, value) -> None:
    """Write one value so that data stays data: text is always text, never a formula."""
    value = plain_value(value)
    if isinstance(value, str):
        value = ooxml_text(value)
    cell.value = value
    if isinstance(value, str):
        # openpyxl treats any string starting with "=" as a formula; pin it to text.
        cell.data_type = "s"


# Characters XML cannot hold (or that XML readers turn into something else: a carriage return
# becomes a line feed), and text that already looks like an escape.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f]|_x[0-9A-Fa-f]{4}_")


def ooxml_text(value: str) -> str:
    """Escape text the way Excel stores it: a control character c as _xHHHH_, and a literal
    "_xHHHH_" as "_x005F_xHHHH_", so Excel, LibreOffice and calamine read back the exact text.
    (openpyxl would otherwise refuse control characters and lose carriage returns.)"""
    return _NEEDS_ESCAPE.sub(lambda m: f"_x{ord(m.group()):04X}_" if len(m.group()) == 1
                             else "_x005F" + m.group(), value)
