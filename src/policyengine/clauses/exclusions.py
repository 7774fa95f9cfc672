"""Exclusions: what does not count as downtime.

Kinds ``scheduled_maintenance`` (windows announced in time are excluded up to a length),
``emergency_maintenance`` (the first windows of a month, up to a length), ``excused_cause``
(causes excused in full) and ``excluded_plan`` (plans with no commitment and no credits).
Their rules (``rules/availability.yaml``, stages ``window-exclusions`` and ``months``) read
the terms; no Python arithmetic is attached to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policyengine.clauses.registry import (
    CheckContext,
    ClauseKind,
    ClausePath,
    TermLines,
    register,
)
from policyengine.clauses.words import describe_notice, join_words
from policyengine.diagnostics import Diagnostic


@register("scheduled_maintenance")
class ScheduledMaintenance(ClauseKind):
    section = "exclusions"
    summary_numbers = {"notice.lead": "duration", "excluded_up_to": "duration"}
    title = "Scheduled maintenance exclusion"
    description = (
        "Planned maintenance that does not count as downtime when notice was given in time, up to "
        "a maximum length per window."
    )
    terms = {
        "notice": {
            "description": (
                "The notice that must have reached the customer for the exclusion to apply. "
                "Example: {kind: scheduled_downtime, lead: 48h, channels: [email]}."
            ),
            "type": "object",
            "required": ["kind", "lead", "channels"],
            "additionalProperties": False,
            "properties": {
                "kind": {
                    "description": "What the notice must announce. Example: scheduled_downtime.",
                    "$ref": "#/definitions/notice_kind",
                },
                "lead": {
                    "description": (
                        "How long before the maintenance starts the notice must arrive, at least. "
                        "Example: 48h."
                    ),
                    "$ref": "#/definitions/duration",
                },
                "channels": {
                    "description": (
                        "The channels by which notice may be given; any one of them is enough. "
                        "Example: [email, phone, portal]."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/channel"},
                    "minItems": 1,
                    "uniqueItems": True,
                },
            },
        },
        "excluded_up_to": {
            "description": (
                "How much of each window is excused, at most; the rest counts as downtime. "
                "Example: 6h."
            ),
            "$ref": "#/definitions/duration",
        },
    }
    required = ("notice", "excluded_up_to")

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"notice", "excluded_up_to"})
        return [
            ("Notice", describe_notice(terms.get("notice") or {})),
            ("Excluded", f"the first {terms.get('excluded_up_to')} of each window, when notice "
                         "was given in time; the rest counts, and all of it counts without "
                         "notice"),
        ]


@register("emergency_maintenance")
class EmergencyMaintenance(ClauseKind):
    section = "exclusions"
    summary_numbers = {"excluded_up_to": "duration"}
    title = "Emergency maintenance exclusion"
    description = (
        "Unplanned emergency maintenance that is excused up to a length and a number of windows "
        "per month."
    )
    terms = {
        "excluded_up_to": {
            "description": (
                "How much of each excused window is excused, at most; the rest counts as downtime. "
                "Example: 4h."
            ),
            "$ref": "#/definitions/duration",
        },
        "windows_per_month": {
            "description": (
                "How many emergency windows per calendar month are excused (the earliest ones), "
                "1 to 1000. Example: 1."
            ),
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
        },
    }
    required = ("excluded_up_to", "windows_per_month")

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"excluded_up_to", "windows_per_month"})
        count = terms.get("windows_per_month")
        windows = "the first emergency window" if count == 1 else f"the first {count} " \
            "emergency windows"
        return [
            ("Excluded", f"the first {terms.get('excluded_up_to')} of {windows} each calendar "
                         "month"),
            ("Counted", "any overrun, and every further emergency window that month"),
        ]


# a downtime fact's `cause` (schemas/facts.schema.json; a test keeps the two equal)
DOWNTIME_CAUSES = ("vendor", "customer", "third_party", "force_majeure")


@register("excused_cause")
class ExcusedCause(ClauseKind):
    section = "exclusions"
    title = "Excused causes"
    description = "Causes of downtime that are excused in full."
    terms = {
        "causes": {
            "description": (
                "The causes that excuse downtime, among those a downtime fact may give: "
                "vendor, customer, third_party, force_majeure. Example: [customer, "
                "third_party, force_majeure]."
            ),
            "type": "array",
            "items": {
                "type": "string",
                "pattern": "^[a-z][a-z0-9_]*$",
                "patternErrorMessage": "expected a cause in lowercase, like third_party",
                "examples": ["vendor", "customer", "third_party", "force_majeure"],
            },
            "uniqueItems": True,
            "maxItems": 100,
            "examples": [["customer", "third_party", "force_majeure"]],
        }
    }
    required = ("causes",)

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """``causes: []`` excuses nothing (an error); a cause no downtime fact can give (the
        fact vocabulary's ``cause``, :data:`DOWNTIME_CAUSES`) never matches (a warning: a
        rule pack of one's own may still read it)."""
        causes = clause.get("causes")
        if causes == []:
            return [ctx.error((*path, "causes"), "causes [] excuses nothing; list the causes "
                              "that excuse downtime, or remove the clause")]
        problems = []
        for i, cause in enumerate(causes or ()):
            if isinstance(cause, str) and cause not in DOWNTIME_CAUSES:
                problems.append(ctx.warning((*path, "causes", i), f"no downtime fact can give "
                                            f"cause {cause!r} (a downtime's cause is one of: "
                                            f"{', '.join(DOWNTIME_CAUSES)}): it excuses "
                                            "nothing"))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.add("causes")
        return [("Excused in full",
                 f"downtime caused by {join_words(terms.get('causes') or [])}")]


@register("excluded_plan")
class ExcludedPlan(ClauseKind):
    section = "exclusions"
    title = "Excluded plans"
    description = "Plans that carry no availability commitment and earn no credits."
    terms = {
        "plans": {
            "description": "The plans that are excluded. Example: [beta, trial, pilot].",
            "type": "array",
            "items": {"$ref": "#/definitions/plan"},
            "uniqueItems": True,
        }
    }
    required = ("plans",)

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.add("plans")
        return [("No commitment and no credits",
                 f"{join_words(terms.get('plans') or [])} plans")]
