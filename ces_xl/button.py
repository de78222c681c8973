"""The "Score workbook" button: score the workbook Excel calls from and write the results into it.

The ribbon's callback runs ``RunPython "import ces_xl; ces_xl.main()"``. Everything here goes
through two thin functions, :func:`read_book` (sheets -> grids) and :func:`write_book`
(result sheets -> cells), around the same :func:`ces_xl.pipeline.score_grids` the headless run uses,
so the button writes the same numbers. All reading and validation happen before the first
write; a bad workbook gets a plain message box and is left untouched.
"""
from __future__ import annotations

import xlwings as xw

from .core.scoring import ScoreResult
from .grid import ACTIVITY, BANDS, EVENTS, EXCEL_ERRORS, HISTORY, SETTINGS, WEIGHTS, ExcelError, Grid, find_sheet
from .pipeline import score_grids
from .errors import CESError
from .xlsx.a1 import column_letter
from .layout import ACTIONS, KEPT_NOTES, SCORES, Block, ResultSheet, check_replaceable, free_name, plain_value

TITLE = "Customer Engagement Score"


def main() -> None:
    """Ribbon entry point: score the calling workbook."""
    run(xw.Book.caller())


@xw.script
def score_active_workbook(book: xw.Book):
    """Score this workbook (xlwings Lite and xlwings Server run this as a script)."""
    run(book)


def run(book) -> ScoreResult | None:
    """Score ``book``; on bad input show one plain message instead of a traceback."""
    try:
        result, sheets = score_grids(read_book(book), cell_format=lambda *cell: number_format(book, *cell),
                                     source=book.name)
        check_book(book, sheets)
    except CESError as exc:
        _alert(book, problems_message(exc))
        return None
    except Exception as exc:  # a bug: still no traceback dialog
        _alert(book, f"Unexpected error ({type(exc).__name__}: {exc}). Nothing was written.")
        return None
    try:
        write_book(book, sheets)
    except Exception as exc:
        _alert(book, f"Writing the results failed ({type(exc).__name__}: {exc}); the Scores and Summary "
                     "sheets may be incomplete. Your other sheets were not changed; run Score workbook again.")
        return None
    return result


# --- the thin xlwings layer ----------------------------------------------------------------

def read_book(book) -> dict[str, Grid]:
    """The contract sheets' used ranges as grids; other sheets by name only."""
    grids: dict[str, Grid] = {}
    names = [sheet.name for sheet in book.sheets]
    # The contract sheets, and the last results: columns the analyst added there are carried.
    wanted = {find_sheet(names, n) for n in (ACTIVITY, WEIGHTS, BANDS, SETTINGS, EVENTS, HISTORY, SCORES,
                                             KEPT_NOTES, ACTIONS)} - {None}
    for sheet in book.sheets:
        if sheet.name not in wanted:
            grids[sheet.name] = Grid(sheet.name, [])
            continue
        used = sheet.used_range
        # Error cells as their text (#DIV/0!), marked as errors so they are reported by cell
        # exactly as the headless reader reports them, rather than read as blanks.
        values = [[ExcelError(v) if isinstance(v, str) and v in EXCEL_ERRORS else v for v in row]
                  for row in used.options(ndim=2, err_to_str=True).value or [[]]]
        grids[sheet.name] = Grid(sheet.name, values, top=used.row - 1, left=used.column - 1)
    return grids


def number_format(book, sheet: str, row: int, col: int) -> str | None:
    """A cell's number format (0-based row and column); None for General, or where the engine
    cannot tell (xlwings' remote engine sends values only)."""
    try:
        code = book.sheets[sheet].range((row + 1, col + 1)).number_format
    except (NotImplementedError, AttributeError, KeyError):
        return None
    return None if not code or code == "General" else code


def check_book(book, sheets: list[ResultSheet]) -> None:
    """Everything that could stop the write, checked before the first change."""
    names = [sheet.name for sheet in book.sheets]
    for spec in sheets:
        if (existing := find_sheet(names, spec.name)) is not None:
            check_replaceable(existing, book.sheets[existing].range("A1:E1").value)


def write_book(book, sheets: list[ResultSheet]) -> None:
    for spec in sheets:
        write_sheet(book, spec)


def write_sheet(book, spec: ResultSheet):
    names = [sheet.name for sheet in book.sheets]
    existing = find_sheet(names, spec.name)
    if existing is not None:
        index = names.index(existing)
        book.sheets[existing].delete()
        # Place it where the old one was. Positioned with after= because xlwings' remote engine
        # (Server/Lite) computes before= one sheet too early; after= is right on every engine.
        ws = (book.sheets.add(spec.name, after=book.sheets[index - 1]) if index > 0
              else book.sheets.add(spec.name, before=book.sheets[0]))
    else:
        ws = book.sheets.add(spec.name, after=book.sheets[-1])
    if spec.title:
        cell = ws.range((1, 1))
        cell.value = spec.title
        cell.font.bold, cell.font.size = True, 14
    for block in spec.blocks:
        _write_block(ws, block, spec.band_colors)
    for chart_spec in spec.charts:
        _optional(lambda: _add_chart(ws, chart_spec))
    for col, width in spec.widths.items():
        ws.range((1, col + 1)).column_width = width
    if spec.freeze:
        row, col = spec.freeze
        _optional(lambda: ws.freeze_panes.freeze_at(f"A1:{column_letter(col - 1)}{row}"))
    return ws


def _write_block(ws, block: Block, colors: dict[str, str]) -> None:
    if block.title:
        title = ws.range((block.top + 1, block.left + 1))
        title.value = block.title
        title.font.bold = True
    header_row = block.header_row + 1  # 1-based
    columns = [str(c) for c in block.frame.columns]
    rows = [[cell_value(v) for v in row] for row in block.frame.itertuples(index=False, name=None)]
    # Live columns (Formulas = live): the same formulas the headless writer writes; written as
    # "=..." they are formulas, where every text value above carries its apostrophe.
    lines = range(header_row + 1, header_row + 1 + len(rows))
    sources = block.sources.tolist() if block.sources is not None else [0] * len(rows)
    for header, formulas in block.formulas.items():
        j = columns.index(header)
        for row, text in zip(rows, formulas.render(lines, sources)):
            row[j] = "=" + text
    ws.range((header_row, block.left + 1)).value = [[cell_value(c) for c in columns], *rows]
    if not rows:
        return
    first, last = header_row + 1, header_row + len(rows)
    for j, name in enumerate(columns):
        if block.formats.get(name):
            ws.range((first, block.left + j + 1), (last, block.left + j + 1)).number_format = block.formats[name]
    for i, fmt in block.row_formats.items():
        ws.range((first + i, block.left + 1), (first + i, block.left + len(columns))).number_format = fmt
    whole = ws.range((header_row, block.left + 1), (last, block.left + len(columns)))
    if block.excel_table:
        taken = [table.name for sheet in ws.book.sheets for table in sheet.tables]
        ws.tables.add(source=whole, name=free_name(block.excel_table, taken), table_style_name="TableStyleMedium2")
    else:
        ws.range((header_row, block.left + 1), (header_row, block.left + len(columns))).font.bold = True
    if block.band_column:
        col = block.left + columns.index(block.band_column) + 1
        area = ws.range((first, col), (last, col))
        letter = column_letter(col - 1)
        for label, color in colors.items():
            text = label.replace('"', '""')
            _optional(lambda: area.conditional_formats.add_custom(f'=${letter}{first}="{text}"',
                                                                 fill_color=f"#{color}"))


def _add_chart(ws, spec) -> None:
    block = spec.block
    columns = list(block.frame.columns)
    first, last = block.header_row + 1, block.bottom + 1
    cat = block.left + columns.index(spec.categories) + 1
    anchor = ws.range((spec.anchor[0] + 1, spec.anchor[1] + 1))
    chart = ws.charts.add(left=anchor.left, top=anchor.top, width=420, height=210)
    chart.chart_type = "line_markers" if spec.kind == "line" else "column_stacked_100" if spec.stacked \
        else "column_clustered"
    cols = [block.left + columns.index(name) + 1 for name in spec.series]
    if cols == list(range(cols[0], cols[0] + len(cols))):  # the series side by side: one range
        source = ws.range((first, cols[0]), (last, cols[-1]))
    else:
        source = ws.range((first, cols[0]), (last, cols[0]))
    chart.set_source_data(source)
    _optional(lambda: chart.set_x_axis_values(ws.range((first + 1, cat), (last, cat))))


def cell_value(value):
    """A table value as Excel should store it through Range.Value: text stays text.

    Excel parses a string written to Range.Value as if typed: "=1+1" becomes a formula, "00123"
    the number 123, "1/2" a date, "TRUE" a boolean. A leading apostrophe makes it store the
    rest as text, exactly as given, so every string gets one."""
    value = plain_value(value)
    if value == "":
        return None
    return "'" + value if isinstance(value, str) else value


def _optional(action) -> None:
    """Formatting some engines lack (charts or freeze panes on older hosts) is skipped rather
    than failing a run whose numbers are already written."""
    try:
        action()
    except NotImplementedError:
        pass


MAX_PROBLEMS_SHOWN = 30  # a message box shows about this many lines before it runs off the screen


def problems_message(error: CESError) -> str:
    """Every problem of ``error`` in one message, a line each (the first MAX_PROBLEMS_SHOWN,
    then how many more)."""
    problems = error.problems
    if len(problems) == 1:
        return str(error)
    lines = [f"{len(problems)} problems; nothing was written:"] + [str(p) for p in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return "\n".join(lines)


def _alert(book, message: str) -> None:
    try:
        book.app.alert(message, title=TITLE, mode="critical")
    except Exception:
        print(f"{TITLE}: {message}")
