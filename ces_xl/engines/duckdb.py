"""The SQL engine: the model's query (:mod:`ces_xl.engines.sql`) run by DuckDB, embedded, over
Parquet or CSV files of events, out of core.

The files are read where they lie (no copy), through a view that gives the query its four
columns: ``customer_id``, ``event``, ``date`` (a DATE; NULL where the file's is blank or no
date) and ``count`` (a DOUBLE; 1 where blank, NULL where it is no number). The run:

1. the event names and how many events each has (the spellings of the metric names, and the
   names no metric has, for a note); the dates and counts checked in one scan of those two
   columns (unless the Parquet statistics vouch for them); the latest date (the default as-of);
2. the counts: one scan, the events grouped by customer into a table of their own (spilled to
   disk past the memory limit); a blank customer ID is found there;
3. the scores from the counts table, and the file written (the caller writes it atomically).
"""
from __future__ import annotations

import datetime as _dt
import glob
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sqlglot import exp

from ..core.events import DATE_FIX, date_of, left_out_note, match_names
from ..core.model import Model
from ..core.names import did_you_mean, name_key
from ..core.table import MAX_COUNT
from ..errors import CESError, FileError, InputError, SetupError
from .sql import Query, compile_model

PARQUET, CSV = "parquet", "csv"
KINDS = {".parquet": PARQUET, ".pq": PARQUET, ".csv": CSV, ".tsv": CSV, ".txt": CSV}
COUNTS, SCORES = "ces_counts", "ces_scores"  # the engine's tables
BLANK_ID = "customer_id IS NULL OR TRIM(CAST(customer_id AS VARCHAR)) = ''"  # a customer ID that is none
# The contract's ISO date text (core.events._ISO), in DuckDB's regular expressions.
ISO_TEXT = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"
NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class EventColumns:
    """The names of the four columns in the files (matched case- and space-insensitively).
    ``count`` None: the column named ``count`` when there is one, else every event counts 1."""

    customer_id: str = "customer_id"
    event: str = "event"
    date: str = "date"
    count: str | None = None


@dataclass(frozen=True)
class EventFiles:
    """The files of an event log: what the user named (a file, a folder or a glob), what it holds."""

    named: str
    paths: tuple[str, ...]
    kind: str  # PARQUET or CSV


def find_files(source: str | os.PathLike | Sequence[str | os.PathLike]) -> EventFiles:
    """The Parquet or CSV files of ``source``: a file, a folder (every Parquet or CSV file in it
    and its subfolders, leaving out the ``_SUCCESS``, ``.crc`` and other hidden files Spark and
    Hadoop write beside them), a glob such as ``logs/2026-*.parquet``, or a list of files."""
    if isinstance(source, (list, tuple)):
        if not source:
            raise InputError("no event files were given", where="events", fix="pass one or more Parquet or CSV files")
        found = [f for s in source for f in find_files(s).paths]
        kinds = {_kind(Path(f)) for f in found}
        return _one_kind(", ".join(map(str, source)), found, kinds)
    named = str(source)
    path = Path(named)
    if any(c in named for c in "*?["):
        found = sorted(f for f in glob.glob(named, recursive=True) if os.path.isfile(f))
        if not found:
            raise InputError(f"no file matches {named!r}", where="events",
                             fix="check the folder and the pattern (e.g. 'logs/*.parquet')")
    elif path.is_dir():
        found = sorted(str(f) for f in path.rglob("*") if f.is_file() and f.suffix.lower() in KINDS
                       and not any(part.startswith((".", "_")) for part in f.relative_to(path).parts))
        if not found:
            raise InputError(f"the folder {named} has no Parquet or CSV files", where="events",
                             fix="point at the folder that holds the event files")
    elif path.is_file():
        found = [named]
    else:
        raise FileError(f"{named} does not exist", where="events", fix="check the path")
    unknown = sorted({Path(f).suffix or Path(f).name for f in found if Path(f).suffix.lower() not in KINDS})
    if unknown:
        hint = ("score a workbook with 'ces-xl score'" if ".xlsx" in [u.lower() for u in unknown]
                else "export the events as Parquet or CSV")
        raise InputError(f"{named}: {', '.join(unknown)} is not a kind of event file read here (Parquet or CSV)",
                         where="events", fix=hint)
    return _one_kind(named, found, {_kind(Path(f)) for f in found})


def _kind(path: Path) -> str:
    return KINDS.get(path.suffix.lower(), "")


def _one_kind(named: str, found: list[str], kinds: set[str]) -> EventFiles:
    if len(kinds) > 1:
        raise InputError(f"{named} holds both Parquet and CSV files", where="events",
                         fix="name one kind, e.g. a glob such as 'logs/*.parquet'")
    return EventFiles(named=named, paths=tuple(found), kind=kinds.pop())


def connect(memory_limit: str | None = None, threads: int | None = None, spill: str | None = None):
    """An in-memory DuckDB spilling to ``spill`` (a folder) past its memory limit."""
    try:
        import duckdb
    except ImportError as error:  # a dependency: only a broken install lacks it
        raise SetupError("DuckDB is not installed", fix="pip install duckdb (it comes with ces-xl)") from error
    config = {"preserve_insertion_order": False}
    if spill:
        config["temp_directory"] = spill
    if memory_limit:
        config["memory_limit"] = str(memory_limit)
    if threads:
        config["threads"] = int(threads)
    try:
        con = duckdb.connect(":memory:", config=config)
    except duckdb.Error as error:
        raise InputError(f"DuckDB does not take these settings: {_first_line(error)}", where="--memory-limit",
                         fix="give a size such as 2GB or 500MB") from None
    # Progress is asked for from another thread (query_progress), never printed by DuckDB itself.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@dataclass
class Counted:
    """What counting the events found."""

    events: int                 # rows in the files
    customers: int              # customers scored (a first event on or before the as-of date)
    as_of: _dt.date
    notes: list[str] = field(default_factory=list)


class EventLog:
    """The event files as DuckDB sees them, and the model's query run over them."""

    def __init__(self, files: EventFiles, columns: EventColumns = EventColumns(), *, memory_limit: str | None = None,
                 threads: int | None = None):
        self.files, self.columns = files, columns
        self.spill = tempfile.mkdtemp(prefix="ces-xl-duckdb-")  # DuckDB's, past the memory limit
        try:
            self.con = connect(memory_limit, threads, self.spill)
            self._view()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "EventLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "con", None) is not None:
            self.con.close()
            self.con = None
        shutil.rmtree(self.spill, ignore_errors=True)

    # --- the view ------------------------------------------------------------------------

    def _read(self):
        import duckdb

        files = list(self.files.paths)
        try:
            if self.files.kind == PARQUET:
                return self.con.read_parquet(files, union_by_name=True)
            # Every CSV cell as text: the contract's rules decide what is a date or a number,
            # and an ID such as 00042 keeps its zeros.
            return self.con.sql("SELECT * FROM read_csv($files, header = true, all_varchar = true, "
                                "union_by_name = true)", params={"files": files})
        except duckdb.Error as error:
            raise InputError(f"{self.files.named} cannot be read as {self.files.kind.upper()}: {_first_line(error)}",
                             where="events", fix=f"check that it is a {self.files.kind.upper()} file of events") from None

    def _view(self) -> None:
        source = self._read()
        names = list(source.columns)
        types = {n: str(t) for n, t in zip(names, source.types)}
        keys = {}
        for n in names:
            keys.setdefault(name_key(n), n)
        c = self.columns

        def column(wanted: str, option: str) -> str:
            found = keys.get(name_key(wanted))
            if found is None:
                raise InputError(f"{self.files.named} has no column '{wanted}' (it has: {', '.join(names) or 'none'})"
                                 f"{did_you_mean(wanted, names)}", where="events",
                                 fix=f"name the column {wanted}, or pass {option} NAME")
            return found

        id_, event, date = (column(c.customer_id, "--id-column"), column(c.event, "--event-column"),
                            column(c.date, "--date-column"))
        count = column(c.count, "--count-column") if c.count is not None else keys.get(name_key("count"))
        source.create_view("ces_source")

        def ident(name: str) -> exp.Expression:
            return exp.column(exp.to_identifier(name, quoted=True))

        raw_date = ident(date)
        date_kind = types[date].split("(")[0]
        typed = date_kind == "DATE" or date_kind.startswith("TIMESTAMP")
        if date_kind == "DATE":
            day = raw_date
        elif typed:
            day = exp.cast(raw_date, "DATE")
        elif date_kind == "VARCHAR":
            text = exp.Trim(this=raw_date)
            day = exp.case().when(exp.RegexpFullMatch(this=text, expression=exp.Literal.string(ISO_TEXT)),
                                  exp.TryCast(this=exp.TryCast(this=text, to=exp.DataType.build("TIMESTAMP")),
                                              to=exp.DataType.build("DATE")))
        else:
            raise InputError(f"the {date} column of {self.files.named} holds {types[date]} values, not dates",
                             where="events", fix="store dates as DATE or TIMESTAMP, or as text such as 2026-11-30")
        count_kind = types[count].split("(")[0] if count else ""
        if count is None:
            amount: exp.Expression = exp.cast(exp.Literal.number(1), "DOUBLE")
        else:
            raw = ident(count)
            if count_kind in NUMBER_TYPES:
                number = exp.cast(raw, "DOUBLE")
                blank = raw.is_(exp.null())
            elif count_kind == "VARCHAR":
                number = exp.TryCast(this=exp.Trim(this=raw), to=exp.DataType.build("DOUBLE"))
                blank = raw.is_(exp.null()).or_(exp.Trim(this=raw).eq(exp.Literal.string("")))
            else:
                raise InputError(f"the {count} column of {self.files.named} holds {types[count]} values, not numbers",
                                 where="events", fix="store counts as numbers (or leave the column out: each event "
                                                     "counts 1)")
            # The contract's count rule (core.table): a number, at most 1e15 either way.
            amount = (exp.case().when(blank, exp.cast(exp.Literal.number(1), "DOUBLE"))
                      .when(exp.Abs(this=number) <= exp.Literal.number(repr(MAX_COUNT)), number))
        view = exp.select(
            ident(id_).as_("customer_id"),
            (ident(event) if types[event] == "VARCHAR" else exp.cast(ident(event), "VARCHAR")).as_("event"),
            day.as_("date"),
            amount.as_("count"), exp.cast(raw_date, "VARCHAR").as_("date_text"),
            (exp.cast(ident(count), "VARCHAR") if count else exp.null()).as_("count_text"),
        ).from_("ces_source")
        self.view = view.sql(dialect="duckdb")  # over the view ``ces_source`` of the files
        self.con.execute(f"CREATE TEMP VIEW events AS {self.view}")
        self.id_header = id_
        # Which columns must be looked at before counting: a Parquet file's own statistics can
        # vouch for a DATE column without blanks and a whole-number count in range.
        stats = self._parquet_stats()
        self.check_dates = not typed or stats.get(date, (None,))[0] != 0
        whole = count_kind in NUMBER_TYPES and count_kind not in ("FLOAT", "DOUBLE", "DECIMAL")
        low, high = stats.get(count, (None, None, None))[1:] if count else (0, 0)
        self.check_counts = bool(count) and not (whole and low is not None and high is not None
                                                 and -MAX_COUNT <= low and high <= MAX_COUNT)

    def _parquet_stats(self) -> dict[str, tuple]:
        """Per column of Parquet files: blanks, lowest and highest value (None: not known)."""
        if self.files.kind != PARQUET:
            return {}
        rows = self.con.execute(
            "SELECT path_in_schema, SUM(stats_null_count), COUNT(*) = COUNT(stats_null_count), "
            "MIN(TRY_CAST(stats_min_value AS DOUBLE)), MAX(TRY_CAST(stats_max_value AS DOUBLE)), "
            "COUNT(*) = COUNT(TRY_CAST(stats_min_value AS DOUBLE)) AND COUNT(*) = COUNT(TRY_CAST(stats_max_value AS DOUBLE)) "
            "FROM parquet_metadata($files) GROUP BY path_in_schema", {"files": list(self.files.paths)}).fetchall()
        return {name: (nulls if known else None, low if ranged else None, high if ranged else None)
                for name, nulls, known, low, high, ranged in rows}

    # --- counting ------------------------------------------------------------------------

    def names(self) -> tuple[dict[str, int], int]:
        """Each event name and how many events have it; and the events in all."""
        rows = self.con.execute("SELECT event, COUNT(*) FROM events GROUP BY event").fetchall()
        return {name: n for name, n in rows}, sum(n for _, n in rows)

    def plan(self, model: Model, as_of: int | _dt.date | None = None) -> tuple[Query, _dt.date, int, list[str]]:
        """The counting query of ``model`` over the files at ``as_of`` (a day number or date,
        default the latest event), once the event names are matched and the dates and counts
        checked; the day, the events in all and the notes."""
        named, events = self.names()
        if not events:
            raise InputError(f"{self.files.named} has no events", where="events",
                             fix="export the event log with one row per event")
        sizes = [(name, n) for name, n in named.items() if name is not None]
        positions, unknown = match_names(sizes, model)
        spellings = {name: at for (name, _), at in zip(sizes, positions) if at >= 0}
        notes = [left_out_note(unknown)] if unknown else []
        notes += [f"metric '{m.name}' has no events: it is 0 for every customer" for i, m in enumerate(model.metrics)
                  if i not in spellings.values()]
        day = as_of if as_of is None or isinstance(as_of, _dt.date) else date_of(int(as_of))
        # Dates and counts are checked before counting, in one scan of those two columns alone
        # (with the latest date, when it is wanted), unless the files' own statistics vouch for them.
        if self.check_dates or self.check_counts:
            no_date, no_count, latest = self.con.execute(
                "SELECT COUNT(*) FILTER (WHERE date IS NULL), COUNT(*) FILTER (WHERE count IS NULL), "
                f"{'MAX(date)' if day is None else 'NULL'} FROM events").fetchone()
            self._check(False, int(no_date), int(no_count))
            day = day or latest
        if day is None:
            day = self.con.execute("SELECT MAX(date) FROM events").fetchone()[0]
        return compile_model(model, as_of=day, spellings=spellings, prepared=True), day, events, notes

    def count(self, model: Model, as_of: int | _dt.date | None = None,
              progress: Progress | None = None) -> Counted:
        """Count every customer's events into the engine's counts table (by the model's window
        and half-life, at ``as_of``: a day number or date, default the latest event)."""
        report = progress or (lambda stage, percent: None)
        report("reading", 0.0)
        query, day, events, notes = self.plan(model, as_of)
        report("counting", 5.0)
        self._run(f"CREATE OR REPLACE TEMP TABLE {COUNTS} AS {query.counts().sql(dialect='duckdb')}",
                  lambda share: report("counting", 5.0 + 80.0 * share))
        customers, blank_ids = self.con.execute(
            f"SELECT COUNT(*), COUNT(*) FILTER (WHERE {BLANK_ID}) FROM {COUNTS}").fetchone()
        self._check(bool(blank_ids), 0, 0)
        if not customers:
            raise InputError(f"there are no customers on {day.isoformat()}: every event comes after it",
                             where="--as-of", fix="give a later as-of date, or leave it out for the latest event")
        self.query, self.model = query, model
        return Counted(events=events, customers=int(customers), as_of=day, notes=notes)

    def _check(self, blank_ids: bool, no_date: int, no_count: int) -> None:
        """One line for each kind of bad event: a blank customer ID, a date or a count that is
        none; each with how many there are, and the first, to find them by."""
        problems: list[CESError] = []
        where = self.files.named
        if blank_ids:
            n, what, text = self.con.execute(
                f"SELECT COUNT(*), ANY_VALUE(event), ANY_VALUE(date_text) FROM events WHERE {BLANK_ID}").fetchone()
            problems.append(InputError(f"{_events(n)} no customer ID (the first: '{what}' on {text})", where=where,
                                       fix=f"fill in the {self.columns.customer_id} of every event, or delete "
                                           "those rows"))
        if no_date:
            who, what, text = self.con.execute(
                "SELECT customer_id, event, date_text FROM events WHERE date IS NULL LIMIT 1").fetchone()
            first = f"'{what}' of customer '{who}'"
            problem = (f"{_events(no_date)} no date (the first: {first})" if text is None or not str(text).strip()
                       else f"{_events(no_date)} a date that is no date (the first: {text!r}, {first})")
            problems.append(InputError(problem, where=where, fix=DATE_FIX))
        if no_count:
            who, what, text = self.con.execute(
                "SELECT customer_id, event, count_text FROM events WHERE count IS NULL LIMIT 1").fetchone()
            problems.append(InputError(f"{_events(no_count)} a count that is no number (the first: {text!r}, "
                                       f"'{what}' of customer '{who}')", where=where,
                                       fix="enter a number (at most 1e15 either way), or leave it blank to count "
                                           "the event once"))
        if problems:
            raise InputError.gather(problems)

    def _run(self, sql: str, progress: Callable[[float], None] | None = None) -> None:
        """Run ``sql``, reporting DuckDB's progress (0-1) every fifth of a second; Ctrl-C stops it."""
        import duckdb

        failed: list[BaseException] = []

        def work() -> None:
            try:
                self.con.execute(sql)
            except BaseException as error:  # handed to the caller's thread
                failed.append(error)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
                if progress is not None:
                    done = self.con.query_progress()
                    if done >= 0:
                        progress(min(done, 100.0) / 100.0)
        except KeyboardInterrupt:
            self.con.interrupt()
            worker.join()
            raise
        if failed:
            error = failed[0]
            if isinstance(error, duckdb.OutOfMemoryException):
                raise SetupError(f"DuckDB ran out of memory: {_first_line(error)}", where="--memory-limit",
                                 fix="give DuckDB more memory, or fewer threads (--threads 1)") from None
            if isinstance(error, duckdb.Error):
                raise InputError(f"{self.files.named}: {_first_line(error)}", where="events",
                                 fix="check the event files") from None
            raise error
        if progress is not None:
            progress(1.0)

    # --- scoring -------------------------------------------------------------------------

    def counts_frame(self) -> tuple[np.ndarray, np.ndarray]:
        """The customers (by ID) and their counts, customers x metrics, from the counts table."""
        m = len(self.model.metrics)
        frame = self.con.execute(f"SELECT customer_id, {', '.join(f'x{i}' for i in range(m))} FROM {COUNTS} "
                                 "ORDER BY customer_id").df()
        return frame["customer_id"].to_numpy(dtype=object), frame.iloc[:, 1:].to_numpy(dtype=float)

    def score(self, progress: Callable[[float], None] | None = None) -> pd.DataFrame:
        """Score the counted customers into the engine's scores table; the band mix
        (Band, Customers) in the model's band order, 'No data' last when there is any."""
        self._run(f"CREATE OR REPLACE TEMP TABLE {SCORES} AS "
                  f"{self.query.scores(COUNTS).sql(dialect='duckdb')}",
                  progress)
        mix = dict(self.con.execute(f"SELECT band, COUNT(*) FROM {SCORES} GROUP BY band").fetchall())
        labels = [b.label for b in self.model.bands] + [label for label in mix if label not in
                                                          {b.label for b in self.model.bands}]
        return pd.DataFrame({"Band": labels, "Customers": [int(mix.get(label, 0)) for label in labels]})

    def scores_frame(self) -> pd.DataFrame:
        return self.con.execute(f"SELECT * FROM {SCORES} ORDER BY rank, customer_id").df()

    def write(self, path: Path, kind: str, progress: Callable[[float], None] | None = None) -> None:
        """Write the scores table to ``path`` as Parquet or CSV, by rank."""
        target = exp.Literal.string(str(path)).sql(dialect="duckdb")
        options = "FORMAT parquet" if kind == PARQUET else "FORMAT csv, HEADER true"
        self._run(f"COPY (SELECT * FROM {SCORES} ORDER BY rank, customer_id) TO {target} ({options})", progress)


def _events(n: int) -> str:
    return "1 event has" if n == 1 else f"{n:,} events have"
