"""What the policy and rule-pack fuzzers (bench/policyfuzz.py, bench/rulefuzz.py) share: the
options of a seeded run of cases and the summary of its outcomes. Dependency-free, so either
fuzzer loads it however it was started (``python bench/x.py``, ``bench/fuzz.py --mode``, or
the tests' ``importlib``)."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class Outcome(Protocol):
    index: int
    edits: list[str]
    verdict: str
    problem: str
    seconds: float


def case_parser(description: str, limit: float, keep_help: str) -> argparse.ArgumentParser:
    """``--cases --seed --first --limit --keep``, as both fuzzers take them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="index of the first case")
    parser.add_argument("--limit", type=float, default=limit,
                        help="seconds per case before it counts as a hang")
    parser.add_argument("--keep", type=Path, default=None, help=keep_help)
    return parser


def summary(label: str, outcomes: Sequence[Outcome], seed: int, seconds: float,
            joiner: str = ", ", kinds: bool = False) -> str:
    """Cases per verdict, failures, time, (``kinds``: failures by their last line), then the
    first 20 failed cases with their edits (joined by ``joiner``) and last six lines."""
    counts = Counter(o.verdict for o in outcomes)
    failed = [o for o in outcomes if o.verdict == "failed"]
    slowest = max((o.seconds for o in outcomes), default=0.0)
    lines = [
        f"{label} cases: {len(outcomes)} (seed {seed}); "
        + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
        f"failures: {len(failed)}",
        f"time: {seconds:.1f} s total, slowest case {slowest:.2f} s",
    ]
    if kinds:
        by_kind = Counter(o.problem.strip().splitlines()[-1][:120] if o.problem else "?"
                          for o in failed)
        lines += [f"  {count} x {kind}" for kind, count in by_kind.most_common(15)]
    for outcome in failed[:20]:
        lines.append(f"  case {outcome.index} ({joiner.join(outcome.edits)}):")
        lines.extend(f"    {line}" for line in outcome.problem.splitlines()[-6:])
    return "\n".join(lines)
