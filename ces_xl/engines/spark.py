"""Spark: the model's query (:mod:`ces_xl.engines.sql`) written by SQLGlot in Spark SQL and run
as it is on a Spark session over a table or view named ``events``.

PySpark is an extra (``pip install "ces-xl[spark]"``, about 450 MB, and Java 17): a cluster
needs none of this module, only the text of ``ces-xl sql --dialect spark``. Here it runs that
text on a local session, for the parity tests and for a log already in Spark.
"""
from __future__ import annotations

import datetime as _dt

import pandas as pd

from ..core.model import Model
from ..errors import SetupError
from .sql import compile_model


def local_session(cores: int = 2):
    """A local Spark session (no web UI, few shuffle partitions: a laptop's log, not a cluster's)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise SetupError("PySpark is not installed", fix='pip install "ces-xl[spark]" (it needs Java 17 or later)'
                         ) from error
    return (SparkSession.builder.master(f"local[{cores}]").appName("ces-xl")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", str(cores * 2))
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate())


def score(spark, model: Model, *, as_of: int | _dt.date | None = None, events=None) -> pd.DataFrame:
    """Score the ``events`` view of ``spark`` (or ``events``: a pandas DataFrame with the columns
    customer_id, event, date and count, made that view first) with the Spark SQL of ``model``."""
    if events is not None:
        spark.createDataFrame(events).createOrReplaceTempView("events")
    scores = spark.sql(compile_model(model, as_of=as_of).sql("spark"))
    return pd.DataFrame([tuple(r) for r in scores.collect()], columns=scores.columns)
