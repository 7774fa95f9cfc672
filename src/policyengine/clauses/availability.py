"""Availability: the commitment a month is measured against (kind ``availability_commitment``).

The commitment names the target percentage, the period (a full calendar month) and the plans
and deployments it covers; the rule pack decides coverage and the verdict per customer and
month, and the target is what the availability report shows next to the measure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policyengine.clauses.registry import ClauseKind, TermLines, register
from policyengine.clauses.values import PolicyValues
from policyengine.clauses.words import describe_value, join_words
from policyengine.model.policy import Clause, Policy

_DEPLOYMENTS = {"saas": "SaaS", "on_premise": "on-premise"}


@register("availability_commitment")
class AvailabilityCommitment(ClauseKind):
    section = "availability"
    summary_numbers = {"target_percent": "percent"}
    title = "Availability commitment"
    description = (
        "How much of each period the service must be available, and which subscriptions the "
        "promise covers."
    )
    terms = {
        "period": {
            "description": (
                "The period over which availability is measured. The only period is "
                "calendar_month (a month in the policy's time zone); the term states it for the "
                "reader and fixes it for later versions. Example: calendar_month."
            ),
            "type": "string",
            "enum": ["calendar_month"],
            "x-enum-label": "period",
        },
        "full_months_only": {
            "description": (
                "Always true: only whole months inside the subscription term are covered; a part "
                "month at either end is not. Part months are not measured, so false is refused."
            ),
            "type": "boolean",
            "const": True,
            "x-messages": {
                "const": "only full months are covered (part months are not measured); write true"
            },
        },
        "target_percent": {
            "description": (
                "The promised availability as a percentage of the period; above 0 and at most 100. "
                "Example: 99.0."
            ),
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 100,
            "examples": [99.0, 99.9],
        },
        "plans": {
            "description": "The plans the commitment covers. Example: [production].",
            "type": "array",
            "items": {"$ref": "#/definitions/plan"},
            "uniqueItems": True,
        },
        "deployments": {
            "description": "The deployments the commitment covers. Example: [saas].",
            "type": "array",
            "items": {"$ref": "#/definitions/deployment"},
            "uniqueItems": True,
        },
    }
    required = ("period", "full_months_only", "target_percent", "plans", "deployments")
    # the natural first try at tiered credits (one commitment and one credit per band)
    # judged a month against two targets; a period is judged against one
    single = ("a period is judged against one target; for credits that rise as availability "
              "falls keep one commitment and write tiers on the service credit (tiers: "
              "[{below: 99.9, ...}, {below: 99.0, ...}]; docs/policy-language.md, Tiered "
              "credits)")

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"target_percent", "period", "full_months_only", "plans", "deployments"})
        period = "calendar month" if terms.get("period") == "calendar_month" else \
            str(terms.get("period", "period")).replace("_", " ")
        full = "full " if terms.get("full_months_only") else ""
        target = describe_value(terms.get("target_percent"), "target_percent")
        deployments = join_words(_DEPLOYMENTS.get(d, d) for d in terms.get("deployments") or [])
        return [
            ("Target", f"{target} of each {full}{period}"),
            ("Applies to", f"{join_words(terms.get('plans') or [])} plans, deployed as "
                           f"{deployments}"),
        ]

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The target percentage the availability rows show (the first commitment's)."""
        if values.availability_target is None:
            values.availability_target = clause.term("target_percent")
