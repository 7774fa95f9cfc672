"""Availability: the commitment a period is measured against (kind ``availability_commitment``).

The commitment names the target percentage, the measurement period (a calendar month,
quarter or year in the policy's timezone) and the plans and deployments it covers; the rule
pack decides coverage and the verdict per customer and period, and the target is what the
availability report shows next to the measure. Optionally it says how services count
(``scope``: each subscribed service measured on its own, or the subscribed services
together), which services the offering has (``services``) and how much a minute of a
partial outage weighs (``impact_weights``); docs/policy-language.md, shapes 4 and 5.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policyengine.clauses.registry import CheckContext, ClauseKind, ClausePath, TermLines, register
from policyengine.clauses.values import PolicyValues
from policyengine.clauses.words import describe_value, join_words
from policyengine.diagnostics import Diagnostic
from policyengine.model.policy import Clause, Policy

_DEPLOYMENTS = {"saas": "SaaS", "on_premise": "on-premise"}
_PERIODS = {"calendar_month": "calendar month", "calendar_quarter": "calendar quarter",
            "calendar_year": "calendar year"}
# the first month of a period of each unit (a version must begin on a period's first day),
# in a year starting in January; a fiscal year shifts them (year_starts)
_PERIOD_STARTS = {"calendar_quarter": (1, 4, 7, 10), "calendar_year": (1,)}
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december")


def year_start(terms: Mapping[str, Any]) -> int:
    """The month (1-12) a commitment's year starts in (``year_starts``; January if not said)."""
    name = terms.get("year_starts")
    return MONTH_NAMES.index(name) + 1 if name in MONTH_NAMES else 1
_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$",
         "patternErrorMessage": "expected a lower-case name like api or partial_outage"}


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
                "The period over which availability is measured, in the policy's timezone: "
                "calendar_month, calendar_quarter or calendar_year. Example: calendar_quarter."
            ),
            "type": "string",
            "enum": ["calendar_month", "calendar_quarter", "calendar_year"],
            "x-enum-label": "period",
        },
        "year_starts": {
            "description": (
                "For a quarterly or yearly period: the month the year starts in, when it is not "
                "January (a fiscal year). Quarters then run from that month (february: "
                "February-April, May-July, August-October, November-January), keyed FY2027-Q1, "
                "the fiscal year named by the calendar year it ends in. Example: february."
            ),
            "type": "string",
            "enum": list(MONTH_NAMES),
            "x-enum-label": "month",
        },
        "full_months_only": {
            "description": (
                "true: only whole periods (months, or quarters or years for a longer period) "
                "inside the subscription term are covered; a part period at either end is not. "
                "false: a period the term starts or ends in is covered too, measured over its "
                "part inside the term (availability of the term's minutes), and its credit is "
                "computed on that part's fee (part_period_fee). Example: true."
            ),
            "type": "boolean",
        },
        "part_period_fee": {
            "description": (
                "With full_months_only false: the fee a part period's credit is computed on. "
                "pro_rated (the default): the period's fee times the days of the period in the "
                "term over the days of the period; full: the whole period's fee. Applies to the "
                "bases that are fees for the period (percent_of_monthly_fee, "
                "percent_of_period_fee, multiple_of_downtime_fees) and to a per-period cap's "
                "percentage. Example: pro_rated."
            ),
            "type": "string",
            "enum": ["pro_rated", "full"],
            "x-enum-label": "part-period fee",
        },
        "scope": {
            "description": (
                "How the services of a subscription are measured: per_service (a row and a "
                "verdict for each subscribed service, counting the downtime that names it) or "
                "across_services (one row for the subscribed services together, counting "
                "downtime that names any of them). Left out: services are not looked at; every "
                "downtime counts. Example: per_service."
            ),
            "type": "string",
            "enum": ["per_service", "across_services"],
            "x-enum-label": "scope",
        },
        "services": {
            "description": (
                "The services the commitment covers; a subscription that lists none has them "
                "all. Example: [api, dashboard]."
            ),
            "type": "array",
            "items": _NAME,
            "uniqueItems": True,
            "minItems": 1,
        },
        "impact_weights": {
            "description": (
                "How much a minute of downtime of each impact grade counts, from 0 to 1; a "
                "downtime without an impact is a full outage (1). Overlapping downtime counts "
                "once, at the highest weight. Example: {partial_outage: 0.5, major_outage: 1}."
            ),
            "type": "object",
            "propertyNames": _NAME,
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
            "minProperties": 1,
        },
        "weigh_affected_share": {
            "description": (
                "true: a minute of downtime counts at the share of users it affected (the "
                "downtime's affected_share, 1 when not given), times its impact weight; "
                "overlapping downtime counts once, at the highest. Left out or false: "
                "affected_share is ignored. Example: true."
            ),
            "type": "boolean",
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
    per_service_terms = ("target_percent",)
    # the natural first try at tiered credits (one commitment and one credit per band)
    # judged a month against two targets; a period is judged against one
    single = ("a period is judged against one target; for credits that rise as availability "
              "falls keep one commitment and write tiers on the service credit (tiers: "
              "[{below: 99.9, ...}, {below: 99.0, ...}]; docs/policy-language.md, Tiered "
              "credits)")

    def single_hint(self, first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
        """Right for what the second commitment changes: services of its own (a target per
        service), other plans or deployments (one commitment lists them all; other terms for
        some subscriptions are an offering), else a second target (tiers)."""
        if second.get("services") is not None and _differs(first, second, "services"):
            return ("for a different target per service keep one commitment that lists every "
                    "service, measured per service, and give a service its own target under "
                    "per_service (scope: per_service, per_service: {dashboard: "
                    "{target_percent: 99.5}}; docs/policy-language.md, Services and impact)")
        if _differs(first, second, "plans") or _differs(first, second, "deployments"):
            return ("one commitment covers every plan and deployment it lists (plans: [...], "
                    "deployments: [...]); for another target for some subscriptions define an "
                    "offering with its own target (spec.offerings, overrides: "
                    f"{{{first.get('id')}.target_percent: ...}}; docs/policy-language.md, "
                    "Offerings and negotiated terms)")
        return super().single_hint(first, second)

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"target_percent", "period", "full_months_only", "plans", "deployments",
                     "scope", "services", "impact_weights"})
        period = _PERIODS.get(str(terms.get("period")),
                              str(terms.get("period", "period")).replace("_", " "))
        full = "full " if terms.get("full_months_only") else ""
        target = describe_value(terms.get("target_percent"), "target_percent")
        deployments = join_words(_DEPLOYMENTS.get(d, d) for d in terms.get("deployments") or [])
        if terms.get("year_starts") in MONTH_NAMES[1:]:
            first = MONTH_NAMES.index(str(terms["year_starts"]))
            if terms.get("period") == "calendar_quarter":
                quarters = ", ".join(
                    f"{MONTH_NAMES[(first + 3 * q) % 12].capitalize()}-"
                    f"{MONTH_NAMES[(first + 3 * q + 2) % 12].capitalize()}" for q in range(4))
                period = f"fiscal quarter ({quarters}; FY named by the year it ends in)"
            else:
                period = (f"fiscal year ({MONTH_NAMES[first].capitalize()} to "
                          f"{MONTH_NAMES[(first + 11) % 12].capitalize()}; FY named by the "
                          "year it ends in)")
        done.add("year_starts")
        lines = [
            ("Target", f"{target} of each {full}{period}"),
            ("Applies to", f"{join_words(terms.get('plans') or [])} plans, deployed as "
                           f"{deployments}"),
        ]
        done.add("part_period_fee")
        if terms.get("full_months_only") is False:
            fee = ("the whole " + period + "'s fee"
                   if terms.get("part_period_fee") == "full"
                   else f"the {period}'s fee pro-rated by the days in the term")
            lines.append(("Part periods", f"a {period} the subscription term starts or ends "
                                          "in is measured over its part inside the term; its "
                                          f"credit is computed on {fee}"))
        services = terms.get("services")
        if services:
            lines.append(("Services", join_words(services, "and")))
        scope = terms.get("scope")
        if scope == "per_service":
            lines.append(("Measured", "for each subscribed service on its own"))
        elif scope == "across_services":
            lines.append(("Measured", "across the subscribed services together"))
        done.add("weigh_affected_share")
        if terms.get("weigh_affected_share") is True:
            lines.append(("Share of users", "a minute of downtime counts at the share of users "
                                            "it affected (all of them when not said)"))
        weights = terms.get("impact_weights")
        if weights:
            lines.append(("Impact weights", ", ".join(
                f"a minute of {grade.replace('_', ' ')} counts {weights[grade]}"
                for grade in sorted(weights))))
        return lines

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> list[Diagnostic]:
        """``part_period_fee`` only with ``full_months_only: false``. A quarterly or yearly
        period needs the version to begin on a period's first day
        (a period is judged by the version in force on its first day, so a version starting
        mid-period would judge part of a period it does not cover)."""
        if clause.get("part_period_fee") is not None and clause.get("full_months_only") is True:
            return [ctx.error((*path, "part_period_fee"),
                              "part_period_fee applies to part periods, and full_months_only "
                              "is true (only whole periods are covered); write "
                              "full_months_only: false, or leave part_period_fee out")]
        if clause.get("year_starts") is not None and str(clause.get("period")) not in \
                _PERIOD_STARTS:
            return [ctx.error((*path, "year_starts"),
                              "year_starts shifts the quarters or the year; a calendar month "
                              "is the same in any year: use it with period: calendar_quarter "
                              "or calendar_year, or leave it out")]
        shift = year_start(clause) - 1
        starts = tuple((m - 1 + shift) % 12 + 1
                       for m in _PERIOD_STARTS.get(str(clause.get("period")), ()))
        data = ctx.document.data if isinstance(ctx.document.data, Mapping) else {}
        effective = ((data.get("metadata") or {}).get("effective") or {})
        begins = effective.get("from") if isinstance(effective, Mapping) else None
        if not starts or not isinstance(begins, str) or len(begins) != 10:
            return []
        if begins[8:] != "01" or not begins[5:7].isdigit() or int(begins[5:7]) not in starts:
            unit = _PERIODS[str(clause["period"])]
            if shift:
                firsts = [MONTH_NAMES[m - 1].capitalize() for m in sorted(starts)]
                unit = (f"{unit.rpartition(' ')[2]} of a year starting in "
                        f"{MONTH_NAMES[shift].capitalize()} (the 1st of "
                        f"{join_words(firsts)})")
            return [ctx.error(("metadata", "effective", "from"),
                              f"effective.from {begins} is not the first day of a {unit}; "
                              f"clause {clause.get('id')!r} measures availability per "
                              f"{_PERIODS[str(clause['period'])]}, so a version must begin "
                              f"where one begins" if shift else
                              f"effective.from {begins} is not the first day of a {unit}; "
                              f"clause {clause.get('id')!r} measures availability per "
                              f"{unit}, so a version must begin where a {unit} begins")]
        return []

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The target percentage the availability rows show and how the period is measured
        (the first commitment's)."""
        if values.availability_target is None:
            values.availability_target = clause.term("target_percent")
            values.period = str(clause.terms.get("period", "calendar_month"))
            values.scope = clause.terms.get("scope")
            values.services = tuple(clause.terms.get("services") or ())
            values.impact_weights = dict(clause.terms.get("impact_weights") or {})
            values.year_starts = year_start(clause.terms)
            values.weigh_affected_share = clause.terms.get("weigh_affected_share") is True
            values.part_periods = clause.terms.get("full_months_only") is False
            values.part_period_fee = str(clause.terms.get("part_period_fee") or "pro_rated")


def _differs(first: Mapping[str, Any], second: Mapping[str, Any], term: str) -> bool:
    """Whether two clauses give a term differently (a list compared as a set)."""
    a, b = first.get(term), second.get(term)
    if isinstance(a, list) and isinstance(b, list):
        return {str(x) for x in a} != {str(x) for x in b}
    return a != b
