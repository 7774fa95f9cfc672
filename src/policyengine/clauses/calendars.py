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
            from policyengine.clocks.zones import zone_problem

            problems.append(ctx.error((*path, "timezone"),
                                      zone_problem(tz) or f"unknown timezone {tz!r}"))
        for day, spans in (clause.get("weekly_hours") or {}).items():
            for i, span in enumerate(spans or ()):
                if str(span.get("from")) >= str(span.get("to")):
                    problems.append(ctx.error((*path, "weekly_hours", day, i),
                                              f"opening hours {span.get('from')}-{span.get('to')} "
                                              "end before they start"))
        holidays_spec = clause.get("holidays") or {}
        country = holidays_spec.get("country")
        usable = True
        if "categories" in holidays_spec and not holidays_spec.get("categories"):
            usable = False
            problems.append(ctx.error((*path, "holidays", "categories"),
                                      "categories [] names no kind of holiday; leave the key "
                                      "out for the default [public], or leave out 'holidays' "
                                      "for a calendar closed on no holiday"))
        if country:
            import holidays

            if country not in holidays.list_supported_countries():
                usable = False
                problems.append(ctx.error((*path, "holidays", "country"),
                                          f"no holiday calendar for country {country!r}"))
            elif usable:
                try:
                    holidays.country_holidays(country, subdiv=holidays_spec.get("subdivision"),
                                              categories=tuple(holidays_spec.get("categories")
                                                               or ("public",)), years=2026)
                except (NotImplementedError, ValueError) as error:
                    usable = False
                    problems.append(ctx.error((*path, "holidays"), str(error)))
        if usable and not problems:
            problems.extend(_closure_problems(ctx, path, clause))
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


def _closure_problems(ctx: CheckContext, path: ClausePath,
                      clause: Mapping[str, Any]) -> list[Diagnostic]:
    """Closures that cannot do what ``show`` says (issue 16 §2: every term does what it says).

    A removed closure must reopen something: a date outside the years a clock can reach, a date
    that is no holiday of the calendar (nor an added closure), or a holiday on a weekday the
    calendar has no opening hours is an error naming what to write instead (a weekend
    holiday's observed date). An added closure outside those years is an error; one
    on a day already closed (a holiday, a day without opening hours) a warning.
    """
    from policyengine.clocks.calendar import MAX_YEAR
    from policyengine.clocks.timeutil import FIRST_YEAR

    problems: list[Diagnostic] = []
    calendar_id = clause.get("id")
    open_days = {day for day, spans in (clause.get("weekly_hours") or {}).items() if spans}
    added = {str(day) for day in clause.get("added_closures") or ()}
    for term in ("added_closures", "removed_closures"):
        for i, value in enumerate(clause.get(term) or ()):
            text = str(value)
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                continue  # the schema's date format reports it
            where = (*path, term, i)
            # facts end in 1971..2199; a due time may run on into 2200, the last year indexed
            if not FIRST_YEAR <= day.year <= MAX_YEAR:
                problems.append(ctx.error(where, f"{text} is outside the years a clock can "
                                          f"reach ({FIRST_YEAR}-{MAX_YEAR}): it can never take "
                                          "effect"))
                continue
            if term == "removed_closures" and text in added:
                continue  # reported as a date both added and removed
            weekday = WEEKDAYS[day.weekday()]
            names = _holidays_on(clause, day)
            if term == "added_closures":
                if weekday not in open_days:
                    problems.append(ctx.warning(where, f"{text} is a {weekday.capitalize()}, "
                                                f"when calendar {calendar_id!r} has no opening "
                                                "hours: closing it changes nothing"))
                elif names:
                    problems.append(ctx.warning(where, f"{text} is already closed "
                                                f"({names}): closing it again changes "
                                                "nothing"))
                continue
            if not names:
                near = _observed_near(clause, day)
                hint = f"; did you mean {near[0]} ({near[1]})?" if near else ""
                problems.append(ctx.error(where, f"{text} is no closure of calendar "
                                          f"{calendar_id!r} (no holiday of its country, nor an "
                                          f"added closure): removing it opens nothing{hint}"))
            elif weekday not in open_days:
                near = _observed_near(clause, day, exclude=day)
                hint = (f"; it is observed on {near[0]}: remove that date to open on the "
                        "observed day" if near else "")
                problems.append(ctx.error(where, f"{text} ({names}) is a "
                                          f"{weekday.capitalize()}, when calendar "
                                          f"{calendar_id!r} has no opening hours: removing it "
                                          f"opens nothing{hint}"))
    return problems


def _holiday_source(clause: Mapping[str, Any], year: int) -> Mapping[dt.date, str]:
    holidays_spec = clause.get("holidays") or {}
    if not holidays_spec.get("country"):
        return {}
    import holidays

    return holidays.country_holidays(
        holidays_spec["country"], subdiv=holidays_spec.get("subdivision"),
        categories=tuple(holidays_spec.get("categories") or ("public",)),
        observed=bool(holidays_spec.get("observed", True)), years=(year - 1, year, year + 1))


def _holidays_on(clause: Mapping[str, Any], day: dt.date) -> str:
    """The names of the calendar's holidays on ``day`` ("" when none)."""
    return str(_holiday_source(clause, day.year).get(day) or "")


def _observed_near(clause: Mapping[str, Any], day: dt.date,
                   exclude: dt.date | None = None) -> tuple[str, str] | None:
    """The nearest holiday of the calendar within three days of ``day`` on a weekday it is
    open, as (date, name): ``("2026-07-03", "Independence Day (observed)")``; or None."""
    source = _holiday_source(clause, day.year)
    open_days = {d for d, spans in (clause.get("weekly_hours") or {}).items() if spans}
    for distance in (1, 2, 3):
        for sign in (-1, 1):
            other = day + dt.timedelta(days=sign * distance)
            if other != exclude and other in source and WEEKDAYS[other.weekday()] in open_days:
                return other.isoformat(), str(source[other])
    return None


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


@register("regional_calendar")
class RegionalCalendar(ClauseKind):
    section = "calendars"
    title = "Calendar by support region"
    description = (
        "Support hours that depend on the customer: each support region (a subscription's "
        "support_region) has its own calendar; a subscription without a region uses the "
        "default. A time target names this clause as its calendar."
    )
    terms = {
        "regions": {
            "description": (
                "The calendar clause of each support region. Example: {emea: emea-hours, "
                "americas: americas-hours}."
            ),
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"minLength": 1},
            "additionalProperties": {"$ref": "#/definitions/clause_id"},
        },
        "default": {
            "description": (
                "The calendar clause for a subscription that names no support region. "
                "Example: americas-hours."
            ),
            "$ref": "#/definitions/clause_id",
        },
    }
    required = ("regions", "default")

    def check_policy(self, ctx: CheckContext) -> Iterable[Diagnostic]:
        """Every calendar named is a ``calendar`` clause; every regional calendar of a policy
        names the same regions (so a region is known, or not, to the whole policy)."""
        calendars = sorted(str(clause.get("id")) for _, clause in ctx.of_kind("calendar"))
        known = ", ".join(calendars) or "none declared"
        problems: list[Diagnostic] = []
        first: tuple[str, set[str]] | None = None
        for path, clause in ctx.of_kind(self.name):
            regions = clause.get("regions") or {}
            for region, calendar in regions.items():
                if calendar not in calendars:
                    problems.append(ctx.error((*path, "regions", region),
                                              f"undefined calendar {calendar!r} for region "
                                              f"{region!r} (calendars: {known})", "reference"))
            default = clause.get("default")
            if default is not None and default not in calendars:
                problems.append(ctx.error((*path, "default"), f"undefined calendar {default!r} "
                                          f"(calendars: {known})", "reference"))
            names = set(regions)
            if first is None:
                first = (str(clause.get("id")), names)
            elif names != first[1]:
                other = first[0]
                gaps = []
                if first[1] - names:
                    gaps.append(f"lacks {join_words(sorted(first[1] - names), 'and')}")
                if names - first[1]:
                    gaps.append(f"adds {join_words(sorted(names - first[1]), 'and')}")
                problems.append(ctx.error((*path, "regions"),
                                          f"regional calendars must name the same regions: "
                                          f"this one {' and '.join(gaps)} compared with "
                                          f"{other!r}"))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"regions", "default"})
        regions = terms.get("regions") or {}
        lines: TermLines = [(f"Region {region}", f"calendar {calendar}")
                            for region, calendar in sorted(regions.items())]
        lines.append(("No region", f"calendar {terms.get('default')}"))
        return lines

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The region → calendar map, by this clause's id."""
        values.regional_calendars[clause.id] = (
            {str(k): str(v) for k, v in (clause.term("regions") or {}).items()},
            str(clause.term("default")),
        )
