"""Terms per service (docs/policy-language.md, shape 5, "A target and a credit per
service"): what ``validate`` refuses, located; the single-kind hints for a second
commitment; ``show`` and ``diff`` of per-service terms. Evaluation outcomes are the case
file tests/cases/services/per-service-targets.test.yaml (both back-ends)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from policyengine.cli.main import main
from policyengine.model.policy import Policy
from policyengine.tools.diff import compare_outcomes, diff_policies
from policyengine.tools.show import render_policy

from .conftest import ROOT

POLICY = ROOT / "tests" / "policies" / "per-service-targets.yaml"
AS_OF = "2026-11-15T12:00:00-05:00"


def _edited(tmp_path: Path, old: str, new: str, name: str = "1.0.0.yaml") -> Path:
    text = POLICY.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def load_policy_file(path: Path) -> Policy:
    return Policy.from_data(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


def _errors(path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert "Traceback" not in result.output
    return result.exit_code, [line.replace(f"{path}:", "") for line in result.output.splitlines()
                              if ": warning: " not in line]


_DASH = "        dashboard: {target_percent: 99.5}"
_COMMITMENT_END = "      plans: [production]\n      deployments: [saas]\n"


@pytest.mark.parametrize(("old", "new", "expected"), [
    pytest.param(
        _DASH, "        dashbord: {target_percent: 99.5}",
        "38:19: $.spec.availability[0].per_service.dashbord: service 'dashbord' is not one the "
        "availability commitment covers: it covers api, dashboard, webhooks (did you mean "
        "'dashboard'?)", id="service-not-declared"),
    pytest.param(
        _DASH, _DASH + "\n        api: {target_percent: 99.9}",
        "39:9: $.spec.availability[0].per_service.api: duplicate key 'api' (first at line 37)",
        id="service-given-twice"),
    pytest.param(
        _DASH, "        dashboard: {target_percent: 150}",
        "38:37: $.spec.availability[0].per_service.dashboard.target_percent: '150' is above "
        "the maximum of 100", id="service-target-out-of-range"),
    pytest.param(
        _DASH, "        dashboard: {target_precent: 99.5}",
        "38:21: $.spec.availability[0].per_service.dashboard.target_precent: unknown field "
        "'target_precent' (did you mean 'target_percent'?)", id="service-term-misspelt"),
    pytest.param(
        _DASH, "        dashboard: {plans: [production]}",
        "38:21: $.spec.availability[0].per_service.dashboard.plans: unknown field 'plans' "
        "(allowed here: target_percent)",
        id="a-term-that-does-not-vary-per-service"),
    # the API's own bands start below 99.95: a target of 99.9 for it would pay for a met
    # month; located at the band to edit, under per_service
    pytest.param(
        "        api: {target_percent: 99.95}", "        api: {target_percent: 99.9}",
        "62:23: $.spec.credits[0].per_service.api.tiers[0].below: for service 'api': the first "
        "tier starts below 99.95%, above the 99.9% commitment at line 24: a month that meets "
        "the commitment cannot earn a credit", id="service-band-above-its-target"),
    pytest.param(
        "            - {below: 98.0, percent_of_monthly_fee: 15}",
        "            - {below: 98.0, percent_of_monthly_fee: 4}",
        "67:53: $.spec.credits[0].per_service.dashboard.tiers[1].percent_of_monthly_fee: for "
        "service 'dashboard': amounts rise as availability falls: 4 is not more than the tier "
        "above's", id="service-bands-not-rising"),
])
def test_refused_with_a_location(tmp_path: Path, old: str, new: str, expected: str) -> None:
    code, lines = _errors(_edited(tmp_path, old, new))
    assert (code, lines) == (2, [expected])


def test_terms_per_service_need_a_per_service_measure(tmp_path: Path) -> None:
    code, lines = _errors(_edited(tmp_path, "      scope: per_service",
                                  "      scope: across_services"))
    assert code == 2
    assert lines == [
        "36:7: $.spec.availability[0].per_service: terms per service need the availability "
        "commitment to be measured per service (scope: per_service) (clause "
        "'uptime-commitment' at line 24 says scope: across_services)",
        "59:7: $.spec.credits[0].per_service: terms per service need the availability "
        "commitment to be measured per service (scope: per_service) (clause "
        "'uptime-commitment' at line 24 says scope: across_services)",
    ]


_SECOND = """\
    - id: dashboard-commitment
      kind: availability_commitment
      ref: "SLA > Dashboard"
      summary: The dashboard is to be up at least 99.5 percent of every full calendar month.
      period: calendar_month
      full_months_only: true
      target_percent: 99.5
      plans: [production]
      deployments: [saas]
"""


@pytest.mark.parametrize(("second", "hint"), [
    # the natural first try at a target per service: a second commitment for other services
    pytest.param(_SECOND.replace("      plans:", "      scope: per_service\n      services: "
                                 "[dashboard]\n      plans:"),
                 "for a different target per service keep one commitment that lists every "
                 "service, measured per service, and give a service its own target under "
                 "per_service (scope: per_service, per_service: {dashboard: {target_percent: "
                 "99.5}}; docs/policy-language.md, Services and impact)",
                 id="second-commitment-for-other-services"),
    pytest.param(_SECOND.replace("[saas]", "[on_premise]"),
                 "one commitment covers every plan and deployment it lists (plans: [...], "
                 "deployments: [...]); for another target for some subscriptions define an "
                 "offering with its own target (spec.offerings, overrides: "
                 "{uptime-commitment.target_percent: ...}; docs/policy-language.md, Offerings "
                 "and negotiated terms)", id="second-commitment-for-other-deployments"),
    pytest.param(_SECOND,
                 "a period is judged against one target; for credits that rise as "
                 "availability falls keep one commitment and write tiers on the service credit",
                 id="second-commitment-with-another-target"),
])
def test_a_second_commitment_gets_the_hint_for_its_case(tmp_path: Path, second: str,
                                                        hint: str) -> None:
    code, lines = _errors(_edited(tmp_path, _COMMITMENT_END, _COMMITMENT_END + second))
    # (a second error may follow: the credit's first band against the second target)
    assert code == 2, lines
    assert lines[0].startswith("42:13: $.spec.availability[1].kind: a second "
                               "availability_commitment clause (the first, "
                               "'uptime-commitment', is at line 25); a policy has at most one, "
                               "and evaluation would read only the first: "), lines[0]
    assert hint in lines[0]


def test_show_gives_each_service_its_own_lines() -> None:
    text = render_policy(load_policy_file(POLICY), "text")
    assert "    - Target: 99.9% of each full calendar month\n" in text
    assert "    - Target for api: 99.95% of each full calendar month\n" in text
    assert "    - Target for dashboard: 99.5% of each full calendar month\n" in text
    # the api's second band is the clause's: not repeated; the dashboard's both differ
    assert "    - Tier 1 for api: below 99.95%: 10% of the monthly fee (the annual fee / 12)\n" \
        in text
    assert "Tier 2 for api" not in text
    assert "    - Tier 2 for dashboard: below 98.0%: 15% of the monthly fee (the annual fee / " \
        "12)\n" in text
    assert "Per service" not in text  # nothing left undescribed


def test_show_says_none_for_a_band_a_service_does_not_have(tmp_path: Path) -> None:
    one_band = _edited(tmp_path, "            - {below: 98.0, percent_of_monthly_fee: 15}\n", "")
    text = render_policy(load_policy_file(one_band), "text")
    assert "    - Tier 2 for dashboard: none\n" in text


def test_diff_compares_per_service_terms_and_their_outcomes(tmp_path: Path) -> None:
    # the dashboard's first band pays 10% instead of 5%: globex's 600 minutes (98.6559%,
    # tier 1) earn 10% * 5000.00 = 500.00 instead of 250.00
    new = _edited(tmp_path, "            - {below: 99.5, percent_of_monthly_fee: 5}",
                  "            - {below: 99.5, percent_of_monthly_fee: 10}", "1.1.0.yaml")
    old_policy, new_policy = load_policy_file(POLICY), load_policy_file(new)
    assert diff_policies(old_policy, new_policy).lines() == [
        "service-credit: per service dashboard tiers: + below 99.5; percent of monthly fee 10, "
        "- below 99.5; percent of monthly fee 5"]
    facts = [{"type": "subscription", "customer": "globex", "plan": "production",
              "deployment": "saas", "license": "subscription", "annual_fee": "60000.00",
              "currency": "USD", "term_start": "2026-01-01", "term_end": "2026-12-31",
              "renewed": True, "support": "active", "services": ["dashboard"]},
             {"type": "downtime", "id": "d-globex", "start": "2026-10-08T10:00:00-04:00",
              "end": "2026-10-08T20:00:00-04:00", "cause": "vendor", "maintenance": "none",
              "services": ["dashboard"]}]
    outcomes = compare_outcomes(old_policy, new_policy, facts, as_of=AS_OF)
    (change,) = outcomes.changes
    assert change.subject == "globex 2026-10 dashboard"
    assert change.fields == (("amount", "250.00", "500.00"),
                             ("uncapped_amount", "250.00", "500.00"))
    assert str(outcomes.totals["USD"]) == "250.00"
