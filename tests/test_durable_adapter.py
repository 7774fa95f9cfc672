"""The durable-rules adapter: each trap from docs/durable-rules.md, proven handled."""

from __future__ import annotations

import threading

import pytest

from policyengine.compile.compiler import CompiledRule, CompiledStage, SetEffect
from policyengine.diagnostics import EngineError
from policyengine.engine import apply_firings
from policyengine.engine.durable_backend import DurableBackend, engine_ids, fnv1a32
from policyengine.engine.python_backend import PythonBackend


def _stage(name: str = "probe") -> CompiledStage:
    rules = (
        CompiledRule(
            name=f"{name}.late", rule_id="probe.late", clause_id="c1", stage=name,
            aliases=("t",),
            conditions=({"t": {"$and": [{"type": "ticket"},
                                        {"$gt": {"answered": {"$m": "due"}}}]}},),
            sets=(SetEffect("t", "late", True),), subject="t", outcome="breach",
            message="late {t.key}",
        ),
        CompiledRule(
            name=f"{name}.join", rule_id="probe.join", clause_id="c2", stage=name,
            aliases=("w", "n"),
            conditions=({"w": {"type": "window"}},
                        {"n": {"$and": [{"type": "note"}, {"window": {"w": "key"}},
                                        {"$gte": {"lead": 10}}]}}),
            sets=(SetEffect("w", "lead", 0, "max"),), subject="w", outcome="noted",
            message="{n.key} for {w.key}",
        ),
    )
    return CompiledStage(name, rules, frozenset({"ticket", "window", "note"}))


def _facts(count: int) -> list[dict]:
    facts: list[dict] = []
    for i in range(count):
        facts.append({"type": "ticket", "key": f"fact-{i}", "answered": i % 3, "due": 1})
    return facts


def test_colliding_domain_ids_do_not_drop_facts() -> None:
    # 'fact-25388' and 'fact-909936' collide in durable-rules' 32-bit hash
    assert fnv1a32("fact-25388") == fnv1a32("fact-909936")
    stage = _stage("collide")
    facts = [{"type": "ticket", "key": "fact-25388", "answered": 2, "due": 1},
             {"type": "ticket", "key": "fact-909936", "answered": 2, "due": 1}]
    fired = DurableBackend().run(stage, facts)
    assert sorted(f.bindings["t"]["key"] for f in fired) == ["fact-25388", "fact-909936"]


def test_engine_ids_have_distinct_hashes_by_construction() -> None:
    ids = engine_ids(20000, "s1")
    assert len(set(ids)) == 20000
    assert len({fnv1a32(i) for i in ids}) == 20000


def test_same_results_as_python_backend_on_joins_and_same_fact_refs() -> None:
    stage = _stage("diff")
    facts = _facts(50) + [
        {"type": "window", "key": "w1"}, {"type": "window", "key": "w2"},
        {"type": "note", "key": "n1", "window": "w1", "lead": 12},
        {"type": "note", "key": "n2", "window": "w1", "lead": 9},
        {"type": "note", "key": "n3", "window": "w2", "lead": 10},
    ]
    durable = apply_firings(stage, DurableBackend().run(stage, facts))
    python = apply_firings(stage, PythonBackend().run(stage, facts))
    assert durable.decisions == python.decisions
    assert sorted(durable.findings) == sorted(python.findings)
    # answered 2 > due 1 for i % 3 == 2: 16 of 50 tickets are late
    assert sum(1 for f in python.findings if f.outcome == "breach") == 16
    assert sorted(f.message for f in python.findings if f.outcome == "noted") == [
        "n1 for w1", "n3 for w2"]


def test_more_than_1024_sessions_do_not_exhaust_the_engine() -> None:
    stage = _stage("many")
    backend = DurableBackend()
    for _ in range(1100):  # the 1,025th live session would raise MemoryError
        assert len(backend.run(stage, _facts(3))) == 1


def test_concurrent_threads_get_sequential_results() -> None:
    stage = _stage("threads")
    backend = DurableBackend()
    expected = sorted(f.bindings["t"]["key"] for f in backend.run(stage, _facts(30)))
    errors: list[BaseException] = []
    results: list[list[str]] = []

    def work() -> None:
        try:
            for _ in range(25):
                fired = backend.run(stage, _facts(30))
                results.append(sorted(f.bindings["t"]["key"] for f in fired))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 200
    assert all(r == expected for r in results)


def test_errors_while_recording_actions_are_raised_to_the_caller(monkeypatch) -> None:
    from policyengine.engine import durable_backend

    stage = _stage("boom")
    backend = DurableBackend()

    def exploding_firing(*args: object) -> None:
        raise RuntimeError("action exploded")

    monkeypatch.setattr(durable_backend, "Firing", exploding_firing)
    with pytest.raises(RuntimeError, match="action exploded"):
        backend.run(stage, _facts(3))
    monkeypatch.undo()
    # the half-run action was abandoned and the session deleted: the engine still works
    assert len(backend.run(stage, _facts(3))) == 1


def test_unmatched_facts_do_not_suppress_other_actions() -> None:
    stage = _stage("unmatched")
    facts = [{"type": "ticket", "key": "t1", "answered": 0, "due": 1},  # matches nothing
             {"type": "ticket", "key": "t2", "answered": 5, "due": 1}]
    fired = DurableBackend().run(stage, facts)
    assert [f.bindings["t"]["key"] for f in fired] == ["t2"]


def test_no_session_state_survives_a_run() -> None:
    stage = _stage("isolated")
    backend = DurableBackend()
    first = backend.run(stage, [{"type": "window", "key": "w1"}])
    assert first == []
    # a note joining to w1 in a later run must not see the earlier window
    second = backend.run(stage, [{"type": "note", "key": "n1", "window": "w1", "lead": 50}])
    assert second == []


def test_no_session_survives_an_evaluation() -> None:
    """Every session an evaluation opens is deleted by the time it returns."""
    from policyengine.api import Engine

    from .conftest import ROOT

    backend = DurableBackend()
    real = backend._engine
    opened: list[tuple[int, str]] = []
    live_during: list[bool] = []

    class Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def assert_facts(self, handle: int, batch: str) -> object:
            import json

            sids = {fact["sid"] for fact in json.loads(batch)}
            assert len(sids) == 1, "one session per call"
            sid = sids.pop()
            outcome = real.assert_facts(handle, batch)
            opened.append((handle, sid))
            live_during.append(bool(real.get_state(handle, sid)))  # positive control
            return outcome

    backend._engine = Spy()
    engine = Engine.load(ROOT / "policies" / "spirion", backend="durable")
    engine.backend = backend
    engine.evaluate([ROOT / "examples" / "october-2026.yaml"],
                    as_of="2026-11-27T12:00:00-05:00")
    assert len(opened) >= 8 and all(live_during)
    for handle, sid in opened:
        with pytest.raises(Exception, match="Could not get state"):
            real.get_state(handle, sid)


def test_action_messages_bind_our_facts_and_fall_back_to_decoding() -> None:
    from policyengine.engine.durable_backend import _firing

    stage = _stage("bind")
    engine_ids(3)  # positions: "1" → 0, "2" → 1, "3" → 2
    facts = [{"type": "window", "key": "w1"}, {"type": "note", "key": "n1", "window": "w1",
                                               "lead": 12}, {"type": "ticket", "key": "t"}]
    ordered = ('{"bind.join":{"w":{"type": "window", "key": "w1", "id": "1", "sid": "s"},'
               '"n":{"type": "note", "key": "n1", "window": "w1", "lead": 12, "id": "2", '
               '"sid": "s"}}}')
    firing = _firing(ordered, stage, facts)
    assert firing.bindings["w"] is facts[0] and firing.bindings["n"] is facts[1]
    # aliases in another order than declared: the types disagree, so the message is decoded
    swapped = ('{"bind.join":{"n":{"type": "note", "key": "n1", "id": "2", "sid": "s"},'
               '"w":{"type": "window", "key": "w1", "id": "1", "sid": "s"}}}')
    firing = _firing(swapped, stage, facts)
    assert firing.bindings["w"]["key"] == "w1" and firing.bindings["n"]["key"] == "n1"
    assert firing.bindings["w"] is not facts[0]  # decoded, not bound by position


def test_two_rules_deciding_one_field_differently_is_an_error() -> None:
    rules = tuple(
        CompiledRule(name=f"clash.{value}", rule_id=f"clash.{value}", clause_id="c",
                     stage="clash", aliases=("t",), conditions=({"t": {"type": "ticket"}},),
                     sets=(SetEffect("t", "form", value),), subject=None, outcome=None,
                     message=None)
        for value in ("credit", "refund")
    )
    stage = CompiledStage("clash", rules, frozenset({"ticket"}))
    with pytest.raises(EngineError, match="decides form of t1 as"):
        apply_firings(stage, PythonBackend().run(stage, [{"type": "ticket", "key": "t1"}]))
