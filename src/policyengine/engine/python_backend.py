"""A pure-Python evaluator of the compiled durable-rules JSON.

It runs exactly the ruleset that the durable-rules back-end runs, with the same
semantics for the subset our compiler emits (equality, ``$neq $lt $lte $gt $gte``,
``$and $or``, ``$ex $nex``, joins to earlier aliases, ``$m`` same-fact references).
It is a second opinion on an engine that fails silently (the test suite runs on both),
and the fallback where the C extension cannot be loaded.

A comparison against a missing field, or between a number and a string, does not match.
One fact never binds two aliases of a rule (durable-rules binds each alias to a distinct
fact: a rule ``a: ticket, b: ticket with b.customer == a.customer`` never pairs a ticket
with itself), so a combination that would reuse a bound fact is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policyengine.compile.compiler import CompiledRule, CompiledStage, required_type
from policyengine.engine.base import Firing
from policyengine.engine.bounds import check_combinations
from policyengine.engine.matching import MISSING, Matcher, engine_key


class PythonBackend:
    """Evaluates compiled stages in Python; stateless and thread-safe."""

    name = "python"

    def run(self, stage: CompiledStage, facts: Sequence[Mapping[str, Any]]) -> list[Firing]:
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
                        index.setdefault(engine_key(fact[field]), []).append(fact)
                indexes[(fact_type, field)] = index
            value = bound[other].get(other_field, MISSING)
            candidates = index.get(engine_key(value), ()) if value is not MISSING else ()
        taken = [id(f) for f in bound.values()]
        for fact in candidates:
            if id(fact) in taken:  # durable-rules binds each alias to a distinct fact
                continue
            if spec is None or Matcher(fact, bound).test(spec):
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
