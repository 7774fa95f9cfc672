"""What every engine back-end returns, and how firings become decisions and findings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from policyengine.compile.compiler import CompiledStage, FactRef
from policyengine.compile.stages import a_kind, domain_problem, field_kind, kind_of_value
from policyengine.diagnostics import EngineError
from policyengine.model.results import Finding

_FIELD_IN_MESSAGE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Firing:
    """A rule that fired, with the facts bound to its aliases."""

    rule: str
    bindings: Mapping[str, Mapping[str, Any]]


class Backend(Protocol):
    """Runs one compiled stage over a list of facts and reports what fired."""

    name: str

    def run(self, stage: CompiledStage, facts: Sequence[Mapping[str, Any]]) -> list[Firing]: ...


@dataclass
class StageResult:
    """Decisions (subject key → field → value) and the findings of a stage."""

    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def get(self, subject: str, name: str, default: Any = None) -> Any:
        return self.decisions.get(subject, {}).get(name, default)


def _display(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_TEMPLATES: dict[str, list[str | tuple[str, str]]] = {}
_RENDERED: dict[tuple[str, tuple[str, ...]], str] = {}
_RENDERED_MAX = 50_000


def _template(text: str) -> list[str | tuple[str, str]]:
    """A message split once into literal text and ``(alias, field)`` placeholders."""
    parts = _TEMPLATES.get(text)
    if parts is None:
        parts = []
        position = 0
        for match in _FIELD_IN_MESSAGE.finditer(text):
            parts.append(text[position:match.start()])
            parts.append((match.group(1), match.group(2)))
            position = match.end()
        parts.append(text[position:])
        _TEMPLATES[text] = parts
    return parts


def _render_message(template: str, bindings: Mapping[str, Mapping[str, Any]]) -> str:
    """Fill ``{alias.field}`` placeholders from the bound facts (no expressions).

    A message without placeholders is returned as the template itself, so the many findings
    that share it share one string.
    """
    parts = _template(template)
    if len(parts) == 1:
        return template
    values = tuple(
        part if isinstance(part, str)
        else _display(bindings[part[0]].get(part[1], "?")) if part[0] in bindings
        else f"{{{part[0]}.{part[1]}}}"
        for part in parts
    )
    # many findings render the same text ("severity 2 was assigned ..."): share one string
    key = (template, values)
    rendered = _RENDERED.get(key)
    if rendered is None:
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.clear()
        rendered = _RENDERED[key] = "".join(values)
    return rendered


class DecisionError(EngineError):
    """Rules that decide a field in a way that cannot stand: values that a ``unique``
    decision must agree on and do not, values ``combine`` cannot compare, a value of the
    wrong kind.

    ``key`` orders such errors so that the one reported never depends on the order facts,
    rules, sessions or workers ran in: ``(subject, field, message)``, prefixed by the
    stage's position once the evaluator knows it. Every engine, in one process or in
    workers, reports the least.
    """

    def __init__(self, message: str, key: tuple[Any, ...]):
        super().__init__(message)
        self.key = key

    def __reduce__(self) -> tuple[Any, ...]:  # keeps ``key`` across a process boundary
        return (type(self), (str(self), self.key))


def _checked(rule: str, effect: Any, fact: Mapping[str, Any], subject: str,
             value: Any) -> str:
    """``""`` if ``value`` is of the decision's declared kind and in its declared domain
    (or null), else the problem.

    Rule packs are checked at load (:mod:`policyengine.compile.packcheck`); this is the
    backstop for a value read at run time from a fact: a field with no declared kind (an
    extension field, a policy-declared fact type), or one whose values may lie outside the
    decision's domain (``compile.stages.DECISION_DOMAINS``: a negative or fractional
    ``excluded_up_to``).
    """
    fact_type = str(fact.get("type"))
    kind = field_kind(fact_type, effect.field)
    found = kind_of_value(value)
    if kind is None or value is None:
        return ""
    if found != kind:
        return (f"rule {rule} decides {effect.field} of {subject} as {_short(value)} "
                f"({a_kind(found) if found else type(value).__name__}), but "
                f"{effect.field} is {a_kind(kind)}")
    outside = domain_problem(fact_type, effect.field, value)
    if outside:
        return (f"rule {rule} decides {effect.field} of {subject} as {_short(value)}, but "
                f"{effect.field} is {outside}")
    return ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _combine(mode: str, old: Any, new: Any) -> Any:
    if mode == "max":
        return max(old, new)
    if mode == "min":
        return min(old, new)
    if mode == "all":
        return bool(old) and bool(new)
    if mode == "any":
        return bool(old) or bool(new)
    return old


def _order(value: Any) -> tuple[str, str]:
    """A total order on decided values (of any kinds), for choosing what to report."""
    return (type(value).__name__, repr(value))


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that cannot be compared are different
        return False


def _settle(subject: str, name: str, votes: list[tuple[str, Any, str]],
            why: Mapping[tuple[str, str, str], str] | None = None) -> tuple[Any, str]:
    """The decision of several rules on one field, and ``""``; or ``(None, problem)``.

    ``votes``: ``(combine mode, value, rule name)``; ``why``: for ``(subject, field, rule)``
    whose value was read from a field its fact lacks, ``"<key> has no field <name>"``. A
    value ``combine`` cannot compare is blamed on the rule that decided nothing (None) when
    one did, else on the rule of the later value. The same for any order of the votes:
    values that all agree stand whatever the modes; otherwise a ``unique`` among them is a
    conflict, and two different modes (``max`` and ``min``) too; one mode folds the values.
    """
    values: list[tuple[tuple[str, str], Any]] = []  # distinct (as == sees them), in order
    for order, value in sorted({_order(v): v for _m, v, _r in votes}.items()):
        if not any(_same(value, kept) for _o, kept in values):
            values.append((order, value))
    if len(values) == 1:
        return values[0][1], ""
    modes = sorted({m for m, _v, _r in votes})
    if "unique" in modes or len(modes) > 1:
        first, second = values[0][1], values[1][1]
        rule = min(r for _m, v, r in votes if _same(v, second))
        other = min(r for _m, v, r in votes if _same(v, first))
        if "unique" in modes:
            return None, (f"rule {rule} decides {name} of {subject} as {second!r}, but "
                          f"another rule ({other}) decided {first!r}; give the field a "
                          "combine mode")
        return None, (f"rule {rule} decides {name} of {subject} with combine "
                      f"{modes[1]!r} but another rule ({other}) with {modes[0]!r}; the "
                      "rules deciding one field give it one combine mode")
    result = values[0][1]
    for _key, value in values[1:]:
        try:
            result = _combine(modes[0], result, value)
        except TypeError:  # e.g. max of text and a number: no order between them
            if value is None or result is None:  # a rule decided nothing: name that rule
                other = result if value is None else value
                blamed = min(r for _m, v, r in votes if v is None)
                by = min(r for _m, v, r in votes if _same(v, other))
                reason = (why or {}).get((subject, name, blamed))
                return None, (f"rule {blamed} decides {name} of {subject} as nothing"
                              f"{f' ({reason})' if reason else ''}, which combine "
                              f"{modes[0]!r} cannot compare with {_short(other)} (decided "
                              f"by rule {by})")
            rules = sorted(r for _m, v, r in votes if _same(v, value))
            return None, (f"rule {rules[-1]} decides {name} of {subject} as {_short(value)}, "
                          f"which combine {modes[0]!r} cannot compare with "
                          f"{_short(values[0][1])}")
    return result, ""


def apply_firings(stage: CompiledStage, firings: Sequence[Firing]) -> StageResult:
    """Turn firings into decisions and findings, independent of firing order.

    Decisions are settled per field from every rule's value (:func:`_settle`), so neither
    the result nor the error depends on the order rules fired in; findings are sorted with
    the rest of the results. Raises :class:`DecisionError` for the least problem
    (by subject, field and message) when some decision cannot stand.
    """
    result = StageResult()
    decisions = result.decisions
    seen: set[tuple[str, str, str, str, str]] = set()
    # first decision of a (subject, field): its mode and rule; later ones collect all votes
    first: dict[tuple[str, str], tuple[str, str]] = {}
    votes: dict[tuple[str, str], list[tuple[str, Any, str]]] = {}
    problems: list[tuple[str, str, str]] = []
    why: dict[tuple[str, str, str], str] = {}  # decisions read from a field a fact lacks
    # a finding stands only if every decision its rule made is the final one: a rule whose
    # value lost (a 6 h cap beaten by an excused cause, `covered: true` beaten by an
    # excluded plan) was overridden, and the report shows what decided (README)
    claims: list[tuple[Finding, list[tuple[str, str, Any]]]] = []
    for firing in firings:
        rule = stage.rule(firing.rule)
        made: list[tuple[str, str, Any]] = []
        bindings = firing.bindings
        for effect in rule.sets:
            subject = bindings[effect.alias]["key"]
            value = effect.value
            if isinstance(value, FactRef):
                source = bindings[value.alias]
                if value.field not in source:
                    why[(subject, effect.field, rule.name)] = (
                        f"{source.get('key')} has no field {value.field}")
                value = source.get(value.field)
                wrong = _checked(rule.name, effect, bindings[effect.alias], subject, value)
                if wrong:
                    problems.append((subject, effect.field, wrong))
                    continue
            fields = decisions.get(subject)
            if fields is None:
                fields = decisions[subject] = {}
            made.append((subject, effect.field, value))
            name = effect.field
            if name not in fields:
                fields[name] = value
                first[(subject, name)] = (effect.combine, rule.name)
                continue
            key = (subject, name)
            pending = votes.get(key)
            if pending is None:
                mode, by = first[key]
                pending = votes[key] = [(mode, fields[name], by)]
            pending.append((effect.combine, value, rule.name))
        if rule.outcome and rule.subject:
            subject = bindings[rule.subject]["key"]
            finding = Finding(
                subject,
                rule.rule_id,
                rule.clause_id,
                rule.outcome,
                _render_message(rule.message or "", bindings),
                () if len(bindings) == 1 else tuple(b["key"] for b in bindings.values()),
            )
            identity = finding[:5]  # the facts a join used do not make a new finding
            if identity not in seen:
                seen.add(identity)
                claims.append((finding, made))
    for (subject, name), pending in votes.items():
        settled, problem = _settle(subject, name, pending, why)
        if problem:
            problems.append((subject, name, problem))
        else:
            decisions[subject][name] = settled
    if problems:
        least = min(problems)
        raise DecisionError(least[2], least)
    result.findings = [
        finding for finding, made in claims
        if all(result.decisions[s][f] == v for s, f, v in made)
    ]
    return result
