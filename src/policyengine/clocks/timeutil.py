"""Calendar months, local dates and ISO output in a policy's timezone.

Elapsed arithmetic is done in epoch seconds; local wall time is only used to find
boundaries (midnight, the first of a month), each converted to UTC on its own.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo

# Years every clock and calendar handles (the business-hour index covers 1970..2200): facts,
# importers, CLI instants and policy dates outside them are refused.
FIRST_YEAR, LAST_YEAR = 1971, 2199


# The one written form of a timestamp (facts in every format, CLI and API options): an ISO 8601
# calendar date, a time to the minute, second or microsecond, and Z or an offset ±HH:MM.
TIMESTAMP_FORM = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})")
# What an importer reads as ISO text (docs/hardening.md, "One timestamp rule"): the one form,
# or the same without an offset (naive: the mapping's zone), a comma allowed as decimal sign;
# a source whose vendor documents offsets without a colon (Jira) reads ``±HHMM`` too.
IMPORT_FORM = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?")
IMPORT_FORM_NO_COLON = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?")
_BASIC_FORM = re.compile(
    r"[0-9]{8}T[0-9]{2}(:?[0-9]{2}){1,2}([.,][0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?")
_NO_COLON_OFFSET = re.compile(r".*[0-9][+-][0-9]{4}")
_WEEK_DATE = re.compile(r"[0-9]{4}-?W[0-9]{2}(-?[0-9])?([T ]|$)")
_ORDINAL_DATE = re.compile(r"[0-9]{4}-?[0-9]{3}([T ]|$)")
_FRACTION = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}[.,]([0-9]+)")


def timestamp_form_problem(text: str, *, comma: bool = False) -> str | None:
    """Why ``text`` is not a timestamp in the one accepted form (None when it is); one line.

    Named: an ISO week date (``2026-W41-1T10:00Z``) or ordinal date (``2026-278``), which
    the standard library would read silently; more than six digits after the seconds'
    decimal point (nanoseconds: the engine keeps microseconds, so the instant could not be
    kept exactly and was silently cut); a comma as the decimal sign. Others (no offset, an
    offset without a colon) are left to the caller's own message. ``comma``: a comma as
    decimal sign is no problem (the importers read a source's own spelling of ISO 8601).
    """
    if TIMESTAMP_FORM.fullmatch(text):
        return None
    stripped = text.strip()
    if _WEEK_DATE.match(stripped):
        return (f"{_show(text)} is an ISO week date; write the calendar date, like "
                "2026-10-05T10:00:00-04:00")
    if _ORDINAL_DATE.match(stripped):
        return (f"{_show(text)} is an ISO ordinal date (day of the year); write the calendar "
                "date, like 2026-10-05T10:00:00-04:00")
    fraction = _FRACTION.search(stripped)
    if fraction and len(fraction.group(1)) > 6:
        return (f"{_show(text)} gives {len(fraction.group(1))} digits after the seconds' "
                "decimal point; at most 6 (microseconds) can be kept exactly: round it")
    if fraction and "," in fraction.group(0) and not comma:
        return f"{_show(text)} uses a comma as decimal sign; write a point, like 10:00:00.5"
    return None


def import_form_problem(text: str, *, offset_without_colon: bool = False) -> str | None:
    """Why an importer does not read ``text`` as ISO text (None when it does): the facts'
    rule of :func:`timestamp_form_problem`, and the written form itself
    (:data:`IMPORT_FORM`: naive text and a decimal comma allowed; ``offset_without_colon``
    for a vendor that documents ``±HHMM``, Jira). The ISO basic format
    (``20261014T130000Z``) and an offset without a colon are named; any other shape gets
    None here and is the caller's to name (the mapping's ``formats`` may read it). One line.
    """
    problem = timestamp_form_problem(text, comma=True)
    if problem:
        return problem
    form = IMPORT_FORM_NO_COLON if offset_without_colon else IMPORT_FORM
    if form.fullmatch(text):
        return None
    if _BASIC_FORM.fullmatch(text):
        return (f"{_show(text)} is in the ISO basic format (no '-' or ':'); the one form is "
                "like 2026-10-14T13:00:00Z")
    if _NO_COLON_OFFSET.fullmatch(text):
        return (f"{_show(text)} has an offset without a colon; the one form is like "
                "2026-10-14T13:00:00+00:00")
    return None


def _show(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57] + "...")


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65536)
def local_midnight(day: dt.date, tz: str) -> float:
    """Epoch seconds of 00:00 local time on ``day``."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone(tz)).timestamp()


def month_bounds(month: str, tz: str) -> tuple[float, float]:
    """``[start, end)`` of a ``YYYY-MM`` month in epoch seconds; real elapsed length."""
    year, mon = int(month[:4]), int(month[5:7])
    following = dt.date(year + (mon == 12), mon % 12 + 1, 1)
    return local_midnight(dt.date(year, mon, 1), tz), local_midnight(following, tz)


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + (mon == 12):04d}-{mon % 12 + 1:02d}"


def month_of(epoch: float, tz: str) -> str:
    local = dt.datetime.fromtimestamp(epoch, zone(tz))
    return f"{local.year:04d}-{local.month:02d}"


def local_date(epoch: float, tz: str) -> dt.date:
    return dt.datetime.fromtimestamp(epoch, zone(tz)).date()


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive."""
    months = []
    current = first
    while (int(current[:4]), current[5:]) <= (int(last[:4]), last[5:]):
        months.append(current)
        current = next_month(current)
    return months


def months_touched(start: float, end: float, tz: str) -> list[str]:
    """Months that ``[start, end)`` overlaps (a zero-length window touches its month)."""
    first = month_of(start, tz)
    last = month_of(max(start, end - 1e-6), tz)
    return months_between(first, last)


def iso(epoch: float, tz: str) -> str:
    """ISO 8601 with offset in ``tz``; seconds precision unless there are fractions."""
    local = dt.datetime.fromtimestamp(epoch, zone(tz))
    spec = "seconds" if local.microsecond == 0 else "microseconds"
    return local.isoformat(timespec=spec)
