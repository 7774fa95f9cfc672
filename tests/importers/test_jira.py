"""Jira Service Management: issue JSON (SLA fields, changelog) and the CSV export → evaluated,
and reconciled against Jira's own SLA verdicts.

Support hours: Mon-Fri 09:00-18:00 America/New_York; the week of 2026-10-19 has no holiday
(Columbus Day is 10-12). Severity 1/2/3 respond in 4 support hours; severity 2 resolves in 48
support hours. October is EDT (UTC-4).
"""

from __future__ import annotations

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

JIRA = FIXTURES / "jira"
SEARCH = JIRA / "search.json"
CSV = JIRA / "export.csv"
AS_OF = "2026-10-30T12:00:00-04:00"


def test_issue_json_facts(imported) -> None:
    result, out = imported("jira", [SEARCH], JIRA / "mapping.yaml")
    assert result.exit_code == 0, result.stderr
    facts = {f["id"]: f for f in read_facts(out)}
    assert sorted(facts) == ["SUP-1", "SUP-2"]
    one = facts["SUP-1"]
    # first response = stop time of the first completed 'Time to first response' cycle,
    # a millisecond timestamp with Jira's -0400 offset
    assert one["first_response_at"] == "2026-10-19T10:45:30.500000-04:00"
    # resolved, reopened, resolved again: resolutiondate is the last resolve
    assert one["resolved_at"] == "2026-10-22T16:00:00-04:00"
    assert [(e["at"], e["status"]) for e in one["status_history"]] == [
        ("2026-10-19T11:00:00-04:00", "waiting_on_customer"),
        ("2026-10-20T10:00:00-04:00", "in_progress"),
        ("2026-10-21T15:00:00-04:00", "resolved"),
        ("2026-10-22T09:30:00-04:00", "in_progress"),  # the reopen
        ("2026-10-22T16:00:00-04:00", "resolved")]
    assert one["impact"]["loss_of_service"] is True  # request type 'Report an outage'
    # both resolution cycles (before and after the reopen) unbreached -> met
    assert one["source_sla"] == {"response_met": True, "resolution_met": True}
    two = facts["SUP-2"]
    assert two["first_response_at"] == "2026-10-21T10:15:42.318000-04:00"
    # resolution: only an ongoing, unbreached cycle -> no verdict yet
    assert two["source_sla"] == {"response_met": True, "resolution_met": None}
    assert two["provenance"] == {"source": "jira", "id": "SUP-2", "file": str(SEARCH),
                                 "line": 74}
    assert result.stderr.splitlines() == [
        f"{SEARCH}:113:5: $.customer: warning: fact 'SUP-3': issue has no organisation, "
        "company or requester: no customer to place it with; not imported",
        "imported 2 facts from 3 jira records; 1 warning(s)"]


def test_issue_json_import_then_evaluate_with_a_pause(imported, backend) -> None:
    _, out = imported("jira", [SEARCH], JIRA / "mapping.yaml")
    paused = {t["id"]: t for t in evaluate_with(pausing_engine(backend), out,
                                                as_of=AS_OF)["tickets"]}
    shipped = {t["id"]: t for t in evaluate(out, as_of=AS_OF)["tickets"]}
    # SUP-1 sev 2 opened Mon 10-19 10:00; waiting on the customer Mon 11:00 -> Tue 10:00.
    # Shipped (no pause): response 10:00 + 4 h = Mon 14:00; resolution 48 support hours =
    #   Mon 8 (8), Tue 17, Wed 26, Thu 35, Fri 44, Mon 10-26 09:00 + 4 h = 13:00.
    assert (shipped["SUP-1"]["response_due"], shipped["SUP-1"]["resolution_due"]) == (
        "2026-10-19T14:00:00-04:00", "2026-10-26T13:00:00-04:00")
    # Paused: response 1 h used (10-11), resumes Tue 10:00 with 3 h left -> Tue 13:00.
    #   Resolution loses Mon 11-18 (7 h) + Tue 09-10 (1 h) = 8 support hours:
    #   Mon 10-26 13:00 + 8 h = 13-18 (5 h) + Tue 09:00 + 3 h = Tue 10-27 12:00.
    one = paused["SUP-1"]
    assert (one["response_due"], one["response_met"]) == ("2026-10-20T13:00:00-04:00", True)
    # resolved (after the reopen) Thu 10-22 16:00, before Tue 10-27 12:00 -> met; the 'resolved'
    # stretch between the two resolves does not pause (not in pause_on)
    assert (one["resolution_due"], one["resolution_met"]) == (
        "2026-10-27T12:00:00-04:00", True)
    # SUP-2 sev 3 (Medium) opened Tue 10-20 14:00: 14-18 = 4 h -> due Tue 18:00;
    #   answered Wed 10:15:42.318 -> missed
    assert (paused["SUP-2"]["response_due"], paused["SUP-2"]["response_met"]) == (
        "2026-10-20T18:00:00-04:00", False)


def test_reconcile_lists_where_jira_and_the_contract_differ(imported) -> None:
    _, out = imported("jira", [SEARCH], JIRA / "mapping.yaml")
    result = CliRunner().invoke(main, [
        "reconcile", "--policy", str(ROOT / "policies" / "spirion"), "--facts",
        str(SUBSCRIPTIONS), "--facts", str(out), "--as-of", AS_OF])
    assert result.exit_code == 0
    # compared: SUP-1 response (met/met) and resolution (met/met), SUP-2 response; SUP-2's
    # 24 h Jira goal was met, the contract's 4 support hours (Tue 18:00) were not
    assert result.stdout.splitlines() == [
        "SUP-2 (globex) response: source says met, contract says missed "
        f"(due 2026-10-20T18:00:00-04:00); from jira SUP-2 {SEARCH}:74"]
    assert result.stderr.splitlines() == ["1 of 3 source verdicts differ from the contract's"]


def test_resolution_before_creation_is_an_error_and_nothing_is_written(imported,
                                                                      tmp_path) -> None:
    bad = tmp_path / "search.json"
    bad.write_text(SEARCH.read_text("utf-8").replace(
        '"resolutiondate": "2026-10-22T16:00:00.000-0400"',
        '"resolutiondate": "2026-10-19T09:59:59.999-0400"'), "utf-8")
    result, out = imported("jira", [bad], JIRA / "mapping.yaml")
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.splitlines()[0] == (
        f"{bad}:7:5: $.resolved_at: fact 'SUP-1': resolved_at 2026-10-19T09:59:59.999000-04:00 "
        "is before the ticket was created (2026-10-19T10:00:00-04:00)")


def test_status_change_before_creation_points_at_the_changelog_entry(imported,
                                                                    tmp_path) -> None:
    bad = tmp_path / "search.json"
    bad.write_text(SEARCH.read_text("utf-8").replace(
        '"created": "2026-10-19T11:00:00.000-0400"', '"created": "2026-10-18T11:00:00.000-0400"'),
        "utf-8")
    result, out = imported("jira", [bad], JIRA / "mapping.yaml")
    assert result.exit_code == 2 and not out.exists()
    assert (f"{bad}:58:11: $.status_history: fact 'SUP-1': status change to 'Waiting for "
            "customer' at 2026-10-18T11:00:00-04:00 is before the ticket was created "
            "(2026-10-19T10:00:00-04:00)") in result.stderr.splitlines()


def test_a_single_issue_document(imported, tmp_path) -> None:
    import json

    issue = json.loads(SEARCH.read_text("utf-8"))["issues"][1]  # GET /issue/SUP-2
    single = tmp_path / "SUP-2.json"
    single.write_text(json.dumps(issue, indent=2), "utf-8")
    result, out = imported("jira", [single], JIRA / "mapping.yaml")
    assert result.exit_code == 0, result.stderr
    assert [f["id"] for f in read_facts(out)] == ["SUP-2"]


def test_csv_export_with_declared_format_and_zone(imported) -> None:
    result, out = imported("jira", [CSV], JIRA / "csv.mapping.yaml")
    assert result.exit_code == 0, result.stderr
    facts = {f["id"]: f for f in read_facts(out)}
    # '20/Oct/26 10:30 AM' in America/New_York (EDT) -> 10:30-04:00
    assert facts["SUP-11"]["opened_at"] == "2026-10-20T10:30:00-04:00"
    assert facts["SUP-11"]["resolved_at"] == "2026-10-21T16:15:00-04:00"
    # two 'Custom field (Organizations)' columns: the first listed in 'customers' wins
    assert facts["SUP-13"]["customer"] == "globex"
    assert "status_history" not in facts["SUP-11"]  # the CSV export has no changelog
    assert result.stderr.splitlines()[0] == (
        f"{CSV}:3:1: $.customer: warning: fact 'SUP-12': issue belongs to 'Portal customer 2', "
        "which the mapping's 'customers' table does not list; not imported")
    rows = {t["id"]: t for t in evaluate(out, as_of=AS_OF)["tickets"]}
    # SUP-11 sev 2 opened Tue 10-20 10:30: response 14:30 (no first response in a CSV: missed);
    #   resolution 48 support hours: Tue 7.5, Wed 16.5, Thu 25.5, Fri 34.5, Mon 43.5,
    #   Tue 10-27 09:00 + 4.5 h = 13:30; resolved Wed 10-21 16:15 -> met
    assert (rows["SUP-11"]["response_due"], rows["SUP-11"]["response_met"]) == (
        "2026-10-20T14:30:00-04:00", False)
    assert (rows["SUP-11"]["resolution_due"], rows["SUP-11"]["resolution_met"]) == (
        "2026-10-27T13:30:00-04:00", True)
    # SUP-13 sev 3 (Medium) opened Thu 10-22 09:00 -> 13:00
    assert rows["SUP-13"]["response_due"] == "2026-10-22T13:00:00-04:00"


def test_csv_dates_without_the_declared_format_are_refused(imported, tmp_path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text((JIRA / "csv.mapping.yaml").read_text("utf-8").replace(
        'formats: ["DD/MMM/YY hh:mm A"]\n', ""), "utf-8")
    result, out = imported("jira", [CSV], mapping)
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.splitlines()[0] == (
        f"{CSV}:2:1: $.opened_at: fact 'SUP-11': opened_at: '20/Oct/26 10:30 AM' is not an "
        "ISO 8601 timestamp; declare the source's format under 'formats' in the mapping")


def test_unknown_field_name_in_a_jira_mapping_is_located(imported, tmp_path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text((JIRA / "mapping.yaml").read_text("utf-8").replace(
        "  request_type: customfield_10010", "  request_typ: customfield_10010"), "utf-8")
    result, _ = imported("jira", [SEARCH], mapping)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{mapping}:18:16: $.fields.request_typ: a jira mapping "
                                    "names no field 'request_typ'")


def test_a_truncated_changelog_is_a_warning(imported, tmp_path) -> None:
    bad = tmp_path / "search.json"
    bad.write_text(SEARCH.read_text("utf-8").replace(
        '"startAt": 0, "maxResults": 5, "total": 5,', '"startAt": 0, "maxResults": 5, "total": 7,'),
        "utf-8")
    result, out = imported("jira", [bad], JIRA / "mapping.yaml")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == (
        f"{bad}:55:20: $.status_history: warning: fact 'SUP-1': the changelog holds 5 of 7 "
        "histories (the search API truncates it): the status history is incomplete; export "
        "this issue with GET /rest/api/3/issue/{key}?expand=changelog")
    out.unlink()
    result, out = imported("jira", [bad], JIRA / "mapping.yaml", "--strict")
    assert result.exit_code == 2 and not out.exists()
