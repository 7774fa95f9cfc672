"""Policy shapes 4-6 (docs/policy-language.md): what ``validate`` refuses, located, and the
measuring helpers. Evaluation outcomes are case files: tests/cases/periods, services,
offerings and policies/examples/forge-quarterly."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.api import Engine
from policyengine.cli.main import main
from policyengine.clocks import intervals
from policyengine.clocks.periods import period_bounds, period_of

from .conftest import ROOT

FORGE = ROOT / "policies" / "examples" / "forge-quarterly" / "1.0.0.yaml"
SHIPPED = ROOT / "policies" / "spirion" / "1.0.0.yaml"


def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "1.0.0.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _validate(path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert "Traceback" not in result.output
    return result.exit_code, [line.replace(f"{path}:", "") for line in result.output.splitlines()]


# the end of forge-quarterly's credit clause, and a second one for premium only
_CREDIT_END = "        renewed: credit\n        not_renewed: refund\n"
_PREMIUM_CREDIT = """\
    - id: premium-credit
      kind: service_credit
      ref: "Order Form > Plan: Premium > Service Credits"
      summary: Premium earns twice the standard credit for each feature that misses a quarter.
      fraction_of_annual_fee: "1/20"
      rounding: half_up
      decimal_places: 2
      form: {renewed: credit, not_renewed: refund}
      offerings: [premium]
"""
_SECOND_WINDOW = """\
    - id: second-claim-window
      kind: claim_window
      ref: "Order Form > Claims"
      summary: The customer may also claim later.
      window: 60d
"""


@pytest.mark.parametrize(("source", "old", "new", "expected"), [
    pytest.param(
        SHIPPED, "period: calendar_month", "period: calendar_week",
        "50:15: $.spec.availability[0].period: unknown period 'calendar_week'; expected one "
        "of: calendar_month, calendar_quarter, calendar_year (did you mean 'calendar_year'?)",
        id="period-not-a-calendar-unit"),
    pytest.param(
        FORGE, "scope: per_service", "scope: per_service\n      impact_weights: "
        "{partial_outage: 1.5}",
        "38:40: $.spec.availability[0].impact_weights.partial_outage: '1.5' is above the "
        "maximum of 1", id="weight-above-one"),
    pytest.param(
        FORGE, "scope: per_service", "scope: per_service\n      impact_weights: "
        "{partial_outage: -0.5}",
        "38:40: $.spec.availability[0].impact_weights.partial_outage: '-0.5' is below the "
        "minimum of 0", id="weight-below-zero"),
    pytest.param(
        FORGE, 'from: "2026-01-01"', 'from: "2026-02-01"',
        "17:11: $.metadata.effective.from: effective.from 2026-02-01 is not the first day of a "
        "calendar quarter; clause 'uptime-commitment' measures availability per calendar "
        "quarter, so a version must begin where a calendar quarter begins",
        id="quarterly-version-starting-mid-quarter"),
    pytest.param(
        FORGE, "uptime-commitment.target_percent: 99.95",
        "uptime-commitment.target_percnt: 99.95",
        "87:42: $.spec.offerings[1].overrides['uptime-commitment.target_percnt']: override "
        "'uptime-commitment.target_percnt': clause 'uptime-commitment' has no term "
        "'target_percnt'; an override replaces a term the clause gives (did you mean "
        "'target_percent'?)", id="offering-overrides-a-term-that-does-not-exist"),
    pytest.param(
        FORGE, "uptime-commitment.target_percent: 99.95", "uptime-comitment.target_percent: 99.95",
        "87:42: $.spec.offerings[1].overrides['uptime-comitment.target_percent']: override "
        "'uptime-comitment.target_percent': the policy has no clause 'uptime-comitment' (did "
        "you mean 'uptime-commitment'?)", id="offering-overrides-an-unknown-clause"),
    pytest.param(
        FORGE, "uptime-commitment.target_percent: 99.95", "uptime-commitment.target_percent: 150",
        "87:43: $.spec.offerings[1].overrides['uptime-commitment.target_percent']: offering "
        "'premium' makes the policy invalid: $.spec.availability[0].target_percent: '150' is "
        "above the maximum of 100", id="offering-makes-the-policy-invalid"),
    pytest.param(
        FORGE, "      causes: [customer, third_party, force_majeure]",
        "      causes: [customer, third_party, force_majeure]\n      offerings: [premum]",
        "48:19: $.spec.exclusions[0].offerings[0]: unknown offering 'premum': it defines: "
        "standard, premium (did you mean 'premium'?)", id="clause-names-an-unknown-offering"),
    pytest.param(
        FORGE, _CREDIT_END, _CREDIT_END + _PREMIUM_CREDIT,
        # the hint is about offerings, not tiers: the first applies to premium too
        "64:13: $.spec.credits[1].kind: a second service_credit clause for offering 'premium' "
        "(the first, 'service-credit', is at line 51); each offering has at most one, and "
        "evaluation would read only the first: the first has no 'offerings', so it applies to "
        "'premium' too; give it the offerings it is for ('offerings: [standard]'), or leave "
        "this clause out and write what differs for 'premium' as overrides on that offering "
        "(overrides: {service-credit.<term>: value})",
        id="single-kind-unrestricted-and-for-premium-clash"),
    pytest.param(
        FORGE, _CREDIT_END, _CREDIT_END.replace("refund\n", "refund\n      offerings: "
                                                "[premium]\n")
        + _PREMIUM_CREDIT.replace("      offerings: [premium]\n", ""),
        "65:13: $.spec.credits[1].kind: a second service_credit clause for offering 'premium' "
        "(the first, 'service-credit', is at line 51); each offering has at most one, and "
        "evaluation would read only the first: this clause has no 'offerings', so it applies "
        "to 'premium' too, for which 'service-credit' is written; give it the offerings it is "
        "for ('offerings: [standard]')", id="single-kind-for-premium-then-unrestricted-clash"),
    pytest.param(
        FORGE, _CREDIT_END, _CREDIT_END.replace("refund\n", "refund\n      offerings: "
                                                "[standard, premium]\n") + _PREMIUM_CREDIT,
        "65:13: $.spec.credits[1].kind: a second service_credit clause for offering 'premium' "
        "(the first, 'service-credit', is at line 51); each offering has at most one, and "
        "evaluation would read only the first: both name 'premium'; name each offering in one "
        "of them, or leave this clause out and write what differs for 'premium' as overrides "
        "on that offering (overrides: {service-credit.<term>: value})",
        id="single-kind-for-overlapping-offerings-clash"),
    pytest.param(
        FORGE, "      window: 30d\n", "      window: 30d\n" + _SECOND_WINDOW,
        "71:13: $.spec.credits[2].kind: a second claim_window clause for a subscription of no "
        "offering (the first, 'credit-claim-window', is at line 64); each offering has at "
        "most one (restrict the clauses to different offerings with 'offerings: [...]'), and "
        "evaluation would read only the first: write the window the contract gives on one "
        "clause", id="single-kind-twice-unrestricted-with-offerings"),
])
def test_refused_with_a_location(tmp_path: Path, source: Path, old: str, new: str,
                                 expected: str) -> None:
    code, lines = _validate(_edited(tmp_path, source, old, new))
    assert (code, lines) == (2, [expected])


def test_a_clause_for_one_offering_applies_to_its_subscriptions_only(tmp_path: Path) -> None:
    """An exclusion for premium only: premium's third-party outage is excused, standard's
    counts. 120 min of 132,540 (Q4 2026, Los Angeles) -> 100 * 132420 / 132540 = 99.90946
    -> 99.9095 for standard (met, 99.9); premium: 0 counted, 100."""
    policy = _edited(tmp_path, FORGE, "      causes: [customer, third_party, force_majeure]",
                     "      causes: [customer, third_party, force_majeure]\n"
                     "      offerings: [premium]")
    sub = {"type": "subscription", "plan": "production", "deployment": "saas",
           "license": "subscription", "annual_fee": "40000.00", "currency": "USD",
           "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
           "support": "active", "services": ["pages"]}
    facts = [{**sub, "customer": "std", "offering": "standard"},
             {**sub, "customer": "prem", "offering": "premium"},
             {"type": "downtime", "id": "d", "start": "2026-10-14T10:00:00-07:00",
              "end": "2026-10-14T12:00:00-07:00", "cause": "third_party",
              "maintenance": "none"}]
    for backend in ("python", "durable"):
        result = Engine.load(policy, backend=backend).evaluate(
            facts, as_of="2027-01-15T12:00:00-08:00")
        rows = {r.customer: (r.counted_downtime_minutes, r.availability_percent, r.met)
                for r in result.availability}
        assert rows == {"std": (120, 99.9095, True), "prem": (0, 100, True)}
        assert {f.subject for f in result.findings if f.outcome == "excluded"} == {"prem/d"}


def test_a_single_kind_once_per_offering_validates_and_evaluates(tmp_path: Path) -> None:
    """ClauseKind.single counts per offering: a credit for standard and another for premium
    is a correct policy. Both customers subscribe to pages; 240 min of vendor downtime in Q4
    2026 (132,540 min, Los Angeles): 100 * 132300 / 132540 = 99.81892 -> 99.8189, missed
    under standard's 99.9 and premium's 99.95. Fee 40,000.00: standard 1/40 = 1,000.00,
    premium 1/20 = 2,000.00. Premium's own clause is read, not the first one in the file."""
    policy = _edited(tmp_path, FORGE, _CREDIT_END,
                     _CREDIT_END + "      offerings: [standard]\n" + _PREMIUM_CREDIT)
    code, lines = _validate(policy)
    assert code == 0, lines
    sub = {"type": "subscription", "plan": "production", "deployment": "saas",
           "license": "subscription", "annual_fee": "40000.00", "currency": "USD",
           "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
           "support": "active", "services": ["pages"]}
    facts = [{**sub, "customer": "std", "offering": "standard"},
             {**sub, "customer": "prem", "offering": "premium"},
             {"type": "downtime", "id": "d", "start": "2026-10-14T10:00:00-07:00",
              "end": "2026-10-14T14:00:00-07:00", "cause": "vendor", "maintenance": "none"}]
    for backend in ("python", "durable"):
        result = Engine.load(policy, backend=backend).evaluate(
            facts, as_of="2027-01-15T12:00:00-08:00")
        assert {r.customer: (r.availability_percent, r.target_percent, r.met)
                for r in result.availability} == {"std": (99.8189, 99.9, False),
                                                  "prem": (99.8189, 99.95, False)}
        assert {r.customer: (r.period, r.service, r.amount) for r in result.credits} == {
            "std": ("2026-Q4", "pages", "1000.00"), "prem": ("2026-Q4", "pages", "2000.00")}


def test_show_words_for_the_new_terms() -> None:
    result = CliRunner().invoke(main, ["show", str(FORGE)])
    assert result.exit_code == 0
    assert "- **Target:** 99.9% of each full calendar quarter" in result.output
    assert "- **Measured:** for each subscribed service on its own" in result.output
    assert ("- **Changes uptime-commitment.target\\_percent:** to 99.95%"
            in result.output)


@pytest.mark.parametrize(("month", "unit", "period"), [
    ("2026-10", "calendar_month", "2026-10"), ("2026-01", "calendar_quarter", "2026-Q1"),
    ("2026-03", "calendar_quarter", "2026-Q1"), ("2026-04", "calendar_quarter", "2026-Q2"),
    ("2026-12", "calendar_quarter", "2026-Q4"), ("2026-07", "calendar_year", "2026"),
])
def test_period_of(month: str, unit: str, period: str) -> None:
    assert period_of(month, unit) == period


def test_period_bounds_are_real_elapsed_time() -> None:
    # Q4 2026 in New York: 92 days + the fall-back hour; the year 2026: 365 days exactly
    start, end = period_bounds("2026-Q4", "America/New_York")
    assert (end - start) / 60 == 92 * 1440 + 60
    start, end = period_bounds("2026", "America/New_York")
    assert (end - start) / 60 == 365 * 1440
    start, end = period_bounds("2026-Q1", "America/New_York")
    assert (end - start) / 60 == 90 * 1440 - 60


def test_weighted_total_counts_overlaps_once_at_the_highest_weight() -> None:
    # [0,120) at 0.5 and [60,90) at 1: 60*0.5 + 30*1 + 30*0.5 = 75; a zero weight adds nothing
    assert intervals.weighted_total([(0, 120, 0.5), (60, 90, 1.0), (200, 300, 0.0)]) == 75
    assert intervals.weighted_total([(0, 10, 1.0), (5, 15, 1.0)]) == intervals.total(
        [(0, 10), (5, 15)]) == 15
