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
from policyengine.model.variants import missing_term


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a close choice, else ``""``."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def missing_term_message(dotted: str, missing: tuple[str, str, list[str]]) -> str:
    """Words for :func:`~policyengine.model.variants.missing_term`'s answer."""
    what, where, names = missing
    head = dotted.partition(".")[0]
    if what == "clause":
        return (f"override {dotted!r}: the policy has no clause {head!r}"
                + did_you_mean(head, names))
    if not where:
        return f"override {dotted!r} names no term (write clause-id.term)"
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
                "value for subscriptions of this offering. The term must exist in that clause. "
                "Example: {availability-commitment.target_percent: 99.95}."
            ),
            "type": "object",
            "propertyNames": {
                "pattern": "^[a-z0-9][a-z0-9-]*\\.[A-Za-z_][A-Za-z0-9_.]*$",
                "patternErrorMessage": "expected clause-id.term like "
                                       "availability-commitment.target_percent",
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
        for dotted in clause.get("overrides") or {}:
            missing = missing_term(data, str(dotted))
            if missing is not None:
                problems.append(ctx.error((*path, "overrides", dotted),
                                          missing_term_message(str(dotted), missing)))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.add("overrides")
        overrides = terms.get("overrides") or {}
        if not overrides:
            return [("Changes", "nothing: the terms of this policy as written")]
        return [(f"Changes {dotted}", f"to {describe_value(value, dotted.rpartition('.')[2])}")
                for dotted, value in sorted(overrides.items())]

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        values.offerings.setdefault(clause.id, clause)
