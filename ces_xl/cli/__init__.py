"""The ``ces-xl`` command: score workbooks and write the template, headlessly; score event logs
beyond a sheet and write the model as SQL (:mod:`.events`).

Errors print one line, ``ces-xl: error: ...``, on stderr and exit non-zero; no traceback
(set ``CES_XL_DEBUG=1`` to see one) and no half-written output file.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .. import __version__
from ..errors import CESError, FileError, InputError, SetupError

# Exit codes by kind of failure (README "Command line").
EXIT_BAD_INPUT, EXIT_USAGE, EXIT_INTERNAL, EXIT_FILE, EXIT_SETUP, EXIT_INTERRUPTED = 1, 2, 3, 4, 5, 130
MAX_PROBLEMS_SHOWN = 50
# click 8.2 renamed NoArgsIsHelp to NoArgsIsHelpError.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", None) or getattr(
    click.exceptions, "NoArgsIsHelp", ())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ces-xl")
def cli() -> None:
    """Customer Engagement Score for Excel workbooks.

    A workbook has an Activity sheet (one row per customer, one column per metric) and a
    Weights sheet (Metric, Weight, and optionally Target, Normalization, Direction); Bands and
    Settings sheets are optional. 'ces-xl template' writes a filled-in example;
    'ces-xl addin build' makes the Excel add-in (CES ribbon tab and formulas).
    'ces-xl score-events' scores event logs of any size (Parquet, CSV) on DuckDB with a
    workbook's model, and 'ces-xl sql' writes that model as SQL for Spark and warehouses.
    """


@cli.command()
@click.argument("workbook", type=click.Path(dir_okay=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Where to write the scored workbook. Default: WORKBOOK-scored.xlsx beside the input.")
@click.option("--in-place", is_flag=True,
              help="Add the result sheets to WORKBOOK itself (replaced atomically; other sheets kept).")
@click.option("-f", "--force", is_flag=True,
              help="Replace OUT if it exists (columns you added to its Scores or Actions sheet are carried over).")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress bar and no summary: only the output path (notes and errors still go to stderr).")
@click.option("--progress/--no-progress", default=None,
              help="Show the progress bar even where stderr is not a terminal (an IDE console, a CI log), "
                   "or never. Default: on a terminal.")
def score(workbook: Path, output: Path | None, in_place: bool, force: bool, quiet: bool,
          progress: bool | None) -> None:
    """Score every customer in WORKBOOK and write the Scores, Summary, Actions and History
    sheets (and Scenario, with a Scenario column in Weights).

    The input is never modified unless --in-place is given. An existing output is replaced
    only with --force. Re-running replaces the result sheets it wrote before; columns you
    added to Scores or Actions are carried over.

    \b
    Examples:
      ces-xl score activity.xlsx                 # writes activity-scored.xlsx
      ces-xl score activity.xlsx -o out.xlsx
      ces-xl score activity.xlsx --in-place
    """
    from ..xlsx.atomic import resolve_output
    from ..xlsx.reader import WorkbookRead, check_input_path

    check_input_path(workbook)
    target = resolve_output(workbook, output, in_place, force)
    shown = (progress if progress is not None else sys.stderr.isatty()) and not quiet
    with ProgressBar(enabled=shown) as bar:
        # Start reading now: python-calamine parses on another thread while pandas and the
        # scoring code import (a quarter of a second that would otherwise come before the read).
        reading = WorkbookRead(workbook, progress=bar.reading)
        from ..pipeline import score_file

        result = score_file(reading, target, progress=bar.update)
    for note in result.notes:
        click.echo(f"ces-xl: note: {note}", err=True)
    if quiet:
        click.echo(str(target))
        return
    count = len(result.scores)
    click.echo(f"Scored {count} customer{'s' if count != 1 else ''} ({result.method} method) -> {target}")
    width = max(len(str(b)) for b in result.bands["Band"])
    span = max(len(str(r)) for r in result.bands["Range"])
    for row in result.bands.itertuples(index=False):
        click.echo(f"  {row.Band:<{width}}  {row.Range:<{span}}  {row.Customers:>7}  ({row.Share:6.1%})")
    if result.outcomes is not None and result.outcomes.auc is not None:
        a = result.outcomes.auc
        click.echo(f"  AUC for {result.outcomes.column}: {a.value:.2f} (95%: {a.low:.2f} to {a.high:.2f}); {a.direction}")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path), default="CES_Template.xlsx", required=False)
@click.option("-f", "--force", is_flag=True, help="Overwrite PATH if it exists.")
def template(path: Path, force: bool) -> None:
    """Write the example workbook (Instructions, Activity, Weights, Bands, Settings) to PATH.

    PATH defaults to CES_Template.xlsx in the current folder.
    """
    from ..xlsx.atomic import atomic_output
    from ..xlsx.template import build_template

    if path.suffix.lower() != ".xlsx":
        raise InputError("the template is an .xlsx workbook", where=str(path), fix="end the file name with .xlsx")
    if path.exists() and not force:
        raise FileError("the file exists", where=str(path), fix="pass --force to overwrite it, or choose another name")
    with atomic_output(path) as tmp:
        build_template().save(tmp)
    click.echo(f"Wrote {path}; score it with: ces-xl score {path}")


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


class ProgressBar:
    """One bar on stderr that names the stage and moves with the run, from the first byte read
    to the last written (tqdm is imported only when the bar is shown: it costs a twentieth of a
    second). Plain ASCII where stderr cannot show block characters."""

    READ_SHARE = 45.0  # the reading stage's part of the bar (as in pipeline.READ_SHARE)

    def __init__(self, enabled: bool):
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=100, leave=False, file=sys.stderr, ascii=None if _unicode(sys.stderr) else True,
                             bar_format="ces-xl: {desc:<8} {bar} {percentage:3.0f}% {elapsed}")
        self._stage = ""

    def reading(self, share: float) -> None:
        self.update("reading", self.READ_SHARE * share)

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()

    def update(self, stage: str, percent: float) -> None:
        if self._bar is None:
            return
        self._bar.update(percent - self._bar.n)
        if stage != self._stage:
            self._stage = stage
            self._bar.set_description_str(stage)  # shown at once, however short the stage


def _unicode(stream) -> bool:
    """Whether ``stream`` can show the bar's block characters (a console in a legacy code page
    cannot)."""
    try:
        "\u2588\u258f".encode(getattr(stream, "encoding", None) or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI and turn every failure into one line on stderr."""
    try:
        cli.main(args=argv, prog_name="ces-xl", standalone_mode=False)
        return 0
    except CESError as exc:
        return _fail_with(exc)
    except _NO_ARGS_IS_HELP as exc:  # "ces-xl" alone: show the help
        click.echo(exc.ctx.get_help() if exc.ctx else cli.get_help(click.Context(cli)))
        return 0
    except click.UsageError as exc:
        hint = f" (see 'ces-xl {exc.ctx.command.name} --help')" if exc.ctx and exc.ctx.command.name != "cli" \
            else " (see 'ces-xl --help')"
        return _fail(exc.format_message() + hint, EXIT_USAGE)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", EXIT_FILE)
    except Exception as exc:  # a bug: still one line, but say so
        if os.environ.get("CES_XL_DEBUG"):
            raise
        return _fail(f"internal error ({type(exc).__name__}: {exc}); please report it, with "
                     "CES_XL_DEBUG=1 for details", EXIT_INTERNAL)


def _fail_with(error: CESError) -> int:
    """Every problem on its own line (up to MAX_PROBLEMS_SHOWN, then how many more); the exit
    code by the kind of error."""
    code = (EXIT_FILE if isinstance(error, FileError) else EXIT_SETUP if isinstance(error, SetupError)
            else EXIT_BAD_INPUT)
    problems = error.problems
    if len(problems) == 1:
        return _fail(str(error), code)
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        _fail(str(problem), code)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        _fail(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problems", code)
    return code


def _fail(message: str, code: int) -> int:
    click.echo(f"ces-xl: error: {' '.join(message.split())}", err=True)
    return code


def run() -> None:
    """The ``ces-xl`` command. Exits without tearing the interpreter down: freeing every object
    of a million-row run one by one takes over a second and serves no purpose at exit (mypy
    exits the same way). Output files are complete and closed by then, and stdout and stderr
    are flushed here."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # e.g. stdout was a pipe that closed early
        pass
    os._exit(code)


from . import events as _events  # noqa: E402,F401  (registers score-events and sql)
