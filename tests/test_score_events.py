"""``ces-xl score-events`` and ``ces-xl sql``: real Parquet and CSV files on disk, the CLI as a
subprocess, bad input refused in one line with nothing written, and the SQL of every dialect read
back by SQLGlot and held to a snapshot (``CES_XL_UPDATE_SNAPSHOTS=1`` rewrites the snapshots
after a deliberate change; review the diff)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest
import sqlglot

import ces_xl
from ces_xl import Band, Metric, Model
from ces_xl.engines.reference import score_frame
from ces_xl.engines import DIALECTS
from ces_xl.engines.sql import compile_model

from .conftest import REPO, make_workbook, run_cli

AS_OF = dt.date(2026, 11, 30)
SNAPSHOTS = Path(__file__).parent / "snapshots" / "sql"
WEIGHTS = [["Metric", "Weight", "Target", "Normalization", "Direction"],
           ["Logins", 3, 20, "cap", "higher"], ["Reports", 2, 10, "log", "higher"],
           ["Tickets", 1, None, "percentile", "lower"], ["Exports", 1, None, "minmax", "higher"]]
SETTINGS = [["Setting", "Value"], ["Window", 90], ["Half-life", 30], ["As of", AS_OF]]


@pytest.fixture
def book(tmp_path) -> Path:
    return make_workbook(tmp_path / "model.xlsx", {"Weights": WEIGHTS, "Settings": SETTINGS})


def events_frame(n: int = 400, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in rng.integers(0, 40, n)],
        "event": rng.choice(["Logins", "Reports", "Tickets", "Exports", "Junk"], n),
        "date": [AS_OF - dt.timedelta(days=int(d)) for d in rng.integers(0, 150, n)],
        "count": rng.integers(1, 4, n).astype(float),
    })


def write(frame: pd.DataFrame, path: Path) -> Path:
    con = duckdb.connect()
    con.register("frame", frame)
    kind = "parquet" if path.suffix == ".parquet" else "csv"
    con.execute(f"COPY frame TO '{path}' (FORMAT {kind})")
    con.close()
    return path


def model_of_book() -> Model:
    return Model([Metric("Logins", 3, 20, "cap"), Metric("Reports", 2, 10, "log"),
                  Metric("Tickets", 1, None, "percentile", "lower"), Metric("Exports", 1, None, "minmax")],
                 window=90, half_life=30)


def test_score_events_writes_parquet_with_the_numpy_engines_numbers(book, tmp_path):
    frame = events_frame()
    source = write(frame, tmp_path / "events.parquet")
    done = run_cli("score-events", source, "--model", book, "-o", tmp_path / "scores.parquet")
    assert done.returncode == 0, done.stderr
    assert "Scored 40 customers from 400 events (as of 2026-11-30)" in done.stdout
    assert "'Junk'" in done.stderr  # the note on names no metric has
    got = duckdb.connect().execute(f"SELECT * FROM '{tmp_path / 'scores.parquet'}'").df()
    expected = score_frame(frame, model_of_book(), as_of=AS_OF)
    assert list(got.columns) == list(expected.columns)
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()  # by rank, then ID
    assert np.abs(got["score"] - expected["score"]).max() <= 1e-9
    assert got["band"].tolist() == expected["band"].tolist()


def test_csv_in_and_out_and_a_folder_of_files(book, tmp_path):
    frame = events_frame(seed=6)
    folder = tmp_path / "logs"
    folder.mkdir()
    write(frame.iloc[:200], folder / "part-1.csv")
    write(frame.iloc[200:], folder / "part-2.csv")
    (folder / "_SUCCESS").write_text("")  # what Spark leaves beside its files
    done = run_cli("score-events", folder, "--model", book, "-o", tmp_path / "scores.csv")
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(tmp_path / "scores.csv", dtype={"customer_id": str})
    expected = score_frame(frame, model_of_book(), as_of=AS_OF)
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    assert np.abs(got["score"].to_numpy() - expected["score"].to_numpy()).max() <= 1e-9
    # a glob of the same files, and the default output name beside the folder
    done = run_cli("score-events", str(folder / "*.csv"), "--model", book, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "events-scored.parquet").exists()


def test_an_xlsx_output_is_the_model_book_with_the_usual_sheets(book, tmp_path):
    frame = events_frame(seed=7)
    source = write(frame, tmp_path / "events.parquet")
    done = run_cli("score-events", source, "--model", book, "-o", tmp_path / "scored.xlsx")
    assert done.returncode == 0, done.stderr
    wb = openpyxl.load_workbook(tmp_path / "scored.xlsx", read_only=True)
    assert {"Weights", "Settings", "Scores", "Summary", "Actions"} <= set(wb.sheetnames)
    rows = list(wb["Scores"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    scores = {r[0]: r[header.index("Score")] for r in body}
    expected = score_frame(frame, model_of_book(), as_of=AS_OF).set_index("customer_id")["score"]
    assert set(scores) == set(expected.index)
    assert max(abs(scores[c] - expected[c]) for c in scores) <= 1e-9


def test_the_python_api_scores_from_a_model_object(tmp_path):
    frame = events_frame(seed=8)
    source = write(frame, tmp_path / "events.parquet")
    run = ces_xl.score_event_files(source, model_of_book(), as_of=AS_OF)
    expected = score_frame(frame, model_of_book(), as_of=AS_OF)
    assert run.customers == len(expected) and run.events == len(frame)
    assert np.abs(run.scores["score"].to_numpy() - expected["score"].to_numpy()).max() <= 1e-9
    assert run.bands["Customers"].sum() == len(expected)


def test_other_column_names_from_python(tmp_path):
    frame = events_frame(seed=10).rename(columns={"customer_id": "Account", "date": "When"})
    source = write(frame, tmp_path / "events.parquet")
    run = ces_xl.score_event_files(source, model_of_book(), as_of=AS_OF, columns={"customer_id": "account",
                                                                                  "date": "when"})
    expected = score_frame(events_frame(seed=10), model_of_book(), as_of=AS_OF)
    assert run.scores["customer_id"].tolist() == expected["customer_id"].tolist()
    with pytest.raises(ces_xl.InputError, match="use the keys customer_id, event, date, count"):
        ces_xl.score_event_files(source, model_of_book(), columns={"id": "Account"})


def test_names_from_the_workbook_are_literals_not_sql(tmp_path):
    # Quotes, a backslash, a comment marker and a line break in a metric name and a band label.
    name, label = "O'Brien \"x\" \\ -- ;", "Top'); DROP TABLE events; --\nband"
    frame = pd.DataFrame({"customer_id": ["A", "B", "C"], "event": [name, name, "other"],
                          "date": [AS_OF] * 3, "count": [5.0, 1.0, 1.0]})
    m = Model([Metric(name, 1)], method="sum", bands=(Band("Low", 0, 2), Band(label, 2.5, 10)))
    expected = score_frame(frame, m, as_of=AS_OF)
    assert set(expected["band"]) == {"Low", label}
    for dialect in DIALECTS:
        sqlglot.parse_one(compile_model(m, as_of=AS_OF).sql(dialect), read=dialect)  # still one statement
    con = duckdb.connect()
    con.register("events", frame)
    got = con.execute(compile_model(m, as_of=AS_OF).sql("duckdb")).df()
    assert got["band"].tolist() == expected["band"].tolist()
    assert got["top_driver"].tolist() == expected["top_driver"].tolist() == [name, name, ""]
    assert con.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 3


# --- bad input: one line, exit 1, nothing written -------------------------------------------

def refused(book: Path, source, tmp_path: Path, *words: str, code: int = 1) -> str:
    out = tmp_path / "out" / "scores.parquet"
    out.parent.mkdir(exist_ok=True)
    done = run_cli("score-events", source, "--model", book, "-o", out)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 1 and lines[0].startswith("ces-xl: error: "), done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert list(out.parent.iterdir()) == []  # nothing written, no temporary file left
    return lines[0]


def test_a_file_without_a_date_column(book, tmp_path):
    frame = events_frame().rename(columns={"date": "day"})
    line = refused(book, write(frame, tmp_path / "e.parquet"), tmp_path, "e.parquet", "no column 'date'", "day",
                   "--date-column")
    assert "customer_id, event, day, count" in line


def test_an_unparseable_date(book, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("customer_id,event,date,count\nC1,Logins,2026-11-01,1\nC2,Logins,soon,1\n")
    refused(book, path, tmp_path, "e.csv", "a date that is no date", "'soon'", "C2", "2026-11-30")


def test_a_count_that_is_no_number(book, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("customer_id,event,date,count\nC1,Logins,2026-11-01,1\nC2,Logins,2026-11-02,lots\n")
    refused(book, path, tmp_path, "e.csv", "no number", "'lots'", "C2")


def test_a_blank_customer_id(book, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("customer_id,event,date,count\nC1,Logins,2026-11-01,1\n,Logins,2026-11-02,1\n")
    refused(book, path, tmp_path, "e.csv", "no customer ID", "customer_id")


def test_an_empty_file_and_a_file_with_a_header_alone(book, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    refused(book, empty, tmp_path, "empty.csv")
    header = tmp_path / "header.csv"
    header.write_text("customer_id,event,date,count\n")
    refused(book, header, tmp_path, "header.csv", "has no events")


def test_a_glob_that_matches_nothing(book, tmp_path):
    refused(book, str(tmp_path / "nowhere" / "*.parquet"), tmp_path, "no file matches", "*.parquet")


def test_dates_stored_as_numbers(book, tmp_path):
    frame = events_frame()
    frame["date"] = 46000
    refused(book, write(frame, tmp_path / "e.parquet"), tmp_path, "holds BIGINT values, not dates", "DATE or TIMESTAMP")


def test_an_output_that_exists_is_kept_without_force(book, tmp_path):
    source = write(events_frame(), tmp_path / "e.parquet")
    out = tmp_path / "scores.parquet"
    out.write_bytes(b"mine")
    done = run_cli("score-events", source, "--model", book, "-o", out)
    assert done.returncode == 4 and "--force" in done.stderr
    assert out.read_bytes() == b"mine"


# --- ces-xl sql -------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_sql_of_each_dialect_reads_back_and_matches_its_snapshot(book, dialect):
    done = run_cli("sql", "--model", book, "--dialect", dialect)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("-- Customer Engagement Scores by ces-xl")
    statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    assert len(statements) == 1
    # read back in its own dialect and written again, it is the same query (Postgres' EPOCH may
    # come back as epoch: the case of a keyword)
    again = statements[0].sql(dialect, comments=False)
    assert again.lower() == compile_model(model_of_book(), as_of=AS_OF).sql(dialect, pretty=False).lower()
    snapshot = SNAPSHOTS / f"{dialect}.sql"
    if os.environ.get("CES_XL_UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(text.replace(ces_xl.__version__, "VERSION"))
    assert text.replace(ces_xl.__version__, "VERSION") == snapshot.read_text()


def test_each_dialect_speaks_its_own_sql(book):
    text = {d: ces_xl.events_sql(book, d) for d in DIALECTS}
    assert "DATE_DIFF(CAST('2026-11-30' AS DATE), CAST(date AS DATE), DAY)" in text["bigquery"]
    assert "FLOAT64" in text["bigquery"] and "DOUBLE" not in text["bigquery"].replace("FLOAT64", "")
    assert "DATEDIFF(DAY, CAST(date AS DATE), CAST('2026-11-30' AS DATE))" in text["snowflake"]
    assert ("EXTRACT(epoch FROM CAST(CAST('2026-11-30' AS DATE) AS TIMESTAMP) - CAST(CAST(date AS DATE) AS TIMESTAMP))"
            " / 86400" in text["postgres"])
    assert "DOUBLE PRECISION" in text["postgres"]
    assert '`Logins (points)`' in text["spark"] and '"Logins (points)"' in text["duckdb"]


def test_sql_without_an_as_of_date_takes_the_latest_event(tmp_path):
    book = make_workbook(tmp_path / "m.xlsx", {"Weights": WEIGHTS})
    frame = events_frame(seed=9)
    con = duckdb.connect()
    con.register("events", frame)
    got = con.execute(ces_xl.events_sql(book, "duckdb")).df()
    m = model_of_book().with_settings(window=None, half_life=None)
    expected = score_frame(frame, m)
    assert np.abs(got["score"].to_numpy() - expected["score"].to_numpy()).max() <= 1e-9


def test_the_command_line_offers_the_engines_dialects():
    from ces_xl.cli.events import DIALECTS as OFFERED  # from ces_xl.engines, without loading SQLGlot

    assert OFFERED == DIALECTS


def test_sql_refuses_an_unknown_dialect_and_a_book_without_weights(book, tmp_path):
    done = run_cli("sql", "--model", book, "--dialect", "oracle")
    assert done.returncode == 2 and "oracle" in done.stderr
    empty = make_workbook(tmp_path / "none.xlsx", {"Activity": [["ID"], ["A"]]})
    done = run_cli("sql", "--model", empty)
    assert done.returncode == 1 and "no 'Weights' sheet" in done.stderr


def test_the_bundled_template_as_spark_sql():
    done = run_cli("sql", "--model", REPO / "workbook" / "CES_Template.xlsx", "--dialect", "spark")
    assert done.returncode == 0, done.stderr
    sqlglot.parse_one(done.stdout, read="spark")


def test_a_log_larger_than_the_memory_limit_is_scored_all_the_same(tmp_path):
    # 3 million events (about 100 MB as DuckDB holds rows) through a 40 MB memory limit: the
    # files stream through the group-by, the log never has to fit in memory, and the scores are
    # those of a run without the limit.
    source = tmp_path / "big.parquet"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT 'C' || CAST(hash(i) % 20000 AS VARCHAR) AS customer_id,
                                 ['Logins', 'Reports', 'Tickets', 'Exports'][1 + CAST(hash(i * 7) % 4 AS INTEGER)] AS event,
                                 DATE '2026-11-30' - CAST(hash(i * 13) % 200 AS INTEGER) AS date,
                                 CAST(1 + hash(i * 31) % 3 AS INTEGER) AS count
                          FROM range(3000000) t(i)) TO '{source}' (FORMAT parquet)""")
    con.close()
    limited = ces_xl.score_event_files(source, model_of_book(), as_of=AS_OF, memory_limit="40MB", threads=1)
    free = ces_xl.score_event_files(source, model_of_book(), as_of=AS_OF)
    assert limited.customers == free.customers == 20000 and limited.events == 3_000_000
    assert (limited.scores["score"].to_numpy() == free.scores["score"].to_numpy()).all()
    assert (limited.scores["customer_id"].to_numpy() == free.scores["customer_id"].to_numpy()).all()
