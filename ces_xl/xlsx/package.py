"""The workbook as an OPC package: a zip of parts linked by relationship (``.rels``) parts.

:class:`Package` reads parts and relationships; :class:`PackageCopy` writes a new zip in which
chosen parts are new and every other part is copied *raw*: its compressed bytes, CRC and sizes
go across unchanged, so a 500 MB Activity sheet costs a file copy, not an inflate and deflate,
and comes out byte for byte the same.

Every byte taken from the input is checked: parts are read through :func:`member_chunks`, which
checks the local header, the compression method, the deflate stream, the size and the CRC-32,
and :meth:`PackageCopy.copy_raw` inflates what it copies to check the same (unless the part was
checked already in this run, see :func:`note_checked`). A damaged part is an
:class:`~ces_xl.errors.InputError` that names it, never a ``BadZipFile`` or ``zlib.error``.
"""
from __future__ import annotations

import errno
import io
import os
import posixpath
import queue
import re
import struct
import tempfile
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from defusedxml import ElementTree

from ..errors import InputError
from .a1 import column_index, column_letter

try:  # Intel's ISA-L deflate: at its level 1, 4x zlib's fastest level, and smaller output
    from isal import isal_zlib as _isal_zlib
except ImportError:  # a platform without an isal wheel: zlib does the same job, slower
    _isal_zlib = None

PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_WORKSHEET = f"{DOC_REL}/worksheet"
REL_STYLES = f"{DOC_REL}/styles"
REL_TABLE = f"{DOC_REL}/table"
REL_DRAWING = f"{DOC_REL}/drawing"
REL_CHART = f"{DOC_REL}/chart"
REL_CALC_CHAIN = f"{DOC_REL}/calcChain"
REL_SHARED_STRINGS = f"{DOC_REL}/sharedStrings"
_SPREADSHEETML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = {
    REL_WORKSHEET: f"{_SPREADSHEETML}.worksheet+xml",
    REL_STYLES: f"{_SPREADSHEETML}.styles+xml",
    REL_TABLE: f"{_SPREADSHEETML}.table+xml",
    REL_DRAWING: "application/vnd.openxmlformats-officedocument.drawing+xml",
    REL_CHART: "application/vnd.openxmlformats-officedocument.drawingml.chart+xml",
}
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CONTENT_TYPES_PART = "[Content_Types].xml"
RELS_CONTENT_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
REPAIR_FIX = "open it in Excel and save it again as .xlsx"
CHUNK = 8 << 20  # inflated bytes handed on at a time
_READ = 1 << 18  # compressed bytes read at a time
_METHOD_NAMES = {1: "Shrink", 6: "Implode", 9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "XZ",
                 98: "PPMd", 99: "AES encryption"}


# --- damage ------------------------------------------------------------------------------------

def damaged(path: Path | str, part: str, reason: str) -> InputError:
    """The error for a part of the package that cannot be trusted."""
    label = part if part and part.isprintable() and part.strip() == part and " " not in part else repr(part)
    return InputError(f"part {label} is damaged ({reason})", where=str(path), fix=REPAIR_FIX)


def not_a_workbook(path: Path | str, detail: object = None) -> InputError:
    what = f" ({detail})" if detail else " (it is damaged or of another type)"
    return InputError(f"the file is not a valid Excel workbook{what}", where=str(path),
                      fix="open it in Excel and save it as an Excel Workbook (.xlsx)")


def open_zip(path: Path) -> zipfile.ZipFile:
    """``zipfile.ZipFile(path)``, with a damaged zip directory as an InputError."""
    try:
        return zipfile.ZipFile(path)
    except OSError as exc:
        if exc.errno in (None, errno.EINVAL):  # a seek before the start: offsets that lie
            raise not_a_workbook(path, exc) from None
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, RuntimeError, struct.error,
            IndexError, OverflowError, UnicodeError, KeyError) as exc:
        raise not_a_workbook(path, f"{type(exc).__name__}: {exc}" if not isinstance(exc, zipfile.BadZipFile)
                             else exc) from None


def parse_xml(path: Path | str, part: str, data: bytes):
    """A part's XML (defusedxml: no entities), with malformed XML as an InputError naming it."""
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise damaged(path, part, f"not well-formed XML: {exc}") from None
    except LookupError as exc:  # encoding="bogus"
        raise damaged(path, part, f"its XML declares an unknown encoding: {exc}") from None
    except ValueError as exc:  # defusedxml's refusals (entities, DTDs), encodings expat cannot take
        raise damaged(path, part, f"its XML cannot be read: {type(exc).__name__}: {exc}") from None


def decode_text(path: Path | str, part: str, data: bytes) -> str:
    """A part's XML as text (edited as text, so it must be UTF-8 as Excel writes it)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise damaged(path, part, f"it is not UTF-8 text: {exc.reason} at byte {exc.start}") from None


class _Check:
    """Inflates a member's compressed bytes as they come and checks the stream, its size and
    its CRC-32 against the zip directory."""

    def __init__(self, path: Path | str, info: zipfile.ZipInfo):
        self.path, self.info = path, info
        if info.flag_bits & 0x41:
            raise damaged(path, info.filename, "it is encrypted")
        if info.flag_bits & 0x20:
            raise damaged(path, info.filename, "it uses zip patch data")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            name = _METHOD_NAMES.get(info.compress_type)
            raise damaged(path, info.filename, f"compression method {info.compress_type}"
                                               f"{f' ({name})' if name else ''} is not one Excel writes")
        self._inflate = None
        if info.compress_type == zipfile.ZIP_DEFLATED:
            self._inflate = (_isal_zlib or zlib).decompressobj(-15)
        self.crc = 0
        self.size = 0

    def feed(self, data: bytes, limit: int = CHUNK) -> Iterator[bytes]:
        """The inflated bytes of ``data``, in pieces of at most ``limit`` (memory stays flat
        however well a part compresses)."""
        if self._inflate is None:
            if data:
                yield from self._count(data)
            return
        try:
            while data:
                out = self._inflate.decompress(data, limit)
                data = self._inflate.unconsumed_tail
                if out:
                    yield from self._count(out)
                if self._inflate.eof:
                    break
        except Exception as exc:  # zlib.error, isal's IsalError: the deflate stream is corrupt
            raise damaged(self.path, self.info.filename, f"its compressed data is corrupt: {exc}") from None

    def _count(self, out: bytes) -> Iterator[bytes]:
        self.size += len(out)
        if self.size > self.info.file_size:
            raise damaged(self.path, self.info.filename,
                          f"it inflates to more than the {self.info.file_size:,} bytes its directory entry says")
        self.crc = (_isal_zlib or zlib).crc32(out, self.crc)
        yield out

    def finish(self) -> None:
        if self._inflate is not None and not self._inflate.eof:
            raise damaged(self.path, self.info.filename, "its compressed data ends early")
        if self.size != self.info.file_size:
            raise damaged(self.path, self.info.filename, f"it inflates to {self.size:,} bytes, not the "
                                                         f"{self.info.file_size:,} its directory entry says")
        if self.crc != self.info.CRC:
            raise damaged(self.path, self.info.filename, "bad CRC-32")


def _data_offset(handle: BinaryIO, info: zipfile.ZipInfo, path: Path | str) -> int:
    """Where a member's compressed bytes start, after its local header is checked (as zipfile
    checks it: the signature and the name)."""
    if info.header_offset < 0:
        raise damaged(path, info.filename, "its directory entry points before the start of the file")
    handle.seek(info.header_offset)
    header = handle.read(30)
    if len(header) < 30:
        raise damaged(path, info.filename, "the file ends inside it (truncated)")
    if header[:4] != b"PK\x03\x04":
        raise damaged(path, info.filename, "bad local header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    name = handle.read(name_len)
    flags = struct.unpack("<H", header[6:8])[0]
    try:
        local = name.decode("utf-8" if flags & 0x800 else "cp437")
    except UnicodeDecodeError:
        local = None
    if local != info.orig_filename:
        raise damaged(path, info.filename, "its local header names another part")
    return info.header_offset + 30 + name_len + extra_len


def _compressed(handle: BinaryIO, info: zipfile.ZipInfo, path: Path | str) -> Iterator[bytes]:
    handle.seek(_data_offset(handle, info, path))
    remaining = info.compress_size
    while remaining:
        piece = handle.read(min(remaining, _READ))
        if not piece:
            raise damaged(path, info.filename, "the file ends inside it (truncated)")
        remaining -= len(piece)
        yield piece


def member_chunks(handle: BinaryIO, info: zipfile.ZipInfo, path: Path | str, size: int = CHUNK) -> Iterator[bytes]:
    """The inflated bytes of a member, in pieces of at most ``size``, every check made: the
    last piece comes only once the whole part has passed its size and CRC-32 checks."""
    check = _Check(path, info)
    pending = b""
    for piece in _compressed(handle, info, path):
        for out in check.feed(piece, size):
            if pending:
                yield pending
            pending = out
    check.finish()
    if pending:
        yield pending


def check_member(handle: BinaryIO, info: zipfile.ZipInfo, path: Path | str) -> None:
    """Raise the InputError naming ``info``'s part if it is damaged."""
    for _ in member_chunks(handle, info, path):
        pass


class _MemberStream(io.RawIOBase):
    """A member read as a stream (``read(n)``), checked as :func:`member_chunks` checks it."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buffer = b""
        self._at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while self._at >= len(self._buffer):
            self._buffer = next(self._chunks, b"")
            self._at = 0
            if not self._buffer:
                return 0
        n = min(len(target), len(self._buffer) - self._at)
        target[:n] = self._buffer[self._at:self._at + n]
        self._at += n
        return n


# --- parts checked in this run -------------------------------------------------------------------
# The reader checks the contract sheets (size and CRC-32) while it scans them; the writer then
# copies them raw without inflating them a second time. Entries are keyed by the file's identity,
# so a file changed in between is checked again.

_checked: dict[str, tuple[tuple, set[tuple]]] = {}
_checked_lock = threading.Lock()


def _identity(path: Path) -> tuple[str, tuple]:
    st = os.stat(path)
    return os.path.abspath(path), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def member_key(info: zipfile.ZipInfo) -> tuple:
    return info.filename, info.header_offset, info.CRC, info.compress_size, info.file_size, info.compress_type


def note_checked(path: Path, infos: Iterable[zipfile.ZipInfo]) -> None:
    """Record that these members of ``path`` passed every check of :func:`member_chunks`."""
    key, identity = _identity(path)
    with _checked_lock:
        old = _checked.get(key)
        members = old[1] if old is not None and old[0] == identity else set()
        members |= {member_key(i) for i in infos}
        _checked[key] = (identity, members)


def take_checked(path: Path) -> set[tuple]:
    """The members of ``path`` checked earlier in this run (handed over once)."""
    try:
        key, identity = _identity(path)
    except OSError:
        return set()
    with _checked_lock:
        entry = _checked.pop(key, None)
    return entry[1] if entry is not None and entry[0] == identity else set()


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str
    target: str          # the part name inside the package (resolved), or the raw external target
    external: bool = False


def rels_part(part: str) -> str:
    """``xl/worksheets/sheet1.xml`` -> ``xl/worksheets/_rels/sheet1.xml.rels`` (``""`` -> ``_rels/.rels``)."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def relative_target(source_part: str, part: str) -> str:
    """The Target attribute that points from ``source_part`` to ``part``."""
    return posixpath.relpath(part, posixpath.dirname(source_part) or ".")


class Package:
    """Read access to the parts of an ``.xlsx``/``.xlsm`` file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.zip = open_zip(self.path)
        self.infos = self.zip.infolist()
        self.names = {info.filename for info in self.infos}
        self._by_name = {info.filename: info for info in self.infos}
        self._file: BinaryIO | None = None

    def __enter__(self) -> "Package":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self.zip.close()

    def info(self, part: str) -> zipfile.ZipInfo:
        return self._by_name[part]

    def _handle(self) -> BinaryIO:
        if self._file is None:
            self._file = open(self.path, "rb")
        return self._file

    def chunks(self, part: str, size: int = CHUNK) -> Iterator[bytes]:
        """A part's bytes in pieces, checked (see :func:`member_chunks`)."""
        return member_chunks(self._handle(), self._by_name[part], self.path, size)

    def read(self, part: str) -> bytes:
        return b"".join(self.chunks(part))

    def open(self, part: str) -> BinaryIO:
        """A part as a stream, checked as it is read (a damaged part raises when it is met)."""
        return io.BufferedReader(_MemberStream(self.chunks(part, 1 << 20)), 1 << 16)

    def xml(self, part: str):
        """A part parsed (defusedxml), malformed XML an InputError naming it."""
        return parse_xml(self.path, part, self.read(part))

    def relationships(self, part: str) -> list[Relationship]:
        """The relationships of ``part`` (``""`` for the package itself), targets resolved."""
        name = rels_part(part)
        if name not in self.names:
            return []
        found = []
        # By local name, as python-calamine reads them: a part whose namespace is damaged is
        # read the same way by both.
        for rel in self.xml(name).iter():
            if not isinstance(rel.tag, str) or rel.tag.rsplit("}", 1)[-1] != "Relationship":
                continue
            target, external = rel.get("Target", ""), rel.get("TargetMode") == "External"
            if not external:
                target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                    posixpath.join(posixpath.dirname(part), target))
            found.append(Relationship(rel.get("Id", ""), rel.get("Type", ""), target, external))
        return found

    def main_part(self) -> str:
        """The workbook part (``xl/workbook.xml`` in every file Excel writes)."""
        for rel in self.relationships(""):
            if rel.type.endswith("/officeDocument"):
                return rel.target
        return "xl/workbook.xml"

    def sheet_parts(self) -> dict[str, str]:
        """Sheet name -> its worksheet part, in the workbook's order, as its relationships say."""
        workbook = self.main_part()
        targets = {rel.id: rel.target for rel in self.relationships(workbook) if not rel.external}
        parts = {}
        for sheet in self.xml(workbook).iter(f"{{{MAIN_NS}}}sheet"):
            rid = next((v for k, v in sheet.attrib.items() if k == f"{{{DOC_REL}}}id"), None)
            if rid in targets:
                parts[sheet.get("name", "")] = targets[rid]
        return parts

    def shared_strings(self, up_to: int | None = None) -> list[str]:
        """The workbook's shared strings (the first ``up_to + 1`` of them, if given)."""
        part = next((r.target for r in self.relationships(self.main_part()) if r.type == REL_SHARED_STRINGS), None)
        if part not in self.names:
            return []
        strings: list[str] = []
        main = f"{{{MAIN_NS}}}"
        with self.open(part) as stream:
            try:
                for _, item in ElementTree.iterparse(stream, events=("end",)):
                    if item.tag == f"{main}si":
                        # The text is the <t> of the item or of its runs (<r>); phonetic runs (<rPh>) are not.
                        texts = item.findall(f"{main}t") + item.findall(f"{main}r/{main}t")
                        strings.append("".join(t.text or "" for t in texts))
                        item.clear()
                        if up_to is not None and len(strings) > up_to:
                            break
            except (ElementTree.ParseError, LookupError, ValueError) as exc:
                if isinstance(exc, InputError):
                    raise
                raise damaged(self.path, part, f"its XML cannot be read: {exc}") from None
        return strings

    def cell_style(self, part: str, row: int, col: int) -> int:
        """The style index (``s``) of the cell at 0-based (``row``, ``col``) of a worksheet
        part, 0 when it has none; read from the start of the XML up to that cell's row only."""
        ref = (column_letter(col) + str(row + 1)).encode()
        cell = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="' + ref + rb'"[^>]*>')
        later = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')
        seen = b""
        with self.open(part) as stream:
            while True:
                chunk = stream.read(1 << 16)
                seen = seen[-4096:] + chunk
                found = cell.search(seen)
                if found:
                    style = re.search(rb'\bs="(\d+)"', found.group(0))
                    return int(style.group(1)) if style else 0
                rows = [int(r) for r in later.findall(seen)]
                if not chunk or (rows and max(rows) > row + 1):
                    return 0

    def first_row(self, part: str, columns: int | None = 5) -> list:
        """Row 1 of a worksheet part (its first ``columns`` cells, or all of them), read from the
        start of its XML only: a previous million-row Scores sheet is not parsed."""
        if part not in self.names:
            return []
        head = b""
        with self.open(part) as stream:
            while len(head) < 64 << 20:
                chunk = stream.read(1 << 16)
                head += chunk
                if not chunk or _ROW.search(head) or b"</sheetData>" in head or b"<sheetData/>" in head:
                    break
        root_tag = re.search(rb"<(\w+:)?worksheet\b[^>]*>", head)
        row = _ROW.search(head)
        if root_tag is None or row is None:
            return []
        tag = (root_tag.group(1) or b"") + b"worksheet"
        try:
            element = ElementTree.fromstring(root_tag.group(0) + row.group(0) + b"</" + tag + b">")
        except (ElementTree.ParseError, LookupError, ValueError) as exc:
            raise damaged(self.path, part, f"its first row is not well-formed XML: {exc}") from None
        main = f"{{{MAIN_NS}}}"
        row_el = element.find(f"{main}row")
        values: dict[int, object] = {}
        wanted: dict[int, int] = {}
        if row_el is not None and row_el.get("r", "1") == "1":
            for n, c in enumerate(row_el.iter(f"{main}c")):
                ref = c.get("r")
                col = column_index(re.match(r"[A-Za-z]*", ref).group()) if ref else n
                if columns is not None and col >= columns:
                    continue
                kind, v = c.get("t"), c.find(f"{main}v")
                if kind == "inlineStr":
                    values[col] = "".join(t.text or "" for t in c.iter(f"{main}t"))
                elif kind == "s" and v is not None and (v.text or "").strip().isdigit():
                    wanted[col] = int(v.text)
                elif v is not None:
                    values[col] = v.text if kind in ("str", "e") else _number(v.text)
        if wanted:
            strings = self.shared_strings(max(wanted.values()))
            for col, index in wanted.items():
                values[col] = strings[index] if index < len(strings) else None
        width = columns if columns is not None else max(values, default=-1) + 1
        return [values.get(c) for c in range(width)]

    def parts_only_reachable_from(self, roots: Iterable[str], keep: Iterable[str] = ()) -> set[str]:
        """Parts (and their ``.rels``) that nothing but ``roots`` links to, directly or through
        each other: what can go when the roots are replaced. ``keep`` parts are never listed."""
        referrers: dict[str, set[str]] = {}
        for name in self.names:
            if name.endswith(".rels") and "/_rels/" in f"/{name}":
                source = _rels_source(name)
                for rel in self.relationships(source):
                    if not rel.external:
                        referrers.setdefault(rel.target, set()).add(source)
        gone = set(roots)
        changed = True
        while changed:
            changed = False
            for part, sources in referrers.items():
                if part not in gone and part not in keep and sources <= gone:
                    gone.add(part)
                    changed = True
        found = set()
        for part in gone:
            if part in self.names and part not in keep and part not in roots:
                found.add(part)
            if rels_part(part) in self.names:
                found.add(rels_part(part))
        return found


_ROW = re.compile(rb"<((?:\w+:)?)row\b[^>]*?(?:/>|>.*?</\1row>)", re.S)


def _number(text: str | None):
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def _rels_source(rels_name: str) -> str:
    folder, name = posixpath.split(rels_name)
    return posixpath.join(posixpath.dirname(folder), name[:-len(".rels")]) if name != ".rels" else ""


class PackageCopy:
    """A new zip written part by part: raw copies of source members, or new compressed parts."""

    def __init__(self, target: Path, source: Package, compresslevel: int = 6):
        self.zip = zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self._source_file = open(source.path, "rb")
        self._source_path = source.path

    def __enter__(self) -> "PackageCopy":
        return self

    def __exit__(self, *exc) -> None:
        self._source_file.close()
        self.zip.close()

    def write(self, part: str, data: bytes, like: zipfile.ZipInfo | None = None) -> None:
        self.zip.writestr(self._info(part, like), data)

    def open(self, part: str, like: zipfile.ZipInfo | None = None, fast: bool = False,
             force_zip64: bool = False) -> BinaryIO:
        """A writable stream for a new part (compressed as it is written). ``fast`` trades a
        little size for speed, for the big result sheets: 83 MB of XML (100k rows) deflates in
        0.06 s with ISA-L's level 1 (12.4 MB) against 0.27 s with zlib's level 1 (13.7 MB) and
        0.87 s at zlib's default (10.2 MB)."""
        info = self._info(part, like)
        if fast and _isal_zlib is None:
            # ZipFile.open takes the level from the ZipInfo (a public name only from Python 3.13).
            info._compresslevel = 1
        stream = self.zip.open(info, "w", force_zip64=force_zip64)
        if fast and _isal_zlib is not None:
            # zipfile has no way to plug in another deflate; its writer calls only compress()
            # and flush() on this object, which ISA-L's compressobj has with zlib's meaning.
            stream._compressor = _isal_zlib.compressobj(1, _isal_zlib.DEFLATED, -15)
        return stream

    def copy_raw(self, info: zipfile.ZipInfo, checked: bool = False) -> None:
        """Copy a member of the source exactly: compressed bytes, CRC, sizes and date.

        The bytes are inflated on the way to check them (local header, stream, size, CRC-32),
        so a damaged part never reaches the output; ``checked`` skips that for a part already
        checked in this run (the contract sheets, while the reader scanned them)."""
        check = None if checked else _Check(self._source_path, info)
        out = zipfile.ZipInfo(info.filename, info.date_time)
        out.compress_type, out.CRC = info.compress_type, info.CRC
        out.compress_size, out.file_size = info.compress_size, info.file_size
        out.external_attr, out.create_system = info.external_attr, info.create_system
        # Sizes go in the local header (no data descriptor); any zip64 field is written afresh.
        out.flag_bits = info.flag_bits & ~0x08
        out.extra = _without_zip64(info.extra)
        src = self._source_file
        pieces = _compressed(src, info, self._source_path)
        # zipfile has no public raw-copy API; this follows what ZipFile._open_to_write and
        # _ZipWriteFile.close do for a member whose CRC and sizes are known in advance.
        zf = self.zip
        zip64 = out.file_size > zipfile.ZIP64_LIMIT or out.compress_size > zipfile.ZIP64_LIMIT
        zf.fp.seek(zf.start_dir)
        out.header_offset = zf.fp.tell()
        zf._writecheck(out)
        zf._didModify = True
        zf.fp.write(out.FileHeader(zip64))
        for piece in pieces:
            if check is not None:
                for _ in check.feed(piece):
                    pass
            zf.fp.write(piece)
        if check is not None:
            check.finish()
        zf.start_dir = zf.fp.tell()
        zf.filelist.append(out)
        zf.NameToInfo[out.filename] = out

    def write_recompressed(self, part: "Recompressed") -> None:
        """Write a part :class:`Recompressed` on a thread: its deflated bytes as they are, with
        its CRC and sizes (waits for the thread)."""
        spool, crc, size, compressed = part.result()
        info = part.info
        out = zipfile.ZipInfo(info.filename, info.date_time)
        out.compress_type, out.CRC = zipfile.ZIP_DEFLATED, crc
        out.compress_size, out.file_size = compressed, size
        out.external_attr, out.create_system = info.external_attr, info.create_system
        zf = self.zip
        zip64 = size > zipfile.ZIP64_LIMIT or compressed > zipfile.ZIP64_LIMIT
        zf.fp.seek(zf.start_dir)
        out.header_offset = zf.fp.tell()
        zf._writecheck(out)
        zf._didModify = True
        zf.fp.write(out.FileHeader(zip64))
        with spool:
            spool.seek(0)
            while piece := spool.read(1 << 20):
                zf.fp.write(piece)
        zf.start_dir = zf.fp.tell()
        zf.filelist.append(out)
        zf.NameToInfo[out.filename] = out

    @staticmethod
    def _info(part: str, like: zipfile.ZipInfo | None) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(part, like.date_time if like is not None else (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = like.external_attr if like is not None else 0o600 << 16
        return info


class Recompressed:
    """A part of ``path`` inflated (and checked), its first piece edited by ``edit``, and deflated
    again, on a thread of its own: started early, it is done by the time the writer needs it
    (ISA-L and zlib work without the GIL, beside the rendering of the result sheets)."""

    def __init__(self, path: Path, info: zipfile.ZipInfo, edit):
        self.info = info
        self._spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # a bigger part waits on disk
        self._done: tuple | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(Path(path), edit), name="ces-xl-recompress",
                                        daemon=True)
        self._thread.start()

    def _run(self, path: Path, edit) -> None:
        deflate = (_isal_zlib or zlib).compressobj(1, zlib.DEFLATED, -15)
        crc32 = (_isal_zlib or zlib).crc32
        crc = size = compressed = 0
        try:
            with open(path, "rb") as handle:
                for n, chunk in enumerate(member_chunks(handle, self.info, path, 1 << 20)):  # memory stays low
                    if n == 0:
                        chunk = edit(chunk)
                    crc, size = crc32(chunk, crc), size + len(chunk)
                    out = deflate.compress(chunk)
                    compressed += len(out)
                    self._spool.write(out)
            out = deflate.flush()
            self._spool.write(out)
            self._done = (crc, size, compressed + len(out))
        except BaseException as exc:  # handed to the writer by result()
            self._error = exc

    def result(self):
        """(the spooled deflated bytes, CRC-32, size, compressed size); the thread's error raised."""
        self._thread.join()
        if self._error is not None:
            self._spool.close()
            raise self._error
        return (self._spool, *self._done)

    def discard(self) -> None:
        self._thread.join()
        self._spool.close()


def write_behind(stream: BinaryIO, chunks: Iterator[bytes], depth: int = 4) -> None:
    """Write ``chunks`` to ``stream`` from a second thread, so that deflating one chunk (zlib
    releases the GIL) overlaps with producing the next on the other core."""
    pending: queue.Queue = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []

    def drain() -> None:
        while (chunk := pending.get()) is not None:
            if not failure:
                try:
                    stream.write(chunk)
                except BaseException as exc:  # e.g. disk full: reported by the producer
                    failure.append(exc)

    writer = threading.Thread(target=drain, name="ces-xl-deflate", daemon=True)
    writer.start()
    try:
        for chunk in chunks:
            if failure:
                break
            pending.put(chunk)
    finally:
        pending.put(None)
        writer.join()
    if failure:
        raise failure[0]


def _without_zip64(extra: bytes) -> bytes:
    out, i = b"", 0
    while i + 4 <= len(extra):
        kind, size = struct.unpack("<HH", extra[i:i + 4])
        if kind != 0x0001:
            out += extra[i:i + 4 + size]
        i += 4 + size
    return out


def content_types_with(xml: bytes, add: dict[str, str], remove: Iterable[str]) -> bytes:
    """``[Content_Types].xml`` with Overrides added (part -> content type) and removed, edited
    as text so the rest stays as it was."""
    text = xml.decode("utf-8")
    for part in remove:
        text = re.sub(rf'<(\w+:)?Override\b[^>]*\bPartName="/{re.escape(part)}"[^>]*/>', "", text)
    prefix = (re.search(r"<(\w+:)?Types\b", text).group(1) or "")
    existing = set(re.findall(r'\bPartName="/([^"]+)"', text))
    extra = "".join(f'<{prefix}Override PartName="/{part}" ContentType="{kind}"/>'
                    for part, kind in add.items() if part not in existing)
    if not re.search(r'<(\w+:)?Default\b[^>]*\bExtension="rels"', text, re.I):  # the sheets' .rels parts
        extra += f'<{prefix}Default Extension="rels" ContentType="{RELS_CONTENT_TYPE}"/>'

    at = text.rindex(f"</{prefix}Types>")
    return (text[:at] + extra + text[at:]).encode("utf-8")


def relationships_with(xml: bytes | None, add: list[tuple[str, str, str]], remove_ids: Iterable[str] = ()) -> bytes:
    """A ``.rels`` part with relationships (id, type, target) added and some removed by id."""
    text = xml.decode("utf-8") if xml else f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' \
                                          f'<Relationships xmlns="{PKG_REL_NS}"></Relationships>'
    for rid in remove_ids:
        text = re.sub(rf'<(\w+:)?Relationship\b[^>]*\bId="{re.escape(rid)}"[^>]*/>', "", text)
    prefix = (re.search(r"<(\w+:)?Relationships\b", text).group(1) or "")
    extra = "".join(f'<{prefix}Relationship Id="{rid}" Type="{kind}" Target="{target}"/>'
                    for rid, kind, target in add)
    if re.search(rf"<{prefix}Relationships\b[^>]*/>", text):  # an empty self-closed list
        text = re.sub(rf"(<{prefix}Relationships\b[^>]*?)\s*/>", rf"\1></{prefix}Relationships>", text)
    at = text.rindex(f"</{prefix}Relationships>")
    return (text[:at] + extra + text[at:]).encode("utf-8")


def free_id(taken: Iterable[str], stem: str = "rId") -> str:
    taken = set(taken)
    n = 1
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"


def free_part(names: Iterable[str], pattern: str) -> str:
    """The first ``pattern.format(n)`` (n = 1, 2, ...) not among ``names`` (any case)."""
    taken = {n.casefold() for n in names}
    n = 1
    while pattern.format(n).casefold() in taken:
        n += 1
    return pattern.format(n)
