"""Build and install the CES Excel add-in (``ces_xl.xlam``): a "CES" ribbon tab, plus the UDFs.

How it is made
--------------
The add-in is not a committed binary. :func:`build_addin` starts from the ribbon add-in template
of the *installed* xlwings (``xlwings/quickstart_addin_ribbon.xlam``, the very file
``xlwings quickstart NAME --addin --ribbon`` copies) and edits it at ZIP level:

* ``customUI/customUI.xml`` is rewritten: a ``CES`` tab, an "Engagement score" group and one
  large "Score workbook" button. Its ``onAction`` is the template's own VBA callback,
  ``RibbonMyAddin.RunMain(control As IRibbonControl)``, which runs::

      Sub RunMain(control As IRibbonControl)
          mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))
          RunPython "import " & mymodule & ";" & mymodule & ".main()"
      End Sub

  i.e. it builds the Python module name from the add-in's *file name*. That is why the file
  must be called ``ces_xl.xlam``: the button then runs ``import ces_xl;ces_xl.main()``. (A
  renamed copy, e.g. ``ces_xl (1).xlam``, would import a module that does not exist.) The
  build checks that callback in the template's VBA and refuses to build if xlwings changed it.
  The template's XML namespace (``.../office/2006/01/customui``) and its ``_rels/.rels``
  relationship are kept exactly as xlwings ships them.
* ``xl/vbaProject.bin`` gets one more standard module, ``xlwings_udfs``, with the VBA wrappers
  for ``=CES_SCORE(...)`` and ``=CES_BAND(...)``, so they work without "Import Functions".
  The wrapper text comes from xlwings' own ``xlwings.udfs.generate_vba_wrapper`` (the code
  "Import Functions" runs inside Excel), with the header ``import_udfs`` writes; the module is
  added with pyOpenVBA, which also invalidates the compiled-code cache so Excel recompiles
  the project from source on first open. (xlwings' "Import Functions" replaces a module of
  the same name, so re-importing later is harmless.) What this cannot do outside Excel is
  ``Application.MacroOptions``: the function wizard shows the functions under "User Defined"
  without the per-argument help that "Import Functions" adds.
* Optionally (``config=``) the template's hidden settings sheet ``_myaddin.conf`` is renamed to
  ``myaddin.conf``, which activates it, and text settings such as ``Interpreter_Win`` are
  filled in. :func:`install_addin` uses this to pin the Python that runs ``ces-xl``, as
  ``xlwings config create`` does for the xlwings add-in; without it the add-in would run
  whatever ``python`` is first on Excel's PATH (or ``%USERPROFILE%\\.myaddin\\myaddin.conf``).
  A plain :func:`build_addin` leaves the sheet untouched, so the file is portable.

Every other part of the package is copied byte for byte (same order, same compression).

Why ZIP level, and why from the installed xlwings
-------------------------------------------------
* openpyxl refuses ``.xlam`` files, and a macro workbook saved through it loses the ribbon's
  relationship, so the add-in is never opened by a spreadsheet library.
* The template's ``xlwings`` VBA module hard-codes the DLL of its own version
  (``xlwings64-<version>.dll``) and refuses to talk to a different Python package version
  (xlwings issues #1595, #2263). Building from the installed package's template makes the
  add-in match the xlwings that runs ``ces_xl``, always; rebuild after upgrading xlwings.

:func:`install_addin` hands the built file to ``xlwings addin install --file``, which copies it
into Excel's XLSTART folder. That only makes sense where desktop Excel runs (Windows, macOS).
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import posixpath
import re
import subprocess
import sys
import tempfile
import types
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree as SafeET

from .errors import CESError, FileError, SetupError

ADDIN_NAME = "ces_xl.xlam"
"""The file name is part of the contract: the ribbon callback imports the module named after it."""
TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
UDF_MODULE = "ces_xl.udfs"
UDF_VBA_MODULE = "xlwings_udfs"  # the name xlwings' "Import Functions" uses (and replaces)

# The template's ribbon callback. It derives the Python module from the add-in's file name
# (ThisWorkbook.Name without its extension), so ces_xl.xlam runs "import ces_xl;ces_xl.main()".
CALLBACK_MODULE = "RibbonMyAddin"
CALLBACK_SUB = "RunMain"
ON_ACTION = f"{CALLBACK_MODULE}.{CALLBACK_SUB}"

_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_UI_REL_TYPES = (
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
)
_OFFICE_DOCUMENT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
_WORKSHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_SML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

_SUPERTIP = ("Scores every customer on the Activity sheet of the active workbook with the weights "
             "on its Weights tab (and the Bands and Settings sheets when present), then writes the "
             "results to Scores and Summary sheets. The input sheets are not changed.")

_REINSTALL_FIX = "reinstall xlwings (pip install --force-reinstall xlwings) and try again"


def _custom_ui(namespace: str) -> str:
    """The ribbon: tab ``CES``, group "Engagement score", one large "Score workbook" button."""
    return (
        f'<customUI xmlns={quoteattr(namespace)}>\n'
        '    <ribbon>\n'
        '        <tabs>\n'
        '            <tab id="CesTab" label="CES">\n'
        '                <group id="CesGroup" label="Engagement score">\n'
        '                    <button id="CesScoreWorkbook" label="Score workbook" size="large"'
        ' imageMso="AutoSum" screentip="Score workbook"'
        f' supertip={quoteattr(_SUPERTIP)}'
        f' onAction={quoteattr(ON_ACTION)} />\n'
        '                </group>\n'
        '            </tab>\n'
        '        </tabs>\n'
        '    </ribbon>\n'
        '</customUI>\n'
    )


# --- public API ------------------------------------------------------------------------------

def template_path() -> Path:
    """The installed xlwings' ribbon add-in template (what ``quickstart --addin --ribbon`` copies)."""
    try:
        import xlwings
    except ImportError as exc:  # pragma: no cover - xlwings is a dependency
        raise SetupError("xlwings is not installed", where="ces_xl.addin",
                         fix="pip install xlwings") from exc
    return Path(xlwings.__file__).parent / TEMPLATE_NAME


def build_addin(outdir: str | Path, *, udfs: bool = True,
                config: Mapping[str, str] | None = None) -> Path:
    """Write ``outdir/ces_xl.xlam`` from the installed xlwings' ribbon template; return its path.

    ``udfs``: add the ``=CES_SCORE``/``=CES_BAND`` VBA wrappers (module ``xlwings_udfs``).
    ``config``: text settings for the add-in's config sheet, keyed as in its column A
    (``Interpreter_Win``, ``Interpreter_Mac``, ``PYTHONPATH``, ``Conda Path``, ``Conda Env``,
    ``UDF Modules``; case-insensitive). Given, the sheet is activated; omitted, it is left as
    xlwings ships it (inactive) and the file is portable between machines.

    The file appears atomically (written beside it, then renamed); ``outdir`` is created if
    needed. Raises :class:`~ces_xl.errors.CESError` if the template is missing or not as
    expected, or ``outdir`` cannot be written.
    """
    template = template_path()
    if not template.is_file():
        raise CESError("xlwings' ribbon add-in template is missing", where=str(template), fix=_REINSTALL_FIX)
    try:
        raw = template.read_bytes()
        with zipfile.ZipFile(io.BytesIO(raw)) as package:
            infos = package.infolist()
            parts = {info.filename: package.read(info) for info in infos}
    except (OSError, zipfile.BadZipFile) as exc:
        raise CESError(f"xlwings' ribbon add-in template cannot be read ({exc})", where=str(template),
                       fix=_REINSTALL_FIX) from exc

    edits: dict[str, bytes] = {}
    ui_part = _custom_ui_part(parts, template)
    edits[ui_part] = _custom_ui(_root_namespace(parts[ui_part], ui_part, template)).encode("utf-8")

    vba_part = _vba_part(parts, template)
    new_vba = _edit_vba(raw, template, vba_part, udfs=udfs)
    if new_vba is not None:
        edits[vba_part] = new_vba
    if config:
        edits.update(_activate_config(parts, template, config))

    return _write_package(Path(outdir), infos, parts, edits)


def install_addin(path: Path | None = None) -> str:
    """Install the add-in into desktop Excel with ``xlwings addin install --file``.

    Without ``path`` a fresh ``ces_xl.xlam`` is built (UDFs included) into a temporary folder,
    with this Python pinned in its config sheet, so the button and the UDFs run the
    interpreter that has ``ces_xl`` installed. Returns a one-line description of what was done.
    Raises :class:`~ces_xl.errors.CESError` off Windows/macOS, when Excel is not installed, or
    when xlwings reports a failure.
    """
    if sys.platform not in ("win32", "darwin"):
        raise SetupError(
            f"cannot install the Excel add-in on this machine ({sys.platform}): Excel add-ins install "
            "only where desktop Excel runs, on Windows or macOS",
            where="addin install",
            fix="copy ces_xl.xlam to a Windows or macOS machine and run 'ces-xl addin install' there, "
                "or in Excel use File > Options > Add-ins > Manage: Excel Add-ins > Go > Browse and pick "
                "ces_xl.xlam")
    if not _excel_present():
        raise SetupError(
            "Microsoft Excel (desktop) was not found on this machine, so there is nothing to install "
            "the add-in into", where="addin install",
            fix="install desktop Excel first, or copy ces_xl.xlam to a machine with Excel and run "
                "'ces-xl addin install' there")
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileError("the add-in file does not exist", where=str(path),
                            fix="build it first, or leave out the path to build a fresh one")
        if path.name != ADDIN_NAME:
            raise CESError(
                f"the add-in must be named {ADDIN_NAME}: its ribbon button imports the Python module "
                "named after the file", where=str(path), fix=f"rename it to {ADDIN_NAME}")
        return _run_xlwings_install(path, pinned=None)

    settings = _interpreter_settings()
    with tempfile.TemporaryDirectory(prefix="ces_xl-addin-") as tmp:
        built = build_addin(tmp, config=settings)
        return _run_xlwings_install(built, pinned=settings)


# --- the package ------------------------------------------------------------------------------

def _rels_for(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _relationships(parts: Mapping[str, bytes], part: str) -> list[tuple[str, str]]:
    """(type, absolute target part) of each relationship of ``part`` ("" for the package)."""
    rels_name = "_rels/.rels" if not part else _rels_for(part)
    if rels_name not in parts:
        return []
    base = posixpath.dirname(part)
    found = []
    for rel in SafeET.fromstring(parts[rels_name]).iter(f"{{{_PKG_RELS}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        found.append((rel.get("Type", ""), target))
    return found


def _custom_ui_part(parts: Mapping[str, bytes], template: Path) -> str:
    for rel_type, target in _relationships(parts, ""):
        if rel_type in _UI_REL_TYPES and target in parts:
            return target
    raise CESError("xlwings' ribbon template has no ribbon (customUI) part", where=str(template),
                   fix=_REINSTALL_FIX)


def _root_namespace(xml: bytes, part: str, template: Path) -> str:
    tag = SafeET.fromstring(xml).tag
    if not tag.startswith("{") or not tag.endswith("}customUI"):
        raise CESError(f"unexpected ribbon XML in {part} ({tag})", where=str(template), fix=_REINSTALL_FIX)
    return tag[1:].split("}", 1)[0]


def _workbook_part(parts: Mapping[str, bytes], template: Path) -> str:
    for rel_type, target in _relationships(parts, ""):
        if rel_type == _OFFICE_DOCUMENT_REL and target in parts:
            return target
    raise CESError("xlwings' ribbon template has no workbook part", where=str(template), fix=_REINSTALL_FIX)


def _vba_part(parts: Mapping[str, bytes], template: Path) -> str:
    for rel_type, target in _relationships(parts, _workbook_part(parts, template)):
        if rel_type == _VBA_REL and target in parts:
            return target
    raise CESError("xlwings' ribbon template has no VBA project", where=str(template), fix=_REINSTALL_FIX)


def _write_package(outdir: Path, infos: list[zipfile.ZipInfo], parts: Mapping[str, bytes],
                   edits: Mapping[str, bytes]) -> Path:
    target = outdir / ADDIN_NAME
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".ces_xl-", suffix=".xlam.tmp", dir=outdir)
    except OSError as exc:
        raise FileError(f"cannot write the add-in there ({exc.strerror or exc})", where=str(outdir),
                        fix="choose a folder you can write to") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as out:
            for info in infos:
                copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                copy.compress_type = info.compress_type
                copy.external_attr = info.external_attr
                copy.create_system = info.create_system
                out.writestr(copy, edits.get(info.filename, parts[info.filename]))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the add-in is an ordinary file
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FileError(f"cannot write the add-in ({exc.strerror or exc})", where=str(target),
                        fix="check the folder's permissions and free space, and close the file in Excel") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


# --- the VBA project --------------------------------------------------------------------------

def _edit_vba(raw: bytes, template: Path, vba_part: str, *, udfs: bool) -> bytes | None:
    """Check the ribbon callback; with ``udfs``, return the project with the UDF module added."""
    from pyopenvba import ExcelFile, PyOpenVBAError

    with tempfile.TemporaryDirectory(prefix="ces_xl-vba-") as tmp:
        source, edited = Path(tmp, ADDIN_NAME), Path(tmp, "edited.xlam")
        source.write_bytes(raw)
        try:
            with ExcelFile(source) as book:
                names = {name.casefold(): name for name in book.module_names()}
                if CALLBACK_MODULE.casefold() not in names:
                    raise CESError(f"xlwings' ribbon template has no {CALLBACK_MODULE} VBA module",
                                   where=str(template), fix=_REINSTALL_FIX)
                _check_callback(book.get_module(names[CALLBACK_MODULE.casefold()]), template)
                if not udfs:
                    return None
                if UDF_VBA_MODULE.casefold() in names:
                    raise CESError(f"xlwings' ribbon template already has a {UDF_VBA_MODULE} module",
                                   where=str(template), fix=_REINSTALL_FIX)
                book.vba_project().add_module(UDF_VBA_MODULE, udf_vba())
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a signature warning cannot apply: it has none
                    book.save(edited)
        except PyOpenVBAError as exc:
            raise CESError(f"cannot edit the add-in's VBA project ({exc})", where=str(template),
                           fix=_REINSTALL_FIX + ", or pass udfs=False") from exc
        with zipfile.ZipFile(edited) as package:
            return package.read(vba_part)


def _check_callback(source: str, template: Path) -> None:
    """The template's ``RunMain`` must be a ribbon callback that runs ``<file stem>.main()``."""
    sub = re.search(rf"^\s*(?:Public\s+)?Sub\s+{CALLBACK_SUB}\s*\(\s*control\s+As\s+IRibbonControl\s*\)"
                    r"(.*?)^\s*End\s+Sub", source, re.I | re.M | re.S)
    if not sub or "RunPython" not in sub.group(1) or ".main()" not in sub.group(1) \
            or "ThisWorkbook.Name" not in sub.group(1):
        raise CESError(
            f"xlwings' ribbon template changed: {CALLBACK_MODULE}.{CALLBACK_SUB} is no longer a ribbon "
            "callback that runs '<add-in name>.main()', so the CES button would not work",
            where=str(template), fix="use an xlwings version whose template has it, and report this")


def udf_vba() -> str:
    """The ``xlwings_udfs`` VBA module for ``ces_xl.udfs``, as xlwings' "Import Functions" writes it.

    Uses ``xlwings.udfs.generate_vba_wrapper`` itself. Off Windows ``xlwings.udfs`` cannot be
    imported (it needs pywin32), so its three COM modules are stubbed for the duration, and the
    UDF module is loaded afresh with the real ``xlfunc/xlarg/xlret`` decorators so the
    functions carry xlwings' metadata; ``sys.modules`` and ``xlwings`` are restored afterwards.
    """
    with _xlwings_udf_tools() as xl_udfs:
        try:
            spec = importlib.util.find_spec(UDF_MODULE)
            if spec is None or spec.loader is None:
                raise ImportError(f"No module named {UDF_MODULE!r}")
            module = importlib.util.module_from_spec(spec)  # a fresh copy, not put in sys.modules
            spec.loader.exec_module(module)
        except Exception as exc:
            raise CESError(f"cannot load the worksheet functions ({type(exc).__name__}: {exc})",
                           where=UDF_MODULE, fix="fix the import error, or build without UDFs") from exc
        buffer = io.StringIO()
        # import_udfs' header: the module name, and App, which the wrappers' #If tests.
        buffer.write(f'Attribute VB_Name = "{UDF_VBA_MODULE}"\n')
        buffer.write("'Autogenerated code by xlwings - changes will be lost with next import!\n")
        buffer.write("#Const App = \"Microsoft Excel\" 'Adjust when using outside of Excel\n")
        before = buffer.tell()
        # Add-ins call UDFs with ActiveWorkbook: xlwings decides that from the name's extension.
        xl_udfs.generate_vba_wrapper(UDF_MODULE, module, buffer, types.SimpleNamespace(Name=ADDIN_NAME))
        if buffer.tell() == before:
            raise CESError("no worksheet functions found (nothing decorated with @xw.func)",
                           where=UDF_MODULE, fix="decorate CES_SCORE and CES_BAND with @xw.func")
    text = buffer.getvalue().replace("\r\n", "\n")
    return text.replace("\n", "\r\n")


@contextlib.contextmanager
def _xlwings_udf_tools() -> Iterator[types.ModuleType]:
    """Yield ``xlwings.udfs`` with ``xw.func/arg/ret`` pointing at its metadata decorators."""
    import xlwings as xw

    added: list[str] = []

    def stub(name: str, **attrs: object) -> None:
        if name in sys.modules:
            return
        try:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                return  # the real thing (pywin32 on Windows) is there
        except (ImportError, ValueError):
            pass
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module
        added.append(name)

    class com_error(Exception):  # noqa: N801 - pywintypes' name
        pass

    had_udfs = "xlwings.udfs" in sys.modules
    stub("pythoncom", CoInitialize=lambda *a, **k: None, IID_IDispatch=None)
    stub("pywintypes", com_error=com_error)
    stub("win32com")
    stub("win32com.client", Dispatch=lambda *a, **k: None)
    if "win32com.client" in added:
        sys.modules["win32com"].client = sys.modules["win32com.client"]  # type: ignore[attr-defined]
    saved = xw.func, xw.arg, xw.ret
    try:
        try:
            xl_udfs = importlib.import_module("xlwings.udfs")
        except Exception as exc:
            raise CESError(f"cannot load xlwings' UDF tools ({type(exc).__name__}: {exc})",
                           where="xlwings.udfs", fix=_REINSTALL_FIX + ", or build without UDFs") from exc
        xw.func, xw.arg, xw.ret = xl_udfs.xlfunc, xl_udfs.xlarg, xl_udfs.xlret
        yield xl_udfs
    finally:
        xw.func, xw.arg, xw.ret = saved
        if added and not had_udfs:  # it was imported against the stubs: forget it
            sys.modules.pop("xlwings.udfs", None)
            if "udfs" in vars(xw):
                delattr(xw, "udfs")
        for name in added:
            sys.modules.pop(name, None)


# --- the config sheet -------------------------------------------------------------------------

def _activate_config(parts: Mapping[str, bytes], template: Path,
                     config: Mapping[str, str]) -> dict[str, bytes]:
    """Rename ``_<project>.conf`` to ``<project>.conf`` and fill in the given text settings."""
    workbook = _workbook_part(parts, template)
    root = SafeET.fromstring(parts[workbook])
    rel_ids = {}
    rels_root = SafeET.fromstring(parts[_rels_for(workbook)])
    for rel in rels_root.iter(f"{{{_PKG_RELS}}}Relationship"):
        if rel.get("Type") == _WORKSHEET_REL:
            rel_ids[rel.get("Id")] = posixpath.normpath(posixpath.join(posixpath.dirname(workbook), rel.get("Target")))
    sheets = [(s.get("name", ""), rel_ids.get(s.get(f"{{{_R}}}id")))
              for s in root.iter(f"{{{_SML}}}sheet")]
    conf = [(name, part) for name, part in sheets if name.startswith("_") and name.endswith(".conf")]
    if len(conf) != 1 or conf[0][1] not in parts:
        raise CESError("xlwings' ribbon template has no '_<name>.conf' settings sheet", where=str(template),
                       fix=_REINSTALL_FIX + ", or build without config")
    hidden_name, sheet_part = conf[0]
    active_name = hidden_name[1:]

    workbook_xml = parts[workbook].decode("utf-8")
    needle = f'name="{hidden_name}"'
    if workbook_xml.count(needle) != 1:
        raise CESError(f"cannot find the sheet {hidden_name} in {workbook}", where=str(template), fix=_REINSTALL_FIX)
    edits = {workbook: workbook_xml.replace(needle, f'name="{active_name}"').encode("utf-8")}

    strings = _shared_strings(parts, workbook)
    sheet_xml = parts[sheet_part].decode("utf-8")
    keys = _config_rows(sheet_xml, strings)
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


def _shared_strings(parts: Mapping[str, bytes], workbook: str) -> list[str]:
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    for rel_type, target in _relationships(parts, workbook):
        if rel_type == rel and target in parts:
            root = SafeET.fromstring(parts[target])
            return ["".join(t.text or "" for t in si.iter(f"{{{_SML}}}t")) for si in root.iter(f"{{{_SML}}}si")]
    return []


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
    raise CESError(f"cannot find the row of the setting {key!r}", where=str(template), fix=_REINSTALL_FIX)


# --- installing -------------------------------------------------------------------------------

def _interpreter_settings() -> dict[str, str]:
    """This Python for the add-in's config sheet, the way ``xlwings config create`` picks it."""
    conda_env, conda_exe = os.getenv("CONDA_DEFAULT_ENV"), os.getenv("CONDA_EXE")
    if sys.platform == "win32" and conda_env and conda_exe:
        return {"Conda Path": os.path.sep.join(conda_exe.split(os.path.sep)[:-2]), "Conda Env": conda_env}
    key = "Interpreter_Mac" if sys.platform == "darwin" else "Interpreter_Win"
    return {key: sys.executable}


def _excel_present() -> bool:
    """Is desktop Excel installed? (Its COM class on Windows, the app bundle on macOS.)"""
    if sys.platform == "win32":
        try:
            import winreg

            with winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, r"Excel.Application\CLSID"):
                return True
        except OSError:
            return False
    if sys.platform == "darwin":
        return any(Path(folder, "Microsoft Excel.app").exists()
                   for folder in ("/Applications", Path.home() / "Applications"))
    return False


def _run_xlwings_install(path: Path, *, pinned: Mapping[str, str] | None) -> str:
    import xlwings

    # xlwings has no __main__ module; its CLI module runs as a script.
    command = [sys.executable, "-m", "xlwings.cli", "addin", "install", "--file", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CESError(f"could not run 'xlwings addin install' ({exc})", where="addin install",
                       fix="install it by hand: Excel > Options > Add-ins > Browse") from exc
    output = " ".join(f"{done.stdout}\n{done.stderr}".split())
    # xlwings prints its errors and still exits 0, so success is what it says, not its exit code.
    if done.returncode != 0 or "Successfully installed" not in done.stdout:
        raise CESError(f"xlwings could not install the add-in: {output or f'exit code {done.returncode}'}",
                       where="addin install",
                       fix="quit Excel and try again, or install it by hand: Excel > Options > Add-ins > Browse")
    restart = "restart Excel" if "restart" in output.lower() else "it is loaded"
    python = f"; runs {', '.join(f'{k}={v}' for k, v in pinned.items())}" if pinned else ""
    return (f"Installed {path.name} (xlwings {xlwings.__version__}) into Excel's XLSTART folder{python}; "
            f"{restart} and use the CES tab")
