"""``ces-xl score`` and ``ces-xl template``: workbooks, headlessly."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from . import ProgressBar, cli, echo_notes

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
    with ProgressBar.shown(progress, quiet) as bar:
        # Start reading now: python-calamine parses on another thread while pandas and the
        # scoring code import (a quarter of a second that would otherwise come before the read).
        reading = WorkbookRead(workbook, progress=bar.reading)
        from ..pipeline import score_file

        result = score_file(reading, target, progress=bar.update)
    echo_notes(result.notes)
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
    from ..xlsx.atomic import atomic_output, check_new_output
    from ..xlsx.template import build_template

    if path.suffix.lower() != ".xlsx":
        raise InputError("the template is an .xlsx workbook", where=str(path), fix="end the file name with .xlsx")
    check_new_output(path, force)
    with atomic_output(path) as tmp:
        build_template().save(tmp)
    click.echo(f"Wrote {path}; score it with: ces-xl score {path}")
