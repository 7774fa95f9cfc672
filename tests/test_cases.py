"""The evaluation cases, ``tests/cases/<area>/*.test.yaml``, run by ``policyengine test``.

Each file is a PolicyTest (docs/policy-ci.md) of the shipped policy; each case runs through
the product's own runner (:func:`~policyengine.tools.policytest.run_case`) on both back-ends.
Expected values are computed by hand; the comment beside each case shows the working.
``policyengine test tests/cases --engine python`` runs the same cases from the command line.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli.main import main
from policyengine.tools.policytest import (
    Engines,
    TestCase,
    TestFile,
    discover,
    load_test_file,
    render_case,
    run_case,
    run_tests,
)

from .conftest import BACKENDS, ROOT

CASE_DIR = Path(__file__).parent / "cases"


@functools.cache
def case_files() -> tuple[TestFile, ...]:
    """Every case file, named as ``policyengine test tests/cases`` names it from the root."""
    return tuple(load_test_file(path, display=path.relative_to(ROOT).as_posix())
                 for path in discover([CASE_DIR]))


def case_id(test: TestFile, case: TestCase) -> str:
    """``area/file: case name`` (the test id)."""
    return f"{test.path.parent.name}/{test.path.name.removesuffix('.test.yaml')}: {case.name}"


def evaluation_cases() -> list[pytest.ParameterSet]:
    """One pytest parameter ``(test file, case)`` per evaluation case."""
    return [pytest.param(test, case, id=case_id(test, case))
            for test in case_files() for case in test.cases]


ENGINES = {backend: Engines(backend) for backend in BACKENDS}


@pytest.mark.parametrize(("test", "case"), evaluation_cases())
def test_case(test: TestFile, case: TestCase, backend: str) -> None:
    result = run_case(ENGINES[backend].for_case(test, case), test, case)
    assert result.status == "pass", "\n".join(render_case(result))


def test_every_case_file_is_found() -> None:
    """Every YAML file under tests/cases is a case file, or a version of a policy that a
    case file names (a clause kind the shipped policy does not use is tested on a policy of
    its own, beside its case file: docs/architecture.md, "How to add a clause kind")."""
    policies = {test.policy.resolve() for test in case_files()}
    files = [f for f in sorted(CASE_DIR.rglob("*.yaml"))
             if f.resolve() not in policies and f.parent.resolve() not in policies]
    assert files and all(f.name.endswith(".test.yaml") for f in files)
    assert [t.path for t in case_files()] == files
    assert len(evaluation_cases()) >= 176  # as many as the old case dialect had


def _copy_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The case files under a temporary root's ``tests/cases``, run from that root (one
    case's expected message names its file as seen from the root)."""
    target = tmp_path / "tests" / "cases"
    shutil.copytree(CASE_DIR, target)
    # a repository of its own (paths in test files stay inside their repository, and a
    # symbolic link out of it is refused: docs/hardening.md, "Paths and escaping")
    (tmp_path / ".git").mkdir()
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    return Path("tests", "cases")


def test_a_changed_expected_value_fails_naming_the_case_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = _copy_cases(tmp_path, monkeypatch)
    rounding = cases / "credits" / "rounding.test.yaml"
    text = rounding.read_text(encoding="utf-8")
    assert text.count('amount: "83.34"}') == 1
    rounding.write_text(text.replace('amount: "83.34"}', 'amount: "83.35"}'), encoding="utf-8")
    run = run_tests([rounding], backend="python")
    failed = [r for r in run.results if r.status != "pass"]
    assert [r.name for r in failed] == ["1000.06 / 12 = 83.338333 rounds up to 83.34"]
    assert run.exit_code == 1
    report = "\n".join(render_case(failed[0]))
    amount = next(line for line in report.splitlines() if " amount " in line)
    assert amount.lstrip().startswith("! amount")
    assert [cell.strip() for cell in amount.split("|")[1:]] == ["83.35", "✗ 83.34"]
    assert "credits: no row matches" in report


@pytest.mark.parametrize(("old", "new", "name", "shown"), [
    # a count: 0 credits expected, 1 found
    ("    expect_counts: {credits: 0}\n\n  # same facts, target_percent 99.5",
     "    expect_counts: {credits: 1}\n\n  # same facts, target_percent 99.5",
     "target 99.0 (default): 99.328 % meets", "credits: expected 1 row, found 0"),
    # an exact message: one character off
    ('- {message: "end is before start"}', '- {message: "end is before start."}',
     "downtime end before start", "! message | end is before start."),
], ids=["count", "exact message"])
def test_changed_counts_and_errors_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        old: str, new: str, name: str, shown: str) -> None:
    cases = _copy_cases(tmp_path, monkeypatch)
    for file in sorted(cases.rglob("*.test.yaml")):
        text = file.read_text(encoding="utf-8")
        if old in text:
            assert text.count(old) == 1
            file.write_text(text.replace(old, new), encoding="utf-8")
            break
    else:
        raise AssertionError(f"{old!r} is in no case file")
    run = run_tests([file], backend="durable")
    (failed,) = [r for r in run.results if r.status != "pass"]
    assert failed.name == name and failed.status == "fail"
    assert shown in "\n".join(render_case(failed))


def test_cli_runs_a_case_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["test", "tests/cases/availability/errors.test.yaml",
                                       "--engine", "python"])
    assert result.exit_code == 0, result.output
    assert "PASS  tests/cases/availability/errors.test.yaml:110: duplicate downtime id" \
        in result.output
    assert result.output.endswith("11 passed, 0 failed (11 cases in 1 file)\n")
