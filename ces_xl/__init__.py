"""ces_xl: a Customer Engagement Score for Excel, with one scoring core behind every face.

Public API::

    import ces_xl
    result = ces_xl.score_workbook("book.xlsx")               # writes book-scored.xlsx
    model = ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("Purchases", 5)])
    result = ces_xl.score(activity_dataframe, model)           # result.scores is a DataFrame
    run = ces_xl.score_event_files("events.parquet", "model.xlsx", "scores.parquet")  # on DuckDB
    print(ces_xl.events_sql("model.xlsx", "spark"))            # the same model as Spark SQL
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import CESError, FileError, InputError, SetupError

__version__ = "0.1.0"

# The names below load on first use (PEP 562), so that `ces-xl score` can start reading the
# workbook before pandas is imported; `import ces_xl` alone stays light.
_LAZY = {
    "default_output": "api", "read_workbook": "api", "score_workbook": "api",
    "events_sql": "api", "score_event_files": "api",
    "NO_DATA": "core.bands", "assign_bands": "core.bands", "ScoreResult": "core.scoring", "score": "core.scoring",
    "score_events": "core.events",
    "DEFAULT_BANDS": "core.model", "Band": "core.model", "Metric": "core.model", "Model": "core.model",
}

if TYPE_CHECKING:
    from .api import default_output, events_sql, read_workbook, score_event_files, score_workbook
    from .core.bands import NO_DATA, assign_bands
    from .core.events import score_events
    from .core.scoring import ScoreResult, score
    from .core.model import DEFAULT_BANDS, Band, Metric, Model


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'ces_xl' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def main() -> None:
    """The ribbon button's entry point (``RunPython "import ces_xl; ces_xl.main()"``): score the
    workbook Excel calls from. Imported lazily so the headless CLI never loads xlwings."""
    from .button import main as run_button

    run_button()


__all__ = [
    "Band", "CESError", "DEFAULT_BANDS", "FileError", "InputError", "Metric", "Model", "NO_DATA", "ScoreResult",
    "SetupError",
    "assign_bands", "default_output", "events_sql", "main", "read_workbook", "score", "score_event_files",
    "score_events", "score_workbook",
    "__version__",
]
