"""Support: severity levels, how tickets are classified, and their response targets.

Kinds ``severity`` (a level, the impact that qualifies for it, response and resolution
targets on a clock) and ``severity_assignment`` (who assigns the level). The rule pack
classifies tickets (stage ``ticket-severity``) and judges the clocks (``ticket-clocks``); the
due instants come from the level's targets, indexed here by level.
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
from policyengine.clauses.words import describe_condition, join_words
from policyengine.diagnostics import Diagnostic
from policyengine.model.policy import Clause, Policy

TARGETS = ("response", "resolution")
#: A business-clock target may ask for at most this many weeks of its calendar's opening
#: hours (a 4h target in a 45h week is 0.09 weeks): beyond it a due time could fall past the
#: supported years, and no support term is that long.
MAX_TARGET_WEEKS = 52
#: A severity definition holds at most this many field tests and listed values, and can be
#: met in at most this many alternative ways (``any`` adds its branches, ``all`` multiplies
#: them, an ``in`` list adds its values): durable-rules refuses a rule with much more than
#: 100 alternatives and aborts when one ticket meets more than 64 of one rule set.
MAX_DEFINITION_TESTS = 64
MAX_DEFINITION_ALTERNATIVES = 32


@register("severity")
class Severity(ClauseKind):
    section = "support"
    summary_numbers = {"response.target": "duration", "resolution.target": "duration"}
    title = "Severity level"
    description = (
        "A support severity level: how a ticket qualifies for it and its response and resolution "
        "targets."
    )
    definitions = {
        "target": {
            "title": "Time target",
            "description": (
                "A time limit and the clock it runs on. Example: {target: 4h, clock: business, "
                "calendar: support-hours}."
            ),
            "type": "object",
            "required": ["target", "clock"],
            "additionalProperties": False,
            "properties": {
                "target": {
                    "description": "The time allowed. Example: 4h.",
                    "$ref": "#/definitions/duration",
                },
                "clock": {
                    "description": (
                        "business: only opening hours of a calendar count; elapsed: every hour "
                        "counts, around the clock. Example: business."
                    ),
                    "type": "string",
                    "enum": ["business", "elapsed"],
                    "x-enum-label": "clock",
                },
                "calendar": {
                    "description": (
                        "The id of the calendar clause whose opening hours count; needed when the "
                        "clock is business. Example: support-hours."
                    ),
                    "$ref": "#/definitions/clause_id",
                },
                "pause_on": {
                    "description": (
                        "Ticket statuses during which the clock stops. Example: "
                        "[waiting_on_customer]."
                    ),
                    "type": "array",
                    "items": {
                        "description": "A ticket status. Example: waiting_on_customer.",
                        "type": "string",
                        "minLength": 1,
                    },
                    "uniqueItems": True,
                },
            },
            "if": {"properties": {"clock": {"const": "business"}}, "required": ["clock"]},
            "then": {"required": ["calendar"]},
        }
    }
    terms = {
        "level": {
            "description": "The severity number; 1 is the most severe. Example: 1.",
            "type": "integer",
            "minimum": 1,
            "maximum": 9,
        },
        "name": {
            "description": "The level's name. Example: Critical Impact.",
            "type": "string",
            "minLength": 1,
        },
        "definition": {
            "description": (
                "When an unclassified ticket falls in this level, as a test on its reported "
                "impact. Levels are tried from the most severe. Example: {all: "
                "[{production_degraded: true}]}."
            ),
            "$ref": "#/definitions/condition",
        },
        "response": {
            "description": (
                "The time allowed for the first response. Example: {target: 4h, clock: business, "
                "calendar: support-hours}."
            ),
            "$ref": "#/definitions/target",
        },
        "resolution": {
            "description": (
                "The time allowed for a fix or workaround, or null when there is no target. "
                "Example: {target: 24h, clock: elapsed}."
            ),
            "type": ["object", "null"],
            "if": {"type": "object"},
            "then": {"$ref": "#/definitions/target"},
        },
    }
    required = ("level", "name", "definition", "response", "resolution")
    whole_terms = frozenset({"definition"})

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """A level is defined once; a definition holds at most ``MAX_DEFINITION_TESTS``
        tests and ``MAX_DEFINITION_ALTERNATIVES`` alternatives."""
        levels = ctx.scratch(self.name)
        level = clause.get("level")
        problems = []
        if level in levels:
            problems.append(ctx.error((*path, "level"),
                                      f"severity level {level} is defined twice"))
        levels[level] = path
        tests = _count_tests(clause.get("definition"))
        ways = _alternatives(clause.get("definition"))
        if tests > MAX_DEFINITION_TESTS:
            problems.append(ctx.error((*path, "definition"),
                                      f"the definition holds {tests} tests and listed values; "
                                      f"at most {MAX_DEFINITION_TESTS}"))
        elif ways > MAX_DEFINITION_ALTERNATIVES:
            problems.append(ctx.error((*path, "definition"),
                                      f"the definition can be met in {ways} alternative ways "
                                      "(each 'any' adds its branches, each 'all' multiplies "
                                      f"them); at most {MAX_DEFINITION_ALTERNATIVES}"))
        return problems

    def check_policy(self, ctx: CheckContext) -> Iterable[Diagnostic]:
        """A target on the business clock names a declared calendar clause, and asks for at
        most ``MAX_TARGET_WEEKS`` weeks of its opening hours."""
        from policyengine.clauses.calendars import weekly_open_seconds
        from policyengine.clocks.durations import duration_seconds

        weekly = {clause.get("id"): weekly_open_seconds(clause)
                  for _, clause in ctx.of_kind("calendar")}
        calendars = set(weekly)
        problems = []
        for path, clause in ctx.of_kind(self.name):
            for target_name in TARGETS:
                target = clause.get(target_name)
                if not isinstance(target, dict) or target.get("clock") != "business":
                    continue
                calendar = target.get("calendar")
                if calendar not in calendars:
                    known = ", ".join(sorted(calendars)) or "none declared"
                    problems.append(ctx.error((*path, target_name, "calendar"),
                                              f"undefined calendar {calendar!r} "
                                              f"(calendars: {known})", "reference"))
                    continue
                try:
                    seconds = duration_seconds(str(target.get("target")))
                except ValueError:
                    continue
                open_seconds = weekly[calendar]
                if open_seconds > 0 and seconds > MAX_TARGET_WEEKS * open_seconds:
                    problems.append(ctx.error(
                        (*path, target_name, "target"),
                        f"{target.get('target')} of support hours is more than "
                        f"{MAX_TARGET_WEEKS} weeks of calendar {calendar!r} (open "
                        f"{open_seconds / 3600:g}h a week)"))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"level", "name", "definition", "response", "resolution"})
        return [
            ("Level", f"{terms.get('level')} ({terms.get('name')})"),
            ("Applies when", describe_condition(terms.get("definition") or {})),
            ("Initial response", _target(terms.get("response"))),
            ("Resolution", _target(terms.get("resolution"))),
        ]

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The level's clause, by level (the first clause of a level wins)."""
        values.severities.setdefault(clause.term("level"), clause)


@register("severity_assignment")
class SeverityAssignment(ClauseKind):
    section = "support"
    title = "Severity assignment"
    description = "How severity levels given by the vendor are treated (no further terms)."


def _count_tests(condition: Any) -> int:
    """Field tests and listed values in a condition (``all``/``any`` nest)."""
    if isinstance(condition, list):
        return sum(_count_tests(item) for item in condition)
    if not isinstance(condition, Mapping):
        return 0
    count = 0
    for key, test in condition.items():
        if key in ("all", "any"):
            count += _count_tests(test)
        elif isinstance(test, Mapping) and len(test) == 1:
            operand = next(iter(test.values()))
            count += len(operand) if isinstance(operand, list) else 1
        else:
            count += 1
    return count


def _alternatives(condition: Any) -> int:
    """Ways a condition can be met: ``all`` multiplies, ``any`` adds, ``in`` lists add."""
    if not isinstance(condition, Mapping):
        return 1
    ways = 1
    for key, test in condition.items():
        if key == "all":
            for item in test or ():
                ways *= _alternatives(item)
        elif key == "any":
            ways *= max(1, sum(_alternatives(item) for item in test or ()))
        elif isinstance(test, Mapping) and isinstance(test.get("in"), list):
            ways *= max(1, len(test["in"]))
        if ways > 10**6:  # enough to refuse; do not multiply on
            return ways
    return ways


def _target(target: Any) -> str:
    if not target:
        return "no target"
    text = str(target.get("target"))
    if target.get("clock") == "business":
        text += f" in support hours (calendar {target.get('calendar')})"
    else:
        text += " elapsed, around the clock"
    if target.get("pause_on"):
        text += f"; the clock stops while the ticket is {join_words(target['pause_on'])}"
    return text
