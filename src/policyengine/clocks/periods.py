"""Measurement periods: calendar months, quarters and years in a policy's timezone.

A period is named by a string, the *period key*: ``2026-10`` (a calendar month),
``2026-Q4`` (a calendar quarter), ``2026`` (a calendar year). Its bounds are the local
midnights that start it and the next period, as epoch seconds, so its length is the real
elapsed time (a quarter holding a DST change is an hour longer or shorter).
"""

from __future__ import annotations

import datetime as dt

from policyengine.clocks.timeutil import local_midnight

UNITS = ("calendar_month", "calendar_quarter", "calendar_year")
# months in one period of each unit
_MONTHS = {"calendar_month": 1, "calendar_quarter": 3, "calendar_year": 12}


def period_of(month: str, unit: str) -> str:
    """The key of the period of ``unit`` that holds ``month`` (``YYYY-MM``).

    ``period_of("2026-11", "calendar_quarter") == "2026-Q4"``; ValueError for an unknown unit.
    """
    if unit == "calendar_month":
        return month
    year, mon = int(month[:4]), int(month[5:7])
    if unit == "calendar_quarter":
        return f"{year:04d}-Q{(mon - 1) // 3 + 1}"
    if unit == "calendar_year":
        return f"{year:04d}"
    raise ValueError(f"unknown period unit {unit!r}; expected one of {', '.join(UNITS)}")


def first_month(period: str) -> str:
    """The first month (``YYYY-MM``) of a period key."""
    if len(period) == 4:
        return f"{period}-01"
    if period[5] == "Q":
        return f"{period[:4]}-{(int(period[6]) - 1) * 3 + 1:02d}"
    return period


def months_in(period: str) -> int:
    """How many calendar months a period key spans (1, 3 or 12)."""
    if len(period) == 4:
        return 12
    return 3 if period[5] == "Q" else 1


def period_bounds(period: str, tz: str) -> tuple[float, float]:
    """``[start, end)`` of a period key in epoch seconds (local midnights in ``tz``)."""
    month = first_month(period)
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + mon - 1 + months_in(period)
    following = dt.date(index // 12, index % 12 + 1, 1)
    return local_midnight(dt.date(year, mon, 1), tz), local_midnight(following, tz)


def unit_of(period: str) -> str:
    """The unit of a period key."""
    return {1: "calendar_month", 3: "calendar_quarter", 12: "calendar_year"}[months_in(period)]


__all__ = ["UNITS", "first_month", "months_in", "period_bounds", "period_of", "unit_of"]
