"""A short, seeded run of the rule-pack fuzzer (``bench/rulefuzz.py``; the long run is
``python bench/fuzz.py --mode rules --cases 5000 --seed 1``, see docs/hardening.md).

Mutated copies of the shipped rule packs are validated and, when they validate, loaded with
the shipped policy and evaluated on both back-ends in a worker process: no traceback, no
back-end disagreement, no hang, no file left in the worker's ``$TMPDIR``, no child process.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261127
CASES = 10


def _load() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    name = "rulefuzz"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "rulefuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


rulefuzz = _load()


def test_mutated_rule_packs_never_crash() -> None:
    outcomes = rulefuzz.run(CASES, SEED, limit=60.0)
    assert len(outcomes) == CASES
    failures = [f"case {o.index} ({'; '.join(o.edits)}): {o.problem} -- replay: python "
                f"bench/rulefuzz.py --cases 1 --seed {SEED} --first {o.index}"
                for o in outcomes if o.verdict == "failed"]
    assert not failures, "\n".join(failures)


def test_cases_are_reproducible() -> None:
    """Case ``i`` of a seed is the same mutant every time (so a failure replays alone)."""
    packs = rulefuzz.load_packs()
    for index in (0, 7):
        one = rulefuzz.mutate(packs, random.Random(f"rulefuzz:{SEED}:{index}"))
        two = rulefuzz.mutate(packs, random.Random(f"rulefuzz:{SEED}:{index}"))
        assert one == two


def test_a_hang_is_a_failure_not_the_end_of_the_run() -> None:
    """A worker that does not answer in time is killed and replaced; the run goes on."""
    outcomes = rulefuzz.run(2, SEED, limit=0.01)
    assert [o.verdict for o in outcomes] == ["failed", "failed"]
    assert all("no result within" in o.problem for o in outcomes)


def test_keys_after_where_compile(tmp_path: Path) -> None:
    """Found by the rule fuzzer (seed 1, case 806): a key after ``where`` in a condition (an
    ``any`` here) was compiled with the term's condition mistaken for the ``where`` context
    and ended in ``ValueError: not enough values to unpack`` at ``Engine.load``. Now it loads
    and evaluates like the shipped order: T-1002 is classified, so the report is the same."""
    import shutil

    import yaml

    from policyengine.api import Engine

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    support = yaml.safe_load((rules / "support.yaml").read_text())
    rule = next(r for r in support["rules"] if r["id"] == "severity-from-impact")
    condition = rule["when"]["t"]
    del condition["assigned"]
    condition["any"] = [{"assigned": False}]  # after `where`: the order that failed
    (rules / "support.yaml").write_text(yaml.safe_dump(support, sort_keys=False))
    facts, as_of = ROOT / "examples" / "october-2026.yaml", "2026-11-27T12:00:00-05:00"
    shipped = Engine.load(ROOT / "policies" / "spirion", backend="python")
    edited = Engine.load(ROOT / "policies" / "spirion", rules=rules, backend="python")
    reports = [json.loads(engine.evaluate(facts, as_of=as_of).to_json())
               for engine in (edited, shipped)]
    for report in reports:  # the header names the rules' fingerprint, which differs
        report.pop("decision")
    assert reports[0] == reports[1]


def test_a_condition_term_compared_as_a_value_is_refused_at_load(tmp_path: Path) -> None:
    """Found by the rule fuzzer (seed 1, case 408): ``severity: {term: definition}`` (a
    condition, not a value) validated; the Python back-end compared a number with a mapping
    (never equal: silently nothing decided), durable-rules refused the ruleset with "error
    code: 202". Now ``Engine.load`` refuses it on both, with one located line."""
    import shutil

    import pytest
    import yaml

    from policyengine.api import Engine
    from policyengine.diagnostics import InputError

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    support = yaml.safe_load((rules / "support.yaml").read_text())
    rule = next(r for r in support["rules"] if r["id"] == "response-pending")
    rule["when"]["t"]["severity"] = {"term": "definition"}
    (rules / "support.yaml").write_text(yaml.safe_dump(support, sort_keys=False))
    for backend in ("python", "durable"):
        with pytest.raises(InputError) as caught:
            Engine.load(ROOT / "policies" / "spirion", rules=rules, backend=backend)
        lines = [d.render() for d in caught.value.diagnostics]
        assert lines and all("term 'definition'" in line and "not a value" in line
                             and "\n" not in line for line in lines), lines


@pytest.mark.parametrize(("term", "words"), [
    ("plans", "term 'plans' of clause 'availability-commitment' is a list, not one value: "
              "compare with 'in' or 'not_in'"),
    ("period", "'availability' of customer_month facts is a number, but term 'period' of "
               "clause 'availability-commitment' is text (calendar_month): they cannot be "
               "compared"),
], ids=["list-term-compared-lt", "text-term-compared-with-a-number"])
def test_a_term_compared_with_a_field_is_one_value_of_its_kind(tmp_path: Path, term: str,
                                                               words: str) -> None:
    """Found by the rule fuzzer (seed 1, case 2065): ``availability: {lt: {term: plans}}``
    (a list) validated; the Python back-end evaluated it, durable-rules refused the stage
    with "error code: 102" (an unexpected type). A text term against a number field is the
    same kind of fault. Both back-ends now refuse it at load, one located line."""
    import shutil

    import yaml

    from policyengine.api import Engine
    from policyengine.diagnostics import InputError

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    pack = yaml.safe_load((rules / "availability.yaml").read_text())
    rule = next(r for r in pack["rules"] if r["id"] == "month-missed")
    rule["when"]["m"]["availability"] = {"lt": {"term": term}}
    (rules / "availability.yaml").write_text(yaml.safe_dump(pack, sort_keys=False))
    for backend in ("python", "durable"):
        with pytest.raises(InputError) as caught:
            Engine.load(ROOT / "policies" / "spirion", rules=rules, backend=backend)
        lines = [d.render() for d in caught.value.diagnostics]
        assert len(lines) == 1 and words in lines[0] and "availability.yaml:" in lines[0], lines
