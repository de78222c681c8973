"""Zip-level repair after openpyxl saves: put back the package parts it does not know.

openpyxl keeps ``xl/vbaProject.bin`` of a macro workbook (``keep_vba=True``) but drops the
package-level relationships it does not model, notably the Office ribbon (``customUI``). This
copies those parts from the input, byte for byte, with their relationships and content types.
"""
from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
import zipfile
from pathlib import Path

from defusedxml import ElementTree

_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
# Ribbon customisations (Office 2007 and 2010+ schemas).
RIBBON_TYPES = (
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
)


def carry_over_ribbon(source: Path, target: Path) -> list[str]:
    """Give ``target`` the ribbon of ``source``: the parts it lacks (copied byte for byte) and
    the package relationships to them (openpyxl keeps the part but drops the relationship).
    Returns the names of the parts copied."""
    with zipfile.ZipFile(source) as src:
        names = set(src.namelist())
        if "_rels/.rels" not in names:
            return []
        ribbon = [r for r in ElementTree.fromstring(src.read("_rels/.rels")).iter(f"{{{_PKG_REL}}}Relationship")
                  if r.get("Type") in RIBBON_TYPES]
        if not ribbon:
            return []
        with zipfile.ZipFile(target) as out:
            present = set(out.namelist())
            root_rels = out.read("_rels/.rels").decode("utf-8")
            types_xml = out.read("[Content_Types].xml").decode("utf-8")
        wanted = []
        for rel in ribbon:
            part = rel.get("Target", "").lstrip("/")
            folder = posixpath.dirname(part)
            wanted += [n for n in sorted(names) if (n == part or n.startswith(folder + "/")) and n not in present]
        linked = {(r.get("Type"), r.get("Target", "").lstrip("/"))
                  for r in ElementTree.fromstring(root_rels.encode()).iter(f"{{{_PKG_REL}}}Relationship")}
        missing_rels = [r for r in ribbon if (r.get("Type"), r.get("Target", "").lstrip("/")) not in linked]
        if not wanted and not missing_rels:
            return []
        copies = {n: src.read(n) for n in wanted}
        source_types = ElementTree.fromstring(src.read("[Content_Types].xml"))

    taken_ids = set(_ids(root_rels))
    additions = ""
    for rel in missing_rels:
        rid = rel.get("Id")
        while rid in taken_ids:
            rid += "r"
        taken_ids.add(rid)
        additions += f'<Relationship Id="{rid}" Type="{rel.get("Type")}" Target="{rel.get("Target")}"/>'
    root_rels = root_rels.replace("</Relationships>", additions + "</Relationships>")
    types_xml = _merge_types(types_xml, source_types, copies)
    _rewrite(target, {"_rels/.rels": root_rels.encode("utf-8"), "[Content_Types].xml": types_xml.encode("utf-8")},
             copies)
    return sorted(copies)


def _ids(rels_xml: str) -> list[str]:
    return [r.get("Id") for r in ElementTree.fromstring(rels_xml.encode()).iter(f"{{{_PKG_REL}}}Relationship")]


def _merge_types(types_xml: str, source_types, copies: dict[str, bytes]) -> str:
    ours = ElementTree.fromstring(types_xml.encode())
    defaults = {d.get("Extension", "").lower() for d in ours.iter(f"{{{_CT}}}Default")}
    overrides = {o.get("PartName") for o in ours.iter(f"{{{_CT}}}Override")}
    extra = ""
    for d in source_types.iter(f"{{{_CT}}}Default"):
        ext = d.get("Extension", "")
        if ext.lower() not in defaults and any(n.lower().endswith("." + ext.lower()) for n in copies):
            extra += f'<Default Extension="{ext}" ContentType="{d.get("ContentType")}"/>'
    for o in source_types.iter(f"{{{_CT}}}Override"):
        if o.get("PartName", "").lstrip("/") in copies and o.get("PartName") not in overrides:
            extra += f'<Override PartName="{o.get("PartName")}" ContentType="{o.get("ContentType")}"/>'
    return types_xml.replace("</Types>", extra + "</Types>")


def _rewrite(target: Path, replaced: dict[str, bytes], added: dict[str, bytes]) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".zip.tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(target) as old, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                if info.filename in replaced:
                    new.writestr(info, replaced[info.filename])
                else:
                    with old.open(info) as src, new.open(info, "w") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
            for name, data in added.items():
                new.writestr(name, data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
