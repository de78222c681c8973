"""The house (../shared/HOUSE.md) as tests: the floors import downhill, the faces never import
each other, and a workbook's metric columns are matched once on the way to the Scores sheet."""
from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

import ces_xl
from ces_xl.core import table as rules

from .conftest import REPO, SEED_001, make_workbook

PACKAGE = REPO / "ces_xl"
FACES = {"cli", "api", "udfs", "button"}
# The add-in builder: the CLI's `addin` commands run it, and it reads the UDF module's metadata.
ADDIN = "addin"
STDLIB = set(sys.stdlib_module_names)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), at any depth of the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from . import api`
    return found


MODULES = {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def ours(names: set[str]) -> set[str]:
    """The ces_xl modules among ``names`` (a name may be an attribute: keep real modules)."""
    return {n for n in names if n in MODULES}


def floor(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "ces_xl"


def assert_imports_only(name: str, ours_allowed: tuple[str, ...], third_party: set[str],
                        exempt: dict[str, str] | None = None) -> None:
    """Module ``name`` imports nothing of ces_xl but ``ours_allowed`` and nothing else but the
    standard library and ``third_party`` (``exempt``: a package one module may import)."""
    for imported in MODULES[name]:
        top = imported.split(".")[0]
        if top == "ces_xl":
            assert imported.startswith(ours_allowed), (name, imported)
        elif (exempt or {}).get(name) == top:
            continue
        else:
            assert top in STDLIB | third_party | {"__future__"}, (name, imported)


def test_the_core_knows_only_numpy_pandas_and_itself():
    for name in MODULES:
        if floor(name) == "core":
            # the suggested weights are fitted by scikit-learn (imported when they are)
            assert_imports_only(name, ("ces_xl.core", "ces_xl.errors"), {"numpy", "pandas"},
                                exempt={"ces_xl.core.fit": "sklearn"})


def test_the_engines_run_the_core_rules_and_know_no_workbook():
    """An engine (HOUSE "Engines") takes the core's model and rules to SQL, DuckDB or Spark; it
    reads no sheet and writes none."""
    engines = [name for name in MODULES if floor(name) == "engines"]
    assert {"ces_xl.engines.sql", "ces_xl.engines.duckdb", "ces_xl.engines.spark", "ces_xl.engines.reference"} <= set(engines)
    for name in engines:
        assert_imports_only(name, ("ces_xl.core", "ces_xl.errors", "ces_xl.engines"),
                            {"numpy", "pandas", "duckdb", "sqlglot", "pyspark"})


def test_nothing_below_the_faces_imports_a_face():
    below = {"core", "engines", "contract", "layout", "xlsx", "grid", "errors", "pipeline"}
    for name, found in MODULES.items():
        if floor(name) in below:
            faces = {floor(n) for n in ours(found)} & (FACES | {ADDIN})
            assert not faces, f"{name} imports the face(s) {faces}"


def test_the_faces_never_import_each_other():
    for name, found in MODULES.items():
        if floor(name) in FACES:
            others = {floor(n) for n in ours(found)} & FACES - {floor(name)}
            assert not others, f"{name} imports the face(s) {others}"


def test_the_workbook_floors_do_not_climb_back():
    """contract and layout read from the core and the grid; the core never reads from them."""
    for name, found in MODULES.items():
        if floor(name) == "contract":
            assert not {floor(n) for n in ours(found)} & {"layout", "pipeline"}, name
        if floor(name) == "layout":
            assert not {floor(n) for n in ours(found)} & {"contract", "pipeline"}, name


@pytest.mark.parametrize("face", ["api", "button"])
def test_each_metric_column_is_matched_once_from_reader_to_scores(tmp_path, monkeypatch, face):
    calls = []
    real = rules.match_metrics

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(rules, "match_metrics", counting)
    # Modules that take `prepare` by name must have taken the real one before it is patched
    # (imported first here, they would keep the patch after the test).
    for module in ("ces_xl.core.events", "ces_xl.core.scoring"):
        importlib.import_module(module)
    monkeypatch.setattr(rules, "prepare", lambda *a, **k: pytest.fail("a workbook's table is prepared twice"))
    book = make_workbook(tmp_path / "seed.xlsx", SEED_001)
    if face == "api":
        result = ces_xl.score_workbook(book, tmp_path / "out.xlsx")
    else:
        pytest.importorskip("xlwings")
        from ces_xl import button

        from .test_button import remote_book
        result = button.run(remote_book(book))
    assert result.scores["Score"].tolist() == [30.0]
    assert len(calls) == 1
