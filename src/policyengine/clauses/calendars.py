"""Calendars: business hours that clocks can run on (kind ``calendar``).

A calendar clause gives weekly opening hours in a time zone, the public holidays of a
country (and subdivision) on which it is closed, and one-off closures or openings. Its id
is what a time target with ``clock: business`` names; the calendar itself is a
:class:`policyengine.clocks.calendar.BusinessCalendar`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policyengine.clauses.registry import (
    CheckContext,
    ClauseKind,
    ClausePath,
    TermLines,
    register,
)
from policyengine.clauses.values import PolicyValues
from policyengine.clauses.words import join_words
from policyengine.clocks.calendar import WEEKDAYS, BusinessCalendar
from policyengine.diagnostics import Diagnostic
from policyengine.model.policy import Clause, Policy


@register("calendar")
class Calendar(ClauseKind):
    section = "calendars"
    title = "Business calendar"
    description = (
        "Opening hours used to count 'business hours' (e.g. support hours): weekly hours, public "
        "holidays and one-off changes."
    )
    definitions = {
        "time_span": {
            "title": "Opening hours",
            "description": (
                'One stretch of opening hours in a day. Example: {from: "09:00", to: "18:00"}.'
            ),
            "type": "object",
            "required": ["from", "to"],
            "additionalProperties": False,
            "properties": {
                "from": {
                    "description": "Opening time; this minute is open. Example: 09:00.",
                    "$ref": "#/definitions/time_of_day",
                },
                "to": {
                    "description": (
                        "Closing time; from this minute on it is closed. Example: 18:00. Use 24:00 "
                        "for midnight at the end of the day."
                    ),
                    "$ref": "#/definitions/time_of_day",
                },
            },
        }
    }
    terms = {
        "timezone": {
            "description": (
                "The time zone the opening hours are read in. Example: America/New_York."
            ),
            "$ref": "#/definitions/timezone",
        },
        "weekly_hours": {
            "description": (
                "Opening hours per day of the week. A day that is left out is closed all day. "
                'Example: monday: [{from: "09:00", to: "18:00"}].'
            ),
            "type": "object",
            "additionalProperties": False,
            "properties": {
                day: {
                    "description": (
                        f"Opening hours on {day.capitalize()}s; leave out or use [] for closed. "
                        'Example: [{from: "09:00", to: "18:00"}].'
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/time_span"},
                }
                for day in WEEKDAYS
            },
        },
        "holidays": {
            "description": (
                "Public holidays on which the calendar is closed all day. Example: {country: US, "
                "categories: [public], observed: true}."
            ),
            "type": "object",
            "required": ["country"],
            "additionalProperties": False,
            "properties": {
                "country": {
                    "description": (
                        "The country whose holidays apply, as a two-letter ISO code. Example: US."
                    ),
                    "type": "string",
                    "minLength": 1,
                    "pattern": "^[A-Z]{2}$",
                    "patternErrorMessage": "expected a two-letter country code like US",
                    "examples": ["US", "GB", "DE"],
                },
                "subdivision": {
                    "description": (
                        "A state or region whose own holidays also apply, as its ISO code. "
                        "Example: NY."
                    ),
                    "type": "string",
                    "minLength": 1,
                    "examples": ["NY", "CA"],
                },
                "categories": {
                    "description": (
                        "Which kinds of holidays count. Default: [public]. Example: [public, "
                        "government]."
                    ),
                    "type": "array",
                    "items": {
                        "type": "string",
                        "pattern": "^[a-z][a-z0-9_]*$",
                        "patternErrorMessage": "expected a holiday category like public",
                    },
                    "uniqueItems": True,
                    "examples": [["public"]],
                },
                "observed": {
                    "description": (
                        "true (the default): when a holiday falls on a weekend, the weekday it is "
                        "observed on is closed too (e.g. Friday 2026-07-03 for Saturday 4 July); "
                        "false: only the holiday's own date is closed."
                    ),
                    "type": "boolean",
                },
            },
        },
        "added_closures": {
            "description": "Extra days on which the calendar is closed. Example: [2026-12-24].",
            "type": "array",
            "items": {"$ref": "#/definitions/date"},
            "uniqueItems": True,
        },
        "removed_closures": {
            "description": (
                "Holidays on which the calendar is open after all. Example: [2026-11-11]."
            ),
            "type": "array",
            "items": {"$ref": "#/definitions/date"},
            "uniqueItems": True,
        },
    }
    required = ("timezone", "weekly_hours")

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """A calendar never open, a date both added and removed as a closure, an unknown
        time zone, opening hours that end before they start, and a holiday country
        (subdivision, categories) the ``holidays`` library does not know."""
        problems: list[Diagnostic] = []
        if weekly_open_seconds(clause) <= 0:
            problems.append(ctx.error((*path, "weekly_hours"),
                                      "the calendar is never open: give opening hours on at "
                                      "least one day (a business clock on it would never run)"))
        added = {str(day) for day in clause.get("added_closures") or ()}
        for i, day in enumerate(clause.get("removed_closures") or ()):
            if str(day) in added:
                problems.append(ctx.error((*path, "removed_closures", i),
                                          f"{day} is also in added_closures; a date is either "
                                          "closed or open"))
        tz = clause.get("timezone")
        if tz is not None and tz not in ctx.zones:
            problems.append(ctx.error((*path, "timezone"), f"unknown timezone {tz!r}"))
        for day, spans in (clause.get("weekly_hours") or {}).items():
            for i, span in enumerate(spans or ()):
                if str(span.get("from")) >= str(span.get("to")):
                    problems.append(ctx.error((*path, "weekly_hours", day, i),
                                              f"opening hours {span.get('from')}-{span.get('to')} "
                                              "end before they start"))
        holidays_spec = clause.get("holidays") or {}
        country = holidays_spec.get("country")
        if country:
            import holidays

            if country not in holidays.list_supported_countries():
                problems.append(ctx.error((*path, "holidays", "country"),
                                          f"no holiday calendar for country {country!r}"))
            else:
                try:
                    holidays.country_holidays(country, subdiv=holidays_spec.get("subdivision"),
                                              categories=tuple(holidays_spec.get("categories")
                                                               or ("public",)), years=2026)
                except (NotImplementedError, ValueError) as error:
                    problems.append(ctx.error((*path, "holidays"), str(error)))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"weekly_hours", "holidays", "added_closures", "removed_closures",
                     "timezone"})
        weekly = terms.get("weekly_hours") or {}
        tz = terms.get("timezone")
        lines: TermLines = []
        groups: list[tuple[list[str], str]] = []
        for day in WEEKDAYS:
            spans = ", ".join(f"{s['from']}–{s['to']}" for s in weekly.get(day) or ())
            if groups and groups[-1][1] == spans:
                groups[-1][0].append(day)
            else:
                groups.append(([day], spans))
        open_groups = [(days, spans) for days, spans in groups if spans]
        hours = "; ".join(
            f"{_day_range(days)} {spans}" for days, spans in open_groups
        ) or "never open"
        lines.append(("Hours", f"{hours}" + (f" ({tz} time)" if tz else "")))
        closed = [day for days, spans in groups if not spans for day in days]
        if closed and open_groups:
            lines.append(("Closed", join_words([d.capitalize() for d in closed], "and")))
        holidays = terms.get("holidays") or {}
        if holidays.get("country"):
            where = holidays["country"]
            if holidays.get("subdivision"):
                where = f"{where}-{holidays['subdivision']}"
            categories = join_words(holidays.get("categories") or ["public"], "and")
            observed = (" (observed dates)" if holidays.get("observed", True)
                        else " (their own dates only, open on observed dates)")
            lines.append(("Holidays", f"closed on {categories} holidays of {where}{observed}"))
        if terms.get("added_closures"):
            lines.append(("Also closed", join_words(terms["added_closures"], "and")))
        if terms.get("removed_closures"):
            lines.append(("Open despite a holiday",
                          join_words(terms["removed_closures"], "and")))
        return lines

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The clause's :class:`BusinessCalendar`, built on first use."""
        values.calendar_builders[clause.id] = functools.partial(build_calendar, clause,
                                                                 policy.timezone)


def build_calendar(clause: Clause, default_timezone: str) -> BusinessCalendar:
    """A calendar clause as a :class:`BusinessCalendar` (its own time zone, else the
    policy's); ValueError for hours or holidays the calendar cannot use."""
    terms = clause.terms
    hours = terms.get("weekly_hours") or {}
    weekly = {day: [(s["from"], s["to"]) for s in hours.get(day) or ()] for day in WEEKDAYS}
    holidays = terms.get("holidays") or {}
    return BusinessCalendar(
        timezone=terms.get("timezone", default_timezone),
        weekly_hours=weekly,
        holiday_country=holidays.get("country"),
        holiday_subdivision=holidays.get("subdivision"),
        holiday_categories=tuple(holidays.get("categories") or ("public",)),
        holiday_observed=bool(holidays.get("observed", True)),
        added_closures=_dates(terms.get("added_closures")),
        removed_closures=_dates(terms.get("removed_closures")),
    )


def weekly_open_seconds(terms: Mapping[str, Any]) -> int:
    """Seconds a calendar clause's ``weekly_hours`` are open in a week (overlapping spans
    of a day counted once; spans that are not ``HH:MM`` pairs are skipped)."""
    total = 0
    for spans in (terms.get("weekly_hours") or {}).values():
        minutes: list[tuple[int, int]] = []
        for span in spans or ():
            try:
                start, end = _minute(span.get("from")), _minute(span.get("to"))
            except (AttributeError, TypeError, ValueError):
                continue
            if end > start:
                minutes.append((start, end))
        covered = -1
        for start, end in sorted(minutes):
            start = max(start, covered)
            if end > start:
                total += (end - start) * 60
                covered = end
    return total


def _minute(text: Any) -> int:
    hours, minutes = str(text).split(":")
    return int(hours) * 60 + int(minutes)


def _dates(values: Any) -> list[dt.date]:
    return [dt.date.fromisoformat(str(v)) for v in values or ()]


def _day_range(days: Sequence[str]) -> str:
    names = [d.capitalize() for d in days]
    return names[0] if len(names) == 1 else f"{names[0]}–{names[-1]}"
