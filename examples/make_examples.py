"""Make the example workbooks that the README's examples read.

    python examples/make_examples.py          # (re)writes the .xlsx files beside this script

tests/test_readme.py checks that the committed files hold what this script makes (cell by
cell), and runs every README example on a fresh copy of this folder.
"""
from __future__ import annotations

import datetime as _dt
import sys
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
]


def crm_export() -> dict[str, list[list]]:
    # The total's label is in the ID column: ces-xl knows a totals row by its ID cell.
    totals = [None, "Grand Total", None, None] + [
        sum(r[c] for r in CRM_ROWS if isinstance(r[c], (int, float))) for c in range(4, 8)]
    activity = [["Accounts activity report"], ["Exported from the CRM on 2026-12-01"],
                CRM_HEADER, *CRM_ROWS, totals]
    return {"Activity": activity, "Weights": CRM_WEIGHTS, "Settings": CRM_SETTINGS}


def examples() -> dict[str, dict[str, list[list]]]:
    """Each example file's name and its sheets (name -> rows of cell values, from A1)."""
    return {"seed001.xlsx": SEED001, "bad_name.xlsx": BAD_NAME, "mistakes.xlsx": MISTAKES,
            "crm_export.xlsx": crm_export()}


def write(path: Path, sheets: dict[str, list[list]]) -> None:
    """One workbook: the rows as given, the header row (the first with more than one value)
    in bold, columns wide enough for their values."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    book.properties.created = book.properties.modified = _FIXED_TIME
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
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


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
