"""Policy versions and ``policyengine diff``: term changes in words, and changed outcomes.

The acceptance scenario amends the shipped Spirion policy: 1.0.0 ends on 2026-11-01 and
1.1.0 takes over with a 99.5% target, 4 h of excused scheduled maintenance after 72 h of
notice, and third-party outages no longer excused (``ddos`` added instead). Hand-computed
numbers (America/New_York; October 2026 has 44,640 minutes, November 43,260 because DST ends
on 1 November):

* October: vendor 300 min + third party 60 min.
  1.0.0: 300 counted → 99.328% ≥ 99.0 met. 1.1.0 alone: 360 counted → 99.1935% < 99.5 missed.
* November: vendor 300 min; scheduled 2 h with 60 h notice; scheduled 5 h with 80 h notice.
  1.0.0 alone: both windows excused → 300 counted → 99.3065% met.
  1.1.0: 60 h < 72 h so 120 counted, 5 h window 4 h excused so 60 counted → 480 counted →
  98.8904% missed.
* A missed month earns 1200.00 / 12 = 100.00 (renewed: a credit).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from policyengine.api import Engine, load_policies
from policyengine.cli.main import main
from policyengine.model.policy import Policy
from policyengine.tools.diff import (
    compare_outcomes,
    diff_outcomes,
    diff_policies,
    evaluate_alone,
    standalone,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "policies" / "spirion" / "1.0.0.yaml"
AS_OF = "2026-12-15T12:00:00-05:00"

TERM_LINES = [
    "version: 1.0.0 → 1.1.0",
    "effective from: 2020-01-01 → 2026-11-01",
    "effective until: 2026-11-01 → none",
    "availability-commitment: target percent: 99.0% → 99.5%",
    "scheduled-downtime: notice lead: 48h → 72h",
    "scheduled-downtime: excluded up to: 6h → 4h",
    "excused-downtime: causes: + ddos, - third_party",
]

FACTS = {
    "apiVersion": "policyengine/v1",
    "kind": "FactSet",
    "facts": [
        {"type": "subscription", "customer": "acme", "plan": "production", "deployment": "saas",
         "license": "subscription", "annual_fee": "1200.00", "currency": "USD",
         "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
         "support": "active"},
        {"type": "downtime", "id": "oct-vendor", "start": "2026-10-05T10:00:00-04:00",
         "end": "2026-10-05T15:00:00-04:00", "cause": "vendor", "maintenance": "none"},
        {"type": "downtime", "id": "oct-third-party", "start": "2026-10-06T10:00:00-04:00",
         "end": "2026-10-06T11:00:00-04:00", "cause": "third_party", "maintenance": "none"},
        {"type": "downtime", "id": "nov-vendor", "start": "2026-11-10T10:00:00-05:00",
         "end": "2026-11-10T15:00:00-05:00", "cause": "vendor", "maintenance": "none"},
        {"type": "downtime", "id": "nov-short-notice", "start": "2026-11-14T01:00:00-05:00",
         "end": "2026-11-14T03:00:00-05:00", "cause": "vendor", "maintenance": "scheduled"},
        {"type": "notice", "id": "n-short", "kind": "scheduled_downtime",
         "about": "nov-short-notice", "sent_at": "2026-11-11T13:00:00-05:00",
         "channel": "email"},
        {"type": "downtime", "id": "nov-long-window", "start": "2026-11-21T01:00:00-05:00",
         "end": "2026-11-21T06:00:00-05:00", "cause": "vendor", "maintenance": "scheduled"},
        {"type": "notice", "id": "n-long", "kind": "scheduled_downtime",
         "about": "nov-long-window", "sent_at": "2026-11-17T17:00:00-05:00",
         "channel": "portal"},
    ],
}


def amend(text: str) -> str:
    """1.1.0 from the shipped 1.0.0 text: the four term changes of the scenario."""
    replacements = [
        ('version: "1.0.0"', 'version: "1.1.0"'),
        ('from: "2020-01-01"', 'from: "2026-11-01"'),
        ("target_percent: 99.0", "target_percent: 99.5"),
        ("        lead: 48h\n        channels: [email, phone, portal]\n      excluded_up_to: 6h",
         "        lead: 72h\n        channels: [email, phone, portal]\n      excluded_up_to: 4h"),
        ("causes: [customer, third_party, force_majeure]",
         "causes: [customer, force_majeure, ddos]"),
    ]
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("spirion")
    text = SHIPPED.read_text(encoding="utf-8")
    old = text.replace("    until: null", '    until: "2026-11-01"')
    assert old != text
    (directory / "1.0.0.yaml").write_text(old, encoding="utf-8")
    (directory / "1.1.0.yaml").write_text(amend(text), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def facts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("facts") / "oct-nov.yaml"
    path.write_text(yaml.safe_dump(FACTS, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def policies(versions: Path) -> tuple[Policy, Policy]:
    old, new = sorted(load_policies(versions), key=lambda p: p.effective_from)
    return old, new


# -- the acceptance scenario ----------------------------------------------------------------------
def test_version_directory_applies_each_version_to_its_own_months(
    versions: Path, facts_file: Path, backend: str
) -> None:
    evaluation = Engine.load(versions, backend=backend).evaluate([facts_file], as_of=AS_OF)
    rows = {r.month: r for r in evaluation.availability if r.customer == "acme"}
    october, november = rows["2026-10"], rows["2026-11"]
    assert (october.policy_version, october.target_percent, october.met) == ("1.0.0", 99, True)
    assert october.counted_downtime_minutes == 300
    assert october.availability_percent == 99.328
    assert (november.policy_version, november.target_percent, november.met) == ("1.1.0", 99.5,
                                                                                False)
    assert november.minutes_in_month == 43260
    assert november.counted_downtime_minutes == 480
    assert november.availability_percent == 98.8904
    credits = [(c.month, c.amount, c.form, c.status, c.policy_version) for c in
               evaluation.credits]
    assert credits == [("2026-11", "100.00", "credit", "claimable", "1.1.0")]
    assert sorted(evaluation.policies) == [("spirion", "1.0.0"), ("spirion", "1.1.0")]


def test_diff_lists_exactly_the_changed_terms(policies: tuple[Policy, Policy]) -> None:
    diff = diff_policies(*policies)
    assert diff.lines() == TERM_LINES
    assert not diff.added and not diff.removed
    assert [c.id for c in diff.changed] == ["availability-commitment", "scheduled-downtime",
                                            "excused-downtime"]


def test_outcomes_evaluate_each_version_alone(policies: tuple[Policy, Policy],
                                              facts_file: Path, backend: str) -> None:
    outcomes = compare_outcomes(*policies, [facts_file], as_of=AS_OF, backend=backend)
    availability = [(c.subject, c.fields) for c in outcomes.section("availability")]
    assert availability == [
        ("acme 2026-10", (("met", True, False),)),
        ("acme 2026-11", (("met", True, False),)),
    ]
    gained = [(c.subject, c.new["amount"], c.new["currency"]) for c in outcomes.credits_gained]
    assert gained == [("acme 2026-10", "100.00", "USD"), ("acme 2026-11", "100.00", "USD")]
    assert outcomes.credits_lost == []
    assert outcomes.totals == {"USD": Decimal("200.00")}
    assert isinstance(outcomes.totals["USD"], Decimal)
    assert {c.section for c in outcomes.changes} == {"availability", "credits"}
    assert outcomes.lines()[-1] == "credit total USD: +200.00"


def test_each_version_alone_judges_months_outside_its_dates(
    policies: tuple[Policy, Policy], facts_file: Path
) -> None:
    old, new = policies
    november_under_old = evaluate_alone(old, [facts_file], as_of=AS_OF, months="2026-11")
    (row,) = [r for r in november_under_old.availability if r.month == "2026-11"]
    assert (row.policy_version, row.met, row.counted_downtime_minutes) == ("1.0.0", True, 300)
    october_under_new = evaluate_alone(new, [facts_file], as_of=AS_OF)
    (row,) = [r for r in october_under_new.availability if r.month == "2026-10"]
    assert (row.policy_version, row.met, row.counted_downtime_minutes) == ("1.1.0", False, 360)
    assert row.availability_percent == 99.1935
    # the originals keep their dates
    assert str(old.effective_until) == "2026-11-01"
    assert standalone(old).effective_until is None


def test_cli_diff_text(versions: Path, facts_file: Path) -> None:
    result = CliRunner().invoke(main, ["diff", str(versions / "1.0.0.yaml"),
                                       str(versions / "1.1.0.yaml"), "--facts", str(facts_file),
                                       "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    for line in TERM_LINES[3:]:
        assert f"  {line}\n" in result.output
    assert "acme 2026-10: met → missed (availability 99.328% vs target 99%" in result.output
    assert "+ acme 2026-11: 100.00 USD gained (credit, claimable)" in result.output
    assert "USD +200.00 (0.00 → 200.00)" in result.output


def test_cli_diff_json_and_exit_code(versions: Path, facts_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "diff.json"
    result = CliRunner().invoke(main, ["diff", str(versions / "1.0.0.yaml"),
                                       str(versions / "1.1.0.yaml"), "--facts", str(facts_file),
                                       "--as-of", AS_OF, "--format", "json", "--output",
                                       str(output), "--exit-code"])
    assert result.exit_code == 1, result.output
    data = json.loads(output.read_text(encoding="utf-8"))
    assert data["changes"] == TERM_LINES
    (target,) = data["clauses"]["changed"][0]["changes"]
    assert (target["path"], target["old"], target["new"]) == ("target_percent", 99.0, 99.5)
    causes = data["clauses"]["changed"][2]["changes"][0]
    assert (causes["added"], causes["removed"]) == (["ddos"], ["third_party"])
    assert data["outcomes"]["credit_totals"] == {"USD": {"old": "0.00", "new": "200.00",
                                                         "change": "200.00"}}
    assert [c["key"]["month"] for c in data["outcomes"]["credits"]] == ["2026-10", "2026-11"]


def test_cli_diff_same_file_is_empty(versions: Path) -> None:
    path = str(versions / "1.1.0.yaml")
    result = CliRunner().invoke(main, ["diff", path, path, "--exit-code"])
    assert result.exit_code == 0
    assert "no differences in terms" in result.output


def test_cli_diff_refuses_a_directory_of_several_versions(versions: Path) -> None:
    result = CliRunner().invoke(main, ["diff", str(versions), str(versions / "1.1.0.yaml")])
    assert result.exit_code == 2
    assert "holds 2 versions" in result.output


# -- term-level diff details ----------------------------------------------------------------------
def _edited(edit: dict) -> Policy:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    for section, clauses in edit.items():
        data["spec"][section] = clauses(data["spec"][section])
    return Policy.from_data(data, "edited.yaml")


@pytest.fixture(scope="module")
def shipped() -> Policy:
    return Policy.from_data(yaml.safe_load(SHIPPED.read_text(encoding="utf-8")), "1.0.0.yaml")


def test_identical_versions_have_no_differences(shipped: Policy) -> None:
    diff = diff_policies(shipped, shipped)
    assert diff.is_empty and diff.lines() == []


def test_added_and_removed_clauses(shipped: Policy) -> None:
    extra = {"id": "status-page", "kind": "declaration", "ref": "SLA > Status page",
             "summary": "Outages are posted on the status page."}
    new = _edited({"entitlements": lambda cs: [c for c in cs
                                               if c["id"] != "no-material-degradation"],
                   "credits": lambda cs: [*cs, extra]})
    diff = diff_policies(shipped, new)
    assert [c.id for c in diff.added] == ["status-page"]
    assert [c.id for c in diff.removed] == ["no-material-degradation"]
    assert diff.lines() == [
        "+ clause status-page (credits, SLA > Status page)",
        "- clause no-material-degradation (entitlements, Customer Support Policy > Note "
        "(features and functions))",
    ]
    assert "Clauses added\n  + status-page [credits] SLA > Status page" in diff.render_text()


def test_nested_terms_appear_by_readable_path(shipped: Policy) -> None:
    def support(clauses: list[dict]) -> list[dict]:
        for clause in clauses:
            if clause["id"] == "severity-3":
                clause["resolution"] = {"target": "10d", "clock": "elapsed"}
            if clause["id"] == "severity-2":
                clause["response"]["target"] = "2h"
                clause["definition"] = {"all": [{"production_degraded": True},
                                                {"workaround_available": False}]}
        return clauses

    diff = diff_policies(shipped, _edited({"support": support}))
    assert diff.lines() == [
        "severity-2: definition: production significantly degraded → production "
        "significantly degraded and no workaround",
        "severity-2: response target: 4h → 2h",
        "severity-3: resolution target: none → 10d",
        "severity-3: resolution clock: none → elapsed",
    ]


def test_reworded_summary_and_moved_reference(shipped: Policy) -> None:
    def credits(clauses: list[dict]) -> list[dict]:
        clauses[1]["summary"] = "Ask within 60 days."
        clauses[1]["ref"] = "SLA > Claims"
        return clauses

    (change,) = diff_policies(shipped, _edited({"credits": credits})).changed
    texts = [c.describe() for c in change.changes]
    assert texts[0] == ("reference: Service Level Addendum > Conditions (credit request) → "
                        "SLA > Claims")
    assert texts[1].startswith('summary: "The customer has to ask') and texts[1].endswith(
        '→ "Ask within 60 days."')


def test_equal_numbers_and_reordered_lists_are_not_changes(shipped: Policy) -> None:
    def availability(clauses: list[dict]) -> list[dict]:
        clauses[0]["target_percent"] = 99  # the same as 99.0
        return clauses

    def exclusions(clauses: list[dict]) -> list[dict]:
        clauses[2]["causes"] = list(reversed(clauses[2]["causes"]))
        return clauses

    diff = diff_policies(shipped, _edited({"availability": availability,
                                           "exclusions": exclusions}))
    assert diff.is_empty


def test_outcome_diff_of_identical_evaluations_is_empty(policies: tuple[Policy, Policy],
                                                         facts_file: Path) -> None:
    evaluation = evaluate_alone(policies[0], [facts_file], as_of=AS_OF)
    outcomes = diff_outcomes(evaluation, evaluation)
    assert outcomes.is_empty and outcomes.totals == {}
    assert "no outcome changes" in outcomes.render_text()


def test_outcome_diff_reports_lost_credits_and_ticket_changes(
    policies: tuple[Policy, Policy], facts_file: Path
) -> None:
    old, new = policies
    facts = [*FACTS["facts"],
             {"type": "ticket", "id": "T-1", "customer": "acme", "severity": 2,
              "opened_at": "2026-11-02T10:00:00-05:00",
              "first_response_at": "2026-11-02T13:30:00-05:00"}]
    quicker = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    for clause in quicker["spec"]["support"]:
        if clause["id"] == "severity-2":
            clause["response"]["target"] = "3h"
    faster = Policy.from_data(quicker, "faster.yaml")
    # reversed: going from NEW (credits) back to a 99.0% policy loses them
    outcomes = compare_outcomes(new, faster, facts, as_of=AS_OF)
    lost = [(c.subject, c.old["amount"]) for c in outcomes.credits_lost]
    assert lost == [("acme 2026-10", "100.00"), ("acme 2026-11", "100.00")]
    assert outcomes.totals == {"USD": Decimal("-200.00")}
    (ticket,) = outcomes.section("tickets")
    assert ticket.fields == (
        ("response_due", "2026-11-02T14:00:00-05:00", "2026-11-02T13:00:00-05:00"),
        ("response_met", True, False),
    )
    assert "T-1: response due: 2026-11-02T14:00:00-05:00 → 2026-11-02T13:00:00-05:00; " \
           "response: met → missed" in outcomes.render_text()
    assert old.version == "1.0.0"
