"""Memory of a process that loads many distinct policy versions (issue: rulesets never freed).

    python bench/compile_cache.py [LOADS]

Loads LOADS versions of the shipped policy that differ only in target_percent, evaluates the
October example with each on durable-rules, and prints the process's RSS before and after and
how many durable-rules rulesets are still registered.
"""

from __future__ import annotations

import gc
import resource
import sys
import tempfile
from pathlib import Path

from policyengine.api import Engine
from policyengine.engine.durable_backend import DurableBackend

ROOT = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main() -> None:
    loads = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    text = (ROOT / "policies/spirion/1.0.0.yaml").read_text(encoding="utf-8")
    example = str(ROOT / "examples/october-2026.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        Engine.load(ROOT / "policies/spirion/1.0.0.yaml", backend="durable").evaluate(
            [example], as_of="2026-11-27T12:00:00-05:00")
        start = rss_mib()
        for n in range(loads):
            path = Path(tmp) / f"v{n}.yaml"
            path.write_text(text.replace("target_percent: 99.0\n",
                                         f"target_percent: {99 + n / 10_000:.4f}\n"))
            Engine.load(path, backend="durable").evaluate(
                [example], as_of="2026-11-27T12:00:00-05:00")
        gc.collect()
        print(f"{loads} loads: RSS {start:.0f} MiB -> {rss_mib():.0f} MiB; "
              f"rulesets registered: {len(DurableBackend._registered)}")


if __name__ == "__main__":
    main()
