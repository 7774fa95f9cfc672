"""Claim windows, assigned severities and services on notices (issue 12 trial gaps A1, S1,
M1, M2, O1): what `validate` refuses, located; the deadline arithmetic by calendar month;
what `show` and `diff` say. The evaluation results are case files: tests/cases/claims/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.clauses.credits import claim_last_day
from policyengine.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
SPIRION = ROOT / "policies" / "spirion" / "1.0.0.yaml"
CLAIMS = ROOT / "tests" / "cases" / "claims" / "claims-policy.yaml"
NO_WINDOW = ROOT / "tests" / "cases" / "claims" / "no-claim-window.yaml"


def _edited(tmp_path: Path, source: Path, old: str, new: str, name: str = "p.yaml") -> Path:
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target = tmp_path / name
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(("last_day", "window", "expected"), [
    # 60 days after 31 October: 30 December (the Spirion window)
    (dt.date(2026, 10, 31), "60d", dt.date(2026, 12, 30)),
    # the end of the next calendar month: 28 to 31 days
    (dt.date(2026, 10, 31), {"months": 1, "to": "end_of_month"}, dt.date(2026, 11, 30)),
    (dt.date(2026, 11, 30), {"months": 1, "to": "end_of_month"}, dt.date(2026, 12, 31)),
    (dt.date(2026, 12, 31), {"months": 1, "to": "end_of_month"}, dt.date(2027, 1, 31)),
    (dt.date(2027, 1, 31), {"months": 1, "to": "end_of_month"}, dt.date(2027, 2, 28)),
    (dt.date(2028, 1, 31), {"months": 1, "to": "end_of_month"}, dt.date(2028, 2, 29)),
    # from an outage in mid-month: the end of the month after that month
    (dt.date(2026, 10, 8), {"months": 1, "to": "end_of_month"}, dt.date(2026, 11, 30)),
    # a quarter (its last day 31 December) + 2 months: 28 February; + 12: a year on
    (dt.date(2026, 12, 31), {"months": 2, "to": "end_of_month"}, dt.date(2027, 2, 28)),
    (dt.date(2026, 12, 31), {"months": 12, "to": "end_of_month"}, dt.date(2027, 12, 31)),
    (dt.date(2026, 10, 31), "unlimited", None),
], ids=["60d", "oct+1m-30d", "nov+1m-31d", "dec+1m-year-change", "jan+1m-feb-28",
        "jan+1m-leap-feb-29", "outage-mid-month", "quarter+2m", "+12m", "unlimited"])
def test_claim_last_day_by_calendar_month(last_day: dt.date, window: object,
                                          expected: dt.date | None) -> None:
    assert claim_last_day({"window": window}, last_day) == expected


@pytest.mark.parametrize(("new", "line", "message"), [
    ("window: {months: 0, to: end_of_month}", 112,
     "$.spec.credits[1].window.months: '0' is below the minimum of 1"),
    ("window: {months: 13, to: end_of_month}", 112,
     "$.spec.credits[1].window.months: '13' is above the maximum of 12"),
    ("window: {months: 1}", 112, "$.spec.credits[1].window: missing required field 'to'"),
    ("window: {months: 1, to: end_of_week}", 112,
     "$.spec.credits[1].window.to: 'end_of_week' is not allowed here; expected one of: "
     "end_of_month"),
    ("window: unlimted", 112, "$.spec.credits[1].window: expected a number of days like 60d "
     "(or weeks like 2w), unlimited, or {months: 1, to: end_of_month}, got 'unlimted'"),
    ("window: 0d", 112, "$.spec.credits[1].window: a claim window of no days leaves no time to "
     "ask; write the days the contract gives, or unlimited for no deadline"),
    ("window: 10d\n      from: incidnet", 113, "$.spec.credits[1].from: 'incidnet' is not "
     "allowed here; expected one of: period_end, incident (did you mean 'incident'?)"),
], ids=["months-zero", "months-13", "months-without-to", "to-not-end-of-month",
        "unlimited-misspelt", "zero-days", "from-misspelt"])
def test_claim_window_mistakes_are_located_errors(tmp_path: Path, new: str, line: int,
                                                  message: str) -> None:
    policy = _edited(tmp_path, SPIRION, "      window: 60d\n", f"      {new}\n")
    code, output = _run("validate", str(policy))
    assert code == 2
    errors = [x for x in output.splitlines() if "warning" not in x and x.strip()]
    assert errors[0].startswith(f"{policy}:{line}:"), errors
    assert errors[0].endswith(message), errors


@pytest.mark.parametrize(("new", "words"), [
    ("window: 60d", "Claim within:** 60d after the end of the month that missed the target; "
     "a late or missing request forfeits the credit"),
    ("window: 10d\n      from: incident", "Claim within:** 10d after the day the outage ended; "
     "a late or missing request forfeits the credit"),
    ("window: {months: 1, to: end_of_month}", "Claim within:** by the end of the calendar "
     "month after the month that missed the target; a late or missing request forfeits the "
     "credit"),
    ("window: {months: 2, to: end_of_month}\n      from: incident", "Claim within:** by the "
     "end of the 2nd calendar month after the month the outage ended; a late or missing "
     "request forfeits the credit"),
    ("window: unlimited", "Claim:** a credit must be requested, with no deadline, after the "
     "end of the month that missed the target; until then it is claimable, never forfeited"),
], ids=["days", "days-from-incident", "end-of-next-month", "2nd-month-from-incident",
        "unlimited"])
def test_show_says_each_claim_window(tmp_path: Path, new: str, words: str) -> None:
    policy = _edited(tmp_path, SPIRION, "      window: 60d\n", f"      {new}\n")
    code, output = _run("show", str(policy))
    assert code == 0
    assert f"- **{words}" in output


def test_show_says_what_no_claim_window_and_no_severity_assignment_mean() -> None:
    code, output = _run("show", str(NO_WINDOW))
    assert code == 0
    assert ("- **Claims:** no claim window: every credit is owed without a request, with no "
            "deadline (status payable, no claim deadline)") in output
    assert ("- **Assigned levels:** no severity\\_assignment clause: a level recorded on a "
            "ticket is used as given (the reported impact is not compared with it)") in output
    code, spirion = _run("show", str(SPIRION))
    assert "Not in this policy" not in spirion  # it has both clauses


def test_diff_says_the_window_changes(tmp_path: Path) -> None:
    months = _edited(tmp_path, CLAIMS, "      window: 10d\n      from: period_end\n",
                     "      window: {months: 1, to: end_of_month}\n      from: incident\n")
    code, output = _run("diff", str(CLAIMS), str(months))
    assert code == 0
    assert "claim: window: 10d → the end of the calendar month after" in output
    assert "claim: from: period_end → incident" in output


@pytest.mark.parametrize("fmt", ["table", "markdown", "html"])
def test_a_credit_without_deadline_reads_as_such_in_every_format(tmp_path: Path,
                                                                 fmt: str) -> None:
    facts = tmp_path / "facts.yaml"
    facts.write_text(
        "apiVersion: policyengine/v1\nkind: FactSet\nfacts:\n"
        "  - {type: subscription, customer: acme, plan: production, deployment: saas,\n"
        "     license: subscription, annual_fee: '120000.00', currency: USD,\n"
        "     term_start: '2026-01-01', term_end: '2026-12-31', renewed: true,\n"
        "     support: active}\n"
        "  - {type: downtime, id: d-mail, start: '2026-10-08T10:00:00Z',\n"
        "     end: '2026-10-08T11:30:00Z', cause: vendor, maintenance: none,\n"
        "     services: [mail]}\n", encoding="utf-8")
    code, output = _run("evaluate", "--policy", str(NO_WINDOW), "--facts", str(facts),
                        "--as-of", "2027-01-01T00:00:00Z", "--format", fmt)
    assert code == 0
    assert "None" not in output
    assert "1000.00" in output
    if fmt == "html":
        assert "<td>no deadline</td>" in output


def test_a_chart_without_a_catch_all_level_is_a_located_warning(tmp_path: Path) -> None:
    """The other way a ticket silently got no severity: no recorded level, and an impact
    that no level's definition matches (the claims policy's level 2 is the catch-all)."""
    policy = _edited(tmp_path, CLAIMS, "      definition: {all: []}\n",
                     "      definition: {all: [{production_degraded: true}]}\n")
    code, output = _run("validate", "--strict", str(policy))
    assert code == 2
    line = next(n for n, text in enumerate(policy.read_text().splitlines(), 1)
                if "production_degraded: true" in text)
    assert output.strip() == (
        f"{policy}:{line}:19: $.spec.support[1].definition: no severity level is a "
        "catch-all (definition: {all: []}): a ticket without a recorded severity whose impact "
        "matches no level gets no severity and no targets")
    assert _run("validate", str(policy))[0] == 0  # a warning: the policy still loads
