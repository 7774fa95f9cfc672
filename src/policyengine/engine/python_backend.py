"""A pure-Python evaluator of the compiled durable-rules JSON.

It runs exactly the ruleset that the durable-rules back-end runs, with the same
semantics for the subset our compiler emits (equality, ``$neq $lt $lte $gt $gte``,
``$and $or``, ``$ex $nex``, joins to earlier aliases, ``$m`` same-fact references).
It is a second opinion on an engine that fails silently (the test suite runs on both),
and the fallback where the C extension cannot be loaded.

A comparison against a missing field, or between a number and a string, does not match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policyengine.compile.compiler import CompiledRule, CompiledStage, required_type
from policyengine.engine.base import Firing

_ORDER_OPS = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}
_MISSING = object()


def _comparable(a: Any, b: Any) -> bool:
    numeric = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, numeric) and isinstance(b, numeric):
        return True
    return type(a) is type(b)


class _Matcher:
    def __init__(self, fact: Mapping[str, Any], bound: Mapping[str, Mapping[str, Any]]):
        self.fact = fact
        self.bound = bound

    def operand(self, raw: Any) -> Any:
        if isinstance(raw, Mapping):
            ((key, field),) = raw.items()
            source = self.fact if key == "$m" else self.bound.get(key)
            if source is None:
                return _MISSING
            return source.get(field, _MISSING)
        return raw

    def test(self, spec: Mapping[str, Any]) -> bool:
        for key, raw in spec.items():
            if key == "$and":
                if not all(self.test(part) for part in raw):
                    return False
            elif key == "$or":
                if not any(self.test(part) for part in raw):
                    return False
            elif key == "$ex":
                ((field, _),) = raw.items()
                if field not in self.fact:
                    return False
            elif key == "$nex":
                ((field, _),) = raw.items()
                if field in self.fact:
                    return False
            elif key == "$neq":
                ((field, operand),) = raw.items()
                actual, expected = self.fact.get(field, _MISSING), self.operand(operand)
                if actual is _MISSING or expected is _MISSING:
                    return False
                if _comparable(actual, expected) and actual == expected:
                    return False
            elif key in _ORDER_OPS:
                ((field, operand),) = raw.items()
                actual, expected = self.fact.get(field, _MISSING), self.operand(operand)
                if actual is _MISSING or expected is _MISSING:
                    return False
                if not _comparable(actual, expected) or isinstance(actual, bool):
                    return False
                if not _ORDER_OPS[key](actual, expected):
                    return False
            else:
                actual, expected = self.fact.get(key, _MISSING), self.operand(raw)
                if actual is _MISSING or expected is _MISSING:
                    return False
                if not (_comparable(actual, expected) and actual == expected):
                    return False
        return True


class PythonBackend:
    """Evaluates compiled stages in Python; stateless and thread-safe."""

    name = "python"

    def run(self, stage: CompiledStage, facts: Sequence[Mapping[str, Any]]) -> list[Firing]:
        from policyengine.engine.bounds import check_combinations

        check_combinations(stage, facts)  # InputError before a join can explode
        by_type: dict[str, list[Mapping[str, Any]]] = {}
        for fact in facts:
            by_type.setdefault(fact.get("type", ""), []).append(fact)
        firings: list[Firing] = []
        indexes: dict[tuple[str, str], dict[Any, list[Mapping[str, Any]]]] = {}
        for rule in stage.rules:
            self._match(rule, 0, {}, by_type, indexes, firings)
        return firings

    def _match(
        self,
        rule: CompiledRule,
        depth: int,
        bound: dict[str, Mapping[str, Any]],
        by_type: Mapping[str, list[Mapping[str, Any]]],
        indexes: dict[tuple[str, str], dict[Any, list[Mapping[str, Any]]]],
        out: list[Firing],
    ) -> None:
        if depth == len(rule.conditions):
            out.append(Firing(rule.name, dict(bound)))
            return
        ((alias, spec),) = rule.conditions[depth].items()
        fact_type = required_type(spec)
        candidates = by_type.get(fact_type, ())
        join = _equality_join(spec) if depth else None
        if join is not None:  # look the partner up by value instead of scanning
            field, (other, other_field) = join
            index = indexes.get((fact_type, field))
            if index is None:
                index = {}
                for fact in candidates:
                    if field in fact:
                        index.setdefault(_hashable(fact[field]), []).append(fact)
                indexes[(fact_type, field)] = index
            value = bound[other].get(other_field, _MISSING)
            candidates = index.get(_hashable(value), ()) if value is not _MISSING else ()
        for fact in candidates:
            if spec is None or _Matcher(fact, bound).test(spec):
                bound[alias] = fact
                self._match(rule, depth + 1, bound, by_type, indexes, out)
                del bound[alias]


def _equality_join(spec: Mapping[str, Any]) -> tuple[str, tuple[str, str]] | None:
    """A top-level ``field == other_alias.field`` condition, usable as an index key."""
    for part in spec.get("$and", (spec,)):
        for key, raw in part.items():
            if key.startswith("$") or not isinstance(raw, Mapping) or len(raw) != 1:
                continue
            ((other, other_field),) = raw.items()
            if other != "$m" and isinstance(other_field, str):
                return key, (other, other_field)
    return None


def _hashable(value: Any) -> Any:
    """Index key with the engine's equality: numbers by value, bools apart from numbers."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    return (type(value).__name__, value)



