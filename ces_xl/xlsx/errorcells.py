"""Find Excel error values (#DIV/0!, #N/A, ...) in a sheet's XML.

python-calamine reads an error cell as an empty string, so a ``#DIV/0!`` in a count column
would silently count as a blank (0). One streaming pass over the sheet part finds every
``<c ... t="e">`` cell so the contract can name it instead.
"""
from __future__ import annotations

import re
from pathlib import Path

from defusedxml import ElementTree

from ..grid import ExcelError
from .a1 import column_index
from .package import Package


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
# Cells may carry a namespace prefix (<x:c>), as some exporters write them.
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bt="e"[^>]*>(?:<(?:\w+:)?f[^>]*?(?:/>|>.*?</(?:\w+:)?f>))?'
                         rb'<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>', re.S)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_CHUNK = 8 << 20


def sheet_parts(package: Package) -> dict[str, str]:
    """Sheet name -> its worksheet part inside the package."""
    workbook = package.main_part()
    targets = {rel.id: rel.target for rel in package.relationships(workbook)}
    return {sheet.get("name"): targets.get(sheet.get(f"{_REL}id"), "")
            for sheet in ElementTree.fromstring(package.read(workbook)).iter(f"{_MAIN}sheet")}


def error_cells(path: Path, sheets: list[str]) -> dict[str, dict[tuple[int, int], ExcelError]]:
    """For each named sheet, the 0-based (row, column) of every error cell and its value."""
    found: dict[str, dict[tuple[int, int], ExcelError]] = {name: {} for name in sheets}
    with Package(path) as package:
        parts = sheet_parts(package)
        for name in sheets:
            if name not in parts or parts[name] not in package.names:
                continue
            with package.open(parts[name]) as stream:
                carry = b""
                while True:
                    chunk = stream.read(_CHUNK)
                    data = carry + chunk
                    # Scan only up to the last complete cell; keep the rest for the next chunk.
                    cut = len(data) if not chunk else data.rfind(b"</c>") + 4
                    if cut < 4 and chunk:
                        carry = data
                        continue
                    # A plain substring search rules out most chunks far faster than the regex.
                    if b't="e"' in data:
                        for match in _ERROR_CELL.finditer(data, 0, cut):
                            ref = _REF.search(match.group(0))
                            if ref:
                                found[name][(int(ref.group(2)) - 1, column_index(ref.group(1)))] = ExcelError(
                                    match.group(1).decode("utf-8", "replace"))
                    carry = data[cut:]
                    if not chunk:
                        break
    return found
