"""Run a command and report its wall time and the peak memory of its whole process tree.

``/usr/bin/time`` reports the peak RSS of one process; a streamed evaluation forks worker
processes, whose memory counts too. This samples every process in the tree every 250 ms
and reports the peak of the summed RSS and of the summed PSS (proportional set size:
pages shared between parent and forked children are split between them, not counted
twice, so the PSS sum is what the tree really occupies).

    python bench/treemem.py -- policyengine evaluate --policy policies/spirion \\
        --facts bench/out/facts-1m-s7.ndjson --as-of 2027-01-15T12:00:00-05:00 --output r.json

Linux only (reads /proc).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _tree(root: int) -> list[int]:
    tree = _children()
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(tree.get(pid, ()))
    return pids


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes; zeros for a process that is gone."""
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        pss = 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
                break
        return rss, pss
    except (OSError, ValueError, IndexError):
        return 0, 0


def watch(process: subprocess.Popen[Any], every: float = 0.25) -> tuple[int, int, int]:
    """Sample a running process's tree until it ends: peak summed RSS and PSS (bytes),
    and the most processes seen at once."""
    peak_rss = peak_pss = peak_processes = 0
    while process.poll() is None:
        pids = _tree(process.pid)
        memory = [_memory(pid) for pid in pids]
        peak_rss = max(peak_rss, sum(m[0] for m in memory))
        peak_pss = max(peak_pss, sum(m[1] for m in memory))
        peak_processes = max(peak_processes, len(pids))
        time.sleep(every)
    return peak_rss, peak_pss, peak_processes


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print(__doc__)
        return 2
    started = time.perf_counter()
    process = subprocess.Popen(argv)
    peak_rss, peak_pss, peak_processes = watch(process)
    wall = time.perf_counter() - started
    print(f"exit {process.returncode}; wall {wall:.2f} s; processes {peak_processes}; "
          f"peak tree RSS {peak_rss / 2**20:,.0f} MiB; peak tree PSS {peak_pss / 2**20:,.0f} MiB",
          file=sys.stderr)
    return process.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
