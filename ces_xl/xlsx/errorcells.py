"""One streaming pass over each contract sheet's XML, before python-calamine reads it.

The pass

* checks the part itself (local header, deflate stream, size, CRC-32: see
  :func:`~ces_xl.xlsx.package.member_chunks`), so that the writer can copy it raw unchecked;
* finds every Excel error value (``<c ... t="e">``): python-calamine reads an error cell as an
  empty string, so a ``#DIV/0!`` in a count column would silently count as a blank (0);
* checks where python-calamine will put each cell. It holds a sheet as one dense grid from
  the first used cell to the last, and aborts the whole process (a Rust allocation failure, no
  exception) when that grid does not fit in memory: one cell at ``ZZZZ99999999``, or the two
  cells ``A1`` and ``XFD1048576`` (17 billion cells), is enough. A cell past Excel's last cell
  (XFD1048576), or cells spread over more than :data:`MAX_CELLS` cells (and more than one cell
  per 16 bytes of XML, which no dense sheet reaches), is refused here, naming the cell.

The check is cheap on the layout every writer uses (Excel, LibreOffice, openpyxl, XlsxWriter):
a cell tag ``<c r="B7" s="1" t="s">`` whose reference comes first and whose row is in range,
found by one regular expression that only stops on other tags; one-letter columns and at most
1,048,576 rows cannot span more than 27 million cells. Wider sheets are measured on their row
numbers, and anything else (references out of range, cells without references, other
prefixes, attributes written unusually) goes through an exact replay of how python-calamine
places cells.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterable

from ..errors import InputError
from ..grid import ACTIVITY, BANDS, EVENTS, HISTORY, SETTINGS, WEIGHTS, ExcelError, find_sheet
from .a1 import MAX_COLUMNS, MAX_ROWS, column_index, column_letter, quote_sheet
from .package import REPAIR_FIX, Package, damaged, note_checked, rels_part


# Cells may carry a namespace prefix (<x:c>), as some exporters write them.
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bt="e"[^>]*>(?:<(?:\w+:)?f[^>]*?(?:/>|>.*?</(?:\w+:)?f>))?'
                         rb'<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>', re.S)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_ERROR_TYPE = re.compile(rb't="e"')
_CHUNK = 8 << 20
MAX_CELLS = 1 << 26          # cells python-calamine may be asked to hold (64 Mi: 2 GiB of its cells)
XML_BYTES_PER_CELL = 16      # a dense sheet spends more than this on every cell with a value

# A row number from 1 to 1,048,576, then the closing quote.
_ROW_OK = rb'(?:[1-9][0-9]{0,5}|10[0-3][0-9]{4}|104[0-7][0-9]{3}|1048[0-4][0-9]{2}|10485[0-6][0-9]|104857[0-6])"'
# What follows the reference in a cell tag as the writers write it: any of s, t, cm, vm and ph,
# never a second r. The forms nearly every cell takes come first (a third faster).
_TAIL = (rb'(?:>| t="[a-zA-Z]{1,9}"/?>| s="[0-9]{1,9}"(?:/?>| t="[a-zA-Z]{1,9}"/?>)|/>'
         rb'|(?: (?:s|t|cm|vm|ph)="[^"<>]*")*/?>)')
_WHITESPACE = b" \t\n\r\x0c"


def _fast_pattern(prefix: bytes) -> re.Pattern:
    """Every cell tag that is not ``<c r="X9" ...>`` with a one-letter column: a wider one
    gives its column letters, anything else an empty match."""
    c = re.escape(prefix) + rb"c"
    return re.compile(rb"<" + c + rb"(?! r=\"[A-Z]" + _ROW_OK + _TAIL + rb")(?=[\s/>])"
                      rb"(?: r=\"([A-Z]{2,3})(?=" + _ROW_OK + _TAIL + rb"))?")


# A column from A to XFD: one letter, two letters, or three up to Excel's last column.
_COLUMN_OK = rb"(?:[A-Z]{1,2}|[A-W][A-Z]{2}|X[A-E][A-Z]|XF[A-D])"


def _vouch_pattern(prefix: bytes) -> re.Pattern:
    """Every cell tag that is not ``<c r="XFD9" ...>`` with a column up to XFD: for sheets with
    three-letter columns, where capturing each cell's column (as :func:`_fast_pattern` does)
    would cost a Python object per cell; the sheet is then taken as XFD wide."""
    c = re.escape(prefix) + rb"c"
    return re.compile(rb"<" + c + rb"(?! r=\"" + _COLUMN_OK + _ROW_OK + _TAIL + rb")(?=[\s/>])")


def _three_letters(prefix: bytes) -> re.Pattern:
    return re.compile(rb"<" + re.escape(prefix) + rb"c r=\"[A-Z]{3}[0-9]")


_FAST = {b"": (_fast_pattern(b""), _vouch_pattern(b""), _three_letters(b""))}
_ROOT = re.compile(rb"<(?:([\w.-]+):)?worksheet[\s>/]")


def _foreign_cells(prefix: bytes) -> re.Pattern:
    """Cell tags with another prefix than the sheet's (python-calamine matches local names)."""
    if not prefix:
        return re.compile(rb":c[\s/>]")
    p = re.escape(prefix[:-1])
    return re.compile(rb"<c[\s/>]|:c[\s/>](?<!<" + p + rb":c.)(?<!</" + p + rb":c.)")


def sheet_parts(package: Package) -> dict[str, str]:
    """Sheet name -> its worksheet part inside the package."""
    return {name: parts[0] for name, parts in sheet_candidates(package).items() if parts}


def sheet_candidates(package: Package) -> dict[str, list[str]]:
    """Sheet name -> every existing part python-calamine might read for it (the part this
    package's relationships name, and where a reader that resolves targets more loosely, case
    insensitively or from another relationship id attribute, would look)."""
    workbook = package.main_part()
    rels = package.relationships(workbook)
    raw_targets: dict[str, list[str]] = {}
    for rel in rels:
        raw_targets.setdefault(rel.id, []).append(rel.target)
    by_lower = {}
    for name in package.names:
        by_lower.setdefault(name.replace("\\", "/").lower(), name)
    folder = workbook.rsplit("/", 1)[0] + "/" if "/" in workbook else ""
    raw_rels = _raw_rel_targets(package, workbook)
    found: dict[str, list[str]] = {}
    if workbook not in package.names:
        raise damaged(package.path, workbook, "it is missing")
    for sheet in package.xml(workbook).iter():
        if not isinstance(sheet.tag, str) or sheet.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        ids = [value for key, value in sheet.attrib.items() if key.rsplit("}", 1)[-1] == "id"]
        paths = []
        for rid in ids:
            paths += raw_targets.get(rid, [])
            for target in raw_rels.get(rid, []):
                loose = target[1:] if target.startswith("/") else folder + target
                paths += [loose, "xl/" + target]
        parts = found.setdefault(sheet.get("name", ""), [])
        for path in paths:
            real = path if path in package.names else by_lower.get(path.replace("\\", "/").lower())
            if real is not None and real not in parts:
                parts.append(real)
    return found


def _raw_rel_targets(package: Package, workbook: str) -> dict[str, list[str]]:
    name = rels_part(workbook)
    found: dict[str, list[str]] = {}
    if name in package.names:
        for rel in package.xml(name).iter():
            if isinstance(rel.tag, str) and rel.tag.rsplit("}", 1)[-1] == "Relationship":
                found.setdefault(rel.get("Id", ""), []).append(rel.get("Target", ""))
    return found


def contract_sheets(names: Iterable[str]) -> list[str]:
    """The contract sheets among ``names``, as the workbook spells them."""
    names = list(names)
    return [n for n in (find_sheet(names, w) for w in (ACTIVITY, WEIGHTS, BANDS, SETTINGS, EVENTS, HISTORY)) if n]


def scan_contract_sheets(path: Path, wanted: Iterable[str] | None = None,
                         progress: Callable[[float], None] | None = None) -> dict[str, dict[tuple[int, int], ExcelError]]:
    """Scan every part that holds a contract sheet (or a sheet named in ``wanted``, any case;
    see the module's docstring): sheet name -> the 0-based (row, column) of each error cell
    and its value. Raises an InputError for a damaged part or a cell python-calamine could not
    hold. The parts scanned are recorded as checked, for the writer's raw copy. ``progress``
    is told the share of the sheets' XML scanned so far (0 to 1)."""
    with Package(path) as package:
        candidates = sheet_candidates(package)
        found: dict[str, dict[tuple[int, int], ExcelError]] = {}
        checked = []
        names = contract_sheets(candidates) if wanted is None else \
            [n for n in (find_sheet(list(candidates), w) for w in wanted) if n]
        total = max(sum(package.info(p).file_size for n in names for p in candidates[n]), 1)
        done = 0

        def advance(size: int) -> None:
            nonlocal done
            done += size
            if progress is not None:
                progress(min(done / total, 1.0))

        for name in names:
            # A sheet without a part is left out: python-calamine is not let read it.
            for part in candidates[name]:
                found.setdefault(name, {}).update(scan_sheet(package, part, name, advance))
                checked.append(package.info(part))
        # python-calamine checks no CRC: a damaged shared-strings part would change IDs and
        # metric names silently. Check what it opens besides the sheets (small next to them).
        for part in _parts_calamine_opens(package):
            for _ in package.chunks(part):
                pass
            checked.append(package.info(part))
        note_checked(package.path, checked)
    return found


def _parts_calamine_opens(package: Package) -> list[str]:
    """The parts python-calamine reads when it opens a workbook (by fixed names beside the
    workbook part, found case-insensitively), and the shared strings and styles the
    relationships name."""
    workbook = package.main_part()
    folders = {workbook.rsplit("/", 1)[0] + "/" if "/" in workbook else "", "xl/"}
    wanted = {"_rels/.rels", *(f + n for f in folders for n in ("sharedStrings.xml", "styles.xml", "workbook.xml",
                                                                  "_rels/workbook.xml.rels"))}
    wanted |= {rel.target for rel in package.relationships(workbook)
               if rel.type.endswith(("/sharedStrings", "/styles")) and not rel.external}
    by_lower = {name.replace("\\", "/").lower(): name for name in package.names}
    return sorted({by_lower[w.lower()] for w in wanted if w.lower() in by_lower})


def error_cells(path: Path, sheets: list[str]) -> dict[str, dict[tuple[int, int], ExcelError]]:
    """For each named sheet, the 0-based (row, column) of every error cell and its value."""
    found: dict[str, dict[tuple[int, int], ExcelError]] = {name: {} for name in sheets}
    with Package(path) as package:
        parts = sheet_parts(package)
        for name in sheets:
            if name in parts:
                found[name] = scan_sheet(package, parts[name], name)
    return found


# --- the pass ----------------------------------------------------------------------------------

class _Spread:
    """What the fast check learnt about where a sheet's cells lie."""

    def __init__(self):
        self.prefix: bytes | None = None
        self.fast: re.Pattern | None = None
        self.foreign: re.Pattern | None = None
        self.columns: set[bytes] = set()   # column letters of the cells with two or three
        self.wide = False                  # a three-letter column seen: taken as XFD wide
        self.unusual = False               # a cell tag the fast check does not vouch for
        self.cells = False                 # any cell tag at all

    def start(self, head: bytes) -> None:
        root = _ROOT.search(head)
        self.prefix = (root.group(1) + b":") if root and root.group(1) else b""
        if self.prefix not in _FAST:
            _FAST[self.prefix] = (_fast_pattern(self.prefix), _vouch_pattern(self.prefix),
                                  _three_letters(self.prefix))
        (self.fast, self.vouch, self.three), self.foreign = _FAST[self.prefix], _foreign_cells(self.prefix)
        self.any_cell = re.compile(b"<" + re.escape(self.prefix) + rb"c[\s/>]")

    def scan(self, data: bytes, end: int) -> None:
        if not self.wide and self.three.search(data, 0, end):
            self.wide = True
        if self.wide:
            if self.vouch.search(data, 0, end):
                self.unusual = True
        else:
            found = self.fast.findall(data, 0, end)
            if found:
                self.columns.update(found)
                if b"" in self.columns:
                    self.unusual = True
                    self.columns.discard(b"")
        if not self.cells and self.any_cell.search(data, 0, end):
            self.cells = True
        if not self.unusual and self.foreign.search(data, 0, end):
            self.unusual = True

    def widest(self) -> int:
        """The last 0-based column a cell may use (one-letter columns end at Z; a sheet with
        three-letter columns is taken as XFD wide)."""
        if self.wide:
            return MAX_COLUMNS - 1
        return max([column_index(c) for c in self.columns] + [25 if self.cells else -1])


def _cut(data: bytes, prefix: bytes, final: bool) -> int:
    """Where the complete cells of ``data`` end: after the last cell's end tag (tags and error
    cells are never split), else before the last tag."""
    if final:
        return len(data)
    window = max(0, len(data) - (1 << 16))
    end = data.rfind(b"</" + prefix + b"c>", window)
    if end >= 0:
        return end + len(prefix) + 4
    last = data.rfind(b"<")
    return last if last > 0 else 0


def scan_sheet(package: Package, part: str, name: str,
               advance: Callable[[int], None] | None = None) -> dict[tuple[int, int], ExcelError]:
    """The error cells of one sheet part (0-based (row, column) -> value); raises an InputError
    if the part is damaged or python-calamine could not hold its cells."""
    errors: dict[tuple[int, int], ExcelError] = {}
    spread = _Spread()
    carry = b""
    chunks = package.chunks(part, _CHUNK)
    while True:
        chunk = next(chunks, None)
        if chunk is not None and advance is not None:
            advance(len(chunk))
        data = carry + chunk if chunk is not None else carry
        if spread.prefix is None:
            if chunk is not None and len(data) < 4096:
                carry = data
                continue
            spread.start(data[:4096])
        cut = _cut(data, spread.prefix, chunk is None)
        if cut == 0 and chunk is not None:
            carry = data
            continue
        spread.scan(data, cut)
        # A plain substring search rules out most chunks far faster than the regex.
        if _ERROR_TYPE.search(data, 0, cut):
            for match in _ERROR_CELL.finditer(data, 0, cut):
                ref = _REF.search(match.group(0))
                if ref:
                    errors[(int(ref.group(2)) - 1, column_index(ref.group(1)))] = ExcelError(
                        match.group(1).decode("utf-8", "replace"))
        carry = data[cut:]
        if chunk is None:
            break
    # Every byte was inflated and checked by now: the part is sound. Where do its cells lie?
    allowed = max(MAX_CELLS, package.info(part).file_size // XML_BYTES_PER_CELL)
    widest = spread.widest()
    if not spread.unusual and widest < MAX_COLUMNS:
        if MAX_ROWS * (widest + 1) <= allowed:
            return errors
        if not _rows_beyond(package, part, spread.prefix, allowed // (widest + 1)):
            return errors
    _replay(package, part, name, allowed)
    return errors


def _rows_beyond(package: Package, part: str, prefix: bytes, limit: int) -> bool:
    """Whether any cell reference names a row after ``limit``: a second pass, for sheets wider
    than the fast check vouches for (every cell tag is the usual ``<c r="...">`` by then). A
    search for such a row, not a list of every row, so a wide sheet costs a scan, not an object
    per cell."""
    if limit >= MAX_ROWS:
        return False
    refs = re.compile(rb"<" + re.escape(prefix) + rb"c r=\"[A-Z]{1,3}(?:" + _greater_than(limit) + rb")\"")
    carry = b""
    for chunk in package.chunks(part, _CHUNK):
        data = carry + chunk
        cut = _cut(data, prefix, False)
        if refs.search(data, 0, cut):
            return True
        carry = data[cut:]
    return refs.search(carry) is not None


def _greater_than(limit: int) -> bytes:
    """A regular expression for the whole numbers (no leading zeros, up to 7 digits) above
    ``limit``, which has at most 7 digits."""
    digits = str(limit).encode()
    size = len(digits)
    options = [rb"[1-9][0-9]{%d,6}" % size] if size < 7 else []  # more digits
    for i, d in enumerate(digits):  # the same number of digits, larger at position i
        if d < ord("9"):
            options.append(digits[:i] + b"[" + bytes([d + 1]) + b"-9]" + b"[0-9]" * (size - i - 1))
    return b"|".join(options) or b"(?!)"


# --- the exact replay --------------------------------------------------------------------------

_TOKEN = re.compile(rb'<!--.*?-->|<!\[CDATA\[.*?\]\]>|<[?!][^>]*>'
                    rb'|<(/?)(?:[^\s/>:]+:)?([^\s/>:]+)((?:[^>"\']|"[^"]*"|\'[^\']*\')*)>', re.S)


def _attributes(raw: bytes) -> list[tuple[bytes, bytes]] | None:
    """Attributes as python-calamine's raw reader splits them (key up to ``=``, whitespace
    around it allowed, either quote); None where it would report a malformed attribute."""
    found, at, size = [], 0, len(raw)
    while True:
        while at < size and raw[at] in _WHITESPACE:
            at += 1
        if at >= size:
            return found
        eq = raw.find(b"=", at)
        if eq < 0:
            return None
        key = raw[at:eq].rstrip(_WHITESPACE)
        at = eq + 1
        while at < size and raw[at] in _WHITESPACE:
            at += 1
        if at >= size or raw[at] not in b"\"'":
            return None
        close = raw.find(raw[at:at + 1], at + 1)
        close = size if close < 0 else close
        found.append((key, raw[at + 1:close]))
        at = close + 1


def _position(value: bytes, want_column: bool) -> tuple[int, int | None] | None:
    """A reference's 0-based (row, column) as python-calamine reads it (letters of either case,
    then digits); None where it would raise instead."""
    match = re.fullmatch(rb"([A-Za-z]*)([0-9]+)", value)
    if match is None or int(match.group(2)) == 0:
        return None
    letters = match.group(1)
    if want_column and not letters:
        return None
    return int(match.group(2)) - 1, (column_index(letters) if letters else None)


def _replay(package: Package, part: str, name: str, allowed: int) -> None:
    """Place every cell as python-calamine will (the reference of a cell, else the row's number
    and the next column), and refuse a non-empty one past Excel's last cell or a spread larger
    than ``allowed`` cells."""
    row_index = col_index = 0
    inside = False
    cell = None          # the open cell: the column it takes, and every place it may go
    has_value = False
    bottom = left = right = None
    farthest = None
    carry = b""
    chunks = package.chunks(part, _CHUNK)
    while True:
        chunk = next(chunks, None)
        data = carry + chunk if chunk is not None else carry
        last = 0  # the end of the last complete token: what follows is carried to the next chunk
        for token in _TOKEN.finditer(data):
            last = token.end()
            local = token.group(2)
            if local is None:
                continue
            closing, raw = token.group(1), token.group(3)
            empty = raw.endswith(b"/")
            if empty:
                raw = raw[:-1]
            if not inside:
                if local == b"sheetData" and not closing:
                    inside = not empty
                continue
            if local == b"sheetData" and closing:
                inside = False
                continue
            if cell is not None and not closing:
                has_value = True
            if local == b"row":
                if not closing:
                    attrs = _attributes(raw) or []
                    r = next((v for k, v in attrs if k == b"r"), None)
                    at = _position(r, False) if r is not None else None
                    if at is not None:
                        row_index = at[0]
                if closing or empty:
                    row_index, col_index = row_index + 1, 0
                continue
            if local != b"c":
                continue
            if not closing:
                attrs = _attributes(raw) or []
                # python-calamine takes r, s and t in one pass that stops once it has met three
                # of them; every r is a place the cell may go, the one it takes sets the column.
                refs = [v for k, v in attrs if k == b"r"]
                r, met = None, 0
                for key, value in attrs:
                    if key in (b"r", b"s", b"t"):
                        r = value if key == b"r" else r
                        met += 1
                        if met == 3:
                            break
                at = _position(r, True) if r is not None else None
                places = [(p[0], p[1], v) for v in refs if (p := _position(v, True)) is not None]
                if at is not None:
                    col_index = at[1]
                else:
                    places.append((row_index, col_index, None))
                cell = (at[1] if at is not None else col_index, places)
                has_value = False
            if closing or empty:
                if cell is not None:
                    col, places = cell
                    for row, place_col, ref in places if has_value else ():
                        if not (row < MAX_ROWS and place_col < MAX_COLUMNS):
                            raise _past_limits(name, row, place_col, ref)
                        bottom = row if bottom is None else max(bottom, row)
                        left = place_col if left is None else min(left, place_col)
                        right = place_col if right is None else max(right, place_col)
                        if farthest is None or (row + 1) * (place_col + 1) > (farthest[0] + 1) * (farthest[1] + 1):
                            farthest = (row, place_col, ref)
                    col_index = col + 1
                cell = None
        carry = data[last:] if chunk is not None else b""
        if chunk is None:
            break
    if bottom is not None and (bottom + 1) * (right - left + 1) > allowed:
        raise _too_spread(name, farthest, left, right, bottom, allowed)


def _ref_text(row: int, col: int, ref: bytes | None) -> str:
    if ref is not None:
        text = ref.decode("ascii", "replace")
        return text if len(text) <= 24 else text[:21] + "..."
    return f"{column_letter(col)}{row + 1}"


def _past_limits(name: str, row: int, col: int, ref: bytes | None) -> InputError:
    return InputError(f"the cell lies past Excel's last cell, XFD{MAX_ROWS} (the sheet is damaged)",
                      where=f"{quote_sheet(name)}!{_ref_text(row, col, ref)}", fix=REPAIR_FIX)


def _too_spread(name: str, farthest, left: int, right: int, bottom: int, allowed: int) -> InputError:
    row, col, ref = farthest
    cells = (bottom + 1) * (right - left + 1)
    return InputError(
        f"the cell lies so far from the others that the sheet would span {column_letter(left)}1:"
        f"{column_letter(right)}{bottom + 1}, {cells:,} cells (ces-xl reads at most {allowed:,})",
        where=f"{quote_sheet(name)}!{_ref_text(row, col, ref)}",
        fix="clear that cell, or the rows and columns between it and the data, in Excel and save the workbook again")
