"""ces_xl: a Customer Engagement Score for Excel, with one scoring core behind every face.

Public API::

    import ces_xl
    result = ces_xl.score_workbook("book.xlsx")               # writes book-scored.xlsx
    model = ces_xl.Model([ces_xl.Metric("Visits", 1), ces_xl.Metric("Purchases", 5)])
    result = ces_xl.score(activity_dataframe, model)           # result.scores is a DataFrame
"""
from .api import default_output, read_workbook, score_workbook
from .core.engine import NO_DATA, ScoreResult, assign_bands, score
from .core.model import DEFAULT_BANDS, Band, Metric, Model
from .errors import CESError

__version__ = "0.1.0"


def main() -> None:
    """The ribbon button's entry point (``RunPython "import ces_xl; ces_xl.main()"``): score the
    workbook Excel calls from. Imported lazily so the headless CLI never loads xlwings."""
    from .button import main as run_button

    run_button()

__all__ = [
    "Band", "CESError", "DEFAULT_BANDS", "Metric", "Model", "NO_DATA", "ScoreResult",
    "assign_bands", "default_output", "main", "read_workbook", "score", "score_workbook", "__version__",
]
