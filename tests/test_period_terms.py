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
    pytest.param(
        "      period: calendar_month", "      period: calendar_month\n"
        "      year_starts: february",
        "51:20: $.spec.availability[0].year_starts: year_starts shifts the quarters or the "
        "year; a calendar month is the same in any year: use it with period: "
        "calendar_quarter or calendar_year, or leave it out", id="year-starts-on-a-month"),
    pytest.param(
        "      period: calendar_month", "      period: calendar_quarter\n"
        "      year_starts: febuary",
        "51:20: $.spec.availability[0].year_starts: unknown month 'febuary'; expected one of: "
        "january, february, march, april, may, june, july, august, september, october, "
        "november, december (did you mean 'february'?)", id="year-starts-misspelled"),
    pytest.param(
        "      period: calendar_month", "      period: calendar_quarter\n"
        "      year_starts: february",
        "16:11: $.metadata.effective.from: effective.from 2020-01-01 is not the first day of "
        "a quarter of a year starting in February (the 1st of February, May, August or "
        "November); clause 'availability-commitment' measures availability per calendar "
        "quarter, so a version must begin where one begins",
        id="version-starting-mid-fiscal-quarter"),
    pytest.param(
        "      excluded_up_to: 6h", "      excluded_up_to: 6h\n"
        "      allowance: {total: 10h, per: year}",
        "69:36: $.spec.exclusions[0].allowance.per: unknown allowance period 'year'; expected "
        "one of: calendar_month, calendar_quarter, calendar_year, period",
        id="allowance-per-not-a-unit"),
    pytest.param(
        "      excluded_up_to: 6h", "      excluded_up_to: 6h\n"
        "      allowance: {per: calendar_year}",
        "69:18: $.spec.exclusions[0].allowance: missing required field 'total'",
        id="allowance-without-total"),
    pytest.param(
        "      excluded_up_to: 6h", "      excluded_up_to: 6h\n"
        "      allowance: {total: 400d, per: calendar_year}",
        "69:26: $.spec.exclusions[0].allowance.total: duration '400d' is longer than the "
        "longest term allowed, 365d", id="allowance-longer-than-a-year"),
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


def test_show_words_for_fiscal_quarters(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("      period: calendar_month",
                              "      period: calendar_quarter\n      year_starts: february"),
                   ('    from: "2020-01-01"', '    from: "2020-02-01"'))
    code, lines = _run(path, "show")
    assert code == 0
    assert ("- **Target:** 99.0% of each full fiscal quarter (February-April, May-July, "
            "August-October, November-January; FY named by the year it ends in)") in lines


@pytest.mark.parametrize(("month", "unit", "start", "key", "first"), [
    ("2026-02", "calendar_quarter", 2, "FY2027-Q1", "2026-02"),
    ("2027-01", "calendar_quarter", 2, "FY2027-Q4", "2026-11"),
    ("2026-06", "calendar_quarter", 7, "FY2026-Q4", "2026-04"),
    ("2026-07", "calendar_year", 7, "FY2027", "2026-07"),
    ("2026-11", "calendar_quarter", 1, "2026-Q4", "2026-10"),
])
def test_fiscal_period_keys(month: str, unit: str, start: int, key: str, first: str) -> None:
    """A year from July 2026 to June 2027 is FY2027; June 2026 is in FY2026's Q4 (Apr-Jun)."""
    from policyengine.clocks.periods import first_month, months_in, period_of

    assert period_of(month, unit, start) == key
    assert first_month(key, start) == first
    assert months_in(key) == (12 if unit == "calendar_year" else 3)


def test_show_words_for_an_allowance(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("      excluded_up_to: 6h", "      excluded_up_to: 6h\n"
                              "      allowance: {total: 10h, per: calendar_year}"))
    code, lines = _run(path, "show")
    assert code == 0
    assert ("- **Allowance:** at most 10h excluded in all per calendar year, across windows "
            "in the order they start; what is excluded beyond it counts") in lines


def test_show_words_for_the_share_of_users(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("      target_percent: 99.0",
                              "      target_percent: 99.0\n      weigh_affected_share: true"))
    code, lines = _run(path, "show")
    assert code == 0
    assert ("- **Share of users:** a minute of downtime counts at the share of users it "
            "affected (all of them when not said)") in lines


def test_diff_words_for_the_new_terms(tmp_path: Path) -> None:
    path = _edited(tmp_path, ("      excluded_up_to: 6h",
                              "      excluded_up_to: whole_window\n"
                              "      allowance: {total: 10h, per: calendar_year}"),
                   ("      windows_per_month: 1", "      windows_per_month: unlimited"),
                   ("      full_months_only: true", "      full_months_only: false"))
    result = CliRunner().invoke(main, ["diff", str(SHIPPED), str(path)])
    assert result.exit_code == 0, result.output
    for line in ("  availability-commitment: full months only: yes → no",
                 "  scheduled-downtime: excluded up to: 6h → the whole window",
                 "  scheduled-downtime: allowance total: none → 10h",
                 "  scheduled-downtime: allowance per: none → calendar_year",
                 "  emergency-maintenance: windows per month: 1 → unlimited"):
        assert line in result.output.splitlines()
