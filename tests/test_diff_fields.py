"""``diff --facts`` compares every outcome field of the report, derived from the report
model (``policyengine.model.results``: a field is compared unless the model marks it a key,
context or the version), so a field added to a row cannot be forgotten."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from policyengine.model.json_report import ABSENT
from policyengine.model.results import (
    OUTCOME,
    ROW_TYPES,
    AvailabilityRow,
    CreditRow,
    EntitlementRow,
    Evaluation,
    ObligationRow,
    RemedyRow,
    TicketRow,
    diff_roles,
)
from policyengine.tools.diff import OUTCOME_SECTIONS, diff_outcomes

# one row of each section, every optional field given
ROWS: dict[str, Any] = {
    "availability": AvailabilityRow(
        customer="acme", month="2026-10", covered=True, minutes_in_month=44640,
        downtime_minutes=30, excluded_minutes=0, counted_downtime_minutes=30,
        availability_percent=99.9328, target_percent=99.95, met=False, provisional=False,
        policy_version="1.0.0", period="2026-Q4", service="api"),
    "credits": CreditRow(
        customer="acme", month="2026-10", amount="1000.00", currency="USD", form="credit",
        claim_deadline="2026-11-30", requested_at=None, status="claimable",
        policy_version="1.0.0", period="2026-Q4", service="api",
        basis="percent_of_monthly_fee", tier=1, uncapped_amount="1000.00", capped_by=None,
        cap_reduction=None),
    "tickets": TicketRow(
        id="T-1", customer="acme", severity=2, severity_source="assigned",
        response_due="2026-10-13T14:00:00-04:00", response_met=True,
        resolution_due="2026-10-20T10:00:00-04:00", resolution_met=None,
        update_due="2026-10-14T10:00:00-04:00", update_met=None, at_risk=False,
        policy_version="1.0.0"),
    "obligations": ObligationRow(
        obligation="scheduled_downtime_notice", subject="m-1", customer="acme",
        required_lead_hours=48, lead_hours=60, met=True, strength="advisory",
        policy_version="1.0.0"),
    "entitlements": EntitlementRow(id="U-1", customer="acme", entitled=True, reason="in term",
                                   policy_version="1.0.0"),
    "remedies": RemedyRow(customer="acme", period="2026-10", clause="chronic-failure",
                          remedy="termination_right", reason="3 consecutive periods",
                          exercise_by="2026-11-30", policy_version="1.0.0"),
}
assert set(ROWS) == set(ROW_TYPES)

# The fields diff does not compare, each for a reason the model states: keys (which rows
# are the same), context (the measure beside a verdict, the customer of a ticket) and the
# version. Pinned, so that marking a field not compared is a decision a test shows.
NOT_COMPARED = {
    "availability": {"customer", "month", "period", "service", "minutes_in_month",
                     "downtime_minutes", "excluded_minutes", "counted_downtime_minutes",
                     "availability_percent", "target_percent", "policy_version"},
    "credits": {"customer", "month", "period", "service", "policy_version"},
    "tickets": {"id", "customer", "policy_version"},
    "obligations": {"customer", "subject", "lead_hours", "policy_version"},
    "entitlements": {"id", "customer", "policy_version"},
    "remedies": {"customer", "period", "clause", "policy_version"},
}


def _other(value: Any, name: str = "") -> Any:
    if name in ("amount", "uncapped_amount"):
        return "1500.00"  # money stays a decimal
    if isinstance(value, bool):
        return not value
    if value is None or value is ABSENT:
        return "x"
    if isinstance(value, int | float):
        return value + 1
    return f"{value}-other"


def _evaluation(section: str, row: Any) -> Evaluation:
    evaluation = Evaluation(as_of="2026-11-15T12:00:00-05:00")
    setattr(evaluation, section, [row])
    return evaluation


def test_every_field_is_compared_unless_the_model_says_otherwise() -> None:
    for spec in OUTCOME_SECTIONS:
        names = [f.name for f in dataclasses.fields(ROW_TYPES[spec.name])]
        assert set(spec.fields) == set(names) - NOT_COMPARED[spec.name], spec.name
    # the issue-12 fields are among them
    compared = {spec.name: set(spec.fields) for spec in OUTCOME_SECTIONS}
    assert {"update_due", "update_met", "at_risk", "severity_source"} <= compared["tickets"]
    assert {"basis", "tier", "uncapped_amount", "capped_by", "cap_reduction"} <= \
        compared["credits"]
    assert compared["remedies"] == {"remedy", "reason", "exercise_by"}
    keys = {spec.name: spec.key for spec in OUTCOME_SECTIONS}
    assert keys["availability"] == ("customer", "month", "period", "service")
    assert keys["obligations"] == ("customer", "subject")


def test_a_field_without_a_role_is_an_outcome() -> None:
    @dataclasses.dataclass(frozen=True)
    class NewRow:
        customer: str
        brand_new: str = ""

    assert diff_roles(NewRow) == {"customer": OUTCOME, "brand_new": OUTCOME}


@pytest.mark.parametrize(("section", "name"), [
    pytest.param(spec.name, name, id=f"{spec.name}-{name}")
    for spec in OUTCOME_SECTIONS for name in spec.fields])
def test_a_change_of_each_outcome_field_is_reported(section: str, name: str) -> None:
    row = ROWS[section]
    changed = dataclasses.replace(row, **{name: _other(getattr(row, name), name)})
    outcomes = diff_outcomes(_evaluation(section, row), _evaluation(section, changed))
    (change,) = outcomes.changes
    assert (change.section, change.status) == (section, "changed")
    old = getattr(row, name)
    assert change.fields == ((name, None if old is ABSENT else old,
                              getattr(changed, name)),)
    assert change.describe()  # in words, whatever the field


def test_ticket_update_and_at_risk_in_words() -> None:
    row = ROWS["tickets"]
    changed = dataclasses.replace(row, update_met=False, at_risk=True)
    (change,) = diff_outcomes(_evaluation("tickets", row),
                              _evaluation("tickets", changed)).changes
    assert change.describe() == "T-1: update: open → missed; at risk: no → yes"


def test_remedies_gained_and_lost() -> None:
    row = ROWS["remedies"]
    gained = diff_outcomes(Evaluation(), _evaluation("remedies", row))
    assert [c.describe() for c in gained.changes] == [
        "acme 2026-10 chronic-failure: only under the new version (remedy termination_right, "
        "reason 3 consecutive periods, exercise by 2026-11-30)"]
    assert "  remedies\n" in gained.render_text()
