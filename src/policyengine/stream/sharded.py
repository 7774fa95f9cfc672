"""Streamed, sharded evaluation: a year of facts with memory that follows customers, not facts.

The JSON report of :func:`write_json` is byte for byte the one that
``Evaluation.to_json`` gives for the same input, computed another way:

1. **Read once**: every fact is checked as :func:`load_facts` checks it. Facts that belong
   to one customer (tickets, credit and update requests, addressed notices) are not kept:
   they are written, in input order, to one of N *shard* files on disk, chosen by a hash
   of the customer. Kept in memory: subscriptions, downtimes, changes, broadcast notices
   and declared custom facts. Large NDJSON input is read by several forked readers, each
   taking a run of whole lines and writing its own part of every shard; if any of them
   meets a problem (or a duplicate or dangling reference shows up between parts), the
   input is read again here, sequentially, so problems are reported exactly as always.
2. **Evaluate shard by shard** (in forked workers when ``workers > 1``): a shard's facts
   plus the fleet-wide ones form an ordinary :class:`FactSet`; every decision in the
   policy is about one customer, so a shard's results are exactly that shard's part of
   the whole. Each shard's rows and findings are encoded to JSON lines at once and written
   to disk; a worker holds one shard at a time.
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
import math
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NamedTuple

from policyengine.compile.compiler import CompiledPolicy
from policyengine.diagnostics import Diagnostic, EngineError, InputError, as_errors
from policyengine.engine.base import Backend, DecisionError
from policyengine.evaluate.evaluator import (
    Cutoff,
    VersionSet,
    default_policies,
    downtime_months,
    evaluate_parts,
    known_at,
    reports_remedies,
)
from policyengine.lifecycle import owned_prefix, sweep_stale
from policyengine.model.facts import (
    CreditRequest,
    Downtime,
    FactSet,
    Notice,
    Ticket,
    UpdateRequest,
)
from policyengine.model.json_report import (
    ALL_ROW_SECTIONS,
    ROW_SECTIONS,
    Audit,
    LineEncoder,
    report_pieces,
)
from policyengine.model.results import Evaluation, Finding
from policyengine.stream.factspool import (
    FactSpool,
    read_parallel,
    read_sequential,
    shard_of,
    spooling_builder,
)
from policyengine.stream.pool import CAN_FORK, WorkerFailed, run_forked

SHARD_BYTES = 8_000_000  # input bytes per shard: about 40,000 facts of the bench's mix
MAX_SHARDS = 512


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
    decision: dict[str, Any] | None = None  # the report's decision header (audit)
    outcome_counts: dict[str, int] = field(default_factory=dict)  # findings per outcome
    customers: int = 0  # customers with a row in some section
    periods_missed: int = 0  # availability rows with met false
    periods_provisional: int = 0  # availability rows of a month not over at as-of (no verdict)
    credits: dict[str, Decimal] = field(default_factory=dict)  # credit amounts per currency
    # the same per (status, currency): payable, claimable and expired credits apart
    credits_by_status: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def has_outcome(self, outcome: str) -> bool:
        return outcome in self.outcomes


def shard_count(sources: Sequence[Any], workers: int) -> int:
    """Enough shards that each holds about SHARD_BYTES of input, and each worker gets four."""
    size = 0
    for source in sources:
        if not isinstance(source, Mapping):
            with contextlib.suppress(OSError):  # a missing file is reported when read
                size += os.path.getsize(source)
    return max(4 * workers, min(MAX_SHARDS, math.ceil(size / SHARD_BYTES)))


# -- 2. evaluate shard by shard ---------------------------------------------------------------
@dataclass
class _Plan:
    """Everything a worker needs; workers are forked, so nothing of it is pickled."""

    versions: VersionSet
    fleet: FactSet
    spool: FactSpool
    as_of: float
    backend: Backend
    months: list[str] | None
    directory: Path
    downtime_months: list[str] = field(default_factory=list)  # of every downtime
    downtimes_by_shard: list[list[Downtime]] = field(default_factory=list)
    # a shard evaluated: called in this process, or one byte written here by a forked worker
    shard_done: Any = None
    shard_done_fd: int | None = None

    def index_downtimes(self) -> None:
        """Months touched by downtimes, and each shard's downtimes, computed once.

        A downtime that names customers goes to their shards only; one for everybody (or
        nobody: it is still checked against the policy's dates) goes to every shard.
        """
        downtimes = self.fleet.downtimes
        self.downtime_months = sorted(downtime_months(downtimes, self.versions.timezone,
                                                      self.as_of))
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
    cutoff: Cutoff = field(default_factory=Cutoff)  # per-customer facts after as-of
    outcome_counts: dict[str, int] = field(default_factory=dict)
    customers: int = 0
    periods_missed: int = 0
    periods_provisional: int = 0
    credits: dict[str, Decimal] = field(default_factory=dict)
    credits_by_status: dict[tuple[str, str], Decimal] = field(default_factory=dict)


class Stats(NamedTuple):
    """What the summary line counts of an evaluation (or of a shard's part of it)."""

    customers: int  # customers with a row in some section
    missed: int  # availability rows with met false (a verdict: below the target)
    provisional: int  # availability rows of a month not over at as-of: no verdict yet
    credits: dict[str, Decimal]  # credit amounts per currency (every status)
    # per (status, currency): what is payable, claimable or expired, apart
    credits_by_status: dict[tuple[str, str], Decimal]


def evaluation_stats(evaluation: Evaluation) -> Stats:
    """Customers with a row, availability rows missed and provisional, credit amounts per
    currency. A provisional month has ``met`` null: it is never counted as missed."""
    customers = {row.customer for name in ROW_SECTIONS for row in getattr(evaluation, name)}
    missed = sum(1 for row in evaluation.availability if row.met is False)
    provisional = sum(1 for row in evaluation.availability if row.provisional)
    credits: dict[str, Decimal] = {}
    by_status: dict[tuple[str, str], Decimal] = {}
    for row in evaluation.credits:
        amount = Decimal(row.amount)
        credits[row.currency] = credits.get(row.currency, Decimal(0)) + amount
        key = (row.status, row.currency)
        by_status[key] = by_status.get(key, Decimal(0)) + amount
    return Stats(len(customers), missed, provisional, credits, dict(sorted(by_status.items())))


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
    lists: dict[type, list[Any]] = {Ticket: facts.tickets, CreditRequest: facts.credit_requests,
                                    UpdateRequest: facts.update_requests, Notice: facts.notices}
    for fact in plan.spool.read(shard):
        lists[type(fact)].append(fact)
    return facts


def _finding_line(finding: Finding, encoder: LineEncoder) -> bytes:
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
        return f"{key}\n{encoder.finding(finding)}".encode()
    except (ValueError, UnicodeError):
        raise Unshardable(f"finding about {finding.subject!r} cannot be keyed for the "
                          "merge (a line break, NUL or lone surrogate)") from None


def _run_worker(plan: _Plan, worker: int, shards: Sequence[int]) -> _ShardOutput:
    """Evaluate some shards; write their rows and findings; return where they are."""
    encoder = LineEncoder()
    output = _ShardOutput(worker, {name: [] for name in ALL_ROW_SECTIONS}, [], set(), set(),
                          dict.fromkeys((*ALL_ROW_SECTIONS, "findings"), 0))
    row_files = {name: open(plan.directory / f"w{worker}-{name}.rows", "wb")  # noqa: SIM115
                 for name in ALL_ROW_SECTIONS}
    # a decision that cannot stand in one shard: the other shards still run, and the least
    # of them is reported (as an in-memory evaluation of all shards reports it)
    conflicts: list[DecisionError] = []
    try:
        for shard in shards:
            facts = _shard_facts(plan, shard)
            try:
                evaluation, used = evaluate_parts(plan.versions, facts, as_of=plan.as_of,
                                                  backend=plan.backend, months=plan.months,
                                                  downtime_months=plan.downtime_months,
                                                  cutoff=output.cutoff, count_fleet=False)
            except DecisionError as error:
                conflicts.append(error)
                continue
            finally:
                del facts
            if conflicts:
                continue
            output.used |= used
            stats = evaluation_stats(evaluation)
            output.customers += stats.customers  # a customer's rows are all in one shard
            output.periods_missed += stats.missed
            output.periods_provisional += stats.provisional
            for currency, amount in stats.credits.items():
                output.credits[currency] = output.credits.get(currency, Decimal(0)) + amount
            for key, amount in stats.credits_by_status.items():
                output.credits_by_status[key] = output.credits_by_status.get(
                    key, Decimal(0)) + amount
            for name in ALL_ROW_SECTIONS:
                rows = getattr(evaluation, name) or []
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
                    lines.append(encoder.row(row))
                if lines:
                    _write_block(file, blocks, customer, lines)
                setattr(evaluation, name, [] if rows is not None else None)
            findings_path = plan.directory / f"shard-{shard:04d}.findings"
            with open(findings_path, "wb") as file:
                counts = output.outcome_counts
                for finding in evaluation.findings:
                    output.outcomes.add(finding.outcome)
                    counts[finding.outcome] = counts.get(finding.outcome, 0) + 1
                    file.write(_finding_line(finding, encoder))
            output.rows["findings"] += len(evaluation.findings)
            output.findings.append(findings_path)
            del evaluation
            _return_freed_memory()
            _tick(plan)
    finally:
        for file in row_files.values():
            file.close()
    if conflicts:
        raise min(conflicts, key=lambda error: error.key)
    return output


def _tick(plan: _Plan) -> None:
    """Tell whoever shows progress that one more shard is done."""
    if plan.shard_done is not None:
        plan.shard_done()
    elif plan.shard_done_fd is not None:
        with contextlib.suppress(OSError):
            os.write(plan.shard_done_fd, b".")


def _return_freed_memory() -> None:
    """Give the C heap's freed pages back to the system between shards (glibc only)."""
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        try:
            import ctypes

            _MALLOC_TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _MALLOC_TRIM = False
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM: Any = None


def _write_block(file: IO[bytes], blocks: list[tuple[str, int, int]], customer: str | None,
                 lines: list[str]) -> None:
    """One customer's rows of a section, in order; remembered by (customer, offset, size)."""
    try:
        data = "".join(lines).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a fact dict): no UTF-8 for it
        raise Unshardable(f"rows of customer {customer!r} cannot be encoded") from None
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
    jobs = [(worker, shards) for worker, shards in enumerate(assignment)]
    reader = writer = None
    try:
        if len(jobs) == 1 or not CAN_FORK:
            results = [_worker_job(plan, *job) for job in jobs]
        elif plan.shard_done is None:
            results = run_forked(_worker_job, plan, jobs)
        else:  # forked workers write a byte per shard; this process reads them as they come
            reader, writer = os.pipe()
            plan.shard_done_fd = writer
            os.set_blocking(reader, False)
            done, plan.shard_done = plan.shard_done, None
            try:
                results = run_forked(_worker_job, plan, jobs,
                                     poll=lambda: _read_ticks(reader, done))
            finally:
                plan.shard_done, plan.shard_done_fd = done, None
    except WorkerFailed as error:  # a process died: its job's errors come back as values
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        raise EngineError(f"an evaluation worker failed: {lines[-1] if lines else error}") from None
    finally:
        for end in (reader, writer):
            if end is not None:
                os.close(end)
    outputs: list[_ShardOutput] = []
    unshardable: list[str] = []
    failures = [value for value in results if isinstance(value, WorkerFailure)]
    if failures:  # any other failure first, in worker order; else the least decision error
        raise min(failures, key=lambda f: (f.key is not None, f.key or ())).error()
    for value in results:
        if isinstance(value, str):
            unshardable.append(value)
        else:
            outputs.append(value)
    if unshardable:
        raise Unshardable(unshardable[0])
    return outputs


def _read_ticks(reader: int, done: Any) -> None:
    """Call ``done`` once for every byte the workers have written so far."""
    while True:
        try:
            data = os.read(reader, 4096)
        except BlockingIOError:
            return
        if not data:
            return
        for _ in data:
            done()


@dataclass(frozen=True)
class WorkerFailure:
    """An error raised in a worker, as one line: what the parent raises in its place.

    ``engine``: an :class:`EngineError` of the evaluation (raised again as it is, so the
    message is the one an in-process evaluation gives); otherwise the cause with its file
    (an ``OSError``: ``No space left on device: /tmp/...``) or the exception and where it
    was raised (a bug), never a traceback.
    """

    message: str
    engine: bool = False
    key: tuple[Any, ...] | None = None  # a DecisionError's order: the least is reported

    def error(self) -> EngineError:
        if self.engine:
            return EngineError(self.message)
        return EngineError(f"an evaluation worker failed: {self.message}")

    @classmethod
    def of(cls, error: BaseException) -> WorkerFailure:
        if isinstance(error, EngineError):
            return cls(" ".join(str(error).split()), engine=True,
                       key=error.key if isinstance(error, DecisionError) else None)
        if isinstance(error, OSError) and error.strerror:
            where = f" ({error.filename})" if error.filename else ""
            return cls(f"{error.strerror}{where}")
        frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
        at = f" (at {Path(frame[0].filename).name}:{frame[0].lineno})" if frame else ""
        text = " ".join(str(error).split())
        return cls(f"{type(error).__name__}{': ' + text if text else ''}{at}")


def _worker_job(plan: _Plan, worker: int,
                shards: Sequence[int]) -> _ShardOutput | str | WorkerFailure:
    """A forked worker's job: its output, why the shards cannot give the result, or the
    error it met as one line (:class:`WorkerFailure`)."""
    try:
        return _run_worker(plan, worker, shards)
    except Unshardable as error:
        return str(error)
    except InputError as error:  # reported by the in-memory evaluation, in its order
        return f"input error while evaluating: {error}"
    except Exception as error:  # noqa: BLE001 — handed to the parent as one line
        return WorkerFailure.of(error)


# -- 3. merge -------------------------------------------------------------------------------
def _section_blocks(name: str, outputs: Sequence[_ShardOutput],
                    directory: Path) -> Iterator[str]:
    """A row section's lines, copied block by block (one customer's rows) in customer order."""
    blocks = sorted((customer, output.worker, offset, size)
                    for output in outputs for customer, offset, size in output.blocks[name])
    if not blocks:
        return
    files = {output.worker: open(directory / f"w{output.worker}-{name}.rows",  # noqa: SIM115
                                 "rb") for output in outputs}
    try:
        for _customer, worker, offset, size in blocks:
            file = files[worker]
            file.seek(offset)
            yield file.read(size).decode("utf-8")
    finally:
        for file in files.values():
            file.close()


def _merged_findings(paths: Sequence[Path]) -> Iterator[str]:
    """Every shard's findings, merged in finding order; pieces of 512 lines."""
    files = [open(path, "rb") for path in paths]  # noqa: SIM115
    try:
        streams = [_finding_lines(file) for file in files]
        chunk: list[bytes] = []
        for _key, line in heapq.merge(*streams):
            chunk.append(line)
            if len(chunk) >= 512:
                yield b"".join(chunk).decode("utf-8")
                chunk = []
        yield b"".join(chunk).decode("utf-8")
    finally:
        for file in files:
            file.close()


def _finding_lines(file: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
    for key, line in zip(file, file, strict=False):
        yield key[:-1], line


def _report(outputs: Sequence[_ShardOutput], directory: Path, as_of: str,
            policies: list[tuple[str, str]], decision: dict[str, Any] | None = None,
            remedies: bool = False) -> Iterator[str]:
    """The report, written by the one JSON report writer from the shards' files
    (``remedies``: with that section, as the in-memory report has it)."""
    names = ALL_ROW_SECTIONS if remedies else ROW_SECTIONS
    sections: dict[str, Iterator[str]] = {
        name: _section_blocks(name, outputs, directory) for name in names}
    sections["findings"] = _merged_findings(
        sorted(path for output in outputs for path in output.findings))
    return report_pieces(as_of, policies, sections, decision)


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
    strict: bool = False,
    audit: Audit | None = None,
    progress: Any = None,
) -> ReportSummary:
    """Evaluate fact files shard by shard and hand the JSON report to ``write`` in pieces.

    ``write`` is called with an iterator of text pieces once everything is decided, so
    nothing is written when the input is bad. Shard files go to a temporary directory in
    ``directory`` (default: ``$TMPDIR``), removed however this returns or raises (workers
    are stopped first); one left by a killed run is removed by the next
    (:func:`policyengine.lifecycle.sweep_stale`). ``audit``: what the report's
    ``decision`` header is made of. ``progress``: called as ``progress(stage, done,
    total)`` as facts are read (stage ``"bytes"``: bytes of the files read of their total
    size, None when not known; ``"facts"``: facts read so far, total None; from the
    parallel NDJSON readers as from the sequential reader) and shards evaluated
    (``"shards"``: of all). Raises :class:`InputError` for bad facts
    (found while reading, as :func:`load_facts` reports them) and :class:`Unshardable`
    when the in-memory evaluation must be used instead.
    """
    from policyengine.clocks import timeutil

    workers = max(1, workers)
    if shards is not None and shards < 1:
        raise ValueError(f"shards must be 1 or more, not {shards}")
    clock = time.perf_counter
    started = clock()
    version_set = VersionSet(versions)
    count = shards if shards is not None else shard_count(sources, workers)
    # named for this process; what killed runs left here goes first (policyengine.lifecycle)
    sweep_stale(directory if directory is not None else tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix=owned_prefix(), dir=directory) as temp:
        where = Path(temp)
        parallel = where / "parallel"
        parallel.mkdir()
        spool = FactSpool(parallel, count)
        builder = spooling_builder(allow_types, spool)
        fleet = read_parallel(sources, builder, spool, workers, progress)
        if fleet is None:  # small, not NDJSON, or a problem to report: read it here
            shutil.rmtree(parallel)
            spool = FactSpool(where, count)
            builder = spooling_builder(allow_types, spool)
            fleet = read_sequential(sources, builder, spool, progress)
        if strict and fleet.warnings:  # --strict: a warning is bad input; nothing written
            raise InputError(as_errors(fleet.warnings))
        plan = _Plan(version_set, fleet, spool, as_of, backend,
                     list(months) if months else None, where)
        plan.index_downtimes()
        workers = min(workers, count)
        if progress is not None:
            progress("facts", builder.counter, builder.counter)
            evaluated_shards = [0]

            def shard_done() -> None:
                evaluated_shards[0] += 1
                progress("shards", evaluated_shards[0], count)

            plan.shard_done = shard_done
            progress("shards", 0, count)
        read = clock()
        outputs = _run_workers(plan, _assign(spool.counts, workers))
        evaluated = clock()
        used = set().union(*(output.used for output in outputs))
        policies = sorted(used) or default_policies(versions)
        remedies = reports_remedies(versions)
        rows = {name: sum(o.rows[name] for o in outputs)
                for name in (*(ALL_ROW_SECTIONS if remedies else ROW_SECTIONS), "findings")}
        iso_as_of = timeutil.iso(as_of, version_set.timezone)
        decision = audit.header(iso_as_of, rows) if audit is not None else None
        write(_report(outputs, where, iso_as_of, policies, decision, remedies))
        seconds = {"read": read - started, "evaluate": evaluated - read,
                   "write": clock() - evaluated}
        # what is dated after as-of: fleet-wide facts counted once here, the rest by shard
        cutoff = Cutoff()
        known_at(fleet, as_of, cutoff)
        for output in outputs:
            cutoff.merge(output.cutoff)
        warning = cutoff.warning(iso_as_of)
        return ReportSummary(
            policies=policies,
            warnings=list(fleet.warnings) + ([warning] if warning is not None else []),
            outcomes=set().union(*(output.outcomes for output in outputs)),
            facts=builder.counter,
            shards=count,
            workers=workers,
            rows=rows,
            seconds=seconds,
            decision=decision,
            outcome_counts=_sum_counts(output.outcome_counts for output in outputs),
            customers=sum(output.customers for output in outputs),
            periods_missed=sum(output.periods_missed for output in outputs),
            periods_provisional=sum(output.periods_provisional for output in outputs),
            credits=_sum_counts(output.credits for output in outputs),
            credits_by_status=_sum_counts(output.credits_by_status for output in outputs),
        )


def _sum_counts(parts: Iterable[Mapping[Any, Any]]) -> dict[Any, Any]:
    total: dict[Any, Any] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total[key] + value if key in total else value
    return dict(sorted(total.items()))


def evaluation_rows(evaluation: Evaluation) -> dict[str, int]:
    """Row counts per section (for summaries and tests)."""
    return {name: len(getattr(evaluation, name))
            for name in (*ROW_SECTIONS, "findings")}


__all__ = ["ReportSummary", "Stats", "Unshardable", "evaluation_stats", "write_json"]
