"""Exclusions: what does not count as downtime.

Kinds ``scheduled_maintenance`` (windows announced in time are excluded up to a length),
``emergency_maintenance`` (the first windows of a month, up to a length), ``excused_cause``
(causes excused in full) and ``excluded_plan`` (plans with no commitment and no credits).
Their rules (``rules/availability.yaml``, stages ``window-exclusions`` and ``months``) read
the terms. The one piece of Python arithmetic is a scheduled-maintenance ``allowance``
across windows (what it leaves for each window, in the order windows start), measured by
the evaluator after the exclusions are decided (docs/policy-language.md, "A yearly
allowance").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from policyengine.clauses.registry import (
    CheckContext,
    ClauseKind,
    ClausePath,
    TermLines,
    register,
)
from policyengine.clauses.words import describe_notice, join_words
from policyengine.clocks.durations import duration_seconds
from policyengine.clocks.timeutil import local_midnight
from policyengine.diagnostics import Diagnostic

if TYPE_CHECKING:  # pragma: no cover - typing only
    from policyengine.model.policy import Clause, Policy

#: what a scheduled-maintenance allowance is counted per
ALLOWANCE_PER = ("calendar_month", "calendar_quarter", "calendar_year", "period")

#: ``excluded_up_to: whole_window``: the whole window is excluded, however long (the
#: contract sets no limit); ``windows_per_month: unlimited``: every window of the month.
WHOLE_WINDOW = "whole_window"
UNLIMITED = "unlimited"
_COUNT_MESSAGE = "expected a number of windows from 1 to 1000, or unlimited (every window)"
_UP_TO = {
    "type": "string",
    "pattern": "^(whole_window|[0-9]+(\\.[0-9]+)?(s|m|h|d|w))$",
    "patternErrorMessage": "expected a duration like 48h, 7d or 30m, or whole_window (all of "
                           "the window, however long)",
    "examples": ["6h", WHOLE_WINDOW],
}


#: the longest duration term (validation.policy.MAX_DURATION_SECONDS, which refuses more on
#: its own: a yearly allowance above 365d gets that one message, not two)
_LONGEST_TERM = 365 * 86400

#: calendar months in each period an allowance can be counted per
_PERIOD_MONTHS = {"calendar_month": 1, "calendar_quarter": 3, "calendar_year": 12}


@lru_cache(maxsize=64)
def longest_period_seconds(per: str, tz: str) -> float:
    """The real elapsed length, in seconds, of the longest ``per`` (calendar_month,
    calendar_quarter or calendar_year) in zone ``tz`` over the years a clock reaches
    (1971-2199): 31 days and the hour a clock falling back adds (745 h) in New York, 744 h in
    UTC; 2,209 h for a quarter in New York, 8,784 h for a leap year.

    Raises ``KeyError`` for another ``per`` and ``zoneinfo``'s errors for an unknown zone."""
    months = _PERIOD_MONTHS[per]
    longest = 0.0
    for year in range(1971, 2200):
        for first in range(1, 13, months):
            after = first - 1 + months
            end = dt.date(year + after // 12, after % 12 + 1, 1)
            longest = max(longest, local_midnight(end, tz)
                          - local_midnight(dt.date(year, first, 1), tz))
    return longest


def _hours(seconds: float) -> str:
    """``745h``, ``744.5h``: seconds as hours in a duration's written form."""
    return f"{seconds / 3600:g}h"


def _up_to(terms: Mapping[str, Any]) -> str:
    """How much of a window is excluded, in words."""
    if terms.get("excluded_up_to") == WHOLE_WINDOW:
        return "all of"
    return f"the first {terms.get('excluded_up_to')} of"


@register("scheduled_maintenance")
class ScheduledMaintenance(ClauseKind):
    section = "exclusions"
    summary_numbers = {"notice.lead": "duration", "excluded_up_to": "duration",
                       "allowance.total": "duration"}
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
                "whole_window: all of it, however long. Example: 6h."
            ),
            **_UP_TO,
        },
    }
    terms = {
        **terms,
        "allowance": {
            "description": (
                "At most this much scheduled maintenance is excluded in all per calendar "
                "month, quarter or year (or measurement period), across windows: windows "
                "draw on it in the order they start, and what is excluded beyond it counts. "
                "Example: {total: 10h, per: calendar_year}."
            ),
            "type": "object",
            "required": ["total", "per"],
            "additionalProperties": False,
            "properties": {
                "total": {
                    "description": "The most excluded in all per `per`. Example: 10h.",
                    "$ref": "#/definitions/duration",
                },
                "per": {
                    "description": (
                        "What the total is for, in the policy's timezone: calendar_month, "
                        "calendar_quarter, calendar_year, or period (the availability "
                        "commitment's measurement period). Example: calendar_year."
                    ),
                    "type": "string",
                    "enum": list(ALLOWANCE_PER),
                    "x-enum-label": "allowance period",
                },
            },
        },
    }
    required = ("notice", "excluded_up_to")

    def check_policy(self, ctx: CheckContext) -> Iterable[Diagnostic]:
        """``allowance.total`` at most the longest period it is counted per, in real elapsed
        time in the policy's zone (:func:`longest_period_seconds`; ``per: period`` is the
        commitment's period, the longest with several): more maintenance than that can never
        fall in one period, so a larger allowance could never be reached (attack16b G5)."""
        spec = ctx.document.data.get("spec") if isinstance(ctx.document.data, Mapping) else None
        tz = spec.get("timezone") if isinstance(spec, Mapping) else None
        if not isinstance(tz, str):
            return ()
        commitments = sorted({str(c.get("period") or "calendar_month")
                              for _, c in ctx.of_kind("availability_commitment")}
                             & set(_PERIOD_MONTHS)) or ["calendar_month"]
        problems = []
        for path, clause in ctx.of_kind(self.name):
            allowance = clause.get("allowance")
            if not isinstance(allowance, Mapping):
                continue
            per = str(allowance.get("per"))
            try:
                total = duration_seconds(str(allowance.get("total")))
                units = max(commitments, key=lambda p: _PERIOD_MONTHS[p]) \
                    if per == "period" else per
                longest = longest_period_seconds(units, tz)
            except Exception:  # noqa: BLE001 - the schema or the zone check reports it
                continue
            if longest < total <= _LONGEST_TERM:
                noun = units.replace("calendar_", "calendar ")
                why = (f" (per period: the commitment's period is {units})"
                       if per == "period" else "")
                problems.append(ctx.error(
                    (*path, "allowance", "total"),
                    f"allowance total {allowance.get('total')} can never be reached: a {noun} "
                    f"lasts at most {_hours(longest)} in {tz}{why}; at most "
                    f"{_hours(longest)}"))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"notice", "excluded_up_to", "allowance"})
        allowance = terms.get("allowance")
        extra: TermLines = []
        if isinstance(allowance, Mapping):
            per = str(allowance.get("per"))
            per = ("measurement period" if per == "period"
                   else per.replace("calendar_", "calendar "))
            extra.append(("Allowance", f"at most {allowance.get('total')} excluded in all per "
                                       f"{per}, across windows in the order they start; "
                                       "what is excluded beyond it counts"))
        return [
            ("Notice", describe_notice(terms.get("notice") or {})),
            ("Excluded", f"{_up_to(terms)} each window, when notice was given in time"
                         + ("; all of it counts without notice"
                            if terms.get("excluded_up_to") == WHOLE_WINDOW else
                            "; the rest counts, and all of it counts without notice")),
            *extra,
        ]

    def contribute(self, clause: Clause, values: Any, policy: Policy) -> None:
        """The allowance across windows, if any: (total seconds, per)."""
        allowance = clause.terms.get("allowance")
        if isinstance(allowance, Mapping) and values.maintenance_allowance is None:
            values.maintenance_allowance = (duration_seconds(str(allowance["total"])),
                                            str(allowance["per"]))


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
                "whole_window: all of it, however long. Example: 4h."
            ),
            **_UP_TO,
        },
        "windows_per_month": {
            "description": (
                "How many emergency windows per calendar month are excused (the earliest ones), "
                "1 to 1000, or unlimited (every one). Example: 1."
            ),
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": 1000,
                 "x-messages": {"type": _COUNT_MESSAGE}},
                {"const": UNLIMITED, "x-messages": {"const": _COUNT_MESSAGE}},
            ],
        },
    }
    required = ("excluded_up_to", "windows_per_month")

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"excluded_up_to", "windows_per_month"})
        count = terms.get("windows_per_month")
        windows = ("every emergency window" if count == UNLIMITED
                   else "the first emergency window" if count == 1
                   else f"the first {count} emergency windows")
        whole = terms.get("excluded_up_to") == WHOLE_WINDOW
        counted = ([] if whole else ["any overrun"]) + (
            [] if count == UNLIMITED else ["every further emergency window that month"])
        return [
            ("Excluded", f"{_up_to(terms)} {windows}"
                         + ("" if count == UNLIMITED else " each calendar month")),
            ("Counted", ", and ".join(counted) if counted else "none of it"),
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
