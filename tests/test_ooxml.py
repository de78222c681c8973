"""Excel strictness: Microsoft's Open XML SDK validator (see tests/ooxml.py) on every kind of
package ces-xl writes. The template must have no error at all; a scored book, a re-run, a macro
book, a book LibreOffice saved and the add-in must have no error their input did not already
have. Every file is made first and validated in one Node process (starting it costs seconds)."""
from __future__ import annotations

import re
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ces_xl.addin import template_path
from ces_xl.xlsx.template import build_template

from .conftest import REPO, SEED_001, _soffice, libreoffice_resave, make_workbook, run_cli
from .ooxml import new_errors, ooxml_validator, with_ribbon_the_sdk_opens  # noqa: F401 (a fixture)
from .test_macros import macro_workbook

TEMPLATE = REPO / "workbook" / "CES_Template.xlsx"

# Every child a <font> may have, in the reverse of the order the SDK requires: the scored book's
# fonts, made from this one, must come out in the right order whatever the input's order.
REVERSED_FONT = ('<font><scheme val="minor"/><charset val="0"/><family val="2"/><name val="Calibri"/>'
                 '<color theme="1"/><sz val="11"/><vertAlign val="baseline"/><u val="single"/><shadow val="0"/>'
                 '<outline val="0"/><extend val="0"/><condense val="0"/><strike val="0"/><i val="0"/><b val="0"/>'
                 '</font>')

# case -> (input, output); inputs and outputs are validated together.
CASES = {
    "template scored": ("template", "template-scored"),
    "hand-made book scored": ("book", "book-scored"),
    "book whose first font has every child, reversed, scored": ("reversed-font", "reversed-font-scored"),
    "scored book scored again in place": ("template-scored", "rerun"),
    "annotated book scored again (carried column, Kept notes)": ("annotated", "annotated-scored"),
    "events with a history scored (History sheet, line chart, change columns)": ("events", "events-scored"),
    "nobody to call scored (an Actions sheet of a header alone, no table)": ("calm", "calm-scored"),
    "outcomes and a scenario scored (AUC, rates, lift chart, Scenario sheet)": ("outcomes", "outcomes-scored"),
    "live formulas with blanks left out (formulas giving text, and no data)": ("live", "live-scored"),
    "xlsm scored (as is: the SDK cannot open its ribbon)": ("xlsm", "xlsm-scored"),
    "xlsm scored (ribbon relationship the SDK opens)": ("xlsm*", "xlsm-scored*"),
    "add-in built from xlwings' (as is: the SDK cannot open its ribbon)": ("xlwings-addin", "addin"),
    "add-in built from xlwings' (ribbon relationship the SDK opens)": ("xlwings-addin*", "addin*"),
}


def _with_first_font(source: Path, font: str, out: Path) -> Path:
    with zipfile.ZipFile(source) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "xl/styles.xml":
                data = re.sub(rb"<font>.*?</font>", font.encode(), data, count=1, flags=re.S)
            target.writestr(info.filename, data)
    return out


def _events_book(out: Path) -> Path:
    import datetime as dt

    events = [["Customer", "Event", "Date"]] + [[f"C-{i % 7}", ("Website Visit", "Purchase")[i % 2],
                                                 dt.date(2026, 11, 30) - dt.timedelta(days=3 * i)] for i in range(60)]
    settings = [["As of", dt.date(2026, 11, 30)], ["Window", 90], ["Half-life", 30], ["History", 3]]
    return make_workbook(out, {"Events": events, "Weights": SEED_001["Weights"], "Settings": settings})


def _annotated(scored: Path, out: Path) -> Path:
    """A scored book as an analyst leaves it: a column typed beside the results, and a customer
    gone from Activity (whose note goes to Kept notes on the next run)."""
    import openpyxl

    book = openpyxl.load_workbook(scored)
    ws = book["Scores"]
    col = ws.max_column + 1
    ws.cell(row=1, column=col, value="Called?")
    for row in range(2, ws.max_row + 1):
        ws.cell(row=row, column=col, value="yes" if row % 2 else None)
    book["Activity"].delete_rows(3)
    book.save(out)
    return out


@pytest.fixture(scope="module")
def checked(tmp_path_factory, ooxml_validator):
    """name -> (the file, its validator errors) for every file of CASES and the templates;
    name -> CLI error for files the CLI failed to make."""
    d = tmp_path_factory.mktemp("ooxml")
    files = {"template": TEMPLATE, "xlwings-addin": Path(template_path())}
    failed = {}

    def cli(name: str, out: Path, *args) -> None:
        done = run_cli(*args)
        if done.returncode == 0 and out.exists():
            files[name] = out
        else:
            failed[name] = f"ces-xl {' '.join(map(str, args))} failed ({done.returncode}): {done.stderr}"

    build_template().save(d / "fresh-template.xlsx")
    files["fresh template"] = d / "fresh-template.xlsx"
    files["book"] = make_workbook(d / "book.xlsx", SEED_001)
    files["reversed-font"] = _with_first_font(files["book"], REVERSED_FONT, d / "reversed-font.xlsx")
    files["xlsm"] = macro_workbook(d)
    files["events"] = _events_book(d / "events.xlsx")
    files["outcomes"] = make_workbook(d / "outcomes.xlsx", {
        "Activity": [["Customer", "Visits", "Orders", "Outcome"]]
        + [[f"C-{i}", i % 7, i % 4, "yes" if i % 3 else "no"] for i in range(30)],
        "Weights": [["Metric", "Weight", "Scenario"], ["Visits", 1, 3], ["Orders", 10, 2]]})
    files["live"] = make_workbook(d / "live.xlsx", {
        "Activity": [["Customer", "Visits", "Orders"], ["C-1", 3, None], ["C-2", None, None], ["C-3", 9, 2]],
        "Weights": [["Metric", "Weight", "Target", "Normalization"], ["Visits", 1, 10, "log"], ["Orders", 2, 3, "cap"]],
        "Bands": [["Band", "From", "To"], ["Low", 0, 50], ["High", 50.5, 100]],
        "Settings": [["Setting", "Value"], ["Missing values", "exclude"], ["Formulas", "live"]]})
    files["calm"] = make_workbook(d / "calm.xlsx", {"Activity": [["Customer", "Visits"], ["C-1", 50], ["C-2", 60]],
                                                    "Weights": [["Metric", "Weight"], ["Visits", 1]]})

    def score(name: str) -> None:
        out = d / f"{name}-scored{files[name].suffix}"
        cli(f"{name}-scored", out, "score", files[name], "-o", out, "-q")

    def score_and_rerun() -> None:
        score("template")
        if "template-scored" in files:
            rerun = Path(shutil.copy(files["template-scored"], d / "rerun.xlsx"))
            cli("rerun", rerun, "score", rerun, "--in-place", "-q")
            files["annotated"] = _annotated(files["template-scored"], d / "annotated.xlsx")
            score("annotated")

    def libreoffice() -> None:
        if (exe := _soffice()) is not None:  # else its test skips (or fails under CI)
            files["libreoffice"] = libreoffice_resave(exe, TEMPLATE, d / "lo")
            score("libreoffice")

    # Each a subprocess: run side by side.
    jobs = [score_and_rerun, libreoffice, lambda: cli("addin", d / "addin" / "ces_xl.xlam", "addin", "build",
                                                      "-o", d / "addin")]
    jobs += [lambda name=name: score(name) for name in ("book", "reversed-font", "xlsm", "events", "calm", "outcomes",
                                                        "live")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for job in [pool.submit(job) for job in jobs]:
            job.result()
    for name in ("xlsm", "xlsm-scored", "xlwings-addin", "addin"):
        if name in files:
            path = files[name]
            files[name + "*"] = with_ribbon_the_sdk_opens(path, d / f"{name}-sdk-ribbon{path.suffix}")

    errors = ooxml_validator(files.values())
    return {name: (path, errors[path]) for name, path in files.items()}, failed


def _compare(checked, before: str, after: str) -> None:
    results, failed = checked
    for name in (before, after):
        assert name in results, failed.get(name.rstrip("*"), f"{name} was not made")
    (source, old), (out, new) = results[before], results[after]
    added = new_errors(old, new)
    assert not added, (f"{out.name} has validator errors that {source.name} did not have:\n  "
                       + "\n  ".join(added))


@pytest.mark.parametrize("name", ["template", "fresh template"])
def test_the_template_has_no_validator_errors(checked, name):
    path, errors = checked[0][name]
    assert errors == [], f"{path.name}:\n  " + "\n  ".join(errors)


@pytest.mark.parametrize("case", CASES)
def test_writing_adds_no_validator_errors(checked, case):
    _compare(checked, *CASES[case])


def test_scoring_a_book_libreoffice_saved_adds_no_validator_errors(checked, soffice):
    _compare(checked, "libreoffice", "libreoffice-scored")
