"""``policyengine evaluate`` through click's CliRunner, on the shipped October 2026 example.

Expected numbers are worked by hand from examples/october-2026.yaml (October = 44,640 min):
acme and globex lose 450 (dt-101) + 120 (dt-102 past its 6 h) + 120 (dt-103, notice 47 h)
+ 60 (dt-104 past its 4 h) = 750 counted minutes; 660 are excluded (360 + 240 + 60 for
dt-105, third party) -> 100 * 43890 / 44640 = 98.3199 %, missed. acme's credit is
120000.00 / 12 = 10000.00 (renewed, requested 2026-11-05 -> payable); globex's is
50000.00 / 12 = 4166.67 (not renewed -> refund, not requested, deadline 2026-12-30 ->
claimable at 2026-11-27).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import policyengine.cli.main as cli
from policyengine.cli.main import main

from .conftest import ROOT

EXAMPLE = "examples/october-2026.yaml"
POLICY = "policies/spirion"
AS_OF = "2026-11-27T12:00:00-05:00"
LOCATED = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+): ", re.MULTILINE)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (as a user types them) resolve against the repository."""
    monkeypatch.chdir(ROOT)


def evaluate(*extra: str, facts: str = EXAMPLE, policy: str = POLICY) -> Result:
    args = ["evaluate", "--policy", policy, "--facts", facts, "--as-of", AS_OF, *extra]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr


# -- json --------------------------------------------------------------------------------
def test_json_parses_and_has_the_contract_shape() -> None:
    result = evaluate("--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["policy"] == [{"name": "spirion", "version": "1.0.0"}]
    for key in ("availability", "credits", "tickets", "obligations", "entitlements", "findings"):
        assert isinstance(data[key], list)
    acme = next(r for r in data["availability"] if r["customer"] == "acme")
    assert acme == {**acme, "month": "2026-10", "covered": True, "minutes_in_month": 44640,
                    "downtime_minutes": 1410, "excluded_minutes": 660,
                    "counted_downtime_minutes": 750, "availability_percent": 98.3199,
                    "target_percent": 99, "met": False}
    hooli = next(r for r in data["availability"] if r["customer"] == "hooli")
    assert hooli["covered"] is False and hooli["met"] is None
    assert not any(r["customer"] == "umbrella" for r in data["availability"])
    credits = {r["customer"]: r for r in data["credits"]}
    assert set(credits) == {"acme", "globex"}
    assert credits["acme"] == {**credits["acme"], "amount": "10000.00", "currency": "USD",
                               "form": "credit", "claim_deadline": "2026-12-30",
                               "requested_at": "2026-11-05T10:00:00-05:00",
                               "status": "payable"}
    assert credits["globex"] == {**credits["globex"], "amount": "4166.67", "form": "refund",
                                 "requested_at": None, "status": "claimable"}


def test_json_is_byte_identical_across_runs() -> None:
    first = evaluate("--format", "json")
    second = evaluate("--format", "json")
    assert first.exit_code == second.exit_code == 0
    assert first.stdout_bytes == second.stdout_bytes


def test_json_is_byte_identical_across_back_ends() -> None:
    durable = evaluate("--format", "json", "--engine", "durable")
    python = evaluate("--format", "json", "--engine", "python")
    assert durable.exit_code == python.exit_code == 0
    assert durable.stdout_bytes == python.stdout_bytes


# -- table and markdown ------------------------------------------------------------------
def _row(text: str, *cells: str) -> bool:
    """Some line holds these cells in this order, separated by whitespace (or pipes)."""
    pattern = r"[\s|]+".join(re.escape(c) for c in cells)
    return re.search(rf"(^|[\s|]){pattern}([\s|]|$)", text, re.MULTILINE) is not None


def test_table_has_customer_rows_and_totals() -> None:
    result = evaluate("--format", "table")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"policy spirion 1.0.0; as of {AS_OF}")
    for title in ("AVAILABILITY", "CREDITS", "TICKETS", "NOTICES", "ENTITLEMENTS", "TOTALS"):
        assert re.search(rf"^{title}$", out, re.MULTILINE), title
    assert _row(out, "acme", "2026-10", "yes", "44640", "1410", "660", "750", "98.3199", "99",
                "MISSED")
    assert _row(out, "globex", "2026-10", "yes", "44640", "1410", "660", "750", "98.3199",
                "99", "MISSED")
    # not covered: no verdict applies (n/a, not "-": docs/report.md)
    assert _row(out, "hooli", "2026-10", "no", "44640", "480", "300", "180", "99.5968", "99",
                "n/a")
    assert _row(out, "initech", "2026-10", "no")
    assert _row(out, "acme", "2026-10", "10000.00", "USD", "credit", "2026-12-30",
                "2026-11-05T10:00:00-05:00", "payable")
    assert _row(out, "globex", "2026-10", "4166.67", "USD", "refund", "2026-12-30", "no",
                "claimable")
    assert "umbrella  2026-10" not in out
    assert "credits claimable: 4166.67 USD" in out
    assert "credits payable: 10000.00 USD" in out
    assert "months below target: 2;" in out


def test_markdown_has_customer_rows_and_totals() -> None:
    result = evaluate("--format", "markdown")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"# Evaluation at {AS_OF}")
    assert "## Availability" in out and "## Credits" in out and "## Totals" in out
    assert ("| acme | 2026-10 | yes | 44640 | 1410 | 660 | 750 | 98.3199 | 99 | MISSED |"
            in out)
    assert ("| globex | 2026-10 | yes | 44640 | 1410 | 660 | 750 | 98.3199 | 99 | MISSED |"
            in out)
    assert "| hooli | 2026-10 | no | 44640 | 480 | 300 | 180 | 99.5968 | 99 | n/a |" in out
    assert ("| acme | 2026-10 | 10000.00 | USD | credit | 2026-12-30 | "
            "2026-11-05T10:00:00-05:00 | payable |") in out
    assert "| globex | 2026-10 | 4166.67 | USD | refund | 2026-12-30 | no | claimable |" in out
    assert "- credits claimable: 4166.67 USD" in out
    assert "- credits payable: 10000.00 USD" in out
    assert "- months below target: 2;" in out


# -- --fail-on ---------------------------------------------------------------------------
def test_fail_on_breach_exits_1_and_still_prints() -> None:
    result = evaluate("--format", "json", "--fail-on", "breach")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["credits"]


def test_fail_on_an_outcome_that_did_not_happen_exits_0() -> None:
    # nothing is expired at 2026-11-27: acme's claim is payable, globex's is still open
    result = evaluate("--format", "json", "--fail-on", "expired")
    assert result.exit_code == 0, result.output


# -- --output ----------------------------------------------------------------------------
def test_output_writes_the_file_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = evaluate("--format", "json", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == evaluate("--format", "json").stdout
    assert json.loads(target.read_text(encoding="utf-8"))["availability"]
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_output_replaces_an_existing_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old report\n" * 10_000, encoding="utf-8")
    result = evaluate("--format", "markdown", "--output", str(target))
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert text.startswith(f"# Evaluation at {AS_OF}") and "old report" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_output_is_atomic_when_the_final_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous\n", encoding="utf-8")

    def refuse(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(cli.os, "replace", refuse)
    result = evaluate("--format", "json", "--output", str(target))
    assert result.exit_code == 2
    _no_traceback(result)
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_output_is_not_created_on_bad_input(tmp_path: Path) -> None:
    facts = tmp_path / "naive.yaml"
    facts.write_text(_NAIVE_FACTS, encoding="utf-8")
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    result = evaluate("--output", str(target), facts=str(facts))
    assert result.exit_code == 2
    assert list(target.parent.iterdir()) == []


# -- --months and --explain ----------------------------------------------------------------
def test_months_adds_september_rows() -> None:
    result = evaluate("--format", "json", "--months", "2026-09..2026-10")
    assert result.exit_code == 0, result.output
    rows = {(r["customer"], r["month"]): r for r in json.loads(result.stdout)["availability"]}
    # every SaaS customer (not umbrella, on-premise) for September and October
    assert set(rows) == {(c, m) for c in ("acme", "globex", "hooli", "initech")
                         for m in ("2026-09", "2026-10")}
    september = rows[("acme", "2026-09")]
    assert september == {**september, "covered": True, "minutes_in_month": 43200,
                         "downtime_minutes": 0, "counted_downtime_minutes": 0,
                         "availability_percent": 100, "met": True}
    assert rows[("globex", "2026-09")]["covered"] is True  # term 2025-11-01 .. 2026-10-31
    assert rows[("hooli", "2026-09")]["met"] is None  # before its term starts on 2026-10-15
    assert rows[("initech", "2026-09")]["covered"] is False  # beta


def test_explain_lists_rule_ids_with_clause_ids() -> None:
    result = evaluate("--format", "table", "--explain")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "DECISIONS (rule [clause] subject: outcome)" in out
    for line in (
        "availability.month-missed [availability-commitment] acme/2026-10: breach",
        "availability.scheduled-with-notice [scheduled-downtime] acme/dt-102: excluded",
        "availability.emergency-first-in-month [emergency-maintenance] acme/dt-104: excluded",
        "availability.excused-cause [excused-downtime] acme/dt-105: excluded",
        "availability.credit-for-renewed-order [service-credit] acme/2026-10: credit",
        "availability.refund-for-non-renewed-order [service-credit] globex/2026-10: credit",
        "availability.claim-in-time [credit-claim-window] acme/2026-10: payable",
        "availability.month-excluded-plan [non-production-plans] initech/2026-10: not_covered",
    ):
        assert line in out, line
    plain = evaluate("--format", "table")
    assert "DECISIONS" not in plain.stdout


def test_explain_in_json_adds_findings_with_their_facts() -> None:
    result = evaluate("--format", "json", "--explain")
    assert result.exit_code == 0, result.output
    explain = json.loads(result.stdout)["explain"]
    assert {"rule": "availability.month-missed", "clause": "availability-commitment",
            "subject": "acme/2026-10", "outcome": "breach"}.items() <= next(
        e for e in explain if e["rule"] == "availability.month-missed"
        and e["subject"] == "acme/2026-10").items()
    assert all(e["rule"] and e["clause"] for e in explain)


# -- bad input ------------------------------------------------------------------------------
_NAIVE_FACTS = """\
apiVersion: policyengine/v1
kind: FactSet
facts:
  - {type: subscription, customer: acme, plan: production, deployment: saas,
     license: subscription, annual_fee: "1200.00", currency: USD,
     term_start: "2026-01-01", term_end: "2026-12-31", renewed: true, support: active}
  - type: downtime
    id: dt-1
    start: "2026-10-05T10:00:00"
    end: "2026-10-05T11:00:00-04:00"
    cause: vendor
    maintenance: none
"""


def test_naive_timestamp_exits_2_with_a_located_message(tmp_path: Path) -> None:
    facts = tmp_path / "naive.yaml"
    facts.write_text(_NAIVE_FACTS, encoding="utf-8")
    result = evaluate(facts=str(facts))
    assert result.exit_code == 2
    _no_traceback(result)
    assert result.stdout == ""
    match = LOCATED.search(result.stderr)
    assert match, result.stderr
    assert match["file"] == str(facts)
    assert match["line"] == "9"  # the `start:` line of the downtime (line 9)
    assert "2026-10-05T10:00:00" in result.stderr and "offset" in result.stderr
    assert "start" in result.stderr


def test_fact_file_given_as_policy_exits_2_with_a_located_message() -> None:
    result = evaluate(policy=EXAMPLE)
    assert result.exit_code == 2
    _no_traceback(result)
    assert result.stdout == ""
    match = LOCATED.search(result.stderr)
    assert match, result.stderr
    assert match["file"] == EXAMPLE
    assert "--facts" in result.stderr


def test_policy_given_as_facts_exits_2_with_a_located_message() -> None:
    result = evaluate(facts="policies/spirion/1.0.0.yaml")
    assert result.exit_code == 2
    _no_traceback(result)
    match = LOCATED.search(result.stderr)
    assert match and match["file"] == "policies/spirion/1.0.0.yaml", result.stderr
    assert "--policy" in result.stderr


def test_naive_as_of_exits_2_without_traceback() -> None:
    result = CliRunner().invoke(main, ["evaluate", "--policy", POLICY, "--facts", EXAMPLE,
                                       "--as-of", "2026-11-27T12:00:00"],
                                catch_exceptions=False)
    assert result.exit_code == 2
    _no_traceback(result)
    assert "offset" in result.stderr


def test_output_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    """The temporary file behind an atomic write is 0600; the report must not stay so."""
    import os
    import stat

    output = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["evaluate", "--policy", str(POLICY), "--facts",
                                       str(EXAMPLE), "--as-of", AS_OF, "--output", str(output)])
    assert result.exit_code == 0, result.output
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(output.stat().st_mode) == 0o666 & ~umask
    output.chmod(0o640)  # an existing file keeps its mode
    CliRunner().invoke(main, ["evaluate", "--policy", str(POLICY), "--facts", str(EXAMPLE),
                              "--as-of", AS_OF, "--output", str(output)])
    assert stat.S_IMODE(output.stat().st_mode) == 0o640


@pytest.mark.parametrize(("months", "message"), [
    (["2026-12.."], "--months"),
    (["..2026-12"], "must be a month YYYY-MM"),
    (["2026-12..2026-10"], "ends before it starts"),
], ids=["trailing-dots", "leading-dots", "reversed-range"])
def test_bad_months_option_exits_2(months: list[str], message: str) -> None:
    args = ["evaluate", "--policy", POLICY, "--facts", EXAMPLE, "--as-of", AS_OF]
    for value in months:
        args += ["--months", value]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output


def test_repeated_months_option_adds_every_month() -> None:
    result = CliRunner().invoke(main, ["evaluate", "--policy", POLICY, "--facts", EXAMPLE,
                                       "--as-of", AS_OF, "--months", "2026-08",
                                       "--months", "2026-09"])
    assert result.exit_code == 0, result.output
    months = {row["month"] for row in json.loads(result.stdout)["availability"]}
    assert months == {"2026-08", "2026-09", "2026-10"}


def test_date_only_as_of_says_what_is_missing() -> None:
    result = CliRunner().invoke(main, ["evaluate", "--policy", POLICY, "--facts", EXAMPLE,
                                       "--as-of", "2026-11-10"])
    assert result.exit_code == 2
    assert "is a date without a time and offset; write e.g. 2026-11-10T00:00:00-05:00" in (
        result.output)
