"""The command line as a user meets it: help, version, summaries and notes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from .conftest import SEED_001, make_workbook, run_cli


@pytest.mark.parametrize("args", [["--help"], ["score", "--help"], ["template", "--help"], ["-h"], [],
                                  ["addin", "--help"], ["addin", "build", "--help"], ["addin", "install", "--help"]])
def test_help(args):
    done = run_cli(*args)
    assert done.returncode == 0 and done.stderr == ""
    assert "Usage: ces-xl" in done.stdout


def test_score_help_explains_the_options():
    text = run_cli("score", "--help").stdout
    for words in ("--output", "--in-place", "--quiet", "-scored.xlsx", "never modified"):
        assert words in text


def test_version():
    done = run_cli("--version")
    assert done.returncode == 0 and "ces-xl, version" in done.stdout


def test_summary_on_stdout_and_notes_on_stderr(tmp_path):
    source = make_workbook(tmp_path / "b.xlsx", {
        "Activity": [["ID", "X", "Y"], ["A", 10, 10], ["B", 5, 5]],  # scores 100 and 50
        "Weights": [["Metric", "Weight", "Target"], ["X", 3, 10], ["Y", 1, 10]],
    })
    done = run_cli("score", source)
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == f"Scored 2 customers (index method) -> {tmp_path / 'b-scored.xlsx'}"
    lines = {line.split("  ")[1].strip(): line.split()[-3:] for line in done.stdout.splitlines()[1:]}
    assert lines["Very engaged"] == ["1", "(", "50.0%)"]
    assert lines["Somewhat engaged"] == ["1", "(", "50.0%)"]
    assert lines["Very disengaged"] == ["0", "(", "0.0%)"]
    assert done.stderr.strip() == ("ces-xl: note: weights sum to 4, not 1 or 100; they are used as "
                                   "proportions of their total")
    quiet = run_cli("score", source, "-q", "-o", tmp_path / "q.xlsx")
    assert quiet.returncode == 0 and quiet.stdout == f"{tmp_path / 'q.xlsx'}\n"  # only the output path


def test_an_existing_output_is_replaced_only_with_force(tmp_path):
    source = make_workbook(tmp_path / "b.xlsx", SEED_001)
    assert run_cli("score", source).returncode == 0
    out = tmp_path / "b-scored.xlsx"
    before = out.read_bytes()
    again = run_cli("score", source)
    assert again.returncode == 4 and again.stdout == ""
    assert again.stderr == (f"ces-xl: error: {out}: the output file exists; pass --force to replace it (columns "
                            "you added to its Scores sheet are kept), or choose another output path\n")
    assert out.read_bytes() == before
    forced = run_cli("score", source, "--force", "-q")
    assert forced.returncode == 0 and forced.stdout == f"{out}\n"
    # --in-place needs no --force: replacing the input is what it asks for.
    assert run_cli("score", source, "--in-place", "-q").returncode == 0


def test_addin_build_and_install_commands(tmp_path):
    import zipfile

    done = run_cli("addin", "build", "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    built = tmp_path / "out" / "ces_xl.xlam"
    assert done.stdout.strip() == f"Wrote {built}"
    assert 'label="CES"' in zipfile.ZipFile(built).read("customUI/customUI.xml").decode()
    if sys.platform not in ("win32", "darwin"):
        refused = run_cli("addin", "install", "--file", built)
        assert refused.returncode == 5  # setup: no desktop Excel here
        line = refused.stderr.strip()
        assert "\n" not in line and "only where desktop Excel runs" in line and "Add-ins" in line


def test_installed_console_script(tmp_path):
    exe = shutil.which("ces-xl")
    if exe is None:
        pytest.skip("the ces-xl console script is not on PATH (package not installed with pip)")
    source = make_workbook(tmp_path / "seed.xlsx", SEED_001)
    done = subprocess.run([exe, "score", str(source)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "seed-scored.xlsx").exists()


def run_in_terminal(*args: str, timeout: float = 120) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (as in a shell window); returns the exit
    code and what the terminal showed."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100 characters
    done = subprocess.Popen([sys.executable, "-m", "ces_xl.cli", *args], stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal closed: the child has exited
            break
        if not data:
            break
        shown += data
    os.close(master)
    return done.wait(timeout), shown.decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_progress_bar_on_a_terminal_and_not_with_quiet(tmp_path):
    source = make_workbook(tmp_path / "b.xlsx", SEED_001)
    code, shown = run_in_terminal("score", str(source))
    assert code == 0
    assert "ces-xl: writing" in shown and "100%" in shown
    code, shown = run_in_terminal("score", str(source), "-q", "--in-place")
    assert code == 0 and shown == ""
    # Not a terminal (a pipe, as under CI or cron): no bar either.
    piped = run_cli("score", source, "-o", tmp_path / "piped.xlsx")
    assert piped.returncode == 0 and "%" not in piped.stderr


def test_the_bar_moves_while_reading_and_can_be_asked_for_anywhere(tmp_path):
    import re

    rows = [["Customer", "Website Visit", "Email Click", "Purchase"]] + [[f"C-{i}", i % 7, i % 3, i % 2]
                                                                          for i in range(3000)]
    source = make_workbook(tmp_path / "b.xlsx", {"Activity": rows, "Weights": SEED_001["Weights"]})
    code, shown = run_in_terminal("score", str(source))
    assert code == 0
    reading = [int(p) for p in re.findall(r"ces-xl: reading .*?(\d+)%", shown)]
    assert any(0 < p <= 45 for p in reading), shown  # the bar moves before the scoring starts
    # Where stderr is not a terminal (an IDE console, a CI log), --progress shows it all the same,
    # in plain ASCII where the stream cannot show block characters.
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    piped = subprocess.run([sys.executable, "-m", "ces_xl.cli", "score", str(source), "-o",
                            str(tmp_path / "p.xlsx"), "--progress"], capture_output=True, text=True, env=env,
                           timeout=120)
    assert piped.returncode == 0 and "ces-xl: writing" in piped.stderr and "100%" in piped.stderr
    assert piped.stderr.isascii() and "#" in piped.stderr
    hidden = run_cli("score", source, "-o", tmp_path / "q.xlsx", "--no-progress")
    assert hidden.returncode == 0 and "%" not in hidden.stderr


def test_the_command_starts_reading_before_pandas_is_imported():
    # The read runs on a thread while pandas imports (a quarter of a second at any size);
    # that only works while the CLI module and the reader stay free of pandas.
    code = ("import sys, ces_xl.cli, ces_xl.xlsx.reader, ces_xl; "
            "print(sorted(m for m in ('pandas', 'numpy', 'xlwings', 'openpyxl') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
