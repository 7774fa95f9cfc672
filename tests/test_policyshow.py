"""``policyengine show``: the policy as a document a legal reader can follow."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from policyengine.api import load_policies
from policyengine.cli.main import main
from policyengine.model.policy import Policy
from policyengine.report.render import markdown_text
from policyengine.tools.show import describe_condition, describe_value, render_policy

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "policies" / "spirion"


@pytest.fixture(scope="module")
def policy() -> Policy:
    (loaded,) = load_policies(SHIPPED)
    return loaded


@pytest.fixture(scope="module")
def markdown(policy: Policy) -> str:
    return render_policy(policy)


def test_header_names_title_version_dates_and_contract(markdown: str) -> None:
    lines = markdown.splitlines()
    assert lines[0] == "# Spirion customer services and service level addendum"
    assert "- **Version:** 1.0.0" in lines
    assert "- **In force:** from 2020-01-01, with no end date" in lines
    assert ("- **Contract:** Spirion: Customer Services, Service Level Addendum (SLA) and "
            "Customer Support Policy") in lines
    # the policy's own strings are escaped as markdown text (America/New\_York renders as
    # America/New_York)
    assert "- **Time zone:** America/New\\_York (months, days and deadlines)" in lines


def test_every_clause_appears_with_id_reference_and_summary(policy: Policy,
                                                            markdown: str) -> None:
    for clause in policy.clauses:
        assert f"### `{clause.id}`" in markdown
        assert f"*Contract: {markdown_text(clause.ref)}*" in markdown
        assert markdown_text(" ".join(clause.summary.split())) in markdown
    sections = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert sections == ["## Support calendars", "## Availability", "## Exclusions",
                        "## Service credits", "## Support", "## Notifications",
                        "## Entitlements"]


@pytest.mark.parametrize("line", [
    "- **Target:** 99.0% of each full calendar month",
    "- **Applies to:** production plans, deployed as SaaS",
    "- **Notice:** at least 48h ahead by email, phone or portal (scheduled downtime notice)",
    "- **Excluded:** the first 4h of the first emergency window each calendar month",
    "- **Excused in full:** downtime caused by customer, third\\_party or force\\_majeure",
    "- **No commitment and no credits:** beta, trial or pilot plans",
    "- **Amount:** 1/12 of the annual fee for each missed month, rounded half up to 2 "
    "decimal places",
    "- **Form:** credit when the order was renewed, refund when it was not",
    "- **Hours:** Monday–Friday 09:00–18:00 (America/New\\_York time)",
    "- **Closed:** Saturday and Sunday",
    "- **Holidays:** closed on public holidays of US (observed dates)",
    "- **Applies when:** loss of service or critical function, and no workaround",
    "- **Applies when:** production significantly degraded",
    "- **Applies when:** any other case",
    "- **Initial response:** 4h in support hours (calendar support-hours)",
    "- **Resolution:** 24h elapsed, around the clock",
    "- **Resolution:** no target",
    "- **Notice:** at least 168h ahead by email (significant change notice), for every "
    "significant change",
    "- **Strength:** reasonable efforts (a miss is reported, not a breach)",
    "- **Entitled while support is active:** perpetual licences",
])
def test_terms_in_plain_words(markdown: str, line: str) -> None:
    assert line in markdown.splitlines()


def test_claim_window_keeps_the_duration_as_written(markdown: str) -> None:
    assert "- **Claim within:** 60d after the end of the month that missed the target" \
        in markdown


def test_text_format(policy: Policy) -> None:
    text = render_policy(policy, "text")
    lines = text.splitlines()
    assert lines[:2] == ["Spirion customer services and service level addendum", "=" * 52]
    assert "Version:       1.0.0" in lines
    assert "[availability-commitment] Service Level Addendum > Availability Commitment" in lines
    assert "    - Target: 99.0% of each full calendar month" in lines
    assert "**" not in text and "###" not in text


def test_unknown_format_is_refused(policy: Policy) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_policy(policy, "html")


def test_terms_without_words_are_still_listed() -> None:
    data = yaml.safe_load((SHIPPED / "1.0.0.yaml").read_text(encoding="utf-8"))
    data["spec"]["exclusions"][1]["max_overrun_percent"] = 25
    data["metadata"]["effective"]["until"] = "2027-01-01"
    text = render_policy(Policy.from_data(data, "x.yaml"))
    assert "- **Max overrun percent:** 25%" in text
    assert "- **In force:** from 2020-01-01, until 2027-01-01 (not included)" in text


def test_conditions_read_as_sentences() -> None:
    assert describe_condition({"any": [{"all": [{"loss_of_service": True},
                                                {"workaround_available": False}]},
                                       {"production_degraded": True}]}) == \
        "(loss of service and no workaround) or production significantly degraded"
    assert describe_condition({"seats": {"gte": 10}, "region": {"in": ["eu", "us"]}}) == \
        "seats ≥ 10, and region is one of eu or us"
    assert describe_condition({"all": []}) == "any other case"
    assert describe_value({"from": "09:00", "to": "18:00"}) == "09:00–18:00"
    assert describe_value(99.5, "target_percent") == "99.5%"
    assert describe_value(None) == "none" and describe_value(True) == "yes"


def test_cli_show(tmp_path: Path) -> None:
    output = tmp_path / "spirion.md"
    result = CliRunner().invoke(main, ["show", str(SHIPPED), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_text(encoding="utf-8").startswith("# Spirion customer services")
    result = CliRunner().invoke(main, ["show", str(SHIPPED / "1.0.0.yaml"), "--format",
                                       "text"])
    assert result.exit_code == 0
    assert result.output.startswith("Spirion customer services and service level addendum\n")


def test_cli_show_bad_policy_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: policyengine/v1\nkind: Policy\nmetadata: {}\n",
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["show", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output


# -- numbers in words are positional (attack16 F18) -----------------------------------------


@pytest.mark.parametrize(("value", "words"), [
    pytest.param(Decimal("1.0E-24"), "0.000000000000000000000001", id="decimal-exponent"),
    pytest.param(1e-05, "0.00001", id="float-exponent"),
    pytest.param(Decimal("1E+3"), "1000", id="positive-exponent"),
    pytest.param(Decimal("99.0"), "99.0", id="as-written"),
    pytest.param(Decimal("2.50"), "2.50", id="trailing-zero-kept"),
    pytest.param(12, "12", id="int"),
    pytest.param("1e5", "1e5", id="text-left-alone"),
])
def test_plain_number(value: object, words: str) -> None:
    from policyengine.clauses.words import plain_number

    assert plain_number(value) == words


def test_tiny_target_is_shown_and_diffed_positionally(tmp_path: Path) -> None:
    """target_percent 1e-24 was shown as "1.0E-24%" by show, diff and the finding message,
    and as 1e-24 in the table."""
    path = tmp_path / "tiny.yaml"
    path.write_text((SHIPPED / "1.0.0.yaml").read_text().replace("target_percent: 99.0",
                                                                 "target_percent: 1.0e-24"))
    (tiny,) = load_policies(path)
    assert "- **Target:** 0.000000000000000000000001% of each full calendar month" in \
        render_policy(tiny).splitlines()
    result = CliRunner().invoke(main, ["diff", str(SHIPPED / "1.0.0.yaml"), str(path)])
    assert ("  availability-commitment: target percent: 99.0% → 0.000000000000000000000001%"
            in result.output.splitlines()), result.output
    table = CliRunner().invoke(main, [
        "evaluate", "--policy", str(path), "--facts", str(ROOT / "examples" / "october-2026.yaml"),
        "--as-of", "2026-11-20T00:00:00Z", "--format", "table", "--explain"])
    assert "E-24" not in table.output and "e-24" not in table.output
    assert "meets the 0.000000000000000000000001% commitment" in table.output
