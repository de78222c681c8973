"""Seeded mutations of real workbooks, and a worker that runs ``ces-xl score`` on each in-process.

Three levels of damage, each case fully determined by ``(base seed, case index)``:

* ``bytes``: the zip file itself: bit flips, overwritten runs, truncation, fields of a local
  header, of the central directory or of its end record, the file's magic number, a part's
  compression method or CRC, a part's deflate stream cut short (EOF inside the zip);
* ``xml``: one part rewritten inside a valid zip: truncated, a tag deleted, an element deleted or
  duplicated, an attribute value changed, the encoding declaration changed (``encoding="bogus"``),
  cell references far past Excel's limits (``r="ZZZZ99999999"``, ``<dimension ref=...>``),
  entity declarations, stray bytes;
* ``cells``: values in the contract sheets (Activity, Weights, Bands, Settings) swapped for text,
  numbers, booleans, errors, dates, shared-string indexes, blanks.

The seed books are real: the bundled template, a small book written with
:func:`tests.conftest.make_workbook`, a book laid out the way Excel saves one (from the
benchmark's generator), a scored output, and a book saved by LibreOffice when it is installed.

:class:`Worker` runs cases in a long-lived child (``python -m tests.fuzz worker``) that calls
``ces_xl.cli.main([...])`` in-process with file descriptor 2 redirected to a file per case, so
that the import cost is paid once and what the real command prints (Python or native) is
captured; the child is restarted when a case kills it (an abort). :func:`check` turns a result
into a list of failures.

Replay one case (it prints the mutation, writes the damaged book and runs the real command)::

    python -m tests.fuzz replay 123 [--seed 20251130] [--keep DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "workbook" / "CES_Template.xlsx"
BASE_SEED = 20251130
LEVELS = (("bytes", 40), ("xml", 35), ("cells", 25))
CONTRACT = ("Activity", "Weights", "Bands", "Settings")
ERROR_PREFIX = "ces-xl: error: "

# --- seed books --------------------------------------------------------------------------------

SMALL_BOOK = {
    "Activity": [["Customer", "Segment", "Website Visit", "Email Click", "Purchase"],
                 ["C-1", "A", 10, 5, 2], ["C-2", "B", 3, 0, 1], ["C-3", "A", 7, 2, 0], ["C-4", "B", 0, 9, 4]],
    "Weights": [["Metric", "Weight", "Target"], ["Website Visit", 1, 20], ["Email Click", 2, 5], ["Purchase", 5, 4]],
    "Bands": [["Band", "From", "To"], ["Low", 0, 50], ["High", 51, 100]],
    "Settings": [["Setting", "Value"], ["Method", "index"], ["Missing values", "zero"], ["Period", "Q1"]],
}


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("ces_xl_bench_scale", REPO / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def make_seed_books(folder: Path, soffice: str | None = None) -> dict[str, Path]:
    """The real books the mutations start from, written into ``folder`` (name -> path)."""
    from .conftest import make_workbook

    folder.mkdir(parents=True, exist_ok=True)
    books = {"template": folder / "template.xlsx"}
    shutil.copyfile(TEMPLATE, books["template"])
    books["small"] = make_workbook(folder / "small.xlsx", SMALL_BOOK)
    books["excel-like"] = folder / "excel-like.xlsx"
    _benchmark_module().write_activity_workbook(books["excel-like"], 25)
    books["scored"] = folder / "scored.xlsx"
    code, err = run_cli_subprocess(books["template"], books["scored"])
    if code != 0:
        raise RuntimeError(f"scoring the template failed: {err}")
    if soffice:
        outdir = folder / "lo"
        outdir.mkdir(exist_ok=True)
        done = subprocess.run([soffice, f"-env:UserInstallation={(outdir / 'profile').as_uri()}", "--headless",
                               "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir),
                               str(books["small"])], capture_output=True, text=True, timeout=180)
        saved = outdir / "small.xlsx"
        if not saved.exists():
            raise RuntimeError(f"LibreOffice did not save the book: {done.stdout} {done.stderr}")
        books["libreoffice"] = folder / "libreoffice.xlsx"
        shutil.move(saved, books["libreoffice"])
    return books


def run_cli_subprocess(source: Path, output: Path) -> tuple[int, str]:
    """The real command, as a user runs it (``run()``: one process, ``os._exit`` at the end)."""
    env = {k: v for k, v in os.environ.items() if k != "CES_XL_DEBUG"}
    done = subprocess.run([sys.executable, "-c", "from ces_xl.cli import run; run()", "score", str(source),
                           "-o", str(output)], capture_output=True, text=True, timeout=300, env=env)
    return done.returncode, done.stderr


# --- zip structure -----------------------------------------------------------------------------

@dataclass
class Member:
    name: str
    local: int          # offset of the local header
    data: int           # offset of the compressed data
    size: int           # compressed size
    central: int        # offset of its central directory entry


@dataclass
class Layout:
    members: list[Member]
    eocd: int
    central: int


def zip_layout(data: bytes) -> Layout:
    eocd = data.rfind(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack("<HII", data[eocd + 10:eocd + 20])
    members, at = [], cd_offset
    for _ in range(count):
        csize, _, n, m, k = struct.unpack("<IIHHH", data[at + 20:at + 34])
        offset = struct.unpack("<I", data[at + 42:at + 46])[0]
        name = data[at + 46:at + 46 + n].decode("utf-8", "replace")
        ln, lm = struct.unpack("<HH", data[offset + 26:offset + 30])
        members.append(Member(name, offset, offset + 30 + ln + lm, csize, at))
        at += 46 + n + m + k
    return Layout(members, eocd, cd_offset)


@dataclass
class RawPart:
    name: str
    method: int
    crc: int
    usize: int
    payload: bytes      # the compressed bytes


def raw_parts(data: bytes) -> list[RawPart]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
    layout = zip_layout(data)
    return [RawPart(i.filename, i.compress_type, i.CRC, i.file_size, data[m.data:m.data + m.size])
            for i, m in zip(infos, layout.members)]


def build_zip(parts: list[RawPart], local_method: dict[str, int] | None = None) -> bytes:
    """A zip written by hand from raw members, so that any field may lie."""
    out, central = bytearray(), bytearray()
    for p in parts:
        name = p.name.encode("utf-8")
        offset = len(out)
        method = (local_method or {}).get(p.name, p.method)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, p.crc, len(p.payload),
                           p.usize, len(name), 0) + name + p.payload
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, p.method, 0, 0x21, p.crc,
                               len(p.payload), p.usize, len(name), 0, 0, 0, 0, 0, offset) + name
    start = len(out)
    out += central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(central), start, 0)
    return bytes(out)


def read_parts(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i, z.read(i)) for i in z.infolist()]


def repack(parts: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts:
            z.writestr(zipfile.ZipInfo(info.filename, info.date_time), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def sheet_part_names(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> worksheet part, read with regular expressions (the book is healthy here)."""
    rels = parts.get("xl/_rels/workbook.xml.rels", b"").decode("utf-8", "replace")
    targets = {}
    for rel in re.findall(r"<Relationship\b[^>]*>", rels):
        rid, target = re.search(r'Id="([^"]*)"', rel), re.search(r'Target="([^"]*)"', rel)
        if rid and target:
            t = target.group(1)
            targets[rid.group(1)] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    found = {}
    for sheet in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", parts.get("xl/workbook.xml", b"").decode("utf-8", "replace")):
        name, rid = re.search(r'\bname="([^"]*)"', sheet), re.search(r'\b\w+:id="([^"]*)"', sheet)
        if name and rid and rid.group(1) in targets:
            found[name.group(1)] = targets[rid.group(1)]
    return found


# --- mutations ---------------------------------------------------------------------------------

ODD_REFS = ["ZZZZ99999999", "XFD1048576", "XFE1", "A1048577", "AAAA1", "A0", "A99999999999", "zz5", "$A$1", "",
            "1A", "XFD1", "A1048576", "B", "ZZZ1", "XFD1048577", "A4294967297", "IV65536"]
ODD_DIMENSIONS = ["A1:ZZZZ99999999", "A1:XFD1048576", "ZZZZ1", "", "A1:A0", "bogus", "A1:XFE2", "B2"]
ODD_ROWS = ["0", "-1", "1048576", "1048577", "99999999", "2", "", "x", "4294967296"]
ATTRIBUTE_VALUES = ["", "0", "-1", "1", "2", "999999999", "ZZZZ99999999", "A1", "XFD1048576", "bogus", "&amp;",
                    "x" * 300, "1e308", "nan", "true", "rId999", "/xl/missing.xml", "../../../etc/passwd",
                    "http://example.invalid/x", "s", "e", "inlineStr", "str", "b", "n", "d"]
ENCODINGS = [b'<?xml version="1.0" encoding="bogus"?>', b'<?xml version="1.0" encoding="UTF-16"?>',
             b'<?xml version="1.0" encoding="ISO-8859-1"?>', b'<?xml version="1.0" encoding="ascii"?>',
             b'<?xml version="1.0" encoding="utf-32"?>', b'<?xml version="1.0" encoding="cp932"?>',
             b'<?xml version="1.0" encoding="rot13"?>', b'<?xml version="1.1"?>', b'<?xml version="9.9"?>',
             b'<?xml encoding="UTF-8"?>', b'<?xml version="1.0" encoding="UTF-8" standalone="maybe"?>', b"",
             b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>', b'<?xml version="1.0" encoding="idna"?>']
ENTITIES = [
    (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
     b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>', b"&d;"),
    (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', b"&e;"),
    (b'<!DOCTYPE x [<!ENTITY e "C-1">]>', b"&e;"),
    (b'<!DOCTYPE x [<!ENTITY % p "x"> %p;]>', b""),
    (b'<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd">', b""),
    (b"<!DOCTYPE x [<!ELEMENT x ANY>]>", b"&undefined;"),
]
GARBAGE = [b"\x00", b"<", b"&", b"\xff\xfe", b"]]>", b"<!--", b"<?pi?>", b"\x80\x81", b'"', b"</x>", b"<x>"]


def _xml_decl_end(data: bytes) -> int:
    match = re.match(rb"\s*(?:\xef\xbb\xbf)?<\?xml[^>]*\?>", data)
    return match.end() if match else 0


def _elements(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of elements found by a crude nesting scan (enough for a healthy part)."""
    spans, stack = [], []
    for m in re.finditer(rb"<(/?)([\w:.-]+)[^<>]*?(/?)>", data):
        if m.group(1):
            while stack:
                name, start = stack.pop()
                if name == m.group(2):
                    spans.append((start, m.end()))
                    break
        elif m.group(3):
            spans.append((m.start(), m.end()))
        else:
            stack.append((m.group(2), m.start()))
    return spans


def mutate_xml(data: bytes, kind: str, rng: random.Random, is_sheet: bool) -> tuple[bytes, str]:
    if kind == "truncate":
        cut = rng.randrange(len(data)) if data else 0
        return data[:cut], f"cut at {cut} of {len(data)}"
    if kind == "delete-tag":
        tags = list(re.finditer(rb"<[^<>]+>", data))
        if tags:
            m = rng.choice(tags)
            return data[:m.start()] + data[m.end():], f"deleted {m.group(0)[:60]!r}"
    if kind in ("delete-element", "duplicate-element"):
        spans = _elements(data)
        if spans:
            s, e = rng.choice(spans)
            piece = data[s:e]
            new = data[:s] + data[e:] if kind == "delete-element" else data[:e] + piece + data[e:]
            return new, f"{kind} {piece[:60]!r}"
    if kind == "attribute":
        attrs = list(re.finditer(rb'\s([\w:.-]+)="([^"]*)"', data))
        if attrs:
            m = rng.choice(attrs)
            value = rng.choice(ATTRIBUTE_VALUES).encode()
            return (data[:m.start(2)] + value + data[m.end(2):],
                    f"{m.group(1).decode()}={m.group(2)[:40]!r} -> {value[:40]!r}")
    if kind == "encoding":
        decl = rng.choice(ENCODINGS)
        if rng.random() < 0.15:  # a real UTF-16 part with a matching declaration: unusual but well-formed
            body = data[_xml_decl_end(data):]
            return (b'<?xml version="1.0" encoding="UTF-16"?>' + body).decode("utf-8").encode("utf-16"), "utf-16 part"
        return decl + data[_xml_decl_end(data):], f"declaration {decl!r}"
    if kind == "cell-ref" and is_sheet:
        choice = rng.random()
        if choice < 0.6:
            refs = list(re.finditer(rb'<(?:\w+:)?c\b[^>]*?\sr="([^"]*)"', data))
            if refs:
                m, ref = rng.choice(refs), rng.choice(ODD_REFS).encode()
                return data[:m.start(1)] + ref + data[m.end(1):], f"cell {m.group(1).decode()} -> r={ref!r}"
        elif choice < 0.8:
            rows = list(re.finditer(rb'<(?:\w+:)?row\b[^>]*?\sr="([^"]*)"', data))
            if rows:
                m, r = rng.choice(rows), rng.choice(ODD_ROWS).encode()
                return data[:m.start(1)] + r + data[m.end(1):], f"row {m.group(1).decode()} -> r={r!r}"
        else:
            dim = re.search(rb'<(?:\w+:)?dimension\b[^>]*?\sref="([^"]*)"', data)
            ref = rng.choice(ODD_DIMENSIONS).encode()
            if dim:
                return data[:dim.start(1)] + ref + data[dim.end(1):], f"dimension -> {ref!r}"
    if kind == "entity":
        doctype, use = rng.choice(ENTITIES)
        at = _xml_decl_end(data)
        body = data[at:]
        texts = list(re.finditer(rb"<(?:\w+:)?t(?:\s[^>]*)?>([^<]*)<", body))
        if texts and use:
            m = rng.choice(texts)
            body = body[:m.start(1)] + use + body[m.end(1):]
        return data[:at] + doctype + body, f"entity {doctype[:50]!r} used as {use!r}"
    if kind == "garbage":
        at = rng.randrange(len(data) + 1)
        junk = rng.choice(GARBAGE)
        return data[:at] + junk + data[at:], f"inserted {junk!r} at {at}"
    cut = rng.randrange(len(data)) if data else 0  # the kind did not apply to this part
    return data[:cut], f"cut at {cut} of {len(data)} (fallback)"


XML_KINDS = ["truncate", "delete-tag", "delete-element", "duplicate-element", "attribute", "attribute", "encoding",
             "cell-ref", "cell-ref", "entity", "garbage"]


def _choose_part(names: list[str], sheets: dict[str, str], rng: random.Random) -> str:
    contract = [sheets[s] for s in sheets if s.strip().lower() in {c.lower() for c in CONTRACT} and sheets[s] in names]
    groups = [(contract, 40), (["xl/workbook.xml"], 10), ([n for n in names if n.endswith(".rels")], 10),
              (["[Content_Types].xml"], 8), ([n for n in names if n.endswith("sharedStrings.xml")], 8),
              ([n for n in names if n.endswith("styles.xml")], 6), (names, 18)]
    groups = [(g, w) for g, w in groups if g and all(n in names for n in g)]
    group = rng.choices([g for g, _ in groups], weights=[w for _, w in groups])[0]
    return rng.choice(group)


def xml_case(book: bytes, rng: random.Random) -> tuple[bytes, str]:
    parts = read_parts(book)
    by_name = {i.filename: d for i, d in parts}
    sheets = sheet_part_names(by_name)
    part = _choose_part(list(by_name), sheets, rng)
    kind = rng.choice(XML_KINDS)
    is_sheet = "worksheets/" in part
    if kind == "cell-ref" and not is_sheet:
        contract = [sheets[s] for s in sheets if s in CONTRACT and sheets[s] in by_name]
        part, is_sheet = (rng.choice(contract), True) if contract else (part, is_sheet)
    new, what = mutate_xml(by_name[part], kind, rng, is_sheet)
    return repack([(i, new if i.filename == part else d) for i, d in parts]), f"xml {kind} in {part}: {what}"


CELL_VALUES = [
    ("number", ["0", "1", "-1", "3.5", "1e308", "-0", "1e-300", "12345678901234567890", "NaN", "INF", "abc", ""]),
    ("text", ["", " ", "n/a", " 3 ", "1e3", "1,000", "=1+1", "@SUM(A1)", "Website Visit", "Weight", "Metric",
              "x" * 3000, "\u00e9\u4e2d\U0001F600", "TRUE", "#DIV/0!", "index", "sum", "exclude", "-5", "1_000"]),
    ("shared", ["0", "1", "5", "99999", "-1", "x", ""]),
    ("bool", ["0", "1", "2", "x", ""]),
    ("error", ["#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA", "#BOGUS", ""]),
    ("formula", ["2", "x", ""]),
    ("date", ["2024-01-01T00:00:00", "2024-13-45", "x"]),
    ("blank", [""]),
]


def _cell_xml(ref_attrs: bytes, kind: str, value: str, prefix: bytes) -> bytes:
    v = value.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8")
    c, vv = prefix + b"c", prefix + b"v"
    if kind == "number":
        return b"<%s%s><%s>%s</%s></%s>" % (c, ref_attrs, vv, v, vv, c)
    if kind == "text":
        return b'<%s%s t="inlineStr"><%sis><%st xml:space="preserve">%s</%st></%sis></%s>' % (
            c, ref_attrs, prefix, prefix, v, prefix, prefix, c)
    if kind in ("shared", "bool", "error", "date"):
        t = {"shared": b"s", "bool": b"b", "error": b"e", "date": b"d"}[kind]
        return b'<%s%s t="%s"><%s>%s</%s></%s>' % (c, ref_attrs, t, vv, v, vv, c)
    if kind == "formula":
        return b'<%s%s t="str"><%sf>1+1</%sf><%s>%s</%s></%s>' % (c, ref_attrs, prefix, prefix, vv, v, vv, c)
    return b"<%s%s/>" % (c, ref_attrs)


def mutate_cells(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    cells = list(re.finditer(rb"<((?:\w+:)?)c\b([^>]*?)(?:/>|>.*?</\1c>)", data, re.S))
    if not cells:
        return data, "no cells"
    if rng.random() < 0.15 and len(cells) > 1:  # swap the contents of two cells
        a, b = sorted(rng.sample(range(len(cells)), 2))
        ma, mb = cells[a], cells[b]
        ra, rb_ = re.search(rb'\sr="[^"]*"', ma.group(0)), re.search(rb'\sr="[^"]*"', mb.group(0))
        if ra and rb_:
            new_a = mb.group(0).replace(rb_.group(0), ra.group(0), 1)
            new_b = ma.group(0).replace(ra.group(0), rb_.group(0), 1)
            return (data[:ma.start()] + new_a + data[ma.end():mb.start()] + new_b + data[mb.end():],
                    f"swapped {ma.group(0)[:50]!r} and {mb.group(0)[:50]!r}")
    done = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        cells = list(re.finditer(rb"<((?:\w+:)?)c\b([^>]*?)(?:/>|>.*?</\1c>)", data, re.S))
        m = rng.choice(cells)
        keep = b"".join(a.group(0) for a in re.finditer(rb'\s(?:r|s)="[^"]*"', m.group(2)))
        kind, values = rng.choice(CELL_VALUES)
        value = rng.choice(values)
        data = data[:m.start()] + _cell_xml(keep, kind, value, m.group(1)) + data[m.end():]
        done.append(f"{keep.decode().strip()} -> {kind} {value[:30]!r}")
    return data, "; ".join(done)


def cells_case(book: bytes, rng: random.Random) -> tuple[bytes, str]:
    parts = read_parts(book)
    by_name = {i.filename: d for i, d in parts}
    sheets = {name: part for name, part in sheet_part_names(by_name).items()
              if name in CONTRACT and part in by_name}
    if not sheets:
        return book, "cells: no contract sheets"
    name = rng.choices(list(sheets), weights=[{"Activity": 40, "Weights": 30}.get(n, 15) for n in sheets])[0]
    new, what = mutate_cells(by_name[sheets[name]], rng)
    return repack([(i, new if i.filename == sheets[name] else d) for i, d in parts]), f"cells in {name}: {what}"


METHODS = [0, 1, 6, 9, 12, 14, 93, 95, 98, 99, 0xFFFF]
BYTE_KINDS = ["flip", "flip", "flip-part", "flip-part", "overwrite-part", "truncate", "local-header",
              "central-header", "end-record", "magic", "method", "crc", "crc", "short-stream"]
LOCAL_FIELDS = [(0, 4), (4, 2), (6, 2), (8, 2), (10, 4), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2), (30, 4)]
CENTRAL_FIELDS = [(0, 4), (4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2),
                  (32, 2), (34, 2), (36, 2), (38, 4), (42, 4), (46, 4)]
END_FIELDS = [(0, 4), (4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2)]


def _field_value(rng: random.Random, size: int, old: bytes) -> bytes:
    choice = rng.random()
    if choice < 0.3:
        return bytes(size)
    if choice < 0.5:
        return b"\xff" * size
    if choice < 0.7:  # off by a little
        value = int.from_bytes(old, "little") + rng.choice([-2, -1, 1, 2, 30, 1000])
        return (value % (1 << (8 * size))).to_bytes(size, "little")
    return rng.randbytes(size)


def _pick_member(layout: Layout, rng: random.Random, sheets: dict[str, str]) -> Member:
    contract = {sheets[s] for s in sheets if s in CONTRACT}
    weights = [5 if m.name in contract else 2 if m.name.endswith(".xml") and "worksheets/" in m.name else 1
               for m in layout.members]
    return rng.choices(layout.members, weights=weights)[0]


def bytes_case(book: bytes, rng: random.Random) -> tuple[bytes, str]:
    data = bytearray(book)
    layout = zip_layout(book)
    sheets = sheet_part_names({i.filename: d for i, d in read_parts(book)})
    kind = rng.choice(BYTE_KINDS)
    member = _pick_member(layout, rng, sheets)
    if kind == "flip":
        spots = []
        for _ in range(rng.choice([1, 1, 2, 4, 8])):
            at = rng.randrange(len(data))
            data[at] ^= 1 << rng.randrange(8)
            spots.append(at)
        return bytes(data), f"bytes flip at {spots}"
    if kind in ("flip-part", "overwrite-part"):
        if member.size == 0:
            return bytes(data), f"bytes {kind}: {member.name} is empty"
        at = member.data + rng.randrange(member.size)
        if kind == "flip-part":
            data[at] ^= 1 << rng.randrange(8)
        else:
            run = min(rng.choice([1, 4, 16, 64]), member.data + member.size - at)
            data[at:at + run] = rng.randbytes(run)
        return bytes(data), f"bytes {kind} in {member.name} at {at - member.data} of {member.size}"
    if kind == "truncate":
        cut = rng.choice([rng.randrange(len(data)), len(data) - rng.randrange(1, 200),
                          layout.central + rng.randrange(max(1, layout.eocd - layout.central)),
                          member.data + rng.randrange(max(1, member.size))])
        cut = max(0, min(cut, len(data) - 1))
        return bytes(data[:cut]), f"bytes truncate at {cut} of {len(data)}"
    if kind in ("local-header", "central-header", "end-record"):
        base, fields = {"local-header": (member.local, LOCAL_FIELDS),
                        "central-header": (member.central, CENTRAL_FIELDS),
                        "end-record": (layout.eocd, END_FIELDS)}[kind]
        offset, size = rng.choice(fields)
        old = bytes(data[base + offset:base + offset + size])
        data[base + offset:base + offset + size] = _field_value(rng, size, old)
        return bytes(data), f"bytes {kind} of {member.name if kind != 'end-record' else 'the zip'} field +{offset}"
    if kind == "magic":
        magic = rng.choice([b"\x00\x00\x00\x00", b"PK\x05\x06", b"PK\x01\x02", b"\xd0\xcf\x11\xe0", b"%PDF",
                            b"PK\x03\x05"])
        where = rng.choice(["file", "member"])
        at = 0 if where == "file" else member.local
        data[at:at + 4] = magic
        return bytes(data), f"bytes magic {magic!r} at {'the start' if where == 'file' else member.name}"
    parts = raw_parts(book)
    target = next(p for p in parts if p.name == member.name)
    if kind == "method":
        method, where = rng.choice(METHODS), rng.choice(["both", "both", "central", "local"])
        local = {target.name: method} if where != "central" else {target.name: target.method}
        if where != "local":
            target.method = method
        return build_zip(parts, local), f"bytes method {method} ({where}) for {member.name}"
    if kind == "crc":
        old = target.crc
        target.crc = rng.choice([old ^ 1, 0, 0xFFFFFFFF, rng.getrandbits(32)])
        where = rng.choice(["both", "central", "local"])
        if where == "both":
            return build_zip(parts), f"bytes crc of {member.name} changed"
        rebuilt = bytearray(build_zip(parts))
        fixed = zip_layout(bytes(rebuilt))
        m = next(x for x in fixed.members if x.name == member.name)
        at = m.local + 14 if where == "central" else m.central + 16  # put the true CRC back on the other side
        rebuilt[at:at + 4] = struct.pack("<I", old)
        return bytes(rebuilt), f"bytes crc of {member.name} changed in the {where} header only"
    if kind == "short-stream":
        if target.method == zipfile.ZIP_DEFLATED and len(target.payload) > 2:
            target.payload = target.payload[:rng.randrange(1, len(target.payload))]
            return build_zip(parts), f"bytes deflate stream of {member.name} cut to {len(target.payload)} bytes"
    return bytes(data[:len(data) // 2]), "bytes truncate at half (fallback)"


def make_case(index: int, books: dict[str, bytes], seed: int = BASE_SEED,
              level: str | None = None) -> tuple[bytes, str]:
    """The damaged book of case ``index`` and what was done to it."""
    rng = random.Random(f"{seed}:{index}")
    chosen = rng.choices([name for name, _ in LEVELS], weights=[w for _, w in LEVELS])[0]
    level = level or chosen
    name = rng.choice(sorted(books))
    make = {"bytes": bytes_case, "xml": xml_case, "cells": cells_case}[level]
    data, what = make(books[name], rng)
    return data, f"[{name}] {what}"


# --- running a case -----------------------------------------------------------------------------

@dataclass
class Result:
    code: int | None            # exit code; None when the process died
    stderr: str
    died: str = ""              # how the worker died (signal, exit code), if it did
    api: str | None = None      # "ok" or the exception type and message from ces_xl.score_workbook
    output_check: str = ""      # "" (sound) or what is wrong with the output
    leftovers: list[str] = field(default_factory=list)


def _check_output(source: Path, output: Path) -> str:
    """'' when ``output`` is a sound zip that openpyxl opens (or fails no worse than ``source``)."""
    import warnings

    import openpyxl
    try:
        with zipfile.ZipFile(output) as z:
            bad = z.testzip()
        if bad is not None:
            return f"output part {bad} fails its CRC check"
    except Exception as exc:
        return f"output is not a sound zip ({type(exc).__name__}: {exc})"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            openpyxl.load_workbook(output).close()
            return ""
        except Exception as exc:
            out_error = type(exc).__name__
            detail = f"{out_error}: {str(exc)[:200]}"
        try:
            openpyxl.load_workbook(source).close()
        except Exception as exc:
            if type(exc).__name__ == out_error:
                return ""  # the input does not open either, the same way: no worse
            return f"openpyxl fails on the output ({detail}) and differently on the input ({type(exc).__name__})"
    return f"openpyxl opens the input but not the output ({detail})"


def _run_in_worker(request: dict) -> dict:
    """One case inside the worker: the CLI as ``run()`` runs it, then the optional API call."""
    from ces_xl import cli

    source, output, err_path = Path(request["input"]), Path(request["output"]), request["stderr"]
    sys.stderr.flush()
    saved = os.dup(2)
    err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(err_fd, 2)
    os.close(err_fd)
    try:
        try:
            code = cli.main(["score", str(source), "-o", str(output)])
        except BaseException:  # what an exception escaping main() does to the real command
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        # The real command ends with os._exit; here a thread still reading could abort the
        # worker later and be blamed on the next case, so wait for it now.
        for thread in threading.enumerate():
            if thread is not threading.main_thread():
                thread.join(timeout=60)
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
    reply = {"code": code, "output_check": "", "api": None}
    if code == 0:
        reply["output_check"] = _check_output(source, output) if output.exists() else "exit 0 but no output file"
    if request.get("api"):
        import ces_xl
        api_out = output.with_name("api-" + output.name)
        try:
            ces_xl.score_workbook(source, api_out)
            reply["api"] = "ok"
        except ces_xl.CESError as exc:
            reply["api"] = f"CESError {type(exc).__name__}: {exc}"
        except BaseException as exc:
            reply["api"] = f"RAISED {type(exc).__name__}: {exc}"
        for thread in threading.enumerate():
            if thread is not threading.main_thread():
                thread.join(timeout=60)
        if api_out.exists():
            api_out.unlink()
    return reply


def worker_main() -> None:
    """``python -m tests.fuzz worker``: JSON requests on stdin, one JSON reply a line on the
    original stdout; the CLI's own stdout goes to /dev/null."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.environ.pop("CES_XL_DEBUG", None)
    import importlib

    for module in ("ces_xl.api", "ces_xl.cli", "ces_xl.pipeline", "openpyxl"):
        importlib.import_module(module)  # pay the imports once, before the first case
    channel.write("ready\n")
    for line in sys.stdin:
        reply = _run_in_worker(json.loads(line))
        channel.write(json.dumps(reply) + "\n")


class Worker:
    """A long-lived child running cases; restarted when a case kills it."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "CES_XL_DEBUG"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz", "worker"], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the fuzz worker did not start")

    def run(self, source: Path, output: Path, api: bool = False, timeout: float = 120) -> Result:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        err_path = output.with_name("stderr.txt")
        request = {"input": str(source), "output": str(output), "stderr": str(err_path), "api": api}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = _readline(self.proc, timeout)
        stderr = err_path.read_text("utf-8", "replace") if err_path.exists() else ""
        if err_path.exists():
            err_path.unlink()
        if not line:
            code = self.proc.poll()
            if code is None:
                self.proc.kill()
                code = self.proc.wait()
                died = f"hung for {timeout:.0f} s (killed)"
            else:
                died = f"killed by signal {-code}" if code < 0 else f"worker exited with {code}"
            self.proc = None
            return Result(None, stderr, died=died)
        reply = json.loads(line)
        return Result(reply["code"], stderr, api=reply["api"], output_check=reply["output_check"])

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else ""


def failures(result: Result, before: str, source: Path, folder: Path, one_line: bool = True) -> list[str]:
    """What is wrong with a case's result, as short signatures (empty: the case passed).

    ``one_line``: exit 1 must print exactly one error line. Otherwise (damaged cell values)
    several are allowed, each ``ces-xl: error: ...``: the command prints every problem a
    contract check gathers on its own line."""
    found = []
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.died:
        tail = next((line for line in lines if "memory allocation" in line or "panicked" in line),
                    lines[-1] if lines else "")
        found.append(f"process died ({result.died}): {tail[:160]}")
    elif result.code == 0:
        if result.output_check:
            found.append(f"exit 0 with an unsound output: {result.output_check}")
    elif result.code == 1:
        errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
        if not lines or len(errors) != len(lines):
            found.append(f"exit 1 with other lines than errors: {lines[:3]}")
        elif one_line and len(lines) != 1:
            found.append(f"exit 1 without exactly one error line: {lines[:3]}")
    else:
        found.append(f"exit {result.code}: {' | '.join(lines)[:300]}")
    text = result.stderr
    if not result.died and ("Traceback" in text or "panicked at" in text or "stack backtrace" in text):
        found.append("a traceback or a panic on stderr")
    if hashlib.sha256(source.read_bytes()).hexdigest() != before:
        found.append("the input file changed")
    left = sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))
    if left:
        found.append(f"temporary files left: {left}")
    if result.api is not None and not (result.api == "ok" or result.api.startswith("CESError")):
        found.append(f"the API raised something other than CESError: {result.api[:200]}")
    return found


def signature(failure: str) -> str:
    """A failure reduced to its kind, to count alike failures together."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", failure)
    text = re.sub(r"\d+", "N", text)
    text = re.sub(r"/[\w./-]+", "PATH", text)
    return text[:160]


# --- replay ----------------------------------------------------------------------------------

def replay(index: int, seed: int, keep: Path | None) -> None:
    folder = keep or Path(tempfile.mkdtemp(prefix="ces-xl-fuzz-"))
    books = make_seed_books(folder / "books", _soffice())
    data, what = make_case(index, {name: p.read_bytes() for name, p in books.items()}, seed)
    source = folder / f"case-{index}.xlsx"
    source.write_bytes(data)
    print(f"case {index} (seed {seed}): {what}\ninput: {source}")
    code, err = run_cli_subprocess(source, folder / f"case-{index}-out.xlsx")
    print(f"exit {code}\n{err}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("worker")
    rp = sub.add_parser("replay")
    rp.add_argument("case", type=int)
    rp.add_argument("--seed", type=int, default=int(os.environ.get("CES_XL_FUZZ_SEED", BASE_SEED)))
    rp.add_argument("--keep", type=Path)
    args = parser.parse_args(argv)
    if args.command == "worker":
        worker_main()
    else:
        replay(args.case, args.seed, args.keep)


if __name__ == "__main__":
    main()
