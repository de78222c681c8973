"""Make the example workbooks that the README's examples read.

    python examples/make_examples.py          # (re)writes the .xlsx files beside this script

tests/test_readme.py checks that the committed files hold what this script makes (cell by
cell), and runs every README example on a fresh copy of this folder. One sheet is ces_xl's own
output (monthly.xlsx's History, from scoring October's book), so run it with ces_xl installed,
and again after a change to the scoring.
"""
from __future__ import annotations

import datetime as _dt
import sys
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
_FIXED_TIME = _dt.datetime(2026, 1, 1)
_BOLD = Font(bold=True)

# Seed 001's table: 10 website visits x 1 + 5 email clicks x 2 + 2 purchases x 5 = 30.
SEED001 = {
    "Activity": [["Customer", "Website Visit", "Email Click", "Purchase"],
                 ["C-1", 10, 5, 2]],
    "Weights": [["Metric", "Weight"],
                ["Website Visit", 1], ["Email Click", 2], ["Purchase", 5]],
}

# The same, with a misspelt metric in Weights (Weights!A3 says "Email Clicks").
BAD_NAME = {
    "Activity": SEED001["Activity"],
    "Weights": [["Metric", "Weight"],
                ["Website Visit", 1], ["Email Clicks", 2], ["Purchase", 5]],
}

# Five mistakes in one workbook: one run reports them all.
MISTAKES = {
    "Activity": [["Customer", "Website Visit", "Email Click", "Purchase"],
                 ["C-1", 10, 5, 2],
                 ["C-2", "ten", 1, "n/a"],   # a count typed as a word; "n/a" with no Blank values
                 ["C-1", 1, 1, 1]],          # C-1 twice
    "Weights": [["Metric", "Weight"],
                ["Website Visit", 1], ["Email Click", "lots"], ["Purchase", 5]],
    "Settings": [["Setting", "Value"],
                 ["Method", "indx"]],
}

# A CRM's "accounts activity" report as it comes out of the export button: two title rows
# above the header, the account name first and its ID second, an owner and a segment, "n/a"
# where the CRM had no data, and a grand total at the bottom.
CRM_HEADER = ["Account Name", "Account ID", "Owner", "Segment",
              "Web Visits", "Orders", "Email Clicks", "Support Cases"]
CRM_ROWS = [
    # name, id, owner, segment, web visits, orders, email clicks, support cases
    ["Acme Outfitters", "A-1001", "Dana Reyes", "Enterprise", 42, 6, 11, 2],
    ["Blue Harbor Supply", "A-1002", "Sam Okafor", "Mid-market", 3, 0, 1, 0],
    ["Cedar Labs", "A-1003", "Dana Reyes", "SMB", 18, 3, "n/a", 1],
    ["Delta Trading", "A-1004", "Lee Chen", "Mid-market", 30, 3, 10, 3],
    ["Evergreen Home", "A-1005", "Sam Okafor", "SMB", 0, 0, 0, 0],
    ["Falcon Works", "A-1006", "Lee Chen", "Enterprise", 20, 4, 6, 2],
    ["Granite Market", "A-1007", "Dana Reyes", "SMB", 2, 4, 0, "n/a"],
    ["Indigo Studio", "A-1008", "Sam Okafor", "Mid-market", 12, 3, 4, 0],
    ["Juniper Goods", "A-1009", "Lee Chen", "Enterprise", 55, 9, 14, 1],
    ["Keystone Co.", "A-1010", "Dana Reyes", "SMB", "n/a", 1, 0, 0],
    ["Lumen Supply", "A-1011", "Sam Okafor", "Mid-market", 20, 3, 8, 2],
    ["Maple Outfitters", "A-1012", "Lee Chen", "SMB", 9, 2, 3, 1],
    ["Northwind Home", "A-1013", "Dana Reyes", "Enterprise", 24, 4, 7, 1],
    ["Orchid Market", "A-1014", "Sam Okafor", "SMB", 15, 2, 5, 0],
]
CRM_WEIGHTS = [
    # Seed 000's weights for the four kinds of activity this CRM exports; the targets are
    # what a well-engaged account does in a month.
    ["Metric", "Weight", "Target", "Description"],
    ["Web Visits", 0.2, 30, "Sessions on the website in the month"],
    ["Orders", 0.3, 6, "Orders placed in the month"],
    ["Email Clicks", 0.15, 10, "Marketing emails clicked in the month"],
    ["Support Cases", 0.05, 4, "Support cases opened in the month"],
]
CRM_SETTINGS = [
    ["Setting", "Value"],
    ["ID column", "Account ID"],
    ["Blank values", "n/a"],
    ["Period", "November 2026"],
    ["As of", _dt.date(2026, 11, 30)],
]


def crm_export() -> dict[str, list[list]]:
    # The total's label is in the ID column: ces-xl knows a totals row by its ID cell.
    totals = [None, "Grand Total", None, None] + [
        sum(r[c] for r in CRM_ROWS if isinstance(r[c], (int, float))) for c in range(4, 8)]
    activity = [["Accounts activity report"], ["Exported from the CRM on 2026-12-01"],
                CRM_HEADER, *CRM_ROWS, totals]
    return {"Activity": activity, "Weights": CRM_WEIGHTS, "Settings": CRM_SETTINGS}


# A dated log instead of counts: one row per event, scored as of 31 December 2026 with a
# 90-day window and a 30-day half-life, and the two month-ends before recomputed (History 2).
# C-1's events are 0, 30, 60 and 90 days old (and one is after the as-of date), so its score
# works out by hand in halves and quarters: Orders 1 + 2 x 0.5 = 2, Visits 1 + 4 x 0.25 = 2
# (the 90-day-old visits are outside the window), Email Clicks 1 x 0.5 = 0.5; 50 + 10 + 7.5 = 67.5.
# The dates come as a spreadsheet would hand them over: ISO text, date cells, a date-time.
_D = _dt.date
EVENTS = [
    ["Customer", "Event", "Date", "Count"],
    ["C-1", "Orders", "2026-12-31", 1],                        # ISO text
    ["C-1", "Orders", _D(2026, 12, 1), 2],                     # a date cell
    ["C-1", "Visits", _dt.datetime(2026, 12, 31, 14, 5), None],  # a date-time; a blank Count is 1
    ["C-1", "Visits", _D(2026, 11, 1), 4],
    ["C-1", "Visits", _D(2026, 10, 2), 3],                     # 90 days old: outside a 90-day window
    ["C-1", "Email Clicks", "2026-12-01", 1],
    ["C-1", "Email Clicks", "2027-01-04", 1],                  # after the as-of date: not counted
    ["C-2", "Orders", _D(2026, 11, 30), 2],                    # ordered at the end of November...
    ["C-2", "Visits", _D(2026, 11, 20), 6],
    ["C-2", "Visits", _D(2026, 12, 20), 3],                    # ...and has only visited since
    ["C-3", "Visits", _D(2026, 12, 28), None],                 # new in December
    ["C-3", "Email Clicks", "2026-12-15", 2],
]
EVENTS_WEIGHTS = [
    ["Metric", "Weight", "Target", "Description"],
    ["Visits", 0.2, 4, "Website sessions"],
    ["Orders", 0.5, 2, "Orders placed"],
    ["Email Clicks", 0.3, 2, "Marketing emails clicked"],
]
EVENTS_SETTINGS = [
    ["Setting", "Value"],
    ["As of", _D(2026, 12, 31)],
    ["Window", 90],
    ["Half-life", 30],
    ["History", 2],
    ["Every", "month"],
]

# The monthly cycle without events: a book scored in place each month. It holds November's
# counts (pasted over October's), As of 30 November, and the History sheet that October's run
# wrote, when Visits and Orders weighed 0.5 each; the weights have since been changed to
# 0.25 / 0.75, so November's changes split into From activity and From model.
MONTHLY_HEADER = ["Customer", "Visits", "Orders"]
MONTHLY_OCTOBER = [["C-1", 20, 1], ["C-2", 4, 2]]
MONTHLY_NOVEMBER = [["C-1", 16, 1], ["C-2", 6, 4], ["C-3", 10, 2]]


def monthly_weights(visits: float, orders: float) -> list[list]:
    return [["Metric", "Weight", "Target"], ["Visits", visits, 20], ["Orders", orders, 4]]


def monthly() -> dict[str, list[list]]:
    return {"Activity": [MONTHLY_HEADER, *MONTHLY_NOVEMBER], "Weights": monthly_weights(0.25, 0.75),
            "Settings": [["Setting", "Value"], ["As of", _D(2026, 11, 30)]],
            "History": october_history()}


def october_history() -> list[list]:
    """The History sheet as October's run wrote it: that book scored in place by ces_xl itself."""
    import ces_xl

    october = {"Activity": [MONTHLY_HEADER, *MONTHLY_OCTOBER], "Weights": monthly_weights(0.5, 0.5),
               "Settings": [["Setting", "Value"], ["As of", _D(2026, 10, 31)]]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "october.xlsx"
        write(path, october)
        ces_xl.score_workbook(path, in_place=True)
        rows = [list(row) for row in openpyxl.load_workbook(path)["History"].iter_rows(values_only=True)]
    return [[v.date() if isinstance(v, _dt.datetime) else v for v in row] for row in rows]


def renewals() -> dict[str, list[list]]:
    """200 subscription accounts at renewal time: logins, seats used and support tickets in the
    last quarter, and whether each account renewed. Renewal was drawn through a logistic link
    from seats (most), logins (some) and tickets (none), so the weights in force (logins and
    seats alike) can be bettered, and the Scenario column tries more weight on seats. Random
    numbers from Python's random.random(), whose sequence Python keeps from version to version."""
    import math
    import random

    rng = random.Random(7)
    rows = [["Account", "Logins", "Seats used", "Tickets", "Owner", "Renewed"]]
    for i in range(200):
        logins, seats, tickets = int(rng.random() * 30), int(rng.random() * 12), int(rng.random() * 6)
        drive = -3.0 + 5.0 * min(seats / 10, 1) + 1.5 * min(logins / 20, 1)
        renewed = rng.random() < 1 / (1 + math.exp(-drive))
        rows.append([f"R-{i + 1:03d}", logins, seats, tickets, ("Dana", "Lee", "Sam")[i % 3],
                     "yes" if renewed else "no"])
    return {
        "Activity": rows,
        "Weights": [["Metric", "Weight", "Target", "Direction", "Scenario"],
                    ["Logins", 0.4, 20, "higher", 0.2], ["Seats used", 0.4, 10, "higher", 0.7],
                    ["Tickets", 0.2, 5, "lower", 0.1]],
        "Settings": [["Setting", "Value"], ["Outcome column", "Renewed"], ["As of", _D(2026, 11, 30)]],
    }


def events_csv() -> str:
    """The same log as a CSV export, the form ``ces-xl score-events`` reads: customer_id, event,
    date (ISO text; a date-time with its time of day) and count (blank: 1)."""
    lines = ["customer_id,event,date,count"]
    for who, what, when, count in EVENTS[1:]:
        if isinstance(when, _dt.datetime):
            when = when.strftime("%Y-%m-%d %H:%M")
        elif isinstance(when, _dt.date):
            when = when.isoformat()
        lines.append(f"{who},{what},{when},{'' if count is None else count}")
    return "\n".join(lines) + "\n"


def examples() -> dict[str, dict[str, list[list]]]:
    """Each example file's name and its sheets (name -> rows of cell values, from A1)."""
    return {"seed001.xlsx": SEED001, "bad_name.xlsx": BAD_NAME, "mistakes.xlsx": MISTAKES,
            "crm_export.xlsx": crm_export(),
            "events.xlsx": {"Events": EVENTS, "Weights": EVENTS_WEIGHTS, "Settings": EVENTS_SETTINGS},
            "monthly.xlsx": monthly(), "renewals.xlsx": renewals()}


def write(path: Path, sheets: dict[str, list[list]]) -> None:
    """One workbook: the rows as given, the header row (the first with more than one value)
    in bold, columns wide enough for their values; dates shown as 2026-12-01, date-times as
    2026-12-31 14:05."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    book.properties.created = book.properties.modified = _FIXED_TIME
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, _dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, _dt.date):
                    cell.number_format = "yyyy-mm-dd"
        header = next(r for r, row in enumerate(rows, 1) if sum(v is not None for v in row) > 1)
        for cell in ws[header]:
            cell.font = _BOLD
        for c in range(1, ws.max_column + 1):
            longest = max(len(str(row[c - 1])) for row in rows[header - 1:] if len(row) >= c)
            ws.column_dimensions[get_column_letter(c)].width = max(8, longest + 2)
    book.save(path)


def main(folder: Path = HERE) -> None:
    for name, sheets in examples().items():
        write(folder / name, sheets)
        print(f"Wrote {folder / name}")
    (folder / "events.csv").write_text(events_csv(), encoding="utf-8", newline="")
    print(f"Wrote {folder / 'events.csv'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
