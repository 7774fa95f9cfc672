"""Attacks on `policyengine import` found in review (issue 14): each test names its case.

Expected everywhere: one located line per problem (FILE:LINE:COL, source id), exit 2 for an
error, never a traceback, nothing written; warnings located (errors with --strict); nothing
dropped or guessed silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import read_facts, run_import

HEADER = "Ticket ID,Company,Created,Replied"
TICKET_MAPPING = """\
apiVersion: policyengine/v1
kind: ImportMapping
source: csv
timezone: America/New_York
fact: ticket
customers: {"Acme Corp": acme}
fields:
  id: Ticket ID
  customer: Company
  opened_at: Created
  first_response_at: Replied
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def csv_import(tmp_path: Path, rows: str | bytes, *options: str,
               mapping: str = TICKET_MAPPING):
    """Import ``rows`` (a CSV file's text) with ``mapping``: (result, output path)."""
    export = write(tmp_path, "export.csv", rows)
    out = tmp_path / "facts.ndjson"
    result = run_import("csv", [export], write(tmp_path, "map.yaml", mapping), out, *options)
    return result, out, export


# -- daylight saving: naive local times the zone has twice, or never ----------------------
def test_dst_fall_back_hour_is_a_located_warning_not_a_traceback(tmp_path: Path) -> None:
    # 2026-11-01 01:30 happens twice in New York (EDT -04:00, then EST -05:00): the earlier
    # instant is read, and the record that had it is named (before: pendulum's
    # AmbiguousTime escaped as a traceback).
    result, out, export = csv_import(
        tmp_path, f"{HEADER}\n7,Acme Corp,2026-11-01 01:30:00,2026-11-01 03:00:00\n")
    assert result.exit_code == 0, result.stderr
    assert read_facts(out)[0]["opened_at"] == "2026-11-01T01:30:00-04:00"
    assert result.stderr.splitlines()[0] == (
        f"{export}:2:13: $.opened_at: warning: fact '7': opened_at: '2026-11-01 01:30:00' "
        "occurs twice in America/New_York (the clocks fall back); read as the earlier "
        "instant 2026-11-01T01:30:00-04:00, not 2026-11-01T01:30:00-05:00")


def test_dst_fall_back_hour_with_strict_is_an_error(tmp_path: Path) -> None:
    result, out, export = csv_import(
        tmp_path, f"{HEADER}\n7,Acme Corp,2026-11-01 01:30:00,\n", "--strict")
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.startswith(f"{export}:2:13: $.opened_at: fact '7': opened_at: ")


FORMAT_MAPPING = TICKET_MAPPING.replace("fact: ticket",
                                        'fact: ticket\nformats: ["DD/MMM/YY h:mm A"]')


def test_dst_spring_forward_in_a_declared_format_is_an_error_not_shifted(tmp_path: Path) -> None:
    # 2:30 AM on 2026-03-08 does not exist in New York. The ISO path refused it, but a
    # declared format (a Jira CSV export's) was shifted to 03:30 by pendulum, silently.
    result, out, export = csv_import(
        tmp_path, f"{HEADER}\n8,Acme Corp,08/Mar/26 2:30 AM,\n", mapping=FORMAT_MAPPING)
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.splitlines() == [
        f"{export}:2:13: $.opened_at: fact '8': opened_at: '08/Mar/26 2:30 AM' does not exist "
        "in America/New_York (the clocks skip that hour)"]


def test_dst_fall_back_in_a_declared_format_reads_the_earlier_instant(tmp_path: Path) -> None:
    # pendulum's from_format read 01/Nov/26 1:30 AM as the later instant (-05:00), unlike the
    # ISO path, and said nothing: both now read the earlier one (-04:00) with a warning.
    result, out, _ = csv_import(
        tmp_path, f"{HEADER}\n9,Acme Corp,01/Nov/26 1:30 AM,\n", mapping=FORMAT_MAPPING)
    assert result.exit_code == 0, result.stderr
    assert read_facts(out)[0]["opened_at"] == "2026-11-01T01:30:00-04:00"
    assert "occurs twice in America/New_York" in result.stderr


# -- epoch numbers in the other unit ------------------------------------------------------
EPOCH_MAPPING = """\
apiVersion: policyengine/v1
kind: ImportMapping
source: json
epoch: {unit}
fact: downtime
cause: {{default: vendor}}
maintenance: {{default: none}}
fields: {{id: ref, start: down, end: up}}
"""


@pytest.mark.parametrize(("unit", "down", "up", "message"), [
    # 1792504800 s = 2026-10-20T14:00Z; read as milliseconds it was 1970-01-21 (silently)
    ("milliseconds", 1792504800, 1792507500,
     "down: 1792504800 as epoch milliseconds is outside 2000-2100 (not a plausible time "
     "for this data); as epoch seconds it would be 2026-10-20T14:00:00+00:00: check the "
     "mapping's 'epoch'"),
    ("seconds", 1792504800000, 1792507500000,
     "down: 1792504800000 as epoch seconds is outside 2000-2100 (not a plausible time for "
     "this data); as epoch milliseconds it would be 2026-10-20T14:00:00+00:00: check the "
     "mapping's 'epoch'"),
    ("milliseconds", 0, 1792507500000,
     "down: 0 as epoch milliseconds is outside 2000-2100 (not a plausible time for this "
     "data)"),
], ids=["epoch-seconds-declared-milliseconds", "epoch-milliseconds-declared-seconds",
        "epoch-zero-placeholder"])
def test_epoch_in_the_other_unit_is_a_located_error(tmp_path: Path, unit: str, down: int,
                                                    up: int, message: str) -> None:
    export = write(tmp_path, "mon.ndjson", f'{{"ref": "m1", "down": {down}, "up": {up}}}\n')
    mapping = write(tmp_path, "map.yaml", EPOCH_MAPPING.format(unit=unit))
    out = tmp_path / "facts.ndjson"
    result = run_import("json", [export], mapping, out)
    assert result.exit_code == 2
    assert not out.exists()
    assert f"{export}:1:1: $.start: fact 'm1': start: {message.removeprefix('down: ')}" in (
        result.stderr.splitlines())


# -- facts evaluate would refuse: found at the source record, not at a fact-file line -------
DOWNTIME_MAPPING = """\
apiVersion: policyengine/v1
kind: ImportMapping
source: csv
timezone: America/New_York
fact: downtime
maintenance: {default: none}
fields: {id: Ref, start: Start, end: End, cause: Cause}
"""


def test_value_evaluate_refuses_is_an_import_error_at_the_source_row(tmp_path: Path) -> None:
    # 'Vendor' (capitalised, no values table) was written and import exited 0; evaluate then
    # refused the fact file at its own line 1.
    result, out, export = csv_import(
        tmp_path, "Ref,Start,End,Cause\nD1,2026-10-19 10:00:00,2026-10-19 11:00:00,Vendor\n",
        mapping=DOWNTIME_MAPPING)
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.splitlines() == [
        f"{export}:2:1: $.cause: fact 'D1': unknown cause 'Vendor'; expected one of: vendor, "
        "customer, third_party, force_majeure (evaluate would refuse this downtime)"]


def test_record_without_id_is_an_error_not_prefix_none(tmp_path: Path) -> None:
    # an empty id cell gave the fact id 'None' (with id_prefix 'X-': 'X-None')
    mapping = DOWNTIME_MAPPING.replace("fact: downtime", 'fact: downtime\nid_prefix: "X-"')
    result, out, export = csv_import(
        tmp_path, "Ref,Start,End,Cause\n,2026-10-19 10:00:00,2026-10-19 11:00:00,vendor\n",
        mapping=mapping)
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.splitlines() == [
        f"{export}:2:1: $.id: record has no id: nothing to name the downtime by"]


def test_duplicate_id_in_one_export_is_an_error_at_the_second_record(tmp_path: Path) -> None:
    rows = ("Ref,Start,End,Cause\nD1,2026-10-19 10:00:00,2026-10-19 11:00:00,vendor\n"
            "D1,2026-10-20 10:00:00,2026-10-20 11:00:00,vendor\n")
    result, out, export = csv_import(tmp_path, rows, "--check-ids", mapping=DOWNTIME_MAPPING)
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.splitlines() == [
        f"{export}:3:1: $.id: fact 'D1': duplicate downtime id 'D1': an earlier record of this "
        "import already made it (the same page or file given twice, or overlapping exports?)"]


def test_duplicate_zendesk_page_given_twice_is_an_error(tmp_path: Path) -> None:
    from .conftest import FIXTURES

    tickets = FIXTURES / "zendesk" / "tickets.json"
    again = write(tmp_path, "tickets-again.json", tickets.read_text("utf-8"))
    out = tmp_path / "facts.ndjson"
    result = run_import("zendesk", [tickets, again], FIXTURES / "zendesk" / "mapping.yaml", out,
                        "--check-ids")
    assert result.exit_code == 2
    assert not out.exists()
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(f"{again}:") for line in lines)
    assert all("duplicate ticket id" in line for line in lines)


def test_seen_ids_grow_and_tell_repeats() -> None:
    from policyengine.importers.core import SeenIds

    seen = SeenIds()
    assert all(seen.add("ticket", f"T-{n}") for n in range(5000))  # grows past 1024 slots
    assert seen.add("downtime", "T-1")  # ids are unique per type, not across types
    assert not seen.add("ticket", "T-4999") and not seen.add("ticket", "T-0")
    assert seen.count == 5001 and len(seen.table) >= 2 * seen.count


# -- --output -------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["export", "mapping", "export-via-symlink"])
def test_output_over_a_file_being_read_is_refused_and_it_stays_whole(tmp_path: Path,
                                                                    target: str) -> None:
    # --output export.csv replaced the export itself with the facts (exit 0).
    export = write(tmp_path, "export.csv", f"{HEADER}\n1,Acme Corp,2026-10-19 10:30:00,\n")
    mapping = write(tmp_path, "map.yaml", TICKET_MAPPING)
    before = {p: p.read_bytes() for p in (export, mapping)}
    output = {"export": export, "mapping": mapping,
              "export-via-symlink": tmp_path / "link.ndjson"}[target]
    if target == "export-via-symlink":
        output.symlink_to(export)
    result = run_import("csv", [export], mapping, output)
    assert result.exit_code == 2
    read, option = (mapping, "--mapping") if target == "mapping" else (export, "FILE")
    assert result.stderr.splitlines() == [
        f"--output:0:0: $: {str(output)!r} is the same file as {option} {str(read)!r}; "
        "writing there would replace what this command reads (choose another path)"]
    assert {p: p.read_bytes() for p in (export, mapping)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["export.csv", "map.yaml", *(["link.ndjson"] if target.endswith("symlink") else [])])


# -- mappings -------------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "message"), [
    # a typo dropped the column silently: every ticket then had no first response (missed)
    ("first_respons_at", "a ticket has no field 'first_respons_at' (did you mean "
                         "'first_response_at'?)"),
    ("impact", "a ticket has no field 'impact' (map each by its dotted name, e.g. "
               "'impact.loss_of_service')"),
    ("priority", "a ticket has no field 'priority'"),
], ids=["mapping-field-typo", "mapping-impact-without-flag", "mapping-field-not-of-the-type"])
def test_mapping_field_the_fact_type_lacks_is_a_located_error(tmp_path: Path, field: str,
                                                              message: str) -> None:
    mapping = TICKET_MAPPING.replace("  first_response_at: Replied", f"  {field}: Replied")
    result, out, _ = csv_import(tmp_path, f"{HEADER}\n1,Acme Corp,2026-10-19 10:30:00,\n",
                                mapping=mapping)
    assert result.exit_code == 2
    assert not out.exists()
    [line] = result.stderr.splitlines()
    column = 3 + len(field) + 2  # at the column name the field is mapped to
    assert line.startswith(f"{tmp_path / 'map.yaml'}:11:{column}: $.fields.{field}: {message}")
    assert line.endswith("it has: customer, first_response_at, id, opened_at, resolved_at, "
                         "severity, status_history, impact.loss_of_service, "
                         "impact.critical_function, impact.production_degraded, "
                         "impact.workaround_available, source_sla.response_met, "
                         "source_sla.resolution_met")


# -- bad bytes in a CSV export --------------------------------------------------------------
def _rows(count: int) -> list[str]:
    return [HEADER] + [f"{n},Acme Corp,2026-10-19 10:30:00," for n in range(1, count + 1)]


@pytest.mark.parametrize(("case", "content", "where", "message"), [
    # a Latin-1 'é' on line 2501 of a 3000-row export was reported at 'line 1' or at the row
    # being parsed when the decoder read ahead, with Python's codec wording
    ("latin-1-byte-deep-in-the-file",
     "\n".join(_rows(3000)).replace("2500,Acme Corp", "2500,Acme Corp\xe9").encode("latin-1"),
     "2501:15", "invalid UTF-8 byte 0xe9; the file must be UTF-8 text (save the export as "
                "UTF-8)"),
    ("utf-16-export", "\n".join(_rows(2)).encode("utf-16"), "1:1",
     "file is UTF-16 text (a byte-order mark 0xFF 0xFE or 0xFE 0xFF): save the export as UTF-8"),
    # a NUL went through as part of the company name ('Acme\x00Corp')
    ("nul-byte-in-a-field", f"{HEADER}\n1,Acme\x00Corp,2026-10-19 10:30:00,\n".encode(),
     "2:7", "NUL character is not allowed (is this a binary file?)"),
    ("binary-junk", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "1:1",
     "invalid UTF-8 byte 0x89; the file must be UTF-8 text (save the export as UTF-8)"),
], ids=["latin-1-byte-deep-in-the-file", "utf-16-export", "nul-byte-in-a-field",
        "binary-junk"])
def test_csv_bad_bytes_are_located_at_their_own_line(tmp_path: Path, case: str,
                                                     content: bytes, where: str,
                                                     message: str) -> None:
    assert case  # the id
    result, out, export = csv_import(tmp_path, content)
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.splitlines() == [f"{export}:{where}: $: {message}"]


def test_csv_utf8_bom_and_crlf_are_read(tmp_path: Path) -> None:
    rows = "\r\n".join(_rows(2)).encode("utf-8-sig") + b"\r\n"
    result, out, _ = csv_import(tmp_path, rows)
    assert result.exit_code == 0, result.stderr
    assert [f["id"] for f in read_facts(out)] == ["1", "2"]
    assert [f["provenance"]["line"] for f in read_facts(out)] == [2, 3]


# -- vendor exports missing the records a ticket's times live in ----------------------------
def test_zendesk_solved_ticket_without_its_solve_audit_is_a_located_warning(tmp_path) -> None:
    # Without audits, resolved_at silently became the ticket's updated_at (which moves with
    # any later change): now said, at the ticket, and an error with --strict.
    from .conftest import FIXTURES

    tickets = write(tmp_path, "tickets.json", """{"tickets": [
  {"id": 41, "created_at": "2026-10-19T14:30:00Z", "updated_at": "2026-10-23T09:00:00Z",
   "status": "closed", "priority": "high", "organization_id": 360001, "tags": []}
]}""")
    events = write(tmp_path, "events.json", """{"ticket_metric_events": [
  {"id": 1, "ticket_id": 41, "metric": "reply_time", "instance_id": 1, "type": "fulfill",
   "time": "2026-10-19T15:00:00Z"}]}""")
    mapping = FIXTURES / "zendesk" / "mapping.yaml"  # organisation 360001 is acme
    out = tmp_path / "facts.ndjson"
    result = run_import("zendesk", [tickets, events], mapping, out)
    assert result.exit_code == 0, result.stderr
    assert read_facts(out)[0]["resolved_at"] == "2026-10-23T09:00:00+00:00"
    assert result.stderr.splitlines()[0] == (
        f"{tickets}:2:3: $.resolved_at: warning: fact '41': ticket is closed but no audit "
        "says when it was solved: resolved_at is its updated_at, the latest it can have "
        "been (add the audits pages)")
    strict = run_import("zendesk", [tickets, events], mapping, out, "--strict")
    assert strict.exit_code == 2


def test_zendesk_without_metric_events_says_no_ticket_has_a_first_response(tmp_path) -> None:
    # Forgetting the ticket_metric_events pages made every response 'missed', exit 0, silent.
    from .conftest import FIXTURES

    tickets = FIXTURES / "zendesk" / "tickets.json"
    out = tmp_path / "facts.ndjson"
    result = run_import("zendesk", [tickets, FIXTURES / "zendesk" / "audits.json"],
                        FIXTURES / "zendesk" / "mapping.yaml", out)
    assert result.exit_code == 0, result.stderr
    assert all("first_response_at" not in fact for fact in read_facts(out))
    assert (f"{tickets}:0:0: $: warning: no ticket metric events among the files: no ticket "
            "has a first response (it is not on the ticket) or a Zendesk SLA verdict; add the "
            "ticket_metric_events pages") in result.stderr.splitlines()


def test_servicenow_without_task_sla_says_no_incident_has_a_first_response(tmp_path) -> None:
    from .conftest import FIXTURES

    incidents = FIXTURES / "servicenow" / "incidents.json"
    out = tmp_path / "facts.ndjson"
    result = run_import("servicenow", [incidents], FIXTURES / "servicenow" / "mapping.yaml", out)
    assert result.exit_code == 0, result.stderr
    assert (f"{incidents}:0:0: $: warning: no task_sla records among the files and no "
            "'fields.first_response_at' in the mapping: no incident has a first response or a "
            "ServiceNow SLA verdict; add the task_sla pages") in result.stderr.splitlines()


# -- order in time, not in text --------------------------------------------------------------
def test_statuspage_first_update_is_the_earliest_instant_not_the_smallest_text(
        tmp_path: Path) -> None:
    # In the hour after the fall-back, 01:30-05:00 (06:30Z) sorts before 01:40-04:00 (05:40Z)
    # as text: the notice took the later update (and its channel) for the first one.
    from .conftest import FIXTURES

    export = write(tmp_path, "sm.json", """{"scheduled_maintenances": [
  {"id": "sm9", "name": "Night work", "status": "completed", "impact": "maintenance",
   "created_at": "2026-11-01T01:40:00.000-04:00",
   "scheduled_for": "2026-11-03T01:00:00.000-05:00",
   "scheduled_until": "2026-11-03T02:00:00.000-05:00",
   "resolved_at": "2026-11-03T02:00:00.000-05:00",
   "incident_updates": [
     {"id": "b", "status": "scheduled", "created_at": "2026-11-01T01:30:00.000-05:00",
      "deliver_notifications": false},
     {"id": "a", "status": "scheduled", "created_at": "2026-11-01T01:40:00.000-04:00",
      "deliver_notifications": true}],
   "components": [{"id": "c1", "name": "API"}]}]}""")
    out = tmp_path / "facts.ndjson"
    result = run_import("statuspage", [export], FIXTURES / "statuspage" / "mapping.yaml", out)
    assert result.exit_code == 0, result.stderr
    [notice] = [f for f in read_facts(out) if f["type"] == "notice"]
    # update 'a' at 05:40Z is the first: subscribers were notified then (channels.subscribers)
    assert notice["sent_at"] == "2026-11-01T01:40:00-04:00"
    assert notice["channel"] == "email"


def test_status_history_is_written_in_time_order(tmp_path: Path) -> None:
    mapping = TICKET_MAPPING.replace("source: csv", "source: json").replace(
        "  first_response_at: Replied", "  status_history: history")
    export = write(tmp_path, "t.ndjson", '{"Ticket ID": "5", "Company": "Acme Corp", '
                   '"Created": "2026-11-01T00:30:00-04:00", "history": ['
                   '{"at": "2026-11-01T01:10:00-05:00", "status": "open"}, '
                   '{"at": "2026-11-01T01:50:00-04:00", "status": "pending"}]}\n')
    out = tmp_path / "facts.ndjson"
    result = run_import("json", [export], write(tmp_path, "m.yaml", mapping), out)
    assert result.exit_code == 0, result.stderr
    # 01:50-04:00 is 05:50Z, 01:10-05:00 is 06:10Z: pending came first
    assert [e["status"] for e in read_facts(out)[0]["status_history"]] == ["pending", "open"]


# -- interrupted mid-import ------------------------------------------------------------------
@pytest.mark.parametrize(("signame", "code", "word"), [
    ("SIGINT", 130, "interrupted"),
    # SIGTERM (timeout, a service manager) left the partial .facts.ndjson.XXXX behind
    ("SIGTERM", 143, "terminated"),
], ids=["ctrl-c-mid-import", "sigterm-mid-import"])
def test_signal_mid_import_leaves_the_old_output_and_no_temporary_file(
        tmp_path: Path, signame: str, code: int, word: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    export = tmp_path / "big.csv"
    with export.open("w", encoding="utf-8") as handle:
        handle.write(f"{HEADER}\n")
        for n in range(300_000):
            handle.write(f"{n},Acme Corp,2026-10-19 10:30:00,2026-10-19 11:00:00\n")
    mapping = write(tmp_path, "map.yaml", TICKET_MAPPING)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "facts.ndjson"
    output.write_text("old\n", "utf-8")
    command = [sys.executable, "-c", "from policyengine.cli.main import main; main()",
               "import", "csv", str(export),
               "--mapping", str(mapping), "--output", str(output)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".facts.ndjson.") and p.stat().st_size
                  for p in out_dir.iterdir()):  # the temporary file is being written
        assert process.poll() is None and time.monotonic() < deadline, "finished too soon"
        time.sleep(0.05)
    process.send_signal(getattr(signal, signame))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert stderr.decode().splitlines() == [f"policyengine: {word}; nothing was written"]
    assert os.listdir(out_dir) == ["facts.ndjson"]
    assert output.read_text("utf-8") == "old\n"


def test_value_table_miss_is_a_located_error_at_its_cell(tmp_path: Path) -> None:
    # was a warning ("not imported", exit 0): a downtime vanished for one odd value. Now an
    # error at the cell (line 2, column 51: "D7,2026-10-19 10:00:00,2026-10-19 11:00:00,"
    # is 43 characters, "vendor," 7 more), exit 2, nothing written
    mapping = DOWNTIME_MAPPING.replace(
        "cause: Cause}", "cause: Cause, maintenance: {column: Kind, values: {Planned: scheduled}}}")
    result, out, export = csv_import(
        tmp_path, "Ref,Start,End,Cause,Kind\n"
                  "D7,2026-10-19 10:00:00,2026-10-19 11:00:00,vendor,weird\n", mapping=mapping)
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.splitlines() == [
        f"{export}:2:51: $.maintenance: fact 'D7': Kind value 'weird' is not in the "
        "mapping's values for maintenance ('Planned'); list it, or give the field a 'default'"]


def test_value_table_miss_takes_the_declared_default(tmp_path: Path) -> None:
    mapping = DOWNTIME_MAPPING.replace(
        "cause: Cause}", "cause: Cause, maintenance: {column: Kind, values: {Planned: scheduled}, "
                         "default: none}}")
    result, out, _ = csv_import(
        tmp_path, "Ref,Start,End,Cause,Kind\n"
                  "D7,2026-10-19 10:00:00,2026-10-19 11:00:00,vendor,weird\n", mapping=mapping)
    assert result.exit_code == 0, result.stderr
    assert read_facts(out)[0]["maintenance"] == "none"


@pytest.mark.parametrize(("source", "extra", "reads"), [
    # accepted and ignored: a statuspage mapping with a ticket's 'fields' changed nothing
    ("statuspage", "fields: {id: name}", "components, channels, cause, maintenance, "
                                         "downtime_impacts"),
    ("zendesk", "response_slas: [Reply]", "customers, severity, impact, statuses"),
    ("csv", "downtime_impacts: [major]", "customers, severity, impact, statuses, components, "
                                         "channels, cause, maintenance, fact, fields"),
], ids=["statuspage-with-fields", "zendesk-with-response-slas", "csv-with-downtime-impacts"])
def test_mapping_key_the_source_does_not_read_is_a_located_error(
        tmp_path: Path, source: str, extra: str, reads: str) -> None:
    from policyengine.diagnostics import InputError
    from policyengine.importers import load_mapping

    text = (f"apiVersion: policyengine/v1\nkind: ImportMapping\nsource: {source}\n"
            + ("fact: ticket\n" if source == "csv" else "") + f"{extra}\n")
    path = write(tmp_path, "m.yaml", text)
    key = extra.split(":")[0]
    with pytest.raises(InputError) as caught:
        load_mapping(path, source)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.path) == (text.count("\n"), f"$.{key}")
    assert diagnostic.message == (f"a {source} import does not read '{key}', so it would "
                                  f"change nothing; it reads: {reads}")


def test_without_check_ids_a_repeated_id_is_left_to_evaluate(tmp_path: Path) -> None:
    # the import streams in flat memory; evaluate refuses the duplicate at the output line
    rows = ("Ref,Start,End,Cause\nD1,2026-10-19 10:00:00,2026-10-19 11:00:00,vendor\n"
            "D1,2026-10-20 10:00:00,2026-10-20 11:00:00,vendor\n")
    result, out, _ = csv_import(tmp_path, rows, mapping=DOWNTIME_MAPPING)
    assert result.exit_code == 0, result.stderr
    assert [fact["id"] for fact in read_facts(out)] == ["D1", "D1"]
    from policyengine.api import Engine
    from policyengine.diagnostics import InputError

    from ..conftest import ROOT

    with pytest.raises(InputError, match="duplicate"):
        Engine.load(ROOT / "policies" / "spirion").evaluate(
            [str(ROOT / "examples" / "october-2026.yaml"), str(out)],
            as_of="2026-11-27T12:00:00-05:00")
