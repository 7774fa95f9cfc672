"""Explanations: the words of measured facts (:mod:`policyengine.evaluate.explain`) and the
rule that every finding kind has an explanation case with its exact words.

The evaluation cases in ``tests/cases/explain/`` (and the other case files that expect a
``message``) assert each finding's exact message on both back-ends; this file checks the
word-making pieces one by one, with the arithmetic beside each value.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from policyengine.evaluate import explain

from .conftest import ROOT

NY = "America/New_York"


def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(("seconds", "words"), [
    (0, "0 min"),                                   # zero margin
    (0.4, "less than 1 s"),                         # above 0, rounds to no second
    (45, "45 s"),
    (36 * 3600, "36 h"),                            # the "36 h ahead"
    (6 * 3600 + 5 * 60, "6 h 5 min"),               # "6 h 5 min late"
    (7 * 3600 + 26 * 60 + 24, "7 h 26 min 24 s"),   # 1% of 744 h = 446.4 min
    (95 * 3600 + 59 * 60, "95 h 59 min"),           # last duration told in hours
    (96 * 3600, "4 d"),                             # from 96 h on: days and hours
    (719 * 3600 + 30 * 60, "29 d 23 h 30 min"),     # 719.5 h = 29 d 23.5 h
    (-2 * 3600, "2 h"),                             # the sign is the caller's to say
])
def test_span(seconds: float, words: str) -> None:
    assert explain.span(seconds) == words


@pytest.mark.parametrize(("instant", "words"), [
    # the two 01:30 of the day the clocks go back (2026-11-01): EDT, then EST an hour later
    ("2026-11-01T05:30:00+00:00", "2026-11-01 01:30 EDT"),
    ("2026-11-01T06:30:00+00:00", "2026-11-01 01:30 EST"),
    ("2026-10-05T14:00:07+00:00", "2026-10-05 10:00:07 EDT"),  # seconds only when not zero
])
def test_instant_in_the_policy_zone_dst_day(instant: str, words: str) -> None:
    assert explain.instant(_epoch(instant), NY) == words


def test_margins_exactly_on_time_late_early_overdue_left() -> None:
    due = _epoch("2026-11-19T10:00:00-05:00")
    assert explain.margin(due, due) == "exactly on time"
    # resolved 16:05, due 10:00: 6 h 5 min late (the example)
    assert explain.margin(_epoch("2026-11-19T16:05:00-05:00"), due) == "6 h 5 min late"
    assert explain.margin(_epoch("2026-11-19T08:00:00-05:00"), due) == "2 h to spare"
    assert explain.waiting(due, due) == "due exactly now"
    assert explain.waiting(due + 3 * 3600, due) == "3 h overdue"
    assert explain.waiting(due - 600, due) == "10 min left"


def test_lead_words_short_more_exact_and_after_the_start() -> None:
    h = 3600
    # "notice n-mw-1 by email 36 h ahead, 12 h short of 48 h" (48 - 36 = 12)
    assert explain.lead_words(36 * h, 48 * h) == "36 h ahead, 12 h short of 48 h"
    assert explain.lead_words(72 * h, 48 * h) == "72 h ahead, 24 h more than 48 h"
    assert explain.lead_words(48 * h, 48 * h) == "48 h ahead, exactly 48 h"
    # sent 2 h after the start: 2 + 48 = 50 h short
    assert explain.lead_words(-2 * h, 48 * h) == "2 h after the start, 50 h short of 48 h"


def test_form_and_band_words_are_for_people_not_identifiers() -> None:
    # the clause writes form: service_days and a lowest band "at least 0"; a finding says
    # "as days of service added to the term" and "below 95%" (no "at least 0%")
    assert [explain.form_words(f) for f in ("credit", "refund", "service_days")] == [
        "a credit", "a refund", "days of service added to the term"]
    assert explain.band(Decimal("99.95"), Decimal("99")) == "below 99.95%, at least 99%"
    assert explain.band(95, 0) == "below 95%"
    assert explain.band(Decimal("99.0"), Decimal("95.50")) == "below 99%, at least 95.5%"


def test_money_groups_thousands_and_days_of_service() -> None:
    assert explain.money(Decimal("120000.00"), "USD") == "120,000.00 USD"
    assert explain.money(Decimal("7"), "days") == "7 days"
    assert explain.money(Decimal("1"), "days") == "1 day"


@pytest.mark.parametrize(("bands", "basis", "months", "amount", "unit", "words"), [
    # 120,000.00 / 12 = 10,000.00 exactly: no rounding note
    ([{"fraction_of_annual_fee": "1/12"}], "fraction_of_annual_fee", 1, "10000.00", "USD",
     "1/12 × 120,000.00 = 10,000.00 USD"),
    # 10% of the monthly fee: 120,000.00 x 10 / 1200 = 1,000.00
    ([{"percent_of_monthly_fee": 10}], "percent_of_monthly_fee", 1, "1000.00", "USD",
     "10% × 120,000.00 / 12 = 1,000.00 USD"),
    # a quarter's fees: 25% x 120,000.00 x 3/12 = 7,500.00
    ([{"percent_of_period_fee": 25}], "percent_of_period_fee", 3, "7500.00", "USD",
     "25% × 120,000.00 × 3/12 = 7,500.00 USD"),
    # stacked bands: (10 + 25)% of 10,000.00 = 3,500.00
    ([{"percent_of_monthly_fee": 10}, {"percent_of_monthly_fee": 25}],
     "percent_of_monthly_fee", 1, "3500.00", "USD",
     "(10% + 25%) × 120,000.00 / 12 = 3,500.00 USD"),
    ([{"days_of_service": 7}], "days_of_service", 1, "7", "days", "7 days"),
])
def test_credit_arithmetic_per_basis(bands: list, basis: str, months: int, amount: str,
                                     unit: str, words: str) -> None:
    assert explain.credit_arithmetic(bands, basis, Decimal("120000.00"), months, 2678400.0,
                                     7200.0, Decimal(amount), unit, "half_up") == words


def test_credit_arithmetic_says_what_rounding_changed() -> None:
    # 50,000.00 / 12 = 4,166.666666... -> 4,166.67 half up; shown to 6 places, cut ("...")
    assert explain.credit_arithmetic(
        [{"fraction_of_annual_fee": "1/12"}], "fraction_of_annual_fee", Decimal("50000.00"),
        1, 2678400.0, 0.0, Decimal("4166.67"), "USD", "half_up",
    ) == "1/12 × 50,000.00 = 4,166.67 USD (4,166.666666... rounded half up)"
    # 1,000.00 x 3/8 = 375.00 exactly, rounded to whole units down: 375 (no cut, no "...")
    assert explain.credit_arithmetic(
        [{"fraction_of_annual_fee": "3/8"}], "fraction_of_annual_fee", Decimal("1000.01"),
        1, 2678400.0, 0.0, Decimal("375"), "USD", "down",
    ) == "3/8 × 1,000.01 = 375 USD (375.00375 rounded down)"


def test_the_words_do_not_depend_on_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    import locale

    try:
        locale.setlocale(locale.LC_ALL, "de_DE.UTF-8")
    except locale.Error:
        pytest.skip("no de_DE locale on this machine")
    try:
        assert explain.money(Decimal("120000.00"), "EUR") == "120,000.00 EUR"
        assert explain.instant(_epoch("2026-11-01T06:30:00+00:00"), NY) == \
            "2026-11-01 01:30 EST"
    finally:
        locale.setlocale(locale.LC_ALL, "C")


# -- every finding kind has an explanation case with its exact words --------------------------
def _rules_with_messages() -> set[str]:
    found = set()
    for pack in sorted((ROOT / "rules").glob("*.yaml")):
        data = yaml.safe_load(pack.read_text(encoding="utf-8"))
        for rule in data["rules"]:
            if (rule.get("then") or {}).get("message"):
                found.add(f"{data['metadata']['name']}.{rule['id']}")
    return found


def _rules_with_exact_messages_expected() -> set[str]:
    found = set()
    for path in sorted(Path(ROOT / "tests" / "cases").rglob("*.test.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data.get("cases") or ():
            for row in ((case.get("expect") or {}).get("findings") or ()):
                if row.get("rule") and row.get("message"):
                    found.add(row["rule"])
    return found


def test_every_finding_kind_has_an_explanation_case() -> None:
    """Each shipped rule that reports a finding is expected, word for word, by some case."""
    missing = _rules_with_messages() - _rules_with_exact_messages_expected()
    assert not missing, sorted(missing)
