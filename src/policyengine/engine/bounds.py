"""The work a rule may make an engine do, bounded by the data before the engine runs.

A rule with several aliases matches combinations of facts, one from each alias. The load
check (:mod:`policyengine.compile.packcheck`) makes every alias after the first join an
earlier one by an equality, but an equality on a field many facts share (three ticket
aliases joined on ``customer``, one customer with 200 tickets) still binds every
combination: 201³ = 8.1 million, 85 s and 3 GB on the Python back-end, more than 6.8 GB on
durable-rules (measured, docs/hardening.md). Whether a join is selective depends on the
data, so the bound is applied to the data: before either back-end runs a session, each
rule with more than one alias has its *candidate combinations* counted, exactly and in
time linear in the facts, from the facts grouped by its join keys (each alias's facts of
its type that pass its own tests, grouped by the fields it compares for equality with the
first earlier alias it joins; the other tests, and joins to other aliases, only remove
combinations). A fact never binds two aliases of one rule (durable-rules' semantics, which
the Python back-end follows), so a fact joined with itself is not counted: exact for a
rule of two aliases; with more, coincidences between aliases that do not join each other
directly (``a`` and ``c`` in a chain ``a - b - c``) are still counted, an upper bound.
The largest count over the
rule's first 2, 3, ... aliases (what an engine builds on the way) must not exceed
:data:`MAX_COMBINATIONS`, else the evaluation is refused with one line located at the
rule. Rules of one alias bind each fact once and are not counted. The engines hold every
rule's matches of a stage at once, so the counts of a stage's rules are also summed: more
than :data:`MAX_STAGE_COMBINATIONS` in all is refused, naming the rules (25 rules of 96,100
combinations each took 1.1 GB on the Python back-end and 1.9 GB on durable-rules).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policyengine.compile.compiler import CompiledRule, CompiledStage
from policyengine.diagnostics import Diagnostic, InputError
from policyengine.engine.matching import Matcher, engine_key

# The largest number of candidate combinations one rule may bind in one session. The
# shipped packs' joins bind at most 61 (a customer month and its 5 credit bands... see
# docs/hardening.md for the measurement on the 100k-fact bench set); 100,000 leaves a real
# pack room for joins 1,000 times wider, while keeping a session's work to well under a
# second and 100 MB on either back-end.
MAX_COMBINATIONS = 100_000
# The most candidate combinations all the joined rules of one stage may bind together in one
# session: the same budget as one rule, so that many rules each under MAX_COMBINATIONS cannot
# add up to gigabytes (measured: 25 rules × 96,100 = 2.4 million, 1.1 GB / 1.9 GB).
MAX_STAGE_COMBINATIONS = 100_000
_MISSING = object()


def combinations(rule: CompiledRule, by_type: Mapping[str, Sequence[Mapping[str, Any]]],
                 candidates: list[list[Mapping[str, Any]]] | None = None,
                 ) -> tuple[int, list[int]]:
    """The most candidate combinations of facts ``rule`` binds over its first 2, 3, ...
    aliases (see the module docstring), and the number of candidate facts of each alias;
    ``by_type``: the session's facts by type; ``candidates``: :func:`_candidates` of them,
    when the caller has it already."""
    plan = rule.join_plan
    if candidates is None:
        candidates = _candidates(rule, by_type)
    index = {alias.alias: position for position, alias in enumerate(plan)}
    most = 0
    for size in range(2, len(plan) + 1):
        weights = [[1] * len(candidates[i]) for i in range(size)]
        for child in range(size - 1, 0, -1):  # children before the aliases they join
            join = plan[child].join
            parent = index.get(join[1], -1) if join is not None else -1
            # a fact never binds two aliases (durable-rules' semantics, followed by the
            # Python back-end): a fact joined with itself is not counted
            same = ({id(fact): weight for fact, weight
                     in zip(candidates[child], weights[child], strict=True)}
                    if plan[child].type == plan[max(parent, 0)].type else {})
            if join is None or not 0 <= parent < child:  # no usable equality: a product
                factor = sum(weights[child])
                weights[0] = [w * (factor - same.get(id(fact), 0))
                              for w, fact in zip(weights[0], candidates[0], strict=True)]
                continue
            fields, _other, other_fields = join
            sums: dict[Any, int] = {}
            for fact, weight in zip(candidates[child], weights[child], strict=True):
                key = _key(fact, fields)
                if key is not None and weight:
                    sums[key] = sums.get(key, 0) + weight
            row = weights[parent]
            for position, fact in enumerate(candidates[parent]):
                key = _key(fact, other_fields)
                if key is None:
                    row[position] = 0
                    continue
                itself = same.get(id(fact), 0) if _key(fact, fields) == key else 0
                row[position] *= sums.get(key, 0) - itself
        most = max(most, sum(weights[0]))
    return most, [len(found) for found in candidates]


def _candidates(rule: CompiledRule, by_type: Mapping[str, Sequence[Mapping[str, Any]]],
                ) -> list[list[Mapping[str, Any]]]:
    """Each alias's facts of its type that pass its own tests, in fact order."""
    out: list[list[Mapping[str, Any]]] = []
    for alias in rule.join_plan:
        facts = by_type.get(alias.type, ())
        own = alias.own
        out.append(list(facts) if own is None else
                   [f for f in facts if Matcher(f, {}).test(own)])
    return out


_KINDS = {bool: "true or false", int: "a whole number", float: "a number with a point",
          str: "text"}


def _join_kind_problem(rule: CompiledRule,
                       candidates: list[list[Mapping[str, Any]]]) -> str:
    """``""`` when every equality join of ``rule`` compares values of one kind over the
    session's ``candidates`` (:func:`_candidates`), else the problem, naming the first fact
    of each of two kinds.

    durable-rules and the Python back-end disagree on equality across kinds (measured:
    durable-rules matches 1 with "1" but not with 1.0; Python matched 1 with 1.0), so a join
    that would compare values of two kinds is refused rather than matched two ways.
    """
    plan = rule.join_plan
    index = {alias.alias: position for position, alias in enumerate(plan)}
    for child in range(1, len(plan)):
        join = plan[child].join
        parent = index.get(join[1], -1) if join is not None else -1
        if join is None or not 0 <= parent < child:
            continue
        fields, other, other_fields = join
        for field, other_field in zip(fields, other_fields, strict=True):
            seen: dict[str, tuple[str, str, Any]] = {}
            for alias, name, facts in ((other, other_field, candidates[parent]),
                                       (plan[child].alias, field, candidates[child])):
                for fact in facts:
                    value = fact.get(name, _MISSING)
                    if value is _MISSING or value is None:
                        continue
                    kind = _KINDS.get(type(value), type(value).__name__)
                    if kind not in seen:
                        seen[kind] = (f"{alias}.{name}", str(fact.get("key",
                                                                      fact.get("id"))), value)
            if len(seen) > 1:
                (k1, (f1, key1, v1)), (k2, (f2, key2, v2)) = list(seen.items())[:2]
                return (f"rule {rule.name} joins {plan[child].alias}.{field} to "
                        f"{other}.{other_field}, whose values in this session are of two "
                        f"kinds: {f1} of {key1} is {v1!r} ({k1}), {f2} of {key2} is {v2!r} "
                        f"({k2}); a join compares values of one kind (the back-ends would "
                        "match them differently)")
    return ""


def _key(fact: Mapping[str, Any], fields: Sequence[str]) -> tuple[Any, ...] | None:
    """The values of ``fields`` as the engines compare them; None when one is missing."""
    values = []
    for name in fields:
        value = fact.get(name, _MISSING)
        if value is _MISSING:
            return None
        values.append(engine_key(value))
    return tuple(values)


def check_combinations(stage: CompiledStage, facts: Sequence[Mapping[str, Any]],
                       limit: int | None = None, total_limit: int | None = None) -> None:
    """Raise :class:`InputError` (located at the rule's ``when``) when a join of a rule of
    ``stage`` would compare values of two kinds (:func:`_join_kind_problem`), when a rule
    would bind more than ``limit`` (default :data:`MAX_COMBINATIONS`) candidate
    combinations of ``facts``, one session's facts (the first such rule in stage order), or
    when its rules together would bind more than ``total_limit`` (default
    :data:`MAX_STAGE_COMBINATIONS`; located at the rule that binds the most, naming the
    largest three)."""
    joined = [rule for rule in stage.rules if len(rule.aliases) > 1]
    if not joined:
        return
    limit = MAX_COMBINATIONS if limit is None else limit
    total_limit = MAX_STAGE_COMBINATIONS if total_limit is None else total_limit
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for fact in facts:
        by_type.setdefault(str(fact.get("type", "")), []).append(fact)
    counted: list[tuple[int, CompiledRule]] = []
    for rule in joined:
        if any(not by_type.get(t) for t in rule.alias_types):
            continue  # an alias no fact can bind: nothing is matched
        candidates = _candidates(rule, by_type)  # filtered once, for both checks
        mixed = _join_kind_problem(rule, candidates)
        if mixed:
            raise InputError([_at(rule, mixed, "write the joined field's values in one kind "
                                  "in every fact, e.g. all as text; see docs/hardening.md, "
                                  "\"Rule packs\"")])
        count, found = combinations(rule, by_type, candidates)
        if count <= limit:
            if count:
                counted.append((count, rule))
            continue
        sizes = ", ".join(f"{a.alias}: {n:,} {a.type} facts"
                          for a, n in zip(rule.join_plan, found, strict=True))
        raise InputError([_at(rule,
            f"rule {rule.name} would bind {count:,} combinations of facts in one "
            f"evaluation session ({sizes}), more than the limit of {limit:,}: its joins do "
            "not tell the facts apart")])
    total = sum(count for count, _rule in counted)
    if total <= total_limit:
        return
    counted.sort(key=lambda item: (-item[0], item[1].name))
    named = ", ".join(f"{rule.name}: {count:,}" for count, rule in counted[:3])
    more = f" and {len(counted) - 3} more" if len(counted) > 3 else ""
    raise InputError([_at(counted[0][1],
        f"the {len(counted)} joined rules of stage {stage.name} would bind {total:,} "
        f"combinations of facts in all in one evaluation session ({named}{more}), more "
        f"than the limit of {total_limit:,} for a stage: together their joins do not tell "
        "the facts apart")])


_HINT = ("join each alias on a field that few facts share, such as a key, as in "
         "window: {fact: w.key}; see docs/hardening.md, \"Rule packs\"")


def _at(rule: CompiledRule, message: str, hint: str = _HINT) -> Diagnostic:
    """One located line at the rule's ``when``."""
    file, line, column, path = rule.origin
    return Diagnostic(file=file or rule.rule_id, line=line, column=column, path=path,
                      code="rules", message=message, hint=hint)
