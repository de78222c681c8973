"""The workbook contract: which sheets and headers drive the score, read from plain cell grids.

Both the headless reader (python-calamine) and the Excel button (xlwings) hand this package the
same thing, a :class:`~ces_xl.grid.Grid` of cell values per sheet, so the rules (header
matching, what a blank means, which cell is wrong) are the same on every face. One module per
input sheet; the table rules themselves are the core's (:mod:`ces_xl.core.table`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pandas as pd

from ..core.model import DEFAULT_BANDS, Model
from ..core.names import nearest
from ..core.table import Table
from ..errors import CESError, InputError
from ..grid import ACTIVITY, BANDS, SETTINGS, WEIGHTS, Grid, find_sheet
from .activity import parse_activity
from .bands import parse_bands
from .settings import Settings, parse_settings
from .weights import parse_weights

__all__ = ["WorkbookInput", "read_contract"]


@dataclass
class WorkbookInput:
    """What the contract sheets say: the customers, the model, and notes for the user."""

    table: Table
    model: Model
    settings: Settings
    sheet_names: dict[str, str]  # contract name -> the sheet's actual name
    notes: list[str] = field(default_factory=list)

    @property
    def id_header(self) -> str:
        return self.table.id_header

    @property
    def activity(self) -> pd.DataFrame:
        """The Activity customers as a DataFrame: IDs, one float column per metric, Segment."""
        return self.table.frame()


def read_contract(grids: Mapping[str, Grid]) -> WorkbookInput:
    """Parse and validate the contract sheets. Every problem found in them is reported at once,
    in one :class:`~ces_xl.errors.InputError` whose ``problems`` name each sheet and cell."""
    names = list(grids)
    found = {}
    problems: list[CESError] = []
    for required in (ACTIVITY, WEIGHTS):
        actual = find_sheet(names, required)
        if actual is None:
            near = nearest(required, names)
            problems.append(InputError(
                f"the workbook has no '{required}' sheet (it has: {', '.join(names) or 'none'})",
                fix=f"rename sheet '{near}' to '{required}'" if near else
                f"add a sheet named '{required}' (run 'ces-xl template' for an example)"))
        found[required] = actual
    if problems:
        raise InputError.gather(problems)
    notes: list[str] = []
    settings = Settings()
    if (settings_name := find_sheet(names, SETTINGS)) is not None:
        found[SETTINGS] = settings_name
        settings = parse_settings(grids[settings_name], problems)
    metrics, weights_cells = parse_weights(grids[found[WEIGHTS]], problems)
    bands = DEFAULT_BANDS
    if (bands_name := find_sheet(names, BANDS)) is not None:
        found[BANDS] = bands_name
        bands = parse_bands(grids[bands_name], notes, problems)
    model = Model(metrics=metrics or [], bands=bands, cells=weights_cells | settings.cells,
                  **settings.model_fields())
    notes.extend(model.validate(problems, empty_ok=metrics is None))
    table = parse_activity(grids[found[ACTIVITY]], model, settings, problems, notes) if metrics else None
    if problems:
        raise InputError.gather(problems)
    return WorkbookInput(table=table, model=model, settings=settings, sheet_names=found, notes=notes)
