"""Support levels (docs/policy-language.md, "Support levels"): the policy checks, `due`, and
the rule that ticket rows carry the new fields only for a policy that uses the shapes.

The evaluation cases, with the arithmetic, are tests/cases/support/levels.test.yaml;
the policy is tests/policies/support-levels.yaml.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.api import Engine
from policyengine.cli.main import main
from policyengine.diagnostics import InputError

from .conftest import ROOT

LEVELS = ROOT / "tests" / "policies" / "support-levels.yaml"
BASE = LEVELS.read_text(encoding="utf-8")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_the_levels_policy_is_valid_without_warnings() -> None:
    code, output = _run("validate", "--strict", str(LEVELS))
    assert (code, output) == (0, f"ok: {LEVELS}\n")


BROKEN = [
    pytest.param("      level: 4\n", "      level: 3\n",
                 "$.spec.support[3].level: severity level 3 is defined twice",
                 id="duplicate-level"),
    pytest.param("      level: 4\n", "      level: 6\n",
                 "$.spec.support[3].level: severity levels run 1..N without gaps: levels 4-5 "
                 "are missing below level 6", id="gap-in-levels"),
    pytest.param("      level: 1\n", "      level: 5\n",
                 "$.spec.support[1].level: severity levels run 1..N without gaps: level 1 is "
                 "missing below level 2", id="levels-not-starting-at-1"),
    pytest.param("calendar: around-the-clock}\n      resolution: null",
                 "calendar: round-the-clock}\n      resolution: null",
                 "$.spec.support[3].response.calendar: undefined calendar 'round-the-clock' "
                 "(calendars: americas-hours, around-the-clock, emea-hours, support-hours)",
                 id="undefined-calendar"),
    pytest.param("{emea: emea-hours, americas", "{emea: europe-hours, americas",
                 "$.spec.calendars[3].regions.emea: undefined calendar 'europe-hours' for "
                 "region 'emea' (calendars: americas-hours, around-the-clock, emea-hours)",
                 id="region-with-undefined-calendar"),
    pytest.param("      default: americas-hours", "      default: support-hours",
                 "$.spec.calendars[3].default: undefined calendar 'support-hours' (calendars: "
                 "americas-hours, around-the-clock, emea-hours)",
                 id="default-is-not-a-plain-calendar"),
    pytest.param('      threshold: "75%"', '      threshold: "120%"',
                 "$.spec.support[4].threshold: at-risk threshold 120% is above 100%: a target "
                 "is never more than used up", id="at-risk-above-100"),
    pytest.param('      threshold: "75%"', '      threshold: "0%"',
                 "$.spec.support[4].threshold: at-risk threshold 0% would put every ticket at "
                 "risk as it opens", id="at-risk-zero"),
    pytest.param("resolution: {target: 8h, clock: elapsed, at_risk: 2h}",
                 "resolution: {target: 8h, clock: elapsed, at_risk: 8h}",
                 "$.spec.support[0].resolution.at_risk: at risk 8h before due is not inside "
                 "the 8h target: it would put every ticket at risk as it opens",
                 id="at-risk-duration-not-inside-target"),
    pytest.param('      threshold: "75%"', '      threshold: "2h"',
                 "$.spec.support[4].threshold: at risk 2h before due is not inside the 1h "
                 "target: it would put every ticket at risk as it opens (severity-1 response)",
                 id="policy-wide-at-risk-longer-than-a-target"),
    pytest.param('      threshold: "75%"', '      threshold: "most"',
                 "$.spec.support[4].threshold: expected a share of the target like 75% or a "
                 "time before it falls due like 1h", id="at-risk-not-a-share-or-duration"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BROKEN)
def test_mistakes_are_located_errors(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in BASE, old
    path = tmp_path / "policy.yaml"
    path.write_text(BASE.replace(old, new, 1), encoding="utf-8")
    code, output = _run("validate", str(path))
    assert code == 2, output
    assert expected in output, output
    for line in output.strip().splitlines():
        assert line.startswith(f"{path}:"), line


def test_regional_calendars_must_name_the_same_regions(tmp_path: Path) -> None:
    second = """    - id: extended-hours
      kind: regional_calendar
      ref: "Support Addendum > Extended Hours"
      summary: Extended hours by region.
      regions: {emea: emea-hours, apac: around-the-clock}
      default: around-the-clock

  support:"""
    path = tmp_path / "policy.yaml"
    path.write_text(BASE.replace("\n  support:", "\n" + second, 1), encoding="utf-8")
    code, output = _run("validate", str(path))
    assert code == 2
    assert ("$.spec.calendars[4].regions: regional calendars must name the same regions: "
            "this one lacks americas and adds apac compared with 'support-hours'") in output


def test_an_update_interval_longer_than_the_resolution_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BASE.replace("update: {target: 8h, clock: business",
                                 "update: {target: 48h, clock: business", 1), encoding="utf-8")
    code, output = _run("validate", str(path))
    assert code == 0, output
    assert ("$.spec.support[1].update.target: warning: an update every 48h is longer than "
            "the 40h resolution target on the same clock") in output
    code, _ = _run("validate", "--strict", str(path))
    assert code == 2


# Engine.due on the levels policy, worked out in tests/cases/support/levels.test.yaml:
# sev 2 opened Tue 2026-10-13 10:00 -04:00 (16:00 Berlin).
def test_due_picks_the_regions_calendar_and_gives_at_risk_instants() -> None:
    engine = Engine.load(LEVELS)
    emea = engine.due(2, "2026-10-13T10:00:00-04:00", region="emea").to_dict()
    # response: Tue 16-18 + Wed 08-10 Berlin = Wed 04:00 -04:00; at risk at 3h = Wed 03:00.
    # resolution 40h -> Mon 10-19 16:00 Berlin; at risk at 30h: Tue 2 + Wed 10 + Thu 10 +
    # Fri 08:00-16:00 Berlin = Fri 10-16 10:00 -04:00. No update given: update_due null.
    assert emea == {
        "severity": 2, "opened_at": "2026-10-13T10:00:00-04:00",
        "response_due": "2026-10-14T04:00:00-04:00",
        "resolution_due": "2026-10-19T10:00:00-04:00", "policy_version": "1.0.0",
        "region": "emea", "response_at_risk": "2026-10-14T03:00:00-04:00",
        "resolution_at_risk": "2026-10-16T10:00:00-04:00",
        "update_due": None, "update_at_risk": None,
    }
    default = engine.due(2, "2026-10-13T10:00:00-04:00").to_dict()
    # no region: americas-hours, 10:00 + 4h = 14:00, at risk 13:00
    assert default["response_due"] == "2026-10-13T14:00:00-04:00"
    assert default["response_at_risk"] == "2026-10-13T13:00:00-04:00"
    assert "region" not in default


def test_due_of_the_next_update_from_the_last_one() -> None:
    due = Engine.load(LEVELS).due(1, "2026-10-14T22:00:00-04:00",
                                  last_update_at="2026-10-15T00:15:00-04:00")
    # every 2 elapsed hours: 00:15 + 2h = 02:15, at risk at 75% = 01:45; resolution 8h ->
    # 06:00, at risk 2h before = 04:00; response 1h on the 24x7 calendar = 23:00, at 45 min
    assert (due.update_due, due.update_at_risk) == ("2026-10-15T02:15:00-04:00",
                                                   "2026-10-15T01:45:00-04:00")
    assert (due.response_at_risk, due.resolution_at_risk) == ("2026-10-14T22:45:00-04:00",
                                                             "2026-10-15T04:00:00-04:00")


def test_due_refuses_an_unknown_region() -> None:
    with pytest.raises(InputError, match="names no support region 'apac' "
                                         r"\(regions: americas, emea\)"):
        Engine.load(LEVELS).due(2, "2026-10-13T10:00:00-04:00", region="apac")
    with pytest.raises(InputError, match="regions: none: it has no regional calendars"):
        Engine.load(ROOT / "policies" / "spirion").due(1, "2026-10-13T10:00:00-04:00",
                                                       region="emea")


def test_due_cli_text_and_json() -> None:
    code, output = _run("due", "--policy", str(LEVELS), "--severity", "4",
                        "--opened-at", "2026-10-17T10:00:00-04:00", "--format", "json")
    assert code == 0, output
    # 24h on the 24x7 calendar over the weekend; at risk at 18h
    assert json.loads(output) == {
        "severity": 4, "opened_at": "2026-10-17T10:00:00-04:00",
        "response_due": "2026-10-18T10:00:00-04:00", "resolution_due": None,
        "policy_version": "1.0.0", "response_at_risk": "2026-10-18T04:00:00-04:00",
        "resolution_at_risk": None,
    }
    code, output = _run("due", "--policy", str(LEVELS), "--severity", "2", "--region", "emea",
                        "--opened-at", "2026-10-13T10:00:00-04:00")
    assert code == 0, output
    assert output.splitlines()[:3] == [
        "severity 2 opened 2026-10-13T10:00:00-04:00 in region emea (policy 1.0.0)",
        "  response due:   2026-10-14T04:00:00-04:00",
        "    at risk from: 2026-10-14T03:00:00-04:00",
    ]


def test_spirion_rows_keep_their_fields_and_the_new_ones_come_with_the_shapes(
        tmp_path: Path) -> None:
    """The rule: update_due/update_met only for a policy with an update target, at_risk only
    for one with an at-risk threshold; Spirion uses neither, so its rows are as before."""
    old_fields = ["id", "customer", "severity", "severity_source", "response_due",
                  "response_met", "resolution_due", "resolution_met", "policy_version"]
    report = Engine.load(ROOT / "policies" / "spirion").evaluate(
        ROOT / "examples" / "october-2026.yaml", as_of="2026-11-27T12:00:00-05:00").to_dict()
    assert report["tickets"]
    assert all(list(row) == old_fields for row in report["tickets"])
    facts = tmp_path / "facts.yaml"
    facts.write_text("""apiVersion: policyengine/v1
kind: FactSet
facts:
  - {type: subscription, customer: hooli, plan: production, deployment: saas,
     license: subscription, annual_fee: "1.00", currency: USD, term_start: "2026-01-01",
     term_end: "2026-12-31", renewed: true, support: active}
  - {type: ticket, id: Q-4, customer: hooli, severity: 4,
     opened_at: "2026-10-17T10:00:00-04:00"}
""", encoding="utf-8")
    rows = Engine.load(LEVELS).evaluate(facts, as_of="2026-10-18T09:00:00-04:00").to_dict()
    assert list(rows["tickets"][0]) == [*old_fields[:-1], "update_due", "update_met",
                                        "at_risk", "policy_version"]
    code, _ = _run("evaluate", "--policy", str(LEVELS), "--facts", str(facts),
                   "--as-of", "2026-10-18T09:00:00-04:00", "--fail-on", "at_risk")
    assert code == 1  # Q-4 is at risk (see the levels case "a fourth severity...")
    code, _ = _run("evaluate", "--policy", str(LEVELS), "--facts", str(facts),
                   "--as-of", "2026-10-17T11:00:00-04:00", "--fail-on", "at_risk")
    assert code == 0  # 1h of 24h: not yet


def test_updates_before_opening_are_refused(tmp_path: Path) -> None:
    facts = tmp_path / "facts.yaml"
    facts.write_text("""apiVersion: policyengine/v1
kind: FactSet
facts:
  - {type: subscription, customer: hooli, plan: production, deployment: saas,
     license: subscription, annual_fee: "1.00", currency: USD, term_start: "2026-01-01",
     term_end: "2026-12-31", renewed: true, support: active}
  - {type: ticket, id: T, customer: hooli, severity: 1,
     opened_at: "2026-10-17T10:00:00-04:00", updates: ["2026-10-17T09:00:00-04:00"]}
""", encoding="utf-8")
    code, output = _run("evaluate", "--policy", str(LEVELS), "--facts", str(facts),
                        "--as-of", "2026-10-18T09:00:00-04:00")
    assert code == 2
    assert "$.facts[1].updates: fact 'T': an update is before opened_at" in output


def test_updates_after_as_of_are_cut_alike_in_memory_and_streamed(tmp_path: Path) -> None:
    """A ticket's `updates` and a subscription's `support_region` are known fields: no
    unknown-field warning, also under --strict. An update after as-of is not known yet: the
    as-of warning counts it (`1 ticket update`), located at the ticket's `updates`, and the
    streamed report (workers, shards) gives the same bytes and the same warning.

    U-CUT (severity 1, updates every 2 elapsed hours): answered 22:30, updated 00:15 (in
    time: next due 02:15); the 02:00 update is after as-of 01:00, so update_due stays 02:15,
    not yet passed (update_met null). EMEA's E-1 (severity 2, 4 EMEA support hours): opened
    Wednesday 2026-10-14 10:00 EDT = 16:00 Berlin, 2 h that day, Thursday 08:00 + 2 h = 10:00
    Berlin = 04:00 EDT."""
    facts = tmp_path / "facts.yaml"
    facts.write_text("""apiVersion: policyengine/v1
kind: FactSet
facts:
  - {type: subscription, customer: globex, plan: production, deployment: saas,
     license: subscription, annual_fee: "1.00", currency: USD, term_start: "2026-01-01",
     term_end: "2026-12-31", renewed: true, support: active, support_region: emea}
  - {type: ticket, id: U-CUT, customer: globex, severity: 1,
     opened_at: "2026-10-14T22:00:00-04:00", first_response_at: "2026-10-14T22:30:00-04:00",
     updates: ["2026-10-15T00:15:00-04:00", "2026-10-15T02:00:00-04:00"]}
  - {type: ticket, id: E-1, customer: globex, severity: 2,
     opened_at: "2026-10-14T10:00:00-04:00"}
""", encoding="utf-8")
    as_of = "2026-10-15T01:00:00-04:00"
    engine = Engine.load(LEVELS, backend="python")
    evaluation = engine.evaluate([facts], as_of=as_of)
    (warning,) = evaluation.warnings
    assert warning.render() == (
        f"{facts}:7:5: $.facts[1].updates: warning: fact 'U-CUT': 1 fact(s) or part(s) of "
        f"facts dated after as-of {as_of} were not used (1 ticket update); this is the first "
        "of them")
    rows = {r.id: r for r in evaluation.tickets}
    assert (rows["U-CUT"].update_due, rows["U-CUT"].update_met) == (
        "2026-10-15T02:15:00-04:00", None)
    assert rows["E-1"].response_due == "2026-10-15T04:00:00-04:00"
    out = io.StringIO()
    summary = engine.write_json([facts], out, as_of=as_of, workers=2, shards=3)
    assert out.getvalue() == evaluation.to_json()
    assert [w.render() for w in summary.warnings] == [warning.render()]
    for fmt in ("json", "table"):  # streamed and in-memory paths
        code, output = _run("evaluate", "--policy", str(LEVELS), "--facts", str(facts),
                            "--as-of", as_of, "--strict", "--format", fmt,
                            "--output", str(tmp_path / f"report.{fmt}"))
        assert code == 0 and "unknown field" not in output, output


@pytest.mark.parametrize(("fact", "typo", "meant"), [
    ("subscription", "support_regoin", "support_region"),
    ("ticket", "update", "updates"),
], ids=["support_region", "updates"])
def test_a_misspelt_support_field_is_a_warning_with_did_you_mean(
        tmp_path: Path, fact: str, typo: str, meant: str) -> None:
    """As for every field of a standard fact (docs/hardening.md): a near miss is a located
    warning naming the field meant (the customer would get the default calendar, the ticket
    no updates), and an error under --strict."""
    sub = ('{type: subscription, customer: globex, plan: production, deployment: saas, '
           'license: subscription, annual_fee: "1.00", currency: USD, '
           'term_start: "2026-01-01", term_end: "2026-12-31", renewed: true, support: active'
           + (f", {typo}: emea" if fact == "subscription" else "") + "}")
    ticket = ('{type: ticket, id: T-1, customer: globex, severity: 2, '
              'opened_at: "2026-10-14T10:00:00-04:00"'
              + (f', {typo}: ["2026-10-14T11:00:00-04:00"]' if fact == "ticket" else "") + "}")
    facts = tmp_path / "facts.yaml"
    facts.write_text(f"apiVersion: policyengine/v1\nkind: FactSet\nfacts:\n  - {sub}\n"
                     f"  - {ticket}\n", encoding="utf-8")
    index = 0 if fact == "subscription" else 1
    subject = "globex" if fact == "subscription" else "T-1"
    expected = (f"{facts}:{4 + index}:5: $.facts[{index}].{typo}: warning: fact '{subject}': "
                f"unknown field {typo!r} on a {fact}; the standard evaluation does not read "
                f"it (did you mean {meant!r}?)")
    code, output = _run("validate", str(facts))
    assert code == 0 and expected in output, output
    code, output = _run("validate", "--strict", str(facts))
    assert code == 2 and expected.replace("warning: ", "") in output, output


NO_UPDATE = "  update due:     no target (severity {} has no periodic update target)"


@pytest.mark.parametrize(("policy", "args", "expected"), [
    # Spirion has no update target: a --last-update-at places nothing (never "from the
    # first response"); response Mon 13:00 after a Friday 19:00 opening, resolution 24 h
    pytest.param(ROOT / "policies" / "spirion", ["1", "--last-update-at",
                                                 "2026-10-17T10:00:00-04:00"], [
        "severity 1 opened 2026-10-16T19:00:00-04:00 (policy 1.0.0)",
        "  response due:   2026-10-19T13:00:00-04:00",
        NO_UPDATE.format(1),
        "  resolution due: 2026-10-17T19:00:00-04:00"], id="spirion-no-update-target"),
    # severity 1: 1 h around the clock (at risk at 75 %: 45 min); an update target of 2 h,
    # nothing to count it from yet; 8 h elapsed, at risk 2 h before (its own at_risk)
    pytest.param(LEVELS, ["1"], [
        "severity 1 opened 2026-10-16T19:00:00-04:00 (policy 1.0.0)",
        "  response due:   2026-10-16T20:00:00-04:00",
        "    at risk from: 2026-10-16T19:45:00-04:00",
        "  update due:     counted from the first response or latest update "
        "(give --last-update-at)",
        "  resolution due: 2026-10-17T03:00:00-04:00",
        "    at risk from: 2026-10-17T01:00:00-04:00"], id="update-target-no-last-update"),
    # last update 10:00: 2 h elapsed -> 12:00, at risk at 75 % (1 h 30 min) -> 11:30
    pytest.param(LEVELS, ["1", "--last-update-at", "2026-10-17T10:00:00-04:00"], [
        "severity 1 opened 2026-10-16T19:00:00-04:00 (policy 1.0.0)",
        "  response due:   2026-10-16T20:00:00-04:00",
        "    at risk from: 2026-10-16T19:45:00-04:00",
        "  update due:     2026-10-17T12:00:00-04:00",
        "    at risk from: 2026-10-17T11:30:00-04:00",
        "  resolution due: 2026-10-17T03:00:00-04:00",
        "    at risk from: 2026-10-17T01:00:00-04:00"], id="update-target-and-last-update"),
    # severity 3, EMEA: 8 support hours from Mon 08:00 Berlin = 16:00 CEST = 10:00 EDT (at
    # risk after 6 h: 08:00 EDT); no update and no resolution target: said once each, no
    # at-risk line under a target that does not exist
    pytest.param(LEVELS, ["3", "--region", "emea", "--last-update-at",
                          "2026-10-17T10:00:00-04:00"], [
        "severity 3 opened 2026-10-16T19:00:00-04:00 in region emea (policy 1.0.0)",
        "  response due:   2026-10-19T10:00:00-04:00",
        "    at risk from: 2026-10-19T08:00:00-04:00",
        NO_UPDATE.format(3),
        "  resolution due: no target"], id="no-update-no-resolution-target"),
])
def test_due_text_says_when_a_target_is_absent(policy: Path, args: list[str],
                                               expected: list[str]) -> None:
    severity, *rest = args
    code, output = _run("due", "--policy", str(policy), "--severity", severity,
                        "--opened-at", "2026-10-16T19:00:00-04:00", *rest)
    assert code == 0, output
    assert output.splitlines() == expected
