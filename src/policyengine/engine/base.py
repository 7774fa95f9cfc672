"""What every engine back-end returns, and how firings become decisions and findings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from policyengine.compile.compiler import CompiledStage, FactRef
from policyengine.compile.stages import a_kind, field_kind, kind_of_value
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


def _checked(rule: str, effect: Any, fact: Mapping[str, Any], subject: str, value: Any) -> Any:
    """``value`` if it is of the decision's declared kind (or null), else EngineError.

    Rule packs are checked at load (:mod:`policyengine.compile.packcheck`); this is the
    backstop for a value read at run time from a field with no declared kind (an extension
    field, a policy-declared fact type).
    """
    kind = field_kind(str(fact.get("type")), effect.field)
    found = kind_of_value(value)
    if kind is None or value is None or found == kind:
        return value
    raise EngineError(f"rule {rule} decides {effect.field} of {subject} as {_short(value)} "
                      f"({a_kind(found) if found else type(value).__name__}), but "
                      f"{effect.field} is {a_kind(kind)}")


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


def apply_firings(stage: CompiledStage, firings: Sequence[Firing]) -> StageResult:
    """Turn firings into decisions and findings, independent of firing order.

    Every combine mode is order-independent, so firings are not sorted; findings are
    sorted with the rest of the results.
    """
    result = StageResult()
    decisions = result.decisions
    seen: set[tuple[str, str, str, str, str]] = set()
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
                value = _checked(rule.name, effect, bindings[effect.alias], subject,
                                 bindings[value.alias].get(value.field))
            fields = decisions.get(subject)
            if fields is None:
                fields = decisions[subject] = {}
            made.append((subject, effect.field, value))
            if effect.field not in fields:
                fields[effect.field] = value
            elif effect.combine == "unique":
                if fields[effect.field] != value:
                    raise EngineError(
                        f"rule {rule.name} decides {effect.field} of {subject} as {value!r}, "
                        f"but another rule decided {fields[effect.field]!r}; give the field "
                        "a combine mode"
                    )
            else:
                try:
                    fields[effect.field] = _combine(effect.combine, fields[effect.field], value)
                except TypeError:  # e.g. max of null and a number: no order between them
                    raise EngineError(
                        f"rule {rule.name} decides {effect.field} of {subject} as "
                        f"{_short(value)}, which combine {effect.combine!r} cannot compare "
                        f"with {_short(fields[effect.field])}") from None
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
    result.findings = [
        finding for finding, made in claims
        if all(result.decisions[s][f] == v for s, f, v in made)
    ]
    return result
