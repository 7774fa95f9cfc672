"""Streamed, sharded evaluation: a year of facts with memory that follows customers, not facts.

The JSON report of :func:`write_json` is byte for byte the one that
``Evaluation.to_json`` gives for the same input, computed another way:

1. **Read once** (this process): every fact is checked exactly as :func:`load_facts` checks
   it, with the same messages in the same order. Facts that belong to one customer
   (tickets, credit and update requests, addressed notices) are not kept: they are
   written, in input order, to one of N *shard* files on disk, chosen by the customer.
   Kept in memory: subscriptions, downtimes, changes, broadcast notices, declared custom
   facts, and a small int per fact id for duplicate detection.
2. **Evaluate shard by shard** (in worker processes when ``workers > 1``): a shard's
   facts plus the fleet-wide ones form an ordinary :class:`FactSet`; every decision in
   the policy is about one customer, so a shard's results are exactly that shard's part
   of the whole. Each shard's rows are encoded to JSON lines at once and written to disk;
   only one shard is in memory at a time.
3. **Merge**: row sections are sorted by customer first, so they are joined customer by
   customer; findings (sorted by subject) are merged line by line.

Whatever the shards cannot reproduce exactly (an input error found while evaluating, a
finding text with a line break or NUL that the merge cannot order) raises
:class:`Unshardable`; callers then evaluate in memory instead, which reports the same
errors the same way.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import math
import os
import pickle
import shutil
import sys
import tempfile
import time
import traceback
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from .backends.base import Backend, Finding
from .compiler import CompiledPolicy
from .diagnostics import Diagnostic, EngineError, InputError
from .evaluate import VersionSet, default_policies, downtime_months, evaluate_parts
from .facts import (
    _IMPACTS,
    _NO_EXTRA,
    IMPACT_FLAGS,
    CreditRequest,
    Downtime,
    FactSet,
    FactSetBuilder,
    Notice,
    Ticket,
    UpdateRequest,
    Where,
    iter_raw_facts,
)
from .results import Evaluation, _row_dict

ROW_SECTIONS = ("availability", "credits", "tickets", "obligations", "entitlements")
SHARD_BYTES = 8_000_000  # input bytes per shard: about 40,000 facts of the bench's mix
MAX_SHARDS = 512
_BATCH = 4096  # records pickled together


class Unshardable(Exception):
    """The streamed evaluation cannot give the in-memory result exactly; evaluate in memory."""


@dataclass
class ReportSummary:
    """What a streamed evaluation decided, besides the report it wrote."""

    policies: list[tuple[str, str]]
    warnings: list[Diagnostic]
    outcomes: set[str]
    facts: int
    shards: int
    workers: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # read, evaluate, write

    def has_outcome(self, outcome: str) -> bool:
        return outcome in self.outcomes


def shard_of(customer: str, shards: int) -> int:
    """The shard of a customer (stable across processes and runs)."""
    return zlib.crc32(customer.encode("utf-8", "surrogatepass")) % shards


def shard_count(sources: Sequence[Any], workers: int) -> int:
    """Enough shards that each holds about SHARD_BYTES of input, and each worker gets four."""
    size = 0
    for source in sources:
        if not isinstance(source, Mapping):
            with contextlib.suppress(OSError):  # a missing file is reported when read
                size += os.path.getsize(source)
    return max(4 * workers, min(MAX_SHARDS, math.ceil(size / SHARD_BYTES)))


# -- 1. read once, spool per-customer facts --------------------------------------------------
def _where_record(where: Where) -> tuple[str, int, int, int]:
    return (where.file, where.line, where.column, where.index)


def _extra_record(extra: Mapping[str, Any]) -> dict[str, Any] | None:
    return None if extra is _NO_EXTRA else dict(extra)


def _record(fact: Any) -> tuple[Any, ...]:
    """A per-customer fact as a plain tuple (fast to pickle; mapping proxies are not)."""
    if isinstance(fact, Ticket):
        flags = (None if fact.impact is None
                 else tuple(fact.impact[flag] for flag in IMPACT_FLAGS))
        return (0, fact.id, fact.customer, fact.opened_at, fact.severity, flags,
                fact.first_response_at, fact.resolved_at, fact.status_history,
                _where_record(fact.where), _extra_record(fact.extra))
    if isinstance(fact, CreditRequest):
        return (1, fact.customer, fact.month, fact.requested_at, _where_record(fact.where),
                _extra_record(fact.extra))
    if isinstance(fact, UpdateRequest):
        return (2, fact.id, fact.customer, fact.requested_at, _where_record(fact.where),
                _extra_record(fact.extra))
    assert isinstance(fact, Notice)
    return (3, fact.id, fact.kind, fact.about, fact.sent_at, fact.channel, fact.customer,
            _where_record(fact.where), _extra_record(fact.extra))


def _extra_of(record: dict[str, Any] | None) -> Mapping[str, Any]:
    return _NO_EXTRA if record is None else record


def _impact_of(flags: tuple[bool, ...] | None) -> Mapping[str, bool] | None:
    if flags is None:
        return None
    impact = _IMPACTS.get(flags)
    if impact is None:
        impact = _IMPACTS[flags] = MappingProxyType(dict(zip(IMPACT_FLAGS, flags, strict=True)))
    return impact


def _add_record(facts: FactSet, record: tuple[Any, ...]) -> None:
    """Put a spooled fact back into a FactSet (the inverse of :func:`_record`)."""
    kind = record[0]
    if kind == 0:
        where = Where(*record[9])
        facts.tickets.append(Ticket(
            id=record[1], customer=sys.intern(record[2]), opened_at=record[3],
            severity=record[4], impact=_impact_of(record[5]), first_response_at=record[6],
            resolved_at=record[7], status_history=record[8], where=where,
            extra=_extra_of(record[10])))
    elif kind == 1:
        facts.credit_requests.append(CreditRequest(
            customer=sys.intern(record[1]), month=record[2], requested_at=record[3],
            where=Where(*record[4]), extra=_extra_of(record[5])))
    elif kind == 2:
        facts.update_requests.append(UpdateRequest(
            id=record[1], customer=sys.intern(record[2]), requested_at=record[3],
            where=Where(*record[4]), extra=_extra_of(record[5])))
    else:
        facts.notices.append(Notice(
            id=record[1], kind=record[2], about=record[3], sent_at=record[4],
            channel=record[5], customer=record[6], where=Where(*record[7]),
            extra=_extra_of(record[8])))


class _Spool:
    """N shard files of pickled record batches, written in input order.

    Reading in parallel, each reader writes its own *part* of every shard (part k holds
    what came before part k + 1 in the input); a shard is read back part by part.
    """

    def __init__(self, directory: Path, shards: int, part: int = 0, parts: int = 1):
        self.directory = directory
        self.shards = shards
        self.part = part
        self.parts = parts
        self.buffers: list[list[tuple[Any, ...]]] = [[] for _ in range(shards)]
        self.files: list[IO[bytes] | None] = [None] * shards
        self.counts = [0] * shards

    def path(self, shard: int, part: int) -> Path:
        return self.directory / f"shard-{shard:04d}.{part}.facts"

    def add(self, customer: str, record: tuple[Any, ...]) -> None:
        shard = shard_of(customer, self.shards)
        buffer = self.buffers[shard]
        buffer.append(record)
        self.counts[shard] += 1
        if len(buffer) >= _BATCH:
            self._flush(shard)

    def _flush(self, shard: int) -> None:
        buffer = self.buffers[shard]
        if not buffer:
            return
        file = self.files[shard]
        if file is None:
            file = self.files[shard] = open(self.path(shard, self.part), "wb")  # noqa: SIM115
        pickle.dump(buffer, file, protocol=pickle.HIGHEST_PROTOCOL)
        self.buffers[shard] = []

    def close(self) -> None:
        for shard in range(self.shards):
            self._flush(shard)
            file = self.files[shard]
            if file is not None:
                file.close()
                self.files[shard] = None

    def read(self, shard: int) -> Iterator[tuple[Any, ...]]:
        for part in range(self.parts):
            path = self.path(shard, part)
            if not path.exists():
                continue
            with open(path, "rb") as file:
                while True:
                    try:
                        batch = pickle.load(file)
                    except EOFError:
                        break
                    yield from batch


class _SpoolingBuilder(FactSetBuilder):
    """Checks facts like :class:`FactSetBuilder` but spools the per-customer ones.

    Reference checks that cannot be decided when a fact is read (its customer's
    subscription or its notice's subject comes later in the input) are kept, with the
    fact, until :meth:`finish`, which reports them in the order the in-memory builder does.
    """

    def __init__(self, allow_types: Iterable[str], spool: _Spool, *, part_reader: bool = False):
        super().__init__(allow_types)
        self.spool = spool
        self.spooled = 0
        self.subject_ids: set[str] = set()
        self.later_notices: list[Notice] = []
        self.later_customers: list[tuple[int, int, Any]] = []  # (kind rank, order, fact)
        # a reader of one part of the input cannot decide references to other parts: it
        # notes the names; any that turn out unknown send the whole read back to sequential
        self.part_reader = part_reader
        self.named_customers: set[str] = set()
        self.named_subjects: set[str] = set()

    def _place(self, fact: Any, where: Where) -> None:
        subscriptions = self.facts.subscriptions
        if isinstance(fact, Notice):
            if self.part_reader:
                self.named_subjects.add(fact.about)
                if fact.customer is not None:
                    self.named_customers.add(fact.customer)
            elif fact.about not in self.subject_ids or (
                fact.customer is not None and fact.customer not in subscriptions
            ):
                self.later_notices.append(fact)
            if fact.customer is None:
                self.facts.notices.append(fact)
                return
            self._spool(fact.customer, fact)
            return
        rank = _CUSTOMER_FACT_RANK.get(type(fact))
        if rank is None:  # subscriptions, downtimes, changes: fleet-wide, kept
            super()._place(fact, where)
            fact_id = getattr(fact, "id", None)
            if fact_id is not None:
                self.subject_ids.add(fact_id)
            return
        if fact.customer not in subscriptions:
            if self.part_reader:
                self.named_customers.add(fact.customer)
            else:
                self.later_customers.append((rank, self.counter, fact))
        self._spool(fact.customer, fact)

    def _spool(self, customer: str, fact: Any) -> None:
        self.spool.add(customer, _record(fact))
        self.spooled += 1

    def absorb(self, part: _ReadPart) -> None:
        """Take over what a parallel reader read (parts are absorbed in input order)."""
        facts = self.facts
        facts.subscriptions.update(part.facts.subscriptions)
        facts.downtimes.extend(part.facts.downtimes)
        facts.changes.extend(part.facts.changes)
        facts.notices.extend(part.facts.notices)
        facts.custom.extend(part.facts.custom)
        facts.warnings.extend(part.facts.warnings)
        self.named_customers |= part.named_customers
        self.named_subjects |= part.named_subjects
        self.counter += part.counter
        self.spooled += part.spooled
        for shard, count in enumerate(part.counts):
            self.spool.counts[shard] += count

    def finish(self) -> FactSet:
        self._check_downtimes()
        subjects = self._subjects()
        for notice in self.later_notices:
            self._check_notice(notice, subjects)
        for _rank, _order, item in sorted(self.later_customers, key=lambda e: e[:2]):
            self._check_customer(item)
        self._check_custom()
        if self.problems:
            raise InputError(self.problems)
        self.spool.close()
        return self.facts


_CUSTOMER_FACT_RANK = {Ticket: 0, CreditRequest: 1, UpdateRequest: 2}


def _read_sequential(sources: Sequence[Any], builder: _SpoolingBuilder) -> FactSet:
    """Read every source in this process (any format, fact dicts too)."""
    for source in sources:
        if isinstance(source, Mapping):
            builder.add(source, Where("<api>", 0, 0, builder.counter))
            continue
        for raw, place, _ in iter_raw_facts(Path(source), str(source), builder.allow_types):
            builder.add(raw, place)
    return builder.finish()


# -- 1b. reading large NDJSON files in parallel ----------------------------------------------
PARALLEL_READ_BYTES = 4_000_000  # below this, forking readers costs more than it saves


@dataclass
class _ReadPart:
    """What one parallel reader kept (the rest is in its part of the spool)."""

    facts: FactSet
    named_customers: set[str]  # customers named by facts before their subscription
    named_subjects: set[str]  # subjects of notices
    counter: int
    spooled: int
    counts: list[int]
    keys: dict[str, list[str]]  # fact type → ids (and customers) seen, for duplicates


def _mapping_proxy(items: dict[str, Any]) -> Mapping[str, Any]:
    """Unpickle a read-only mapping, sharing the empty one and the impact ones."""
    if not items:
        return _NO_EXTRA
    if tuple(items) == IMPACT_FLAGS:
        return _impact_of(tuple(items.values()))
    return MappingProxyType(items)


class _FactPickler(pickle.Pickler):
    """Pickles fact records, whose read-only mappings plain pickle refuses."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is MappingProxyType:
            return _mapping_proxy, (dict(obj),)
        return NotImplemented


def _split(sources: Sequence[Any], readers: int) -> list[list[tuple[str, int, int, int]]] | None:
    """Cut NDJSON files into ``readers`` runs of whole lines, about equal in bytes.

    Each run is a list of ``(path, start, stop, first line number)``, in input order.
    None when a source is not an NDJSON file or the input is too small to be worth it.
    """
    from .facts import NDJSON_SUFFIXES

    sizes: list[tuple[str, int]] = []
    for source in sources:
        if isinstance(source, Mapping) or Path(source).suffix.lower() not in NDJSON_SUFFIXES:
            return None
        try:
            sizes.append((os.fspath(source), os.path.getsize(source)))
        except OSError:
            return None  # reported by the sequential read
    total = sum(size for _, size in sizes)
    if readers < 2 or total < PARALLEL_READ_BYTES:
        return None
    cuts = [total * k // readers for k in range(1, readers)]  # offsets in the whole input
    runs: list[list[tuple[str, int, int, int]]] = [[] for _ in range(readers)]
    reader, offset = 0, 0
    for path, size in sizes:
        start, line = 0, 1  # a line starts at `start`; `line` is its number
        with open(path, "rb") as file:
            while reader < readers - 1 and cuts[reader] < offset + size:
                cut = max(cuts[reader] - offset, start)
                file.seek(start)
                newlines = _count_newlines(file, cut - start)
                rest = file.readline()  # the cut moves to the start of the next line
                end = cut + len(rest)
                if end > start:
                    runs[reader].append((path, start, end, line))
                start, line = end, line + newlines + rest.count(b"\n")
                reader += 1
        if size > start:
            runs[reader].append((path, start, size, line))
        offset += size
    return runs


def _count_newlines(file: IO[bytes], size: int) -> int:
    count = 0
    while size > 0:
        chunk = file.read(min(size, 1 << 22))
        if not chunk:
            break
        count += chunk.count(b"\n")
        size -= len(chunk)
    return count


def _read_parallel(
    sources: Sequence[Any], builder: _SpoolingBuilder, readers: int, directory: Path
) -> FactSet | None:
    """Read NDJSON files in ``readers`` forked processes, each into its part of the spool.

    None when the input does not qualify or any reader met a problem: the caller then
    reads sequentially, so that problems are reported exactly as they always are.
    """
    runs = _split(sources, readers)
    if runs is None or not hasattr(os, "fork"):
        return None
    spool = builder.spool
    children: list[tuple[int, Path]] = []
    for part, run in enumerate(runs):
        result_path = directory / f"read-{part}.result"
        pid = os.fork()
        if pid == 0:
            _reader_child(run, part, readers, spool, builder.allow_types, result_path)
        children.append((pid, result_path))
    parts: list[_ReadPart | None] = []
    for pid, result_path in children:
        os.waitpid(pid, 0)
        try:
            with open(result_path, "rb") as file:
                parts.append(pickle.load(file))
        except (OSError, EOFError, pickle.UnpicklingError):
            parts.append(None)
    if any(part is None for part in parts):
        return None
    seen: dict[str, set[str]] = {}
    for part in parts:
        assert part is not None
        for kind, keys in part.keys.items():
            known = seen.setdefault(kind, set())
            if not known.isdisjoint(keys):
                return None  # a duplicate across parts: reported by the sequential read
            known.update(keys)
        builder.absorb(part)
    del seen
    if not builder.named_customers <= builder.facts.subscriptions.keys() or not (
        builder.named_subjects <= builder._subjects()
    ):
        return None  # a reference to nothing: reported by the sequential read
    spool.parts = readers
    try:
        return builder.finish()
    except InputError:
        return None


def _reader_child(run: list[tuple[str, int, int, int]], part: int, parts: int, spool: _Spool,
                  allow_types: Iterable[str], result_path: Path) -> None:
    """A forked reader: read its run, spool per-customer facts, pickle the rest; exit."""
    status = 0
    try:
        own = _Spool(spool.directory, spool.shards, part=part, parts=parts)
        reader = _SpoolingBuilder(allow_types, own, part_reader=True)
        for path, start, stop, first_line in run:
            for raw, place, _ in iter_raw_facts(Path(path), path, reader.allow_types,
                                                byte_range=(start, stop, first_line)):
                reader.add(raw, place)
        own.close()
        result: _ReadPart | None = None
        if not reader.problems:
            keys = {kind: list(ids) for kind, ids in reader.seen.items()}
            result = _ReadPart(reader.facts, reader.named_customers, reader.named_subjects,
                               reader.counter, reader.spooled, own.counts, keys)
        with open(result_path, "wb") as file:
            _FactPickler(file, protocol=pickle.HIGHEST_PROTOCOL).dump(result)
    except BaseException:  # noqa: BLE001 — any problem: the parent reads sequentially
        status = 1
    finally:
        os._exit(status)


# -- 2. evaluate shard by shard ---------------------------------------------------------------
@dataclass
class _Plan:
    """Everything a worker needs; workers are forked, so nothing of it is pickled."""

    versions: VersionSet
    fleet: FactSet
    spool: _Spool
    as_of: float
    backend: Backend
    months: list[str] | None
    directory: Path
    downtime_months: list[str] = field(default_factory=list)  # of every downtime
    downtimes_by_shard: list[list[Downtime]] = field(default_factory=list)

    def index_downtimes(self) -> None:
        """Months touched by downtimes, and each shard's downtimes, computed once.

        A downtime that names customers goes to their shards only; one for everybody (or
        nobody: it is still checked against the policy's dates) goes to every shard.
        """
        downtimes = self.fleet.downtimes
        self.downtime_months = sorted(downtime_months(downtimes, self.versions.timezone))
        shards = self.spool.shards
        self.downtimes_by_shard = [[] for _ in range(shards)]
        for down in downtimes:
            targets = (range(shards) if not down.customers
                       else sorted({shard_of(c, shards) for c in down.customers}))
            for shard in targets:
                self.downtimes_by_shard[shard].append(down)


@dataclass
class _ShardOutput:
    """Where one worker wrote its part: per section, (customer, offset, size) in its file."""

    worker: int
    blocks: dict[str, list[tuple[str, int, int]]]
    findings: list[Path]
    outcomes: set[str]
    used: set[tuple[str, str]]
    rows: dict[str, int]


def _shard_facts(plan: _Plan, shard: int) -> FactSet:
    fleet = plan.fleet
    facts = FactSet(
        subscriptions={name: sub for name, sub in fleet.subscriptions.items()
                       if shard_of(name, plan.spool.shards) == shard},
        downtimes=plan.downtimes_by_shard[shard],
        changes=fleet.changes,
        notices=list(fleet.notices),
        custom=fleet.custom,
    )
    for record in plan.spool.read(shard):
        _add_record(facts, record)
    return facts


def _finding_line(finding: Finding, encode: Any) -> bytes:
    """A finding as two lines: its sort key, then its report line (UTF-8).

    The key joins the finding's fields with NUL, which sorts like the tuple does, and UTF-8
    bytes sort like the code points they encode, so the merge compares bytes. A field with
    a line break, a NUL or an unencodable character cannot be keyed so: Unshardable.
    """
    parts = (finding.subject, finding.rule, finding.clause, finding.outcome, finding.message,
             *finding.facts)
    key = "\x00".join(parts)
    try:
        if "\n" in key or key.count("\x00") != len(parts) - 1:
            raise ValueError
        return f"{key}\n    {encode(finding.to_dict())}\n".encode()
    except (ValueError, UnicodeError):
        raise Unshardable(f"finding about {finding.subject!r} cannot be keyed for the "
                          "merge (a line break, NUL or lone surrogate)") from None


def _run_worker(plan: _Plan, worker: int, shards: Sequence[int]) -> _ShardOutput:
    """Evaluate some shards; write their rows and findings; return where they are."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    output = _ShardOutput(worker, {name: [] for name in ROW_SECTIONS}, [], set(), set(),
                          dict.fromkeys((*ROW_SECTIONS, "findings"), 0))
    row_files = {name: open(plan.directory / f"w{worker}-{name}.rows", "wb")  # noqa: SIM115
                 for name in ROW_SECTIONS}
    try:
        for shard in shards:
            facts = _shard_facts(plan, shard)
            evaluation, used = evaluate_parts(plan.versions, facts, as_of=plan.as_of,
                                              backend=plan.backend, months=plan.months,
                                              downtime_months=plan.downtime_months)
            del facts
            output.used |= used
            for name in ROW_SECTIONS:
                rows = getattr(evaluation, name)
                output.rows[name] += len(rows)
                file = row_files[name]
                blocks = output.blocks[name]
                customer = None
                lines: list[str] = []
                for row in rows:
                    if row.customer != customer:
                        if lines:
                            _write_block(file, blocks, customer, lines)
                        customer, lines = row.customer, []
                    lines.append(f"    {encode(_row_dict(row))},\n")
                if lines:
                    _write_block(file, blocks, customer, lines)
                setattr(evaluation, name, [])
            findings_path = plan.directory / f"shard-{shard:04d}.findings"
            with open(findings_path, "wb") as file:
                for finding in evaluation.findings:
                    output.outcomes.add(finding.outcome)
                    file.write(_finding_line(finding, encode))
            output.rows["findings"] += len(evaluation.findings)
            output.findings.append(findings_path)
            del evaluation
    finally:
        for file in row_files.values():
            file.close()
    return output


def _write_block(file: IO[bytes], blocks: list[tuple[str, int, int]], customer: str | None,
                 lines: list[str]) -> None:
    """One customer's rows of a section, in order; remembered by (customer, offset, size)."""
    data = "".join(lines).encode("utf-8")
    blocks.append((customer or "", file.tell(), len(data)))
    file.write(data)


def _assign(counts: Sequence[int], workers: int) -> list[list[int]]:
    """Shards to workers, the largest first to the least loaded (each list in shard order)."""
    loads = [0] * workers
    assigned: list[list[int]] = [[] for _ in range(workers)]
    for shard in sorted(range(len(counts)), key=lambda s: (-counts[s], s)):
        target = min(range(workers), key=lambda w: (loads[w], w))
        assigned[target].append(shard)
        loads[target] += counts[shard] + 1
    return [sorted(shards) for shards in assigned]


def _run_workers(plan: _Plan, assignment: list[list[int]]) -> list[_ShardOutput]:
    """Run each worker's shards: in this process for one worker, else in forked children."""
    if len(assignment) == 1 or not hasattr(os, "fork"):
        return [_run_worker(plan, worker, shards) for worker, shards in enumerate(assignment)]
    children: list[tuple[int, int, Path]] = []
    for worker, shards in enumerate(assignment):
        result_path = plan.directory / f"w{worker}.result"
        pid = os.fork()
        if pid == 0:  # the child: evaluate, write the result, leave without cleanup
            status = 0
            try:
                result: Any = ("ok", _run_worker(plan, worker, shards))
            except Unshardable as error:
                result = ("unshardable", str(error))
            except InputError as error:
                result = ("unshardable", f"input error while evaluating: {error}")
            except BaseException:  # noqa: BLE001 — carried to the parent and raised there
                result = ("error", traceback.format_exc())
            try:
                with open(result_path, "wb") as file:
                    pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # noqa: BLE001
                status = 1
            finally:
                os._exit(status)
        children.append((pid, worker, result_path))
    outputs: list[_ShardOutput] = []
    problems: list[tuple[str, str]] = []
    for pid, worker, result_path in children:
        _, status = os.waitpid(pid, 0)
        try:
            with open(result_path, "rb") as file:
                kind, value = pickle.load(file)
        except (OSError, EOFError, pickle.UnpicklingError):
            kind, value = "error", f"worker {worker} ended with status {status} and no result"
        if kind == "ok":
            outputs.append(value)
        else:
            problems.append((kind, value))
    for kind, value in problems:
        if kind == "error":
            raise EngineError(f"an evaluation worker failed:\n{value}")
    if problems:
        raise Unshardable(problems[0][1])
    return outputs


# -- 3. merge -------------------------------------------------------------------------------
def _copy_section(name: str, outputs: Sequence[_ShardOutput], directory: Path,
                  last_section: bool) -> Iterator[str]:
    blocks = sorted((customer, output.worker, offset, size)
                    for output in outputs for customer, offset, size in output.blocks[name])
    comma = "" if last_section else ","
    if not blocks:
        yield f"  {json.dumps(name)}: []{comma}\n"
        return
    yield f"  {json.dumps(name)}: [\n"
    files = {output.worker: open(directory / f"w{output.worker}-{name}.rows",  # noqa: SIM115
                                 "rb") for output in outputs}
    try:
        last = len(blocks) - 1
        for position, (_customer, worker, offset, size) in enumerate(blocks):
            file = files[worker]
            file.seek(offset)
            text = file.read(size).decode("utf-8")
            if position == last:
                text = text[:-2] + "\n"  # the section's last row has no comma
            yield text
    finally:
        for file in files.values():
            file.close()
    yield f"  ]{comma}\n"


def _merged_findings(paths: Sequence[Path]) -> Iterator[str]:
    files = [open(path, "rb") for path in paths]  # noqa: SIM115
    try:
        streams = [_finding_lines(file) for file in files]
        previous: bytes | None = None
        chunk: list[bytes] = []
        for _key, line in heapq.merge(*streams):
            if previous is not None:
                chunk.append(previous[:-1] + b",\n")
                if len(chunk) >= 512:
                    yield b"".join(chunk).decode("utf-8")
                    chunk = []
            previous = line
        if previous is not None:
            chunk.append(previous)
        yield b"".join(chunk).decode("utf-8")
    finally:
        for file in files:
            file.close()


def _finding_lines(file: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
    for key, line in zip(file, file, strict=False):
        yield key[:-1], line


def _report(outputs: Sequence[_ShardOutput], directory: Path, as_of: str,
            policies: list[tuple[str, str]]) -> Iterator[str]:
    yield "{\n"
    yield f"  \"as_of\": {json.dumps(as_of, ensure_ascii=False)},\n"
    encode = json.JSONEncoder(ensure_ascii=False).encode
    rows = [f"    {encode({'name': name, 'version': version})}" for name, version in policies]
    yield "  \"policy\": [\n" + ",\n".join(rows) + "\n  ],\n"
    for name in ROW_SECTIONS:
        yield from _copy_section(name, outputs, directory, last_section=False)
    paths = sorted(path for output in outputs for path in output.findings)
    if sum(o.rows["findings"] for o in outputs) == 0:
        yield "  \"findings\": []\n"
    else:
        yield "  \"findings\": [\n"
        yield from _merged_findings(paths)
        yield "  ]\n"
    yield "}\n"


# -- the whole ------------------------------------------------------------------------------
def write_json(
    versions: Sequence[CompiledPolicy],
    sources: Sequence[str | os.PathLike[str] | Mapping[str, Any]],
    write: Any,
    *,
    as_of: float,
    backend: Backend,
    months: Sequence[str] | None = None,
    allow_types: Iterable[str] = (),
    workers: int = 1,
    shards: int | None = None,
    directory: str | os.PathLike[str] | None = None,
) -> ReportSummary:
    """Evaluate fact files shard by shard and hand the JSON report to ``write`` in pieces.

    ``write`` is called with an iterator of text pieces once everything is decided, so
    nothing is written when the input is bad. Raises :class:`InputError` for bad facts
    (found while reading, as :func:`load_facts` reports them) and :class:`Unshardable`
    when the in-memory evaluation must be used instead.
    """
    from . import timeutil

    workers = max(1, workers)
    clock = time.perf_counter
    started = clock()
    version_set = VersionSet(versions)
    count = shards or shard_count(sources, workers)
    with tempfile.TemporaryDirectory(prefix="policyengine-", dir=directory) as temp:
        where = Path(temp)
        parallel = where / "parallel"
        parallel.mkdir()
        spool = _Spool(parallel, count)
        builder = _SpoolingBuilder(allow_types, spool)
        fleet = _read_parallel(sources, builder, workers, where)
        if fleet is None:  # small, not NDJSON, or a problem to report: read it here
            shutil.rmtree(parallel)
            spool = _Spool(where, count)
            builder = _SpoolingBuilder(allow_types, spool)
            try:
                fleet = _read_sequential(sources, builder)
            finally:
                spool.close()
        plan = _Plan(version_set, fleet, spool, as_of, backend,
                     list(months) if months else None, where)
        plan.index_downtimes()
        workers = min(workers, count)
        read = clock()
        outputs = _run_workers(plan, _assign(spool.counts, workers))
        evaluated = clock()
        used = set().union(*(output.used for output in outputs))
        policies = sorted(used) or default_policies(versions)
        write(_report(outputs, where, timeutil.iso(as_of, version_set.timezone), policies))
        seconds = {"read": read - started, "evaluate": evaluated - read,
                   "write": clock() - evaluated}
        rows = {name: sum(o.rows[name] for o in outputs) for name in (*ROW_SECTIONS, "findings")}
        return ReportSummary(
            policies=policies,
            warnings=list(fleet.warnings),
            outcomes=set().union(*(output.outcomes for output in outputs)),
            facts=builder.counter,
            shards=count,
            workers=workers,
            rows=rows,
            seconds=seconds,
        )


def evaluation_rows(evaluation: Evaluation) -> dict[str, int]:
    """Row counts per section (for summaries and tests)."""
    return {name: len(getattr(evaluation, name)) for name in (*ROW_SECTIONS, "findings")}


__all__ = ["ReportSummary", "Unshardable", "shard_of", "write_json"]
