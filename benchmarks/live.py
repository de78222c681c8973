#!/usr/bin/env python3
"""Live workbooks (issue 16): ``ces-xl score`` of 100,000 customers x 10 metrics with Settings
``Formulas`` = ``live`` against the same workbook with values only, in the same run; and how
long LibreOffice takes to recalculate every formula of the live result.

The workbooks are those of ``benchmarks/scale.py`` (cached in its work folder), the live one
with a ``Formulas | live`` row in its Settings sheet. Each ces-xl run is a child process (wall
time and peak memory from ``os.wait4``), best of ``--repeat``. LibreOffice (``soffice
--headless --convert-to csv``) is timed on the live result twice: showing the cached values, as
it does by default for a file it did not write, and recalculating every formula
(``OOXMLRecalcMode`` = 0 in a fresh profile); the difference is the recalculation.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402  (the generated workbooks and the child-process launcher)

CUSTOMERS = 100_000
TARGET_RATIO = 2.0
RECALCULATE_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def live_workbook(workdir: Path) -> Path:
    path = workdir / f"activity-{CUSTOMERS}-live-v{scale.FORMAT_VERSION}.xlsx"
    if not path.exists():
        scale.write_activity_workbook(path, CUSTOMERS, settings=(*scale.SETTINGS, ("Formulas", "live")))
    return path


def libreoffice(book: Path, recalculate: bool) -> float:
    """Seconds for LibreOffice to open ``book`` and export it to CSV (every sheet)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    with tempfile.TemporaryDirectory() as out:
        profile = Path(out) / "profile"
        if recalculate:
            (profile / "user").mkdir(parents=True)
            (profile / "user" / "registrymodifications.xcu").write_text(RECALCULATE_ALWAYS)
        started = time.perf_counter()
        subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to",
                        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                        "--outdir", out, str(book)], capture_output=True, check=True, timeout=1800)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ces_xl-bench")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    values, _ = scale.ensure_workbook(args.workdir, CUSTOMERS)
    live = live_workbook(args.workdir)
    ces_xl = str(scale.ces_xl_command())
    found = {}
    for name, source in (("values", values), ("live", live)):
        out = args.workdir / f"{source.stem}-scored.xlsx"
        found[name] = scale.run_contender([ces_xl, "score", str(source), "-o", str(out), "-q", "--force"], out,
                                          args.repeat, args.timeout)
    kept = args.workdir / "live-scored.xlsx"
    subprocess.run([ces_xl, "score", str(live), "-o", str(kept), "-q", "--force"], check=True, capture_output=True)
    shown, recalculated = libreoffice(kept, False), libreoffice(kept, True)
    ratio = found["live"]["seconds"] / found["values"]["seconds"]
    print(f"100,000 customers x 10 metrics, best of {args.repeat}:")
    for name, r in found.items():
        print(f"  ces-xl score, Formulas = {name:<6}  {r['seconds']:6.2f} s  {r['peak_mb']:7,.0f} MB"
              f"{'' if r['ok'] else '  FAILED ' + r['detail']}")
    print(f"  LibreOffice opening the live result and exporting it: {shown:.1f} s showing the cached values, "
          f"{recalculated:.1f} s recalculating every formula (recalculation: {recalculated - shown:.1f} s)")
    print(f"  {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}  live in at most {TARGET_RATIO:g}x the time of values "
          f"only: {ratio:.2f}x")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
