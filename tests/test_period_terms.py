"""Terms of periods and exclusions (docs/policy-language.md, shape 4 and "Exclusions
without a limit"): what ``validate`` refuses, located, and what ``show`` says. Evaluation
outcomes are case files: tests/cases/availability/no-limit.test.yaml and
tests/cases/periods/*.test.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli.main import main

from .conftest import ROOT

SHIPPED = ROOT / "policies" / "spirion" / "1.0.0.yaml"


def _edited(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "1.0.0.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(path: Path, command: str = "validate") -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, [command, str(path)])
    assert "Traceback" not in result.output
    return result.exit_code, [line.replace(f"{path}:", "") for line in result.output.splitlines()]


@pytest.mark.parametrize(("old", "new", "expected"), [
    pytest.param(
        "      windows_per_month: 1", "      windows_per_month: unlimted",
        "76:26: $.spec.exclusions[1].windows_per_month: expected a number of windows from 1 "
        "to 1000, or unlimited (every window)", id="windows-per-month-misspelled"),
    pytest.param(
        "      windows_per_month: 1", "      windows_per_month: 0",
        "76:26: $.spec.exclusions[1].windows_per_month: expected a number of windows from 1 "
        "to 1000, or unlimited (every window)", id="windows-per-month-zero"),
    pytest.param(
        "      excluded_up_to: 6h", "      excluded_up_to: whole",
        "68:23: $.spec.exclusions[0].excluded_up_to: expected a duration like 48h, 7d or 30m, "
        "or whole_window (all of the window, however long), got 'whole'",
        id="excluded-up-to-not-a-duration-nor-whole-window"),
    pytest.param(
        "      full_months_only: true", "      full_months_only: true\n"
        "      part_period_fee: full",
        "52:24: $.spec.availability[0].part_period_fee: part_period_fee applies to part "
        "periods, and full_months_only is true (only whole periods are covered); write "
        "full_months_only: false, or leave part_period_fee out",
        id="part-period-fee-with-full-months-only"),
])
def test_refused_with_a_location(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert _run(_edited(tmp_path, (old, new))) == (2, [expected])


def test_show_words_for_no_limit_and_part_periods(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("      excluded_up_to: 6h", "      excluded_up_to: whole_window"),
                   ("      windows_per_month: 1", "      windows_per_month: unlimited"),
                   ("      full_months_only: true", "      full_months_only: false"))
    code, lines = _run(path, "show")
    assert code == 0
    for line in (
        "- **Excluded:** all of each window, when notice was given in time; all of it counts "
        "without notice",
        "- **Excluded:** the first 4h of every emergency window",
        "- **Counted:** any overrun",
        "- **Target:** 99.0% of each calendar month",
        "- **Part periods:** a calendar month the subscription term starts or ends in is "
        "measured over its part inside the term; its credit is computed on the calendar "
        "month's fee pro-rated by the days in the term",
    ):
        assert line in lines
