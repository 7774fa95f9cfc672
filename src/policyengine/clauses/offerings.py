"""Offerings: named service tiers with the terms they change (kind ``offering``).

An offering clause in ``spec.offerings`` names a tier a subscription may take (its ``id``
is the name a subscription's ``offering`` gives) and the terms that differ for it, as
``overrides: {clause-id.term.path: value}``. Together with ``offerings: [...]`` on any
clause (that clause applies only to those offerings) this lets one policy carry several
offerings: a subscription is evaluated against the policy *resolved* for its offering and
its own negotiated overrides (:mod:`policyengine.model.variants`). The resolved policy is
validated like any policy (:mod:`policyengine.validation.variants`), so an override that
sets a target to 150 is reported at the override. docs/policy-language.md, shape 6.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policyengine.clauses.registry import CheckContext, ClauseKind, TermLines, register
from policyengine.clauses.values import PolicyValues
from policyengine.clauses.words import describe_value
from policyengine.diagnostics import Diagnostic
from policyengine.model.policy import Clause, Policy
from policyengine.model.variants import missing_in_turn, term_steps


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a close choice, else ``""``."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def missing_term_message(dotted: str, missing: tuple[str, str, list[str]]) -> str:
    """Words for :func:`~policyengine.model.variants.missing_term`'s answer."""
    what, where, names = missing
    head = dotted.partition(".")[0]
    if what == "index":
        count = int(names[0])
        listed, _, index = where.rpartition(".")
        have = (f"indexes 0 to {count - 1}" if count > 1 else "index 0 only" if count
                else "no items")
        return (f"override {dotted!r}: {listed!r} of clause {head!r} has {count} "
                f"item{'s' if count != 1 else ''} ({have}), so there is no item {index}; an "
                "override replaces an item the list has, it never adds one")
    if what == "index-form":
        index = where.rpartition(".")[2]
        return (f"override {dotted!r}: write the list index {index!r} without leading zeros, "
                f"as {names[0]!r}: two spellings of one item would let the later override "
                "win by line order")
    if what == "list":
        return (f"override {dotted!r}: {where!r} of clause {head!r} is a list; name an item "
                f"by its index from 0, like {head}.{where}.0")
    if what == "clause":
        return (f"override {dotted!r}: the policy has no clause {head!r}"
                + did_you_mean(head, names))
    if not where:
        return f"override {dotted!r} names no term (write clause-id.term)"
    if "[" in dotted:
        return (f"override {dotted!r}: write a list item by its index from 0 between dots, "
                f"like {dotted.replace('[', '.').replace(']', '').replace('..', '.')}")
    if not names and "." not in where:
        return (f"override {dotted!r}: {where!r} is not a term of clause {head!r}; only its "
                "terms can be overridden")
    leaf = where.rpartition(".")[2]
    hint = did_you_mean(leaf, names) or (f" (it gives: {', '.join(names)})" if names else "")
    return (f"override {dotted!r}: clause {head!r} has no term {where!r}; an override "
            f"replaces a term the clause gives{hint}")


@register("offering")
class Offering(ClauseKind):
    section = "offerings"
    title = "Offering"
    description = (
        "A service tier a subscription may name in its `offering` (the clause id is the name), "
        "with the terms of other clauses that differ for it."
    )
    terms = {
        "overrides": {
            "description": (
                "The terms that differ for this offering: clause-id.term.path mapped to the "
                "value for subscriptions of this offering. The term must exist in that clause; "
                "a list item is named by its index from 0 (service-credit.tiers.0.below). "
                "Example: {availability-commitment.target_percent: 99.95}."
            ),
            "type": "object",
            "propertyNames": {
                "pattern": "^[a-z0-9][a-z0-9-]*\\.[A-Za-z_][A-Za-z0-9_.]*$",
                "patternErrorMessage": "expected clause-id.term like "
                                       "availability-commitment.target_percent (a list "
                                       "item by its index from 0, like "
                                       "service-credit.tiers.0.below)",
            },
        },
    }

    def check(self, ctx: CheckContext, path: tuple[str | int, ...],
              clause: Mapping[str, Any]) -> list[Diagnostic]:
        problems = []
        if "offerings" in clause:
            problems.append(ctx.error((*path, "offerings"),
                                      "an offering does not apply to other offerings; leave "
                                      "'offerings' out of an offering clause"))
        data = ctx.document.data
        overrides = clause.get("overrides") or {}
        edits = list(overrides.items()) if isinstance(overrides, Mapping) else []
        offering = clause.get("id") if isinstance(clause.get("id"), str) else None
        for (dotted, _value), missing in zip(
                edits, missing_in_turn(data, offering, edits, offering_overrides=False),
                strict=True):
            if missing is not None:
                problems.append(ctx.error((*path, "overrides", dotted),
                                          missing_term_message(str(dotted), missing)))
                continue
            outer = next((str(other) for other, _v in edits
                          if str(dotted).startswith(f"{other}.")), None)
            if outer is not None:
                problems.append(ctx.error(
                    (*path, "overrides", dotted),
                    f"override {dotted!r} is inside {outer!r}, which this offering overrides "
                    "too; which value applies would depend on the order they are written in: "
                    f"write the value in {outer!r}, or override the items one by one"))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.add("overrides")
        overrides = terms.get("overrides") or {}
        if not overrides:
            return [("Changes", "nothing: the terms of this policy as written")]
        lines: TermLines = []
        for dotted, value in sorted(overrides.items()):
            lines += override_lines(str(dotted), value)
        return lines


def item_name(steps: Iterable[str | int]) -> str:
    """The list items a term path names, in words: ``["tiers", 0, "below"]`` →
    ``tier 1``; ``""`` when the path names no list item (a list of ``xs`` has items
    ``x 1``, ``x 2``...: counted from 1 for the reader, written from 0 in the path)."""
    words: list[str] = []
    previous: str | int | None = None
    for step in steps:
        if isinstance(step, int):
            noun = str(previous or "item")
            noun = noun[:-1] if noun.endswith("s") and len(noun) > 1 else noun
            words.append(f"{noun.replace('_', ' ')} {step + 1}")
        previous = step
    return ", ".join(words)


def override_lines(dotted: str, value: Any) -> TermLines:
    """``show``'s lines for one override: ``Changes clause.term: to value``; a list item
    named by index says which (``Changes service-credit.tiers.0.below (tier 1): to 99.95``);
    a list of mappings (every band of a tiered credit) is one line per item, never one
    run-on line."""
    steps = term_steps(dotted.partition(".")[2])
    leaf = steps[-1] if steps else None
    named = item_name(steps)
    label = f"Changes {dotted}" + (f" ({named})" if named else "")
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        lines: TermLines = [(label, f"to these {len(value)} items")]
        lines += [(f"{label}, {item_name([*steps, index])}", describe_value(item))
                  for index, item in enumerate(value)]
        return lines
    return [(label, f"to {describe_value(value, leaf if isinstance(leaf, str) else None)}")]

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        values.offerings.setdefault(clause.id, clause)
