"""The streamed, sharded JSON report is the in-memory report, byte for byte.

``Engine.write_json`` spools per-customer facts to shard files, evaluates shards (in forked
workers when asked) and merges the parts. Every evaluation case of ``tests/cases`` is run
both ways; the tests below it pin the paths where the two could part: facts that name a
customer before its subscription, duplicates across shards, errors only evaluation finds,
findings the merge cannot order, a failing worker, and memory that follows the shard.
"""

from __future__ import annotations

import gc
import io
import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from policyengine.api import Engine, facts_digest, facts_from_dicts
from policyengine.diagnostics import EngineError, InputError
from policyengine.stream import factspool, sharded
from policyengine.tools.policytest import Engines, TestCase, TestFile

from .conftest import SHIPPED, engine_for, shipped_policy_data
from .test_cases import evaluation_cases

AS_OF = "2026-11-27T12:00:00-05:00"
CASE_ENGINES = Engines("durable")


def _streamed(engine: Engine, facts: list[Any], as_of: str, months: Any = None,
              **options: Any) -> str:
    out = io.StringIO()
    engine.write_json(facts, out, as_of=as_of, months=months, **options)
    return out.getvalue()


def _in_memory(engine: Engine, facts: list[Any], as_of: str, months: Any = None) -> str:
    """The in-memory report of the same input the streamed one read: fact dicts, or the
    files (the report's decision header has the digest of the input as given)."""
    source: Any = facts_from_dicts(facts) if all(isinstance(f, dict) for f in facts) \
        else facts
    return engine.evaluate(source, as_of=as_of, months=months).to_json()


def _write_ndjson(path: Path, facts: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("test", "case"), evaluation_cases())
def test_every_case_streamed_in_three_shards_by_two_workers(
    test: TestFile, case: TestCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not case.facts_files  # the cases give their facts inline
    engine = CASE_ENGINES.for_case(test, case)
    facts, as_of, months = [dict(f.data) for f in case.facts], case.as_of, case.months
    # three shards whatever the input size, so that customers really are split up
    monkeypatch.setattr(sharded, "shard_count", lambda sources, workers: 3)
    if case.expects_errors:
        with pytest.raises(InputError) as streamed:
            _streamed(engine, facts, as_of, months, workers=2)
        with pytest.raises(InputError) as in_memory:
            _in_memory(engine, facts, as_of, months)
        assert streamed.value.diagnostics == in_memory.value.diagnostics
        return
    assert _streamed(engine, facts, as_of, months, workers=2) == _in_memory(
        engine, facts, as_of, months)


def _fleet(customers: int | list[str], tickets_each: int) -> list[dict[str, Any]]:
    """Subscriptions, one fleet-wide outage with a notice, and tickets for each customer."""
    names = customers if isinstance(customers, list) else [f"c{c:04d}"
                                                           for c in range(customers)]
    facts: list[dict[str, Any]] = []
    for name in names:
        facts.append({"type": "subscription", "customer": name, "plan": "production",
                      "deployment": "saas", "license": "subscription", "annual_fee": "1200",
                      "currency": "USD", "term_start": "2026-01-01",
                      "term_end": "2026-12-31", "renewed": False, "support": "active"})
    facts.append({"type": "downtime", "id": "d1", "start": "2026-10-06T02:00:00-04:00",
                  "end": "2026-10-06T10:00:00-04:00", "cause": "vendor",
                  "maintenance": "scheduled"})
    facts.append({"type": "notice", "id": "n1", "kind": "scheduled_downtime", "about": "d1",
                  "sent_at": "2026-10-05T09:00:00-04:00", "channel": "email"})
    for c, name in enumerate(names):
        for t in range(tickets_each):
            facts.append({"type": "ticket", "id": f"t{c}-{t}", "customer": name,
                          "opened_at": f"2026-10-{1 + t % 28:02d}T{9 + t % 8:02d}:00:00-04:00",
                          "severity": 1 + (c + t) % 3,
                          "first_response_at": f"2026-10-{1 + t % 28:02d}T{10 + t % 8:02d}"
                                               ":30:00-04:00"})
    return facts


def test_facts_before_their_subscription_give_the_same_report(tmp_path: Path) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    facts = _fleet(customers=12, tickets_each=3)
    reordered = [f for f in facts if f["type"] != "subscription"] + [
        f for f in facts if f["type"] == "subscription"]
    path = _write_ndjson(tmp_path / "late-subscriptions.ndjson", reordered)
    assert _streamed(engine, [path], AS_OF, shards=5) == _in_memory(engine, [path], AS_OF)


def test_reference_errors_are_reported_like_in_memory(tmp_path: Path) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    facts = _fleet(customers=4, tickets_each=2)
    facts.insert(0, {"type": "ticket", "id": "early", "customer": "ghost-a",
                     "opened_at": "2026-10-01T09:00:00-04:00"})
    facts.append({"type": "credit_request", "customer": "ghost-b", "month": "2026-10",
                  "requested_at": "2026-10-20T09:00:00-04:00"})
    facts.append({"type": "notice", "id": "n9", "kind": "scheduled_downtime",
                  "about": "nothing", "customer": "c0001", "channel": "email",
                  "sent_at": "2026-10-05T09:00:00-04:00"})
    facts.append({"type": "ticket", "id": "late", "customer": "ghost-c",
                  "opened_at": "2026-10-01T09:00:00-04:00"})
    path = _write_ndjson(tmp_path / "ghosts.ndjson", facts)
    with pytest.raises(InputError) as streamed:
        _streamed(engine, [path], AS_OF, shards=3)
    with pytest.raises(InputError) as in_memory:
        engine.evaluate([path], as_of=AS_OF)
    assert streamed.value.diagnostics == in_memory.value.diagnostics
    # all four, although three of them are spooled to shards before they are checked
    assert [(d.line, d.subject) for d in streamed.value.diagnostics] == [
        (1, "early"), (16, "ghost-b"), (17, "n9"), (18, "late")]


def test_duplicate_ticket_ids_in_different_shards_are_found(tmp_path: Path) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    facts = _fleet(customers=6, tickets_each=1)
    facts.append({**facts[-1], "customer": "c0001"})  # t5-0 again, for another customer
    assert factspool.shard_of("c0001", 3) != factspool.shard_of("c0005", 3)
    path = _write_ndjson(tmp_path / "dup.ndjson", facts)
    with pytest.raises(InputError) as streamed:
        _streamed(engine, [path], AS_OF, shards=3)
    assert str(streamed.value) == (f"{path}:{len(facts)}:1: $: fact 't5-0': duplicate "
                                   f"ticket id 't5-0' (first at {path}:{len(facts) - 1})")


def test_error_found_only_while_evaluating_falls_back_to_the_same_error(
    tmp_path: Path
) -> None:
    # the policy is in force from 2020: a ticket from 2019 has no version to answer it
    engine = Engine.load(SHIPPED, backend="durable")
    facts = _fleet(customers=3, tickets_each=1)
    facts.append({"type": "ticket", "id": "old", "customer": "c0002",
                  "opened_at": "2019-03-01T09:00:00-05:00"})
    path = _write_ndjson(tmp_path / "old.ndjson", facts)
    out = io.StringIO()
    with pytest.raises(InputError) as streamed:
        engine.write_json([path], out, as_of=AS_OF, workers=2)
    with pytest.raises(InputError) as in_memory:
        engine.evaluate([path], as_of=AS_OF)
    assert streamed.value.diagnostics == in_memory.value.diagnostics
    assert "no policy version is in force on 2019-03-01" in str(streamed.value)
    assert out.getvalue() == ""


def test_finding_with_a_line_break_is_merged_in_memory_instead(tmp_path: Path) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    facts = _fleet(customers=3, tickets_each=1)
    facts[-1]["id"] = "two\nlines"
    path = _write_ndjson(tmp_path / "newline.ndjson", facts)
    with pytest.raises(sharded.Unshardable):
        sharded.write_json(engine.versions, [path], lambda pieces: "".join(pieces),
                           as_of=1793000000.0, backend=engine.backend, shards=2)
    assert _streamed(engine, [path], AS_OF, workers=2) == _in_memory(engine, [path], AS_OF)


def test_a_failing_worker_is_an_engine_error_not_a_silent_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    path = _write_ndjson(tmp_path / "f.ndjson", _fleet(customers=4, tickets_each=1))

    def exploding(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("worker exploded")

    monkeypatch.setattr(sharded, "evaluate_parts", exploding)
    out = io.StringIO()
    with pytest.raises(EngineError, match="worker exploded"):
        engine.write_json([path], out, as_of=AS_OF, workers=2)
    assert out.getvalue() == ""


def test_a_dead_worker_is_an_engine_error_not_a_silent_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    path = _write_ndjson(tmp_path / "f.ndjson", _fleet(customers=4, tickets_each=1))

    def dying(*args: Any, **kwargs: Any) -> Any:
        os._exit(3)  # a worker process that ends without a result (as if killed)

    monkeypatch.setattr(sharded, "evaluate_parts", dying)
    out = io.StringIO()
    with pytest.raises(EngineError, match="worker process died without a result"):
        engine.write_json([path], out, as_of=AS_OF, workers=2)
    assert out.getvalue() == ""


def test_workers_and_shard_counts_do_not_change_the_report(tmp_path: Path) -> None:
    engine = engine_for(shipped_policy_data(), "durable")
    facts = _fleet(customers=30, tickets_each=4)
    path = _write_ndjson(tmp_path / "f.ndjson", facts)
    expected = _in_memory(engine, [path], AS_OF)
    for workers, shards in ((1, 1), (1, 7), (2, 2), (2, 31), (3, 64)):
        out = io.StringIO()
        summary = sharded.write_json(engine.versions, [path], out.writelines,
                                     as_of=engine_as_of(), backend=engine.backend,
                                     workers=workers, shards=shards,
                                     audit=engine.audit(facts_digest([path]), None))
        assert out.getvalue() == expected, (workers, shards)
        assert summary.rows["tickets"] == 120
        assert summary.workers == min(workers, shards)


def engine_as_of() -> float:
    from policyengine.api import parse_as_of

    return parse_as_of(AS_OF)


def test_shards_are_balanced_largest_first() -> None:
    # by size: 0 (10) → w0 = 11; 3 (8) → w1 = 9; 1 (1) → w1 = 11; 2 (1) → tie, w0 = 12;
    # 4 (0) → w1 = 12 (each shard also counts 1, for its fixed cost)
    assert sharded._assign([10, 1, 1, 8, 0], 2) == [[0, 2], [1, 3, 4]]
    assert sharded._assign([5, 5, 5], 1) == [[0, 1, 2]]


def _peak_bytes(run: Any) -> int:
    """Peak Python heap of ``run()``, with the cyclic GC off so that its timing (which
    depends on the tests run before) cannot move the peak."""
    from policyengine.engine import base

    base._RENDERED.clear()
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        gc.enable()


def test_memory_follows_the_shard_not_the_number_of_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten times the tickets in ten times the shards: little grows but the id index.

    The same 60 customers with 8 then 80 tickets each, in 2 then 20 shards (Python heap,
    tracemalloc, one process, after a warm-up run). Streamed, an extra fact costs its id
    (kept for duplicate detection) and a share of the per-shard file buffers; in memory it
    costs its record, its row and its findings, several times that.
    """
    from policyengine.engine import base

    engine = engine_for(shipped_policy_data(), "python")
    # bounded buffers and caches (spool batches per shard, rendered messages) are made
    # small next to the facts, so that what is left is what grows with them
    monkeypatch.setattr(factspool, "BATCH", 16)
    monkeypatch.setattr(base, "_RENDERED_MAX", 64)
    # 60 customers, exactly 3 in each of 20 shards (so 30 in each of 2): equal shards
    names: list[str] = []
    per_shard = [0] * 20
    for number in range(10_000):
        name = f"c{number:04d}"
        if per_shard[factspool.shard_of(name, 20)] < 3:
            per_shard[factspool.shard_of(name, 20)] += 1
            names.append(name)
    assert len(names) == 60
    paths = {}
    for tickets_each in (8, 80):
        paths[tickets_each] = _write_ndjson(tmp_path / f"f{tickets_each}.ndjson",
                                            _fleet(customers=names, tickets_each=tickets_each))

    def streamed(tickets_each: int, shards: int) -> Any:
        return sharded.write_json(engine.versions, [paths[tickets_each]],
                                  lambda pieces: sum(1 for _ in pieces),
                                  as_of=engine_as_of(), backend=engine.backend, shards=shards)

    def in_memory(tickets_each: int) -> int:
        return sum(1 for _ in engine.evaluate([paths[tickets_each]], as_of=AS_OF).iter_json())

    # warm-up, both sizes: first-use caches (calendars, templates, year indexes)
    streamed(8, 2)
    streamed(80, 20)
    in_memory(8)
    peaks = {}
    for tickets_each, shards in ((8, 2), (80, 20)):
        # the lower of two runs: a one-off allocation (a global table that happens to
        # resize during one of them) is not growth
        peaks["streamed", tickets_each] = min(_peak_bytes(
            lambda tickets_each=tickets_each, shards=shards: streamed(tickets_each, shards))
            for _ in range(2))
        peaks["in memory", tickets_each] = _peak_bytes(
            lambda tickets_each=tickets_each: in_memory(tickets_each))
    extra_facts = 60 * (80 - 8)
    per_fact = {how: (peaks[how, 80] - peaks[how, 8]) / extra_facts
                for how in ("streamed", "in memory")}
    print(f"peak bytes per extra fact: {per_fact}")
    assert per_fact["streamed"] < 300, per_fact
    assert per_fact["in memory"] > 5 * per_fact["streamed"], per_fact


# -- reading NDJSON in parallel parts ----------------------------------------------------------
@pytest.fixture
def parallel_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read in parallel parts however small the input (normally from 4 MB on)."""
    monkeypatch.setattr(factspool, "PARALLEL_READ_BYTES", 0)


@pytest.mark.usefixtures("parallel_read")
@pytest.mark.parametrize("readers", [2, 3, 5])
def test_split_cuts_whole_lines_and_numbers_them(tmp_path: Path, readers: int) -> None:
    first = tmp_path / "a.ndjson"
    second = tmp_path / "b.jsonl"
    first.write_bytes(b'{"a": 1}\n\n{"b": 2}\r\n{"c": "' + b"x" * 300 + b'"}\n{"d": 4}')
    second.write_bytes(b'{"e": 5}\n' * 7)
    runs = factspool.split_ndjson([str(first), str(second)], readers)
    assert runs is not None and len(runs) == readers
    covered: dict[str, list[tuple[int, int]]] = {}
    for run in runs:
        for path, start, stop, line in run:
            data = Path(path).read_bytes()
            assert start == 0 or data[start - 1:start] == b"\n"  # a line starts there
            assert line == data[:start].count(b"\n") + 1
            covered.setdefault(path, []).append((start, stop))
    for path, spans in covered.items():  # every byte once, in order
        assert spans[0][0] == 0 and spans[-1][1] == Path(path).stat().st_size
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_split_is_off_for_small_input_and_other_formats(tmp_path: Path) -> None:
    path = _write_ndjson(tmp_path / "f.ndjson", _fleet(customers=2, tickets_each=1))
    assert factspool.split_ndjson([path], 2) is None  # under PARALLEL_READ_BYTES
    yaml_file = tmp_path / "f.yaml"
    yaml_file.write_text("facts: []\n", encoding="utf-8")
    assert factspool.split_ndjson([path, str(yaml_file)], 2) is None


@pytest.mark.usefixtures("parallel_read")
@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_read_gives_the_same_report(tmp_path: Path, workers: int) -> None:
    engine = engine_for(shipped_policy_data(), "durable")
    facts = _fleet(customers=25, tickets_each=6)
    # subscriptions at the end: every other part names customers it has not seen
    facts = facts[25:] + facts[:25]
    halves = (_write_ndjson(tmp_path / "one.ndjson", facts[:70]),
              _write_ndjson(tmp_path / "two.ndjson", facts[70:]))
    out = io.StringIO()
    summary = engine.write_json(list(halves), out, as_of=AS_OF, workers=workers)
    assert out.getvalue() == _in_memory(engine, list(halves), AS_OF)
    assert summary.facts == len(facts)


@pytest.mark.usefixtures("parallel_read")
@pytest.mark.parametrize("breakage", [
    "duplicate-id-in-the-other-part",
    "customer-without-subscription-in-the-second-part",
    "notice-about-nothing-in-the-second-part",
    "broken-json-in-the-second-part",
])
def test_problems_in_a_parallel_part_are_reported_as_in_memory(
    tmp_path: Path, breakage: str
) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    facts = _fleet(customers=10, tickets_each=4)
    bad: dict[str, Any] = {
        "duplicate-id-in-the-other-part": {**facts[12]},
        "customer-without-subscription-in-the-second-part": {
            "type": "ticket", "id": "lost", "customer": "nobody",
            "opened_at": "2026-10-01T09:00:00-04:00"},
        "notice-about-nothing-in-the-second-part": {
            "type": "notice", "id": "n-x", "kind": "significant_change", "about": "nothing",
            "sent_at": "2026-10-01T09:00:00-04:00", "channel": "email"},
        "broken-json-in-the-second-part": None,
    }[breakage]
    path = tmp_path / "f.ndjson"
    lines = [json.dumps(f) for f in facts]
    lines.append("{\"type\": \"ticket\", " if bad is None else json.dumps(bad))
    lines.extend(json.dumps({**f, "id": f"{f['id']}-b"}) for f in facts[-5:])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as streamed:
        engine.write_json([str(path)], io.StringIO(), as_of=AS_OF, workers=2)
    with pytest.raises(InputError) as in_memory:
        engine.evaluate([str(path)], as_of=AS_OF)
    assert streamed.value.diagnostics == in_memory.value.diagnostics
    assert streamed.value.diagnostics[0].line == len(facts) + 1


@pytest.mark.usefixtures("parallel_read")
def test_junk_in_both_parallel_parts_is_reported_in_the_sequential_order(
    tmp_path: Path,
) -> None:
    """Issue 16 part 4: the fact schema's refusals (a junk currency, a numeric id, an amount
    in exponent form, an ISO week date, an offset with seconds) found by either forked
    reader are reported exactly as the sequential read reports them: same lines, same
    messages, same order."""
    engine = engine_for(shipped_policy_data(), "python")
    facts = _fleet(customers=10, tickets_each=4)
    subscription = next(i for i, f in enumerate(facts) if f["type"] == "subscription")
    ticket = next(i for i, f in enumerate(facts) if f["type"] == "ticket")
    facts[subscription] = {**facts[subscription], "currency": "usd", "annual_fee": "1e5"}
    facts[ticket] = {**facts[ticket], "id": 17}
    tail = len(facts) - 2  # in the second part
    facts[tail] = {**facts[tail], "opened_at": "2026-10-05T10:00:00+01:00:30"}
    facts.append({"type": "ticket", "id": "late", "customer": facts[tail]["customer"],
                  "opened_at": "2026-W41-1T10:00:00Z"})
    path = _write_ndjson(tmp_path / "junk.ndjson", facts)
    assert factspool.split_ndjson([path], 2) is not None  # read in two parts
    with pytest.raises(InputError) as streamed:
        engine.write_json([path], io.StringIO(), as_of=AS_OF, workers=2)
    with pytest.raises(InputError) as in_memory:
        engine.evaluate([path], as_of=AS_OF)
    assert streamed.value.diagnostics == in_memory.value.diagnostics
    found = [(d.line, d.path) for d in in_memory.value.diagnostics if d.code == "schema"]
    assert found == [(subscription + 1, "$.annual_fee"), (subscription + 1, "$.currency"),
                     (ticket + 1, "$.id"), (tail + 1, "$.opened_at"),
                     (len(facts), "$.opened_at")]


def _renewals(facts: list[dict[str, Any]], start: str) -> list[dict[str, Any]]:
    """A renewal of each customer's subscription from ``start`` to the year's end."""
    return [{**f, "term_start": start, "term_end": "2026-12-31", "annual_fee": "2400",
             "renewed": True}
            for f in facts if f["type"] == "subscription"]


@pytest.mark.usefixtures("parallel_read")
@pytest.mark.parametrize("order", ["renewals-last", "renewals-first"])
def test_renewals_read_in_other_parallel_parts_give_the_same_report(
    tmp_path: Path, order: str
) -> None:
    """A customer's terms come from two parts of a parallel read; the one builder puts
    them in term order, whichever part held which, so the report is the in-memory one."""
    engine = engine_for(shipped_policy_data(), "durable")
    facts = _fleet(customers=10, tickets_each=4)
    renewals = _renewals(facts, "2026-07-01")
    facts = [{**f, "term_end": "2026-06-30"} if f["type"] == "subscription" else f
             for f in facts]
    facts = facts + renewals if order == "renewals-last" else renewals + facts
    path = _write_ndjson(tmp_path / "renewals.ndjson", facts)
    out = io.StringIO()
    summary = engine.write_json([path], out, as_of=AS_OF, workers=2)
    assert out.getvalue() == _in_memory(engine, [path], AS_OF)
    assert summary.facts == len(facts) == 10 + 2 + 40 + 10
    report = json.loads(out.getvalue())
    # October is in the renewal's term: 10 customers' rows, one for each, all covered
    assert [(r["month"], r["covered"]) for r in report["availability"]] == [
        ("2026-10", True)] * 10


@pytest.mark.usefixtures("parallel_read")
def test_overlapping_renewal_in_another_parallel_part_is_reported_as_in_memory(
    tmp_path: Path
) -> None:
    """The overlap check runs in the one builder's finish(), after the parts are absorbed:
    a renewal starting 06-15 under a term ending 06-30 is refused at the renewal's line."""
    engine = engine_for(shipped_policy_data(), "python")
    facts = _fleet(customers=10, tickets_each=4)
    renewals = _renewals(facts, "2026-06-15")
    facts = [{**f, "term_end": "2026-06-30"} if f["type"] == "subscription" else f
             for f in facts] + renewals[:1]
    path = _write_ndjson(tmp_path / "overlap.ndjson", facts)
    with pytest.raises(InputError) as streamed:
        engine.write_json([path], io.StringIO(), as_of=AS_OF, workers=2)
    with pytest.raises(InputError) as in_memory:
        engine.evaluate([path], as_of=AS_OF)
    assert streamed.value.diagnostics == in_memory.value.diagnostics
    (problem,) = streamed.value.diagnostics
    assert (problem.line, problem.path) == (len(facts), "$.term_start")
    assert problem.message == ("subscription term 2026-06-15..2026-12-31 overlaps the term "
                               f"2026-01-01..2026-06-30 of the same customer at {path}:1; "
                               "renewals must not overlap")


@pytest.mark.usefixtures("parallel_read")
@pytest.mark.parametrize("how", ["raises", "dies"])
def test_a_failing_parallel_reader_falls_back_to_the_sequential_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    facts = _fleet(customers=8, tickets_each=3)
    path = _write_ndjson(tmp_path / "f.ndjson", facts)

    def failing(self: Any, raw: Any, where: Any) -> None:
        if how == "dies":
            os._exit(3)
        raise RuntimeError("reader exploded")

    monkeypatch.setattr(factspool._PartReader, "add", failing)  # parallel readers only
    out = io.StringIO()
    summary = engine.write_json([path], out, as_of=AS_OF, workers=2)
    assert out.getvalue() == _in_memory(engine, [path], AS_OF)
    assert summary.facts == len(facts)


# -- found by an adversarial review ------------------------------------------------------------
def _two_bad_severities(tmp_path: Path) -> str:
    """Two tickets opened before any version of the policy is in force (an error only the
    evaluation finds: the fact schema accepts them), for customers in two shards."""
    facts = _fleet(customers=["a", "d"], tickets_each=0)
    facts.append({"type": "ticket", "id": "ta", "customer": "a",
                  "opened_at": "2001-10-05T10:00:00-04:00", "severity": 2})
    facts.append({"type": "ticket", "id": "td", "customer": "d",
                  "opened_at": "2001-10-06T10:00:00-04:00", "severity": 3})
    assert factspool.shard_of("a", 2) != factspool.shard_of("d", 2)
    return _write_ndjson(tmp_path / "sev.ndjson", facts)


@pytest.mark.parametrize("workers", [1, 2])
def test_evaluation_time_errors_name_the_first_fact_with_any_workers(
    tmp_path: Path, workers: int
) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    path = _two_bad_severities(tmp_path)
    with pytest.raises(InputError) as streamed:
        engine.write_json([path], io.StringIO(), as_of=AS_OF, workers=workers, shards=2)
    with pytest.raises(InputError) as in_memory:
        engine.evaluate([path], as_of=AS_OF)
    assert streamed.value.diagnostics == in_memory.value.diagnostics
    assert "2001-10-05" in streamed.value.diagnostics[0].message  # ta, the first ticket


def test_facts_as_a_generator_survive_the_fallback(tmp_path: Path) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    path = _two_bad_severities(tmp_path)
    with pytest.raises(InputError, match="no policy version is in force on 2001-10-05"):
        engine.write_json((p for p in [path]), io.StringIO(), as_of=AS_OF, workers=2,
                          shards=2)


def test_lone_surrogate_in_a_fact_dict_falls_back_to_memory() -> None:
    engine = engine_for(shipped_policy_data(), "python")
    facts = _fleet(customers=["x\ud800", "plain"], tickets_each=1)
    out = io.StringIO()
    engine.write_json(facts, out, as_of=AS_OF, shards=3)
    assert out.getvalue() == _in_memory(engine, facts, AS_OF)


@pytest.mark.parametrize("shards", [0, -1])
def test_shard_count_must_be_positive(shards: int) -> None:
    engine = engine_for(shipped_policy_data(), "python")
    with pytest.raises(ValueError, match="shards must be 1 or more"):
        engine.write_json(_fleet(customers=1, tickets_each=1), io.StringIO(), as_of=AS_OF,
                          shards=shards)


def test_the_spool_gives_back_equal_facts_sharing_their_read_only_mappings(
    tmp_path: Path
) -> None:
    """The spool's encoding is the fact model's dataclass fields: every kind round-trips."""
    from policyengine.validation.facts import NO_EXTRA, impact_mapping, load_facts

    facts = _fleet(customers=["a", "b"], tickets_each=2)
    facts.append({"type": "ticket", "id": "imp", "customer": "a", "severity": 2,
                  "opened_at": "2026-10-02T09:00:00-04:00", "note": "extra field",
                  "impact": {"loss_of_service": True},
                  "status_history": [{"at": "2026-10-02T10:00:00-04:00", "status": "open"}]})
    facts.append({"type": "credit_request", "customer": "b", "month": "2026-10",
                  "requested_at": "2026-10-20T09:00:00-04:00"})
    facts.append({"type": "update_request", "id": "u1", "customer": "a",
                  "requested_at": "2026-10-20T09:00:00-04:00"})
    facts.append({"type": "notice", "id": "n2", "kind": "scheduled_downtime", "about": "d1",
                  "customer": "b", "sent_at": "2026-10-05T09:00:00-04:00", "channel": "email"})
    fact_set = load_facts([_write_ndjson(tmp_path / "f.ndjson", facts)])
    kept = [*fact_set.tickets, *fact_set.credit_requests, *fact_set.update_requests,
            *fact_set.notices, *fact_set.subscriptions.values(), *fact_set.downtimes]
    spool = factspool.FactSpool(tmp_path, 1)
    for fact in kept:
        spool.add("a", fact)
    spool.close()
    back = list(spool.read(0))
    assert back == kept
    assert not any(new is old for new, old in zip(back, kept, strict=True))  # decoded anew
    impact = next(t for t in back if t.id == "imp").impact
    assert impact is impact_mapping((True, False, False, False))
    assert next(t for t in back if t.id == "imp").extra == {"note": "extra field"}
    assert back[0].extra is NO_EXTRA
