"""The Weights sheet: one metric per row (Metric, Weight; optional Target, Normalization,
Direction, Description)."""
from __future__ import annotations

from ..core.model import Metric
from ..errors import CESError, InputError
from ..grid import Grid, is_blank
from ..xlsx.a1 import column_letter
from .cells import at, header_columns, text, to_number

COLUMNS = ("metric", "weight", "target", "normalization", "direction", "description", "scenario")
MAX_HEADER = 255  # an Excel table's column names (the Scores sheet is a table)
MAX_METRIC_NAME = MAX_HEADER - len(" (points)")


def parse_weights(grid: Grid, problems: list[CESError]) -> tuple[list[Metric] | None, dict[str, str]]:
    """The metrics of ``grid``, and the cells the model's own problems are named by. A row
    with a problem is left out; each problem found is appended to ``problems``. None when the
    sheet has no usable header (a problem says so)."""
    h = grid.header_row()
    if h is None:
        problems.append(InputError("the sheet is empty", where=grid.name,
                                   fix="add a header row with Metric and Weight, and one row per metric"))
        return None, {}
    try:
        columns = header_columns(grid, h, COLUMNS, required=("metric", "weight"))
    except InputError as error:
        problems.append(error)
        return None, {}
    metrics: list[Metric] = []
    before = len(problems)
    # Each row's cells as grid.ref names them, from the sheet and the column letters worked
    # out once (a model may have 16,000 metrics).
    places = {key if key != "metric" else "name": grid.ref(0, c)[:-len(str(grid.top + 1))]
              for key, c in columns.items()}
    for r in range(h + 1, len(grid.rows)):
        row = grid.rows[r]
        values = {key: at(row, c) for key, c in columns.items()}
        if all(is_blank(v) for v in values.values()):
            continue
        number = str(grid.row_number(r))
        cells = {key: place + number for key, place in places.items()}
        name = values["metric"]
        if is_blank(name):
            problems.append(InputError("this row has no metric name", where=cells["name"],
                                       fix="type the Activity column header the row scores, or clear the row"))
            continue
        name = text(name)
        if len(name) > MAX_METRIC_NAME:
            problems.append(InputError(
                f"metric name '{name[:20]}...' is {len(name)} characters long", where=cells["name"],
                fix=f"shorten it to at most {MAX_METRIC_NAME} characters (Excel table headers hold 255, "
                    "and ' (points)' is added to it)"))
            continue
        weight = values["weight"]
        if is_blank(weight):
            problems.append(InputError(f"metric '{name}' has no weight", where=cells["weight"],
                                       fix="enter a number (0 switches the metric off)"))
            continue
        weight = to_number(weight)
        if weight is None:
            problems.append(InputError(f"weight {values['weight']!r} of metric '{name}' is not a number",
                                       where=cells["weight"], fix="enter a number (0 switches the metric off)"))
            continue
        target = _optional_number(values.get("target"), "target", name, cells.get("target"), problems,
                                  fix="enter the activity level that earns full marks, or leave it blank")
        scenario = _optional_number(values.get("scenario"), "scenario weight", name, cells.get("scenario"), problems,
                                    fix="enter the weight to try instead, or leave it blank to keep the weight")
        if target is _BAD or scenario is _BAD:
            continue
        metrics.append(Metric(
            name=name, weight=weight, target=target, scenario=scenario,
            normalization=None if is_blank(values.get("normalization")) else text(values["normalization"]).lower(),
            direction="higher" if is_blank(values.get("direction")) else text(values["direction"]).lower(),
            description="" if is_blank(values.get("description")) else text(values["description"]),
            cells=cells,
        ))
    if not metrics and len(problems) > before:
        return None, {}  # every row had a problem, each already said: "no metrics" would repeat them
    weights_col = column_letter(grid.left + columns["weight"])
    span = f"{grid.name}!{weights_col}{grid.row_number(h) + 1}:{weights_col}{grid.top + len(grid.rows)}"
    cells = {"metrics": grid.ref(h, columns["metric"]), "weights": span}
    if "scenario" in columns:
        cells["scenario"] = grid.ref(h, columns["scenario"])
    return metrics, cells


_BAD = object()  # a cell that is neither blank nor a number (its problem is said)


def _optional_number(value, what: str, name: str, where: str | None, problems: list[CESError], fix: str):
    """An optional number of a metric's row: None when blank, the number, or _BAD (with a
    problem naming the cell)."""
    if is_blank(value):
        return None
    parsed = to_number(value)
    if parsed is None:
        problems.append(InputError(f"{what} {value!r} of metric '{name}' is not a number", where=where, fix=fix))
        return _BAD
    return parsed
