"""The Actions sheet and the model card (SPEC "Actions: who to call, and what it would take").

A hand-built book scored in place two months running, the sum method (Visits x 1 + Orders x 10)
and the default bands (up to 40, above 40 to 75, above 75), so every score, change and action
below is arithmetic on the counts in the test."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pytest

import ces_xl

from .conftest import libreoffice_export, make_workbook, run_cli

WEIGHTS = [["Metric", "Weight"], ["Visits", 1], ["Orders", 10]]
OCTOBER = {  # customer: (visits, orders, segment, owner); score = visits + 10 x orders
    "A": (5, 1, "Paid", "Dana"),    # 15
    "B": (30, 5, "Paid", "Eli"),    # 80
    "C": (20, 5, "Paid", "Dana"),   # 70
    "D": (10, 5, "Paid", "Eli"),    # 60
    "E": (30, 5, "Paid", "Fay"),    # 80
    "F": (40, 5, "Paid", "Fay"),    # 90
    "G": (20, 6, "Trial", "Gus"),   # 80
    "H": (10, 4, "Trial", "Gus"),   # 50
}
NOVEMBER = {
    "A": (6, 1, "Paid", "Dana"),    # 16: the lowest band (+1)
    "B": (25, 3, "Paid", "Eli"),    # 55: down a band (Very engaged to Somewhat engaged), -25
    "C": (8, 5, "Paid", "Dana"),    # 58: -12, a drop past the alert (10), same band
    "D": (5, 5, "Paid", "Eli"),     # 55: -5, nothing to do
    "E": (33, 5, "Paid", "Fay"),    # 83: top band, +3: upsell
    "F": (36, 5, "Paid", "Fay"),    # 86: top band but falling (-4): nothing to do
    "G": (30, 6, "Trial", "Gus"),   # 90: a trial at or above 76: convert (before upsell)
    "H": (10, 5, "Trial", "Gus"),   # 60: a trial below 76: nothing to do
}


def month(path: Path, as_of: dt.date, counts: dict, settings: list | None = None) -> Path:
    """This month's counts pasted over Activity (the results and History sheets kept)."""
    sheets = {"Activity": [["Customer", "Visits", "Orders", "Segment", "Owner"]]
              + [[c, *values] for c, values in counts.items()],
              "Weights": WEIGHTS, "Settings": [["As of", as_of], *(settings or [])]}
    if not path.exists():
        return make_workbook(path, sheets)
    book = openpyxl.load_workbook(path)
    for position, (name, rows) in enumerate(sheets.items()):
        del book[name]
        ws = book.create_sheet(name, position)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def two_months(tmp_path: Path, settings: list | None = None) -> ces_xl.ScoreResult:
    book = tmp_path / "book.xlsx"
    month(book, dt.date(2026, 10, 31), OCTOBER, settings)
    ces_xl.score_workbook(book, in_place=True)
    month(book, dt.date(2026, 11, 30), NOVEMBER, settings)
    return ces_xl.score_workbook(book, in_place=True)


def sheet_rows(path: Path, name: str) -> list[dict]:
    values = list(openpyxl.load_workbook(path)[name].iter_rows(values_only=True))
    return [dict(zip(values[0], row)) for row in values[1:]]


def test_each_action_its_priority_and_the_order(tmp_path):
    result = two_months(tmp_path)
    rows = sheet_rows(tmp_path / "book.xlsx", "Actions")
    # High: those who fell, the largest drop first (B -25, C -12); Medium: Re-engage (A, lowest
    # band), then Convert trial (G); Low: Upsell (E). D, F and H need none.
    assert [(r["Customer"], r["Action"], r["Priority"]) for r in rows] == [
        ("B", "Re-engage", "High"), ("C", "Re-engage", "High"), ("A", "Re-engage", "Medium"),
        ("G", "Convert trial", "Medium"), ("E", "Upsell", "Low")]
    assert list(rows[0]) == ["Customer", "Action", "Priority", "Why", "Score", "Band", "Change", "To next band",
                             "Fastest lift", "Segment", "Owner"]
    by_id = {r["Customer"]: r for r in rows}
    assert by_id["B"]["Why"] == ("Score 55 (Somewhat engaged), down 25 since 2026-10-31 (was Very engaged); "
                                 "Orders -20 points")
    assert by_id["C"]["Why"] == "Score 58 (Somewhat engaged), down 12 since 2026-10-31; Visits -12 points"
    # A: 16 points; 3 orders more give 46 (2 give 36): what it would take.
    assert by_id["A"]["Why"] == ("Score 16 (Very disengaged), up 1 since 2026-10-31; +3 Orders would take it to "
                                 "Somewhat engaged")
    assert (by_id["A"]["To next band"], by_id["A"]["Fastest lift"]) == (24, "+3 Orders")
    assert by_id["G"]["Why"] == "Score 90 (Very engaged), up 10 since 2026-10-31; a Trial customer at or above 76 (Trial ready)"
    assert by_id["E"]["Why"] == "Score 83 (Very engaged), up 3 since 2026-10-31; top driver Orders"
    assert (by_id["B"]["Score"], by_id["B"]["Band"], by_id["B"]["Change"], by_id["B"]["Owner"]) == (
        55, "Somewhat engaged", -25, "Eli")
    assert by_id["G"]["Segment"] == "Trial" and by_id["E"]["To next band"] is None
    assert result.actions["Customer"].tolist() == [r["Customer"] for r in rows]
    # An Excel table with filters, so a team can take its own rows.
    ws = openpyxl.load_workbook(tmp_path / "book.xlsx")["Actions"]
    (table,) = ws.tables.values()
    assert table.ref == "A1:K6" and table.autoFilter is not None


def test_the_settings_thresholds(tmp_path):
    settings = [["Drop alert", 4], ["Trial segment", "trial"], ["Trial ready", 55]]
    result = two_months(tmp_path, settings)
    actions = result.actions
    # Drop alert 4: D (-5) and F (-4, in the top band) now call for Re-engage; Trial ready 55:
    # H (60) is ready to convert, after G (90); the segment matches in any case.
    assert list(zip(actions["Customer"], actions["Action"], actions["Priority"])) == [
        ("B", "Re-engage", "High"), ("C", "Re-engage", "High"), ("D", "Re-engage", "High"),
        ("F", "Re-engage", "High"), ("A", "Re-engage", "Medium"), ("G", "Convert trial", "Medium"),
        ("H", "Convert trial", "Medium"), ("E", "Upsell", "Low")]
    card = result.card
    assert (card["Drop alert"], card["Trial segment"], card["Trial ready"]) == (4, "trial", 55)


def test_without_history_the_lowest_band_and_the_top_band(tmp_path):
    book = month(tmp_path / "b.xlsx", dt.date(2026, 11, 30), NOVEMBER)
    result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    actions = result.actions
    # No change yet: the lowest band (A) to re-engage, the top band to upsell, highest first
    # (G is a trial at 90: convert); nothing is "falling".
    assert list(zip(actions["Customer"], actions["Action"])) == [
        ("A", "Re-engage"), ("G", "Convert trial"), ("F", "Upsell"), ("E", "Upsell")]
    assert actions["Change"].isna().all()
    assert actions["Why"].iloc[0] == "Score 16 (Very disengaged); +3 Orders would take it to Somewhat engaged"


def test_bad_action_settings_name_their_cells(tmp_path):
    settings = [["Drop alert", "big"], ["Trial ready", "soon"]]
    book = month(tmp_path / "b.xlsx", dt.date(2026, 11, 30), NOVEMBER, settings)
    before = book.read_bytes()
    done = run_cli("score", book, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("ces-xl: error: Settings!B2: the drop alert 'big' is not a number of points")
    assert lines[1].startswith("ces-xl: error: Settings!B3: Trial ready 'soon' is not a score")
    assert not (tmp_path / "out.xlsx").exists() and book.read_bytes() == before


def test_an_actions_sheet_of_the_analysts_own_is_not_replaced(tmp_path):
    book = make_workbook(tmp_path / "b.xlsx", {"Activity": [["Customer", "Visits"], ["C-1", 3]],
                                               "Weights": [["Metric", "Weight"], ["Visits", 1]],
                                               "Actions": [["Who", "What"], ["Dana", "call C-1"]]})
    done = run_cli("score", book, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 1 and "already has a sheet 'Actions' that ces-xl did not write" in done.stderr
    assert not (tmp_path / "out.xlsx").exists()


# --- the model card and the fingerprint ----------------------------------------------------------

MODEL = {"Weights": [["Metric", "Weight", "Target", "Normalization", "Direction"],
                     ["Visits", 2, 10, "cap", "higher"], ["Orders", 3, 5, "log", "higher"],
                     ["Tickets", 1, 4, "cap", "lower"]],
         "Bands": [["Band", "From", "To"], ["Low", 0, 40], ["Mid", 41, 75], ["High", 76, 100]]}
EVENTS = [["Customer", "Event", "Date"], ["C-1", "Visits", dt.date(2026, 11, 2)],
          ["C-2", "Orders", dt.date(2026, 11, 20)], ["C-2", "Tickets", dt.date(2026, 10, 1)]]
SETTINGS = [["Setting", "Value"], ["Method", "index"], ["Missing values", "zero"], ["Window", 90],
            ["Half-life", 30], ["As of", dt.date(2026, 11, 30)], ["Period", "November"]]


def fingerprint(tmp_path: Path, name: str = "b.xlsx", **changes) -> str:
    sheets = {"Events": EVENTS, **MODEL, "Settings": SETTINGS} | changes
    book = make_workbook(tmp_path / name, sheets)
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.xlsx"
    return ces_xl.score_workbook(book, out).card["Model fingerprint"]


def edited(rows: list, r: int, c: int, value) -> list:
    rows = [list(row) for row in rows]
    rows[r][c] = value
    return rows


def test_the_fingerprint_changes_with_each_thing_that_changes_a_score_and_nothing_else(tmp_path):
    base = fingerprint(tmp_path)
    assert len(base) == 12 and int(base, 16) >= 0
    assert fingerprint(tmp_path) == base  # stable across runs
    w = MODEL["Weights"]
    changes = {
        "a weight": {"Weights": edited(w, 1, 1, 2.5)},
        "a target": {"Weights": edited(w, 1, 2, 11)},
        "a normalization": {"Weights": edited(w, 2, 3, "cap")},
        "a direction": {"Weights": edited(w, 3, 4, "higher")},
        "a band": {"Bands": edited(MODEL["Bands"], 2, 2, 70)},
        "the method": {"Settings": edited(SETTINGS, 1, 1, "sum")},
        "the missing-value policy": {"Settings": edited(SETTINGS, 2, 1, "exclude")},
        "the window": {"Settings": edited(SETTINGS, 3, 1, 60)},
        "the half-life": {"Settings": edited(SETTINGS, 4, 1, 14)},
    }
    seen = {base}
    for what, change in changes.items():
        print_ = fingerprint(tmp_path, **change)
        assert print_ not in seen, what
        seen.add(print_)
    same = {
        "the as-of date": {"Settings": edited(SETTINGS, 5, 1, dt.date(2026, 12, 15))},
        "the data": {"Events": EVENTS + [["C-3", "Visits", dt.date(2026, 11, 29)]]},
        "the order of the settings": {"Settings": [SETTINGS[0], *SETTINGS[:0:-1]]},
        "an unrelated setting": {"Settings": SETTINGS + [["Drop alert", 3], ["Trial segment", "Pilot"]]},
    }
    for what, change in same.items():
        assert fingerprint(tmp_path, **change) == base, what
    assert fingerprint(tmp_path, name="renamed.xlsx") == base


def test_the_model_card_on_the_summary(tmp_path):
    book = make_workbook(tmp_path / "november.xlsx", {"Events": EVENTS, **MODEL, "Settings": SETTINGS})
    result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    rows = list(openpyxl.load_workbook(tmp_path / "out.xlsx")["Summary"].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r[0] == "Model card")
    card = {}
    for row in rows[at + 2:]:
        if row[0] is None:
            break
        card[row[0]] = row[1]
    assert card["Model fingerprint"] == result.model.fingerprint()
    assert card["ces_xl version"] == ces_xl.__version__
    assert (card["As of"], card["Input file"]) == ("2026-11-30", "november.xlsx")
    assert (card["Method"], card["Missing values"], card["Window (days)"], card["Half-life (days)"]) == (
        "index", "zero", 90, 30)
    assert (card["Drop alert"], card["Trial segment"], card["Trial ready"]) == (10, "Trial", 76)


def test_the_button_writes_the_actions_and_the_card(tmp_path):
    pytest.importorskip("xlwings")
    from .test_button import pressed_and_headless

    book = month(tmp_path / "b.xlsx", dt.date(2026, 11, 30), NOVEMBER)
    result, headless, names = pressed_and_headless(book, tmp_path / "out.xlsx")
    assert "Actions" in names
    assert result.actions.drop(columns="Why").equals(headless.actions.drop(columns="Why"))
    assert result.actions["Why"].tolist() == headless.actions["Why"].tolist()
    assert result.card["Input file"] == "b.xlsx" and result.card == headless.card


def test_libreoffice_reads_the_actions_and_the_new_columns_as_the_engine_wrote_them(tmp_path, soffice):
    result = two_months(tmp_path)
    sheets = libreoffice_export(soffice, tmp_path / "book.xlsx", tmp_path / "lo")
    header, *rows = sheets["Actions"]
    assert header == list(result.actions.columns)
    engine = result.actions
    assert [r[0] for r in rows] == engine["Customer"].tolist()
    assert [r[header.index("Why")] for r in rows] == engine["Why"].tolist()
    assert [float(r[header.index("Change")]) for r in rows] == engine["Change"].tolist()
    header, *rows = sheets["Scores"]
    lifts = {r[0]: (r[header.index("To next band")], r[header.index("Fastest lift")]) for r in rows}
    assert lifts["A"] == ("24", "+3 Orders") and lifts["E"] == ("", "")
    summary = sheets["Summary"]
    at = next(i for i, r in enumerate(summary) if r and r[0] == "Model card")
    assert summary[at + 2][:2] == ["Model fingerprint", result.model.fingerprint()]


def test_each_sentence_written_once_says_what_it_would_say_row_by_row(tmp_path):
    # Why is written once per distinct sentence (many customers share one); every row reads as
    # the sentence written for that row alone would.
    import pandas as pd

    from ces_xl.core import actions
    from ces_xl.core.bands import band_index

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"ID": [f"C{i}" for i in range(3000)], "Visits": rng.poisson(20, 3000),
                          "Orders": rng.poisson(3, 3000), "Segment": rng.choice(["Trial", "Paid"], 3000)})
    model = ces_xl.Model([ces_xl.Metric("Visits", 1, target=40), ces_xl.Metric("Orders", 2, target=6)])
    for result in (ces_xl.score(frame, model), two_months(tmp_path)):
        scores = result.scores
        position = {c: i for i, c in enumerate(scores.iloc[:, 0])}
        order = np.array([position[c] for c in result.actions.iloc[:, 0]])
        kind = result.actions["Action"].cat.codes.to_numpy()
        where = band_index(scores["Score"].to_numpy(), result.model.bands)
        change = scores["Change"].to_numpy() if "Change" in scores else np.full(len(scores), np.nan)
        assert actions._sentences(result, order, kind, where, change).tolist() == result.actions["Why"].tolist()
        assert len(set(result.actions["Why"])) < len(result.actions) or len(result.actions) < 10


def test_scoring_alone_leaves_out_what_it_would_take():
    import pandas as pd

    frame = pd.DataFrame({"ID": ["C-1", "C-2"], "Visits": [3, 50]})
    model = ces_xl.Model([ces_xl.Metric("Visits", 1)])
    both, alone = ces_xl.score(frame, model), ces_xl.score(frame, model, actions=False)
    assert alone.actions is None and alone.lift is None
    assert list(alone.scores.columns) == [c for c in both.scores.columns if c not in ("To next band", "Fastest lift")]
    assert alone.scores["Score"].tolist() == both.scores["Score"].tolist() == [3, 50]
    with pytest.raises(ces_xl.InputError, match="actions must be True or False"):
        ces_xl.score(frame, model, actions="no")


def test_notes_typed_beside_the_call_list_are_carried_and_never_lost(tmp_path):
    book = tmp_path / "book.xlsx"
    month(book, dt.date(2026, 10, 31), OCTOBER)
    ces_xl.score_workbook(book, in_place=True)
    # October's list: A (lowest band) to re-engage; B, E, F upsell; G a trial to convert.
    typed = openpyxl.load_workbook(book)
    ws = typed["Actions"]
    header = [c.value for c in ws[1]]
    ws.cell(row=1, column=len(header) + 1, value="Called?")
    for row in ws.iter_rows(min_row=2):
        customer = row[0].value
        ws.cell(row=row[0].row, column=len(header) + 1, value={"A": "left a message", "G": "demo booked"}.get(customer))
    typed.save(book)
    # November: G is no longer in the export; A is still to re-engage.
    month(book, dt.date(2026, 11, 30), {k: v for k, v in NOVEMBER.items() if k != "G"})
    result = ces_xl.score_workbook(book, in_place=True)
    actions = {r["Customer"]: r for r in sheet_rows(book, "Actions")}
    assert actions["A"]["Called?"] == "left a message"      # still on the list: the note is beside it
    assert "G" not in actions
    scores = {r["Customer"]: r for r in sheet_rows(book, "Scores")}
    assert scores["A"]["Called?"] == "left a message"       # and with the customer in Scores
    kept = list(openpyxl.load_workbook(book)["Kept notes"].iter_rows(values_only=True))
    assert ("G", "demo booked") in [tuple(r[:2]) for r in kept]  # G left: its note is kept aside
    assert any("no longer scored" in n for n in result.notes)
