"""A bounded, seeded fuzz run of `validate` and `evaluate` over mutated copies of the shipped
policy and the example facts (the mutations live in ``bench/fuzz.py``; a longer run is
``python bench/fuzz.py --cases 5000 --seed 1``, see docs/hardening.md).

Every case must end with exit code 0, 1 or 2, with no exception other than ``SystemExit``,
no ``Traceback`` in the output and within the time limit. Far-year timestamps and dates are
included (``extreme=True``): they once reached crashes and endless loops, now refused.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = 150
SEED = 20261127
CHUNKS = 5


def _load_fuzz() -> ModuleType:
    name = "policyengine_bench_fuzz"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz()


@pytest.fixture(scope="module")
def sources() -> object:
    return fuzz.Sources.load()


@pytest.mark.parametrize("chunk", range(CHUNKS), ids=lambda c: f"cases-{c * CASES // CHUNKS}")
def test_mutated_inputs_never_crash(chunk: int, sources: object, tmp_path: Path) -> None:
    size = CASES // CHUNKS
    failures = []
    for index in range(chunk * size, (chunk + 1) * size):
        outcome = fuzz.run_case(SEED, index, sources, tmp_path, limit=20.0, extreme=True)
        if outcome.problem:
            failures.append(f"case {index} ({outcome.command}, {outcome.operator}): "
                            f"{outcome.problem} -- replay: python bench/fuzz.py --cases 1 "
                            f"--seed {SEED} --first {index} --keep bench/out/fuzz")
    assert not failures, "\n".join(failures)


def test_cases_are_reproducible(sources: object, tmp_path: Path) -> None:
    """Case ``i`` of a seed is the same mutant every time (so failures replay alone)."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    for index in (0, 17, 149):
        args_one, mutant_one = fuzz.plan(SEED, index, sources, one, extreme=True)
        args_two, mutant_two = fuzz.plan(SEED, index, sources, two, extreme=True)
        assert mutant_one == mutant_two
        assert [a.replace(str(one), str(two)) for a in args_one] == args_two


def test_the_mix_reaches_every_exit_code(sources: object, tmp_path: Path) -> None:
    """The mutations are not all rejected at the door: some evaluate, some fail on purpose."""
    codes = {fuzz.run_case(SEED, i, sources, tmp_path, extreme=True).exit_code
             for i in range(60)}
    assert {0, 2} <= codes
