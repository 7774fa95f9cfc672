"""as-of is a knowledge cutoff: what is dated after it is not used, and one warning counts it.

The evaluation values are pinned in ``tests/cases/asof/cutoff.test.yaml``; here: the warning
(one, located at the first such fact by file and line, counting every kind), that the
streamed report's summary gives the same warning and the same bytes, that a downtime may
leave out ``end``, and that nothing is warned when everything is known.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from policyengine.api import Engine, facts_from_dicts
from policyengine.cli.main import main

from .conftest import ROOT

SUB = {"type": "subscription", "customer": "acme", "plan": "production", "deployment": "saas",
       "license": "subscription", "annual_fee": "120000.00", "currency": "USD",
       "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
       "support": "active"}
AS_OF = "2026-11-10T12:00:00-05:00"
# line numbers of the facts below in the written fact file (3 header lines, one fact a line)
FACTS: list[dict[str, Any]] = [
    SUB,                                                                        # line 4
    {"type": "downtime", "id": "d-known", "start": "2026-11-05T09:00:00-05:00",
     "end": "2026-11-05T13:00:00-05:00", "cause": "vendor", "maintenance": "none"},  # 5
    {"type": "downtime", "id": "d-span", "start": "2026-11-10T08:00:00-05:00",
     "end": "2026-11-10T20:00:00-05:00", "cause": "vendor", "maintenance": "none"},  # 6: end
    {"type": "downtime", "id": "d-open", "start": "2026-11-09T08:00:00-05:00",
     "cause": "vendor", "maintenance": "none"},                                 # 7: no end
    {"type": "downtime", "id": "d-later", "start": "2026-11-14T00:00:00-05:00",
     "end": "2026-11-14T10:00:00-05:00", "cause": "vendor", "maintenance": "none"},  # 8
    {"type": "change", "id": "c-later", "kind": "significant",
     "deployed_at": "2026-11-20T10:00:00-05:00"},                               # 9
    {"type": "notice", "id": "n-later", "kind": "scheduled_downtime", "about": "d-later",
     "sent_at": "2026-11-11T10:00:00-05:00", "channel": "email"},               # 10
    {"type": "ticket", "id": "t-1", "customer": "acme", "severity": 3,
     "opened_at": "2026-11-10T10:00:00-05:00",
     "first_response_at": "2026-11-10T16:00:00-05:00",
     "resolved_at": "2026-11-11T10:00:00-05:00",
     "status_history": [{"at": "2026-11-10T11:00:00-05:00", "status": "open"},
                        {"at": "2026-11-10T15:00:00-05:00", "status": "waiting"}]},  # 11
    {"type": "ticket", "id": "t-later", "customer": "acme", "severity": 3,
     "opened_at": "2026-11-10T13:00:00-05:00"},                                 # 12
    {"type": "credit_request", "customer": "acme", "month": "2026-10",
     "requested_at": "2026-11-20T10:00:00-05:00"},                              # 13
    {"type": "update_request", "id": "u-later", "customer": "acme",
     "requested_at": "2026-11-11T10:00:00-05:00"},                              # 14
]
# d-later, d-span's end, c-later, n-later, t-1's response, resolution and one status change,
# t-later, the credit request, u-later: 10 in all; d-open (no end) is not "after" anything.
EXPECTED = ("FACTS:6:5: $.facts[2].end: warning: fact 'd-span': 10 fact(s) or part(s) of "
            "facts dated after as-of 2026-11-10T12:00:00-05:00 were not used (1 downtime, "
            "1 downtime end, 1 change, 1 notice, 1 ticket, 1 ticket first_response_at, "
            "1 ticket resolved_at, 1 ticket status_history entry, 1 credit_request, "
            "1 update_request); this is the first of them")


def _write(path: Path, facts: list[dict[str, Any]]) -> Path:
    import json

    lines = ["apiVersion: policyengine/v1", "kind: FactSet", "facts:"]
    lines += [f"  - {json.dumps(fact)}" for fact in facts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_located_warning_counts_what_was_not_used(tmp_path: Path) -> None:
    path = _write(tmp_path / "facts.yaml", FACTS)
    engine = Engine.load(ROOT / "policies" / "spirion", backend="python")
    evaluation = engine.evaluate([path], as_of=AS_OF)
    (warning,) = evaluation.warnings
    assert warning.severity == "warning" and warning.code == "as_of"
    assert warning.render() == EXPECTED.replace("FACTS", str(path))
    # what is known: d-known 240 + d-open 11-09 08:00 .. as-of (28 h = 1680) + d-span 240,
    # d-open and d-span overlapping 08:00-12:00 on 11-10 counted once: 240 + 1680 = 1920 min
    (row,) = evaluation.availability
    assert (row.counted_downtime_minutes, row.met, row.provisional) == (1920, None, True)
    (ticket,) = evaluation.tickets
    assert (ticket.id, ticket.response_met) == ("t-1", None)  # due 14:00, answered 16:00


def test_the_streamed_report_warns_the_same_and_writes_the_same_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path / "facts.yaml", FACTS)
    engine = Engine.load(ROOT / "policies" / "spirion", backend="python")
    in_memory = engine.evaluate([path], as_of=AS_OF)
    out = io.StringIO()
    summary = engine.write_json([path], out, as_of=AS_OF, workers=2, shards=3)
    assert out.getvalue() == in_memory.to_json()
    assert [w.render() for w in summary.warnings] == [w.render() for w in in_memory.warnings]


# the CLI's summary line after the warning: November is not over at as-of, so its one
# customer-period is provisional (met null), never counted as missed; 8 findings = the month
# covered + provisional (2), three windows counted (d-known, d-open, d-span: 3), t-1's
# severity assigned, response open, no resolution target (3); nothing after as-of
SUMMARY = re.compile(r"evaluated: 1 customer, 1 customer-period \(0 missed, 1 provisional\), "
                     r"0 breaches, 8 findings, credits none, \d+\.\d s")


def test_the_cli_prints_the_warning_and_exits_0(tmp_path: Path) -> None:
    path = _write(tmp_path / "facts.yaml", FACTS)
    result = CliRunner().invoke(main, ["evaluate", "--policy", str(ROOT / "policies/spirion"),
                                       "--facts", str(path), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    *warnings, summary = result.stderr.splitlines()
    assert warnings == [EXPECTED.replace("FACTS", str(path))]
    assert SUMMARY.fullmatch(summary), summary
    failing = CliRunner().invoke(main, ["evaluate", "--policy", str(ROOT / "policies/spirion"),
                                        "--facts", str(path), "--as-of", AS_OF,
                                        "--fail-on", "warning"])
    assert failing.exit_code == 1
    assert failing.stderr.splitlines()[-1] == "policyengine: --fail-on tripped: warning (1)"


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_strict_keeps_the_as_of_warning_a_warning(tmp_path: Path, fmt: str) -> None:
    """--strict refuses faulty facts; facts dated after as-of are not faulty, only not yet
    known (evaluating "as we knew it then" is a normal use): the report is written, exit 0,
    the streamed (json) and in-memory (table) paths alike."""
    path = _write(tmp_path / "facts.yaml", FACTS)
    report = tmp_path / f"report.{fmt}"
    result = CliRunner().invoke(main, ["evaluate", "--policy", str(ROOT / "policies/spirion"),
                                       "--facts", str(path), "--as-of", AS_OF, "--strict",
                                       "--format", fmt, "--output", str(report)])
    assert result.exit_code == 0, result.output
    *warnings, summary = result.stderr.splitlines()
    assert warnings == [EXPECTED.replace("FACTS", str(path))]
    assert SUMMARY.fullmatch(summary), summary
    assert report.stat().st_size > 0


def test_nothing_after_as_of_no_warning() -> None:
    facts = facts_from_dicts(FACTS[:2])
    engine = Engine.load(ROOT / "policies" / "spirion", backend="python")
    assert engine.evaluate(facts, as_of=AS_OF).warnings == []


def test_the_warning_points_at_the_smallest_file_and_line(tmp_path: Path) -> None:
    """Two files, b.yaml given first: the warning points at the smallest (file name, line),
    a.yaml line 5, the same whichever order or shard the facts come in."""
    a = _write(tmp_path / "a.yaml", [SUB, FACTS[4]])  # d-later at line 5
    b = _write(tmp_path / "b.yaml", [FACTS[9]])        # the credit request at line 4
    engine = Engine.load(ROOT / "policies" / "spirion", backend="python")
    (warning,) = engine.evaluate([b, a], as_of=AS_OF).warnings
    assert (warning.file, warning.line, warning.subject) == (str(a), 5, "d-later")
    assert "2 fact(s)" in warning.message


def test_a_request_for_a_month_not_begun_is_counted_by_the_warning(tmp_path: Path) -> None:
    """A credit request (made 11-08, known) for December, which has not begun at as-of
    (11-10): December is not reported, so nothing could answer the request; the as-of
    warning counts it, located at its `month` (line 5), in memory and streamed alike. A
    request for September (no downtime: 100%, met) gets its row and a not_owed finding
    (tests/cases/credits/request-months.test.yaml pins the values)."""
    path = _write(tmp_path / "facts.yaml", [
        SUB,
        {"type": "credit_request", "customer": "acme", "month": "2026-12",
         "requested_at": "2026-11-08T10:00:00-05:00"},                          # line 5
        {"type": "credit_request", "customer": "acme", "month": "2026-09",
         "requested_at": "2026-10-02T10:00:00-04:00"},                          # line 6
    ])
    engine = Engine.load(ROOT / "policies" / "spirion", backend="python")
    evaluation = engine.evaluate([path], as_of=AS_OF)
    (warning,) = evaluation.warnings
    assert warning.render() == (
        f"{path}:5:5: $.facts[1].month: warning: fact 'acme': 1 fact(s) or part(s) of facts "
        "dated after as-of 2026-11-10T12:00:00-05:00 or claiming a month not begun by then "
        "were not used (1 credit_request for a month not begun); this is the first of them")
    assert [(r.month, r.met) for r in evaluation.availability] == [("2026-09", True)]
    assert sorted(f.outcome for f in evaluation.findings if f.subject == "acme/2026-09") == [
        "covered", "met", "not_owed"]
    out = io.StringIO()
    summary = engine.write_json([path], out, as_of=AS_OF, workers=2, shards=3)
    assert out.getvalue() == evaluation.to_json()
    assert [w.render() for w in summary.warnings] == [warning.render()]


def test_a_quarterly_policy_answers_a_month_not_begun_in_a_quarter_begun(tmp_path: Path) -> None:
    """Per period: under a quarterly commitment a request (made 11-08, known) for December,
    not begun at as-of (11-10) but in Q4, which has begun, is answered (Q4 is reported,
    provisional, and the request is premature); one for January 2027, whose quarter has not
    begun, is counted by the as-of warning, located at its `month` (line 6). The monthly
    reading is the test above."""
    import yaml

    policy = yaml.safe_load((ROOT / "policies" / "spirion" / "1.0.0.yaml").read_text())
    policy["spec"]["availability"][0]["period"] = "calendar_quarter"
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    path = _write(tmp_path / "facts.yaml", [
        SUB,
        {"type": "credit_request", "customer": "acme", "month": "2026-12",
         "requested_at": "2026-11-08T10:00:00-05:00"},                          # line 5
        {"type": "credit_request", "customer": "acme", "month": "2027-01",
         "requested_at": "2026-11-08T10:00:00-05:00"},                          # line 6
    ])
    engine = Engine.load(tmp_path / "policy.yaml", backend="python")
    evaluation = engine.evaluate([path], as_of=AS_OF)
    (warning,) = evaluation.warnings
    assert warning.render() == (
        f"{path}:6:5: $.facts[2].month: warning: fact 'acme': 1 fact(s) or part(s) of facts "
        "dated after as-of 2026-11-10T12:00:00-05:00 or claiming a month not begun by then "
        "were not used (1 credit_request for a month not begun); this is the first of them")
    assert [(r.month, r.period, r.met, r.provisional) for r in evaluation.availability] == [
        ("2026-10", "2026-Q4", None, True)]
    assert [f.outcome for f in evaluation.findings
            if f.rule == "availability.claim-before-provisional-month-end"] == ["premature"]
    out = io.StringIO()
    summary = engine.write_json([path], out, as_of=AS_OF, workers=2, shards=3)
    assert out.getvalue() == evaluation.to_json()
    assert [w.render() for w in summary.warnings] == [warning.render()]
