"""Generic CSV/JSON import: a helpdesk with no dedicated importer, mapped column by column."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import FIXTURES, evaluate, read_facts, run_import

CSV = FIXTURES / "generic" / "helpdesk.csv"
MAPPING = FIXTURES / "generic" / "helpdesk.mapping.yaml"
AS_OF = "2026-10-30T12:00:00-04:00"


def test_csv_naive_times_take_the_declared_zone_and_keep_provenance(imported) -> None:
    result, out = imported("csv", [CSV], MAPPING)
    assert result.exit_code == 0, result.stderr
    facts = {f["id"]: f for f in read_facts(out)}
    assert sorted(facts) == ["F-1", "F-2", "F-3", "F-5"]
    # 2026-10-14 10:00:00 naive, America/New_York in October = EDT (UTC-4)
    assert facts["F-1"]["opened_at"] == "2026-10-14T10:00:00-04:00"
    assert facts["F-1"]["impact"]["loss_of_service"] is True
    # F-3's subject spans lines 4-5 (a quoted newline): the record starts on line 4
    assert facts["F-3"]["provenance"] == {"source": "csv", "id": "F-3", "file": str(CSV),
                                          "line": 4}
    assert "severity" not in facts["F-5"]  # 'Blocker': the table's "*" says none
    stderr = result.stderr.splitlines()
    assert stderr[0] == (f"{CSV}:6:1: $.customer: warning: fact 'F-4': record has no "
                         "organisation, company or requester: no customer to place it with; "
                         "not imported")
    assert stderr[-1] == "imported 4 facts from 5 csv records; 1 warning(s)"


def test_unlisted_priority_without_a_default_is_an_error_at_its_cell(tmp_path: Path) -> None:
    """Was a warning (the ticket kept no severity, exit 0). Line 7 is F-5's row:
    "F-5,Dashboard widget broken,Open," is 33 characters, so Priority starts at column 34."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text("utf-8").replace(', "*": null}', "}"), "utf-8")
    result = run_import("csv", [CSV], mapping, tmp_path / "o.ndjson")
    assert result.exit_code == 2
    assert not (tmp_path / "o.ndjson").exists()
    assert result.stderr.splitlines()[-1] == (
        f"{CSV}:7:34: $.severity: fact 'F-5': priority 'Blocker' is not in the mapping's "
        "'severity' table ('Urgent', 'High', 'Medium', 'Low'); list it, or declare a default "
        'for every other priority ("*": a level, or null for none: the policy classifies the '
        "ticket from its impact)")


def test_an_unreadable_flag_does_not_hide_the_records_other_errors(tmp_path: Path) -> None:
    """attack16 F10: 'maybe' in Outage dropped the whole (severity-1) ticket with a warning,
    exit 0, and its real error (a response before creation) was never said. Now both are
    errors at their cells: "F-7,a,Resolved,Urgent,Acme Corp,2026-10-14 10:00:00," is 52
    characters (First responded time at 53), then 20 for that cell and 1 for the empty
    Resolved time: Outage at 74."""
    export = tmp_path / "x.csv"
    export.write_text(CSV.read_text("utf-8").splitlines()[0] + "\n"
                      "F-7,a,Resolved,Urgent,Acme Corp,2026-10-14 10:00:00,"
                      "2026-10-13 10:00:00,,maybe\n", "utf-8")
    result = run_import("csv", [export], MAPPING, tmp_path / "o.ndjson")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{export}:2:53: $.first_response_at: fact 'F-7': first_response_at "
        "2026-10-13T10:00:00-04:00 is before the ticket was created (2026-10-14T10:00:00-04:00)",
        f"{export}:2:74: $.impact.loss_of_service: fact 'F-7': impact.loss_of_service 'maybe' "
        "is not yes/no, true/false, 1/0 or x/empty; fix the export, or give the field a "
        "'default' (true or false)"]


def test_an_unreadable_flag_takes_the_declared_default(tmp_path: Path) -> None:
    export = tmp_path / "x.csv"
    export.write_text(CSV.read_text("utf-8").splitlines()[0] + "\n"
                      "F-7,a,Resolved,Urgent,Acme Corp,2026-10-14 10:00:00,,,maybe\n", "utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text("utf-8").replace(
        "impact.loss_of_service: Outage",
        "impact.loss_of_service: {column: Outage, default: true}"), "utf-8")
    out = tmp_path / "o.ndjson"
    result = run_import("csv", [export], mapping, out)
    assert result.exit_code == 0, result.stderr
    assert read_facts(out)[0]["impact"]["loss_of_service"] is True


def test_csv_import_then_evaluate_hand_computed(imported) -> None:
    _, out = imported("csv", [CSV], MAPPING)
    rows = {t["id"]: t for t in evaluate(out, as_of=AS_OF)["tickets"]}
    # support hours: weekdays 09:00-18:00 New York; severity 1/2/3 respond in 4 support hours
    # F-1 sev 1, Wed 10-14 10:00 + 4h = 14:00; answered 15:30 -> missed.
    #   resolution 24h elapsed: 10-15 10:00; resolved 09:00 -> met
    assert (rows["F-1"]["response_due"], rows["F-1"]["response_met"]) == (
        "2026-10-14T14:00:00-04:00", False)
    assert (rows["F-1"]["resolution_due"], rows["F-1"]["resolution_met"]) == (
        "2026-10-15T10:00:00-04:00", True)
    # F-2 sev 2, Fri 10-16 16:00: 2h Friday + 2h Monday -> Mon 10-19 11:00; answered 10:00.
    #   resolution 48 support hours: 2 (Fri) + 9*5 (Mon-Fri 19-23) = 47, +1 -> Mon 10-26 10:00
    assert (rows["F-2"]["response_due"], rows["F-2"]["response_met"]) == (
        "2026-10-19T11:00:00-04:00", True)
    assert (rows["F-2"]["resolution_due"], rows["F-2"]["resolution_met"]) == (
        "2026-10-26T10:00:00-04:00", True)
    # F-3 sev 3, Tue 10-20 17:00: 1h Tuesday + 3h Wednesday -> 10-21 12:00; never answered
    assert (rows["F-3"]["response_due"], rows["F-3"]["response_met"]) == (
        "2026-10-21T12:00:00-04:00", False)
    # F-5 came without severity and without impact: classified 3; 11:00 + 4h = 15:00, 11:30
    assert (rows["F-5"]["severity"], rows["F-5"]["severity_source"]) == (3, "classified")
    assert (rows["F-5"]["response_due"], rows["F-5"]["response_met"]) == (
        "2026-10-22T15:00:00-04:00", True)


def test_strict_makes_warnings_errors_and_writes_nothing(imported, tmp_path: Path) -> None:
    result, out = imported("csv", [CSV], MAPPING, "--strict")
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.splitlines()[0] == (
        f"{CSV}:6:1: $.customer: fact 'F-4': record has no organisation, company or "
        "requester: no customer to place it with; not imported")


def test_existing_output_is_left_whole_on_error(tmp_path: Path) -> None:
    out = tmp_path / "facts.ndjson"
    out.write_text("old\n", "utf-8")
    result = run_import("csv", [CSV], MAPPING, out, "--strict")
    assert result.exit_code == 2
    assert out.read_text("utf-8") == "old\n"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_naive_times_without_a_zone_are_refused(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text("utf-8").replace(
        "timezone: America/New_York      # the export writes naive local times\n", ""), "utf-8")
    result = run_import("csv", [CSV], mapping, tmp_path / "o.ndjson")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"{CSV}:2:57: $.opened_at: fact 'F-1': opened_at: '2026-10-14 10:00:00' has no UTC "
        "offset and the mapping declares no 'timezone' for this source; add e.g. "
        "timezone: America/New_York (never assumed)")


def test_resolution_before_creation_is_a_located_error(tmp_path: Path) -> None:
    export = tmp_path / "x.csv"
    export.write_text(CSV.read_text("utf-8").replace(
        "2026-10-15 09:00:00", "2026-10-13 09:00:00"), "utf-8")
    result = run_import("csv", [export], MAPPING, tmp_path / "o.ndjson")
    assert result.exit_code == 2
    assert (f"{export}:2:97: $.resolved_at: fact 'F-1': resolved_at 2026-10-13T09:00:00-04:00 "
            "is before the ticket was created (2026-10-14T10:00:00-04:00)") in result.stderr


def test_bad_mapping_is_one_located_line(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text("utf-8").replace("severity: {Urgent: 1,",
                                                          "severity: {Urgent: one,"), "utf-8")
    result = run_import("csv", [CSV], mapping, tmp_path / "o.ndjson")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{mapping}:10:")
    assert "$.severity.Urgent" in lines[0]


def test_missing_column_and_ragged_row_are_located(tmp_path: Path) -> None:
    export = tmp_path / "x.csv"
    export.write_text("Ticket ID,Company\nA,Acme Corp\n", "utf-8")
    result = run_import("csv", [export], MAPPING, tmp_path / "o.ndjson")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{export}:1:1: $: column 'Priority' (mapped to severity")
    export.write_text(CSV.read_text("utf-8").replace("F-2,Reports slow,", "F-2,"), "utf-8")
    result = run_import("csv", [export], MAPPING, tmp_path / "o.ndjson")
    assert result.stderr == f"{export}:3:1: $: row has 8 columns, the header 9\n"


def test_json_records_epoch_milliseconds(tmp_path: Path) -> None:
    export = tmp_path / "x.json"
    export.write_text(json.dumps({"data": {"items": [
        {"key": "J-1", "org": {"name": "Acme Corp"}, "created": 1791986400000, "p": "Urgent"},
    ]}}, indent=1), "utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "apiVersion: policyengine/v1\nkind: ImportMapping\nsource: json\nepoch: milliseconds\n"
        "fact: ticket\nrecords: data.items\ncustomers: {Acme Corp: acme}\n"
        "severity: {Urgent: 1}\n"
        "fields: {id: key, customer: org.name, opened_at: created, severity: p}\n", "utf-8")
    result = run_import("json", [export], mapping, tmp_path / "o.ndjson")
    assert result.exit_code == 0, result.stderr
    (fact,) = read_facts(tmp_path / "o.ndjson")
    # 1791986400000 ms = 1792159200 s = 2026-10-14T14:00:00Z
    assert fact["opened_at"] == "2026-10-14T14:00:00+00:00"
    assert fact["provenance"]["line"] == 4  # the record's opening brace


def test_the_documented_mapping_is_valid(tmp_path: Path) -> None:
    from policyengine.importers import load_mapping

    from .conftest import ROOT

    text = (ROOT / "docs" / "import.md").read_text("utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "documented.yaml"
    path.write_text(block, "utf-8")
    mapping = load_mapping(path, "json")
    assert (mapping.timezone, mapping.epoch, mapping.components["Search"]) == (
        "America/New_York", "milliseconds", None)
    assert mapping.impact["outage"]["loss_of_service"] is True


def test_json_record_problems_are_located_at_the_field(tmp_path: Path) -> None:
    """The same strictness for a JSON export: the bad flag and the bad source verdict of
    record T-9 are errors at their own keys (line 3: the record's second line), the
    ticket's error too; exit 2."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "apiVersion: policyengine/v1\nkind: ImportMapping\nsource: json\n"
        "fact: ticket\nrecords: items\n"
        "fields: {id: key, customer: org, opened_at: created, first_response_at: replied,"
        " impact.loss_of_service: outage, source_sla.response_met: met}\n", "utf-8")
    export = tmp_path / "x.json"
    export.write_text('{"items": [\n'
                      '{"key": "T-9", "org": "acme", "created": "2026-10-14T10:00:00-04:00",\n'
                      ' "replied": "2026-10-13T10:00:00-04:00", "outage": "maybe", "met": 2}\n'
                      ']}\n', "utf-8")
    result = run_import("json", [export], mapping, tmp_path / "o.ndjson")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{export}:3:13: $.first_response_at: fact 'T-9': first_response_at "
        "2026-10-13T10:00:00-04:00 is before the ticket was created (2026-10-14T10:00:00-04:00)",
        f"{export}:3:52: $.impact.loss_of_service: fact 'T-9': impact.loss_of_service 'maybe' "
        "is not yes/no, true/false, 1/0 or x/empty; fix the export, or give the field a "
        "'default' (true or false)",
        f"{export}:3:68: $.source_sla.response_met: fact 'T-9': source_sla.response_met "
        "2 is not yes/no, true/false, 1/0 or x/empty; fix the export, or give the "
        "field a 'default' (true or false)"]
