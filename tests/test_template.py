"""The bundled template: what the generator makes, what the seeds say, and the committed copy."""
from __future__ import annotations

import openpyxl

from ces_xl.xlsx.template import build_template

from .conftest import REPO, run_cli

TEMPLATE = REPO / "workbook" / "CES_Template.xlsx"


def content(book: openpyxl.Workbook) -> dict:
    """Everything a user sees: sheet order, every cell's value and number format, fonts of
    headers, column widths and frozen panes."""
    out = {}
    for ws in book.worksheets:
        cells = {c.coordinate: (c.value, c.number_format, c.font.b)
                 for row in ws.iter_rows() for c in row if c.value is not None}
        widths = {k: v.width for k, v in ws.column_dimensions.items()}
        out[ws.title] = (cells, widths, ws.freeze_panes)
    return out


def test_committed_template_equals_the_generator(tmp_path):
    fresh = tmp_path / "fresh.xlsx"
    build_template().save(fresh)
    assert content(openpyxl.load_workbook(TEMPLATE)) == content(openpyxl.load_workbook(fresh)), (
        "workbook/CES_Template.xlsx is stale: regenerate it with "
        "'ces-xl template workbook/CES_Template.xlsx --force'")


def test_template_follows_the_seeds():
    book = openpyxl.load_workbook(TEMPLATE)
    assert book.sheetnames == ["Instructions", "Activity", "Weights", "Bands", "Settings"]
    weights = [tuple(c.value for c in row) for row in book["Weights"].iter_rows(min_row=2)]
    # Seed 000's seven metrics and weights (they add up to 1).
    assert [(w[0], w[1]) for w in weights] == [
        ("Website Interactions", 0.2), ("Purchase Frequency", 0.3), ("Social Media Interactions", 0.1),
        ("Email Engagement", 0.15), ("Product Reviews", 0.1), ("Customer Support Interactions", 0.05),
        ("Loyalty Program Participation", 0.1)]
    assert all(w[2] > 0 and w[5] for w in weights)  # a target and a description each
    bands = [tuple(c.value for c in row) for row in book["Bands"].iter_rows(min_row=2)]
    assert bands == [("Very disengaged", 0, 40), ("Somewhat engaged", 41, 75), ("Very engaged", 76, 100)]
    activity = list(book["Activity"].iter_rows(values_only=True))
    header, rows = activity[0], activity[1:]
    assert len(rows) >= 50
    assert header[0] == "Customer ID" and "Segment" in header
    assert all(name in header for name, *_ in weights)
    assert len({r[0] for r in rows}) == len(rows)
    assert len({r[header.index("Segment")] for r in rows}) == 3
    settings = dict(list(book["Settings"].iter_rows(min_row=2, values_only=True, max_col=2)))
    assert settings["Method"] == "index" and settings["Missing values"] == "zero"


def test_template_command(tmp_path):
    path = tmp_path / "mine.xlsx"
    done = run_cli("template", path)
    assert done.returncode == 0 and path.exists()
    again = run_cli("template", path)
    assert again.returncode == 4 and "--force" in again.stderr
    assert run_cli("template", path, "--force").returncode == 0
    assert run_cli("template", tmp_path / "mine.csv").returncode == 1


def test_libreoffice_opens_the_template(tmp_path, soffice):
    from .conftest import libreoffice_export

    sheets = libreoffice_export(soffice, TEMPLATE, tmp_path / "lo")
    assert set(sheets) == {"Instructions", "Activity", "Weights", "Bands", "Settings"}
    assert len(sheets["Activity"]) == 61 and sheets["Weights"][1][:2] == ["Website Interactions", "0.2"]


def test_template_fonts_have_their_children_in_the_schema_order(tmp_path):
    # openpyxl writes a font's children in its own order (name, family, color, sz, ...); Excel's,
    # which the Open XML SDK's validator requires, is FONT_ORDER. Checked here without the
    # validator (tests/test_ooxml.py runs it).
    import re
    import zipfile

    from ces_xl.xlsx.styles import FONT_ORDER

    fresh = tmp_path / "fresh.xlsx"
    build_template().save(fresh)
    for path in (TEMPLATE, fresh):
        with zipfile.ZipFile(path) as package:
            styles = package.read("xl/styles.xml").decode()
        fonts = re.findall(r"<font>(.*?)</font>", styles)
        assert fonts, path
        for font in fonts:
            names = re.findall(r"<(\w+)", font)
            assert names == sorted(names, key=FONT_ORDER.index), (path.name, font)
