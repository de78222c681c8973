"""The ``ces-xl`` command: the group, the progress bar and the one-line errors here; the commands
in :mod:`.workbook` (score, template), :mod:`.events` (score-events, sql) and :mod:`.addin`.

Errors print one line, ``ces-xl: error: ...``, on stderr and exit non-zero; no traceback
(set ``CES_XL_DEBUG=1`` to see one) and no half-written output file.
"""
from __future__ import annotations

import os
import sys
import click

from .. import __version__
from ..errors import CESError, FileError, SetupError

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


def echo_notes(notes) -> None:
    """Each note of a run on stderr, as ``ces-xl: note: ...``."""
    for note in notes:
        click.echo(f"ces-xl: note: {note}", err=True)


class ProgressBar:
    """One bar on stderr that names the stage and moves with the run, from the first byte read
    to the last written (tqdm is imported only when the bar is shown: it costs a twentieth of a
    second). Plain ASCII where stderr cannot show block characters."""

    READ_SHARE = 45.0  # the reading stage's part of the bar (as in pipeline.READ_SHARE)

    @classmethod
    def shown(cls, progress: bool | None, quiet: bool) -> "ProgressBar":
        """The bar of a command's ``--progress/--no-progress`` (None: on a terminal) and ``-q``."""
        return cls(enabled=(progress if progress is not None else sys.stderr.isatty()) and not quiet)

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


# The commands, each module registering its own on the group above.
from . import addin as _addin  # noqa: E402,F401  (addin build, addin install)
from . import events as _events  # noqa: E402,F401  (score-events, sql)
from . import workbook as _workbook  # noqa: E402,F401  (score, template)
