"""Credit shapes (issue 12 parts 1-3, 8): what `validate` refuses, located, and what the
report holds (remedies only when a policy has a chronic-failure clause; streamed equal to
in-memory; show and diff render the examples). The evaluation results are case files:
policies/examples/*/*.test.yaml and tests/cases/credit-shapes/."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.api import Engine
from policyengine.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
TIERED = ROOT / "policies" / "examples" / "tiered-percent" / "1.0.0.yaml"
DAYS = ROOT / "policies" / "examples" / "days-of-service" / "1.0.0.yaml"
SPIRION = ROOT / "policies" / "spirion" / "1.0.0.yaml"


def _validate(path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["validate", "--strict", str(path)])
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target = tmp_path / "policy.yaml"
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


# the natural first try at tiers: two commitments and two credits, one per band
_SECOND_TIER = """
    - id: availability-commitment-lower
      kind: availability_commitment
      ref: "Service Level Addendum > Availability Commitment"
      summary: >-
        The service is up for at least 99 percent of every full calendar month.
      period: calendar_month
      full_months_only: true
      target_percent: 99.0
      plans: [production]
      deployments: [saas]

  exclusions:"""
_SECOND_CREDIT = """  credits:
    - id: service-credit-lower
      kind: service_credit
      ref: "Service Level Addendum > Service Credit"
      summary: >-
        A month below 99 percent earns one forty-eighth of the annual fee.
      fraction_of_annual_fee: "1/48"
      rounding: half_up
      decimal_places: 2
      form:
        renewed: credit
        not_renewed: refund
"""


def test_two_commitments_and_two_credits_as_tiers_are_refused_pointing_to_tiers(
        tmp_path: Path) -> None:
    text = SPIRION.read_text(encoding="utf-8")
    text = text.replace("target_percent: 99.0", "target_percent: 99.9", 1)
    text = text.replace('fraction_of_annual_fee: "1/12"', 'fraction_of_annual_fee: "1/120"')
    text = text.replace("\n\n  exclusions:", _SECOND_TIER, 1)
    text = text.replace("  credits:\n", _SECOND_CREDIT, 1)
    path = tmp_path / "tiers-by-hand.yaml"
    path.write_text(text, encoding="utf-8")
    code, lines = _validate(path)
    assert code == 2
    joined = "\n".join(lines)
    # the second commitment and the second credit, each at its kind (ClauseKind.single),
    # each naming the first clause and saying to write tiers
    commitment = next(line for line in lines if "$.spec.availability[1].kind" in line)
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: \$\.spec\.availability\[1\]"
                    r"\.kind: a second availability_commitment clause \(the first, "
                    r"'availability-commitment', is at line \d+\)", commitment)
    assert "write tiers on the service credit" in commitment
    credit = next(line for line in lines if "$.spec.credits[1].kind" in line)
    assert "a second service_credit clause (the first, 'service-credit-lower'" in credit
    assert "write tiers on the one clause" in credit
    assert "docs/policy-language.md" in joined
    assert len([line for line in lines if "a second" in line]) == 2, lines  # one line each


def test_a_second_commitment_for_other_subscriptions_is_refused_too(tmp_path: Path) -> None:
    # a 95% commitment for on-premise subscriptions beside Spirion's 99% for SaaS: the
    # commitment rules of one covered the other's months as "no availability commitment"
    # (combine: all), so acme's missed 2026-10 lost its credit; one commitment per policy
    text = SPIRION.read_text(encoding="utf-8").replace(
        "\n\n  exclusions:", _SECOND_TIER.replace("target_percent: 99.0", "target_percent: 95.0")
        .replace("deployments: [saas]", "deployments: [on_premise]"), 1)
    path = tmp_path / "two-scopes.yaml"
    path.write_text(text, encoding="utf-8")
    code, lines = _validate(path)
    assert code == 2
    assert any("$.spec.availability[1].kind: a second availability_commitment clause" in line
               for line in lines), lines


@pytest.mark.parametrize(("old", "new", "where", "says"), [
    ("{below: 99.0, at_least: 95.0, percent_of_monthly_fee: 25}",
     "{below: 99.0, at_least: 94.0, percent_of_monthly_fee: 25}",
     "$.spec.credits[0].tiers[1].at_least", "overlaps the next one"),
    ("{below: 99.0, at_least: 95.0, percent_of_monthly_fee: 25}",
     "{below: 99.0, at_least: 96.0, percent_of_monthly_fee: 25}",
     "$.spec.credits[0].tiers[1].at_least", "a gap"),
    ("{below: 99.0, at_least: 95.0, percent_of_monthly_fee: 25}",
     "{below: 99.95, at_least: 95.0, percent_of_monthly_fee: 25}",
     "$.spec.credits[0].tiers[1].below", "from the highest availability down"),
    ("{below: 99.0, at_least: 95.0, percent_of_monthly_fee: 25}",
     "{below: 99.0, at_least: 95.0, percent_of_monthly_fee: 10}",
     "$.spec.credits[0].tiers[1].percent_of_monthly_fee", "amounts rise"),
    ("{below: 95.0, percent_of_monthly_fee: 50}", "{below: 95.0, days_of_service: 50}",
     "$.spec.credits[0].tiers[2].days_of_service", "every tier uses one basis"),
    ("{below: 95.0, percent_of_monthly_fee: 50}", "{below: 95.0, percent_of_annual_fee: 50}",
     "$.spec.credits[0].tiers[2]", "percent_of_annual_fee"),
    ('amount: "6000.00"', 'amount: "-1.00"', "$.spec.credits[2].amount", "below zero"),
    ("{below: 99.9, at_least: 99.0,", "{below: 99.95, at_least: 99.0,",
     "$.spec.credits[0].tiers[0].below", "a month that meets the commitment cannot earn"),
    ("renewed: credit\n        not_renewed: credit", "renewed: service_days\n"
     "        not_renewed: credit", "$.spec.credits[0].form.renewed", "given as credit or refund"),
], ids=["overlapping tiers", "gap between tiers", "unordered tiers", "amounts not rising",
        "mixed bases", "unknown basis", "cap below zero", "first tier above the target",
        "days form for money"])
def test_credit_mistakes_are_located_errors(tmp_path: Path, old: str, new: str, where: str,
                                            says: str) -> None:
    code, lines = _validate(_edited(tmp_path, TIERED, old, new))
    assert code == 2
    assert any(f": {where}" in line and says in line for line in lines), lines


def test_a_second_cap_per_period_and_a_second_claim_window_are_refused(tmp_path: Path) -> None:
    code, lines = _validate(_edited(tmp_path, TIERED, "per: rolling_12_months", "per: period"))
    assert code == 2 and any("$.spec.credits[2].per" in line and "a second cap per period"
                             in line for line in lines), lines
    window = ('    - id: credit-request\n      kind: claim_window\n      ref: "SLA > Customer '
              'Must Request Financial Credit"\n      summary: >-\n        The customer asks '
              'for the credit within 30 days after the month ends, or loses it.\n      '
              'window: 30d\n')
    text = TIERED.read_text(encoding="utf-8")
    doubled = tmp_path / "two-windows.yaml"
    doubled.write_text(text.replace(window, window + window.replace("credit-request",
                                                                     "credit-request-2")))
    code, lines = _validate(doubled)
    assert code == 2 and any("a second claim_window clause" in line for line in lines), lines


def test_a_first_tier_below_the_target_is_a_warning(tmp_path: Path) -> None:
    code, lines = _validate(_edited(tmp_path, TIERED, "{below: 99.9, at_least: 99.0,",
                                    "{below: 99.5, at_least: 99.0,"))
    assert code == 2  # --strict
    assert any("earns no credit" in line and "tiers[0].below" in line for line in lines)


@pytest.mark.parametrize("backend", ["durable", "python"])
def test_streamed_report_equals_in_memory_with_remedies(backend: str) -> None:
    facts = str(ROOT / "examples" / "tiered-percent-2026.yaml")
    engine = Engine.load(TIERED.parent, backend=backend)
    memory = engine.evaluate([facts], as_of="2026-11-15T00:00:00Z").to_json()
    out = io.StringIO()
    engine.write_json([facts], out, as_of="2026-11-15T00:00:00Z", shards=3)
    assert out.getvalue() == memory
    document = json.loads(memory)
    assert list(document)[-2:] == ["remedies", "findings"]
    assert [r["period"] for r in document["remedies"]] == ["2026-10"]


def test_no_remedies_section_and_no_new_credit_fields_without_the_new_shapes() -> None:
    facts = str(ROOT / "examples" / "october-2026.yaml")
    document = Engine.load(SPIRION.parent).evaluate(
        [facts], as_of="2026-11-27T12:00:00-05:00").to_dict()
    assert "remedies" not in document
    assert document["credits"]  # the example has credits, with the old fields only
    assert all(list(row) == ["customer", "month", "amount", "currency", "form",
                             "claim_deadline", "requested_at", "status", "policy_version"]
               for row in document["credits"])
    days = Engine.load(DAYS.parent).evaluate(
        [str(ROOT / "examples" / "days-of-service-2026.yaml")],
        as_of="2026-12-15T00:00:00-08:00").to_dict()
    assert "remedies" not in days  # no chronic_failure clause
    assert days["credits"][0]["currency"] == "days"


def test_show_and_diff_render_the_examples(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["show", str(TIERED)])
    assert shown.exit_code == 0
    assert "**Tier 2:** below 99.0%, at least 95.0%: 25% of the monthly fee" in shown.output
    # the words follow the measurement period (a monthly policy: months)
    assert "**Remedy:** termination right when 3 consecutive months miss the commitment or " \
        "when 4 months of any 12 months miss it" in shown.output
    assert "**Cap:** the credits of one month add up to at most 50%" in shown.output
    quarterly = runner.invoke(main, ["show", str(ROOT / "policies" / "examples" /
                                                  "forge-quarterly" / "1.0.0.yaml")])
    assert "America/Los\\_Angeles (quarters, days and deadlines)" in quarterly.output
    assert "1/40 of the annual fee for each missed quarter" in quarterly.output
    assert "30d after the end of the quarter that missed the target" in quarterly.output
    assert "month" not in quarterly.output.replace("calendar month", "")
    days = runner.invoke(main, ["show", str(DAYS)])
    assert days.exit_code == 0 and "15 days of service added to the term" in days.output
    edited = _edited(tmp_path, TIERED, 'amount: "6000.00"', 'amount: "9000.00"')
    diff = runner.invoke(main, ["diff", str(TIERED), str(edited), "--facts",
                                str(ROOT / "examples" / "tiered-percent-2026.yaml")])
    assert diff.exit_code == 0, diff.output
    assert "yearly-credit-cap" in diff.output


def test_row_dict_leaves_out_absent_fields_and_writes_none_as_null() -> None:
    """One mechanism for optional row fields (the ABSENT sentinel, as for the other policy
    shapes): an ABSENT field is left out; None is written as null. A credit row of a policy
    without the credit shapes has none of the five detail keys; one that uses them has all
    five, after the existing fields, null where they do not apply."""
    from policyengine.model.json_report import row_dict
    from policyengine.model.results import CreditRow

    plain = CreditRow("acme", "2026-10", "1.00", "USD", "credit", "2026-12-30", None,
                      "payable", "1.0.0")
    assert list(row_dict(plain)) == ["customer", "month", "amount", "currency", "form",
                                     "claim_deadline", "requested_at", "status",
                                     "policy_version"]
    detail = CreditRow("acme", "2026-10", "1.00", "USD", "credit", "2026-12-30", None,
                       "payable", "1.0.0", basis="percent_of_monthly_fee", tier=None,
                       uncapped_amount="1.00", capped_by=None, cap_reduction=None)
    assert list(row_dict(detail))[-5:] == ["basis", "tier", "uncapped_amount", "capped_by",
                                          "cap_reduction"]
    assert row_dict(detail)["capped_by"] is None and row_dict(detail)["tier"] is None
    quarterly = CreditRow("acme", "2026-10", "1.00", "USD", "credit", "2027-01-30", None,
                          "payable", "1.0.0", period="2026-Q4")
    assert list(row_dict(quarterly))[-1] == "period"


