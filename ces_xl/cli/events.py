"""``ces-xl score-events`` and ``ces-xl sql``: the workbook's model over event logs beyond a sheet."""
from __future__ import annotations

from pathlib import Path

import click

from ..engines import DIALECTS
from . import ProgressBar, cli, echo_notes


def _default_output(events: str) -> Path:
    """EVENTS-scored.parquet: beside a file or a folder; in the current folder for a glob."""
    if any(c in events for c in "*?["):
        return Path("events-scored.parquet")
    path = Path(events.rstrip("/\\") or events)
    return path.with_name(f"{path.stem if path.is_file() else path.name}-scored.parquet")


@cli.command("score-events")
@click.argument("events")
@click.option("--model", "book", required=True, type=click.Path(path_type=Path),
              help="The workbook whose Weights, Bands and Settings sheets are the model.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="The scores: .parquet, .csv, or .xlsx (the model workbook with Scores, Summary and Actions; "
                   "when the customers fit in a sheet). Default: EVENTS-scored.parquet.")
@click.option("--as-of", help="The date scored, e.g. 2026-11-30. Default: the Settings' As of, else the latest event.")
@click.option("--id-column", default="customer_id", show_default=True, help="The customer ID column.")
@click.option("--event-column", default="event", show_default=True, help="The column of event (metric) names.")
@click.option("--date-column", default="date", show_default=True, help="The column of event dates.")
@click.option("--count-column", help="The column of counts or amounts. Default: 'count' when there is one, "
                                     "else every event counts 1.")
@click.option("--memory-limit", metavar="SIZE", help="DuckDB's memory, e.g. 2GB; past it, work spills to a "
                                                     "temporary folder. Default: 80% of the machine's memory.")
@click.option("--threads", type=click.IntRange(1, None), help="Threads DuckDB uses. Default: one per core.")
@click.option("-f", "--force", is_flag=True, help="Replace OUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary: only the output path.")
@click.option("--progress/--no-progress", default=None, help="Show the progress bar even where stderr is not a "
                                                              "terminal, or never. Default: on a terminal.")
def score_events(events: str, book: Path, output: Path | None, as_of: str | None, id_column: str, event_column: str,
                 date_column: str, count_column: str | None, memory_limit: str | None, threads: int | None,
                 force: bool, quiet: bool, progress: bool | None) -> None:
    """Score every customer of an event log (EVENTS: a Parquet or CSV file, a folder of them, or a
    glob such as 'logs/*.parquet') with the model of a workbook, on DuckDB: the log may be far
    larger than memory or than a sheet. One row per event: customer_id, event, date and an
    optional count. The window, half-life, normalizations and bands are the workbook's, and so
    are the numbers.

    \b
    Examples:
      ces-xl score-events events.parquet --model model.xlsx          # events-scored.parquet
      ces-xl score-events 'logs/*.csv' --model model.xlsx -o scores.csv
      ces-xl score-events events.parquet --model model.xlsx -o scored.xlsx
    """
    from ..engines.duckdb import EventColumns
    from ..pipeline import score_event_files

    target = output or _default_output(events)
    columns = EventColumns(id_column, event_column, date_column, count_column)
    with ProgressBar.shown(progress, quiet) as bar:
        run = score_event_files(events, book, target, as_of=as_of, columns=columns, memory_limit=memory_limit,
                                threads=threads, force=force, progress=bar.update)
    echo_notes(run.notes)
    if quiet:
        click.echo(str(target))
        return
    click.echo(f"Scored {run.customers:,} customer{'s' * (run.customers != 1)} from {run.events:,} events "
               f"(as of {run.as_of.isoformat()}) -> {target}")
    width = max(len(str(b)) for b in run.bands["Band"])
    for row in run.bands.itertuples(index=False):
        click.echo(f"  {row.Band:<{width}}  {row.Customers:>9,}  ({row.Share:6.1%})")


@cli.command("sql")
@click.option("--model", "book", required=True, type=click.Path(path_type=Path),
              help="The workbook whose Weights, Bands and Settings sheets are the model.")
@click.option("--dialect", type=click.Choice(DIALECTS), default="duckdb", show_default=True,
              help="The SQL dialect to write.")
@click.option("--as-of", help="The date scored, e.g. 2026-11-30. Default: the Settings' As of, else the latest "
                              "event in the table.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the SQL to this file (default: stdout).")
@click.option("-f", "--force", is_flag=True, help="Replace OUTPUT if it exists.")
def sql(book: Path, dialect: str, as_of: str | None, output: Path | None, force: bool) -> None:
    """Write the SQL that scores a table events(customer_id, event, date, count) with the model of
    a workbook: a warehouse or a Spark cluster runs it unchanged, with the same numbers as
    'ces-xl score'. Its result has one row per customer: customer_id, score, band, rank,
    percentile, top_driver (and biggest_gap with the index method), and each metric's points.

    \b
    Examples:
      ces-xl sql --model model.xlsx --dialect spark > ces.sql
      ces-xl sql --model model.xlsx --dialect bigquery -o ces_bigquery.sql
    """
    from ..pipeline import events_sql
    from ..xlsx.atomic import atomic_output, check_new_output

    text = events_sql(book, dialect, as_of=as_of)
    if output is None:
        click.echo(text, nl=False)
        return
    check_new_output(output, force)
    with atomic_output(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}")
