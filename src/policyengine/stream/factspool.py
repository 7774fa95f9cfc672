"""Reading facts for a streamed evaluation: check each fact, keep the fleet-wide ones, spool
the per-customer ones to shard files on disk (see :mod:`policyengine.stream.sharded`).

A per-customer fact is spooled as a plain tuple (fast to pickle), in input order, to the
shard its customer hashes to. Large NDJSON input is read by several forked readers, each
taking a run of whole lines and writing its own *part* of every shard; a shard is read
back part by part, so input order holds.
"""

from __future__ import annotations

import os
import pickle
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from policyengine.diagnostics import InputError
from policyengine.stream.forking import CAN_FORK, run_forked
from policyengine.validation.facts import (
    IMPACT_FLAGS,
    NO_EXTRA,
    CreditRequest,
    FactSet,
    FactSetBuilder,
    Notice,
    Ticket,
    UpdateRequest,
    Where,
    impact_mapping,
    iter_raw_facts,
)

BATCH = 4096  # records pickled together


def shard_of(customer: str, shards: int) -> int:
    """The shard of a customer (stable across processes and runs)."""
    return zlib.crc32(customer.encode("utf-8", "surrogatepass")) % shards


def _where_record(where: Where) -> tuple[str, int, int, int]:
    return (where.file, where.line, where.column, where.index)


def _extra_record(extra: Mapping[str, Any]) -> dict[str, Any] | None:
    return None if extra is NO_EXTRA else dict(extra)


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
    return NO_EXTRA if record is None else record


def _impact_of(flags: tuple[bool, ...] | None) -> Mapping[str, bool] | None:
    return None if flags is None else impact_mapping(flags)


def add_record(facts: FactSet, record: tuple[Any, ...]) -> None:
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


class FactSpool:
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
        if len(buffer) >= BATCH:
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


class SpoolingBuilder(FactSetBuilder):
    """Checks facts like :class:`FactSetBuilder` but spools the per-customer ones.

    Reference checks that cannot be decided when a fact is read (its customer's
    subscription or its notice's subject comes later in the input) are kept, with the
    fact, until :meth:`finish`, which reports them in the order the in-memory builder does.
    """

    def __init__(self, allow_types: Iterable[str], spool: FactSpool, *, part_reader: bool = False):
        super().__init__(allow_types)
        self.spool = spool
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
            self.spool.add(fact.customer, _record(fact))
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
        self.spool.add(fact.customer, _record(fact))

    def absorb(self, part: ReadPart) -> None:
        """Take over what a parallel reader read (parts are absorbed in input order)."""
        facts = self.facts
        for customer, subs in part.facts.subscriptions.items():
            facts.subscriptions.setdefault(customer, []).extend(subs)
        facts.downtimes.extend(part.facts.downtimes)
        facts.changes.extend(part.facts.changes)
        facts.notices.extend(part.facts.notices)
        facts.custom.extend(part.facts.custom)
        facts.warnings.extend(part.facts.warnings)
        self.named_customers |= part.named_customers
        self.named_subjects |= part.named_subjects
        self.counter += part.counter
        for shard, count in enumerate(part.counts):
            self.spool.counts[shard] += count

    def finish(self) -> FactSet:
        self._check_subscriptions()
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


def read_sequential(sources: Sequence[Any], builder: SpoolingBuilder) -> FactSet:
    """Read every source in this process (any format, fact dicts too)."""
    for source in sources:
        if isinstance(source, Mapping):
            builder.add(source, Where("<api>", 0, 0, builder.counter))
            continue
        for raw, place, _ in iter_raw_facts(Path(source), str(source), builder.allow_types):
            builder.add(raw, place)
    return builder.finish()


# -- reading large NDJSON files in parallel ---------------------------------------------------
PARALLEL_READ_BYTES = 4_000_000  # below this, forking readers costs more than it saves


@dataclass
class ReadPart:
    """What one parallel reader kept (the rest is in its part of the spool)."""

    facts: FactSet
    named_customers: set[str]  # customers named by facts before their subscription
    named_subjects: set[str]  # subjects of notices
    counter: int
    counts: list[int]
    keys: dict[str, list[str]]  # fact type → ids (and customers) seen, for duplicates


def _mapping_proxy(items: dict[str, Any]) -> Mapping[str, Any]:
    """Unpickle a read-only mapping, sharing the empty one and the impact ones."""
    if not items:
        return NO_EXTRA
    if tuple(items) == IMPACT_FLAGS:
        return impact_mapping(tuple(items.values()))
    return MappingProxyType(items)


class _FactPickler(pickle.Pickler):
    """Pickles fact records, whose read-only mappings plain pickle refuses."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is MappingProxyType:
            return _mapping_proxy, (dict(obj),)
        return NotImplemented


Run = list[tuple[str, int, int, int]]  # (path, start, stop, number of the line at start)


def split_ndjson(sources: Sequence[Any], readers: int) -> list[Run] | None:
    """Cut NDJSON files into ``readers`` runs of whole lines, about equal in bytes.

    Each run is a list of ``(path, start, stop, first line number)``, in input order.
    None when a source is not an NDJSON file or the input is too small to be worth it.
    """
    from policyengine.validation.facts import NDJSON_SUFFIXES

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
    runs: list[Run] = [[] for _ in range(readers)]
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


def read_parallel(
    sources: Sequence[Any], builder: SpoolingBuilder, readers: int, directory: Path
) -> FactSet | None:
    """Read NDJSON files in ``readers`` forked processes, each into its part of the spool.

    None when the input does not qualify or any reader met a problem: the caller then
    reads sequentially, so that problems are reported exactly as they always are.
    """
    runs = split_ndjson(sources, readers)
    if runs is None or not CAN_FORK:
        return None
    spool = builder.spool
    jobs = [partial(_read_part, run, part, readers, spool, builder.allow_types)
            for part, run in enumerate(runs)]
    parts = [value if done else None
             for done, value in run_forked(jobs, directory, "read", _FactPickler)]
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


def _read_part(run: Run, part: int, parts: int, spool: FactSpool,
               allow_types: Iterable[str]) -> ReadPart | None:
    """A forked reader's job: read its run and spool it; None when it met a problem."""
    own = FactSpool(spool.directory, spool.shards, part=part, parts=parts)
    reader = SpoolingBuilder(allow_types, own, part_reader=True)
    for path, start, stop, first_line in run:
        for raw, place, _ in iter_raw_facts(Path(path), path, reader.allow_types,
                                            byte_range=(start, stop, first_line)):
            reader.add(raw, place)
    own.close()
    if reader.problems:
        return None
    keys = {kind: list(ids) for kind, ids in reader.seen.items()}
    return ReadPart(reader.facts, reader.named_customers, reader.named_subjects,
                    reader.counter, own.counts, keys)


__all__ = ["BATCH", "PARALLEL_READ_BYTES", "FactSpool", "SpoolingBuilder", "add_record",
           "read_parallel", "read_sequential", "shard_of", "split_ndjson"]
