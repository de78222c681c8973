"""Write the result sheets into a copy of the input workbook, at the level of the package.

Every part of the input that the results do not change is copied raw (see
:class:`~ces_xl.xlsx.package.PackageCopy`): the Activity sheet, shared strings, other sheets,
macros, the ribbon, pictures. Only these are written new:

* the Scores and Summary worksheet parts, streamed from :mod:`ces_xl.xlsx.sheetxml`, with their
  table, drawing and chart parts;
* ``xl/styles.xml``, with the few styles the results use appended (see :mod:`.styles`);
* ``xl/workbook.xml`` and its relationships (the sheet list), and ``[Content_Types].xml``.

Earlier result sheets are replaced in place (same tab position, same part name); the parts only
they used (their tables, drawings, charts) are dropped, and so is ``calcChain.xml``, which Excel
rebuilds. Memory stays flat: nothing is loaded but the small XML parts edited.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from defusedxml import ElementTree

from ..grid import find_sheet
from ..errors import CESError, InputError
from ..layout import ResultSheet, check_replaceable, free_name
from .a1 import quote_sheet
from .package import (CONTENT_TYPES, CONTENT_TYPES_PART, REL_CALC_CHAIN, REL_CHART, REL_DRAWING,
                      REL_STYLES, REL_TABLE, REL_WORKSHEET, DOC_REL, REPAIR_FIX, Package,
                      PackageCopy, Recompressed, content_types_with, damaged, decode_text, free_id, free_part, member_key,
                      relationships_with, relative_target, rels_part, take_checked, write_behind)
from .sheetxml import SheetLinks, chart_xml, drawing_xml, table_xml, worksheet_chunks
from .styles import StyleSheet

ZIP64_SAFE_BYTES = 1 << 30


@dataclass
class _NewSheet:
    spec: ResultSheet
    part: str
    rel_id: str
    replaces: str | None                   # the existing sheet name it replaces
    tables: list[tuple[str, str, int, str]] = field(default_factory=list)  # part, rel id, table id, name
    drawing: tuple[str, str] | None = None  # part, rel id
    charts: list[tuple[str, str]] = field(default_factory=list)  # part, rel id (in the drawing's rels)


def write_results(source: Path, target: Path, sheets: list[ResultSheet],
                  progress: Callable[[int], None] | None = None) -> None:
    """Write ``source`` plus the result ``sheets`` to ``target`` (a fresh temporary path, see
    :func:`ces_xl.xlsx.atomic.atomic_output`). ``progress(n)`` is told of every ``n`` data rows
    written. Everything is checked before the first byte is written."""
    checked = take_checked(source)  # parts the reader checked (the contract sheets): not inflated again
    with Package(source) as package:  # a damaged zip is an InputError naming the file or the part
        try:
            _write(package, target, sheets, progress, checked)
        except (LookupError, ValueError, AttributeError, TypeError, IndexError, ElementTree.ParseError) as exc:
            if isinstance(exc, CESError):
                raise
            raise InputError(f"cannot add the results to this workbook's structure ({type(exc).__name__}: {exc})",
                             where=str(source), fix=REPAIR_FIX) from None


def _write(package: Package, target: Path, sheets: list[ResultSheet], progress, checked: set) -> None:
    workbook_part = package.main_part()
    workbook_xml = decode_text(package.path, workbook_part, package.read(workbook_part))
    workbook_rels = package.relationships(workbook_part)
    rel_targets = {r.id: r.target for r in workbook_rels}
    elements = _sheet_elements(workbook_xml)
    names = [e.name for e in elements]

    # All checks first: a Scores or Summary sheet that ces-xl did not write is never replaced.
    plans: list[_NewSheet] = []
    taken_parts = set(package.names)
    taken_rel_ids = {r.id for r in workbook_rels}
    for spec in sheets:
        existing = find_sheet(names, spec.name)
        if existing is not None:
            element = elements[names.index(existing)]
            part = rel_targets.get(element.rel_id, "")
            check_replaceable(existing, package.first_row(part))
            plans.append(_NewSheet(spec, part, element.rel_id, existing))
        else:
            part = free_part(taken_parts, "xl/worksheets/sheet{}.xml")
            rel_id = free_id(taken_rel_ids)
            taken_parts.add(part)
            taken_rel_ids.add(rel_id)
            plans.append(_NewSheet(spec, part, rel_id, None))

    replaced = {p.part for p in plans if p.replaces}
    dropped = package.parts_only_reachable_from(replaced, keep=replaced) if replaced else set()
    dropped_rel_ids = []
    if replaced:  # the calculation chain may list formula cells of the replaced sheets
        for rel in workbook_rels:
            if rel.type == REL_CALC_CHAIN:
                dropped.add(rel.target)
                dropped_rel_ids.append(rel.id)

    # Names: table names are unique in a workbook and may not clash with defined names.
    taken_tables, table_ids = _existing_tables(package, dropped)
    taken_tables |= set(_defined_names(workbook_xml))
    next_table_id = max(table_ids, default=0) + 1
    for plan in plans:
        sheet_rel_ids: set[str] = set()
        for block in plan.spec.blocks:
            if block.excel_table:
                part = free_part(taken_parts, "xl/tables/table{}.xml")
                name = free_name(block.excel_table, taken_tables)
                rel_id = free_id(sheet_rel_ids)
                taken_parts.add(part), taken_tables.add(name), sheet_rel_ids.add(rel_id)
                plan.tables.append((part, rel_id, next_table_id, name))
                next_table_id += 1
        if plan.spec.charts:
            drawing = free_part(taken_parts, "xl/drawings/drawing{}.xml")
            taken_parts.add(drawing)
            plan.drawing = (drawing, free_id(sheet_rel_ids))
            for _ in plan.spec.charts:
                chart = free_part(taken_parts, "xl/charts/chart{}.xml")
                taken_parts.add(chart)
                plan.charts.append((chart, free_id(r for _, r in plan.charts)))

    styles_part = next((r.target for r in workbook_rels if r.type == REL_STYLES), None)
    if styles_part is not None and styles_part not in package.names:
        # The other sheets' cells name styles by number: new styles in place of the lost ones
        # would give them the wrong ones, or ones that do not exist.
        raise damaged(package.path, rels_part(workbook_part),
                      f"it names {styles_part} as the styles part, and there is no such part")
    styles = StyleSheet(package.read(styles_part) if styles_part in package.names else None)
    new_rels = [(p.rel_id, REL_WORKSHEET, relative_target(workbook_part, p.part)) for p in plans if not p.replaces]
    if styles_part is None or styles_part not in package.names:
        styles_part = styles_part or "xl/styles.xml"
        if not any(r.type == REL_STYLES for r in workbook_rels):
            new_rels.append((free_id(taken_rel_ids), REL_STYLES, relative_target(workbook_part, styles_part)))

    added_types = {styles_part: CONTENT_TYPES[REL_STYLES]}
    for plan in plans:
        added_types[plan.part] = CONTENT_TYPES[REL_WORKSHEET]
        added_types |= {part: CONTENT_TYPES[REL_TABLE] for part, *_ in plan.tables}
        if plan.drawing:
            added_types[plan.drawing[0]] = CONTENT_TYPES[REL_DRAWING]
        added_types |= {part: CONTENT_TYPES[REL_CHART] for part, _ in plan.charts}
    # The final tab order: sheets replaced in place, new ones after the last.
    order = names + [p.spec.name for p in plans if not p.replaces]
    position = {(p.replaces or p.spec.name): i for i, p in enumerate(plans)}
    tabs = {plans[i].spec.name: order.index(name) for name, i in position.items()}
    active = next((tabs[p.spec.name] for p in plans if p.spec.active), None)
    titles = {tabs[p.spec.name]: f"{quote_sheet(p.spec.name)}!${p.spec.print_title_rows[0] + 1}:"
                                 f"${p.spec.print_title_rows[1] + 1}" for p in plans if p.spec.print_title_rows}
    # A workbook opened on another sheet than the one that was selected would show both
    # selected: grouped, so that typing in one types in both. The other sheets are deselected.
    deselect = set()
    if active is not None:
        for element in elements:
            part = rel_targets.get(element.rel_id, "")
            if element.name not in position and part in package.names and _tab_selected(package, part):
                deselect.add(part)
    new_workbook = _workbook_with(workbook_xml, elements, plans)
    new_workbook = _with_views(new_workbook, active, titles).encode("utf-8")
    workbook_rels_part = rels_part(workbook_part)
    old_rels = package.read(workbook_rels_part) if workbook_rels_part in package.names else None
    if old_rels is not None:
        decode_text(package.path, workbook_rels_part, old_rels)
    new_workbook_rels = relationships_with(old_rels, new_rels, dropped_rel_ids)
    if CONTENT_TYPES_PART not in package.names:
        raise damaged(package.path, CONTENT_TYPES_PART, "it is missing")
    old_types = package.read(CONTENT_TYPES_PART)
    decode_text(package.path, CONTENT_TYPES_PART, old_types)
    new_types = content_types_with(old_types, added_types, dropped)

    written = {p.part for p in plans} | {rels_part(p.part) for p in plans}
    infos = {info.filename: info for info in package.infos}
    # Deselected sheets are re-deflated on threads of their own meanwhile, and written last.
    redone = [Recompressed(package.path, infos[part], _deselected) for part in sorted(deselect)]
    try:
        _copy(package, target, plans, styles, styles_part, progress, checked, dropped, written, deselect, redone,
              (new_types, workbook_part, new_workbook, workbook_rels_part, new_workbook_rels))
    finally:
        for part in redone:
            part.discard()


def _copy(package, target, plans, styles, styles_part, progress, checked, dropped, written, deselect, redone,
          edited) -> None:
    new_types, workbook_part, new_workbook, workbook_rels_part, new_workbook_rels = edited
    infos = {info.filename: info for info in package.infos}
    with PackageCopy(target, package) as out:
        for info in package.infos:
            name = info.filename
            if name == CONTENT_TYPES_PART:
                out.write(name, new_types, like=info)
            elif name == workbook_part:
                out.write(name, new_workbook, like=info)
            elif name == workbook_rels_part:
                out.write(name, new_workbook_rels, like=info)
            elif name in dropped or name in written or name == styles_part or name in deselect:
                continue
            else:
                out.copy_raw(info, checked=member_key(info) in checked)
        if workbook_rels_part not in package.names:
            out.write(workbook_rels_part, new_workbook_rels)
        for plan in plans:
            _write_sheet(out, plan, styles, infos.get(plan.part), progress)
        out.write(styles_part, styles.to_bytes(), like=infos.get(styles_part))
        for part in redone:
            out.write_recompressed(part)


def _write_sheet(out: PackageCopy, plan: _NewSheet, styles: StyleSheet, like, progress) -> None:
    spec = plan.spec
    links = SheetLinks(tables=[rel_id for _, rel_id, _, _ in plan.tables],
                       drawing=plan.drawing[1] if plan.drawing else None)
    # zipfile refuses to grow a part past 2 GiB unless told to use ZIP64 from the start; only
    # a sheet of very many metrics at a million rows gets there (about 60 bytes of XML a cell).
    cells = sum(len(b.frame) * len(b.frame.columns) for b in spec.blocks)
    with out.open(plan.part, like=like, fast=True, force_zip64=cells * 60 > ZIP64_SAFE_BYTES) as stream:
        write_behind(stream, worksheet_chunks(spec, styles, links, progress))
    rels = [(rel_id, REL_TABLE, relative_target(plan.part, part)) for part, rel_id, _, _ in plan.tables]
    table_blocks = [b for b in spec.blocks if b.excel_table]
    for (part, _, table_id, name), block in zip(plan.tables, table_blocks):
        out.write(part, table_xml(table_id, name, block))
    if plan.drawing:
        drawing, rel_id = plan.drawing
        rels.append((rel_id, REL_DRAWING, relative_target(plan.part, drawing)))
        out.write(drawing, drawing_xml(spec.charts, [r for _, r in plan.charts]))
        out.write(rels_part(drawing), relationships_with(
            None, [(r, REL_CHART, relative_target(drawing, part)) for part, r in plan.charts]))
        for (part, _), chart in zip(plan.charts, spec.charts):
            out.write(part, chart_xml(spec.name, chart))
    if rels:
        out.write(rels_part(plan.part), relationships_with(None, rels))


# --- which sheet is selected ---------------------------------------------------------------

_SELECTED = re.compile(rb'(<(?:\w+:)?sheetView\b[^>]*?)\s+tabSelected\s*=\s*["\'](?:1|true)["\']')


def _tab_selected(package: Package, part: str) -> bool:
    """Whether a sheet is selected (its sheetView says tabSelected), from the head of its XML."""
    with package.open(part) as stream:
        head = stream.read(1 << 16)
    end = head.find(b"sheetData")
    return _SELECTED.search(head, 0, end if end >= 0 else len(head)) is not None


def _deselected(head: bytes) -> bytes:
    """The first piece of a sheet's XML with its tab no longer selected."""
    return _SELECTED.sub(rb"\1", head, count=1)


# --- workbook.xml ----------------------------------------------------------------------------

@dataclass
class _SheetElement:
    start: int
    end: int
    text: str
    name: str
    sheet_id: int
    rel_id: str


_ATTR = re.compile(r'([\w:.-]+)\s*=\s*(["\'])(.*?)\2', re.S)


def _sheet_elements(workbook_xml: str) -> list[_SheetElement]:
    section = re.search(r"<((?:\w+:)?)sheets\b[^>]*>(.*?)</\1sheets>", workbook_xml, re.S)
    if section is None:
        raise CESError("the workbook lists no sheets (xl/workbook.xml)", fix="open it in Excel and save it again")
    found = []
    for m in re.finditer(r"<(\w+:)?sheet\b[^>]*?/?>", section.group(2)):
        attrs = {k: html.unescape(v) for k, _, v in _ATTR.findall(m.group(0))}
        rel_id = next((v for k, v in attrs.items() if k.endswith(":id")), "")
        start = section.start(2) + m.start()
        found.append(_SheetElement(start, start + len(m.group(0)), m.group(0), attrs.get("name", ""),
                                   int(attrs.get("sheetId", "0") or 0), rel_id))
    return found


def _workbook_with(xml: str, elements: list[_SheetElement], plans: list[_NewSheet]) -> str:
    """workbook.xml with replaced sheets renamed in place and new sheets appended."""
    by_name = {e.name: e for e in elements}
    edits: list[tuple[int, int, str]] = []
    for plan in plans:
        if plan.replaces:
            element = by_name[plan.replaces]
            renamed = _ATTR.sub(lambda m: f'name="{html.escape(plan.spec.name)}"' if m.group(1) == "name"
                                else m.group(0), element.text)
            edits.append((element.start, element.end, renamed))
    sheets_end = re.search(r"</(\w+:)?sheets>", xml)
    prefix = sheets_end.group(1) or ""
    # Reuse the relationships prefix only if the root element declares it (in scope for <sheets>).
    root = re.search(r"<(?:\w+:)?workbook\b[^>]*>", xml)
    rel_prefix = re.search(rf'xmlns:(\w+)="{re.escape(DOC_REL)}"', root.group(0)) if root else None
    next_id = max((e.sheet_id for e in elements), default=0) + 1
    added = ""
    for plan in plans:
        if not plan.replaces:
            rel = f'{rel_prefix.group(1)}:id="{plan.rel_id}"' if rel_prefix else \
                f'xmlns:r="{DOC_REL}" r:id="{plan.rel_id}"'
            added += f'<{prefix}sheet name="{html.escape(plan.spec.name)}" sheetId="{next_id}" {rel}/>'
            next_id += 1
    edits.append((sheets_end.start(), sheets_end.start(), added))
    for start, end, text in sorted(edits, reverse=True):
        xml = xml[:start] + text + xml[end:]
    return xml


def _with_views(xml: str, active: int | None, titles: dict[int, str]) -> str:
    """workbook.xml opening on tab ``active``, and with the rows each sheet repeats on every
    printed page (``titles``: tab position -> ``'Sheet'!$1:$1``), replacing earlier ones."""
    prefix = (re.search(r"<(\w+:)?workbook\b", xml).group(1) or "") if re.search(r"<(\w+:)?workbook\b", xml) else ""
    if active is not None:
        view = re.search(rf"<{prefix}workbookView\b[^>]*?/?>", xml)
        if view is not None:
            tag = re.sub(r'\s(activeTab|firstSheet)\s*=\s*"[^"]*"', "", view.group(0))
            tag = re.sub(r"\s*(/?>)$", rf' activeTab="{active}"\1', tag)
            xml = xml[:view.start()] + tag + xml[view.end():]
        else:
            sheets = re.search(rf"<{prefix}sheets\b", xml)
            xml = xml[:sheets.start()] + f'<{prefix}bookViews><{prefix}workbookView activeTab="{active}"/>' \
                f"</{prefix}bookViews>" + xml[sheets.start():]
    if not titles:
        return xml
    for index in titles:  # an earlier run's print titles for the same tab
        xml = re.sub(rf'<{prefix}definedName\b(?=[^>]*\bname="_xlnm\.Print_Titles")(?=[^>]*\blocalSheetId="{index}")'
                     rf"[^>]*>.*?</{prefix}definedName>", "", xml, flags=re.S)
    names = "".join(f'<{prefix}definedName name="_xlnm.Print_Titles" localSheetId="{i}">{html.escape(ref, quote=False)}'
                    f"</{prefix}definedName>" for i, ref in sorted(titles.items()))
    existing = re.search(rf"</{prefix}definedNames>", xml)
    if existing is not None:
        return xml[:existing.start()] + names + xml[existing.start():]
    empty = re.search(rf"<{prefix}definedNames\s*/>", xml)
    if empty is not None:
        return xml[:empty.start()] + f"<{prefix}definedNames>{names}</{prefix}definedNames>" + xml[empty.end():]
    # After <sheets> and what may follow it in the schema's order (functionGroups, externalReferences).
    after = None
    for tag in ("externalReferences", "functionGroups", "sheets"):
        after = re.search(rf"</{prefix}{tag}>|<{prefix}{tag}\b[^>]*/>", xml) if tag != "sheets" else \
            re.search(rf"</{prefix}sheets>", xml)
        if after is not None:
            break
    return xml[:after.end()] + f"<{prefix}definedNames>{names}</{prefix}definedNames>" + xml[after.end():]


def _defined_names(workbook_xml: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<(?:\w+:)?definedName\b[^>]*?\bname="([^"]*)"', workbook_xml)]


def _existing_tables(package: Package, dropped: set[str]) -> tuple[set[str], list[int]]:
    names, ids = set(), []
    for name in package.names:
        if name.startswith("xl/tables/") and name.endswith(".xml") and name not in dropped:
            root = package.xml(name)
            names |= {root.get("name", ""), root.get("displayName", "")} - {""}
            if (root.get("id") or "").isdigit():
                ids.append(int(root.get("id")))
    return names, ids
