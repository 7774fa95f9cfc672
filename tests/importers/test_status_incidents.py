"""Statuspage and PagerDuty: incidents and maintenances → downtime (+ notice), then evaluated.

October 2026 has 31 days = 44,640 minutes; the commitment is 99% (446.4 minutes down).
"""

from __future__ import annotations

from .conftest import FIXTURES, evaluate, read_facts

SP = FIXTURES / "statuspage"
PD = FIXTURES / "pagerduty"
AS_OF = "2026-11-27T12:00:00-05:00"


def _months(report: dict) -> dict:
    return {(r["customer"], r["month"]): r for r in report["availability"]}


def test_statuspage_facts(imported) -> None:
    result, out = imported("statuspage", [SP / "incidents.json",
                                          SP / "scheduled-maintenances.json"], SP / "mapping.yaml")
    assert result.exit_code == 0, result.stderr
    facts = {f["id"]: f for f in read_facts(out)}
    assert sorted(facts) == ["sp-m1a2b3c4d5e6", "sp-m1a2b3c4d5e6-notice", "sp-n9o8p7q6r5s4",
                             "sp-n9o8p7q6r5s4-notice", "sp-p31zjtct2jer", "sp-r7tq0c5d3ab1"]
    # the maintenance ran from its in_progress update to resolved_at, not the planned window
    assert (facts["sp-m1a2b3c4d5e6"]["start"], facts["sp-m1a2b3c4d5e6"]["end"]) == (
        "2026-10-10T01:00:00-04:00", "2026-10-10T04:00:00-04:00")
    # the notice it is: created when announced; subscribers notified -> email, else portal
    assert facts["sp-m1a2b3c4d5e6-notice"]["channel"] == "email"
    assert facts["sp-n9o8p7q6r5s4-notice"] == {
        "type": "notice", "id": "sp-n9o8p7q6r5s4-notice", "kind": "scheduled_downtime",
        "about": "sp-n9o8p7q6r5s4", "sent_at": "2026-10-24T12:00:00-04:00",
        "channel": "portal",
        "provenance": {"source": "statuspage", "id": "n9o8p7q6r5s4",
                       "file": str(SP / "scheduled-maintenances.json"), "line": 21}}
    assert facts["sp-r7tq0c5d3ab1"]["cause"] == "third_party"  # from its metadata
    lines = result.stderr.splitlines()
    assert lines[0] == (f"{SP / 'incidents.json'}:32:5: $.end: warning: fact 'z5h8j3k1l0pq': "
                        "still open (no end time): a downtime needs an end; not imported "
                        "(import again once it is resolved)")
    assert lines[1] == ("imported 6 facts from 6 statuspage records; skipped 1 (impact minor "
                        "not in downtime_impacts); 1 warning(s)")


def test_statuspage_import_then_evaluate(imported) -> None:
    _, out = imported("statuspage", [SP / "incidents.json", SP / "scheduled-maintenances.json"],
                      SP / "mapping.yaml")
    report = evaluate(out, as_of=AS_OF)
    months = _months(report)
    acme = months[("acme", "2026-10")]
    # acme: API incident 10:00-15:00 = 300, database upgrade 01:00-04:00 = 180 (told 208 h
    # ahead by email: excluded), late-announced patch 02:00-05:00 = 180 (told 14 h ahead:
    # counts). Down 660, excluded 180, counted 480; (44640 - 480) / 44640 = 98.9247 %
    assert (acme["downtime_minutes"], acme["excluded_minutes"],
            acme["counted_downtime_minutes"], acme["availability_percent"], acme["met"]) == (
        660, 180, 480, 98.9247, False)
    # globex: API 300 + Dashboard 120 (third-party cause: excused) + upgrade 180 (excused)
    # down 600, excluded 300, counted 300; (44640 - 300) / 44640 = 99.3280 %
    globex = months[("globex", "2026-10")]
    assert (globex["downtime_minutes"], globex["excluded_minutes"],
            globex["counted_downtime_minutes"], globex["met"]) == (600, 300, 300, True)
    assert globex["availability_percent"] == 99.328
    # acme renewed: one twelfth of 120,000.00 = 10,000.00 as a credit
    (credit,) = report["credits"]
    assert (credit["customer"], credit["amount"], credit["form"]) == ("acme", "10000.00",
                                                                      "credit")
    obligations = {(o["subject"], o["customer"]): o for o in report["obligations"]}
    # announced 2026-10-24 12:00, started 2026-10-25 02:00: 14 h < 48 h
    late = obligations[("sp-n9o8p7q6r5s4", "acme")]
    assert (late["lead_hours"], late["met"]) == (14, False)
    # announced 2026-10-01 09:00, started 2026-10-10 01:00: 9 days less 8 h = 208 h
    assert obligations[("sp-m1a2b3c4d5e6", "globex")]["lead_hours"] == 208


def test_pagerduty_import_then_evaluate(imported) -> None:
    result, out = imported("pagerduty", [PD / "log_entries.json", PD / "incidents.json"],
                           PD / "mapping.yaml")
    assert result.exit_code == 0, result.stderr
    facts = {f["id"]: f for f in read_facts(out)}
    assert sorted(facts) == ["pd-PQ1A2B3", "pd-PQ3J4K5"]
    # PQ1A2B3 ends at its resolve_log_entry (16:30Z); PQ3J4K5 ('Search': every customer)
    # at resolved_at and has no customers list
    assert facts["pd-PQ1A2B3"]["end"] == "2026-10-07T16:30:00+00:00"
    assert "customers" not in facts["pd-PQ3J4K5"]
    assert result.stderr.splitlines() == [
        f"{PD / 'incidents.json'}:14:5: $.end: warning: fact 'PQ7E8F9': still open (no end "
        "time): a downtime needs an end; not imported (import again once it is resolved)",
        f"{PD / 'incidents.json'}:18:5: $.customers: warning: fact 'PQ0G1H2': component or "
        "service 'Internal CI' is not in the mapping's 'components' table; not imported",
        "imported 2 facts from 5 pagerduty records; skipped 1 (urgency low not in "
        "downtime_impacts); 2 warning(s)",
    ]
    months = _months(evaluate(out, as_of=AS_OF))
    # acme: 14:00-16:30Z = 150 + 03:00-03:45Z = 45 -> 195; (44640 - 195) / 44640 = 99.5632 %
    assert (months[("acme", "2026-10")]["counted_downtime_minutes"],
            months[("acme", "2026-10")]["availability_percent"]) == (195, 99.5632)
    # globex: only the Search incident, 45; (44640 - 45) / 44640 = 99.8992 %
    assert months[("globex", "2026-10")]["availability_percent"] == 99.8992


def test_pagerduty_record_of_another_shape_is_located(imported, tmp_path) -> None:
    bad = tmp_path / "incidents.json"
    bad.write_text('{"incidents": [\n {"id": "PX", "urgency": "high", "service": "Search"}\n]}',
                   "utf-8")
    result, out = imported("pagerduty", [bad], PD / "mapping.yaml")
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr == (f"{bad}:2:2: $: fact 'PX': record is not of the documented "
                             "shape (AttributeError: 'str' object has no attribute 'get')\n")


def test_a_log_entry_of_another_shape_is_a_located_error(imported, tmp_path) -> None:
    entries = tmp_path / "log_entries.json"
    entries.write_text('{"log_entries": [\n  {"type": "resolve_log_entry", "incident": "Q1"}\n]}\n',
                       "utf-8")
    result, out = imported("pagerduty", [PD / "incidents.json", entries], PD / "mapping.yaml")
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.splitlines()[0] == (
        f"{entries}:2:3: $: record is not of the documented shape (AttributeError: 'str' "
        "object has no attribute 'get')")


def test_pagerduty_cause_without_label_or_default_is_an_error(imported, tmp_path) -> None:
    """Was a warning that dropped the incident (exit 0): a mapped field (cause) with no
    value and no declared default. Now an error at each placed incident, exit 2."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text((PD / "mapping.yaml").read_text("utf-8").replace(
        "cause: {default: vendor}\n", ""), "utf-8")
    result, out = imported("pagerduty", [PD / "log_entries.json", PD / "incidents.json"],
                           mapping)
    assert result.exit_code == 2
    assert not out.exists()
    errors = [line for line in result.stderr.splitlines() if ": warning: " not in line]
    assert errors and all(
        line.startswith(f"{PD / 'incidents.json'}:") and "$.cause: fact '" in line
        and line.endswith("no label gives the cause and the mapping declares no "
                          "'cause.default' (add one, or a label for this record)")
        for line in errors)
    # the three placed incidents (PQ1A2B3, PQ3J4K5 and the still-open PQ7E8F9, which will
    # need a cause when it is imported once resolved)
    assert len(errors) == 3
