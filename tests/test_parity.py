"""Parity: every engine gives the same numbers (HOUSE "Engines").

The numpy engine (the reference, ``ces_xl.core``) scores an event log; so do DuckDB over the log
written to Parquet (the engine ``ces-xl score-events`` runs, names matched in Python, the bad-row
checks on), the emitted DuckDB SQL run on its own over the DataFrame (names matched in SQL), and
Spark running the emitted Spark SQL over the same Parquet file. Every score (to 1e-9), points,
percentile, band, rank, Top driver and Biggest gap must agree, customer by customer, on logs that
cover every normalization, both directions, both methods, both missing-value policies, windows,
half-lives, ties, and customers without events of the model.

Spark runs where PySpark and Java are installed (CI installs both: ``.ci/run``); elsewhere its
test skips and says why, unless ``CI`` is set, when a missing PySpark fails.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ces_xl import Band, Metric, Model
from ces_xl.engines.duckdb import EventLog, find_files
from ces_xl.engines.reference import score_frame
from ces_xl.engines.sql import compile_model
from ces_xl.errors import InputError

AS_OF = dt.date(2026, 11, 30)
NAMES = ["Logins", "Reports", "Tickets", "Exports"]
# The same metrics spelled as exports spell them, and names no metric has.
SPELLINGS = {"Logins": ["Logins", "logins", "LOGINS"], "Reports": ["Reports", "reports "],
             "Tickets": ["Tickets", "tick ets"], "Exports": ["Exports"]}


def log(seed: int, customers: int = 60, events: int = 600, days: int = 200, counts=(None, 1, 2, 0.5, 3.25, 0, -1),
        twins: int = 5) -> pd.DataFrame:
    """A generated event log: customers with events of every metric, of none (only unknown
    names), only long ago, only after the as-of date; and ``twins``: pairs of customers with the
    same events listed in another order (they must tie everywhere)."""
    rng = np.random.default_rng(seed)
    names = [s for spellings in SPELLINGS.values() for s in spellings] + ["Junk", "Loginz"]
    rows = []
    for _ in range(events):
        c = int(rng.integers(0, customers))
        rows.append((f"C{c:03d}", str(rng.choice(names)), AS_OF - dt.timedelta(days=int(rng.integers(-10, days))),
                     counts[int(rng.integers(0, len(counts)))]))
    rows += [("ONLY-JUNK", "Junk", AS_OF - dt.timedelta(days=3), None),
             ("LONG-AGO", "Logins", AS_OF - dt.timedelta(days=400), 2),
             ("FUTURE", "Logins", AS_OF + dt.timedelta(days=5), 1)]
    for t in range(twins):  # the twin's events in reverse order
        mine = [r for r in rows if r[0] == f"C{t:03d}"]
        rows += [(f"TWIN{t}",) + r[1:] for r in reversed(mine)]
    frame = pd.DataFrame(rows, columns=["customer_id", "event", "date", "count"])
    frame["count"] = frame["count"].astype(float)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def model(normalizations=("cap", "log", "percentile", "minmax"), directions=("higher", "lower", "higher", "lower"),
          method="index", missing="zero", window=90.0, half_life=30.0, weights=(3, 1, 2, 1.5)) -> Model:
    targets = {"cap": 10.0, "log": 25.0, "percentile": None, "minmax": None}
    metrics = [Metric(name, w, targets[n] if method == "index" else None, n if method == "index" else None, d)
               for name, n, d, w in zip(NAMES, normalizations, directions, weights)]
    bands = (Band("Low", 0, 20), Band("Mid", 20.5, 45), Band("High", 45.5, 1e6))
    return Model(metrics, bands=bands, method=method, missing=missing, window=window, half_life=half_life)


CASES = {
    "every normalization, both directions": (1, model()),
    "lower first": (2, model(directions=("lower", "higher", "lower", "higher"))),
    "sum method with a penalty": (3, model(method="sum", weights=(3, 1, -2, 0.5))),
    "exclude policy": (4, model(missing="exclude", normalizations=("percentile", "cap", "minmax", "log"))),
    "no window, no decay": (5, model(window=None, half_life=None)),
    "window alone": (6, model(half_life=None, window=45.0)),
    "half-life alone, dyadic decay": (7, model(window=None, half_life=1.0)),
    "one customer-spread metric": (8, model(normalizations=("percentile",) * 4)),
    "whole counts, many ties": (9, model(window=None, half_life=None, normalizations=("minmax", "percentile", "cap",
                                                                                       "log"))),
}


def as_parquet(frame: pd.DataFrame, path) -> str:
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute(f"COPY frame TO '{path}' (FORMAT parquet)")
    con.close()
    return str(path)


def duckdb_engine(frame: pd.DataFrame, m: Model, tmp_path, as_of=None) -> pd.DataFrame:
    with EventLog(find_files(as_parquet(frame, tmp_path / "events.parquet"))) as engine:
        engine.count(m, as_of)
        engine.score()
        return engine.scores_frame()


def emitted_duckdb(frame: pd.DataFrame, m: Model, as_of=None) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("events", frame)
    out = con.execute(compile_model(m, as_of=as_of).sql("duckdb")).df()
    con.close()
    return out


def assert_same(expected: pd.DataFrame, got: pd.DataFrame, engine: str) -> None:
    assert sorted(got.columns) == sorted(expected.columns), engine
    assert len(got) == len(expected), engine
    got = got.set_index(got["customer_id"].astype(str))
    expected = expected.set_index(expected["customer_id"].astype(str))
    assert set(got.index) == set(expected.index), engine
    got = got.loc[expected.index]
    for column in expected.columns:
        if column == "customer_id":
            continue
        if not pd.api.types.is_numeric_dtype(expected[column]):
            mismatch = expected[column].to_numpy(dtype=object) != got[column].to_numpy(dtype=object)
            assert not mismatch.any(), f"{engine}: {column} differs for {list(expected.index[mismatch])[:5]}"
        else:
            diff = np.abs(expected[column].to_numpy(dtype=float) - got[column].to_numpy(dtype=float))
            assert diff.max() <= 1e-9, f"{engine}: {column} differs by {diff.max()}"
    # Rows come out by rank, then customer ID, in every engine.
    assert list(got["rank"].astype(float)) == sorted(got["rank"].astype(float)), engine


@pytest.mark.parametrize("case", list(CASES))
def test_numpy_duckdb_and_the_emitted_sql_agree(case, tmp_path):
    seed, m = CASES[case]
    frame = log(seed)
    expected = score_frame(frame, m, as_of=AS_OF)
    # the checks the cases are meant to make
    assert "FUTURE" not in set(expected["customer_id"]) and {"ONLY-JUNK", "LONG-AGO"} <= set(expected["customer_id"])
    twins = expected.set_index("customer_id")
    assert all(twins.loc[f"TWIN{t}", "score"] == twins.loc[f"C{t:03d}", "score"] for t in range(5)
               if f"C{t:03d}" in twins.index)
    assert expected["rank"].duplicated().any()  # ties
    assert_same(expected, duckdb_engine(frame, m, tmp_path, AS_OF), "DuckDB engine")
    assert_same(expected, emitted_duckdb(frame, m, AS_OF), "emitted DuckDB SQL")


def test_the_as_of_date_defaults_to_the_latest_event_everywhere(tmp_path):
    frame = log(11)
    m = model()
    expected = score_frame(frame, m)  # as of the latest event: the FUTURE customer's
    assert "FUTURE" in set(expected["customer_id"])
    assert_same(expected, duckdb_engine(frame, m, tmp_path), "DuckDB engine")
    assert_same(expected, emitted_duckdb(frame, m), "emitted DuckDB SQL")


def test_a_score_exactly_half_way_rounds_the_same_everywhere(tmp_path):
    # 2 ** -10 = 0.0009765625: its 10th decimal is a 5. numpy's round() would make it
    # 0.000976562 (half to even) and DuckDB's ROUND 0.000976563; the one rule is half up.
    frame = pd.DataFrame({"customer_id": ["A", "B"], "event": ["Logins", "Logins"],
                          "date": [AS_OF - dt.timedelta(days=10), AS_OF], "count": [1.0, 3.0]})
    m = Model([Metric("Logins", 1)], method="sum", half_life=1.0)
    expected = score_frame(frame, m, as_of=AS_OF)
    assert expected.set_index("customer_id").loc["A", "score"] == 0.000976563
    assert_same(expected, duckdb_engine(frame, m, tmp_path, AS_OF), "DuckDB engine")
    assert_same(expected, emitted_duckdb(frame, m, AS_OF), "emitted DuckDB SQL")


def test_the_emitted_sql_leaves_out_events_without_a_customer_id(tmp_path):
    # The engine stops on them (a blank ID is an error, as in a workbook); SQL run by another
    # engine cannot stop, so it scores the customers as if those events were not there.
    frame = log(12)
    m = model()
    orphans = pd.DataFrame({"customer_id": [None, None], "event": ["Logins", "Exports"],
                            "date": [AS_OF - dt.timedelta(days=1), AS_OF - dt.timedelta(days=2)], "count": [50.0, 1.0]})
    got = emitted_duckdb(pd.concat([frame, orphans], ignore_index=True), m, AS_OF)
    assert got["customer_id"].notna().all()
    assert_same(score_frame(frame, m, as_of=AS_OF), got, "emitted DuckDB SQL")
    with pytest.raises(InputError, match="no customer ID"):
        duckdb_engine(pd.concat([frame, orphans], ignore_index=True), m, tmp_path, AS_OF)


logs = st.lists(st.tuples(st.integers(0, 7), st.sampled_from([s for v in SPELLINGS.values() for v2 in [v] for s in v2]
                                                              + ["Junk"]),
                          st.integers(-3, 40), st.sampled_from([None, 1.0, 2.0, 0.5, 0.0, -1.0, 7.0])),
                min_size=1, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=logs, normalizations=st.lists(st.sampled_from(["cap", "log", "percentile", "minmax"]), min_size=4,
                                          max_size=4),
       directions=st.lists(st.sampled_from(["higher", "lower"]), min_size=4, max_size=4),
       method=st.sampled_from(["index", "sum"]), missing=st.sampled_from(["zero", "exclude"]),
       window=st.sampled_from([None, 1.0, 7.0, 30.5]), half_life=st.sampled_from([None, 1.0, 2.0, 7.0, 10.0]))
def test_any_log_scores_the_same_on_numpy_and_duckdb(tmp_path, rows, normalizations, directions, method, missing,
                                                     window, half_life):
    frame = pd.DataFrame([(f"C{c}", e, AS_OF - dt.timedelta(days=d), n) for c, e, d, n in rows],
                         columns=["customer_id", "event", "date", "count"])
    frame["count"] = frame["count"].astype(float)
    m = model(normalizations, directions, method, missing, window, half_life)
    if (frame["date"] > AS_OF).all():
        return  # no customers yet: an error on every engine (tests/test_score_events.py)
    expected = score_frame(frame, m, as_of=AS_OF)
    assert_same(expected, duckdb_engine(frame, m, tmp_path, AS_OF), "DuckDB engine")
    assert_same(expected, emitted_duckdb(frame, m, AS_OF), "emitted DuckDB SQL")


# --- Spark ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spark():
    try:
        import pyspark
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("PySpark is not installed, and CI installs it (.ci/run): the Spark parity test must run")
        pytest.skip('PySpark is not installed (pip install -e ".[spark]", with Java 17): the Spark parity test '
                    "runs in CI")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI"):
            pytest.fail("Java is not installed, and CI installs it (.ci/run): the Spark parity test must run")
        pytest.skip("Java 17 is not installed: Spark cannot start here")
    from ces_xl.engines.spark import local_session

    assert pyspark.__version__
    session = local_session()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_runs_the_emitted_sql_to_the_same_numbers(spark, tmp_path):
    from ces_xl.engines.spark import score

    for case, (seed, m) in CASES.items():
        frame = log(seed)
        spark.read.parquet(as_parquet(frame, tmp_path / f"{seed}.parquet")).createOrReplaceTempView("events")
        assert_same(score_frame(frame, m, as_of=AS_OF), score(spark, m, as_of=AS_OF), f"Spark ({case})")
    # and with the as-of date left to the data (a scalar subquery in Spark SQL)
    frame = log(11)
    spark.read.parquet(as_parquet(frame, tmp_path / "latest.parquet")).createOrReplaceTempView("events")
    assert_same(score_frame(frame, model()), score(spark, model()), "Spark (latest event)")
