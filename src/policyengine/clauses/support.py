"""Support: severity levels, how tickets are classified, and their time targets.

Kinds ``severity`` (a level 1..N, the impact that qualifies for it, response, periodic
update and resolution targets, each on a clock and a calendar, with an optional at-risk
threshold), ``severity_assignment`` (who assigns the level) and ``at_risk_threshold`` (the
policy-wide share of a target, or time before it falls due, from which a running target is
at risk). The rule pack classifies tickets (stage ``ticket-severity``) and judges the clocks
(``ticket-clocks``); the due and at-risk instants come from the level's targets, indexed
here by level. Source of the shapes: docs/policy-language.md, "Support levels".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
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
from policyengine.clocks.durations import duration_seconds, is_duration
from policyengine.diagnostics import Diagnostic
from policyengine.model.policy import Clause, Policy

#: A severity's time targets, in the order a ticket meets them.
TARGETS = ("response", "update", "resolution")
#: Kinds a target's ``calendar`` may name.
CALENDAR_KINDS = ("calendar", "regional_calendar")
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

AT_RISK_SCHEMA = {
    "title": "At-risk threshold",
    "description": (
        "From when a running target counts as at risk of breach: a share of the target "
        "elapsed on its clock (75%), or a time before it falls due, counted on the target's "
        "clock (1h). Examples: 75%, 1h."
    ),
    "type": "string",
    "pattern": "^([0-9]+(\\.[0-9]+)?%|[0-9]+(\\.[0-9]+)?(s|m|h|d|w))$",
    "patternErrorMessage": "expected a share of the target like 75% or a time before it "
                           "falls due like 1h",
    "examples": ["75%", "1h"],
}


@register("severity")
class Severity(ClauseKind):
    section = "support"
    summary_numbers = {"response.target": "duration", "resolution.target": "duration",
                       "update.target": "duration"}
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
                        "The id of the calendar clause whose opening hours count, or of a "
                        "regional_calendar clause (the customer's support_region picks the "
                        "calendar); needed when the clock is business. Example: support-hours."
                    ),
                    "$ref": "#/definitions/clause_id",
                },
                "at_risk": {
                    "description": (
                        "From when this target counts as at risk of breach, instead of the "
                        "policy's at_risk_threshold clause: a share of the target elapsed "
                        "(75%) or a time before it falls due (1h). Example: 75%."
                    ),
                    "$ref": "#/definitions/at_risk",
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
        },
        "at_risk": AT_RISK_SCHEMA,
    }
    terms = {
        "level": {
            "description": (
                "The severity number; 1 is the most severe. A policy's levels run 1..N with no "
                "gaps, each defined once. Example: 1."
            ),
            "type": "integer",
            "minimum": 1,
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
        "update": {
            "description": (
                "Periodic updates while the ticket is open: the longest time allowed from the "
                "first response to the first update, and between updates, until it is "
                "resolved (the ticket's updates give the times); leave out or null for none. "
                "Example: {target: 4h, clock: elapsed}."
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
        tests and ``MAX_DEFINITION_ALTERNATIVES`` alternatives; each target's at-risk
        threshold is inside the target; an update interval is shorter than a resolution
        target on the same clock (a warning: otherwise an update only falls due after the
        resolution is late)."""
        levels = ctx.scratch(self.name)
        level = clause.get("level")
        problems = []
        if level in levels:
            problems.append(ctx.error((*path, "level"),
                                      f"severity level {level} is defined twice"))
        levels.setdefault(level, path)
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
        for target_name in TARGETS:
            target = clause.get(target_name)
            if isinstance(target, dict) and target.get("at_risk") is not None:
                message = at_risk_problem(target["at_risk"], target.get("target"))
                if message:
                    problems.append(ctx.error((*path, target_name, "at_risk"), message))
        update, resolution = clause.get("update"), clause.get("resolution")
        if (isinstance(update, dict) and isinstance(resolution, dict)
                and update.get("clock") == resolution.get("clock")
                and update.get("calendar") == resolution.get("calendar")
                and is_duration(update.get("target")) and is_duration(resolution.get("target"))
                and duration_seconds(update["target"]) > duration_seconds(resolution["target"])):
            problems.append(ctx.warning(
                (*path, "update", "target"),
                f"an update every {update['target']} is longer than the "
                f"{resolution['target']} resolution target on the same clock: an update "
                "would only fall due after the resolution is late"))
        return problems

    def check_policy(self, ctx: CheckContext) -> Iterable[Diagnostic]:
        """Levels run 1..N without gaps; a target's calendar names a declared calendar or
        regional calendar clause (required on the business clock); a business-clock target
        (response, update or resolution) asks for at most ``MAX_TARGET_WEEKS`` weeks of its
        calendar's opening hours, of each calendar a regional calendar maps to (its at-risk
        instant comes before its due instant, so it is bounded too)."""
        from policyengine.clauses.calendars import weekly_open_seconds

        kinds = {clause.get("id"): clause.get("kind") for _, clause in ctx.clauses}
        calendars = sorted(str(i) for i, k in kinds.items() if k in CALENDAR_KINDS)
        weekly = {clause.get("id"): weekly_open_seconds(clause)
                  for _, clause in ctx.of_kind("calendar")}
        # the calendars a target's `calendar` may run on: itself, or every calendar a
        # regional calendar maps to (its default too), the fewest opening hours first;
        # undeclared ones are reported by the regional calendar
        runs_on: dict[Any, list[Any]] = {i: [i] for i in weekly}
        for _, clause in ctx.of_kind("regional_calendar"):
            mapped = [*(clause.get("regions") or {}).values(), clause.get("default")]
            runs_on[clause.get("id")] = sorted({c for c in mapped if c in weekly},
                                               key=lambda c: (weekly[c], str(c)))
        problems = []
        by_level: dict[int, ClausePath] = {}
        for path, clause in ctx.of_kind(self.name):
            level = clause.get("level")
            if isinstance(level, int) and not isinstance(level, bool):
                by_level.setdefault(level, path)
            for target_name in TARGETS:
                target = clause.get(target_name)
                if not isinstance(target, dict) or target.get("clock") != "business":
                    continue
                calendar = target.get("calendar")
                if kinds.get(calendar) not in CALENDAR_KINDS:
                    known = ", ".join(calendars) or "none declared"
                    problems.append(ctx.error((*path, target_name, "calendar"),
                                              f"undefined calendar {calendar!r} "
                                              f"(calendars: {known})", "reference"))
                    continue
                try:
                    seconds = duration_seconds(str(target.get("target")))
                except ValueError:
                    continue
                for runs in runs_on.get(calendar, ()):
                    open_seconds = weekly[runs]
                    if open_seconds > 0 and seconds > MAX_TARGET_WEEKS * open_seconds:
                        via = f" (for regional calendar {calendar!r})" if runs != calendar else ""
                        problems.append(ctx.error(
                            (*path, target_name, "target"),
                            f"{target.get('target')} of support hours is more than "
                            f"{MAX_TARGET_WEEKS} weeks of calendar {runs!r}{via} (open "
                            f"{open_seconds / 3600:g}h a week)"))
                        break
        expected = 1
        for level in sorted(by_level):
            if level != expected:
                missing = (f"level {expected} is missing" if level == expected + 1
                           else f"levels {expected}-{level - 1} are missing")
                problems.append(ctx.error((*by_level[level], "level"),
                                          f"severity levels run 1..N without gaps: {missing} "
                                          f"below level {level}"))
            expected = level + 1
        problems += self._catch_all(ctx)
        return problems

    def _catch_all(self, ctx: CheckContext) -> list[Diagnostic]:
        """A warning when no level is a catch-all (``definition: {all: []}``): a ticket
        that arrives without a level and whose impact matches no definition would get no
        severity, no targets and no finding. Located at the last level's ``definition``."""
        levels = ctx.of_kind(self.name)
        if not levels or any(_is_catch_all(clause.get("definition")) for _, clause in levels):
            return []
        path, _clause = levels[-1]
        return [ctx.warning((*path, "definition"),
                            "no severity level is a catch-all (definition: {all: []}): a ticket "
                            "without a recorded severity whose impact matches no level gets no "
                            "severity and no targets")]

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"level", "name", "definition", "response", "resolution", "update"})
        lines: TermLines = [
            ("Level", f"{terms.get('level')} ({terms.get('name')})"),
            ("Applies when", describe_condition(terms.get("definition") or {})),
            ("Initial response", _target(terms.get("response"))),
        ]
        if terms.get("update"):
            lines.append(("Updates", "at least every " + _target(terms["update"])
                          + ", from the first response until resolved"))
        lines.append(("Resolution", _target(terms.get("resolution"))))
        return lines

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The level's clause, by level (the first clause of a level wins)."""
        values.severities.setdefault(clause.term("level"), clause)


@register("at_risk_threshold")
class AtRiskThreshold(ClauseKind):
    section = "support"
    title = "At-risk threshold"
    description = (
        "From when a running response, update or resolution target counts as at risk of "
        "breach, for every target that does not give its own."
    )
    terms = {  # the at_risk definition comes with the severity kind
        "threshold": {
            "description": (
                "A share of the target elapsed (75%) or a time before it falls due, on the "
                "target's clock (1h). Example: 75%."
            ),
            "$ref": "#/definitions/at_risk",
        },
    }
    required = ("threshold",)
    single = True  # one per policy: evaluation reads the first

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """A share in (0, 100]%; a time before due shorter than every target it applies to
        (those without their own ``at_risk``). A second clause is refused as for every
        ``single`` kind."""
        threshold = clause.get("threshold")
        message = at_risk_problem(threshold, None)
        if message:
            return [ctx.error((*path, "threshold"), message)]
        problems = []
        for _severity_path, severity in ctx.of_kind("severity"):
            for target_name in TARGETS:
                target = severity.get(target_name)
                if isinstance(target, dict) and target.get("at_risk") is None:
                    message = at_risk_problem(threshold, target.get("target"))
                    if message:
                        problems.append(ctx.error(
                            (*path, "threshold"),
                            f"{message} ({severity.get('id')} {target_name})"))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.add("threshold")
        return [("At risk", _at_risk_words(terms.get("threshold")))]

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The policy-wide threshold (the first clause wins)."""
        if values.at_risk is None:
            values.at_risk = str(clause.term("threshold"))


def at_risk_problem(threshold: Any, target: Any) -> str | None:
    """What is wrong with an at-risk threshold for a target duration (None: nothing).

    A share must be above 0% and at most 100% (100%: at risk only when due); a time before
    due must be shorter than the target (``target`` None: not checked)."""
    text = str(threshold)
    if text.endswith("%"):
        share = Decimal(text[:-1])
        if share > 100:
            return f"at-risk threshold {text} is above 100%: a target is never more than used up"
        if share <= 0:
            return f"at-risk threshold {text} would put every ticket at risk as it opens"
        return None
    if not is_duration(text):
        return None  # the schema reports it
    if duration_seconds(text) <= 0:
        return f"at-risk threshold {text} is no time before due: use 100% for 'when due'"
    if is_duration(target) and duration_seconds(text) >= duration_seconds(target):
        return (f"at risk {text} before due is not inside the {target} target: it would "
                "put every ticket at risk as it opens")
    return None


@register("severity_assignment")
class SeverityAssignment(ClauseKind):
    section = "support"
    title = "Severity assignment"
    description = (
        "How severity levels given by the vendor are treated (no further terms): a level "
        "recorded on a ticket is used as given, and a reported impact that points to another "
        "level is noted. Without this clause a recorded level is still used as given, without "
        "the note."
    )

    def absence(self, policy: Policy) -> tuple[str, str] | None:
        """``show``'s line for a policy with severity levels and no such clause."""
        if not any(clause.kind == "severity" for clause in policy.clauses):
            return None
        return ("Assigned levels", "no severity_assignment clause: a level recorded on a "
                                   "ticket is used as given (the reported impact is not "
                                   "compared with it)")

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The policy's severity-assignment clause (the first wins)."""
        if values.severity_assignment is None:
            values.severity_assignment = clause


def _is_catch_all(definition: Any) -> bool:
    """Whether a level's definition holds for every ticket (``{all: []}`` or ``{}``)."""
    return isinstance(definition, Mapping) and all(
        key == "all" and not value for key, value in definition.items())


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
    if target.get("at_risk"):
        text += f"; {_at_risk_words(target['at_risk'])}"
    return text


def _at_risk_words(threshold: Any) -> str:
    text = str(threshold)
    if text.endswith("%"):
        return f"at risk once {text} of the target has run"
    return f"at risk from {text} before it falls due"
