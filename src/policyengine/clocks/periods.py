"""Measurement periods: calendar months, quarters and years in a policy's timezone.

A period is named by a string, the *period key*: ``2026-10`` (a calendar month),
``2026-Q4`` (a calendar quarter), ``2026`` (a calendar year). Its bounds are the local
midnights that start it and the next period, as epoch seconds, so its length is the real
elapsed time (a quarter holding a DST change is an hour longer or shorter).

A year may start in another month than January (a fiscal year, ``year_start`` 2 to 12):
its quarters and the year itself are then keyed ``FY2027-Q1`` and ``FY2027``, the fiscal
year named by the calendar year it **ends** in (a year from February 2026 to January 2027
is FY2027; its first quarter is February to April 2026), as most companies name theirs.
Functions that read a key take the same ``year_start``.
"""

from __future__ import annotations

import datetime as dt

from policyengine.clocks.timeutil import local_midnight

UNITS = ("calendar_month", "calendar_quarter", "calendar_year")
# months in one period of each unit
_MONTHS = {"calendar_month": 1, "calendar_quarter": 3, "calendar_year": 12}


def period_of(month: str, unit: str, year_start: int = 1) -> str:
    """The key of the period of ``unit`` that holds ``month`` (``YYYY-MM``), in a year
    starting in month ``year_start`` (1: the calendar year).

    ``period_of("2026-11", "calendar_quarter") == "2026-Q4"``;
    ``period_of("2026-02", "calendar_quarter", 2) == "FY2027-Q1"``; ValueError for an
    unknown unit.
    """
    if unit == "calendar_month":
        return month
    if unit not in _MONTHS:
        raise ValueError(f"unknown period unit {unit!r}; expected one of {', '.join(UNITS)}")
    year, mon = int(month[:4]), int(month[5:7])
    if year_start != 1:
        shifted = year * 12 + mon - 1 - (year_start - 1)
        fiscal = shifted // 12 + 1  # named by the calendar year it ends in
        if unit == "calendar_year":
            return f"FY{fiscal:04d}"
        return f"FY{fiscal:04d}-Q{shifted % 12 // 3 + 1}"
    if unit == "calendar_quarter":
        return f"{year:04d}-Q{(mon - 1) // 3 + 1}"
    return f"{year:04d}"


def first_month(period: str, year_start: int = 1) -> str:
    """The first month (``YYYY-MM``) of a period key (a fiscal key in a year starting in
    month ``year_start``)."""
    if period.startswith("FY"):
        quarter = int(period[-1]) if "-Q" in period else 1
        index = (int(period[2:6]) - 1) * 12 + year_start - 1 + (quarter - 1) * 3
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    if len(period) == 4:
        return f"{period}-01"
    if period[5] == "Q":
        return f"{period[:4]}-{(int(period[6]) - 1) * 3 + 1:02d}"
    return period


def months_in(period: str) -> int:
    """How many calendar months a period key spans (1, 3 or 12)."""
    if "-Q" in period:
        return 3
    if period.startswith("FY") or len(period) == 4:
        return 12
    return 1


def period_bounds(period: str, tz: str, year_start: int = 1) -> tuple[float, float]:
    """``[start, end)`` of a period key in epoch seconds (local midnights in ``tz``)."""
    month = first_month(period, year_start)
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + mon - 1 + months_in(period)
    following = dt.date(index // 12, index % 12 + 1, 1)
    return local_midnight(dt.date(year, mon, 1), tz), local_midnight(following, tz)


def unit_of(period: str) -> str:
    """The unit of a period key."""
    return {1: "calendar_month", 3: "calendar_quarter", 12: "calendar_year"}[months_in(period)]


__all__ = ["UNITS", "first_month", "months_in", "period_bounds", "period_of", "unit_of"]
