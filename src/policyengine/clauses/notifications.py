"""Notifications: notice owed ahead of maintenance and changes (kind ``notice_obligation``).

An obligation names its subject (``scheduled_maintenance``, ``significant_change``,
``high_priority_change``), the notice kind, lead time and channels, and its strength
(``binding`` or ``reasonable_efforts``). The rule pack decides whether notice was owed and in
time (stages ``obligations``, ``obligation-verdicts``); the report names the obligation by the
clause's id, found here by subject.
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
from policyengine.clauses.values import PolicyValues
from policyengine.clauses.words import describe_notice, describe_value
from policyengine.diagnostics import Diagnostic
from policyengine.model.policy import Clause, Policy

_SUBJECTS = {
    "scheduled_maintenance": "every scheduled maintenance window",
    "significant_change": "every significant change",
    "high_priority_change": "every high-priority update",
}
_STRENGTHS = {
    "binding": "binding (a miss is a breach)",
    "reasonable_efforts": "reasonable efforts (a miss is reported, not a breach)",
}


@register("notice_obligation")
class NoticeObligation(ClauseKind):
    section = "notifications"
    summary_numbers = {"lead": "duration"}
    title = "Notice obligation"
    description = "A duty to give notice ahead of an event, how far ahead and by which channels."
    terms = {
        "subject": {
            "description": "The event that must be announced. Example: scheduled_maintenance.",
            "type": "string",
            "enum": ["scheduled_maintenance", "significant_change", "high_priority_change"],
            "x-enum-label": "notice subject",
        },
        "notice_kind": {
            "description": "The kind of notice that fulfils the duty. Example: scheduled_downtime.",
            "$ref": "#/definitions/notice_kind",
        },
        "lead": {
            "description": (
                "How long before the event the notice must be given, at least. Example: 168h "
                "(seven days)."
            ),
            "$ref": "#/definitions/duration",
        },
        "channels": {
            "description": (
                "The channels by which notice may be given; any one of them is enough. Example: "
                "[email, phone, portal]."
            ),
            "type": "array",
            "items": {"$ref": "#/definitions/channel"},
            "minItems": 1,
            "uniqueItems": True,
        },
        "strength": {
            "description": (
                "binding: a miss is a breach; reasonable_efforts: a miss is reported but is not a "
                "breach. Example: binding."
            ),
            "type": "string",
            "enum": ["binding", "reasonable_efforts"],
            "x-enum-label": "strength",
        },
    }
    required = ("subject", "notice_kind", "lead", "channels", "strength")

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """One obligation per subject."""
        subjects = ctx.scratch(self.name)
        subject = clause.get("subject")
        problems = []
        if subject in subjects:
            problems.append(ctx.error((*path, "subject"),
                                      f"a second notice obligation for {subject!r}; one per "
                                      "subject"))
        subjects[subject] = path
        return problems

    def check_policy(self, ctx: CheckContext) -> Iterable[Diagnostic]:
        """Warn when the scheduled-maintenance exclusion and its notice obligation disagree.

        The contract states one notice period; the policy holds it twice (what excuses a
        window, and what is owed). An amendment that changes one and not the other is most
        likely a slip, so it is a warning, not an error.
        """
        exclusions = ctx.of_kind("scheduled_maintenance")
        problems = []
        for ob_path, obligation in ctx.of_kind(self.name):
            if obligation.get("subject") != "scheduled_maintenance":
                continue
            for _, exclusion in exclusions:
                notice = exclusion.get("notice") or {}
                if notice.get("lead") != obligation.get("lead"):
                    problems.append(ctx.warning(
                        (*ob_path, "lead"),
                        f"notice lead {obligation.get('lead')} differs from the "
                        f"{notice.get('lead')} that exclusion {exclusion.get('id')!r} "
                        "requires; change both if the notice period changed"))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"subject", "notice_kind", "lead", "channels", "strength"})
        subject = _SUBJECTS.get(str(terms.get("subject")), describe_value(terms.get("subject")))
        notice = describe_notice({"lead": terms.get("lead"), "channels": terms.get("channels"),
                                  "kind": terms.get("notice_kind")})
        strength = str(terms.get("strength"))
        return [
            ("Notice", f"{notice}, for {subject}"),
            ("Strength", _STRENGTHS.get(strength, strength.replace("_", " "))),
        ]

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The obligation owed for its subject (the first one, should there be two)."""
        values.obligations.setdefault(clause.term("subject"), clause)
