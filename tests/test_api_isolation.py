"""The embedding API isolates evaluations: engines, threads, durable sessions, memory.

- any number of engines (the shipped policy and edited copies) in one process each give
  their own results, whatever ran before or between;
- 8 threads evaluating at once give the same JSON as sequential calls, on both back-ends;
- no durable-rules session outlives the evaluation that opened it;
- memory stays flat over thousands of small evaluations (measured with resource/tracemalloc;
  no test here asserts a wall-clock time).
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import resource
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from policyengine.api import Engine, facts_from_dicts
from policyengine.validation.facts import FactSet

from .conftest import BACKENDS, engine_for, set_term, shipped_policy_data

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"

# name → edits of the shipped policy (none = the shipped policy itself)
VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    "target-99.95": {"availability-commitment.target_percent": 99.95},
    "target-95": {"availability-commitment.target_percent": 95.0},
    "sev1-response-1h": {"severity-1.response.target": "1h"},
    "scheduled-notice-12h": {"scheduled-downtime.notice.lead": "12h",
                             "scheduled_downtime_notice.lead": "12h"},
}


def _engine(variant: str, backend: str) -> Engine:
    data = shipped_policy_data()
    for path, value in VARIANTS[variant].items():
        set_term(data, path, value)
    return engine_for(data, backend)


def _facts() -> FactSet:
    """The October example plus a few dozen tickets and outages (small, but several stages
    and customers, so that concurrent evaluations really overlap)."""
    from policyengine.load.loader import load_document

    raw: list[dict[str, Any]] = list(load_document(EXAMPLE).data["facts"])
    start = dt.datetime(2026, 10, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    customers = ("acme", "globex", "hooli")
    for i in range(60):
        opened = start + dt.timedelta(hours=7 * i + 1)
        ticket: dict[str, Any] = {"type": "ticket", "id": f"X-{i}", "customer": customers[i % 3],
                                  "opened_at": opened.isoformat()}
        if i % 3:
            ticket["severity"] = 1 + i % 3
        else:
            ticket["impact"] = {"loss_of_service": i % 2 == 0, "workaround_available": i % 5 == 0,
                                "production_degraded": True}
        if i % 4:
            ticket["first_response_at"] = (opened + dt.timedelta(minutes=37 * (i % 11))).isoformat()
        if i % 6 == 0:
            ticket["resolved_at"] = (opened + dt.timedelta(hours=5 * (i % 13) + 1)).isoformat()
        raw.append(ticket)
    for i in range(8):
        begin = start + dt.timedelta(days=3 * i, hours=2)
        raw.append({"type": "downtime", "id": f"XD-{i}", "start": begin.isoformat(),
                    "end": (begin + dt.timedelta(minutes=50 + 20 * i)).isoformat(),
                    "cause": ("vendor", "third_party")[i % 2], "maintenance": "none",
                    "customers": [customers[i % 3]]})
    return facts_from_dicts(raw)


@pytest.fixture(scope="module")
def facts() -> FactSet:
    return _facts()


@pytest.fixture(scope="module")
def engines() -> dict[tuple[str, str], Engine]:
    return {(variant, backend): _engine(variant, backend)
            for variant in VARIANTS for backend in BACKENDS}


@pytest.fixture(scope="module")
def expected(engines: dict[tuple[str, str], Engine], facts: FactSet) -> dict[tuple[str, str], str]:
    """Sequential results, one engine after the other."""
    return {key: engine.evaluate(facts, as_of=AS_OF).to_json() for key, engine in engines.items()}


# -- many engines, one process ---------------------------------------------------------------
def test_each_engine_gives_its_own_results(expected: dict[tuple[str, str], str]) -> None:
    import json

    by_variant: dict[str, str] = {}
    for (variant, _backend), text in expected.items():
        # the two back-ends agree for every policy
        if variant in by_variant:
            assert text == by_variant[variant], f"{variant}: durable and python differ"
        by_variant[variant] = text
    # every edit changes the result, and each in its own way
    assert len(set(by_variant.values())) == len(VARIANTS)
    docs = {variant: json.loads(text) for variant, text in by_variant.items()}
    for variant, target in (("shipped", 99), ("target-99.95", 99.95), ("target-95", 95)):
        covered = [r for r in docs[variant]["availability"] if r["covered"]]
        assert covered and {r["target_percent"] for r in covered} == {target}
    shipped = {t["id"]: t for t in docs["shipped"]["tickets"]}
    faster = {t["id"]: t for t in docs["sev1-response-1h"]["tickets"]}
    changed = [i for i in shipped if shipped[i]["response_due"] != faster[i]["response_due"]]
    assert changed and all(shipped[i]["severity"] == 1 for i in changed)
    lenient = {(o["subject"], o["customer"]): o
               for o in docs["scheduled-notice-12h"]["obligations"]}
    assert any(not o["met"] and lenient[(o["subject"], o["customer"])]["met"]
               for o in docs["shipped"]["obligations"]
               if o["obligation"] == "scheduled_downtime_notice")


def test_interleaved_engines_do_not_influence_each_other(
    engines: dict[tuple[str, str], Engine], expected: dict[tuple[str, str], str],
    facts: FactSet,
) -> None:
    keys = list(engines)
    order = keys + keys[::-1] + keys[::2] + keys[1::2]
    for key in order:
        assert engines[key].evaluate(facts, as_of=AS_OF).to_json() == expected[key], key
    # a brand-new engine for an already-compiled policy gives the same results too
    again = _engine("target-95", "durable")
    assert again.evaluate(facts, as_of=AS_OF).to_json() == expected[("target-95", "durable")]
    loaded = Engine.load(ROOT / "policies" / "spirion", backend="python")
    assert loaded.evaluate(facts, as_of=AS_OF).to_json() == expected[("shipped", "python")]


# -- threads -----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_evaluations_match_sequential(
    backend: str, engines: dict[tuple[str, str], Engine], expected: dict[tuple[str, str], str],
    facts: FactSet,
) -> None:
    threads_n, rounds = 8, 3
    variants = list(VARIANTS)
    barrier = threading.Barrier(threads_n)
    results: dict[tuple[int, int], tuple[str, str, str]] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait()
            for r in range(rounds):
                variant = variants[(index + r) % len(variants)]
                engine = engines[(variant, backend)]
                source: Any = facts if (index + r) % 2 else [EXAMPLE]
                text = engine.evaluate(source, as_of=AS_OF).to_json()
                results[(index, r)] = (variant, "facts" if source is facts else "file", text)
        except BaseException as error:  # surfaced below, never lost in a thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == threads_n * rounds
    example_expected = {variant: engines[(variant, backend)].evaluate([EXAMPLE], as_of=AS_OF)
                        .to_json() for variant in variants}
    for (index, r), (variant, kind, text) in results.items():
        want = expected[(variant, backend)] if kind == "facts" else example_expected[variant]
        assert text == want, f"thread {index} round {r} ({variant}, {kind}) differs"


# -- durable-rules sessions ---------------------------------------------------------------------
def test_no_durable_session_survives_an_evaluation(
    facts: FactSet, expected: dict[tuple[str, str], str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Spy on the C extension itself (whatever layer the adapter drives it through): every
    session asserted into is alive during its call and gone once the evaluation returns."""
    import json

    durable_rules_engine = pytest.importorskip("durable_rules_engine")
    engine = _engine("shipped", "durable")
    engine.evaluate(facts, as_of=AS_OF)  # rulesets registered before spying
    opened: list[tuple[Any, str]] = []
    live_during: list[bool] = []
    original = durable_rules_engine.assert_facts

    def spy(handle: Any, text: str, *args: Any) -> Any:
        outcome = original(handle, text, *args)
        sids = {fact["sid"] for fact in json.loads(text)}
        assert len(sids) == 1, "one session per call"
        sid = sids.pop()
        opened.append((handle, sid))
        try:  # positive control: the session exists while the call runs
            durable_rules_engine.get_state(handle, sid)
            live_during.append(True)
        except Exception:
            live_during.append(False)
        return outcome

    monkeypatch.setattr(durable_rules_engine, "assert_facts", spy)
    for _ in range(3):
        assert engine.evaluate(facts, as_of=AS_OF).to_json() == expected[("shipped", "durable")]
        engine.evaluate([EXAMPLE], as_of=AS_OF, months="2026-09..2026-11")
    monkeypatch.undo()
    assert opened and all(live_during)
    for handle, sid in set(opened):
        with pytest.raises(Exception):  # noqa: B017 - the extension raises a bare `error`
            state = durable_rules_engine.get_state(handle, sid)
            if not state or state in ("{}", "null"):  # an empty state is as good as none
                raise LookupError(sid)


# -- memory ------------------------------------------------------------------------------------
def _rss_bytes() -> int:
    """Current resident set size (Linux /proc), else the peak from getrusage."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _small_fact_sets() -> list[FactSet]:
    sets = []
    for i in range(20):
        sets.append(facts_from_dicts([
            {"type": "subscription", "customer": f"c{i}", "plan": "production",
             "deployment": "saas", "license": "subscription", "annual_fee": "12000",
             "currency": "USD", "term_start": "2026-01-01", "term_end": "2026-12-31",
             "renewed": True, "support": "active"},
            {"type": "downtime", "id": f"d{i}", "start": "2026-10-05T10:00:00-04:00",
             "end": f"2026-10-05T{11 + i % 8:02d}:30:00-04:00", "cause": "vendor",
             "maintenance": "none"},
            {"type": "ticket", "id": f"t{i}", "customer": f"c{i}", "severity": 1 + i % 3,
             "opened_at": "2026-10-06T10:00:00-04:00",
             "first_response_at": f"2026-10-06T{11 + i % 6:02d}:00:00-04:00"},
            {"type": "update_request", "id": f"u{i}", "customer": f"c{i}",
             "requested_at": "2026-10-07T10:00:00-04:00"},
        ]))
    return sets


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_stays_flat_over_many_evaluations(backend: str) -> None:
    engine = _engine("shipped", backend)
    fact_sets = _small_fact_sets()

    def evaluate(count: int) -> None:
        for i in range(count):
            engine.evaluate(fact_sets[i % len(fact_sets)], as_of=AS_OF, months="2026-10")

    evaluate(300)  # warm-up: caches, rulesets, allocator arenas
    gc.collect()
    before = _rss_bytes()
    evaluate(10_000)  # the count; > 1,024 sessions per ruleset, so a leak would raise
    gc.collect()
    growth = _rss_bytes() - before
    assert growth < 4 * 1024 * 1024, f"RSS grew {growth / 1e6:.1f} MB over 10,000 evaluations"

    tracemalloc.start()
    try:
        evaluate(50)
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        evaluate(400)
        gc.collect()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert second - first < 256 * 1024, (
        f"Python heap grew {(second - first) / 1e3:.0f} kB over 400 evaluations")
