"""The add-in's settings sheet: xlwings' hidden ``_<name>.conf`` sheet renamed to ``<name>.conf``
(which activates it) and text settings such as ``Interpreter_Win`` filled in."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

from ..errors import CESError
from ..xlsx.package import Package
from .vba import REINSTALL_FIX


def activate_config(package: Package, config: Mapping[str, str]) -> dict[str, bytes]:
    """The edited parts that rename ``_<project>.conf`` to ``<project>.conf`` (which activates
    it) and fill in the given text settings."""
    template = package.path
    conf = [(name, part) for name, part in package.sheet_parts().items()
            if name.startswith("_") and name.endswith(".conf")]
    if len(conf) != 1 or conf[0][1] not in package.names:
        raise CESError("xlwings' ribbon template has no '_<name>.conf' settings sheet", where=str(template),
                       fix=REINSTALL_FIX + ", or build without config")
    hidden_name, sheet_part = conf[0]
    active_name = hidden_name[1:]

    workbook = package.main_part()
    workbook_xml = package.read(workbook).decode("utf-8")
    needle = f'name="{hidden_name}"'
    if workbook_xml.count(needle) != 1:
        raise CESError(f"cannot find the sheet {hidden_name} in {workbook}", where=str(template), fix=REINSTALL_FIX)
    edits = {workbook: workbook_xml.replace(needle, f'name="{active_name}"').encode("utf-8")}

    sheet_xml = package.read(sheet_part).decode("utf-8")
    keys = _config_rows(sheet_xml, package.shared_strings())
    for key, value in config.items():
        row = keys.get(_norm(key))
        if row is None:
            raise CESError(f"unknown add-in setting {key!r}", where=f"{active_name} sheet",
                           fix="use one of: " + ", ".join(k for k, _ in keys.values()))
        label, number = row
        sheet_xml = _set_b_cell(sheet_xml, number, str(value), label, template)
    edits[sheet_part] = sheet_xml.encode("utf-8")
    return edits


def _norm(key: str) -> str:
    return " ".join(str(key).split()).casefold()


_ROW = re.compile(r'<row\b[^>]*\br="(\d+)"[^>]*>(.*?)</row>', re.S)
_A_CELL = re.compile(r'<c\b[^>]*\br="A(\d+)"[^>]*\bt="s"[^>]*>\s*<v>(\d+)</v>\s*</c>')


def _config_rows(sheet_xml: str, strings: list[str]) -> dict[str, tuple[str, int]]:
    """Normalized key -> (key as written, row number) for the column-A keys of the sheet."""
    rows = {}
    for match in _A_CELL.finditer(sheet_xml):
        index = int(match.group(2))
        if index < len(strings):
            rows[_norm(strings[index])] = (strings[index], int(match.group(1)))
    return rows


def _set_b_cell(sheet_xml: str, number: int, value: str, key: str, template: Path) -> str:
    """Put ``value`` as an inline string into B<number>, a cell the template leaves empty."""
    for row in _ROW.finditer(sheet_xml):
        if int(row.group(1)) != number:
            continue
        body = row.group(2)
        if re.search(rf'<c\b[^>]*\br="B{number}"', body):
            raise CESError(f"the setting {key!r} is not a text setting", where=f"B{number}",
                           fix="set it in Excel instead")
        a_cell = re.search(rf'<c\b[^>]*\br="A{number}"[^>]*(?:/>|>.*?</c>)', body, re.S)
        if not a_cell:
            break
        style = re.search(r'\bs="(\d+)"', a_cell.group(0))
        s_attr = f' s="{style.group(1)}"' if style else ""
        cell = (f'<c r="B{number}"{s_attr} t="inlineStr"><is><t xml:space="preserve">'
                f'{escape(value)}</t></is></c>')
        new_body = body[:a_cell.end()] + cell + body[a_cell.end():]
        open_tag = sheet_xml[row.start():row.start(2)]
        open_tag = re.sub(r'\bspans="(\d+):1"', r'spans="\1:2"', open_tag)
        return sheet_xml[:row.start()] + open_tag + new_body + "</row>" + sheet_xml[row.end():]
    raise CESError(f"cannot find the row of the setting {key!r}", where=str(template), fix=REINSTALL_FIX)
