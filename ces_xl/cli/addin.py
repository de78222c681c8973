"""``ces-xl addin build`` and ``ces-xl addin install``: the Excel add-in."""
from __future__ import annotations

from pathlib import Path

import click

from . import cli

@cli.group()
def addin() -> None:
    """The Excel add-in (ces_xl.xlam): a CES ribbon tab with a "Score workbook" button, plus
    the =CES_SCORE and =CES_BAND functions.

    It is built from the installed xlwings, so its VBA matches the xlwings package version.
    """


@addin.command("build")
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="Folder to write ces_xl.xlam into (created if missing).")
@click.option("--no-udfs", is_flag=True, help="Leave out the =CES_SCORE/=CES_BAND wrappers (use xlwings' "
                                             "Import Functions instead).")
def addin_build(outdir: Path, no_udfs: bool) -> None:
    """Write ces_xl.xlam into a folder. Keep the file name: the button imports the Python
    module named after it."""
    from ..addin import build_addin

    path = build_addin(outdir, udfs=not no_udfs)
    click.echo(f"Wrote {path}")


@addin.command("install")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path),
              help="An add-in built earlier with 'ces-xl addin build' (default: build a fresh one "
                   "that runs this Python).")
def addin_install(path: Path | None) -> None:
    """Install the add-in into desktop Excel (Windows or macOS), via 'xlwings addin install'."""
    from ..addin import install_addin

    click.echo(install_addin(path))
