"""Check rule packs against the declared stages (:mod:`policyengine.compile.stages`).

A rule that names an unknown stage, matches a fact type its stage never receives, reads a
field those facts never carry (in a condition, a ``{fact: alias.field}`` join, a ``set``
value or a ``{alias.field}`` message placeholder), or sets a field the evaluator never
reads back, would compile and silently decide nothing. Each is reported here as a located
:class:`~policyengine.diagnostics.Diagnostic` with a did-you-mean hint.

**Extension fields.** Standard facts carry the unknown scalar fields of the input record
they come from (``window``: downtime records, ``ticket``: tickets, ``update_request``:
update requests). A rule may read such a field only when its pack declares it
(``extra_fields: {window: [region]}``); otherwise a field no declared fact carries is an
error. Facts of a type the policy declares (``spec.fact_types``) carry whatever fields their
records have: any field may be read, unless the pack lists that type's fields in
``extra_fields``, and then only those (plus ``type`` and ``key``).

Two modes: with ``custom_types`` (compiling against a policy, whose ``spec.fact_types``
are then the only other types allowed), and without (``policyengine validate`` on a rule
pack alone: a type no stage receives is taken for a policy-declared one unless it is a
near miss of a standard type, e.g. ``customer_mnth``).

**Terms.** Every ``{term: path}`` (in a condition, ``where`` or ``set``), ``{term:path}``
message placeholder and ``if_terms`` path must name a term of the rule's ``for_clause``
kind, as its schema in the clause registry declares it (:mod:`policyengine.clauses`);
nested parts are checked as far as the schema lists them. A misspelled ``if_terms`` path
would otherwise never match, and its rule would silently never compile.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from policyengine.clocks.durations import duration_seconds, is_duration
from policyengine.compile import stages as declared
from policyengine.diagnostics import Diagnostic

_HINT_CUTOFF = 0.7  # difflib similarity for "did you mean" (as validation/schemas.py)
_NEAR_MISS = 0.8  # an unknown type this close to a standard one is taken for a typo
_OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists")
# {alias.field} in a message
FIELD_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")
TERM_PLACEHOLDER = re.compile(r"\{term:([A-Za-z0-9_.]+)\}")  # a clause term in a message
_BRACED = re.compile(r"\{[^{}]*\}")  # anything written as a placeholder in a message


class PackLike(Protocol):
    """What the check needs of a rule pack (:class:`~policyengine.compile.compiler.RulePack`)."""

    name: str
    file: str
    rules: tuple[Mapping[str, Any], ...]
    extra_fields: Mapping[str, Sequence[str]]
    locate: Any
    locate_key: Any


@dataclass(frozen=True)
class FactView:
    """What facts of one type look like to the rules of one stage.

    ``fields`` None: any field (a policy-declared type whose fields the pack does not list).
    """

    type: str
    stage: declared.StageSpec
    fields: frozenset[str] | None

    def knows(self, name: str) -> bool:
        return self.fields is None or name in self.fields


class PackProblem(Exception):
    """One problem of a rule pack, at a path inside it, with an optional hint."""

    def __init__(self, path: Sequence[str | int], message: str, hint: str = "",
                 at_key: bool = False):
        super().__init__(message)
        self.path = tuple(path)
        self.message = message
        self.hint = hint
        self.at_key = at_key  # the name at the end of path is wrong: point at the key


def _did_you_mean(name: str, options: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=_HINT_CUTOFF)
    return f"did you mean {close[0]!r}?" if close else ""


def _near_miss(name: str) -> bool:
    return bool(difflib.get_close_matches(name, list(declared.FACT_TYPES), n=1,
                                          cutoff=_NEAR_MISS))


def _declared_extras(extra_fields: Mapping[str, Sequence[str]], fact_type: str) -> frozenset[str]:
    names = extra_fields.get(fact_type) or ()
    return frozenset(n for n in names if isinstance(n, str))


def fact_view(
    fact_type: str,
    stage: declared.StageSpec,
    extra_fields: Mapping[str, Sequence[str]],
    custom_types: Collection[str] | None,
) -> FactView:
    """The view of ``fact_type`` facts in ``stage``; PackProblem (no path) when it has none."""
    if fact_type in stage.receives:
        fields = stage.receives[fact_type]
        if declared.FACT_TYPES[fact_type].extras_from:
            fields = fields | _declared_extras(extra_fields, fact_type)
        return FactView(fact_type, stage, fields)
    custom = (fact_type in custom_types if custom_types is not None
              else fact_type not in declared.FACT_TYPES
              and (fact_type in extra_fields or not _near_miss(fact_type)))
    if custom:
        listed = fact_type in extra_fields
        fields = (_declared_extras(extra_fields, fact_type) | {"type", "key"}) if listed else None
        return FactView(fact_type, stage, fields)
    receives = ", ".join(stage.receives)
    if fact_type in declared.FACT_TYPES:
        elsewhere = [s.name for s in declared.STAGES.values() if fact_type in s.receives]
        raise PackProblem((), f"stage {stage.name} receives no {fact_type} facts (they go to "
                       f"{', '.join(elsewhere)}); it receives: {receives}")
    options = set(stage.receives) | set(custom_types or ())
    message = f"unknown fact type {fact_type!r} in stage {stage.name}; it receives: {receives}"
    if custom_types:
        message += f", and the policy's declared types: {', '.join(sorted(custom_types))}"
    else:
        message += "; a policy may declare other fact types in spec.fact_types"
    hint = _did_you_mean(fact_type, options) or _did_you_mean(fact_type, declared.FACT_TYPES)
    raise PackProblem((), message, hint)


def _article(word: str) -> str:
    """``a`` or ``an`` before ``word`` (by its first letter)."""
    return "an" if word[:1] in "aeiou" else "a"


def _field_problem(view: FactView, name: str, path: Sequence[str | int],
                   what: str = "") -> PackProblem:
    """The error for reading ``name`` of ``view``'s facts (known not to carry it)."""
    fact_type, stage = view.type, view.stage.name
    message = f"{what}unknown field {name!r} of {fact_type} facts in stage {stage}"
    notes: list[str] = []
    decider = declared.deciding_stage(fact_type, name)
    carried_in = [s.name for s in declared.STAGES.values() if name in s.fields_of(fact_type)]
    if decider == stage:
        notes.append("this stage decides it, so its own rules cannot read it")
    elif decider is not None and declared.STAGE_ORDER.index(decider) > \
            declared.STAGE_ORDER.index(stage):
        notes.append(f"it is decided later, in stage {decider}")
    elif decider is not None and not carried_in:
        notes.append(f"it is decided in stage {decider} and not passed on to later stages")
    if carried_in and decider != stage:
        notes.append(f"{fact_type} facts carry it in stage {', '.join(carried_in)}")
    spec = declared.FACT_TYPES.get(fact_type)
    if spec is not None and spec.extras_from and name == "id":
        # the field that carries the record's id (window: downtime; the key is customer/id)
        carrier = next((f for f, field in spec.fields.items()
                        if f != "key" and "record's id" in field.description), "key")
        record = f"{_article(spec.extras_from)} {spec.extras_from} record"
        notes.append(f"{record}'s id reaches the rules as the fact's {carrier}: read {carrier}")
    elif spec is not None and spec.extras_from and name in spec.record_fields:
        record = f"{_article(spec.extras_from)} {spec.extras_from} record"
        notes.append(f"{record}'s {name} is read by the evaluator and never reaches the rules "
                     "under that name (it cannot be an extra field)")
    elif spec is not None and spec.extras_from and name not in declared.standard_fields(
            fact_type):
        notes.append(f"an extra field of {spec.extras_from} records is read only when the "
                     f"pack declares it: extra_fields: {{{fact_type}: [{name}]}}")
    elif spec is None:
        notes.append(f"the pack lists the fields of {fact_type} facts in extra_fields")
    if notes:
        message += "; " + "; ".join(notes)
    return PackProblem(path, message, _did_you_mean(name, view.fields or ()))


def _condition_field(view: FactView, name: str, path: Sequence[str | int]) -> None:
    if not view.knows(name):
        problem = _field_problem(view, name, path)
        problem.at_key = True
        raise problem


def check_field(view: FactView, name: str, path: Sequence[str | int], what: str = "") -> None:
    """Raise :class:`PackProblem` when ``view``'s facts never carry field ``name``."""
    if not view.knows(name):
        raise _field_problem(view, name, path, what)


class _RuleCheck:
    """Every stage/type/field problem of one rule, collected (not stopping at the first)."""

    def __init__(self, rule: Mapping[str, Any], where: Sequence[str | int],
                 extra_fields: Mapping[str, Sequence[str]],
                 custom_types: Collection[str] | None):
        self.rule = rule
        self.where = tuple(where)
        self.extra_fields = extra_fields
        self.custom_types = custom_types
        self.problems: list[PackProblem] = []
        self.views: dict[str, FactView] = {}
        self.aliases: list[str] = []

    def run(self) -> list[PackProblem]:
        rule, at = self.rule, self.where
        stage = declared.STAGES.get(str(rule.get("stage")))
        if stage is None:
            name = rule.get("stage")
            self.problems.append(PackProblem(
                (*at, "stage"),
                f"unknown stage {name!r}; expected one of: {', '.join(declared.STAGE_ORDER)}",
                _did_you_mean(str(name), declared.STAGE_ORDER)))
            return self.problems
        when = rule.get("when")
        if not isinstance(when, Mapping):
            return self.problems
        self.aliases = [str(a) for a in when]
        for alias, spec in when.items():
            if not isinstance(spec, Mapping) or not isinstance(spec.get("type"), str):
                continue  # the schema (or the compiler) reports it
            try:
                self.views[alias] = fact_view(spec["type"], stage, self.extra_fields,
                                              self.custom_types)
            except PackProblem as problem:
                self.problems.append(PackProblem((*at, "when", alias, "type"), problem.message,
                                              problem.hint))
        for alias, spec in when.items():
            if alias in self.views:
                self.condition(spec, self.views[alias], (*at, "when", alias), top=True,
                               alias=str(alias))
        self.joins(when, at)
        then = rule.get("then")
        if isinstance(then, Mapping):
            self.then(then, stage, (*at, "then"))
        return self.problems

    def joins(self, when: Mapping[str, Any], at: tuple[str | int, ...]) -> None:
        """Every alias after the first is joined to an earlier one by an equality.

        Without ``field: {fact: earlier.field}`` (or ``{eq: {fact: earlier.field}}``) among
        the alias's own conditions, the rule matches every combination of facts: a cross
        product (three unjoined aliases over 100 tickets are 1,000,000 matches).
        """
        for index, (alias, spec) in enumerate(when.items()):
            if index == 0 or not isinstance(spec, Mapping):
                continue
            earlier = self.aliases[:index]
            if any(_joins_to(raw, earlier) for key, raw in spec.items()
                   if key not in ("type", "all", "any", "where")):
                continue
            view = self.views.get(alias)
            shared = [name for name in ("customer", "key") if view is not None
                      and view.knows(name) and all(
                          v.knows(name) for a, v in self.views.items() if a in earlier[:1])]
            example = (f"{shared[0]}: {{fact: {earlier[0]}.{shared[0]}}}" if shared
                       else f"<field>: {{fact: {earlier[0]}.<field>}}")
            self.problems.append(PackProblem(
                (*at, "when", alias),
                f"alias {alias!r} is not joined to an earlier alias "
                f"({', '.join(earlier)}): without an equality condition on one of them the "
                "rule matches every combination of facts (a cross product, refused)",
                f"join it, e.g. {example}", at_key=True))

    def attempt(self, check: Callable[[], None]) -> None:
        try:
            check()
        except PackProblem as problem:
            self.problems.append(problem)

    def condition(self, spec: Any, view: FactView, at: tuple[str | int, ...],
                  top: bool = False, alias: str = "") -> None:
        if not isinstance(spec, Mapping):
            return
        for key, raw in spec.items():
            here = (*at, key)
            if key == "type" and top:
                continue
            if key in ("all", "any") and isinstance(raw, list):
                for index, sub in enumerate(raw):
                    self.condition(sub, view, (*here, index), alias=alias)
                continue
            if key == "where":
                continue  # a condition held in the clause: checked when compiled
            self.attempt(lambda k=key, h=here: _condition_field(view, str(k), h))
            if isinstance(raw, Mapping) and len(raw) == 1:
                (op, operand), = raw.items()
                if op in _OPERATORS:
                    if op != "eq":
                        self.compared_across(alias, str(key), str(op), operand, (*here, op))
                    self.reference(operand, (*here, op))
                    continue
            self.reference(raw, here)

    def compared_across(self, alias: str, key: str, op: str, operand: Any,
                        at: tuple[str | int, ...]) -> None:
        """Only an equality may compare a field with another alias's field.

        durable-rules (2.0.28, measured) crashes the process with a segmentation fault, or
        corrupts its memory, when a ``lt``/``lte``/``gt``/``gte``/``ne`` test between two
        facts of a join is false (``below: {gt: {fact: m.availability}}`` on a band
        fact); the same test against the fact's own field (``{fact: t.availability}``) is
        sound. The Python back-end would run it, so the two would not agree.
        """
        if not (isinstance(operand, Mapping) and set(operand) == {"fact"}):
            return
        other, _, name = str(operand["fact"]).partition(".")
        if other == alias or other not in self.aliases:
            return
        self.problems.append(PackProblem(
            at, f"{key}: {{{op}: {{fact: {other}.{name}}}}} compares with a field of another "
            f"alias ({other}): only an equality may join two facts (durable-rules crashes "
            "when such a comparison between two facts is false)",
            f"carry the value on {alias}'s facts and compare with {{fact: {alias}.<field>}}"))

    def reference(self, raw: Any, at: tuple[str | int, ...]) -> None:
        """A ``{fact: alias.field}`` value: the field must exist on the alias's facts."""
        if not (isinstance(raw, Mapping) and set(raw) == {"fact"}):
            return
        alias, _, name = str(raw["fact"]).partition(".")
        view = self.views.get(alias)
        if view is not None and name:  # an unknown alias is the compiler's error
            self.attempt(lambda: check_field(view, name, (*at, "fact"),
                                             f"{raw['fact']!r}: "))

    def then(self, then: Mapping[str, Any], stage: declared.StageSpec,
             at: tuple[str | int, ...]) -> None:
        for index, effect in enumerate(then.get("set") or ()):
            if not isinstance(effect, Mapping):
                continue
            here = (*at, "set", index)
            view = self.views.get(str(effect.get("subject")))
            if view is not None:
                self.attempt(lambda v=view, e=effect, h=here: self.decision(v, e, stage, h))
            self.reference(effect.get("value"), (*here, "value"))
        message = then.get("message")
        if isinstance(message, str):
            for match in FIELD_PLACEHOLDER.finditer(message):
                self.attempt(lambda m=match: self.placeholder(m, (*at, "message")))
            for match in _BRACED.finditer(message):
                if not (FIELD_PLACEHOLDER.fullmatch(match.group(0))
                        or TERM_PLACEHOLDER.fullmatch(match.group(0))):
                    self.problems.append(PackProblem(
                        (*at, "message"), f"placeholder {_short(match.group(0))} is neither "
                        "{alias.field} nor {term:path}: it would be printed as written",
                        "a message fills in only {alias.field} (a field of a bound fact) and "
                        "{term:path} (a term of the clause); no format specs or expressions"))

    def decision(self, view: FactView, effect: Mapping[str, Any], stage: declared.StageSpec,
                 at: tuple[str | int, ...]) -> None:
        name = str(effect.get("field"))
        decided = stage.decides.get(view.type, frozenset())
        if name in decided:
            self.typed(view.type, name, effect, at)
            return
        if decided:
            raise PackProblem((*at, "field"), f"stage {stage.name} decides no field {name!r} of "
                           f"{view.type} facts; it decides: {', '.join(sorted(decided))}",
                           _did_you_mean(name, decided))
        decides = "; ".join(f"{', '.join(sorted(f))} of {t} facts"
                            for t, f in stage.decides.items())
        raise PackProblem((*at, "field"), f"stage {stage.name} decides nothing about {view.type} "
                       "facts, so a set here would never be read"
                       + (f"; it decides: {decides}" if decides else
                          "; its rules only report findings"))

    def typed(self, fact_type: str, name: str, effect: Mapping[str, Any],
              at: tuple[str | int, ...]) -> None:
        """The combine mode suits the decision's kind and the value is of that kind."""
        kind = declared.field_kind(fact_type, name)
        if kind is None:
            return
        combine = effect.get("combine", "unique")
        if isinstance(combine, str) and combine not in declared.COMBINES[kind]:
            self.problems.append(PackProblem(
                (*at, "combine"), f"combine {combine!r} does not suit {name!r} of {fact_type} "
                f"facts, {declared.a_kind(kind)}; it takes: {', '.join(declared.COMBINES[kind])}"))
        raw = effect.get("value")
        if isinstance(raw, Mapping) and set(raw) == {"fact"}:
            alias, _, other = str(raw["fact"]).partition(".")
            source = self.views.get(alias)
            found = declared.field_kind(source.type, other) if source is not None else None
            what = f"{raw['fact']} is {declared.a_kind(found)}"
        elif isinstance(raw, Mapping):
            return  # {term: path}: checked when compiled against each clause
        else:
            found = literal_kind(raw)
            what = f"{_short(raw)} is {declared.a_kind(found)}"
        if found is not None and found != kind:
            self.problems.append(PackProblem(
                (*at, "value"), f"{name!r} of {fact_type} facts is {declared.a_kind(kind)}, but "
                f"{what}"))
        elif found is not None and not isinstance(raw, Mapping):
            outside = declared.domain_problem(fact_type, name, _engine_literal(raw))
            if outside:
                self.problems.append(PackProblem(
                    (*at, "value"), f"{name!r} of {fact_type} facts is {outside}, but the "
                    f"value is {_short(raw)}"))

    def placeholder(self, match: re.Match[str], at: tuple[str | int, ...]) -> None:
        alias, name = match.group(1), match.group(2)
        if alias not in self.aliases:
            raise PackProblem(at, f"placeholder {match.group(0)} names no alias of the rule "
                           f"(aliases: {', '.join(self.aliases)})",
                           _did_you_mean(alias, self.aliases))
        view = self.views.get(alias)
        if view is not None:
            check_field(view, name, at, f"placeholder {match.group(0)}: ")


def _joins_to(raw: Any, earlier: Sequence[str]) -> bool:
    """Whether a condition value is an equality with a field of an earlier alias."""
    if isinstance(raw, Mapping) and set(raw) == {"eq"}:
        raw = raw["eq"]
    if not (isinstance(raw, Mapping) and set(raw) == {"fact"}):
        return False
    alias, _, name = str(raw["fact"]).partition(".")
    return alias in earlier and bool(name)


def _engine_literal(value: Any) -> Any:
    """A literal ``set`` value as the engine sees it: a duration in seconds, a decimal as
    a number."""
    if isinstance(value, str) and is_duration(value):
        return duration_seconds(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def literal_kind(value: Any) -> str | None:
    """The kind of a literal ``set`` value as the engine will see it (durations are
    seconds); None for null."""
    if isinstance(value, str) and is_duration(value):
        return declared.NUMBER
    if isinstance(value, Decimal) and not isinstance(value, bool):
        return declared.NUMBER
    return declared.kind_of_value(value)


def value_kind_problem(fact_type: str, name: str, value: Any) -> str:
    """Why a compiled ``set`` value (a term's value) does not suit the decision, or ``""``."""
    kind = declared.field_kind(fact_type, name)
    found = declared.kind_of_value(value)
    if kind is None or value is None:
        return ""
    if found == kind:
        outside = declared.domain_problem(fact_type, name, value)
        return (f"{name!r} of {fact_type} facts is {outside}, but the term's value is "
                f"{_short(value)}") if outside else ""
    shown = declared.a_kind(found) if found else f"a {type(value).__name__}"
    return (f"{name!r} of {fact_type} facts is {declared.a_kind(kind)}, but the term's value "
            f"{_short(value)} is {shown}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _term_definitions() -> dict[str, Any]:
    """What a term's ``$ref`` may name: the shared definitions and every kind's own."""
    from policyengine.clauses import registry
    from policyengine.clauses.schema_base import SHARED_DEFINITIONS

    definitions: dict[str, Any] = dict(SHARED_DEFINITIONS)
    for kind in registry.kinds():
        definitions.update(kind.definitions)
    return definitions


def _term_problems(rule: Mapping[str, Any], at: tuple[str | int, ...],
                   definitions: Callable[[], Mapping[str, Any]]) -> list[PackProblem]:
    """Every term path of ``rule`` that its ``for_clause`` kind does not declare
    (``definitions``: :func:`_term_definitions`, called when a path needs it)."""
    from policyengine.clauses import registry

    kind = registry.get(str(rule.get("for_clause")))
    if kind is None:
        return []  # an unknown kind is the schema's error
    refs: list[tuple[str, tuple[str | int, ...], bool]] = []  # (path, where, at the key)

    def walk(node: Any, where: tuple[str | int, ...]) -> None:
        if isinstance(node, Mapping):
            if set(node) == {"term"} and isinstance(node["term"], str):
                refs.append((node["term"], (*where, "term"), False))
                return
            for key, value in node.items():
                walk(value, (*where, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*where, index))

    walk(rule.get("when"), (*at, "when"))
    walk(rule.get("then"), (*at, "then"))
    then = rule.get("then")
    message = then.get("message") if isinstance(then, Mapping) else None
    if isinstance(message, str):
        refs += [(m.group(1), (*at, "then", "message"), False)
                 for m in TERM_PLACEHOLDER.finditer(message)]
    if_terms = rule.get("if_terms")
    if isinstance(if_terms, Mapping):
        refs += [(str(path), (*at, "if_terms", path), True) for path in if_terms]
    problems = []
    for path, where, at_key in refs:
        problem = _unknown_term(kind, path, definitions)
        if problem:
            problems.append(PackProblem(where, *problem, at_key=at_key))
    return problems


def _unknown_term(kind: Any, path: str,
                  definitions: Callable[[], Mapping[str, Any]]) -> tuple[str, str] | None:
    """``(message, hint)`` when ``path`` names no term of ``kind``; None when it does (or
    when the schema does not say which parts lie below the part reached). ``definitions``
    resolve the terms' ``$ref``s."""
    known: Mapping[str, Any] | None = kind.terms  # id, kind, ref and summary are no terms
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if known is None:
            return None
        if part not in known:
            where = f"term {'.'.join(parts[:depth])!r} of " if depth else ""
            return (f"{where}clause kind {kind.name!r} has no term {part!r}"
                    + (f" (in {path!r})" if depth else "")
                    + (f"; it has: {', '.join(known)}" if known else "; it has no terms"),
                    _did_you_mean(part, known))
        schema = known[part]
        for _ in range(8):  # a $ref to a $ref..., never round a cycle for ever
            if not (isinstance(schema, Mapping) and "$ref" in schema):
                break
            schema = definitions().get(str(schema["$ref"]).rpartition("/")[2])
        closed = isinstance(schema, Mapping) and schema.get("additionalProperties") is False
        known = schema.get("properties") if closed else None  # type: ignore[union-attr]
    return None


def rule_views(rule: Mapping[str, Any], extra_fields: Mapping[str, Sequence[str]],
               custom_types: Collection[str] | None) -> dict[str, FactView]:
    """alias → FactView for a rule that passed :func:`check_pack` (for the compiler)."""
    check = _RuleCheck(rule, (), extra_fields, custom_types)
    check.run()
    return check.views


def check_pack(pack: PackLike, custom_types: Collection[str] | None = None,
               ) -> tuple[list[Diagnostic], set[int]]:
    """Every stage, fact-type and field problem of a pack, and the indices of bad rules.

    ``custom_types``: the fact types a policy declares (compile mode), or None when the
    pack is checked on its own. Diagnostics are located with ``pack.locate`` (``code``
    ``"rules"``); the pack must have passed the rules schema.
    """
    extra_fields = pack.extra_fields or {}
    definitions = functools.cache(_term_definitions)  # once per pack, when a path needs it
    problems: list[PackProblem] = []
    bad: set[int] = set()
    problems.extend(_check_extra_fields(extra_fields))
    first_id: dict[str, int] = {}
    for index, rule in enumerate(pack.rules):
        rule_id = str(rule.get("id"))
        if rule_id in first_id:
            line = pack.locate(("rules", first_id[rule_id], "id"))[0] if pack.locate else 0
            problems.append(PackProblem(("rules", index, "id"), f"duplicate rule id {rule_id!r} "
                                        f"(first at line {line}): findings and decisions "
                                        "name rules by id"))
            bad.add(index)
        else:
            first_id[rule_id] = index
    for index, rule in enumerate(pack.rules):
        found = _RuleCheck(rule, ("rules", index), extra_fields, custom_types).run()
        found += _term_problems(rule, ("rules", index), definitions)
        if found:
            bad.add(index)
            problems.extend(found)
    return [_diagnostic(pack, p) for p in problems], bad


def pack_set_problems(packs: Sequence[PackLike]) -> list[Diagnostic]:
    """A located error for each pack whose ``metadata.name`` an earlier pack of the same set
    (one --rules directory) already has: rule ids are ``<pack name>.<id>``, so two packs of
    one name (a copy of notices.yaml next to it) would fire the same rules twice under the
    same ids, silently."""
    first: dict[str, PackLike] = {}
    problems = []
    for pack in sorted(packs, key=lambda p: p.file):
        name = pack.name
        if name not in first:
            first[name] = pack
            continue
        problems.append(_diagnostic(pack, PackProblem(
            ("metadata", "name"), f"rule pack name {name!r} is also the name of "
            f"{first[name].file}: its rule ids ({name}.<id>) would clash",
            "give each rule pack of a directory its own metadata.name")))
    return problems


def _check_extra_fields(extra_fields: Mapping[str, Sequence[str]]) -> list[PackProblem]:
    problems: list[PackProblem] = []
    carriers = [t for t, s in declared.FACT_TYPES.items() if s.extras_from]
    for fact_type, names in extra_fields.items():
        at = ("extra_fields", fact_type)
        spec = declared.FACT_TYPES.get(fact_type)
        if spec is None:
            if _near_miss(fact_type):
                problems.append(PackProblem(at, f"unknown fact type {fact_type!r}",
                                            _did_you_mean(fact_type, declared.FACT_TYPES),
                                            at_key=True))
            continue  # a policy-declared type: its fields as listed
        if not spec.extras_from:
            problems.append(PackProblem(at, f"{fact_type} facts carry no extra fields; only "
                                        f"{', '.join(carriers)} facts do", at_key=True))
            continue
        standard = declared.standard_fields(fact_type) | spec.record_fields
        for index, name in enumerate(names or ()):
            if name in standard:
                problems.append(PackProblem(
                    (*at, index), f"{name!r} is a standard field of {fact_type} facts or "
                    f"{spec.extras_from} records: an extra field by that name never reaches "
                    "the rules"))
    return problems


def _diagnostic(pack: PackLike, problem: PackProblem) -> Diagnostic:
    locate = pack.locate_key if problem.at_key and pack.locate_key else pack.locate
    line, column = locate(list(problem.path)) if locate else (0, 0)
    return Diagnostic(file=pack.file, line=line, column=column, path=json_path(problem.path),
                      message=problem.message, code="rules", hint=problem.hint)


def json_path(path: Sequence[str | int]) -> str:
    """``$.rules[3].when.m`` for ``("rules", 3, "when", "m")``."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


__all__ = ["FactView", "PackProblem", "check_field", "check_pack", "fact_view", "json_path",
           "literal_kind", "rule_views", "value_kind_problem"]


__all__ = ["FIELD_PLACEHOLDER", "TERM_PLACEHOLDER", "FactView", "PackProblem", "check_field",
           "check_pack", "fact_view", "json_path", "pack_set_problems", "rule_views"]


# -- what one compiled rule may hold (durable-rules 2.0.28, measured) -------------------------
# Measured on bare rulesets (bench/durable_limits.py; docs/hardening.md "Rule packs"):
# - each alias of a rule keeps its $and/$or groups and its comparisons with another alias's
#   field in one sequence of 32 slots, two per group (its start and end) and one per
#   comparison, and refuses the ruleset when the sequence fills ("error code: 113"): a
#   sequence of 31 is the most it takes;
# - the tests that follow one node of its network (the branches of an $or, an `in` list)
#   live in a hash table of 512 entries probed without end: a 513th distinct value in one
#   `in` list hangs `create_ruleset` for ever;
# - one fact that matches more than 64 alternatives of one ruleset fails the batch
#   ("error code: 303") or corrupts the heap.
# The Python back-end has none of these limits; a rule over any of them is refused at load
# on both, so the two never disagree.
MAX_ALIAS_SLOTS = 31  # 2 per group + 1 per comparison with another alias, per alias
MAX_ALIAS_ALTERNATIVES = 500  # branches of one $or (they share a table of 512)
MAX_MATCHED_ALTERNATIVES = 64  # alternatives of one rule one set of facts can meet at once


@dataclass(frozen=True)
class ConditionSize:
    """The size of a compiled (durable-rules JSON) alias condition.

    ``groups``: ``$and``/``$or`` groups; ``comparisons``: tests against another alias's
    field; ``alternatives``: the branches of its widest ``$or`` (an ``$or`` directly in
    another adds its branches to it: durable-rules hangs them on one node); ``at_once``:
    how many ways one fact can meet the condition together (``$or`` adds, ``$and``
    multiplies; an ``$or`` of equalities of one field with distinct plain values, which an
    ``in`` list compiles to, is met at most once).
    """

    groups: int = 0
    comparisons: int = 0
    alternatives: int = 1
    at_once: int = 1

    @property
    def slots(self) -> int:
        return 2 * self.groups + self.comparisons


_CAP = 10**9  # sizes beyond any limit: stop multiplying


def condition_size(condition: Any) -> ConditionSize:
    """:class:`ConditionSize` of a compiled condition (``None``, always true, is empty)."""
    if not isinstance(condition, Mapping):
        return ConditionSize()
    if set(condition) in ({"$and"}, {"$or"}):
        ((op, parts),) = condition.items()
        sizes = [condition_size(part) for part in parts]
        groups = 1 + sum(s.groups for s in sizes)
        comparisons = sum(s.comparisons for s in sizes)
        widest = max((s.alternatives for s in sizes), default=1)
        if op == "$and":
            at_once = 1
            for size in sizes:
                at_once = min(_CAP, at_once * size.at_once)
            return ConditionSize(groups, comparisons, widest, at_once)
        alternatives = max(widest, sum(
            s.alternatives if isinstance(p, Mapping) and set(p) == {"$or"} else 1
            for p, s in zip(parts, sizes, strict=True)))
        at_once = 1 if _one_field_values(parts) else min(_CAP, sum(s.at_once for s in sizes))
        return ConditionSize(groups, comparisons, alternatives, at_once)
    comparisons = 0
    for key, value in condition.items():
        operand = value
        if key in ("$neq", "$lt", "$lte", "$gt", "$gte") and isinstance(value, Mapping):
            operand = next(iter(value.values()), None)
        elif key.startswith("$"):
            continue
        if isinstance(operand, Mapping) and set(operand) != {"$m"}:
            comparisons += 1  # {alias: field}: a join
    return ConditionSize(comparisons=comparisons)


def _one_field_values(parts: Sequence[Any]) -> bool:
    """Whether ``parts`` are equalities of one field with distinct plain values."""
    names, values = set(), set()
    for part in parts:
        if not (isinstance(part, Mapping) and len(part) == 1):
            return False
        ((name, value),) = part.items()
        if name.startswith("$") or isinstance(value, Mapping | list):
            return False
        names.add(name)
        values.add((type(value) is bool, value))
    return len(names) == 1 and len(values) == len(parts)


def engine_limit_problem(conditions: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """``(alias, message)`` for a compiled rule (its ``{alias: condition}`` list) that is
    over one of durable-rules' limits (:data:`MAX_ALIAS_SLOTS`,
    :data:`MAX_ALIAS_ALTERNATIVES`, :data:`MAX_MATCHED_ALTERNATIVES`), else None."""
    at_once = 1
    for item in conditions:
        for alias, condition in item.items():
            size = condition_size(condition)
            if size.slots > MAX_ALIAS_SLOTS:
                return alias, (
                    f"the conditions of alias {alias!r} make {size.groups} groups and "
                    f"{size.comparisons} comparisons with another alias: 2 x {size.groups} + "
                    f"{size.comparisons} = {size.slots} slots, more than the "
                    f"{MAX_ALIAS_SLOTS} durable-rules holds for one alias (a group is an "
                    "any/all of two or more parts, an in/not_in list of two or more values, "
                    "or two or more tests together)")
            if size.alternatives > MAX_ALIAS_ALTERNATIVES:
                return alias, (
                    f"the conditions of alias {alias!r} hold an 'any' or 'in' list of "
                    f"{_count(size.alternatives)} branches (an 'any' directly inside another "
                    f"adds its branches to it); at most {MAX_ALIAS_ALTERNATIVES} "
                    "(durable-rules hangs on more than 512)")
            at_once = min(_CAP, at_once * size.at_once)
            if at_once > MAX_MATCHED_ALTERNATIVES:
                return alias, (
                    f"the rule's conditions can be met in {_count(at_once)} alternative ways "
                    "by the same facts (each 'any' adds its branches, each 'all' multiplies "
                    f"them; an 'in' list counts once); at most {MAX_MATCHED_ALTERNATIVES}: "
                    "the rule fires once for each, and durable-rules fails a fact that fires "
                    f"more than {MAX_MATCHED_ALTERNATIVES} times")
    return None


def _count(number: int) -> str:
    return f"more than {_CAP:,}" if number >= _CAP else f"{number:,}"
