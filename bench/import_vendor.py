"""Measure a vendor import (Zendesk, ServiceNow) of NDJSON exports: wall time and peak memory.

    python bench/import_vendor.py zendesk 20000 200000
    python bench/import_vendor.py servicenow 20000 200000

Writes bench/out/<source>-<N>/ once: N tickets (or incidents) as NDJSON, with their side
records (Zendesk: 3 metric events and 3 status audits a ticket; ServiceNow: 2 task SLAs and 3
state audit rows an incident), then imports them with the test fixtures' mapping and reports
wall seconds and the peak RSS/PSS of the process (bench/treemem.py). The side records are
indexed (one small entry each) before the tickets stream, so memory grows with them, not
with the tickets.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import treemem  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
FIXTURES = ROOT / "tests" / "importers" / "fixtures"
START = dt.datetime(2026, 1, 5, 14, 0)


def _at(n: int, hours: float = 0) -> dt.datetime:
    return START + dt.timedelta(days=(n * 7) % 300, minutes=(n * 13) % 480, hours=hours)


def _zendesk(n: int) -> Iterator[tuple[str, dict[str, Any]]]:
    z = "%Y-%m-%dT%H:%M:%SZ"
    yield "tickets", {"id": n, "created_at": _at(n).strftime(z),
                      "updated_at": _at(n, 20).strftime(z), "status": "solved",
                      "priority": ("urgent", "high", "normal", "low")[n % 4],
                      "organization_id": 360001 if n % 3 else 360002, "tags": ["export"]}
    for i, (kind, hours) in enumerate((("activate", 0), ("apply_sla", 0), ("fulfill", 1))):
        yield "events", {"id": 3 * n + i, "ticket_id": n, "metric": "reply_time",
                         "instance_id": 1, "type": kind, "time": _at(n, hours).strftime(z)}
    for i, (status, hours) in enumerate((("open", 1), ("pending", 2), ("solved", 20))):
        yield "audits", {"id": 3 * n + i, "ticket_id": n, "created_at": _at(n, hours).strftime(z),
                         "events": [{"id": i, "type": "Change", "field_name": "status",
                                     "value": status}]}


def _servicenow(n: int) -> Iterator[tuple[str, dict[str, Any]]]:
    s = "%Y-%m-%d %H:%M:%S"
    sys_id = f"{n:032x}"
    company = "0c0a0b0c0d0e0f10111213141516170" + ("1" if n % 3 else "2")
    yield "incidents", {"sys_id": sys_id, "number": f"INC{n:07d}",
                        "opened_at": _at(n).strftime(s), "resolved_at": _at(n, 20).strftime(s),
                        "state": "6", "priority": str(1 + n % 3), "impact": "2", "urgency": "2",
                        "company": {"link": "https://example.service-now.com/x",
                                    "value": company}, "caller_id": ""}
    for name, hours, breached in (("Priority 2 response (4 hour)", 1, "false"),
                                  ("Priority 2 resolution (3 day)", 20, "true")):
        yield "task_sla", {"task": {"value": sys_id}, "sla": {"display_value": name},
                           "stage": "completed", "has_breached": breached,
                           "start_time": _at(n).strftime(s), "end_time": _at(n, hours).strftime(s)}
    for old, new, hours in (("1", "2", 1), ("2", "3", 2), ("3", "6", 20)):
        yield "sys_audit", {"tablename": "incident", "documentkey": sys_id, "fieldname": "state",
                            "oldvalue": old, "newvalue": new,
                            "sys_created_on": _at(n, hours).strftime(s)}


def export(source: str, rows: int) -> list[Path]:
    folder = OUT / f"{source}-{rows}"
    make = {"zendesk": _zendesk, "servicenow": _servicenow}[source]
    names = {"zendesk": ("tickets", "events", "audits"),
             "servicenow": ("incidents", "task_sla", "sys_audit")}[source]
    paths = [folder / f"{name}.ndjson" for name in names]
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    handles = {name: (folder / f"{name}.ndjson").open("w", encoding="utf-8") for name in names}
    try:
        for n in range(1, rows + 1):
            for name, record in make(n):
                handles[name].write(json.dumps(record) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return paths


def main(argv: list[str]) -> int:
    source, counts = argv[0], [int(a) for a in argv[1:]] or [20_000, 200_000]
    for rows in counts:
        files = export(source, rows)
        target = OUT / f"{source}-{rows}.ndjson"
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "policyengine", "import", source, *map(str, files),
             "--mapping", str(FIXTURES / source / "mapping.yaml"), "--output", str(target)],
            stderr=subprocess.DEVNULL)
        rss, pss, _ = treemem.watch(process)
        wall = time.perf_counter() - started
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"{source} {rows} tickets ({size:.0f} MB ndjson): exit {process.returncode}; "
              f"wall {wall:.1f} s ({rows / wall:,.0f} tickets/s); peak RSS "
              f"{rss / 2**20:.0f} MiB, PSS {pss / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
