"""Measure `policyengine import csv` in streaming: wall time and peak memory vs. rows.

    python bench/import_csv.py 100000 1000000

Writes bench/out/tickets-<N>.csv (naive local times, a company column, a priority) once,
then imports each with the helpdesk mapping of tests/importers/fixtures/generic and reports
wall seconds and the peak RSS/PSS of the process (bench/treemem.py). Flat memory means the
peak does not grow with N.
"""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import treemem  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
MAPPING = ROOT / "tests" / "importers" / "fixtures" / "generic" / "helpdesk.mapping.yaml"
HEADER = ["Ticket ID", "Subject", "Status", "Priority", "Company", "Created time",
          "First responded time", "Resolved time", "Outage"]


def export(rows: int) -> Path:
    path = OUT / f"tickets-{rows}.csv"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2026, 1, 5, 9, 0)
    priorities = ("Urgent", "High", "Medium", "Low")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            # office hours only: no naive time falls in a daylight-saving gap
            opened = start + dt.timedelta(days=(n * 7) % 300, minutes=(n * 13) % 480)
            writer.writerow([f"B-{n}", "Something is off", "Resolved", priorities[n % 4],
                             "Acme Corp" if n % 3 else "Globex",
                             opened.strftime("%Y-%m-%d %H:%M:%S"),
                             (opened + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
                             (opened + dt.timedelta(hours=20)).strftime("%Y-%m-%d %H:%M:%S"),
                             "yes" if n % 5 == 0 else "no"])
    return path


def main(argv: list[str]) -> int:
    for rows in [int(a) for a in argv] or [100_000, 1_000_000]:
        source = export(rows)
        target = OUT / f"tickets-{rows}.ndjson"
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "policyengine", "import", "csv", str(source),
             "--mapping", str(MAPPING), "--output", str(target)],
            stderr=subprocess.DEVNULL)
        rss, pss, _ = treemem.watch(process)
        wall = time.perf_counter() - started
        print(f"{rows} rows ({source.stat().st_size / 1e6:.0f} MB csv): exit "
              f"{process.returncode}; wall {wall:.1f} s ({rows / wall:,.0f} rows/s); "
              f"peak RSS {rss / 2**20:.0f} MiB, PSS {pss / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
