"""The Excel add-in: built from the installed xlwings' ribbon template, checked without Excel.

The VBA is read back with oletools (independent of pyOpenVBA, which writes it), the package with
zipfile and defusedxml, and the config sheet with python-calamine.

xlwings is imported inside the tests, not at collection: tests/test_button.py sets
XLWINGS_LICENSE_KEY before its first import of xlwings, which decides the engines xlwings offers.
"""
from __future__ import annotations

import inspect
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from defusedxml import ElementTree as SafeET

with warnings.catch_warnings():  # oletools 0.60 uses pyparsing names pyparsing 3.3 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools import olevba

import os

import ces_xl
from ces_xl import addin
from ces_xl.addin import build as addin_build
from ces_xl.addin import install as addin_install
from ces_xl.errors import CESError

TEMPLATE = addin.template_path  # called in the tests: it imports xlwings
PKG_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
UI_REL_TYPES = {
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
}


def vba_modules(path: Path) -> dict[str, str]:
    """Module name -> source, as oletools reads them from the file."""
    parser = olevba.VBA_Parser(str(path))
    try:
        return {PurePosixPath(vba_name).stem: code.replace("\r\n", "\n")
                for _, _, vba_name, code in parser.extract_macros()}
    finally:
        parser.close()


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def sub_body(source: str, name: str) -> str:
    match = re.search(rf"^Sub {name}\(control As IRibbonControl\)\n(.*?)^End Sub", source, re.M | re.S)
    assert match, f"no 'Sub {name}(control As IRibbonControl)' in:\n{source}"
    return match.group(1)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return addin.build_addin(tmp_path_factory.mktemp("addin"))


@pytest.fixture(scope="module")
def built_vba(built) -> dict[str, str]:
    return vba_modules(built)


@pytest.fixture(scope="module")
def custom_ui(built):
    package = parts(built)
    rels = SafeET.fromstring(package["_rels/.rels"])
    targets = [r.get("Target").lstrip("/") for r in rels.iter(f"{PKG_RELS}Relationship")
               if r.get("Type") in UI_REL_TYPES]
    assert len(targets) == 1
    return SafeET.fromstring(package[targets[0]])


# --- the package --------------------------------------------------------------------------

def test_builds_a_valid_opc_package_named_for_the_entry_point(built):
    assert built.name == "ces_xl.xlam"
    with zipfile.ZipFile(built) as package:
        assert package.testzip() is None  # every member's CRC checks out
        names = package.namelist()
    content_types = SafeET.fromstring(parts(built)["[Content_Types].xml"])
    defaults = {d.get("Extension").lower() for d in content_types.iter(f"{CT}Default")}
    overrides = {o.get("PartName") for o in content_types.iter(f"{CT}Override")}
    assert overrides == {"/xl/workbook.xml", "/xl/theme/theme1.xml", "/docProps/app.xml", "/docProps/core.xml",
                         "/xl/vbaProject.bin", "/xl/worksheets/sheet1.xml", "/xl/styles.xml",
                         "/xl/sharedStrings.xml"}
    for name in names:  # every part has a content type
        assert f"/{name}" in overrides or name.rsplit(".", 1)[-1].lower() in defaults, name
    for override in overrides:  # and every declared part exists
        assert override.lstrip("/") in names


def test_ribbon_relationship_points_at_an_existing_part(built):
    package = parts(built)
    rels = list(SafeET.fromstring(package["_rels/.rels"]).iter(f"{PKG_RELS}Relationship"))
    ui = [r for r in rels if r.get("Type") in UI_REL_TYPES]
    assert len(ui) == 1
    assert ui[0].get("Target").lstrip("/") in package
    assert package["_rels/.rels"] == parts(TEMPLATE())["_rels/.rels"]  # the template's, untouched


def test_ribbon_has_the_ces_tab_and_score_button(custom_ui):
    template_ns = SafeET.fromstring(parts(TEMPLATE())["customUI/customUI.xml"]).tag.split("}")[0] + "}"
    assert custom_ui.tag == f"{template_ns}customUI"  # same namespace as the template
    tabs = [t for t in custom_ui.iter(f"{template_ns}tab") if t.get("label") == "CES"]
    assert len(tabs) == 1
    buttons = list(tabs[0].iter(f"{template_ns}button"))
    assert [b.get("label") for b in buttons] == ["Score workbook"]
    button = buttons[0]
    assert button.get("size") == "large"
    assert button.get("imageMso")
    tip = button.get("supertip")
    for word in ("Activity", "Weights", "Scores", "Summary"):
        assert word in tip
    ids = [e.get("id") for e in custom_ui.iter() if e.get("id")]
    assert len(ids) == len(set(ids))  # control ids must be unique


def test_every_on_action_is_a_ribbon_callback_in_the_vba(custom_ui, built_vba):
    actions = [e.get("onAction") for e in custom_ui.iter() if e.get("onAction")]
    assert actions == ["RibbonMyAddin.RunMain"]
    for action in actions:
        module, _, name = action.rpartition(".")
        assert module in built_vba, f"no VBA module {module}"
        sub_body(built_vba[module], name)  # asserts `Sub <name>(control As IRibbonControl)`


def test_the_button_runs_ces_xl_main(built, built_vba):
    """Evaluate the callback's two VBA lines for the add-in's file name."""
    body = sub_body(built_vba["RibbonMyAddin"], "RunMain")
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    assert lines[0] == ('mymodule = Left(ThisWorkbook.Name, '
                        '(InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))')
    # Left(name, InStrRev(name, ".") - 1): the file name without its extension.
    variables = {"mymodule": built.name[:built.name.rindex(".")]}
    call = re.fullmatch(r"RunPython (.+)", lines[1])
    assert call
    pieces = [p.strip() for p in call.group(1).split("&")]
    command = "".join(p[1:-1] if p.startswith('"') else variables[p] for p in pieces)
    assert command == "import ces_xl;ces_xl.main()"
    assert callable(ces_xl.main)  # and that entry point exists
    assert "RunPython" in built_vba["xlwings"] and "Public Function RunPython(" in built_vba["xlwings"]


def test_xlwings_vba_pins_the_installed_version(built_vba):
    import xlwings

    version = xlwings.__version__
    module = built_vba["xlwings"]
    assert f'Public Const XLWINGS_VERSION As String = "{version}"' in module
    assert f'Lib "xlwings64-{version}.dll"' in module
    assert f'Lib "xlwings32-{version}.dll"' in module
    assert not re.search(r"xlwings(?:32|64)-(?!" + re.escape(version) + r"\.dll)[\d.]+\.dll", module)


def test_only_the_ribbon_and_vba_parts_differ_from_the_template(built):
    with zipfile.ZipFile(TEMPLATE()) as a, zipfile.ZipFile(built) as b:
        assert [i.filename for i in a.infolist()] == [i.filename for i in b.infolist()]
        assert [i.compress_type for i in a.infolist()] == [i.compress_type for i in b.infolist()]
        changed = {n for n in a.namelist() if a.read(n) != b.read(n)}
    assert changed == {"customUI/customUI.xml", "xl/vbaProject.bin"}


def test_template_vba_modules_survive_unchanged(built_vba):
    before = vba_modules(TEMPLATE())
    assert set(built_vba) == set(before) | {"xlwings_udfs"}
    assert TEMPLATE().name == "quickstart_addin_ribbon.xlam" and TEMPLATE().is_file()
    for name, source in before.items():
        assert built_vba[name] == source, name


def test_without_udfs_only_the_ribbon_changes(tmp_path):
    path = addin.build_addin(tmp_path, udfs=False)
    template, new = parts(TEMPLATE()), parts(path)
    assert {n for n in template if template[n] != new[n]} == {"customUI/customUI.xml"}
    assert "xlwings_udfs" not in vba_modules(path)


# --- the worksheet functions --------------------------------------------------------------

def test_udf_wrappers_call_ces_xl_udfs(built_vba):
    from ces_xl import udfs

    module = built_vba["xlwings_udfs"]
    # The wrappers test App, so the module must define it (import_udfs writes the same line).
    assert '#Const App = "Microsoft Excel"' in module
    for func in (udfs.CES_SCORE, udfs.CES_BAND):
        params = inspect.signature(func).parameters.values()
        args = ", ".join(("Optional " if p.default is not p.empty else "") + p.name for p in params)
        names = ", ".join(p.name for p in inspect.signature(func).parameters.values())
        name = func.__name__
        assert f"Function {name}({args})" in module
        assert (f'{name} = XLPy.CallUDF("ces_xl.udfs", "{name}", Array({names}), ActiveWorkbook, '
                f"Application.Caller)") in module
        assert f"{name} = Err.Description" in module
    assert "Function CES_SCORE(activity, weights, Optional targets, Optional method)" in module
    assert "Function CES_BAND(score, Optional bands)" in module


def test_generating_the_wrappers_leaves_no_stubs_behind(built):
    import xlwings as xw

    for name in ("pythoncom", "pywintypes", "win32com", "win32com.client"):
        module = sys.modules.get(name)
        assert module is None or getattr(module, "__file__", None), f"stub {name} left in sys.modules"
    if "win32com" not in sys.modules:  # off Windows the decorators are the identity again
        assert xw.func(len) is len
        assert "xlwings.udfs" not in sys.modules


# --- the config sheet ---------------------------------------------------------------------

def test_config_activates_the_settings_sheet(tmp_path):
    from python_calamine import CalamineWorkbook

    python = r'C:\Users\A & B\<venv>\Scripts\python.exe'
    path = addin.build_addin(tmp_path, udfs=False, config={"interpreter_win": python, "Conda Env": "ces"})
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["myaddin.conf"]  # was _myaddin.conf: now read by GetConfig
    rows = {row[0]: row[1] for row in book.get_sheet_by_index(0).to_python()}
    assert rows["Interpreter_Win"] == python
    assert rows["Conda Env"] == "ces"
    assert rows["Interpreter_Mac"] == "" and rows["Show Console"] is False
    template, new = parts(TEMPLATE()), parts(path)
    assert {n for n in template if template[n] != new[n]} == {
        "customUI/customUI.xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"}
    # The sheet is what GetConfig looks for: PROJECT_NAME & ".conf".
    assert 'Public Const PROJECT_NAME As String = "myaddin"' in vba_modules(path)["xlwings"]


def test_unknown_or_non_text_settings_are_refused(tmp_path):
    with pytest.raises(CESError, match="unknown add-in setting 'Interpreter'.*Interpreter_Win"):
        addin.build_addin(tmp_path, udfs=False, config={"Interpreter": "python"})
    with pytest.raises(CESError, match="not a text setting"):
        addin.build_addin(tmp_path, udfs=False, config={"Show Console": "TRUE"})
    assert list(tmp_path.iterdir()) == []


# --- writing the file ---------------------------------------------------------------------

def test_creates_outdir_and_replaces_an_earlier_build(tmp_path):
    outdir = tmp_path / "a" / "b"
    first = addin.build_addin(outdir, udfs=False)
    first.write_bytes(b"stale")
    again = addin.build_addin(str(outdir), udfs=False)
    assert again == first and zipfile.is_zipfile(again)
    assert [p.name for p in outdir.iterdir()] == ["ces_xl.xlam"]  # no temp file left behind


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    (tmp_path / "ces_xl.xlam").write_bytes(b"previous")

    def fail(*_):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(CESError, match="cannot write the add-in"):
        addin.build_addin(tmp_path, udfs=False)
    assert [p.name for p in tmp_path.iterdir()] == ["ces_xl.xlam"]
    assert (tmp_path / "ces_xl.xlam").read_bytes() == b"previous"


def test_unwritable_outdir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CESError) as info:
        addin.build_addin(blocker / "sub")
    assert str(blocker / "sub") in str(info.value) and "choose a folder you can write to" in str(info.value)


def test_missing_template_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(addin_build, "template_path", lambda: tmp_path / "nope.xlam")
    with pytest.raises(CESError, match="template is missing.*reinstall xlwings"):
        addin.build_addin(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_template_without_the_callback_is_refused(tmp_path, monkeypatch):
    from pyopenvba import ExcelFile

    changed = tmp_path / "quickstart_addin_ribbon.xlam"
    changed.write_bytes(TEMPLATE().read_bytes())
    with ExcelFile(changed) as book:
        book.set_module("RibbonMyAddin", "Sub RunMain()\r\n    RunPython \"import x; x.go()\"\r\nEnd Sub\r\n")
        book.save()
    monkeypatch.setattr(addin_build, "template_path", lambda: changed)
    with pytest.raises(CESError, match="RibbonMyAddin.RunMain is no longer a ribbon callback"):
        addin.build_addin(tmp_path / "out")


# --- installing ---------------------------------------------------------------------------

def test_install_on_linux_says_why_not_and_what_to_do(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(CESError) as info:
        addin.install_addin()
    message = str(info.value)
    assert "only where desktop Excel runs, on Windows or macOS" in message
    assert "copy ces_xl.xlam to a Windows or macOS machine and run 'ces-xl addin install' there" in message
    assert "Add-ins" in message and "Browse" in message
    assert "\n" not in message


def test_install_without_excel_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(addin_install, "_excel_present", lambda: False)
    with pytest.raises(CESError, match="Excel .* was not found"):
        addin.install_addin()


def _fake_xlwings(monkeypatch, stdout: str, seen: list):
    from python_calamine import CalamineWorkbook

    def run(command, **kwargs):
        path = Path(command[-1])
        conf = CalamineWorkbook.from_path(str(path))
        seen.append((command, path.name, conf.sheet_names,
                     dict(r[:2] for r in conf.get_sheet_by_index(0).to_python()),
                     "xlwings_udfs" in vba_modules(path)))
        return subprocess.CompletedProcess(command, 0, stdout=stdout, stderr="")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delenv("CONDA_DEFAULT_ENV", raising=False)
    monkeypatch.setattr(addin_install, "_excel_present", lambda: True)
    monkeypatch.setattr(subprocess, "run", run)


def test_install_builds_pins_this_python_and_delegates_to_xlwings(monkeypatch):
    seen: list = []
    _fake_xlwings(monkeypatch, "Successfully installed the xlwings add-in! Please restart Excel.\n", seen)
    result = addin.install_addin()
    [(command, name, sheets, settings, has_udfs)] = seen
    assert command[:-1] == [sys.executable, "-m", "xlwings.cli", "addin", "install", "--file"]
    assert name == "ces_xl.xlam" and has_udfs
    assert sheets == ["myaddin.conf"] and settings["Interpreter_Win"] == sys.executable
    assert not Path(command[-1]).exists()  # the temporary build is cleaned up
    assert "Installed ces_xl.xlam" in result and "restart Excel" in result and "\n" not in result


def test_install_reports_xlwings_failures(monkeypatch, tmp_path):
    # xlwings prints its errors and exits 0: the message, not the exit code, decides.
    seen: list = []
    _fake_xlwings(monkeypatch, "PermissionError(13, 'Permission denied')\n", seen)
    path = addin.build_addin(tmp_path, udfs=False)
    with pytest.raises(CESError, match="xlwings could not install the add-in: PermissionError"):
        addin.install_addin(path)
    assert seen[0][0][-1] == str(path)


def test_install_refuses_a_renamed_addin(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(addin_install, "_excel_present", lambda: True)
    renamed = addin.build_addin(tmp_path, udfs=False).rename(tmp_path / "ces_xl (1).xlam")
    with pytest.raises(CESError, match="must be named ces_xl.xlam"):
        addin.install_addin(renamed)


def test_xlwings_cli_takes_the_install_command_we_send():
    done = subprocess.run([sys.executable, "-m", "xlwings.cli", "addin", "install", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--file" in done.stdout
