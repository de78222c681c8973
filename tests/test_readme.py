"""The README's examples run as written and print what the README shows.

The rules (also in the README, "The examples in this README"):

* Each ``##`` section runs in a fresh copy of ``examples/`` (with the repository's ``workbook/``
  folder beside it, for the Quick start), its examples in document order.
* A ``ces-xl`` command, in an ``sh`` block or after ``$ `` in a ``text`` block, is run there;
  the output shown under it (the ``text`` block after an ``sh`` block, or the lines after a
  ``$ `` line) is what a terminal shows: stdout and stderr together. A command whose output
  shows ``ces-xl: error:`` must fail; any other must succeed.
* A ``python`` block is run, the blocks of a section in one namespace; what it prints must equal
  the ``text`` block right after it, or be nothing when none follows.
* A table under ``<!-- sheet: FILE SHEET -->`` must equal that example sheet's cells (dates
  written 2026-12-01, date-times 2026-12-31 14:05).
* Not run (each reported as a skip): the Quick start's setup commands and ``python -m pytest``.

Commands run in-process through ``ces_xl.cli.main`` (a subprocess costs half a second each);
``test_in_process_runs_print_what_the_command_prints`` checks that both print the same.
"""
from __future__ import annotations

import contextlib
import datetime
import importlib.util
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest

from ces_xl import cli

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
EXAMPLES = REPO / "examples"

# Shell commands the README shows but this test does not run, and why.
NOT_RUN = [
    (re.compile(r"python3? -m venv\b"), "creates a virtual environment (CI's clean install does)"),
    (re.compile(r"\. \.venv/bin/activate$"), "activates the virtual environment (CI's clean install does)"),
    (re.compile(r"python3? -m pip install\b"), "installs the package (CI's clean install does)"),
    (re.compile(r"python3? -m pytest\b"), "runs this test suite"),
]


@dataclass
class Block:
    lang: str
    text: str
    line: int      # README line of the opening fence
    section: str   # the ``##`` heading it is under


@dataclass
class Step:
    kind: str      # "cli" or "python"
    code: str      # the command line, or the Python source
    expected: str | None
    line: int


@dataclass
class Section:
    title: str
    steps: list[Step] = field(default_factory=list)
    skipped: list[tuple[str, str, int]] = field(default_factory=list)  # (command, reason, line)


def read_blocks(text: str) -> list[Block]:
    blocks, section, fence = [], "", None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            if line.startswith("## "):
                section = line[3:].strip()
            elif stripped.startswith("```"):
                fence = Block(stripped[3:].strip(), "", number, section)
                indent = len(line) - len(line.lstrip())
                body = []
        elif stripped == "```":
            fence.text = "\n".join(body)
            blocks.append(fence)
            fence = None
        else:
            body.append(line[indent:] if line[:indent].strip() == "" else line)
    assert fence is None, f"README.md:{fence.line}: a code block is not closed"
    return blocks


def is_session(block: Block) -> bool:
    return block.lang == "text" and block.text.startswith("$ ")


def sections(text: str | None = None) -> list[Section]:
    """The README's examples, by section, in order."""
    blocks = read_blocks(README.read_text(encoding="utf-8") if text is None else text)
    out: dict[str, Section] = {}
    for i, block in enumerate(blocks):
        section = out.setdefault(block.section, Section(block.section))
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        shown = (following.text if following and following.lang == "text" and not is_session(following)
                 and following.section == block.section else None)
        if block.lang == "sh":
            commands = [part.strip() for line in block.text.splitlines() for part in line.split("&&")]
            for command in filter(None, commands):
                reason = next((why for pattern, why in NOT_RUN if pattern.search(command)), None)
                if reason:
                    section.skipped.append((command, reason, block.line))
                else:
                    assert command.startswith("ces-xl "), (
                        f"README.md:{block.line}: '{command}' is neither a ces-xl command nor one this test "
                        "knows not to run (tests/test_readme.py NOT_RUN)")
                    section.steps.append(Step("cli", command, None, block.line))
            runs = [s for s in section.steps if s.line == block.line]
            if runs:
                runs[-1].expected = shown  # the output shown is the last command's
        elif block.lang == "python":
            section.steps.append(Step("python", block.text, shown if shown is not None else "", block.line))
        elif is_session(block):
            lines = block.text.splitlines()
            starts = [n for n, line in enumerate(lines) if line.startswith("$ ")]
            for n, end in zip(starts, starts[1:] + [len(lines)]):
                command = lines[n][2:].strip()
                assert command.startswith("ces-xl "), f"README.md:{block.line + 1 + n}: '{command}' is not ces-xl"
                section.steps.append(Step("cli", command, "\n".join(lines[n + 1:end]), block.line + 1 + n))
    return [s for s in out.values() if s.steps or s.skipped]


def fresh_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(REPO / "workbook", folder / "workbook")
    return folder


def normalise(text: str, folder: Path) -> str:
    text = text.replace(str(folder) + os.sep, "").replace(str(folder), ".")
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def run_cli(command: str) -> tuple[int, str]:
    """``ces-xl ...`` in this process, in the current folder: its exit code, and what it
    printed on stdout and stderr, in the order printed."""
    argv = shlex.split(command)[1:]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.main(argv)
    return code, out.getvalue()


def run_python(code: str, namespace: dict, line: int) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README.md (python block at line {line})", "exec"), namespace)
    return out.getvalue()


@contextlib.contextmanager
def working_in(folder: Path):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run_section(section: Section, tmp_path: Path) -> list[str]:
    """Run a section's examples in order; a message for each output that differs from the README."""
    folder = fresh_copy(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    problems = []
    with working_in(folder):
        for step in section.steps:
            if step.kind == "cli":
                code, printed = run_cli(step.code)
                failed = "ces-xl: error:" in (step.expected or "")
                if (code != 0) != failed:
                    problems.append(f"README.md:{step.line}: '{step.code}' exited {code}:\n{printed}")
            else:
                printed = run_python(step.code, namespace, step.line)
            if step.expected is not None and normalise(printed, folder) != normalise(step.expected, folder):
                problems.append(f"README.md:{step.line}: {step.kind} example printed\n{normalise(printed, folder)}\n"
                                f"--- but the README shows ---\n{normalise(step.expected, folder)}")
    return problems


SECTIONS = sections()


@pytest.mark.parametrize("section", [s for s in SECTIONS if s.steps], ids=lambda s: s.title)
def test_readme_examples_print_what_the_readme_shows(section, tmp_path):
    problems = run_section(section, tmp_path)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("command,reason,line", [
    pytest.param(*skip, id=f"line {skip[2]}: {skip[0]}")
    for s in SECTIONS for skip in s.skipped])
def test_commands_not_run(command, reason, line):
    pytest.skip(f"README.md:{line}: '{command}' {reason}")


def test_the_readme_has_examples_of_every_kind():
    steps = [step for s in SECTIONS for step in s.steps]
    assert sum(step.kind == "python" for step in steps) >= 6
    assert sum(step.kind == "cli" for step in steps) >= 10
    titles = {s.title for s in SECTIONS}
    assert {"Quick start", "Use it on your data", "Worked example", "Python API"} <= titles
    quick = next(s for s in SECTIONS if s.title == "Quick start")
    assert [step.code for step in quick.steps] == ["ces-xl score workbook/CES_Template.xlsx"]
    assert quick.steps[0].expected  # the Quick start's output is checked too


def test_a_stale_output_fails(tmp_path):
    """Change one number in a README output: the section's run reports it."""
    text = README.read_text(encoding="utf-8")
    shown = "Scored 14 customers (index method) -> crm_export-scored.xlsx"
    assert shown in text
    stale = sections(text.replace(shown, shown.replace("14", "15"), 1))
    [walk] = [s for s in stale if s.title == "Use it on your data"]
    problems = run_section(walk, tmp_path)
    assert len(problems) == 1 and "Scored 15 customers" in problems[0]  # and the README as it is passes


def test_in_process_runs_print_what_the_command_prints(tmp_path):
    """The same commands, one after another, as the command itself (a subprocess, stderr into
    stdout as on a terminal) and in-process: the same exit codes and the same text."""
    outside, inside = fresh_copy(tmp_path / "outside"), fresh_copy(tmp_path / "inside")
    for command in ["ces-xl score crm_export.xlsx", "ces-xl score crm_export.xlsx",
                    "ces-xl score crm_export.xlsx --in-place -q", "ces-xl score mistakes.xlsx",
                    "ces-xl score seed001.xlsx --bogus"]:
        done = subprocess.run([sys.executable, "-m", "ces_xl.cli", *shlex.split(command)[1:]], cwd=outside,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        with working_in(inside):
            code, printed = run_cli(command)
        assert (code, printed) == (done.returncode, done.stdout), command


# --- the sheets the README shows -----------------------------------------------------------------

def shown_sheets(text: str) -> list[tuple[str, str, list[list[str]], int]]:
    """(file, sheet, rows of cells, README line) for each table under a ``<!-- sheet: -->`` comment."""
    out = []
    lines = text.splitlines()
    for n, line in enumerate(lines):
        match = re.fullmatch(r"<!-- sheet: (\S+) (.+?) -->", line.strip())
        if not match:
            continue
        rows = []
        for row in lines[n + 1:]:
            if not row.startswith("|"):
                break
            rows.append([cell.strip() for cell in row.strip().strip("|").split("|")])
        header, rule, body = rows[0], rows[1], rows[2:]
        assert set("".join(rule)) <= set("-:"), f"README.md:{n + 2}: not a table"
        letters = [openpyxl.utils.get_column_letter(c) for c in range(1, len(header))]
        assert header == ["", *letters], f"README.md:{n + 2}: a sheet's table is headed by its column letters"
        assert [r[0] for r in body] == [str(i) for i in range(1, len(body) + 1)], f"README.md:{n + 3}: row numbers"
        out.append((match[1], match[2], [r[1:] for r in body], n + 1))
    return out


def shown_cell(value) -> str:
    """A cell as the README's tables write it: blank as nothing, a date as 2026-12-01 and a
    date-time as 2026-12-31 14:05 (as the example workbooks' date formats show them)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d" if value.time() == datetime.time() else "%Y-%m-%d %H:%M")
    return str(value)


def test_sheets_shown_in_the_readme_equal_the_examples():
    shown = shown_sheets(README.read_text(encoding="utf-8"))
    assert len(shown) >= 3
    for name, sheet, rows, line in shown:
        ws = openpyxl.load_workbook(EXAMPLES / name)[sheet]
        cells = [[shown_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        assert rows == cells, f"README.md:{line}: the table differs from {name}, sheet {sheet}"


# --- the example workbooks ------------------------------------------------------------------------

def load_generator():
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cell_values(path: Path) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(path)
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def test_committed_examples_equal_their_generator(tmp_path):
    generator = load_generator()
    names = sorted(generator.examples())
    committed = sorted(p.name for p in EXAMPLES.glob("*.xlsx"))
    assert committed == names, "examples/ holds other workbooks than make_examples.py makes"
    with contextlib.redirect_stdout(io.StringIO()):
        generator.main(tmp_path)
    for name in names:
        assert cell_values(EXAMPLES / name) == cell_values(tmp_path / name), (
            f"examples/{name} is stale: regenerate it with 'python examples/make_examples.py'")
    assert (EXAMPLES / "events.csv").read_text() == (tmp_path / "events.csv").read_text(), (
        "examples/events.csv is stale: regenerate it with 'python examples/make_examples.py'")
