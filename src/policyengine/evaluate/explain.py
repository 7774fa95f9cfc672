"""Measured facts in words: the text fields the evaluator puts on derived facts for messages.

Python measures, the rules decide, and each rule's message names what was measured through
``{alias.field}`` placeholders (``docs/stages.md``, "Explanation fields"). The words are
always English and never depend on the machine's locale:

- a duration is whole hours below 96 hours (as the policy writes targets: ``48h``,
  ``72h``), whole days and hours from 96 hours on (``7 d``, ``29 d 23 h``), then minutes,
  then seconds, each part shown only when it is not zero (``36 h``, ``6 h 5 min``,
  ``45 s``; nothing at all is ``0 min``); the parts come from :func:`pendulum.duration`
  (whole seconds: a fraction is rounded half to even);
- an instant is the local date and time in the policy's timezone with the zone's
  abbreviation (``2026-11-19 16:05 EST``; seconds only when not zero), so the two 01:30 of
  a day the clocks go back read ``EDT`` and ``EST``;
- money is the amount as computed (its decimal places kept) with a comma between
  thousands (``120,000.00``); a number of days of service is ``3 days``.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction
from typing import Any

import pendulum

from policyengine.clocks.timeutil import zone

#: The word for one measurement period of each unit (``docs/stages.md``: ``period_unit``).
PERIOD_WORDS = {"calendar_month": "month", "calendar_quarter": "quarter",
                "calendar_year": "year"}


#: How a credit is given, in words (``docs/stages.md``: ``form_renewed_text``): the clause's
#: ``form`` values are identifiers, the findings are read by people.
FORM_WORDS = {"credit": "a credit", "refund": "a refund",
              "service_days": "days of service added to the term"}


def form_words(form: Any) -> str:
    """``credit`` → ``a credit``; a form the table does not know is given as written."""
    return FORM_WORDS.get(str(form), str(form))


def band(below: Any, at_least: Any) -> str:
    """A tier's availability band in words: ``below 99.95%, at least 99%``; the lowest band
    (``at_least`` 0) is ``below 95%`` alone."""
    low = "" if Decimal(str(at_least)) == 0 else f", at least {_plain(Decimal(str(at_least)))}%"
    return f"below {_plain(Decimal(str(below)))}%{low}"


#: From this many seconds (96 h) on, a duration is told in days and hours: ``72 h`` and
#: ``48 h`` read as the policy writes its targets, a month overdue reads ``29 d 23 h``.
DAYS_FROM = 96 * 3600


@functools.lru_cache(maxsize=4096)
def _whole_span(whole: int) -> str:
    duration = pendulum.duration(seconds=whole)
    if whole < DAYS_FROM:
        parts = [(duration.in_hours(), "h")]
    else:
        parts = [(duration.in_days(), "d"), (duration.hours, "h")]
    parts += [(duration.minutes, "min"), (duration.remaining_seconds, "s")]
    words = [f"{value} {unit}" for value, unit in parts if value]
    return " ".join(words) if words else "0 min"


def span(seconds: float) -> str:
    """A duration as a legal reader reads it: ``36 h``, ``6 h 5 min``, ``0 min``,
    ``29 d 23 h 30 min``; a duration above 0 that rounds to no second is ``less than 1 s``.

    The sign is dropped (callers say "late" or "early"). Under :data:`DAYS_FROM` whole
    hours, else whole days and the hours left; then the minutes and seconds left. The parts
    are pendulum's (:func:`pendulum.duration`).
    """
    if 0 < abs(seconds) < 0.5:
        return "less than 1 s"
    return _whole_span(round(abs(seconds)))


def instant(epoch: float, tz: str) -> str:
    """An instant in the policy's timezone: ``2026-11-19 16:05 EST`` (``:SS`` when the
    seconds are not zero; a fraction of a second is dropped). Numbers only and the zone's
    own abbreviation (tz database), so no locale changes it."""
    moment = dt.datetime.fromtimestamp(epoch // 1, zone(tz))
    pattern = "%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M"
    return f"{moment.strftime(pattern)} {moment.tzname()}"


def day(epoch: float, tz: str) -> str:
    """The local date of an instant, ``YYYY-MM-DD``."""
    return dt.datetime.fromtimestamp(epoch // 1, zone(tz)).date().isoformat()


def margin(actual: float, due: float) -> str:
    """How an answer at ``actual`` stands against a ``due`` instant: ``6 h 5 min late``,
    ``2 h to spare``, or ``exactly on time``."""
    if actual > due:
        return f"{span(actual - due)} late"
    if actual < due:
        return f"{span(due - actual)} to spare"
    return "exactly on time"


def waiting(as_of: float, due: float) -> str:
    """A target not answered at ``as_of``: ``3 h overdue``, ``3 h 10 min left``, or
    ``due exactly now``."""
    if as_of > due:
        return f"{span(as_of - due)} overdue"
    if as_of < due:
        return f"{span(due - as_of)} left"
    return "due exactly now"


def lead_words(lead: float, required: float) -> str:
    """A notice's lead against the lead required: ``36 h ahead, 12 h short of 48 h``,
    ``72 h ahead, 24 h more than 48 h``, ``48 h ahead, exactly 48 h``; a notice sent after
    the start reads ``2 h after the start, 50 h short of 48 h``."""
    given = f"{span(lead)} ahead" if lead >= 0 else f"{span(lead)} after the start"
    if lead < required:
        return f"{given}, {span(required - lead)} short of {span(required)}"
    if lead > required:
        return f"{given}, {span(lead - required)} more than {span(required)}"
    return f"{given}, exactly {span(required)}"


def money(amount: Decimal, unit: str) -> str:
    """An amount with its unit: ``10,000.00 USD``; days of service: ``3 days``."""
    if unit == "days":
        return f"{_plain(amount)} day" + ("" if amount == 1 else "s")
    return f"{amount:,} {unit}"


def _plain(value: Decimal) -> str:
    """A decimal without an exponent or trailing zeros after the point: ``1.5``, ``3``."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _grouped(value: Decimal) -> str:
    """A decimal with a comma between thousands and no trailing zeros: ``4,166.666666``."""
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _minutes(seconds: float) -> str:
    """Seconds as minutes with a comma between thousands: ``44,640``, ``7.5``."""
    return _grouped(Decimal(repr(seconds)) / 60)


def _fee(value: Decimal) -> str:
    return f"{value:,}"


def credit_arithmetic(bands: list[Any], basis: str, annual_fee: Decimal,
                      period_months: int, period_seconds: float, counted_seconds: float,
                      amount: Decimal, unit: str, rounding: str) -> str:
    """The arithmetic of one credit, ending in its amount (the one the kind computed):

    - ``fraction_of_annual_fee``: ``1/12 × 120,000.00 = 10,000.00 USD``
    - ``percent_of_monthly_fee``: ``10% × 120,000.00 / 12 = 1,000.00 USD``
    - ``percent_of_period_fee``: ``25% × 120,000.00 × 3/12 = 7,500.00 USD``
    - ``days_of_service``: ``3 days``
    - ``multiple_of_downtime_fees``: ``10 × 120,000.00 × 1/12 × 120 min / 44,640 min = ...``
      (the counted downtime and the period in minutes, as the report's rows give them)

    Several stacked bands are added in brackets (``(5% + 10%) × ...``); a result the
    rounding changed says so (``= 10,000.00 USD (10,000.003 rounded half up)``).
    ``bands``: the terms mappings that pay (the clause itself, or the tiers it stacks).
    """
    with localcontext() as context:
        context.prec = 50  # as the kind computes: exact enough that only rounding rounds
        return _arithmetic(bands, basis, annual_fee, period_months, period_seconds,
                           counted_seconds, amount, unit, rounding)


def _arithmetic(bands: list[Any], basis: str, annual_fee: Decimal, period_months: int,
                period_seconds: float, counted_seconds: float, amount: Decimal, unit: str,
                rounding: str) -> str:
    values = [band[basis] for band in bands]
    if basis == "days_of_service":
        return money(amount, unit)
    if basis == "fraction_of_annual_fee":
        shown = [str(v) for v in values]
        raw = sum((Decimal(Fraction(str(v)).numerator) / Decimal(Fraction(str(v)).denominator)
                   for v in values), Decimal(0)) * annual_fee
        factor = shown[0] if len(shown) == 1 else "(" + " + ".join(shown) + ")"
        text = f"{factor} × {_fee(annual_fee)}"
    else:
        shown = [_plain(Decimal(str(v))) for v in values]
        total = sum((Decimal(str(v)) for v in values), Decimal(0))
        if basis == "multiple_of_downtime_fees":
            factor = shown[0] if len(shown) == 1 else "(" + " + ".join(shown) + ")"
            text = (f"{factor} × {_fee(annual_fee)} × {period_months}/12 × "
                    f"{_minutes(counted_seconds)} min / {_minutes(period_seconds)} min")
            raw = (annual_fee * period_months * Decimal(repr(counted_seconds)) * total
                   / (12 * Decimal(repr(period_seconds))))
        else:
            percents = [f"{v}%" for v in shown]
            factor = percents[0] if len(percents) == 1 else "(" + " + ".join(percents) + ")"
            if basis == "percent_of_monthly_fee":
                text = f"{factor} × {_fee(annual_fee)} / 12"
                raw = annual_fee * total / 1200
            else:
                text = f"{factor} × {_fee(annual_fee)} × {period_months}/12"
                raw = annual_fee * period_months * total / 1200
    result = f"{text} = {money(amount, unit)}"
    if raw != amount:  # the rounding changed it: say from what (to 6 places, "..." if cut)
        shown_raw = raw.quantize(Decimal("1e-6"), ROUND_DOWN)
        cut = "..." if shown_raw != raw else ""
        result += f" ({_grouped(shown_raw)}{cut} rounded {rounding.replace('_', ' ')})"
    return result


__all__ = ["PERIOD_WORDS", "credit_arithmetic", "day", "instant", "lead_words", "margin",
           "money", "span", "waiting"]
