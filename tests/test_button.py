"""The "Score workbook" button's Python path, on xlwings' own Book implementation.

xlwings' remote engine (``xw.Book(json=...)``, what xlwings Server and Lite use) runs off Windows:
it takes a snapshot of the workbook's values and records every write as an action. Replaying
the actions gives the cells the button writes, which must equal the headless run's.
"""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import python_calamine

xw = pytest.importorskip("xlwings")  # conftest sets XLWINGS_LICENSE_KEY for the remote engine

import ces_xl  # noqa: E402
from ces_xl import button  # noqa: E402
from ces_xl.xlsx.errorcells import error_cells  # noqa: E402

from .conftest import SEED_001, make_workbook  # noqa: E402
from .test_errors import CASES as ERROR_CASES  # noqa: E402
from .test_workbook import HOSTILE_IDS, TEMPLATE, book_with_extras, hostile_book  # noqa: E402


def remote_book(path: Path) -> "xw.Book":
    """The workbook at ``path`` as xlwings' remote engine sees an open Excel workbook."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    errors = error_cells(path, list(book.sheet_names))
    sheets = []
    for name in book.sheet_names:
        values = book.get_sheet_by_name(name).to_python(skip_empty_area=False) or [[""]]
        for (r, c), error in errors[name].items():  # Excel sends error cells as "#DIV/0!" text
            values[r][c] = str(error)
        # Excel hands numbers to Python as floats and blanks as None.
        values = [[None if v == "" else float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                   for v in row] for row in values]
        sheets.append({"name": name, "values": values, "pictures": [], "tables": []})
    payload = {"client": "VBA", "version": xw.__version__,
               "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
               "names": [], "sheets": sheets}
    return xw.Book(json=payload)


def replay(book: "xw.Book", start_names: list[str]) -> tuple[list[str], dict[str, dict]]:
    """Apply the recorded sheet and value actions: sheet order, and cells per new sheet."""
    names = list(start_names)
    cells: dict[str, dict] = {}
    for action in book.json()["actions"]:
        func = action["func"]
        if func == "addSheet":
            position, name = action["args"][0], action["args"][1]
            names.insert(position, name)
            cells[name] = {}
        elif func == "sheetDelete":
            names.pop(action["sheet_position"])
        elif func == "setValues":
            sheet = cells[names[action["sheet_position"]]]
            for i, row in enumerate(action["values"]):
                for j, value in enumerate(row):
                    if value not in (None, ""):
                        sheet[(action["start_row"] + i, action["start_column"] + j)] = value
    return names, cells


def pressed_and_headless(path: Path, out: Path):
    """The button pressed on the workbook at ``path`` and the headless run into ``out``: both
    results, and the sheets the button leaves in the workbook."""
    headless = ces_xl.score_workbook(path, out)
    remote = remote_book(path)
    start = [s.name for s in remote.sheets]
    pressed = button.run(remote)
    names, _ = replay(remote, start)
    return pressed, headless, names


def excel_text(value):
    """What Excel stores for a value written through Range.Value: a leading apostrophe marks text."""
    return value[1:] if isinstance(value, str) and value.startswith("'") else value


def headless_cells(path: Path, sheet: str) -> dict:
    ws = openpyxl.load_workbook(path)[sheet]
    return {(c.row - 1, c.column - 1): c.value for row in ws.iter_rows() for c in row if c.value is not None}


@pytest.mark.parametrize("make", [
    lambda d: TEMPLATE,
    lambda d: make_workbook(d / "seed.xlsx", SEED_001),
    lambda d: hostile_book(d / "hostile.xlsx"),
])
def test_button_writes_the_same_cells_as_the_headless_run(tmp_path, make):
    source = make(tmp_path)
    headless = tmp_path / "headless.xlsx"
    ces_xl.score_workbook(source, headless)
    book = remote_book(source)
    start = [s.name for s in book.sheets]
    result = button.run(book)
    assert result is not None
    names, written = replay(book, start)
    assert names == openpyxl.load_workbook(headless).sheetnames
    for sheet in ("Scores", "Summary"):
        expected = headless_cells(headless, sheet)
        got = {k: excel_text(v) for k, v in written[sheet].items()}
        assert got.keys() == expected.keys(), sheet
        for key, value in expected.items():
            if isinstance(value, (int, float)):  # openpyxl stores 16 significant digits
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), (sheet, key)
            else:
                assert got[key] == value, (sheet, key)


def test_text_that_looks_like_a_formula_is_written_as_text(tmp_path):
    book = remote_book(hostile_book(tmp_path / "hostile.xlsx"))
    button.run(book)
    _, written = replay(book, [s.name for s in book.sheets])
    ids = [written["Scores"][(r, 0)] for r in range(1, len(HOSTILE_IDS) + 1)]
    assert ids == ["'" + i for i in HOSTILE_IDS]  # Excel's text marker: stored exactly as given


def test_text_that_looks_like_a_number_date_or_boolean_stays_text(tmp_path):
    ids = ["00123", "1E5", "1/2", "TRUE", "12:30"]
    activity = [["Customer", "Visits"]] + [[i, n] for n, i in enumerate(ids)]
    book = remote_book(make_workbook(tmp_path / "b.xlsx", {"Activity": activity,
                                                           "Weights": [["Metric", "Weight"], ["Visits", 1]]}))
    button.run(book)
    _, written = replay(book, [s.name for s in book.sheets])
    assert [written["Scores"][(r, 0)] for r in range(1, 6)] == ["'" + i for i in ids]


def test_rerun_replaces_the_result_sheets_in_place(tmp_path):
    scored = tmp_path / "scored.xlsx"
    ces_xl.score_workbook(book_with_extras(tmp_path / "b.xlsx"), scored)
    book = remote_book(scored)
    start = [s.name for s in book.sheets]
    button.run(book)
    names, written = replay(book, start)
    assert names == start == ["Activity", "Weights", "Report", "Scores", "Summary", "Actions", "History"]
    assert written["Scores"][(1, 1)] == 30


def test_bad_workbook_gets_a_plain_message_and_nothing_is_written(tmp_path):
    sheets = dict(SEED_001, Weights=[["Metric", "Weight"], ["Website Visit", "lots"]])
    book = remote_book(make_workbook(tmp_path / "bad.xlsx", sheets))
    assert button.run(book) is None
    actions = book.json()["actions"]
    assert [a["func"] for a in actions] == ["alert"]
    prompt = actions[0]["args"][0]
    assert prompt.startswith("Weights!B2: weight 'lots' of metric 'Website Visit' is not a number")
    assert "Traceback" not in prompt


def test_the_script_runs_as_xlwings_server_and_lite_call_it(tmp_path):
    import asyncio
    import types

    from xlwings.server import custom_scripts_call, script

    # With XLWINGS_ON_SERVER set, xw.script is xlwings.server.script; off-server it is the
    # identity, so apply the server's decorator the way that import would.
    module = types.SimpleNamespace(score_active_workbook=script(button.score_active_workbook))
    book = remote_book(make_workbook(tmp_path / "seed.xlsx", SEED_001))
    asyncio.run(custom_scripts_call(module, "score_active_workbook", typehint_to_value={xw.Book: book}))
    _, written = replay(book, ["Activity", "Weights"])
    assert excel_text(written["Scores"][(1, 0)]) == "C-1" and written["Scores"][(1, 1)] == 30


def test_main_is_the_ribbon_entry_point(monkeypatch, tmp_path):
    book = remote_book(make_workbook(tmp_path / "seed.xlsx", SEED_001))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    ces_xl.main()  # RunPython "import ces_xl; ces_xl.main()"
    _, written = replay(book, ["Activity", "Weights"])
    assert written["Scores"][(1, 1)] == 30


def test_a_users_own_summary_sheet_is_not_replaced(tmp_path):
    book = remote_book(make_workbook(tmp_path / "b.xlsx", dict(SEED_001, Summary=[["My notes"]])))
    assert button.run(book) is None
    actions = book.json()["actions"]
    assert [a["func"] for a in actions] == ["alert"]
    assert "already has a sheet 'Summary' that ces-xl did not write" in actions[0]["args"][0]


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_every_bad_workbook_case_gets_the_same_message_from_the_button(tmp_path, name):
    """The CLI's bad-input matrix through the button: the same message in one box, nothing written."""
    sheets, words = ERROR_CASES[name]
    book = remote_book(make_workbook(tmp_path / "in.xlsx", sheets))
    assert button.run(book) is None
    actions = book.json()["actions"]
    assert [a["func"] for a in actions] == ["alert"], name
    for word in words:
        assert word in actions[0]["args"][0], (word, actions[0]["args"][0])
