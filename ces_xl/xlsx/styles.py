"""Add the few cell styles the result sheets need to a workbook's ``xl/styles.xml``.

The existing styles part is edited as text: new ``<numFmt>``, ``<font>``, ``<fill>``, ``<xf>``
and ``<dxf>`` elements are appended to their lists and the ``count`` attributes updated, so
every style index the other sheets use stays valid and every byte of what was there is kept.
(Re-serialising with an XML library would rename namespace prefixes that ``mc:Ignorable``
refers to, which Excel reports as a corrupt file.)
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .package import MAIN_NS


# Child lists of <styleSheet>, in the order the schema requires.
_SECTIONS = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
             "tableStyles", "colors", "extLst")
_ITEM = {"numFmts": "numFmt", "fonts": "font", "fills": "fill", "borders": "border", "cellStyleXfs": "xf",
         "cellXfs": "xf", "dxfs": "dxf"}
# The children of <font> (CT_Font) in the order Excel writes them, which is the order the Open XML
# SDK's validator (Microsoft's check of what Excel accepts) requires: it reports a font written in
# any other order, e.g. openpyxl's <name>, <family>, <color>, <sz>.
FONT_ORDER = ("b", "i", "strike", "condense", "extend", "outline", "shadow", "u", "vertAlign", "sz", "color",
              "name", "family", "charset", "scheme")
# Excel's built-in number formats that the layouts use (no <numFmt> needed).
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}
# Every built-in number format's code (ECMA-376 Part 1, 18.8.30), to name a cell's format by id.
BUILTIN_CODES = {0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00",
                 12: "# ?/?", 13: "# ??/??", 14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
                 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm",
                 37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)",
                 40: "#,##0.00;[Red](#,##0.00)", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@"}
_FIRST_CUSTOM_FORMAT = 164

MINIMAL_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{MAIN_NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
    '<family val="2"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/>'
    '<top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
    'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
    'borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    '</cellStyles></styleSheet>')


@dataclass(frozen=True)
class CellStyle:
    """What a result cell looks like; every field optional."""

    number_format: str | None = None
    bold: bool = False
    size: float | None = None        # font size in points
    fill: str | None = None          # solid background, RRGGBB
    center: bool = False


class StyleSheet:
    """The styles part of one workbook, with styles added on demand.

    ``xf(CellStyle(...))`` returns the ``s=`` index for cells; ``dxf(fill)`` returns the
    ``dxfId`` of a conditional-format fill. ``to_bytes()`` gives the edited part.
    """

    def __init__(self, xml: bytes | str | None):
        self._xml = (xml.decode("utf-8") if isinstance(xml, bytes) else xml) or MINIMAL_STYLES
        root = re.search(r"<(\w+:)?styleSheet\b", self._xml)
        if root is None:
            raise ValueError("xl/styles.xml has no <styleSheet> element")
        self._p = root.group(1) or ""
        self._new: dict[str, list[str]] = {name: [] for name in _SECTIONS}
        # What each list holds already: a style added by an earlier run is found, not added again.
        self._existing = {name: self._children(name) for name in _ITEM}
        self._counts = {name: len(children) for name, children in self._existing.items()}
        self._formats = self._existing_formats()
        self._xfs: dict[CellStyle, int] = {}
        self._fonts: dict[tuple, int] = {}
        self._fills: dict[str, int] = {}
        self._dxfs: dict[str, int] = {}
        self._base_font = self._first_font()
        self._has_style_xfs = self._counts["cellStyleXfs"] > 0

    # --- reading ---------------------------------------------------------------------------

    def number_format(self, style: int) -> str | None:
        """The number format code of cell style ``style`` (a cell's ``s``); None for General
        or a style that does not exist."""
        xfs = self._existing["cellXfs"]
        if not 0 <= style < len(xfs):
            return None
        found = re.search(r'\bnumFmtId\s*=\s*["\'](\d+)["\']', xfs[style].split(">", 1)[0])
        number = int(found.group(1)) if found else 0
        code = next((c for c, i in self._formats.items() if i == number), None) or BUILTIN_CODES.get(number)
        return None if code in (None, "General") else code

    # --- adding ---------------------------------------------------------------------------

    def xf(self, style: CellStyle) -> int:
        if style == CellStyle():
            return 0
        if style not in self._xfs:
            p = self._p
            attrs = [f'numFmtId="{self._format_id(style.number_format)}"',
                     f'fontId="{self._font_id(style.bold, style.size)}"',
                     f'fillId="{self._fill_id(style.fill)}"', 'borderId="0"']
            if self._has_style_xfs:
                attrs.append('xfId="0"')
            for flag, name in ((style.number_format, "applyNumberFormat"), (style.bold or style.size, "applyFont"),
                               (style.fill, "applyFill"), (style.center, "applyAlignment")):
                if flag:
                    attrs.append(f'{name}="1"')
            inner = f'<{p}alignment horizontal="center"/>' if style.center else ""
            self._xfs[style] = self._add("cellXfs", f'<{p}xf {" ".join(attrs)}>{inner}</{p}xf>')
        return self._xfs[style]

    def dxf(self, fill: str) -> int:
        """A differential format (for conditional formatting) that fills the cell."""
        if fill not in self._dxfs:
            solid = self._solid(fill, f'rgb="FF{fill}"')
            self._dxfs[fill] = self._add("dxfs", f"<{self._p}dxf>{solid}</{self._p}dxf>")
        return self._dxfs[fill]

    def to_bytes(self) -> bytes:
        xml = self._xml
        for name in _SECTIONS:
            if self._new[name]:
                xml = self._append(xml, name, self._new[name])
        return xml.encode("utf-8")

    # --- the pieces -----------------------------------------------------------------------

    def _add(self, section: str, element: str) -> int:
        if element in self._existing[section]:
            return self._existing[section].index(element)
        index = self._counts[section]
        self._new[section].append(element)
        self._counts[section] += 1
        return index

    def _format_id(self, code: str | None) -> int:
        if code is None:
            return 0
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        if code not in self._formats:
            new_id = max([_FIRST_CUSTOM_FORMAT - 1, *self._formats.values()]) + 1
            self._formats[code] = new_id
            self._add("numFmts", f'<{self._p}numFmt numFmtId="{new_id}" '
                                 f'formatCode="{html.escape(code, quote=True)}"/>')
        return self._formats[code]

    def _font_id(self, bold: bool, size: float | None) -> int:
        if not bold and size is None:
            return 0
        key = (bold, size)
        if key not in self._fonts:
            # The workbook's own first font (its typeface, colour, family, scheme), made bold
            # and/or resized, with its children in the schema's order whatever order it had.
            p = self._p
            start, children = self._base_font
            replaced = {"b", "sz"} if size is not None else {"b"}
            children = [c for c in children if _local_name(c) not in replaced]
            if size is not None:
                children.append(f'<{p}sz val="{size:g}"/>')
            if bold:
                children.append(f"<{p}b/>")
            self._fonts[key] = self._add("fonts", f"{start}{''.join(in_font_order(children))}</{p}font>")
        return self._fonts[key]

    def _fill_id(self, fill: str | None) -> int:
        if fill is None:
            return 0
        if fill not in self._fills:
            self._fills[fill] = self._add("fills", self._solid(fill, 'indexed="64"'))
        return self._fills[fill]

    def _solid(self, color: str, background: str) -> str:
        """A solid <fill> of ``color`` (RRGGBB); ``background`` is the bgColor's attribute."""
        p = self._p
        return (f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="FF{color}"/>'
                f'<{p}bgColor {background}/></{p}patternFill></{p}fill>')

    def _section(self, xml: str, name: str) -> re.Match | None:
        p = re.escape(self._p)
        return re.search(rf"<{p}{name}\b[^>]*?(?:/>|>.*?</{p}{name}>)", xml, re.S)

    def _children(self, name: str) -> list[str]:
        """The elements of list ``name`` (e.g. each <xf> of <cellXfs>), as text."""
        found = self._section(self._xml, name)
        if found is None:
            return []
        p, item = re.escape(self._p), _ITEM[name]
        return re.findall(rf"<{p}{item}(?=[\s/>])[^>]*?(?:/>|>.*?</{p}{item}>)", found.group(0), re.S)

    def _existing_formats(self) -> dict[str, int]:
        found = self._section(self._xml, "numFmts")
        formats: dict[str, int] = {}
        for element in re.findall(rf"<{re.escape(self._p)}numFmt\b[^>]*>", found.group(0) if found else ""):
            attrs = dict((k, html.unescape(v)) for k, _, v in re.findall(r'(\w+)=(["\'])(.*?)\2', element))
            if "numFmtId" in attrs and "formatCode" in attrs:
                formats.setdefault(attrs["formatCode"], int(attrs["numFmtId"]))
        return formats

    def _first_font(self) -> tuple[str, list[str]]:
        """The start tag and the child elements of the workbook's first font."""
        p = re.escape(self._p)
        fonts = self._section(self._xml, "fonts")
        font = re.search(rf"<{p}font\b[^>]*?(?:/>|>.*?</{p}font>)", fonts.group(0), re.S) if fonts else None
        if font is None or font.group(0).endswith("/>"):
            return f"<{self._p}font>", [f'<{self._p}sz val="11"/>', f'<{self._p}name val="Calibri"/>']
        start, inner = re.match(r"(<[^>]*>)(.*)</[^>]*>\Z", font.group(0), re.S).groups()
        return start, _child_elements(inner)

    def _append(self, xml: str, name: str, elements: list[str]) -> str:
        p = self._p
        total = self._counts.get(name, len(elements))
        found = self._section(xml, name)
        if found is None:
            # Create the list before the first later section that exists, else at the end.
            later = [m.start() for s in _SECTIONS[_SECTIONS.index(name) + 1:]
                     if (m := self._section(xml, s)) is not None]
            at = min(later) if later else xml.rindex(f"</{p}styleSheet>")
            return xml[:at] + f'<{p}{name} count="{total}">{"".join(elements)}</{p}{name}>' + xml[at:]
        old = found.group(0)
        start_tag = re.match(rf"<{re.escape(p)}{name}\b[^>]*?(?=/?>)", old).group(0)
        start_tag = re.sub(r'\scount=(["\']).*?\1', "", start_tag).rstrip() + f' count="{total}"'
        body = "" if old.endswith("/>") and not old.endswith(f"</{p}{name}>") else \
            old[old.index(">") + 1:old.rindex(f"</{p}{name}>")]
        return xml[:found.start()] + f"{start_tag}>{body}{''.join(elements)}</{p}{name}>" + xml[found.end():]


def _child_elements(inner: str) -> list[str]:
    """The child elements of an element whose content is ``inner``, as text (comments dropped)."""
    inner = re.sub(r"<!--.*?-->", "", inner, flags=re.S)
    return [m.group(0) for m in re.finditer(r"<([\w.-]+:)?([\w.-]+)\b[^>]*?(?:/>|>.*?</\1?\2\s*>)", inner, re.S)]


def _local_name(element: str) -> str:
    return re.match(r"<(?:[\w.-]+:)?([\w.-]+)", element).group(1)


def in_font_order(children: list[str]) -> list[str]:
    """``children`` of a <font> (as text) sorted into ``FONT_ORDER``; any other child keeps its
    place relative to the others, after them."""
    rank = {name: i for i, name in enumerate(FONT_ORDER)}
    return sorted(children, key=lambda child: rank.get(_local_name(child), len(FONT_ORDER)))


def fonts_in_schema_order(styles_xml: str) -> str:
    """``styles_xml`` (a whole xl/styles.xml) with the children of every <font> (in <fonts> and
    in <dxf>s) in ``FONT_ORDER`` (whitespace between them dropped); everything outside the fonts is
    kept byte for byte. For packages we write ourselves (the template, saved through openpyxl); a
    workbook being scored keeps its own fonts untouched."""
    def reorder(font: re.Match) -> str:
        start, inner, end = font.group(1), font.group(3), font.group(4)
        return start + "".join(in_font_order(_child_elements(inner))) + end

    return re.sub(r"(<([\w.-]+:)?font(?=[\s>])[^>]*(?<!/)>)(.*?)(</\2?font\s*>)", reorder, styles_xml, flags=re.S)
