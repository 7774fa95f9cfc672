"""The embedding API: load a policy once, evaluate many times, from any thread.

>>> engine = Engine.load("policies/spirion")                      # doctest: +SKIP
>>> result = engine.evaluate(["facts.yaml"], as_of="2026-11-27T12:00:00Z")  # doctest: +SKIP
>>> result.to_json()                                               # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from policyengine.compile.compiler import CompiledPolicy, RulePack, compile_policy
from policyengine.diagnostics import Diagnostic, InputError, as_errors
from policyengine.engine import Backend, get_backend
from policyengine.lifecycle import fork_safe
from policyengine.load.packaged import data_dir
from policyengine.model.json_report import ABSENT, Audit
from policyengine.model.policy import Policy
from policyengine.model.results import Evaluation
from policyengine.validation.facts import FactSet, FactSetBuilder, Where, load_facts, parse_instant

if TYPE_CHECKING:
    from policyengine.stream.sharded import ReportSummary

_COMPILE_LOCK = fork_safe(threading.Lock(), 40)  # held across every fork (lifecycle)
# Compiled versions by fingerprint, least recently used first. Bounded: a compiled stage
# owns a durable-rules ruleset, released (weakref finalizer in the adapter) once no cache
# entry and no Engine holds it, so a service loading many versions does not grow forever.
COMPILE_CACHE_SIZE = 32
_COMPILED: OrderedDict[str, CompiledPolicy] = OrderedDict()


def load_rule_packs(directory: str | os.PathLike[str] | None = None) -> list[RulePack]:
    """Every ``*.yaml`` rule pack of a directory (default: the shipped ``rules/``).

    Raises InputError (one located line each) for a pack that fails the rules schema, and
    for a directory that does not exist, is a file, or holds no rule pack: evaluating with
    no rules would decide nothing. Packs are checked against the declared stages when
    compiled with a policy (:func:`compile_versions`).
    """
    from policyengine.load import loader
    from policyengine.validation import schemas

    if directory is not None and os.fspath(directory) == "":  # the OS reads it as "."
        raise InputError.single("rules", "empty path: name a directory of rule packs",
                                code="usage")
    root = Path(directory) if directory is not None else data_dir("rules")
    if not root.exists():
        raise InputError.single(str(root), "no such rule-pack directory", code="load")
    if not root.is_dir():
        raise InputError.single(str(root), "not a directory: rules are read from a "
                                "directory of rule packs (*.yaml)", code="load")
    from policyengine.load.paths import links_out, walked

    packs: list[RulePack] = []
    files, problems = links_out(walked(root, "*.yaml", recursive=False), root)
    for file in files:
        document = loader.load_document(file)
        found = schemas.validate_document(document, "rules")
        if found:
            problems.extend(found)
            continue
        packs.append(RulePack.from_document(document))
    if problems:
        raise InputError(problems)
    if not packs:
        raise InputError.single(str(root), "no rule packs (*.yaml) in this directory: "
                                "nothing would be decided", code="load")
    return packs


def _fingerprint(policy: Policy, packs: Sequence[RulePack]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(policy.data, sort_keys=True, default=str).encode())
    for pack in packs:
        digest.update(json.dumps(pack.rules, sort_keys=True, default=str).encode())
        if pack.extra_fields:  # only what packs declare: the shipped packs' keys stay put
            digest.update(json.dumps(pack.extra_fields, sort_keys=True).encode())
        # compiled rules name their pack file (errors found at run time are located there)
        digest.update(os.fsencode(pack.file))
    return digest.hexdigest()


def _canonical(value: Any) -> bytes:
    """Canonical JSON (sorted keys, dates and decimals as text): the input of a fingerprint."""
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=True,
                      separators=(",", ":")).encode()


def policy_fingerprint(policies: Sequence[Policy]) -> str:
    """SHA-256 (hex) of the content of policy versions: a comment or a key's order does not
    change it, any term, date or version does. The same for any order of ``policies``."""
    texts = sorted(_canonical(policy.data) for policy in policies)
    return hashlib.sha256(b"\n".join(texts)).hexdigest()


def facts_digest(sources: Iterable[str | os.PathLike[str] | Mapping[str, Any]]) -> str | None:
    """SHA-256 (hex) of the input facts: over the sorted SHA-256 digests of each source (a
    file's bytes, a fact dict's canonical JSON), so the order of ``--facts`` does not matter.

    None when a source cannot be read twice or at all (a pipe, ``/dev/stdin``, a missing
    file: the reader then reports it): such an evaluation cannot be replayed.
    """
    parts: list[str] = []
    for source in sources:
        if isinstance(source, Mapping):
            parts.append(hashlib.sha256(_canonical(dict(source))).hexdigest())
            continue
        if not os.path.isfile(source):  # a pipe would be emptied, a FIFO could block
            return None
        try:
            with open(source, "rb") as stream:
                parts.append(hashlib.file_digest(stream, "sha256").hexdigest())
        except OSError:
            return None
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


def compile_versions(
    policies: Sequence[Policy], packs: Sequence[RulePack] | None = None
) -> list[CompiledPolicy]:
    """Compile each version against the rule packs; InputError with located problems.

    Identical policy + rules are compiled once and shared while they stay among the
    ``COMPILE_CACHE_SIZE`` most recently used; older ones are dropped from the cache (and
    their engine rulesets freed once no Engine uses them).
    """
    packs = list(packs) if packs is not None else load_rule_packs()
    compiled: list[CompiledPolicy] = []
    problems: list[Diagnostic] = []
    for policy in policies:
        key = _fingerprint(policy, packs)
        with _COMPILE_LOCK:
            cached = _COMPILED.get(key)
            if cached is not None:
                _COMPILED.move_to_end(key)
        if cached is None:
            try:
                cached = compile_policy(policy, packs, key)
            except InputError as error:
                problems.extend(error.diagnostics)
                continue
            with _COMPILE_LOCK:
                cached = _COMPILED.setdefault(key, cached)
                _COMPILED.move_to_end(key)
                while len(_COMPILED) > COMPILE_CACHE_SIZE:
                    _COMPILED.popitem(last=False)
        compiled.append(cached)
    if problems:
        raise InputError(problems)
    return compiled


def load_policies(path: str | os.PathLike[str]) -> list[Policy]:
    """A policy file or a directory of versions → validated models; InputError if not."""
    from policyengine.validation.policy import check_version_set, load_policy_document, policy_files

    files = policy_files(path)
    if not files:
        raise InputError.single(str(path), "no policy files found", code="load")
    loaded = [load_policy_document(file) for file in files]
    problems = [p for doc in loaded for p in doc.problems if p.severity == "error"]
    if not problems and len(loaded) > 1:
        problems = check_version_set(loaded)
    if problems:
        raise InputError(problems)
    return [doc.policy for doc in loaded if doc.policy is not None]


def parse_as_of(value: str | float | dt.datetime | None, name: str = "as_of") -> float:
    """An instant: ISO text with offset, aware datetime, epoch, or None (now).

    ``name`` is what the caller calls the value: the API's parameter (``as_of``,
    ``opened_at``) or the CLI's option (``--as-of``); a bad value raises InputError located
    at ``name``, e.g. ``as_of:0:0: $: as_of '2026-11-27T12:00:00' has no offset; ...``.
    """
    word = name.lstrip("-")
    if value is None:
        return dt.datetime.now(dt.UTC).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) or \
            isinstance(value, dt.datetime):
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise InputError.single(name, f"{word} needs a timezone offset", code="usage")
            epoch = value.timestamp()
        else:
            epoch = float(value)
        _check_epoch(epoch, name, word)
        return epoch
    if not isinstance(value, str):
        raise TypeError(f"{word}: expected an ISO 8601 timestamp with an offset, an aware "
                        f"datetime or epoch seconds, got {type(value).__name__}")
    try:
        return parse_instant(value, word)
    except Exception as error:
        raise InputError.single(name, str(error), code="usage") from None


def _check_epoch(epoch: float, name: str, word: str) -> None:
    """An instant given as a number or datetime: within the supported years (1971-2199,
    as for text) and not finer than a microsecond is kept; InputError located at ``name``."""
    from policyengine.clocks.timeutil import FIRST_YEAR, LAST_YEAR

    low = dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.UTC).timestamp()
    high = dt.datetime(LAST_YEAR + 1, 1, 1, tzinfo=dt.UTC).timestamp()
    if not low <= epoch < high:  # also NaN
        raise InputError.single(name, f"{word} {epoch!r} (epoch seconds) is outside the "
                                f"supported years {FIRST_YEAR}-{LAST_YEAR}", code="usage")


@dataclass(frozen=True)
class Due:
    """When a ticket of a severity, opened at an instant, is due.

    The fields after ``policy_version`` are in :meth:`to_dict` only when they apply
    (otherwise ABSENT): ``region`` when one was given; ``response_at_risk`` and
    ``resolution_at_risk`` when the policy has at-risk thresholds (the instant from which
    the target is at risk; None without a target or threshold); ``update_due`` and
    ``update_at_risk`` when the severity has a periodic update target (from the last
    update given, or None when none was given).
    """

    severity: int
    opened_at: str
    response_due: str | None
    resolution_due: str | None
    policy_version: str
    region: str | None | Any = ABSENT
    response_at_risk: str | None | Any = ABSENT
    resolution_at_risk: str | None | Any = ABSENT
    update_due: str | None | Any = ABSENT
    update_at_risk: str | None | Any = ABSENT

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not ABSENT}


class Engine:
    """A compiled policy (one or more effective-dated versions), ready to evaluate.

    Thread-safe: evaluations share nothing mutable; the durable-rules back-end serialises
    its own calls and deletes every session it opens.
    """

    def __init__(self, versions: Sequence[CompiledPolicy], backend: Backend | None = None,
                 *, declared_fields: Iterable[str] = ()):
        if not versions:
            raise ValueError("an Engine needs at least one policy version")
        self.versions = list(versions)
        self.backend = backend or get_backend("auto")
        # `type.field` of extra fields the rule packs declare: not reported as unknown
        self.declared_fields = tuple(sorted(set(declared_fields)))
        # the audit trail's fingerprints (every version is compiled with the same packs;
        # should they differ, the fingerprint covers each set once)
        self.policy_sha256 = policy_fingerprint([v.policy for v in self.versions])
        packs = sorted({v.rules_sha256 for v in self.versions})
        self.rules_sha256 = packs[0] if len(packs) == 1 else hashlib.sha256(
            "\n".join(packs).encode()).hexdigest()

    def audit(self, facts_sha256: str | None, months: Sequence[str] | None) -> Audit:
        """What a report's ``decision`` header is made of, for these facts and months."""
        return Audit(self.policy_sha256, self.rules_sha256, facts_sha256,
                     tuple(months) if months is not None else None)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        rules: str | os.PathLike[str] | None = None,
        backend: str = "auto",
    ) -> Engine:
        """Load, validate and compile a policy file or version directory."""
        policies = load_policies(path)
        packs = load_rule_packs(rules)
        return cls(compile_versions(policies, packs), get_backend(backend),
                   declared_fields=declared_fields(packs))

    @property
    def policies(self) -> list[Policy]:
        return [v.policy for v in self.versions]

    @property
    def fact_types(self) -> tuple[str, ...]:
        """Extra fact types the policy versions declare (``spec.fact_types``)."""
        return tuple(sorted({t for v in self.versions for t in v.policy.fact_types}))

    @property
    def _allowed(self) -> tuple[str, ...]:
        """What fact loading accepts beyond the standard: types, and declared fields."""
        return (*self.fact_types, *self.declared_fields)

    @property
    def timezone(self) -> str:
        return min(self.versions, key=lambda v: v.policy.effective_from).policy.timezone

    def evaluate(
        self,
        facts: FactSet | str | os.PathLike[str]
        | Iterable[str | os.PathLike[str] | Mapping[str, Any]],
        *,
        as_of: str | float | dt.datetime | None = None,
        months: Sequence[str] | str | None = None,
        strict: bool = False,
        progress: Callable[[str, int, int | None], None] | None = None,
    ) -> Evaluation:
        """Evaluate facts (a FactSet, one fact file, fact files, or fact dicts) at ``as_of``.

        ``progress(stage, done, total)``, when given, is called as facts are read (stages
        ``"bytes"``: bytes of the files read, of their total size or None; ``"facts"``:
        facts read, total None) and as the evaluation's stages are done (``"stages"``:
        done of 4).
        ``strict``: warnings about the facts (an unknown field, a zero-length window) are
        raised as errors (InputError) instead of returned in ``Evaluation.warnings``.
        TypeError when ``facts`` is none of these. The result's ``audit`` holds the
        fingerprints of its ``decision`` header; the facts' digest is the FactSet's
        ``sha256`` (:func:`facts_from_dicts` sets it) or that of the files or dicts given
        (:func:`facts_digest`).
        """
        from policyengine.evaluate.evaluator import evaluate_facts
        from policyengine.evaluate.perf import paused_gc

        instant = parse_as_of(as_of)
        month_list = parse_months(months) if months is not None else None
        with paused_gc():
            if isinstance(facts, FactSet):
                fact_set, digest = facts, facts.sha256
            else:
                sources = fact_sources(facts)
                digest = facts_digest(sources)
                fact_set = load_facts(sources, allow_types=self._allowed, progress=progress)
            if strict and fact_set.warnings:
                raise InputError(as_errors(fact_set.warnings))
            evaluation = evaluate_facts(self.versions, fact_set, as_of=instant,
                                        backend=self.backend, months=month_list,
                                        progress=progress)
        evaluation.audit = self.audit(digest, month_list)
        return evaluation

    def write_json(
        self,
        facts: Iterable[str | os.PathLike[str] | Mapping[str, Any]],
        out: TextIO | Callable[[Iterator[str]], None],
        *,
        as_of: str | float | dt.datetime | None = None,
        months: Sequence[str] | str | None = None,
        workers: int = 1,
        shards: int | None = None,
        strict: bool = False,
        progress: Callable[[str, int, int | None], None] | None = None,
    ) -> ReportSummary:
        """Evaluate fact files into the JSON report, streamed: for sets too big to hold.

        Writes exactly what ``evaluate(...).to_json()`` gives, to ``out`` (a text stream,
        or a callable that takes the report's pieces), but keeps only one customer shard
        in memory at a time, and with ``workers`` > 1 evaluates shards in that many forked
        processes (from any thread: the library's locks are held across the fork; the
        workers die with this process and are killed when an exception, such as
        ``KeyboardInterrupt``, ends the wait; the shard files are removed). ``shards``
        defaults to one per ~8 MB of input (at least four per worker). Nothing is written
        when the input is bad (with ``strict``, warnings are bad input too). Returns the
        policies used, warnings, outcomes and the report's ``decision`` header.
        ``progress(stage, done, total)`` is called as facts are read (stages ``"bytes"`` and
        ``"facts"``, as :meth:`evaluate` calls it, by the parallel NDJSON readers too) and
        shards evaluated (``"shards"``; ``"stages"`` when it falls back to memory).
        """
        from policyengine.evaluate.evaluator import evaluate_facts
        from policyengine.evaluate.perf import paused_gc
        from policyengine.stream.sharded import (
            ReportSummary,
            Unshardable,
            evaluation_rows,
            evaluation_stats,
            write_json,
        )

        instant = parse_as_of(as_of)
        month_list = parse_months(months) if months is not None else None
        write = out if callable(out) else out.writelines
        sources = fact_sources(facts)  # read twice when it falls back: not an iterator
        audit = self.audit(facts_digest(sources), month_list)
        with paused_gc():
            try:
                return write_json(self.versions, sources, write, as_of=instant,
                                  backend=self.backend, months=month_list,
                                  allow_types=self._allowed, workers=workers,
                                  shards=shards, strict=strict, audit=audit,
                                  progress=progress)
            except Unshardable:
                pass  # e.g. an error only evaluation finds: report it as in memory
            fact_set = load_facts(sources, allow_types=self._allowed, progress=progress)
            if strict and fact_set.warnings:
                raise InputError(as_errors(fact_set.warnings))
            evaluation = evaluate_facts(self.versions, fact_set, as_of=instant,
                                        backend=self.backend, months=month_list,
                                        progress=progress)
            evaluation.audit = audit
            write(evaluation.iter_json())
            counts: dict[str, int] = {}
            for finding in evaluation.findings:
                counts[finding.outcome] = counts.get(finding.outcome, 0) + 1
            stats = evaluation_stats(evaluation)
            return ReportSummary(
                policies=evaluation.policies, warnings=evaluation.warnings,
                outcomes=set(counts), facts=fact_set.count(),
                shards=0, workers=1, rows=evaluation_rows(evaluation),
                decision=evaluation.decision(), outcome_counts=dict(sorted(counts.items())),
                customers=stats.customers, periods_missed=stats.missed,
                periods_provisional=stats.provisional, credits=stats.credits,
                credits_by_status=stats.credits_by_status,
            )

    def due(self, severity: int, opened_at: str | float | dt.datetime, *,
            region: str | None = None,
            last_update_at: str | float | dt.datetime | None = None) -> Due:
        """Due instants for a new ticket of ``severity`` opened at ``opened_at``.

        ``region``: the customer's support region, for targets on a regional calendar
        (None: its default). ``last_update_at``: the ticket's first response or latest
        update, from which the next periodic update falls due. At-risk instants come with
        a policy that has at-risk thresholds (see :class:`Due`). InputError (code usage)
        for a severity the policy does not define, a region its regional calendars do not
        name, or an instant past the last year a calendar indexes (located at
        ``opened-at``, or ``last-update-at`` for the update instants).
        """
        from policyengine.clauses.values import UnknownRegion, at_risk, due, values_of
        from policyengine.clocks import timeutil
        from policyengine.evaluate.evaluator import VersionSet

        opened = parse_as_of(opened_at, "opened_at")
        last = parse_as_of(last_update_at, "last_update_at") if last_update_at is not None \
            else None
        version = VersionSet(self.versions).at(opened, "opened_at")
        if last is not None and last < opened:  # as a fact's update before opened_at
            tz = version.policy.timezone
            raise InputError.single("last-update-at", f"last-update-at "
                                    f"{timeutil.iso(last, tz)} is before opened-at "
                                    f"{timeutil.iso(opened, tz)}: a ticket's first response "
                                    "or update comes after it was opened", code="usage")
        values = values_of(version.policy)
        clause = values.severities.get(severity)
        if clause is None:
            levels = sorted(values.severities)
            raise InputError.single("severity", f"severity {severity} is not defined by "
                                    f"{version.policy.label} (levels: {levels})", code="usage")
        tz = version.policy.timezone

        def iso(instant: float | None) -> str | None:
            return timeutil.iso(instant, tz) if instant is not None else None

        extra: dict[str, Any] = {}
        if region is not None:
            if region not in values.regions:
                known = ", ".join(sorted(values.regions))
                raise InputError.single("region", f"policy {version.policy.label} names no "
                                        f"support region {region!r} (regions: "
                                        f"{known or 'none: it has no regional calendars'})",
                                        code="usage")
            extra["region"] = region

        policy = version.policy

        def place(what: str, where: str, instant: Callable[..., float | None],
                  target: Mapping[str, Any] | None, start: float) -> str | None:
            """``instant(policy, target, start, region=...)`` as ISO text; past the last
            year a calendar indexes, a usage error at the option the instant runs from
            (never a traceback)."""
            try:
                placed = instant(policy, target, start, region=region)
            except UnknownRegion as error:  # pragma: no cover - every map names the regions
                raise InputError.single("region", str(error), code="usage") from None
            except ValueError as error:  # past the calendar's last supported year
                raise InputError.single(where, f"the {what} cannot be placed: {error}",
                                        code="usage") from None
            text = iso(placed)
            if text is not None and int(text[:4]) > timeutil.LAST_YEAR:
                # the answer itself must be an instant facts may hold (1971-2199)
                raise InputError.single(where, f"the {what} cannot be placed: it falls at "
                                        f"{text}, after the supported years "
                                        f"{timeutil.FIRST_YEAR}-{timeutil.LAST_YEAR}",
                                        code="usage")
            return text

        result = {name: place(f"{name} target", "opened-at", due, clause.terms.get(name),
                              opened)
                  for name in ("response", "resolution")}
        if values.uses_at_risk:
            for name in ("response", "resolution"):
                extra[f"{name}_at_risk"] = place(f"{name} at-risk instant", "opened-at",
                                                 at_risk, clause.terms.get(name), opened)
        update = clause.terms.get("update")
        if update or last is not None:
            # the next update falls due from the last update given (none given: unknown)
            extra["update_due"] = place("update target", "last-update-at", due, update,
                                        last) if update and last is not None else None
            if values.uses_at_risk:
                extra["update_at_risk"] = place(
                    "update at-risk instant", "last-update-at", at_risk, update, last) \
                    if update and last is not None else None
        return Due(severity, timeutil.iso(opened, tz), result["response"], result["resolution"],
                   version.policy.version, **extra)


def parse_months(value: Sequence[str] | str, name: str = "months") -> list[str]:
    """``YYYY-MM`` or ``YYYY-MM..YYYY-MM`` (or a list of months) → every month listed.

    ``name`` is the parameter (``months``) or CLI option (``--months``) a bad value is
    reported at: InputError ``months:0:0: $: months '2026-13' is not a month that exists``.
    """
    from policyengine.clocks.timeutil import months_between
    from policyengine.validation.facts import FieldError, parse_month

    word = name.lstrip("-")
    items = [value] if isinstance(value, str) else list(value)
    months: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{word}: expected YYYY-MM text or a list of it, "
                            f"got {type(item).__name__}")
        first, dots, last = item.partition("..")
        try:
            first = parse_month(first.strip(), name)
            last = parse_month(last.strip(), name) if dots else first
        except FieldError as error:
            raise InputError.single(name, str(error), code="usage") from None
        if last < first:
            raise InputError.single(name, f"range {item!r} ends before it starts",
                                    code="usage")
        months.extend(months_between(first, last))
    return sorted(set(months))


def fact_sources(
    facts: str | os.PathLike[str] | Iterable[str | os.PathLike[str] | Mapping[str, Any]],
) -> list[str | os.PathLike[str] | Mapping[str, Any]]:
    """One fact file (a path) or an iterable of paths and fact dicts, as a list.

    TypeError for anything else (bytes, a number, a single dict: give ``[fact]``).
    """
    if isinstance(facts, str | os.PathLike):
        return [facts]
    if isinstance(facts, bytes | Mapping) or not isinstance(facts, Iterable):
        raise TypeError(f"facts: expected a path, a list of paths or fact dicts, or a "
                        f"FactSet, got {type(facts).__name__}")
    return list(facts)


def declared_fields(packs: Iterable[RulePack]) -> list[str]:
    """``type.field`` for each extra field rule packs declare (``extra_fields``), named by
    the input record that carries it (a pack's ``window: [region]`` is ``downtime.region``).
    """
    from policyengine.compile.stages import FACT_TYPES

    out = []
    for pack in packs:
        for fact_type, names in pack.extra_fields.items():
            spec = FACT_TYPES.get(fact_type)
            record = spec.extras_from if spec is not None and spec.extras_from else fact_type
            out.extend(f"{record}.{name}" for name in names)
    return sorted(set(out))


def facts_from_dicts(
    items: Iterable[Mapping[str, Any]], allow_types: Iterable[str] = ()
) -> FactSet:
    """Build a FactSet from plain dicts (e.g. a service's own records)."""
    builder = FactSetBuilder(allow_types)
    kept = list(items)
    for index, item in enumerate(kept):
        builder.add(item, Where("<api>", 0, 0, index))
    fact_set = builder.finish()
    fact_set.sha256 = facts_digest(kept)
    return fact_set
