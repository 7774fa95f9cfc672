"""The decision audit trail (header, --decision-log, replay) and what evaluate says on stderr."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from policyengine.api import Engine, facts_digest

from .conftest import ROOT
from .terminal import _on_a_terminal

POLICY = ROOT / "policies" / "spirion"
EXAMPLE = ROOT / "examples" / "october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"
CLI = [sys.executable, "-m", "policyengine"]
# 64 findings: hooli's term begins 10-15, so dt-102 (10-10) is neither charged to it nor
# owed a notice: its three findings (excluded, partly_counted, notice met) become two
# not_in_term ones (window, obligation)
# credits by status, never added across statuses: acme's October 1/12 x 120,000.00 =
# 10,000.00 requested in time (payable); globex's 50,000.00 / 12 = 4,166.67 not requested,
# its window open to 12-30 (claimable)
SUMMARY = ("evaluated: 5 customers, 4 customer-periods (2 missed), 8 breaches, 64 findings, "
           "credits payable 10000.00 USD, claimable 4166.67 USD, ")


def _cli(*args: str | Path, **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True,
                          **options)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(POLICY)


def test_decision_header_is_derived_from_what_was_decided(engine: Engine) -> None:
    document = json.loads(engine.evaluate([EXAMPLE], as_of=AS_OF).to_json())
    decision = document["decision"]
    assert list(document)[:3] == ["as_of", "policy", "decision"]
    # obligations: 4 subjects (ch-201, ch-202, dt-102, dt-103) x 4 SaaS customers = 16, less
    # hooli's dt-102 (before its term: not_in_term, no row) = 15; findings as SUMMARY's
    assert decision["counts"] == {"availability": 4, "credits": 2, "tickets": 3,
                                  "obligations": 15, "entitlements": 2, "findings": 64}
    assert decision["counts"] == {k: len(document[k]) for k in decision["counts"]}
    # the facts digest: SHA-256 over the (sorted) SHA-256 of each file's bytes
    file_sha = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert decision["facts_sha256"] == hashlib.sha256(file_sha.encode()).hexdigest()
    # the id: 32 hex digits of the SHA-256 of the canonical basis, by hand
    basis = json.dumps({"as_of": AS_OF, "facts_sha256": decision["facts_sha256"],
                        "months": None, "policy_sha256": decision["policy_sha256"],
                        "rules_sha256": decision["rules_sha256"]},
                       sort_keys=True, separators=(",", ":"))
    assert decision["decision_id"] == hashlib.sha256(basis.encode()).hexdigest()[:32]


def test_same_input_same_bytes_and_any_change_changes_the_id(engine: Engine,
                                                             tmp_path: Path) -> None:
    first = engine.evaluate([EXAMPLE], as_of=AS_OF).to_json()
    assert engine.evaluate([EXAMPLE], as_of=AS_OF).to_json() == first
    ids = {json.loads(first)["decision"]["decision_id"]}
    later = engine.evaluate([EXAMPLE], as_of="2026-11-27T12:00:01-05:00").decision()
    months = engine.evaluate([EXAMPLE], as_of=AS_OF, months="2026-09").decision()
    assert later is not None and months is not None and months["months"] == ["2026-09"]
    edited = tmp_path / "facts.yaml"
    edited.write_text(EXAMPLE.read_text(encoding="utf-8") + "\n# a comment\n",
                      encoding="utf-8")
    other = engine.evaluate([edited], as_of=AS_OF).decision()
    assert other is not None
    ids |= {later["decision_id"], months["decision_id"], other["decision_id"]}
    assert len(ids) == 4  # as-of, months and the input's bytes each change the id


def test_facts_digest_ignores_the_order_of_files_and_refuses_a_pipe(tmp_path: Path) -> None:
    one, two = tmp_path / "one.ndjson", tmp_path / "two.ndjson"
    one.write_text('{"a": 1}\n')
    two.write_text('{"b": 2}\n')
    assert facts_digest([one, two]) == facts_digest([two, one]) != facts_digest([one])
    assert facts_digest([{"b": 2, "a": 1}]) == facts_digest([{"a": 1, "b": 2}])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert facts_digest([one, fifo]) is None  # and it did not block opening the FIFO


def test_policy_fingerprint_follows_content_not_formatting(tmp_path: Path,
                                                           engine: Engine) -> None:
    policy = tmp_path / "policy.yaml"
    text = (POLICY / "1.0.0.yaml").read_text(encoding="utf-8")
    policy.write_text("# reformatted copy\n" + text, encoding="utf-8")
    assert Engine.load(policy).policy_sha256 == engine.policy_sha256
    policy.write_text(text.replace("target_percent: 99.0", "target_percent: 98.0", 1),
                      encoding="utf-8")
    assert Engine.load(policy).policy_sha256 != engine.policy_sha256


def test_decision_log_and_replay_byte_for_byte(tmp_path: Path) -> None:
    log, report = tmp_path / "decisions.log", tmp_path / "report.json"
    done = _cli("evaluate", "--policy", POLICY, "--facts", EXAMPLE, "--as-of", AS_OF,
                "--output", report, "--decision-log", log)
    assert done.returncode == 0, done.stderr
    _cli("evaluate", "--policy", POLICY, "--facts", EXAMPLE, "--as-of", AS_OF, "--format",
         "html", "--output", tmp_path / "report.html", "--decision-log", log)
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert first["report_sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
    assert first["report_bytes"] == report.stat().st_size
    assert first["decision"] == json.loads(report.read_text())["decision"]
    assert second["decision"] == first["decision"] and second["format"] == "html"
    assert second["report_sha256"] == hashlib.sha256(
        (tmp_path / "report.html").read_bytes()).hexdigest()
    assert first["command"]["facts"] == [str(EXAMPLE)] and first["ran_at"].endswith("Z")
    # the last line (html) by default; the json one by its id and as the line itself
    for args in ([log], [log, "--decision", first["decision"]["decision_id"]],
                 [log.read_text().splitlines()[0]]):
        replayed = _cli("replay", *args, cwd=tmp_path)
        assert replayed.returncode == 0, replayed.stderr
        assert replayed.stdout == ""
        assert "reproduced: same policy, rules and facts" in replayed.stderr
    out = tmp_path / "again.json"
    assert _cli("replay", log.read_text().splitlines()[0], "--output", out).returncode == 0
    assert out.read_bytes() == report.read_bytes()


def test_replay_takes_a_unique_prefix_of_the_decision_id(tmp_path: Path) -> None:
    log, report = tmp_path / "decisions.log", tmp_path / "report.json"
    done = _cli("evaluate", "--policy", POLICY, "--facts", EXAMPLE, "--as-of", AS_OF,
                "--output", report, "--decision-log", log)
    assert done.returncode == 0, done.stderr
    line = log.read_text()
    decision_id = json.loads(line)["decision"]["decision_id"]
    # the first 8 digits, as docs/report.md shows them (any case, like git)
    for prefix in (decision_id[:8], decision_id[:4].upper()):
        replayed = _cli("replay", log, "--decision", prefix)
        assert replayed.returncode == 0, replayed.stderr
        assert f"decision {decision_id}" in replayed.stderr
    too_short = _cli("replay", log, "--decision", decision_id[:3])
    assert too_short.returncode == 2 and too_short.stderr == (
        f"--decision:0:0: $: decision id {decision_id[:3]!r} is too short: give at least 4 "
        "of its hex digits\n")
    # two decisions that share the prefix: ambiguous, both named, nothing replayed
    entry = json.loads(line)
    other = {**entry, "decision": {**entry["decision"],
                                   "decision_id": decision_id[:8] + "0" * 24}}
    if other["decision"]["decision_id"] == decision_id:  # pragma: no cover - 1 in 2**96
        other["decision"]["decision_id"] = decision_id[:8] + "1" * 24
    log.write_text(line + json.dumps(other) + "\n")
    ambiguous = _cli("replay", log, "--decision", decision_id[:8])
    assert ambiguous.returncode == 2 and ambiguous.stderr.count("\n") == 1
    assert "is ambiguous: 2 decisions start with it" in ambiguous.stderr
    assert decision_id in ambiguous.stderr and "give more digits" in ambiguous.stderr
    missing = _cli("replay", log, "--decision", "ffff0000")
    assert missing.returncode == 2 and "no decision 'ffff0000' in this log" in missing.stderr


def test_replay_names_a_changed_policy_or_input(tmp_path: Path) -> None:
    facts, policy, log = tmp_path / "facts.yaml", tmp_path / "policy", tmp_path / "d.log"
    shutil.copy(EXAMPLE, facts)
    shutil.copytree(POLICY, policy)
    assert _cli("evaluate", "--policy", policy, "--facts", facts, "--as-of", AS_OF,
                "--output", tmp_path / "r.json", "--decision-log", log).returncode == 0
    entry = json.loads(log.read_text())
    facts.write_text(facts.read_text() + "# one more line\n")
    done = _cli("replay", log)
    assert done.returncode == 1
    assert f"facts changed: {facts} have sha256 " in done.stderr
    assert f"the decision was made with {entry['decision']['facts_sha256']}" in done.stderr
    assert "policy changed" not in done.stderr
    shutil.copy(EXAMPLE, facts)
    version = policy / "1.0.0.yaml"
    text = version.read_text()
    assert "target_percent: 99.0" in text
    version.write_text(text.replace("target_percent: 99.0", "target_percent: 98.0", 1))
    done = _cli("replay", log)
    assert done.returncode == 1 and "policy changed" in done.stderr
    assert "facts changed" not in done.stderr
    # a moved policy with the same content is found by --policy and still matches
    version.write_text((POLICY / "1.0.0.yaml").read_text())
    moved = tmp_path / "moved"
    policy.rename(moved)
    assert _cli("replay", log, "--policy", moved).returncode == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("not json\n", ":1:1: $: not a decision-log line: Expecting value"),
    ('{"decision": {}}\n', ":1:1: $: not a decision-log line: missing or bad decision"),
    ("", ":0:0: $: the decision log is empty"),
])
def test_replay_of_a_bad_log_is_one_located_line(tmp_path: Path, text: str,
                                                 expected: str) -> None:
    log = tmp_path / "d.log"
    log.write_text(text)
    done = _cli("replay", log)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"{log}{expected}" in done.stderr


def test_stderr_off_a_terminal_summary_and_fail_on(tmp_path: Path, engine: Engine) -> None:
    done = _cli("evaluate", "--policy", POLICY, "--facts", EXAMPLE, "--as-of", AS_OF,
                "--fail-on", "breach", "--fail-on", "credit", "--fail-on", "expired")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    # no progress bar off a terminal: two lines, the summary and what tripped
    assert len(lines) == 2 and "\r" not in done.stderr
    assert lines[0].startswith(SUMMARY) and lines[0].endswith(" s")
    # 8 breaches (2 months, 4 dt-103 notices, 2 tickets), 2 credits; no expired credit
    assert lines[1] == "policyengine: --fail-on tripped: breach (8), credit (2)"
    assert done.stdout == engine.evaluate([EXAMPLE], as_of=AS_OF).to_json()
    quiet = _cli("evaluate", "--policy", POLICY, "--facts", EXAMPLE, "--as-of", AS_OF,
                 "--fail-on", "expired", "--output", tmp_path / "r.json")
    assert quiet.returncode == 0 and "tripped" not in quiet.stderr


DAYS = ROOT / "policies" / "examples" / "days-of-service"
DAYS_FACTS = ROOT / "examples" / "days-of-service-2026.yaml"


@pytest.mark.parametrize("fmt", ["json", "table"])  # streamed and in-memory
@pytest.mark.parametrize(("as_of", "credits"), [
    # days-of-service.test.yaml: October 7 days requested in time (payable); November 15
    # days not requested, window open to 12-30 (claimable) ...
    ("2026-12-15T00:00:00-08:00", "credits payable 7 days, claimable 15 days, "),
    # ... and after 12-30 November's 15 days are forfeited: never added to the 7 owed
    ("2027-02-01T00:00:00-08:00", "credits payable 7 days, expired 15 days, "),
])
def test_summary_credits_by_status_never_added_across_statuses_one_customer_singular(
        tmp_path: Path, fmt: str, as_of: str, credits: str) -> None:
    done = _cli("evaluate", "--policy", DAYS, "--facts", DAYS_FACTS, "--as-of", as_of,
                "--format", fmt, "--output", tmp_path / "r")
    assert done.returncode == 0, done.stderr
    # one customer (hooli), two months both below target (98.6559 %, 94.4521 %)
    assert done.stderr.startswith(
        "evaluated: 1 customer, 2 customer-periods (2 missed), 2 breaches, 10 findings, "
        + credits), done.stderr
    assert "22 days" not in done.stderr


def test_summary_line_words() -> None:
    from decimal import Decimal

    from policyengine.cli.talk import summary_line

    line = summary_line({"availability": 1, "findings": 1}, 1, 1,
                        {("expired", "EUR"): Decimal("5.00"), ("payable", "USD"): Decimal("1"),
                         ("payable", "EUR"): Decimal("2.50")}, 0.04, 1)
    # statuses in the order payable, claimable, expired; currencies sorted within each
    assert line == ("evaluated: 1 customer, 1 customer-period (1 missed), 1 breach, "
                    "1 finding, credits payable 2.50 EUR, 1 USD, expired 5.00 EUR, 0.0 s")
    assert summary_line({}, 0, 0, {}, 1.0, 0) == (
        "evaluated: 0 customers, 0 customer-periods (0 missed), 0 breaches, 0 findings, "
        "credits none, 1.0 s")


def test_progress_on_a_terminal_and_stdout_unchanged(tmp_path: Path) -> None:
    facts = tmp_path / "many.ndjson"
    lines = [json.dumps({"type": "subscription", "customer": f"c{i}", "plan": "production",
                         "deployment": "saas", "license": "subscription",
                         "annual_fee": "1200.00", "currency": "EUR",
                         "term_start": "2026-01-01", "term_end": "2026-12-31",
                         "renewed": True, "support": "active"}) for i in range(12000)]
    lines.append(json.dumps({"type": "downtime", "id": "d1", "start": "2026-10-05T00:00:00Z",
                             "end": "2026-10-05T12:00:00Z", "cause": "vendor",
                             "maintenance": "none"}))
    facts.write_text("\n".join(lines) + "\n")
    args = [*CLI, "evaluate", "--policy", str(POLICY), "--facts", str(facts), "--as-of",
            AS_OF, "--workers", "2"]
    plain = subprocess.run(args, capture_output=True, check=True)
    shown_stdout, text = _on_a_terminal(args)  # stderr on a 100-column terminal
    assert shown_stdout == plain.stdout  # the report's bytes do not depend on a terminal
    assert "facts read" in text and "shards evaluated" in text
    # 12,000 customers, each 2026-10 missed: 12 h of 744 h; 1/12 of 1200.00 EUR each
    assert "evaluated: 12000 customers, 12000 customer-periods (12000 missed)" in text
    # none requested, the window open at as-of: 12,000 x 100.00 = 1,200,000.00 claimable
    assert "credits claimable 1200000.00 EUR" in text
    assert b"shards evaluated" not in plain.stderr


# -- with main's as-of cutoff, provisional months, renewals and --strict ------------------------
def _asof_and_renewal_facts(path: Path) -> Path:
    """test_asof's facts (10 parts dated after as-of, a provisional November for acme) and
    a customer renewed on 11-01 whose first term missed a downtime (not_in_term)."""
    from .test_asof import FACTS

    sub = {k: v for k, v in FACTS[0].items() if k not in ("customer", "term_start", "term_end")}
    extra = [{**sub, "customer": "renew", "term_start": "2025-11-03", "term_end": "2026-10-31"},
             {**sub, "customer": "renew", "term_start": "2026-11-01", "term_end": "2027-10-31"},
             {"type": "downtime", "id": "d-before", "customers": ["renew"],
              "start": "2025-10-20T09:00:00-04:00", "end": "2025-10-20T10:00:00-04:00",
              "cause": "vendor", "maintenance": "none"}]
    path.write_text("".join(json.dumps(f) + "\n" for f in [*FACTS, *extra]), encoding="utf-8")
    return path


def test_decision_header_same_streamed_and_in_memory_with_cutoff_and_renewals(
        tmp_path: Path) -> None:
    from .test_asof import AS_OF as CUTOFF

    path = _asof_and_renewal_facts(tmp_path / "facts.ndjson")
    engine = Engine.load(POLICY, backend="python")
    in_memory = engine.evaluate([path], as_of=CUTOFF)
    out = io.StringIO()
    summary = engine.write_json([path], out, as_of=CUTOFF, workers=2, shards=3)
    assert out.getvalue() == in_memory.to_json()
    assert summary.decision == in_memory.decision() == json.loads(out.getvalue())["decision"]
    # the one as-of warning, counted the same way on both paths
    assert [w.render() for w in summary.warnings] == [w.render() for w in in_memory.warnings]
    assert len(summary.warnings) == 1 and "were not used" in summary.warnings[0].message
    document = json.loads(out.getvalue())
    assert ("renew/d-before", "not_in_term") in {(f["subject"], f["outcome"])
                                                 for f in document["findings"]}
    # acme's and renew's November are both provisional (met null): none is missed
    rows = [(r["customer"], r["month"], r["met"], r["provisional"])
            for r in document["availability"]]
    assert ("acme", "2026-11", None, True) in rows and ("renew", "2026-11", None, True) in rows
    assert (summary.periods_missed, summary.periods_provisional) == (
        0, sum(1 for r in rows if r[3]))


def test_strict_is_logged_and_replayed_and_a_refusal_logs_nothing(tmp_path: Path) -> None:
    log, report = tmp_path / "d.log", tmp_path / "r.json"
    done = _cli("evaluate", "--policy", POLICY, "--facts", EXAMPLE, "--as-of", AS_OF,
                "--strict", "--output", report, "--decision-log", log)
    assert done.returncode == 0, done.stderr
    entry = json.loads(log.read_text())
    assert entry["command"]["strict"] is True
    replayed = _cli("replay", log)
    assert replayed.returncode == 0 and "reproduced" in replayed.stderr
    # an unknown field is a warning, and --strict refuses it: exit 2, nothing written or logged
    typo = tmp_path / "typo.yaml"
    typo.write_text(EXAMPLE.read_text(encoding="utf-8").replace(
        "first_response_at:", "first_responce_at:", 1), encoding="utf-8")
    refused = _cli("evaluate", "--policy", POLICY, "--facts", typo, "--as-of", AS_OF,
                   "--strict", "--output", tmp_path / "no.json", "--decision-log", log)
    assert refused.returncode == 2 and "first_responce_at" in refused.stderr
    assert "evaluated:" not in refused.stderr
    assert not (tmp_path / "no.json").exists() and len(log.read_text().splitlines()) == 1


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--as-of", "2026-11-27T12:00:00",
     "--as-of:0:0: $: as-of '2026-11-27T12:00:00' has no offset: "),
    ("--months", "2026-13", "--months:0:0: $: --months '2026-13' is not a month that exists\n"),
])
def test_a_bad_option_is_named_as_the_option_and_nothing_is_logged(
        tmp_path: Path, option: str, value: str, expected: str) -> None:
    log = tmp_path / "d.log"
    args = ["--as-of", AS_OF] if option != "--as-of" else []
    done = _cli("evaluate", "--policy", POLICY, "--facts", EXAMPLE, *args, option, value,
                "--decision-log", log)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(expected)  # checked before anything is evaluated
    assert not log.exists()
