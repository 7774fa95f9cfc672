"""Time reading (loading and checking) an NDJSON fact file, nothing else.

    python bench/read.py FILE [--parallel N]

Without ``--parallel``: one process reads the whole file into a FactSet (``load_facts``).
With ``--parallel N``: N forked readers spool it, as ``policyengine evaluate`` does
(``stream.factspool.read_parallel``). Prints the wall time and the fact count; run it
under ``/usr/bin/time -f "cpu %U+%S"`` for the CPU time of the whole process tree.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--parallel", type=int, default=0, metavar="N")
    args = parser.parse_args()
    gc.disable()  # as the CLI: the collector is paused while facts are read
    start = time.perf_counter()
    if args.parallel:
        from policyengine.stream.factspool import FactSpool, read_parallel, spooling_builder

        with tempfile.TemporaryDirectory() as directory:
            shards = max(1, os.path.getsize(args.file) // 8_000_000)
            spool = FactSpool(Path(directory), shards)
            facts = read_parallel([args.file], spooling_builder((), spool), spool,
                                  args.parallel)
            if facts is None:
                print("the parallel read fell back (a problem in the input)", file=sys.stderr)
                return 1
            count = facts.count() + sum(spool.counts)
    else:
        from policyengine.validation.facts import load_facts

        count = load_facts([args.file]).count()
    print(f"{count} facts in {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
