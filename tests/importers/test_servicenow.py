"""ServiceNow: incidents + task_sla (the source's verdict) + sys_audit (state history) →
evaluated, and reconciled against ServiceNow's own SLA verdicts.

The Table API writes naive date-times, UTC for plain values: the mapping declares
``timezone: UTC``. Support hours: Mon-Fri 09:00-18:00 America/New_York, no holiday in the
week of 2026-10-19; October is EDT (UTC-4).
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from policyengine.cli.main import main

from .conftest import (
    FIXTURES,
    ROOT,
    SUBSCRIPTIONS,
    evaluate,
    evaluate_with,
    pausing_engine,
    read_facts,
)

SN = FIXTURES / "servicenow"
INCIDENTS = SN / "incidents.json"
FILES = [INCIDENTS, SN / "task_sla.json", SN / "sys_audit.json"]
AS_OF = "2026-10-30T12:00:00-04:00"


def test_servicenow_facts(imported) -> None:
    result, out = imported("servicenow", FILES, SN / "mapping.yaml")
    assert result.exit_code == 0, result.stderr
    facts = {f["id"]: f for f in read_facts(out)}
    assert sorted(facts) == ["INC0010001", "INC0010002"]
    one = facts["INC0010001"]
    # naive '2026-10-19 14:00:00' read in the declared UTC
    assert one["opened_at"] == "2026-10-19T14:00:00+00:00"
    # first response = end of the completed 'Priority 2 response' task SLA
    assert one["first_response_at"] == "2026-10-19T14:20:00+00:00"
    # sys_audit state rows only (the hold_reason row is not a state), the millisecond one kept;
    # resolved (6), reopened (2), resolved again
    assert [(e["at"], e["status"]) for e in one["status_history"]] == [
        ("2026-10-19T14:20:00.527000+00:00", "in_progress"),
        ("2026-10-19T19:00:00+00:00", "waiting_on_customer"),
        ("2026-10-20T14:00:00+00:00", "in_progress"),
        ("2026-10-21T19:00:00+00:00", "resolved"),
        ("2026-10-22T13:30:00+00:00", "in_progress"),
        ("2026-10-22T20:00:00+00:00", "resolved")]
    assert one["resolved_at"] == "2026-10-22T20:00:00+00:00"
    assert one["source_sla"] == {"response_met": True, "resolution_met": False}
    two = facts["INC0010002"]
    # priority 4 is not in the severity table; impact/urgency '2/3' is -> 3
    assert two["severity"] == 3
    assert "resolved_at" not in two  # state 2: in progress
    # the cancelled 'Priority 3 response' (breached) is set aside; the sys_id-listed
    # 'Priority 4 response' completed unbreached -> met
    assert two["source_sla"] == {"response_met": True, "resolution_met": None}
    assert result.stderr.splitlines() == [
        f"{INCIDENTS}:35:5: $.customer: warning: fact 'INC0010003': incident has no "
        "organisation, company or requester: no customer to place it with; not imported",
        "imported 2 facts from 3 servicenow records; 1 warning(s)"]


def test_servicenow_import_then_evaluate_with_a_pause(imported, backend) -> None:
    _, out = imported("servicenow", FILES, SN / "mapping.yaml")
    paused = {t["id"]: t for t in evaluate_with(pausing_engine(backend), out,
                                                as_of=AS_OF)["tickets"]}
    shipped = {t["id"]: t for t in evaluate(out, as_of=AS_OF)["tickets"]}
    # INC0010001 sev 2 opened Mon 10-19 10:00 EDT; On Hold (3 -> waiting_on_customer)
    # Mon 15:00 -> Tue 10:00 EDT. Response 10:00 + 4 h = Mon 14:00 either way (the wait starts
    # after it); answered 10:20 -> met.
    one = paused["INC0010001"]
    assert (one["response_due"], one["response_met"]) == ("2026-10-19T14:00:00-04:00", True)
    assert shipped["INC0010001"]["response_due"] == "2026-10-19T14:00:00-04:00"
    # Resolution unpaused: Mon 8, Tue 17, Wed 26, Thu 35, Fri 44, Mon 10-26 09:00 + 4 h = 13:00.
    # Paused: Mon 15-18 (3 h) + Tue 09-10 (1 h) = 4 support hours later -> Mon 10-26 17:00.
    assert shipped["INC0010001"]["resolution_due"] == "2026-10-26T13:00:00-04:00"
    assert (one["resolution_due"], one["resolution_met"]) == (
        "2026-10-26T17:00:00-04:00", True)  # resolved Thu 10-22 16:00 EDT after the reopen
    # INC0010002 sev 3 opened Tue 10-20 14:00 EDT: due 18:00; answered Wed 10:15 -> missed
    two = paused["INC0010002"]
    assert (two["response_due"], two["response_met"]) == ("2026-10-20T18:00:00-04:00", False)


def test_reconcile_lists_where_servicenow_and_the_contract_differ(imported) -> None:
    _, out = imported("servicenow", FILES, SN / "mapping.yaml")
    result = CliRunner().invoke(main, [
        "reconcile", "--policy", str(ROOT / "policies" / "spirion"), "--facts",
        str(SUBSCRIPTIONS), "--facts", str(out), "--as-of", AS_OF, "--format", "json",
        "--exit-code"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    # compared: INC0010001 response (met/met) and resolution, INC0010002 response.
    # INC0010001: ServiceNow's 3-day SLA ran round the clock and breached; the contract's
    #   48 support hours (due Mon 10-26 13:00) were met on Thu 10-22.
    # INC0010002: ServiceNow's 1-day response SLA was met; the contract's 4 support hours
    #   (Tue 18:00) were not.
    assert report["compared"] == 3
    assert [(d["ticket"], d["target"], d["source_met"], d["contract_met"], d["due"])
            for d in report["differences"]] == [
        ("INC0010001", "resolution", False, True, "2026-10-26T13:00:00-04:00"),
        ("INC0010002", "response", True, False, "2026-10-20T18:00:00-04:00")]
    assert report["differences"][0]["origin"] == f"servicenow INC0010001 {INCIDENTS}:3"


def test_resolution_before_creation_is_an_error_and_nothing_is_written(imported,
                                                                      tmp_path) -> None:
    bad = tmp_path / "incidents.json"
    bad.write_text(INCIDENTS.read_text("utf-8").replace(
        '"resolved_at": "2026-10-22 20:00:00"', '"resolved_at": "2026-10-19 13:59:59"'), "utf-8")
    result, out = imported("servicenow", [bad, *FILES[1:]], SN / "mapping.yaml")
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.splitlines()[0] == (
        f"{bad}:3:5: $.resolved_at: fact 'INC0010001': resolved_at 2026-10-19T13:59:59+00:00 "
        "is before the ticket was created (2026-10-19T14:00:00+00:00)")


def test_state_change_before_creation_points_at_the_audit_row(imported, tmp_path) -> None:
    audit = tmp_path / "sys_audit.json"
    audit.write_text((SN / "sys_audit.json").read_text("utf-8").replace(
        '"2026-10-19 14:20:00.527"', '"2026-10-19 13:20:00.527"'), "utf-8")
    result, out = imported("servicenow", [INCIDENTS, audit], SN / "mapping.yaml")
    assert result.exit_code == 2 and not out.exists()
    assert (f"{audit}:3:5: $.status_history: fact 'INC0010001': status change to "
            "'2' at 2026-10-19T13:20:00.527000+00:00 is before the ticket was "
            "created (2026-10-19T14:00:00+00:00)") in result.stderr.splitlines()


def test_a_servicenow_mapping_must_declare_the_zone(imported, tmp_path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text((SN / "mapping.yaml").read_text("utf-8").replace(
        "timezone: UTC\n", ""), "utf-8")
    result, out = imported("servicenow", FILES, mapping)
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.splitlines() == [
        f"{mapping}:1:1: $: a servicenow mapping needs 'timezone': the Table API writes naive "
        "date-times (UTC for plain values, the requesting user's zone for display values); "
        "never assumed"]
