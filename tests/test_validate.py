"""`policyengine validate`: broken copies of the shipped policy, each with its exact message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli.main import main

from .conftest import ROOT, SHIPPED

BASE = SHIPPED.read_text(encoding="utf-8")


def _variant(tmp_path: Path, name: str, old: str, new: str, count: int = 1) -> Path:
    assert old in BASE, old
    path = tmp_path / f"{name}.yaml"
    path.write_text(BASE.replace(old, new, count), encoding="utf-8")
    return path


def _validate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_shipped_policies_are_valid() -> None:
    code, output = _validate(str(ROOT / "policies"))
    assert code == 0, output


def test_rule_packs_and_example_facts_are_valid() -> None:
    code, output = _validate(str(ROOT / "rules"), str(ROOT / "examples"))
    assert code == 0, output


BROKEN = [
    pytest.param("syntax", "  timezone: America/New_York\n\n  calendars:",
                 "  timezone: [America/New_York\n\n  calendars:",
                 ":21:12: $: did not find expected ',' or ']'", id="yaml-syntax-error"),
    pytest.param("unknown-key", "metadata:\n", "metdata: {}\nmetadata:\n",
                 ":8:1: $.metdata: unknown field 'metdata' (did you mean 'metadata'?)",
                 id="unknown-top-level-key"),
    pytest.param("duplicate-key",
                 "  title: Spirion customer services and service level addendum\n",
                 "  title: A\n  title: B\n",
                 ":12:3: $.metadata.title: duplicate key 'title' (first at line 11)",
                 id="duplicated-key"),
    pytest.param("target", "target_percent: 99.0", "target_percent: 199",
                 ":52:23: $.spec.availability[0].target_percent: '199' is above the maximum "
                 "of 100", id="availability-target-199"),
    pytest.param("zero-duration", "excluded_up_to: 6h", "excluded_up_to: 0h",
                 ":68:23: $.spec.exclusions[0].excluded_up_to: duration '0h' must be greater "
                 "than zero", id="zero-duration"),
    pytest.param("negative-duration", "excluded_up_to: 6h", "excluded_up_to: -6h",
                 ":68:23: $.spec.exclusions[0].excluded_up_to: expected a duration like 48h, "
                 "7d or 30m, or whole_window (all of the window, however long), got '-6h'",
                 id="negative-duration"),
    pytest.param("duplicate-clause", "- id: severity-2", "- id: severity-1",
                 ":138:11: $.spec.support[1].id: duplicate clause id 'severity-1' (first at "
                 "line 121)", id="duplicate-clause-id"),
    pytest.param("undefined-calendar", "response: {target: 4h, clock: business, "
                 "calendar: support-hours}\n      resolution: {target: 24h",
                 "response: {target: 4h, clock: business, calendar: office}\n"
                 "      resolution: {target: 24h",
                 ":136:57: $.spec.support[0].response.calendar: undefined calendar 'office' "
                 "(calendars: support-hours)", id="undefined-calendar"),
    pytest.param("rounding", "rounding: half_up", "rounding: half_sideways",
                 "$.spec.credits[0].rounding: unknown rounding rule 'half_sideways'; "
                 "expected one of: half_up, half_even",
                 id="rounding-mode-that-does-not-exist"),
    pytest.param("timezone", "  timezone: America/New_York\n\n  calendars:",
                 "  timezone: America/Gotham\n\n  calendars:",
                 "$.spec.timezone: unknown time zone 'America/Gotham'", id="unknown-timezone"),
    pytest.param("severity-twice", "      level: 2\n", "      level: 1\n",
                 "$.spec.support[1].level: severity level 1 is defined twice",
                 id="severity-level-twice"),
    pytest.param("implicit-bool-version", 'version: "1.0.0"', "version: 1.10",
                 "$.metadata.version", id="unquoted-version-is-not-silently-a-number"),
    pytest.param("country", "country: US", "country: XX",
                 "$.spec.calendars[0].holidays.country: no holiday calendar for country 'XX'",
                 id="unknown-holiday-country"),
    pytest.param("unknown-clause-kind", "kind: excused_cause", "kind: excused_causes",
                 "$.spec.exclusions[2].kind: unknown clause kind 'excused_causes'",
                 id="unknown-clause-kind"),
]


@pytest.mark.parametrize(("name", "old", "new", "expected"), BROKEN)
def test_broken_copies_exit_2_with_a_located_message(
    tmp_path: Path, name: str, old: str, new: str, expected: str
) -> None:
    path = _variant(tmp_path, name, old, new)
    code, output = _validate(str(path))
    assert code == 2
    assert expected in output, output
    for line in output.strip().splitlines():
        assert line.startswith(f"{path}:"), line


def test_all_problems_are_reported_not_just_the_first(tmp_path: Path) -> None:
    text = BASE.replace("target_percent: 99.0", "target_percent: 199").replace(
        "excluded_up_to: 4h", "excluded_up_to: 0h").replace("- id: severity-3", "- id: severity-2")
    path = tmp_path / "many.yaml"
    path.write_text(text, encoding="utf-8")
    code, output = _validate(str(path))
    assert code == 2
    assert "above the maximum of 100" in output
    # semantic checks run once the schema passes: fix the schema error and look again
    path.write_text(text.replace("target_percent: 199", "target_percent: 99.0"))
    code, output = _validate(str(path))
    # (the emergency summary's "four hours" no longer matches 0h: a warning, not an error)
    lines = [line for line in output.strip().splitlines() if "warning:" not in line]
    assert code == 2
    assert len(lines) == 2, output
    assert "must be greater than zero" in lines[0]
    assert "duplicate clause id 'severity-2'" in lines[1]


def _version(tmp_path: Path, version: str, start: str, until: str | None) -> None:
    text = BASE.replace('version: "1.0.0"', f'version: "{version}"').replace(
        'from: "2020-01-01"\n    until: null',
        f'from: "{start}"\n    until: {json.dumps(until)}')
    (tmp_path / f"{version}.yaml").write_text(text, encoding="utf-8")


def test_versions_that_overlap_are_refused(tmp_path: Path) -> None:
    _version(tmp_path, "1.0.0", "2020-01-01", None)
    _version(tmp_path, "1.1.0", "2026-11-01", None)
    code, output = _validate(str(tmp_path))
    assert code == 2
    assert ("1.1.0.yaml:16:11: $.metadata.effective.from: version 1.1.0 starts 2026-11-01 "
            "while version 1.0.0 is still in force (until open-ended)") in output


def test_versions_with_a_gap_are_refused(tmp_path: Path) -> None:
    _version(tmp_path, "1.0.0", "2020-01-01", "2026-10-01")
    _version(tmp_path, "1.1.0", "2026-11-01", None)
    code, output = _validate(str(tmp_path))
    assert code == 2
    assert ("$.metadata.effective.from: gap: version 1.0.0 ends 2026-10-01 but version "
            "1.1.0 starts 2026-11-01") in output


def test_consecutive_versions_are_valid(tmp_path: Path) -> None:
    _version(tmp_path, "1.0.0", "2020-01-01", "2026-11-01")
    _version(tmp_path, "1.1.0", "2026-11-01", None)
    code, output = _validate(str(tmp_path))
    assert code == 0, output


def test_github_and_json_formats(tmp_path: Path) -> None:
    path = _variant(tmp_path, "target", "target_percent: 99.0", "target_percent: 199")
    code, output = _validate("--format", "github", str(path))
    assert code == 2
    assert output.startswith(f"::error file={path},line=52,col=23::")
    code, output = _validate("--format", "json", str(path))
    problems = json.loads(output)
    assert code == 2
    assert problems[0]["line"] == 52 and problems[0]["path"] == (
        "$.spec.availability[0].target_percent")


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    code, output = _validate(str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "no such file or directory" in output


def test_validate_cold_start_does_not_import_the_rule_engine() -> None:
    # `validate` must stay fast from a cold start: the durable-rules C extension
    # (`durable_rules_engine`, the only module the adapter imports) and the evaluator are
    # imported only by commands that evaluate. The second half proves the check can fail:
    # the same probe after an evaluation does see the extension and the evaluator.
    probe = ("import sys\n"
             "engine = [m for m in ('durable_rules_engine', 'policyengine.engine.durable_backend',"
             " 'policyengine.evaluate.evaluator') if m in sys.modules]\n")
    cold = ("from policyengine.cli.main import main\n"
            "from policyengine.tools.check import validate_paths\n"
            f"assert validate_paths([{str(SHIPPED)!r}]) == []\n" + probe
            + "assert engine == [], engine\n")
    subprocess.run([sys.executable, "-c", cold], check=True)
    warm = ("from policyengine.api import Engine\n"
            f"Engine.load({str(SHIPPED)!r}, backend='durable').evaluate("
            f"[{str(ROOT / 'examples' / 'october-2026.yaml')!r}],"
            " as_of='2026-11-27T12:00:00-05:00')\n" + probe
            + "assert engine == ['durable_rules_engine', 'policyengine.engine.durable_backend',"
            " 'policyengine.evaluate.evaluator'], engine\n")
    subprocess.run([sys.executable, "-c", warm], check=True)


def test_schema_command_prints_each_schema() -> None:
    for which in ("policy", "facts", "rules"):
        result = CliRunner().invoke(main, ["schema", which])
        assert result.exit_code == 0
        schema = json.loads(result.output)
        assert schema["$schema"].startswith("http://json-schema.org/draft-07")
        assert schema["$id"].endswith(f"/v1/{which}.schema.json")


def test_notice_periods_that_disagree_are_a_warning(tmp_path: Path) -> None:
    # the exclusion's notice.lead is the first "lead: 48h" in the file, indented 8 spaces
    path = _variant(tmp_path, "leads", "        lead: 48h", "        lead: 72h")
    code, output = _validate(str(path))
    assert code == 0
    assert ("$.spec.notifications[0].lead: warning: notice lead 48h differs from the 72h "
            "that exclusion 'scheduled-downtime' requires") in output


# -- what validate is given -------------------------------------------------------------------
def test_api_validate_takes_one_path_as_a_string() -> None:
    # a str is one path, not an iterable of one-letter paths walking the filesystem
    from policyengine import validate

    assert validate(str(ROOT / "policies")) == []
    assert validate(ROOT / "policies") == []


def test_api_validate_refuses_what_is_not_a_path() -> None:
    from policyengine import validate

    with pytest.raises(TypeError, match="paths: expected a path or a list of paths, got int"):
        validate(42)  # type: ignore[arg-type]


def test_directory_without_policyengine_documents_is_an_error(tmp_path: Path) -> None:
    # evaluate --policy refuses such a directory; validate must not call it ok
    (tmp_path / "notes.yaml").write_text("just: notes\n", encoding="utf-8")
    code, output = _validate(str(tmp_path))
    assert code == 2
    assert (f"{tmp_path}:0:0: $: no policyengine documents here (policies, rule packs, fact "
            "files or policy tests)") in output.splitlines()
    code, output = _validate(str(tmp_path / "empty-dir-does-not-exist"))
    assert code == 2


def test_skip_unknown_passes_over_foreign_yaml_named_by_pre_commit(tmp_path: Path) -> None:
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text("repos:\n  - repo: local\n    hooks: []\n", encoding="utf-8")
    workflow = tmp_path / "ci.yml"
    workflow.write_text("on: push\njobs: {}\n", encoding="utf-8")
    broken = _variant(tmp_path, "broken", "target_percent: 99.0", "target_percent: 199")
    # without the flag a named file is checked as a policy
    code, output = _validate(str(config))
    assert code == 2 and f"{config}:" in output
    code, output = _validate("--skip-unknown", str(config), str(workflow), str(SHIPPED))
    assert code == 0 and "warning" not in output
    code, output = _validate("--skip-unknown", str(config), str(workflow), str(broken))
    assert code == 2
    assert f"{broken}:52:" in output and str(config) not in output
