"""Kill the scorer at random moments: OUT is absent or complete, IN unchanged or (in place)
either the old or the new complete workbook. Never a half-written file."""
from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from .conftest import make_workbook


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def big_book(path: Path, rows: int = 6000) -> Path:
    activity = [["Customer", "Visits", "Clicks", "Orders"]] + [[f"C{i}", i % 17, i % 5, i % 3] for i in range(rows)]
    return make_workbook(path, {"Activity": activity, "Weights": [["Metric", "Weight"], ["Visits", 1],
                                                                   ["Clicks", 2], ["Orders", 5]]})


def is_complete_scored_book(path: Path, rows: int) -> bool:
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    book = openpyxl.load_workbook(path, read_only=True)
    return "Scores" in book.sheetnames and book["Scores"].max_row == rows + 1


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ces_xl.cli", "score", "-q", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def full_run_seconds(source: Path, out: Path) -> float:
    began = time.perf_counter()
    assert start(str(source), "-o", str(out)).wait(timeout=300) == 0
    return time.perf_counter() - began


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_runs_never_leave_a_corrupt_output(tmp_path, seed):
    source = big_book(tmp_path / "in.xlsx")
    before = sha(source)
    out = tmp_path / "out.xlsx"
    duration = full_run_seconds(source, tmp_path / "timing.xlsx")
    rng = random.Random(seed)
    for _ in range(4):
        process = start(str(source), "-o", str(out), "--force")
        time.sleep(rng.uniform(0.05, duration))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        assert sha(source) == before
        if out.exists():  # only ever the complete result of some earlier run
            assert is_complete_scored_book(out, 6000)
    assert start(str(source), "-o", str(out), "--force").wait(timeout=300) == 0
    assert is_complete_scored_book(out, 6000)


def test_killed_in_place_runs_leave_the_old_or_the_new_workbook(tmp_path):
    source = big_book(tmp_path / "book.xlsx")
    original = sha(source)
    duration = full_run_seconds(source, tmp_path / "timing.xlsx")
    rng = random.Random(3)
    states = set()
    for _ in range(5):
        process = start(str(source), "--in-place")
        time.sleep(rng.uniform(0.05, duration * 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if sha(source) == original:
            states.add("old")
        else:
            assert is_complete_scored_book(source, 6000)
            states.add("new")
    assert states <= {"old", "new"}
