"""Policy test files and ``policyengine test``: discovery, matching, reports, exit codes."""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from policyengine.cli.main import main
from policyengine.tools.policytest import (
    check_test_file,
    discover,
    load_test_file,
    render_run,
    run_tests,
    values_equal,
)

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
SPIRION = POLICIES / "spirion"

ACME = ('{type: subscription, customer: acme, plan: production, deployment: saas, '
        'license: subscription, annual_fee: "1000.00", currency: USD, '
        'term_start: "2026-01-01", term_end: "2026-12-31", renewed: true, support: active}')
OUTAGE = ('{type: downtime, id: d-1, start: "2026-10-05T10:00:00-04:00", '
          'end: "2026-10-05T17:26:24-04:00", cause: vendor, maintenance: none}')


def write_test(directory: Path, body: str, name: str = "mini.test.yaml",
               policy: str | None = None) -> Path:
    """A test file with the acme subscription shared by every case."""
    head = "apiVersion: policyengine/v1\nkind: PolicyTest\n"
    if policy is not None:
        head += f"policy: {policy}\n"
    head += f'as_of: "2026-11-27T12:00:00-05:00"\nfacts:\n  - {ACME}\n'
    path = directory / name
    path.write_text(head + body, encoding="utf-8")
    return path


@pytest.fixture()
def spirion_copy(tmp_path: Path) -> Path:
    """A copy of the shipped policy directory (policy and its test file)."""
    target = tmp_path / "policies" / "spirion"
    shutil.copytree(SPIRION, target)
    return target


# -- the shipped policy ---------------------------------------------------------------------------
def test_shipped_policy_tests_pass(backend: str) -> None:
    run = run_tests([POLICIES], backend=backend)
    failing = [r for r in run.results if r.status != "pass"]
    assert not failing, render_run(run)
    assert run.exit_code == 0
    assert len(run.results) >= 25


def test_shipped_test_file_names_every_clause() -> None:
    from policyengine.api import load_policies

    text = (SPIRION / "spirion.test.yaml").read_text(encoding="utf-8")
    (policy,) = load_policies(SPIRION)
    missing = [c.id for c in policy.clauses if c.id not in text]
    assert missing == []


def test_cli_test_passes_on_the_shipped_policy() -> None:
    result = CliRunner().invoke(main, ["test", str(POLICIES)])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
    assert "PASS  " in result.output and "FAIL" not in result.output


def test_changed_term_fails_with_side_by_side_rows(spirion_copy: Path) -> None:
    policy = spirion_copy / "1.0.0.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace(
        "target_percent: 99.0", "target_percent: 99.5"), encoding="utf-8")
    result = CliRunner().invoke(main, ["test", str(spirion_copy.parent)])
    assert result.exit_code == 1
    out = result.output
    assert "FAIL  " in out and "exactly 1% counted downtime" in out
    assert "availability: no row matches; expected beside the closest 1 of 1 actual rows" in out
    lines = out.splitlines()
    header = next(line for line in lines if "| expected" in line and "customer" not in line
                  and "field" in line and "acme 2026-10" in line)
    assert header.split("|")[1].strip() == "expected"
    assert header.split("|")[2].strip() == "actual (acme 2026-10)"
    target = next(line for line in lines if "target_percent" in line)
    assert target.lstrip().startswith("! target_percent")
    assert [cell.strip() for cell in target.split("|")[1:]] == ["99.0", "✗ 99.5"]
    same = next(line for line in lines if " minutes_in_month " in line)
    assert not same.lstrip().startswith("!")
    # and the near-miss case: under 99.5 the 98.99996% month is shown half-even (99), as
    # only a percentage that would read as its own target is floored
    assert "one second over 1% misses" in out
    assert "2 failed" in out


def test_junit_report(spirion_copy: Path, tmp_path: Path) -> None:
    policy = spirion_copy / "1.0.0.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace(
        "excluded_up_to: 6h", "excluded_up_to: 5h"), encoding="utf-8")
    report = tmp_path / "junit.xml"
    result = CliRunner().invoke(main, ["test", str(spirion_copy), "--format", "junit",
                                       "--output", str(report)])
    assert result.exit_code == 1
    root = ET.fromstring(report.read_text(encoding="utf-8"))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name", "").endswith("spirion.test.yaml")
    assert int(suite.get("tests", "0")) >= 25 and suite.get("failures") == "1"
    failed = [case for case in suite.findall("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == [
        "scheduled maintenance with 48h notice is excluded, for its first 6 hours only"]
    failure = failed[0].find("failure")
    assert failure is not None and "✗ 180" in (failure.text or "")


def test_junit_to_stdout_is_xml() -> None:
    result = CliRunner().invoke(main, ["test", str(POLICIES), "--format", "junit"])
    assert result.exit_code == 0
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(result.stdout.split("\n", 1)[1])
    assert "passed, 0 failed, 0 errors" in result.stderr
    assert root.get("failures") == "0" and root.get("errors") == "0"


# -- matching -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("expected", "actual", "equal"), [
    (True, True, True),
    (True, 1, False),
    (1, True, False),
    (None, None, True),
    (None, False, False),
    (Decimal("99.0"), 99, True),
    (Decimal("83.33"), "83.33", True),
    ("83.3", "83.33", False),
    ("2026-10-19T17:00:00Z", "2026-10-19T13:00:00-04:00", True),
    ("2026-10-19T17:00:01Z", "2026-10-19T13:00:00-04:00", False),
    ("2026-10", "2026-10", True),
    (["a", "b"], ["a", "b"], True),
    (["a"], ["a", "b"], False),
])
def test_values_equal(expected: object, actual: object, equal: bool) -> None:
    assert values_equal(expected, actual) is equal


def test_expect_absent_and_facts_file(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "outage.yaml").write_text(
        f"apiVersion: policyengine/v1\nkind: FactSet\nfacts:\n  - {OUTAGE}\n", encoding="utf-8")
    shutil.copy(SPIRION / "1.0.0.yaml", tmp_path / "1.0.0.yaml")
    path = write_test(tmp_path, """cases:
  - name: from a fact file
    facts_file: tests/outage.yaml
    expect:
      availability: [{customer: acme, month: "2026-10", met: true}]
    expect_absent:
      credits: [{customer: acme}]
  - name: absent row present
    facts_file: [tests/outage.yaml]
    expect_absent:
      availability: [{customer: acme, met: true}]
""")
    run = run_tests([path])
    assert [r.status for r in run.results] == ["pass", "fail"]
    assert run.exit_code == 1
    text = render_run(run)
    assert "availability: expected no row like this, but 1 match" in text
    assert f"FAIL  {path}:13: absent row present" in text


def test_default_policy_is_the_directory_of_the_test_file(tmp_path: Path) -> None:
    shutil.copy(SPIRION / "1.0.0.yaml", tmp_path / "1.0.0.yaml")
    path = write_test(tmp_path, f"""cases:
  - name: boundary
    facts: [{OUTAGE}]
    expect:
      availability: [{{customer: acme, availability_percent: 99.0, met: true}}]
""")
    assert load_test_file(path).policy == tmp_path
    assert run_tests([tmp_path]).exit_code == 0


def test_policy_path_relative_to_the_test_file(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # a repository: paths may lead anywhere inside it
    shutil.copytree(SPIRION, tmp_path / "policies" / "spirion")
    (tmp_path / "suite").mkdir()
    body = f"""cases:
  - name: boundary
    facts: [{OUTAGE}]
    months: "2026-10..2026-11"
    expect:
      availability:
        - {{customer: acme, month: "2026-10", met: true}}
        - {{customer: acme, month: "2026-11", minutes_in_month: 43260, met: null,
            provisional: true}}
"""
    path = write_test(tmp_path / "suite", body, policy="../policies/spirion")
    assert check_test_file(path) == []
    assert run_tests([path]).exit_code == 0
    wrong = write_test(tmp_path / "suite", body, name="wrong.test.yaml", policy="../nowhere")
    (problem,) = check_test_file(wrong)
    assert (problem.line, problem.path) == (3, "$.policy")
    assert problem.message.startswith("no such policy file or directory: '../nowhere'")


# -- structure problems, errors, discovery --------------------------------------------------------
def test_check_test_file_reports_located_problems(tmp_path: Path) -> None:
    path = write_test(tmp_path, """polcy: x
cases:
  - name: one
    facts:
      - {type: ticket, id: T-1, customer: nobody, opened_at: "2026-10-01T10:00:00Z"}
    expect:
      availabilty: [{customer: acme}]
      credits: [{custmer: acme}]
  - name: one
    as_of: "2026-10-01T00:00:00"
    expect_absent: {tickets: [{}]}
""")
    problems = check_test_file(path)
    found = {(p.line, p.path, p.message) for p in problems}
    assert (6, "$.polcy", "unknown test file key 'polcy'") in found
    assert (10, "$.cases[0].facts[0].customer",
            "customer 'nobody' has no subscription in the facts") in found
    assert (12, "$.cases[0].expect.availabilty", "unknown result section 'availabilty'") in found
    assert (13, "$.cases[0].expect.credits[0].custmer",
            "credits rows have no field 'custmer'") in found
    assert (14, "$.cases[1].name", "duplicate case name 'one' (first at line 8)") in found
    assert any(p.line == 15 and "has no offset" in p.message for p in problems)
    assert any(p.path == "$.cases[1].expect_absent.tickets[0]" for p in problems)
    hints = {p.path: p.hint for p in problems}
    assert hints["$.polcy"] == "did you mean 'policy'?"
    assert hints["$.cases[0].expect.credits[0].custmer"] == "did you mean 'customer'?"


def test_validate_command_checks_test_files(tmp_path: Path) -> None:
    bad = write_test(tmp_path, "cases: []\n")
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:" in result.output and "cases must be a non-empty list" in result.output
    result = CliRunner().invoke(main, ["validate", str(SPIRION / "spirion.test.yaml")])
    assert result.exit_code == 0, result.output


def test_unreadable_test_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.test.yaml"
    path.write_text("apiVersion: policyengine/v1\nkind: PolicyTest\ncases: [\n",
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert result.exit_code == 2
    assert "broken.test.yaml:" in result.output


def test_case_that_cannot_be_evaluated_is_an_error(tmp_path: Path) -> None:
    text = (SPIRION / "1.0.0.yaml").read_text(encoding="utf-8")
    (tmp_path / "1.0.0.yaml").write_text(text.replace('from: "2020-01-01"',
                                                      'from: "2026-01-01"'), encoding="utf-8")
    write_test(tmp_path, """cases:
  - name: before the policy existed
    facts:
      - {type: downtime, id: old, start: "2025-06-01T10:00:00-04:00",
         end: "2025-06-01T11:00:00-04:00", cause: vendor, maintenance: none}
    expect:
      availability: [{customer: acme}]
""")
    run = run_tests([tmp_path])
    assert [r.status for r in run.results] == ["error"]
    assert run.exit_code == 2
    assert "no policy version is in force on 2025-06-01" in render_run(run)
    junit = ET.fromstring(render_run(run, "junit").split("\n", 1)[1])
    assert junit.get("errors") == "1"
    result = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert result.exit_code == 2
    assert "ERROR " in result.output


def test_discovery(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.test.yaml").write_text("", encoding="utf-8")
    (tmp_path / "a" / "y.yaml").write_text("", encoding="utf-8")
    (tmp_path / "b.test.yaml").write_text("", encoding="utf-8")
    assert discover([tmp_path]) == [tmp_path / "a" / "x.test.yaml", tmp_path / "b.test.yaml"]
    assert discover([tmp_path / "a" / "y.yaml"]) == [tmp_path / "a" / "y.yaml"]
    (tmp_path / "empty").mkdir()
    assert discover([tmp_path / "empty"]) == []
    # a repository without policy tests yet (the pre-commit hook's first run) is not a failure
    result = CliRunner().invoke(main, ["test", str(tmp_path / "empty")])
    assert result.exit_code == 0
    assert result.stdout == "\n0 passed, 0 failed (0 cases in 0 files)\n"
    # said on stderr (attack16 F21: a CI job whose tests were renamed went green silently)
    assert result.stderr == (f"policyengine: no policy tests found in {tmp_path / 'empty'} "
                             "(files named *.test.yaml or *.test.yml); nothing to run\n")
    result = CliRunner().invoke(main, ["test", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such file or directory" in result.output


def test_default_path_is_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    found = discover()
    assert Path("policies/spirion/spirion.test.yaml") in found
    assert Path("policies/examples/forge-quarterly/forge-quarterly.test.yaml") in found
    assert Path("policies/examples/days-of-service/days-of-service.test.yaml") in found
    assert Path("policies/examples/tiered-percent/tiered-percent.test.yaml") in found
    assert all(path.parts[0] == "policies" for path in found)


# -- the documentation's examples -----------------------------------------------------------------
def _yaml_blocks(name: str) -> list[str]:
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


def test_policy_ci_examples(tmp_path: Path) -> None:
    test_file, more, workflow, diff_step, precommit = _yaml_blocks("policy-ci.md")
    shutil.copy(SPIRION / "1.0.0.yaml", tmp_path / "1.0.0.yaml")
    (tmp_path / "doc.test.yaml").write_text(test_file, encoding="utf-8")
    (tmp_path / "more.test.yaml").write_text(more, encoding="utf-8")
    assert check_test_file(tmp_path / "more.test.yaml") == []
    run = run_tests([tmp_path])
    assert [r.status for r in run.results] == ["pass"] * 3, render_run(run)
    steps = yaml.safe_load(workflow)["jobs"]["policy"]["steps"]
    commands = [step.get("run") for step in steps]
    assert "policyengine validate --strict --format github policies/" in commands
    assert any(c and c.startswith("policyengine test policies/ --format junit") for c in commands)
    assert yaml.safe_load(diff_step)[0]["run"].startswith("policyengine diff ")
    hooks = yaml.safe_load(precommit)["repos"][0]["hooks"]
    assert [h["id"] for h in hooks] == ["policyengine-validate", "policyengine-test"]


def test_versions_worked_example(tmp_path: Path) -> None:
    from policyengine.validation.facts import load_facts

    facts, test_file = _yaml_blocks("versions.md")
    (tmp_path / "oct-nov.yaml").write_text(facts, encoding="utf-8")
    assert len(load_facts([tmp_path / "oct-nov.yaml"]).downtimes) == 5
    directory = tmp_path / "spirion"
    directory.mkdir()
    text = (SPIRION / "1.0.0.yaml").read_text(encoding="utf-8")
    (directory / "1.0.0.yaml").write_text(
        text.replace("    until: null", '    until: "2026-11-01"'), encoding="utf-8")
    (directory / "1.1.0.yaml").write_text(
        text.replace('version: "1.0.0"', 'version: "1.1.0"')
        .replace('from: "2020-01-01"', 'from: "2026-11-01"')
        .replace("target_percent: 99.0", "target_percent: 99.5"), encoding="utf-8")
    (directory / "versions.test.yaml").write_text(test_file, encoding="utf-8")
    run = run_tests([directory])
    assert run.exit_code == 0, render_run(run)


def test_pre_commit_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load(
        (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    validate, test = hooks["policyengine-validate"], hooks["policyengine-test"]
    assert validate["entry"] == "policyengine validate --skip-unknown --strict"
    assert re.search(validate["files"], "policies/spirion/1.0.0.yaml")
    assert re.search(validate["files"], "rules/x.json")
    assert not re.search(validate["files"], "README.md")
    assert test["entry"] == "policyengine test" and test["pass_filenames"] is False


# -- the format the evaluation cases use: edits, counts, refused input, x- keys -------------------
def test_policy_edits_expect_counts_and_x_keys(tmp_path: Path) -> None:
    shutil.copy(SPIRION / "1.0.0.yaml", tmp_path / "1.0.0.yaml")
    path = write_test(tmp_path, f"""x-facts:
  outage: &outage {OUTAGE}
cases:
  - name: 446.4 counted minutes miss 99.5, for a credit of 1000.00 / 12 = 83.33
    facts: [*outage]
    policy_edits:
      availability-commitment.target_percent: 99.5
    expect:
      availability: [{{customer: acme, target_percent: 99.5, met: false}}]
      credits: [{{customer: acme, amount: "83.33"}}]
    expect_counts: {{credits: 1}}
  - name: and meet the unedited 99.0
    facts: [*outage]
    expect:
      availability: [{{customer: acme, availability_percent: 99.0, met: true}}]
    expect_counts: {{credits: 0, availability: 1}}
  - name: a count that is wrong
    facts: [*outage]
    expect_counts: {{credits: 2}}
""")
    assert check_test_file(path) == []
    run = run_tests([path], backend="python")
    # the second case passes: the edit was the first case's own
    assert [r.status for r in run.results] == ["pass", "pass", "fail"]
    assert "credits: expected 2 rows, found 0" in render_run(run)


def test_apply_policy_edits_copies() -> None:
    from policyengine.load.loader import load_document
    from policyengine.tools.policytest import apply_policy_edits

    data = load_document(SPIRION / "1.0.0.yaml").data
    edited = apply_policy_edits(data, {"scheduled-downtime.notice.lead": "24h",
                                       "severity-2.response.pause_on": ["waiting_on_customer"],
                                       "no-such-clause.x": 1,
                                       "metadata.version": "9.9.9"})
    clauses = {c["id"]: c for s in edited["spec"].values() if isinstance(s, list) for c in s}
    assert clauses["scheduled-downtime"]["notice"]["lead"] == "24h"
    assert clauses["severity-2"]["response"]["pause_on"] == ["waiting_on_customer"]
    assert edited["metadata"]["version"] == "9.9.9"
    assert data["metadata"]["version"] == "1.0.0"
    with pytest.raises(KeyError) as missing:
        apply_policy_edits(data, {"scheduled-downtime.notic.lead": "24h"})
    assert missing.value.args[:2] == ("scheduled-downtime.notic.lead", "notic")


def test_bad_policy_edits_are_located_problems(tmp_path: Path) -> None:
    shutil.copy(SPIRION / "1.0.0.yaml", tmp_path / "1.0.0.yaml")
    path = write_test(tmp_path, f"""cases:
  - name: misspelled clause
    facts: [{OUTAGE}]
    policy_edits: {{availabilty-commitment.target_percent: 99.5}}
    expect_counts: {{credits: 0}}
  - name: misspelled term on the way
    facts: [{OUTAGE}]
    policy_edits: {{scheduled-downtime.notic.lead: 24h}}
    expect_counts: {{credits: 0}}
  - name: a value the schema refuses
    facts: [{OUTAGE}]
    policy_edits: {{availability-commitment.target_percent: abc}}
    expect_counts: {{credits: 0}}
  - name: a term the schema does not know
    facts: [{OUTAGE}]
    policy_edits: {{scheduled-downtime.notice.lede: 24h}}
    expect_counts: {{credits: 0, credit: 0, tickets: -1}}
""")
    found = {(p.line, p.path, p.message, p.hint) for p in check_test_file(path)}
    assert found == {
        (9, "$.cases[0].policy_edits['availabilty-commitment.target_percent']",
         "policy edit 'availabilty-commitment.target_percent': no clause "
         "'availabilty-commitment' in the policy", "did you mean 'availability-commitment'?"),
        (13, "$.cases[1].policy_edits['scheduled-downtime.notic.lead']",
         "policy edit 'scheduled-downtime.notic.lead': clause 'scheduled-downtime' of "
         "spirion 1.0.0 has no 'notic'", "did you mean 'notice'?"),
        (17, "$.cases[2].policy_edits['availability-commitment.target_percent']",
         "the edited policy is not valid: $.spec.availability[0].target_percent: expected a "
         "number, got text 'abc'", ""),
        (21, "$.cases[3].policy_edits['scheduled-downtime.notice.lede']",
         "the edited policy is not valid: $.spec.exclusions[0].notice.lede: unknown field "
         "'lede'", "did you mean 'lead'?"),
        (22, "$.cases[3].expect_counts.credit", "unknown result section 'credit'",
         "did you mean 'credits'?"),
        (22, "$.cases[3].expect_counts.tickets",
         "the count of tickets rows must be a whole number, 0 or more", ""),
    }
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 2


def test_expected_errors(tmp_path: Path) -> None:
    shutil.copy(SPIRION / "1.0.0.yaml", tmp_path / "1.0.0.yaml")
    path = write_test(tmp_path, """cases:
  - name: refused, as expected
    facts:
      - {type: downtime, id: d-1, start: "2026-10-05T12:00:00-04:00",
         end: "2026-10-05T11:00:00-04:00", cause: vendor, maintenance: none}
    expect:
      errors:
        - {line: 9, column: 9, path: "$.cases[0].facts[0].end", subject: d-1,
           message: "end is before start"}
    expect_counts: {errors: 1}
  - name: a naive as_of is refused at run time when the case expects it
    as_of: "2026-11-27T12:00:00"
    expect:
      errors:
        - message: "as_of '2026-11-27T12:00:00' has no offset: a timestamp without a UTC
            offset is refused; write e.g. 2026-11-27T12:00:00Z or 2026-11-27T12:00:00-05:00"
  - name: accepted, but an error was expected
    expect:
      errors: [{message: "end is before start"}]
  - name: refused with another message
    facts:
      - {type: downtime, id: d-1, start: "2026-10-05T12:00:00-04:00",
         end: "2026-10-05T11:00:00-04:00", cause: vendor, maintenance: none}
    expect:
      errors: [{message: "end is before the start"}]
""")
    assert check_test_file(path) == []
    run = run_tests([path], backend="durable")
    assert [r.status for r in run.results] == ["pass", "pass", "fail", "fail"]
    assert run.exit_code == 1
    text = render_run(run)
    assert "errors: expected a row like this, but there are no errors rows" in text
    message = next(line for line in text.splitlines() if line.lstrip().startswith("! message"))
    assert [c.strip() for c in message.split("|")[1:]] == ["end is before the start",
                                                            "✗ end is before start"]


def test_refused_facts_without_expected_errors_are_still_an_error(tmp_path: Path) -> None:
    shutil.copy(SPIRION / "1.0.0.yaml", tmp_path / "1.0.0.yaml")
    path = write_test(tmp_path, """cases:
  - name: refused
    facts:
      - {type: downtime, id: d-1, start: "2026-10-05T12:00:00-04:00",
         end: "2026-10-05T11:00:00-04:00", cause: vendor, maintenance: none}
    expect_counts: {errors: 0}
""")
    (problem,) = check_test_file(path)
    assert (problem.line, problem.message) == (9, "end is before start")


@pytest.mark.parametrize(("kind", "message"), [
    ("fifo", "facts_file 'ff.yaml' is a FIFO, not a fact file"),
    ("directory", "facts_file 'ff.yaml' is a directory, not a fact file"),
    ("missing", "no such fact file: 'ff.yaml' (relative to the test file)"),
], ids=["a-fifo", "a-directory", "missing"])
def test_a_facts_file_that_is_no_file_says_what_it_is(tmp_path: Path, kind: str,
                                                      message: str) -> None:
    """attack16 F5: a FIFO or a directory was "no such fact file", followed by "case 'c' has
    no facts" although facts_file is given. One line, saying what it is; never opened (a
    FIFO would block)."""
    shutil.copy(SPIRION / "1.0.0.yaml", tmp_path / "1.0.0.yaml")
    if kind == "fifo":
        os.mkfifo(tmp_path / "ff.yaml")
    elif kind == "directory":
        (tmp_path / "ff.yaml").mkdir()
    path = tmp_path / "c.test.yaml"
    path.write_text("apiVersion: policyengine/v1\nkind: PolicyTest\n"
                    'as_of: "2026-11-27T12:00:00-05:00"\ncases:\n  - name: c\n'
                    "    facts_file: ff.yaml\n    expect: {credits: []}\n", encoding="utf-8")
    problems = check_test_file(path)
    assert [p.render() for p in problems] == [
        f"{path}:6:17: $.cases[0].facts_file: {message}"]  # at the value


def test_test_yml_files_are_read_and_near_misses_are_located_warnings(tmp_path: Path) -> None:
    """attack16 F21: spirion.test.yml was ignored (exit 0, nothing run). Now *.test.yml is
    a test file; names almost like one are named in a warning (still exit 0 when nothing
    else is wrong: a warning changes no exit code)."""
    shutil.copytree(SPIRION, tmp_path / "pol")
    (tmp_path / "pol" / "spirion.test.yaml").rename(tmp_path / "pol" / "spirion.test.yml")
    for near in ("a.tests.yaml", "b_test.yaml", "c-tests.yml", "d.Test.yaml"):
        (tmp_path / "pol" / near).write_text("cases: []\n", encoding="utf-8")
    assert discover([tmp_path]) == [tmp_path / "pol" / "spirion.test.yml"]
    result = CliRunner().invoke(main, ["test", str(tmp_path / "pol")])
    assert result.exit_code == 0, result.output
    assert re.search(r"\n\d+ passed, 0 failed \(\d+ cases in 1 file\)\n$", result.stdout)
    pol = tmp_path / "pol"
    assert result.stderr.splitlines() == [
        f"{pol}/a.tests.yaml:0:0: $: warning: not read as a policy test: test files are "
        "named *.test.yaml or *.test.yml (rename it to a.test.yaml)",
        f"{pol}/b_test.yaml:0:0: $: warning: not read as a policy test: test files are "
        "named *.test.yaml or *.test.yml (rename it to b.test.yaml)",
        f"{pol}/c-tests.yml:0:0: $: warning: not read as a policy test: test files are "
        "named *.test.yaml or *.test.yml (rename it to c.test.yaml)",
        f"{pol}/d.Test.yaml:0:0: $: warning: not read as a policy test: test files are "
        "named *.test.yaml or *.test.yml (rename it to d.test.yaml)"]
