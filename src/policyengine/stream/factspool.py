"""Reading facts for a streamed evaluation: check each fact, keep the fleet-wide ones, spool
the per-customer ones to shard files on disk (see :mod:`policyengine.stream.sharded`).

Facts are checked by the one fact reader, :class:`FactSetBuilder`, whose sink takes the
per-customer facts. Each is spooled, in input order, to the shard its customer hashes to,
pickled as its class and its fields' values (:class:`FactPickler`: the fields are the fact
model's dataclass fields). Large NDJSON input is read by several forked readers, each
taking a run of whole lines and writing its own *part* of every shard; a shard is read
back part by part, so input order holds.
"""

from __future__ import annotations

import functools
import os
import pickle
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from multiprocessing.sharedctypes import RawArray
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from policyengine.diagnostics import InputError
from policyengine.model import facts as model_facts
from policyengine.stream.pool import CAN_FORK, WorkerFailed, run_forked
from policyengine.validation.facts import (
    IMPACT_FLAGS,
    NO_EXTRA,
    FactSet,
    FactSetBuilder,
    Notice,
    Progress,
    impact_mapping,
    iter_raw_facts,
    read_facts,
)

BATCH = 4096  # facts pickled together


def shard_of(customer: str, shards: int) -> int:
    """The shard of a customer (stable across processes and runs)."""
    return zlib.crc32(customer.encode("utf-8", "surrogatepass")) % shards


# -- the spool's encoding: derived from the fact model's dataclasses --------------------------
def _field_getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """The values of a dataclass's fields, in declaration order (its constructor's order)."""
    return attrgetter(*(f.name for f in fields(cls)))  # type: ignore[return-value]


_FIELDS: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    cls: _field_getter(cls)
    for cls in vars(model_facts).values()
    if isinstance(cls, type) and is_dataclass(cls) and cls.__module__ == model_facts.__name__
    and cls is not FactSet
}


def _mapping_proxy(items: dict[str, Any]) -> Mapping[str, Any]:
    """Unpickle a read-only mapping, sharing the empty one and the impact ones."""
    if not items:
        return NO_EXTRA
    if tuple(items) == IMPACT_FLAGS:
        return impact_mapping(tuple(items.values()))
    return MappingProxyType(items)


class FactPickler(pickle.Pickler):
    """Pickles facts as their class and their fields' values (``cls(*values)`` unpickles).

    The fields are the model's (:mod:`policyengine.model.facts`): nothing here repeats a
    fact's shape. Read-only mappings (``extra``, ``impact``), which plain pickle refuses,
    are pickled as dicts and come back shared where the reader shares them.
    """

    def reducer_override(self, obj: Any) -> Any:
        getter = _FIELDS.get(type(obj))
        if getter is not None:
            return type(obj), getter(obj)
        if type(obj) is MappingProxyType:
            return _mapping_proxy, (dict(obj),)
        return NotImplemented


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
        self.buffers: list[list[Any]] = [[] for _ in range(shards)]
        self.files: list[IO[bytes] | None] = [None] * shards
        self.counts = [0] * shards

    def path(self, shard: int, part: int) -> Path:
        return self.directory / f"shard-{shard:04d}.{part}.facts"

    def add(self, customer: str, fact: Any) -> None:
        """Spool one per-customer fact (a FactSetBuilder sink)."""
        shard = shard_of(customer, self.shards)
        buffer = self.buffers[shard]
        buffer.append(fact)
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
        FactPickler(file, protocol=pickle.HIGHEST_PROTOCOL).dump(buffer)
        self.buffers[shard] = []

    def close(self) -> None:
        for shard in range(self.shards):
            self._flush(shard)
            file = self.files[shard]
            if file is not None:
                file.close()
                self.files[shard] = None

    def read(self, shard: int) -> Iterator[Any]:
        """A shard's facts, in input order."""
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


def spooling_builder(allow_types: Iterable[str], spool: FactSpool) -> FactSetBuilder:
    """A fact reader that checks facts as :func:`load_facts` does and hands the
    per-customer ones to ``spool``."""
    return FactSetBuilder(allow_types, sink=spool.add)


class _PartReader(FactSetBuilder):
    """Reads one part of the input: references to other parts cannot be decided here.

    It notes the customers and subjects it could not resolve; any that turn out unknown
    in the whole input send the read back to sequential (see :func:`read_parallel`).
    """

    def __init__(self, allow_types: Iterable[str], spool: FactSpool) -> None:
        super().__init__(allow_types, sink=spool.add)
        self.named_customers: set[str] = set()
        self.named_subjects: set[str] = set()

    def unresolved_customer(self, rank: int, fact: Any) -> None:
        self.named_customers.add(fact.customer)

    def unresolved_notice(self, notice: Notice) -> None:
        if notice.about not in self.subject_ids:
            self.named_subjects.add(notice.about)
        if notice.customer is not None and notice.customer not in self.facts.subscriptions:
            self.named_customers.add(notice.customer)


def read_sequential(sources: Sequence[Any], builder: FactSetBuilder,
                    spool: FactSpool, progress: Progress | None = None) -> FactSet:
    """Read every source in this process (any format, fact dicts too), as
    :func:`load_facts` does; ``builder`` is a :func:`spooling_builder` of ``spool``.
    ``progress``: as :func:`read_facts` calls it (bytes and facts read)."""
    try:
        return read_facts(builder, sources, progress)
    finally:
        spool.close()


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
    sources: Sequence[Any], builder: FactSetBuilder, spool: FactSpool, readers: int,
    progress: Progress | None = None,
) -> FactSet | None:
    """Read NDJSON files in ``readers`` forked processes, each into its part of ``spool``.

    ``builder`` (a :func:`spooling_builder` of ``spool``) takes over what the readers
    kept. None when the input does not qualify or any reader met a problem: the caller
    then reads sequentially, so that problems are reported exactly as they always are.
    ``progress`` is called in this process, about ten times a second while the readers
    run, as :func:`read_facts` calls it: ``("bytes", read, total)`` (bytes read by all
    readers of the files' total size) and ``("facts", count, None)``; each reader adds
    its counts into shared memory (:class:`ReadCounters`).
    """
    runs = split_ndjson(sources, readers)
    if runs is None or not CAN_FORK:
        return None
    counters = ReadCounters(readers)
    total = sum(stop - start for run in runs for _, start, stop, _ in run)
    poll = None
    if progress is not None:
        poll = functools.partial(counters.report, progress, total)
        progress("bytes", 0, total)
    try:
        results = run_forked(_read_part, (spool.directory, spool.shards, readers,
                                          builder.allow_types, counters),
                             [(run, part) for part, run in enumerate(runs)], poll=poll)
    except WorkerFailed:
        return None
    parts: list[ReadPart] = []
    for path in results:  # read from files, so that no part's pickled bytes sit in memory
        if path is None:
            return None
        with open(path, "rb") as file:
            parts.append(pickle.load(file))
    seen: dict[str, set[str]] = {}
    named_customers: set[str] = set()
    named_subjects: set[str] = set()
    for part in parts:
        for kind, keys in part.keys.items():
            known = seen.setdefault(kind, set())
            if not known.isdisjoint(keys):
                return None  # a duplicate across parts: reported by the sequential read
            known.update(keys)
        _absorb(builder, spool, part)
        named_customers |= part.named_customers
        named_subjects |= part.named_subjects
    del seen
    if not named_customers <= builder.facts.subscriptions.keys() or not (
        named_subjects <= builder.subject_ids
    ):
        return None  # a reference to nothing: reported by the sequential read
    spool.parts = readers
    try:
        return builder.finish()
    except InputError:
        return None


def _absorb(builder: FactSetBuilder, spool: FactSpool, part: ReadPart) -> None:
    """Take over what a parallel reader kept (parts are absorbed in input order)."""
    facts, kept = builder.facts, part.facts
    for customer, subs in kept.subscriptions.items():  # renewals: finish() checks overlaps
        facts.subscriptions.setdefault(customer, []).extend(subs)
    facts.downtimes.extend(kept.downtimes)
    facts.changes.extend(kept.changes)
    facts.notices.extend(kept.notices)
    facts.custom.extend(kept.custom)
    facts.warnings.extend(kept.warnings)
    builder.subject_ids.update(d.id for d in kept.downtimes)
    builder.subject_ids.update(c.id for c in kept.changes)
    builder.counter += part.counter
    for shard, count in enumerate(part.counts):
        spool.counts[shard] += count


class ReadCounters:
    """Bytes and facts read by each parallel reader, in memory shared with the readers
    (created before they are forked; each writes only its own two slots)."""

    def __init__(self, readers: int) -> None:
        self.slots = RawArray("q", 2 * readers)  # [bytes, facts] per reader

    def set(self, part: int, read: int, facts: int) -> None:
        self.slots[2 * part] = read
        self.slots[2 * part + 1] = facts

    def report(self, progress: Progress, total: int) -> None:
        values = self.slots[:]
        progress("bytes", min(total, sum(values[0::2])), total)
        progress("facts", sum(values[1::2]), None)


def _read_part(shared: tuple[Path, int, int, Iterable[str], ReadCounters], run: Run,
               part: int) -> Path | None:
    """A forked reader's job: read its run and spool it; None when it met a problem.

    Its :class:`ReadPart` is pickled by :class:`FactPickler` to the file it returns. How
    far it has read goes to its slots of the shared :class:`ReadCounters`.
    """
    directory, shards, parts, allow_types, counters = shared
    own = FactSpool(directory, shards, part=part, parts=parts)
    reader = _PartReader(allow_types, own)
    done = 0  # bytes of the runs read before this one
    for path, start, stop, first_line in run:
        def tell(position: int, before: int = done - start) -> None:
            counters.set(part, before + position, reader.counter)

        for raw, place, _ in iter_raw_facts(Path(path), path, reader.allow_types,
                                            byte_range=(start, stop, first_line),
                                            tell=tell):
            reader.add(raw, place)
        done += stop - start
        counters.set(part, done, reader.counter)
    own.close()
    if reader.problems:
        return None
    keys = {kind: list(ids) for kind, ids in reader.seen.items()}
    result = directory / f"part-{part}.read"
    with open(result, "wb") as file:
        FactPickler(file, protocol=pickle.HIGHEST_PROTOCOL).dump(ReadPart(
            reader.facts, reader.named_customers, reader.named_subjects, reader.counter,
            own.counts, keys))
    return result


__all__ = ["BATCH", "PARALLEL_READ_BYTES", "FactPickler", "FactSpool", "ReadCounters",
           "read_parallel",
           "read_sequential", "shard_of", "split_ndjson", "spooling_builder"]
