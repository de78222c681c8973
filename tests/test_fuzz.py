"""Fuzzing: damaged copies of real workbooks (zip bytes, XML parts, cell values) through the
command line and the Python API.

Every case must end in exit 0 with a sound output (a zip whose parts pass their CRC check and
that openpyxl opens, or fails to open no worse than the input) or in exit 1 with one line
``ces-xl: error: ...``; never an internal error (3), "interrupted" (130), an abort, a traceback,
a changed input or a temporary file left behind. A subset also goes through
``ces_xl.score_workbook``, which may raise only CESError.

``CES_XL_FUZZ_CASES`` sets the number of cases (default 1200), ``CES_XL_FUZZ_SEED`` the base seed;
a failing case is replayed with ``python -m tests.fuzz replay INDEX --seed SEED``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from . import fuzz

CASES = int(os.environ.get("CES_XL_FUZZ_CASES", "1200"))
SEED = int(os.environ.get("CES_XL_FUZZ_SEED", str(fuzz.BASE_SEED)))
WORKERS = max(1, min(4, os.cpu_count() or 1))
API_EVERY = 4  # every fourth case also goes through the Python API


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, bytes]:
    soffice = fuzz._soffice()
    if soffice is None and os.environ.get("CI"):
        pytest.fail("LibreOffice (soffice) is required in CI for the LibreOffice-saved seed book")
    paths = fuzz.make_seed_books(tmp_path_factory.mktemp("fuzz-books"), soffice)
    return {name: path.read_bytes() for name, path in paths.items()}


def _run_case(worker: fuzz.Worker, index: int, books: dict[str, bytes],
              root: Path) -> tuple[str, int | None, list[str]]:
    data, what = fuzz.make_case(index, books, SEED)
    folder = root / f"case-{index}"
    folder.mkdir()
    source = folder / "in.xlsx"
    source.write_bytes(data)
    before = hashlib.sha256(data).hexdigest()
    result = worker.run(source, folder / "out.xlsx", api=index % API_EVERY == 0)
    # A damaged zip is one error line; damaged XML or cells may break several contract rules,
    # each printed on its own line.
    found = fuzz.failures(result, before, source, folder, one_line=what.split("] ", 1)[1].startswith("bytes"))
    if not found:
        shutil.rmtree(folder, ignore_errors=True)
    return what, result.code, found


def test_damaged_workbooks_end_in_a_sound_output_or_one_clear_error(books, tmp_path):
    started = time.monotonic()
    pending = list(range(CASES))
    lock = threading.Lock()
    failed: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def drain() -> None:
        worker = fuzz.Worker()
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    index = pending.pop(0)
                what, code, found = _run_case(worker, index, books, tmp_path)
                with lock:
                    outcomes[what.split("] ", 1)[1].split()[0]][f"exit {code}"] += 1
                    for failure in found:
                        failed[fuzz.signature(failure)].append((index, what, failure))
        finally:
            worker.close()

    threads = [threading.Thread(target=drain) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    print(f"\n{CASES} fuzz cases (seed {SEED}) in {elapsed:.1f} s on {WORKERS} workers: "
          + "; ".join(f"{level} {dict(sorted(counts.items()))}" for level, counts in sorted(outcomes.items())))
    if failed:
        report = [f"{sum(len(v) for v in failed.values())} failures in {len(failed)} kinds "
                  f"(replay: python -m tests.fuzz replay INDEX --seed {SEED}):"]
        for sig, cases in sorted(failed.items(), key=lambda kv: -len(kv[1])):
            index, what, failure = cases[0]
            report.append(f"  {len(cases):4d} x {sig}\n         e.g. case {index}: {what[:200]}"
                          f"\n         {failure[:300]}")
        pytest.fail("\n".join(report), pytrace=False)
    if CASES >= 200:  # the mutations do damage, and not only damage that stops every run
        for level, _ in fuzz.LEVELS:
            assert outcomes[level]["exit 0"] and outcomes[level]["exit 1"], (level, dict(outcomes[level]))


@pytest.mark.parametrize("level", ["bytes", "xml", "cells"])
def test_the_worker_reproduces_the_real_command(books, tmp_path, level):
    """The in-process worker reports what the installed command does: the same exit code and
    the same stderr, for a few cases of each level and the healthy template."""
    worker = fuzz.Worker()
    try:
        cases = [(f"case {i}", fuzz.make_case(i, books, SEED, level=level)[0]) for i in range(6)]
        cases.append(("healthy", books["template"]))
        for what, data in cases:
            source = tmp_path / "in.xlsx"
            source.write_bytes(data)
            out = tmp_path / "out.xlsx"
            real_code, real_err = fuzz.run_cli_subprocess(source, out)
            out.unlink(missing_ok=True)
            result = worker.run(source, out)
            out.unlink(missing_ok=True)
            if result.died:
                assert real_code < 0 or real_code > 128, (what, result.died, real_code)
                continue
            assert (result.code, result.stderr) == (real_code, real_err), what
    finally:
        worker.close()
