"""Zendesk: tickets + metric events (first reply) + audits (status history) → evaluated,
and reconciled against Zendesk's own SLA verdicts."""

from __future__ import annotations

import json

from click.testing import CliRunner

from policyengine.cli.main import main

from .conftest import FIXTURES, ROOT, SUBSCRIPTIONS, evaluate, read_facts

ZD = FIXTURES / "zendesk"
FILES = [ZD / "tickets.json", ZD / "ticket_metric_events.json", ZD / "audits.json"]
AS_OF = "2026-11-27T12:00:00-05:00"


def test_zendesk_facts(imported) -> None:
    result, out = imported("zendesk", FILES, ZD / "mapping.yaml")
    assert result.exit_code == 0, result.stderr
    facts = {f["id"]: f for f in read_facts(out)}
    assert sorted(facts) == ["ZD-1001", "ZD-1002", "ZD-1004"]
    t = facts["ZD-1001"]
    # first reply = reply_time instance 1 fulfill (15:00Z), not instance 2
    assert t["first_response_at"] == "2026-10-14T15:00:00+00:00"
    # solved, reopened, solved again: resolved at the last solve
    assert t["resolved_at"] == "2026-10-15T16:00:00+00:00"
    assert [e["status"] for e in t["status_history"]] == [
        "pending", "open", "solved", "open", "solved"]
    assert t["impact"]["loss_of_service"] is True  # tag 'outage'
    assert t["source_sla"] == {"response_met": False, "resolution_met": None}
    assert result.stderr.splitlines()[0] == (
        f"{ZD / 'tickets.json'}:11:5: $.customer: warning: fact '1003': ticket belongs to "
        "'9001', which the mapping's 'customers' table does not list; not imported")


def test_zendesk_import_then_evaluate(imported) -> None:
    _, out = imported("zendesk", FILES, ZD / "mapping.yaml")
    rows = {t["id"]: t for t in evaluate(out, as_of=AS_OF)["tickets"]}
    # ZD-1001 sev 1 opened Wed 09:00 EDT (13:00Z): response due 13:00 EDT, answered 11:00 EDT;
    # resolution 24 h elapsed -> 10-15 09:00 EDT, resolved 12:00 EDT (16:00Z) -> missed
    assert (rows["ZD-1001"]["response_met"], rows["ZD-1001"]["resolution_due"],
            rows["ZD-1001"]["resolution_met"]) == (True, "2026-10-15T09:00:00-04:00", False)
    # ZD-1002 sev 2 opened Fri 16:00 EDT: 2 h Fri + 2 h Mon -> 10-19 11:00; answered 12:00
    assert (rows["ZD-1002"]["response_due"], rows["ZD-1002"]["response_met"]) == (
        "2026-10-19T11:00:00-04:00", False)
    # ZD-1004 sev 3 opened Wed 10:00 EDT: due 14:00 EDT, never answered
    assert (rows["ZD-1004"]["response_due"], rows["ZD-1004"]["response_met"]) == (
        "2026-10-21T14:00:00-04:00", False)


def test_reconcile_lists_only_the_differing_verdicts(imported) -> None:
    _, out = imported("zendesk", FILES, ZD / "mapping.yaml")
    result = CliRunner().invoke(main, [
        "reconcile", "--policy", str(ROOT / "policies" / "spirion"), "--facts",
        str(SUBSCRIPTIONS), "--facts", str(out), "--as-of", AS_OF, "--format", "json",
        "--exit-code"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    # three response verdicts carried (1001 breach, 1002 fulfilled, 1004 breach); 1004 agrees
    assert report["compared"] == 3
    assert [(d["ticket"], d["target"], d["source_met"], d["contract_met"])
            for d in report["differences"]] == [("ZD-1001", "response", False, True),
                                                 ("ZD-1002", "response", True, False)]
    assert report["differences"][0]["origin"] == f"zendesk 1001 {ZD / 'tickets.json'}:3"


def test_evaluate_report_unchanged_by_the_extra_fields(imported, tmp_path) -> None:
    _, out = imported("zendesk", FILES, ZD / "mapping.yaml")
    plain = tmp_path / "plain.ndjson"
    plain.write_text("".join(
        json.dumps({k: v for k, v in fact.items() if k not in ("provenance", "source_sla")})
        + "\n" for fact in read_facts(out)), "utf-8")
    with_extra, without = evaluate(out, as_of=AS_OF), evaluate(plain, as_of=AS_OF)
    # the input files differ, so does the digest in the decision header; nothing decided does
    assert with_extra.pop("decision")["counts"] == without.pop("decision")["counts"]
    assert with_extra == without


def test_status_change_before_creation_is_an_error_at_the_audit(imported, tmp_path) -> None:
    audits = tmp_path / "audits.json"
    audits.write_text((ZD / "audits.json").read_text("utf-8").replace(
        '"created_at": "2026-10-14T15:00:00Z"', '"created_at": "2026-10-13T15:00:00Z"'),
        "utf-8")
    result, out = imported("zendesk", [ZD / "tickets.json", audits], ZD / "mapping.yaml")
    assert result.exit_code == 2 and not out.exists()
    assert (f"{audits}:5:5: $.status_history: fact '1001': status change to 'pending' at "
            "2026-10-13T15:00:00+00:00 is before the ticket was created "
            "(2026-10-14T13:00:00+00:00)") in result.stderr.splitlines()


def test_tickets_from_a_pipe_are_kept_from_the_first_read(imported, tmp_path) -> None:
    import os
    import threading

    tickets = json.loads((ZD / "tickets.json").read_text("utf-8"))["tickets"]
    pipe = tmp_path / "tickets.ndjson"
    os.mkfifo(pipe)

    done = threading.Event()

    def feed() -> None:  # a pipe can be read once: the importer must not read it again
        import time

        with open(pipe, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(t) + "\n" for t in tickets)
        while not done.is_set():  # a second read would block: end it with an empty pipe
            try:
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader
                time.sleep(0.05)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        result, out = imported("zendesk", [FILES[1], pipe, FILES[2]], ZD / "mapping.yaml")
    finally:
        done.set()
        writer.join(timeout=10)
    assert result.exit_code == 0, result.stderr
    facts = {f["id"]: f for f in read_facts(out)}
    assert sorted(facts) == ["ZD-1001", "ZD-1002", "ZD-1004"]
    assert facts["ZD-1001"]["first_response_at"] == "2026-10-14T15:00:00+00:00"
    assert facts["ZD-1001"]["provenance"]["line"] == 1  # the pipe's first line
