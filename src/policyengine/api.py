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


def data_dir(name: str) -> Path:
    """``rules`` or ``schemas``: installed package data, else the repository's top level."""
    packaged = Path(__file__).parent / "_data" / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / name


def load_rule_packs(directory: str | os.PathLike[str] | None = None) -> list[RulePack]:
    """Every ``*.yaml`` rule pack of a directory (default: the shipped ``rules/``).

    Raises InputError (one located line each) for a pack that fails the rules schema, and
    for a directory that does not exist, is a file, or holds no rule pack: evaluating with
    no rules would decide nothing. Packs are checked against the declared stages when
    compiled with a policy (:func:`compile_versions`).
    """
    from policyengine.load import loader
    from policyengine.validation import schemas

    root = Path(directory) if directory is not None else data_dir("rules")
    if not root.exists():
        raise InputError.single(str(root), "no such rule-pack directory", code="load")
    if not root.is_dir():
        raise InputError.single(str(root), "not a directory: rules are read from a "
                                "directory of rule packs (*.yaml)", code="load")
    from policyengine.load.paths import links_out

    packs: list[RulePack] = []
    files, problems = links_out(sorted(root.glob("*.yaml")), root)
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
    return digest.hexdigest()


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
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InputError.single(name, f"{word} needs a timezone offset", code="usage")
        return value.timestamp()
    if not isinstance(value, str):
        raise TypeError(f"{word}: expected an ISO 8601 timestamp with an offset, an aware "
                        f"datetime or epoch seconds, got {type(value).__name__}")
    try:
        return parse_instant(value, word)
    except Exception as error:
        raise InputError.single(name, str(error), code="usage") from None


@dataclass(frozen=True)
class Due:
    """When a ticket of a severity, opened at an instant, is due."""

    severity: int
    opened_at: str
    response_due: str | None
    resolution_due: str | None
    policy_version: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
    ) -> Evaluation:
        """Evaluate facts (a FactSet, one fact file, fact files, or fact dicts) at ``as_of``.

        ``strict``: warnings about the facts (an unknown field, a zero-length window) are
        raised as errors (InputError) instead of returned in ``Evaluation.warnings``.
        TypeError when ``facts`` is none of these.
        """
        from policyengine.evaluate.evaluator import evaluate_facts
        from policyengine.evaluate.perf import paused_gc

        instant = parse_as_of(as_of)
        month_list = parse_months(months) if months is not None else None
        with paused_gc():
            fact_set = facts if isinstance(facts, FactSet) else load_facts(
                fact_sources(facts), allow_types=self._allowed)
            if strict and fact_set.warnings:
                raise InputError(as_errors(fact_set.warnings))
            return evaluate_facts(self.versions, fact_set, as_of=instant,
                                  backend=self.backend, months=month_list)

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
        policies used, warnings and outcomes.
        """
        from policyengine.evaluate.evaluator import evaluate_facts
        from policyengine.evaluate.perf import paused_gc
        from policyengine.stream.sharded import (
            ReportSummary,
            Unshardable,
            evaluation_rows,
            write_json,
        )

        instant = parse_as_of(as_of)
        month_list = parse_months(months) if months is not None else None
        write = out if callable(out) else out.writelines
        sources = fact_sources(facts)  # read twice when it falls back: not an iterator
        with paused_gc():
            try:
                return write_json(self.versions, sources, write, as_of=instant,
                                  backend=self.backend, months=month_list,
                                  allow_types=self._allowed, workers=workers,
                                  shards=shards, strict=strict)
            except Unshardable:
                pass  # e.g. an error only evaluation finds: report it as in memory
            fact_set = load_facts(sources, allow_types=self._allowed)
            if strict and fact_set.warnings:
                raise InputError(as_errors(fact_set.warnings))
            evaluation = evaluate_facts(self.versions, fact_set, as_of=instant,
                                        backend=self.backend, months=month_list)
            write(evaluation.iter_json())
            return ReportSummary(
                policies=evaluation.policies, warnings=evaluation.warnings,
                outcomes={f.outcome for f in evaluation.findings}, facts=fact_set.count(),
                shards=0, workers=1, rows=evaluation_rows(evaluation),
            )

    def due(self, severity: int, opened_at: str | float | dt.datetime) -> Due:
        """Response and resolution due instants for a new ticket of ``severity``."""
        from policyengine.clauses.values import due, values_of
        from policyengine.clocks import timeutil
        from policyengine.evaluate.evaluator import VersionSet

        opened = parse_as_of(opened_at, "opened_at")
        version = VersionSet(self.versions).at(opened, "opened_at")
        severities = values_of(version.policy).severities
        clause = severities.get(severity)
        if clause is None:
            levels = sorted(severities)
            raise InputError.single("severity", f"severity {severity} is not defined by "
                                    f"{version.policy.label} (levels: {levels})", code="usage")
        tz = version.policy.timezone
        result: dict[str, str | None] = {}
        for name in ("response", "resolution"):
            try:
                instant = due(version.policy, clause.terms.get(name), opened)
            except ValueError as error:  # past the calendar's last supported year
                raise InputError.single("opened-at", f"the {name} target cannot be placed: "
                                        f"{error}", code="usage") from None
            result[name] = timeutil.iso(instant, tz) if instant is not None else None
        return Due(severity, timeutil.iso(opened, tz), result["response"], result["resolution"],
                   version.policy.version)


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
    for index, item in enumerate(items):
        builder.add(item, Where("<api>", 0, 0, index))
    return builder.finish()
