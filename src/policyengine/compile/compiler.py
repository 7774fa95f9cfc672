"""Compile rule packs plus a policy's terms into durable-rules rulesets.

A rule in ``rules/*.yaml`` is a template: it is compiled once per policy clause of its
``for_clause`` kind, with ``{term: path}`` read from that clause. The result, per stage,
is plain durable-rules JSON (``{rule_name: {"all": [...], "run": rule_name}}``) plus the
effects each rule has when it fires. Both engine back-ends run the same compiled JSON.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from policyengine.clauses.words import plain_number
from policyengine.clocks.durations import duration_seconds, is_duration
from policyengine.compile import stages as declared
from policyengine.compile.packcheck import (
    FIELD_PLACEHOLDER,
    TERM_PLACEHOLDER,
    FactView,
    PackProblem,
    check_field,
    check_pack,
    engine_limit_problem,
    json_path,
    pack_set_problems,
    rule_views,
    value_kind_problem,
)
from policyengine.diagnostics import Diagnostic, InputError
from policyengine.model.policy import Clause, Policy

SINK_PREFIX = "sink:"
COMBINE_MODES = ("unique", "max", "min", "all", "any")
_COMPARATORS = {"ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
_NEVER = "\u0000never"  # a value no fact carries: an empty `in` list matches nothing


@dataclass(frozen=True)
class FactRef:
    """A value read from a bound fact when the rule fires: ``{fact: alias.field}``."""

    alias: str
    field: str


@dataclass(frozen=True)
class SetEffect:
    """``set`` effect: decide ``field`` of the subject fact bound to ``alias``."""

    alias: str
    field: str
    value: Any  # a literal or a FactRef
    combine: str = "unique"


@dataclass(frozen=True)
class CompiledRule:
    """One rule instantiated for one clause."""

    name: str  # engine rule name, unique in its stage
    rule_id: str  # pack.rule
    clause_id: str
    stage: str
    aliases: tuple[str, ...]
    conditions: tuple[Mapping[str, Any], ...]  # durable-rules `all` list, one per alias
    sets: tuple[SetEffect, ...]
    subject: str | None
    outcome: str | None
    message: str | None
    # where the rule is written, for messages: (pack file, line, column, JSON path) of its
    # ``when``
    origin: tuple[str, int, int, str] = ("", 0, 0, "$")

    @cached_property
    def alias_types(self) -> tuple[str, ...]:
        """The fact type each alias requires, in declaration order."""
        return tuple(required_type(spec) for c in self.conditions for spec in c.values())

    @cached_property
    def join_plan(self) -> tuple[AliasPlan, ...]:
        """How the rule's aliases bind facts, for bounding its work by the data
        (:mod:`policyengine.engine.bounds`): per alias in order, its fact type, the part of
        its condition that tests the fact alone (None: nothing), and its first equality join
        to an earlier alias (all its equalities with that alias)."""
        plan = []
        for item in self.conditions:
            ((alias, spec),) = item.items()
            plan.append(AliasPlan(alias, required_type(spec), own_condition(spec),
                                  equality_join(spec) if plan else None))
        return tuple(plan)


@dataclass(frozen=True)
class AliasPlan:
    """One alias of a compiled rule: ``join`` is ``((field, ...), earlier alias, (its
    field, ...))``, the equalities with the first alias it joins."""

    alias: str
    type: str
    own: Any
    join: tuple[tuple[str, ...], str, tuple[str, ...]] | None


@dataclass(frozen=True, eq=False)
class CompiledStage:
    """All rules of one stage for one policy version."""

    name: str
    rules: tuple[CompiledRule, ...]
    fact_types: frozenset[str]

    @property
    def fields(self) -> frozenset[str]:
        """Every fact field a rule of this stage reads (conditions, effects, messages).

        The durable-rules back-end sends only these (plus ``type`` and ``key``): facts
        travel to the engine and back as JSON, so smaller facts are faster.
        """
        cached = self.__dict__.get("_fields")
        if cached is None:
            found = {"type", "key"}
            for rule in self.rules:
                for condition in rule.conditions:
                    for spec in condition.values():
                        _collect_fields(spec, found)
                for effect in rule.sets:
                    if isinstance(effect.value, FactRef):
                        found.add(effect.value.field)
                found.update(m.group(2) for m in FIELD_PLACEHOLDER.finditer(rule.message or ""))
            cached = frozenset(found)
            object.__setattr__(self, "_fields", cached)
        return cached

    def rule(self, name: str) -> CompiledRule:
        return self._by_name[name]

    @property
    def _by_name(self) -> dict[str, CompiledRule]:
        cache = self.__dict__.get("_cache")
        if cache is None:
            cache = {r.name: r for r in self.rules}
            object.__setattr__(self, "_cache", cache)
        return cache

    def durable_definition(self) -> dict[str, dict[str, Any]]:
        """The ruleset as durable-rules JSON: ``{rule name: {"all": [conditions]}}``.

        durable-rules reports a batch with a fact that matches no rule as "not handled" and
        then hands back no usable session state, so every fact type the stage receives gets
        a sink rule that matches any fact of the type. (A sink that never fires, a join
        waiting for a fact that never comes, corrupts the heap when the session is deleted.)
        Back-ends skip sink firings.
        """
        definition = {r.name: {"all": [dict(c) for c in r.conditions]} for r in self.rules}
        for fact_type in sorted(self.fact_types):
            definition[f"{SINK_PREFIX}{fact_type}"] = {"all": [{"m": {"type": fact_type}}]}
        return definition


@dataclass(frozen=True, eq=False)
class CompiledPolicy:
    """Every stage of a policy version, ready to run.

    ``packs`` are the rule packs it was compiled with and ``variants`` the versions of it
    resolved for an offering and a customer's overrides, compiled on first use
    (:mod:`policyengine.evaluate.variants`).
    """

    policy: Policy
    stages: Mapping[str, CompiledStage]
    fingerprint: str
    rules_sha256: str = ""  # the rule packs' content (rules_fingerprint): the audit trail
    packs: tuple[Any, ...] = field(default=(), repr=False)
    variants: dict[str, Any] = field(default_factory=dict, repr=False)

    def stage(self, name: str) -> CompiledStage:
        return self.stages.get(name) or CompiledStage(name, (), frozenset())


class _RuleError(Exception):
    """A compile problem inside one rule; turned into a Diagnostic with its location."""

    def __init__(self, message: str, path: Sequence[str | int] = (), hint: str = ""):
        super().__init__(message)
        self.path = tuple(path)
        self.hint = hint


def rules_fingerprint(packs: Sequence[RulePack]) -> str:
    """SHA-256 (hex) of the content of rule packs (name, rules and declared extra fields):
    canonical JSON, so comments and key order do not change it; the order of packs neither."""
    import hashlib
    import json

    texts = sorted(json.dumps({"name": p.name, "rules": list(p.rules),
                               "extra_fields": dict(p.extra_fields)}, sort_keys=True,
                              default=str, ensure_ascii=True, separators=(",", ":")).encode()
                   for p in packs)
    return hashlib.sha256(b"\n".join(texts)).hexdigest()


def engine_value(value: Any) -> Any:
    """A term as the engine sees it: durations in seconds, decimals as numbers."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if is_duration(value):
        return duration_seconds(value)
    if isinstance(value, list):
        return [engine_value(v) for v in value]
    return value


def display_term(value: Any) -> str:
    """A term as a person reads it in a message."""
    if isinstance(value, list):
        return ", ".join(display_term(v) for v in value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() \
            else plain_number(value)
    return plain_number(value)


class _ClauseCompiler:
    """Compiles one rule template against one clause."""

    def __init__(self, rule: Mapping[str, Any], clause: Clause, pack: str,
                 views: Mapping[str, FactView] | None = None):
        self.rule = rule
        self.clause = clause
        self.pack = pack
        self.aliases: list[str] = list(rule["when"])
        self.views = views or {}  # alias -> what its facts carry (checks inlined conditions)

    # values ------------------------------------------------------------------------
    def term(self, path: str, where: Sequence[str | int]) -> Any:
        try:
            return self.clause.term(path)
        except KeyError:
            raise _RuleError(
                f"clause {self.clause.id!r} has no term {path!r}", where
            ) from None

    def value(self, raw: Any, alias: str, where: Sequence[str | int],
              field_name: str | None = None) -> Any:
        """Compile a condition value: literal, {term: p} or {fact: alias.field}.

        A term compared with ``field_name`` (not with ``in``/``not_in``) must be one value of
        the field's declared kind: a list, or text against a number, was decided by the
        Python back-end and refused by durable-rules ("error code 102", rule fuzzer seed 1
        case 2065), so both refuse it here, located at the rule."""
        if isinstance(raw, Mapping) and set(raw) == {"term"}:
            found = self.term(raw["term"], where)
            if isinstance(found, Mapping):  # a condition or a group: no value to compare with
                raise _RuleError(
                    f"term {raw['term']!r} of clause {self.clause.id!r} is a condition or a "
                    "group of terms, not a value: compare with one of its terms, or apply a "
                    "condition with 'where'", where)
            value = engine_value(found)
            if field_name is not None:
                self.one_value_of_kind(raw["term"], value, alias, field_name, where)
            return value
        if isinstance(raw, Mapping) and set(raw) == {"fact"}:
            ref = self.fact_ref(raw["fact"], where)
            if ref.alias == alias:
                return {"$m": ref.field}
            if self.aliases.index(ref.alias) > self.aliases.index(alias):
                raise _RuleError(
                    f"'{raw['fact']}' joins to alias {ref.alias!r}, which is declared later",
                    where,
                )
            return {ref.alias: ref.field}
        if isinstance(raw, Mapping | list):
            raise _RuleError("expected a literal, {term: path} or {fact: alias.field}", where)
        return engine_value(raw)

    def one_value_of_kind(self, term: str, value: Any, alias: str, field_name: str,
                          where: Sequence[str | int]) -> None:
        """Raise when a term's value cannot be compared with ``field_name`` of ``alias``."""
        if isinstance(value, list):
            raise _RuleError(
                f"term {term!r} of clause {self.clause.id!r} is a list, not one value: "
                "compare with 'in' or 'not_in'", where)
        view = self.views.get(alias)
        kind = declared.field_kind(view.type, field_name) if view is not None else None
        found = declared.kind_of_value(value)
        if kind is not None and found is not None and found != kind:
            raise _RuleError(
                f"{field_name!r} of {view.type} facts is {declared.a_kind(kind)}, but term "
                f"{term!r} of clause {self.clause.id!r} is {declared.a_kind(found)} "
                f"({plain_number(value)}): they cannot be compared", where)

    def fact_ref(self, text: str, where: Sequence[str | int]) -> FactRef:
        alias, _, field_name = str(text).partition(".")
        if alias not in self.aliases or not field_name:
            raise _RuleError(f"'{text}' does not name a field of a declared alias", where)
        return FactRef(alias, field_name)

    # conditions --------------------------------------------------------------------
    def condition(self, spec: Mapping[str, Any], alias: str, where: Sequence[str | int],
                  inlined: tuple[str, Sequence[str | int]] | None = None) -> Any:
        """Compile a condition mapping to durable JSON; None means 'always true'.

        ``inlined``: the clause term the condition comes from (``where: {term: ...}``) and
        where that ``where`` is; its fields are checked against what the alias's facts carry.
        """
        parts: list[Any] = []
        for key, raw in spec.items():
            at = (*where, key)
            if inlined and key not in ("all", "any") and alias in self.views:
                term, located = inlined
                try:
                    check_field(self.views[alias], key, located, f"term {term!r} of clause "
                                f"{self.clause.id!r} tests a field: ")
                except PackProblem as problem:
                    raise _RuleError(problem.message, located, problem.hint) from None
            if key in ("all", "any"):
                subs = [self.condition(s, alias, (*at, i), inlined) for i, s in enumerate(raw)]
                if key == "all":
                    parts.extend(s for s in subs if s is not None)
                elif any(s is None for s in subs) or not subs:
                    if not subs:
                        parts.append({"$and": [{"type": _NEVER}]})
                else:
                    parts.append(subs[0] if len(subs) == 1 else {"$or": subs})
            elif key == "where":
                if not (isinstance(raw, Mapping) and set(raw) == {"term"}):
                    raise _RuleError("'where' takes {term: path} naming a condition", at)
                # its own name: ``inlined`` (the parameter) still holds for the keys after it
                named = self.term(raw["term"], at)
                if not isinstance(named, Mapping):
                    raise _RuleError(f"term {raw['term']!r} is not a condition", at)
                compiled = self.condition(named, alias, at, (raw["term"], at))
                if compiled is not None:
                    parts.append(compiled)
            elif isinstance(raw, Mapping) and len(raw) == 1 and next(iter(raw)) in (
                "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists",
            ):
                (op, operand), = raw.items()
                parts.append(self.comparison(key, op, operand, alias, (*at, op)))
            else:
                parts.append({key: self.value(raw, alias, at, key)})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def comparison(self, field_name: str, op: str, operand: Any, alias: str, at: Sequence) -> Any:
        if op == "exists":
            return {"$ex" if operand else "$nex": {field_name: 1}}
        if op in ("in", "not_in"):
            values = self.value(operand, alias, at) if isinstance(operand, Mapping) else [
                engine_value(v) for v in operand
            ]
            if not isinstance(values, list):
                raise _RuleError(f"'{op}' needs a list", at)
            values = _distinct(values)  # a value listed twice would match (and fire) twice
            if op == "in":
                if not values:
                    return {field_name: _NEVER}
                options = [{field_name: v} for v in values]
                return options[0] if len(options) == 1 else {"$or": options}
            if not values:
                return {"$ex": {field_name: 1}}
            exclusions = [{"$neq": {field_name: v}} for v in values]
            return exclusions[0] if len(exclusions) == 1 else {"$and": exclusions}
        value = self.value(operand, alias, at, field_name)
        if op == "eq":
            return {field_name: value}
        return {_COMPARATORS[op]: {field_name: value}}

    # the whole rule ----------------------------------------------------------------
    def compile(self, name: str,
                origin: tuple[str, int, int, str] = ("", 0, 0, "$")) -> CompiledRule:
        rule = self.rule
        conditions: list[Mapping[str, Any]] = []
        for alias, spec in rule["when"].items():
            where = ("when", alias)
            if not isinstance(spec, Mapping) or "type" not in spec:
                raise _RuleError("each alias needs a fact 'type'", where)
            conditions.append({alias: self.condition(spec, alias, where)})
        then = rule.get("then") or {}
        sets = []
        for i, effect in enumerate(then.get("set") or ()):
            at = ("then", "set", i)
            if effect["subject"] not in self.aliases:
                raise _RuleError(f"subject {effect['subject']!r} is not a declared alias", at)
            raw = effect["value"]
            if isinstance(raw, Mapping) and set(raw) == {"fact"}:
                value: Any = self.fact_ref(raw["fact"], at)
            elif isinstance(raw, Mapping) and set(raw) == {"term"}:
                value = engine_value(self.term(raw["term"], at))
                view = self.views.get(effect["subject"])
                wrong = value_kind_problem(view.type, effect["field"], value) if view else ""
                if wrong:
                    raise _RuleError(wrong, (*at, "value"))
            else:
                value = engine_value(raw)
            combine = effect.get("combine", "unique")
            if combine not in COMBINE_MODES:
                raise _RuleError(f"unknown combine mode {combine!r}", (*at, "combine"))
            sets.append(SetEffect(effect["subject"], effect["field"], value, combine))
        subject = then.get("subject")
        if subject is not None and subject not in self.aliases:
            raise _RuleError(f"subject {subject!r} is not a declared alias", ("then", "subject"))
        message = then.get("message")
        if message:
            message = TERM_PLACEHOLDER.sub(
                lambda m: self.message_term(m.group(1)), str(message)
            )
        return CompiledRule(
            name=name,
            rule_id=f"{self.pack}.{rule['id']}",
            clause_id=self.clause.id,
            stage=rule["stage"],
            aliases=tuple(self.aliases),
            conditions=tuple(conditions),
            sets=tuple(sets),
            subject=subject,
            outcome=then.get("outcome"),
            message=message,
            origin=origin,
        )

    def message_term(self, path: str) -> str:
        value = self.term(path, ("then", "message"))
        if isinstance(value, int | float) and not isinstance(value, bool):
            return display_term(value)
        return display_term(value)  # durations as written in the policy (48h, 60d)


def _terms_match(clause: Clause, wanted: Mapping[str, Any]) -> bool:
    """``if_terms``: compile a rule for a clause only when its terms say so (a value,
    ``{present: bool}``, or ``{not: value}``)."""
    for path, expected in wanted.items():
        if isinstance(expected, Mapping) and set(expected) == {"present"}:
            if clause.has_term(path) != bool(expected["present"]):
                return False
            continue
        if isinstance(expected, Mapping) and set(expected) == {"not"}:
            try:
                if clause.term(path) == expected["not"]:
                    return False
            except KeyError:
                pass  # an absent term has no value, so not that one
            continue
        try:
            if clause.term(path) != expected:
                return False
        except KeyError:
            return False
    return True


@dataclass(frozen=True)
class RulePack:
    """A loaded rule-pack document."""

    name: str
    file: str
    rules: tuple[Mapping[str, Any], ...]
    locate: Any = None  # Document.locate, for diagnostics
    locate_key: Any = None  # Document.key_position: where a misspelled name is
    # fields beyond the standard ones its rules read, by fact type (see compile.packcheck)
    extra_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Any) -> RulePack:
        """A pack from a loaded document (``load.loader.Document``) that passed its schema."""
        data = document.data
        extra = data.get("extra_fields") or {}
        return cls(name=data["metadata"]["name"], file=document.file,
                   rules=tuple(data["rules"]), locate=document.locate,
                   locate_key=getattr(document, "key_position", None),
                   extra_fields={t: tuple(names) for t, names in extra.items()})


def compile_policy(policy: Policy, packs: Iterable[RulePack], fingerprint: str) -> CompiledPolicy:
    """Compile every rule of every pack against a policy; raises InputError with locations."""
    packs = tuple(packs)  # read twice: the rules, then their fingerprint
    stages: dict[str, list[CompiledRule]] = {}
    fact_types: dict[str, set[str]] = {}
    problems: list[Diagnostic] = []
    too_large_rules: set[tuple[str, int]] = set()
    problems.extend(pack_set_problems(packs))  # two packs of one name: their ids clash
    for pack in packs:
        # stages, fact types and fields against compile.stages: never a rule deciding nothing
        found, bad = check_pack(pack, policy.fact_types)
        problems.extend(found)
        for index, rule in enumerate(pack.rules):
            if index in bad:
                continue
            views = None
            origin: tuple[str, int, int, str] | None = None
            for clause in policy.clauses_of(rule["for_clause"]):
                if not _terms_match(clause, rule.get("if_terms") or {}):
                    continue
                name = f"{pack.name}.{rule['id']}@{clause.id}"
                if views is None:
                    views = rule_views(rule, pack.extra_fields, policy.fact_types)
                if origin is None:
                    at = ("rules", index, "when")
                    origin = (pack.file, *(pack.locate(at) if pack.locate else (0, 0)),
                              json_path(at))
                try:
                    compiled = _ClauseCompiler(rule, clause, pack.name, views).compile(
                        name, origin)
                except _RuleError as error:
                    where = ("rules", index, *error.path)
                    line, column = pack.locate(where) if pack.locate else (0, 0)
                    problems.append(
                        Diagnostic(
                            file=pack.file,
                            line=line,
                            column=column,
                            path=json_path(where),
                            message=f"{error} (compiling for clause {clause.id!r} of "
                            f"{policy.file or policy.label})",
                            code="compile",
                            hint=error.hint,
                        )
                    )
                    continue
                too_large = engine_limit_problem(compiled.conditions)
                if too_large is not None and (pack.file, index) in too_large_rules:
                    continue  # one line per rule: the first clause it is too large for
                if too_large is not None:
                    too_large_rules.add((pack.file, index))
                    alias, message = too_large
                    where = ("rules", index, "when", alias)
                    line, column = pack.locate(where) if pack.locate else (0, 0)
                    problems.append(Diagnostic(
                        file=pack.file, line=line, column=column, path=json_path(where),
                        message=f"{message} (compiling for clause {clause.id!r} of "
                        f"{policy.file or policy.label})", code="compile",
                        hint="write the condition with fewer any/all groups and shorter "
                        "in lists, or split it into several rules"))
                    continue
                stages.setdefault(compiled.stage, []).append(compiled)
                fact_types.setdefault(compiled.stage, set()).update(
                    t for t in compiled.alias_types if t and t != _NEVER)
    if not problems:  # a refused rule would add a clause it no longer decides: said once
        problems.extend(_undecided_clauses(policy, packs, stages))
    if problems:
        raise InputError(problems)
    return CompiledPolicy(
        rules_sha256=rules_fingerprint(packs),
        policy=policy,
        stages={
            name: CompiledStage(name, tuple(rules), frozenset(fact_types.get(name, ())))
            for name, rules in stages.items()
        },
        fingerprint=fingerprint,
        packs=tuple(packs),
    )


def _undecided_clauses(policy: Policy, packs: Sequence[RulePack],
                       stages: Mapping[str, list[CompiledRule]]) -> list[Diagnostic]:
    """An error for each clause, of a kind decided by rules, that no rule of ``packs`` was
    compiled for: its terms would decide nothing (a ``--rules`` directory holding only
    notices.yaml evaluated every month as not covered, exit 0). Located at the clause's
    ``kind`` in the policy file (``FILE:0:0`` when the policy has no readable file)."""
    from policyengine.compile.stages import READ_WITHOUT_RULES

    decided = {rule.clause_id for rules in stages.values() for rule in rules}
    missing = [c for c in policy.clauses
               if c.kind not in READ_WITHOUT_RULES and c.id not in decided]
    if not missing:
        return []
    for_kind: dict[str, int] = {}
    for pack in packs:
        for rule in pack.rules:
            kind = str(rule.get("for_clause"))
            for_kind[kind] = for_kind.get(kind, 0) + 1
    locate = _policy_locator(policy)
    where = ", ".join(sorted({os.path.dirname(p.file) or "." for p in packs})) or "none"
    problems = []
    for clause in missing:
        at = (*clause.path, "kind")
        line, column = locate(at)
        count = for_kind.get(clause.kind, 0)
        why = (f"the rule packs ({where}) have no rule for_clause {clause.kind}" if not count
               else f"none of the {count} rule(s) for_clause {clause.kind} in the rule packs "
               f"({where}) applies to its terms (their if_terms do not match)")
        problems.append(Diagnostic(
            file=policy.file or policy.label, line=line, column=column, path=json_path(at),
            code="undecided", message=f"no rule decides clause {clause.id!r} ({clause.kind}): "
            f"{why}, so it would decide nothing",
            hint="give --rules a directory holding rule packs for every clause kind the "
            "policy uses, e.g. a copy of the shipped rules/ with your packs added"))
    return problems


def _policy_locator(policy: Policy) -> Any:
    """``path -> (line, column)`` in the policy's file; ``(0, 0)`` when it cannot be read."""
    from policyengine.diagnostics import PolicyEngineError
    from policyengine.load.loader import load_document

    try:
        document = load_document(policy.file) if policy.file else None
    except (PolicyEngineError, OSError):
        document = None
    return document.locate if document is not None else (lambda _path: (0, 0))


def _distinct(values: list[Any]) -> list[Any]:
    """``values`` without repeats, in their order (``1`` and ``1.0`` are one value for the
    engines; ``true`` and ``1`` are two)."""
    seen: set[tuple[bool, Any]] = set()
    kept = []
    for value in values:
        key = (type(value) is bool, value)
        try:
            if key in seen:
                continue
            seen.add(key)
        except TypeError:  # not hashable: keep it, the check of its kind reports it
            pass
        kept.append(value)
    return kept


def _collect_fields(spec: Any, found: set[str]) -> None:
    """Field names a compiled durable-rules condition reads, on any alias."""
    if isinstance(spec, list):
        for part in spec:
            _collect_fields(part, found)
        return
    if not isinstance(spec, Mapping):
        return
    for key, value in spec.items():
        if key in ("$and", "$or"):
            _collect_fields(value, found)
        elif key.startswith("$"):
            _collect_fields(value, found)  # {"$lt": {field: operand}} and the like
        else:
            found.add(key)
            if isinstance(value, Mapping):  # {"$m": other} or {alias: other}
                found.update(v for v in value.values() if isinstance(v, str))


def equality_join(spec: Any) -> tuple[tuple[str, ...], str, tuple[str, ...]] | None:
    """The top-level ``field == alias.field`` tests of a compiled alias condition with the
    first alias it joins, as ``((field, ...), alias, (its field, ...))``; None for none."""
    if not isinstance(spec, Mapping):
        return None
    fields: list[str] = []
    others: list[str] = []
    joined = ""
    for part in spec.get("$and", (spec,)):
        if not isinstance(part, Mapping):
            continue
        for key, raw in part.items():
            if key.startswith("$") or not isinstance(raw, Mapping) or len(raw) != 1:
                continue
            ((other, other_field),) = raw.items()
            if other != "$m" and isinstance(other_field, str) and other == (joined or other):
                joined = other
                fields.append(key)
                others.append(other_field)
    return (tuple(fields), joined, tuple(others)) if joined else None


def own_condition(spec: Any) -> Any:
    """A compiled alias condition without the tests that read another alias's fact: what a
    fact must pass on its own (None: anything of its type). A test left out only makes the
    condition wider (an ``$or`` with such a branch is left out whole)."""
    if not isinstance(spec, Mapping):
        return None
    kept: dict[str, Any] = {}
    for key, raw in spec.items():
        if key in ("$and", "$or"):
            parts = [own_condition(part) for part in raw]
            if key == "$or" and (not parts or any(p is None for p in parts)):
                continue
            parts = [p for p in parts if p is not None]
            if parts:
                kept[key] = parts
        elif key in ("$neq", "$lt", "$lte", "$gt", "$gte") and isinstance(raw, Mapping):
            operand = next(iter(raw.values()), None)
            if not (isinstance(operand, Mapping) and set(operand) != {"$m"}):
                kept[key] = raw
        elif key.startswith("$") or not (isinstance(raw, Mapping) and set(raw) != {"$m"}):
            kept[key] = raw
    return kept or None


def required_type(spec: Any) -> str:
    """The fact type a compiled alias condition requires (``""`` when none is given)."""
    if isinstance(spec, Mapping):
        if isinstance(spec.get("type"), str):
            return spec["type"]
        for part in spec.get("$and", ()):
            if isinstance(part, Mapping) and isinstance(part.get("type"), str):
                return part["type"]
    return ""
