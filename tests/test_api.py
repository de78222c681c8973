"""The public namespace is pinned (as pandas pins its own in tests/api/test_api.py): a name
added to or dropped from ``ces_xl`` is a decision, made here on purpose."""
from __future__ import annotations

import inspect

import ces_xl

PUBLIC = [
    "Band", "CESError", "DEFAULT_BANDS", "FileError", "InputError", "Metric", "Model", "NO_DATA", "ScoreResult",
    "SetupError", "__version__", "assign_bands", "default_output", "events_sql", "main", "read_workbook", "score",
    "score_event_files", "score_events", "score_workbook",
]


def test_the_public_names():
    assert sorted(ces_xl.__all__) == sorted(PUBLIC)
    assert sorted(dir(ces_xl)) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(ces_xl, name) is not None


def test_the_error_kinds_are_ces_errors():
    for kind in (ces_xl.InputError, ces_xl.FileError, ces_xl.SetupError):
        assert issubclass(kind, ces_xl.CESError) and issubclass(kind, ValueError)


def test_the_main_signatures():
    assert str(inspect.signature(ces_xl.score)) == "(activity: 'pd.DataFrame', model: 'Model', *, id_column: 'str | None' = None, segment_column: 'str | None' = None, outcome_column: 'str | None' = None, actions: 'bool' = True, scenario: 'dict[str, float] | None' = None) -> 'ScoreResult'"
    assert list(inspect.signature(ces_xl.score_workbook).parameters) == ["path", "output", "in_place", "force", "progress"]
    assert list(inspect.signature(ces_xl.read_workbook).parameters) == ["path"]


def test_an_unknown_name_is_an_attribute_error():
    try:
        ces_xl.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("ces_xl.no_such_thing did not raise")
