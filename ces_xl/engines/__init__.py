"""How the core's rules execute (HOUSE "Engines"). numpy is the reference (:mod:`ces_xl.core`
itself, shaped for comparison by :mod:`.reference`); the SQL engine compiles the model to one
query (:mod:`.sql`) that DuckDB runs here over files of any size (:mod:`.duckdb`) and Spark or a
warehouse runs as written (:mod:`.spark`). The parity tests hold every engine to the same numbers.
"""

# The SQL dialects the model is written in (SQLGlot's names); here, where the command line can
# read them without loading SQLGlot.
DIALECTS = ("duckdb", "spark", "bigquery", "snowflake", "postgres")
