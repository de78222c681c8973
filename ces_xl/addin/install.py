"""Install the built add-in into desktop Excel, through ``xlwings addin install``."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..errors import FileError, InputError, SetupError
from .build import build_addin
from .vba import ADDIN_NAME


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
            raise InputError(
                f"the add-in must be named {ADDIN_NAME}: its ribbon button imports the Python module "
                "named after the file", where=str(path), fix=f"rename it to {ADDIN_NAME}")
        return _run_xlwings_install(path, pinned=None)

    settings = _interpreter_settings()
    with tempfile.TemporaryDirectory(prefix="ces_xl-addin-") as tmp:
        built = build_addin(tmp, config=settings)
        return _run_xlwings_install(built, pinned=settings)


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
        raise SetupError(f"could not run 'xlwings addin install' ({exc})", where="addin install",
                       fix="install it by hand: Excel > Options > Add-ins > Browse") from exc
    output = " ".join(f"{done.stdout}\n{done.stderr}".split())
    # xlwings prints its errors and still exits 0, so success is what it says, not its exit code.
    if done.returncode != 0 or "Successfully installed" not in done.stdout:
        raise SetupError(f"xlwings could not install the add-in: {output or f'exit code {done.returncode}'}",
                       where="addin install",
                       fix="quit Excel and try again, or install it by hand: Excel > Options > Add-ins > Browse")
    restart = "restart Excel" if "restart" in output.lower() else "it is loaded"
    python = f"; runs {', '.join(f'{k}={v}' for k, v in pinned.items())}" if pinned else ""
    return (f"Installed {path.name} (xlwings {xlwings.__version__}) into Excel's XLSTART folder{python}; "
            f"{restart} and use the CES tab")
