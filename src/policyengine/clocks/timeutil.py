"""Calendar months, local dates and ISO output in a policy's timezone.

Elapsed arithmetic is done in epoch seconds; local wall time is only used to find
boundaries (midnight, the first of a month), each converted to UTC on its own.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

# Years every clock and calendar handles (the business-hour index covers 1970..2200): facts,
# importers, CLI instants and policy dates outside them are refused.
FIRST_YEAR, LAST_YEAR = 1971, 2199


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
