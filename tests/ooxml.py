"""Microsoft's Open XML SDK validator, for checks of what Excel (rather than a lenient reader) would
accept: the npm package @ooxml-tools/validate (the SDK compiled to WebAssembly, run by Node),
pinned in tests/ooxml/package.json and installed with ``npm ci --prefix tests/ooxml``.

Starting it and its first validation take about 3 s; further files take 0.05-1 s each in the
same process, so ``validate_many`` checks any number of files in one Node process.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "ooxml"
RUNNER = HERE / "validate.mjs"
PACKAGE = HERE / "node_modules" / "@ooxml-tools" / "validate" / "package.json"
INSTALL = "npm ci --prefix tests/ooxml"

# customUI/customUI.xml of xlwings' ribbon add-in (and of every book made from it) is in the Office
# 2007 namespace but referenced with the relationship type the SDK reserves for the Office 2010
# namespace (customUI14), so the SDK cannot open those packages at all (xlwings ships it so).
RIBBON_2007_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
RIBBON_2006_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
CUSTOMUI_2006_NS = b"http://schemas.microsoft.com/office/2006/01/customui"


class ValidatorError(RuntimeError):
    """The validator itself did not run (not: it found errors)."""


def missing() -> str | None:
    """Why the validator cannot run here, or None."""
    if shutil.which("node") is None:
        return f"Node.js is not installed here (Node 20 or newer, then {INSTALL})"
    if not PACKAGE.exists():
        return f"the Open XML SDK validator is not installed here ({INSTALL})"
    return None


def describe(error: dict) -> str:
    """One validator error as a line: part, XPath in the part, error id, description."""
    return f"{error['path']['partUri']} {error['path']['xpath']}: {error['id']}: {error['description']}"


def _failure(trace: str) -> str:
    """A package the SDK could not open, as an error line (the message and the part class)."""
    message = re.search(r"^(?:\w+)?Error: (.*)$", trace, re.M)
    parts = [p for p in re.findall(r"DocumentFormat\.OpenXml\.Packaging\.(\w+Part)\.", trace) if p != "OpenXmlPart"]
    return (f"(package): the Open XML SDK cannot open it: {message.group(1) if message else trace.strip()[:300]}"
            + (f" [{parts[0]}]" if parts else ""))


def validate_many(paths, office_version: str = "Microsoft365") -> dict[Path, list[str]]:
    """Each file's validator errors (sorted lines, see ``describe``), all in one Node process. A
    package the SDK cannot open at all gets one "(package): ..." line instead."""
    paths = [Path(p) for p in paths]
    if not paths:
        return {}
    done = subprocess.run(["node", str(RUNNER), "--office-version", office_version, *map(str, paths)],
                          capture_output=True, text=True, timeout=900)
    try:
        results = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise ValidatorError(f"the validator did not run (exit {done.returncode}): {done.stderr[-2000:]}") from None
    if done.returncode != 0 or len(results) != len(paths):
        raise ValidatorError(f"the validator did not run (exit {done.returncode}): {done.stderr[-2000:]}")
    return {path: [_failure(r["failure"])] if "failure" in r else sorted(map(describe, r["errors"]))
            for path, r in zip(paths, results)}


def validate(path) -> list[str]:
    """The validator's errors for one file (one Node process: prefer ``validate_many`` for several)."""
    return validate_many([path])[Path(path)]


def new_errors(before: list[str], after: list[str]) -> list[str]:
    """The errors of an output that its input did not already have."""
    return sorted(set(after) - set(before))


def with_ribbon_the_sdk_opens(path: Path, out: Path) -> Path:
    """A copy of ``path`` whose Office 2007 ribbon (customUI/customUI.xml in the 2006/01
    namespace) is referenced with the 2006 relationship type, the one the SDK pairs with that
    namespace, so that it can open and validate everything else (the ribbon included). Other
    parts are copied unchanged."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        names = set(source.namelist())
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "_rels/.rels":
                data = re.sub(rb'<Relationship\b[^>]*>', lambda m: _retype(m.group(0), source, names), data)
            target.writestr(info.filename, data)  # not the ZipInfo: writestr() would change its offsets
    return out


def _retype(relationship: bytes, package: zipfile.ZipFile, names: set[str]) -> bytes:
    if RIBBON_2007_REL.encode() not in relationship:
        return relationship
    target = re.search(rb'Target="/?([^"]*)"', relationship)
    part = target.group(1).decode() if target else ""
    if part in names and CUSTOMUI_2006_NS in package.read(part)[:500]:
        return relationship.replace(RIBBON_2007_REL.encode(), RIBBON_2006_REL.encode())
    return relationship


@pytest.fixture(scope="session")
def ooxml_validator():
    """``validate_many``; skips (with the reason) where Node or the validator is missing, fails
    instead under CI, where .ci/run installs it."""
    reason = missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: it is required in CI (.ci/run installs it)")
        pytest.skip(f"{reason}; the Excel-strictness checks need it")
    return validate_many
