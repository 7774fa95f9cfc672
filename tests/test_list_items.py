"""Overriding one item of a list term (docs/policy-language.md, shape 6, "One item of a
list"): what ``validate`` refuses, located at the override, and what ``show`` prints.
Evaluation outcomes are the case file tests/cases/offerings/list-items.test.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli.main import main
from policyengine.model.variants import missing_term, variant_data

from .conftest import ROOT

POLICY = ROOT / "tests" / "cases" / "offerings" / "tiered-offerings" / "1.0.0.yaml"
_ITEM = "        financial-credit.tiers.0.below: 99.95\n"


def _run(tmp_path: Path, new: str, command: str = "validate") -> tuple[int, list[str]]:
    text = POLICY.read_text(encoding="utf-8")
    assert text.count(_ITEM) == 1
    path = tmp_path / "1.0.0.yaml"
    path.write_text(text.replace(_ITEM, new), encoding="utf-8")
    result = CliRunner().invoke(main, [command, str(path)])
    assert "Traceback" not in result.output
    return result.exit_code, [line.replace(f"{path}:", "") for line in result.output.splitlines()]


@pytest.mark.parametrize(("new", "expected"), [
    pytest.param(
        "        financial-credit.tiers.3.below: 90\n",
        "101:41: $.spec.offerings[1].overrides['financial-credit.tiers.3.below']: override "
        "'financial-credit.tiers.3.below': 'tiers' of clause 'financial-credit' has 3 items "
        "(indexes 0 to 2), so there is no item 3; an override replaces an item the list has, "
        "it never adds one", id="index-out-of-range"),
    pytest.param(
        "        financial-credit.tiers.below: 99.95\n",
        "101:39: $.spec.offerings[1].overrides['financial-credit.tiers.below']: override "
        "'financial-credit.tiers.below': 'tiers' of clause 'financial-credit' is a list; name "
        "an item by its index from 0, like financial-credit.tiers.0", id="list-without-index"),
    pytest.param(
        "        financial-credit.tiers[0].below: 99.95\n",
        "101:9: $.spec.offerings[1].overrides['financial-credit.tiers[0].below']: expected "
        "clause-id.term like availability-commitment.target_percent (a list item by its index "
        "from 0, like service-credit.tiers.0.below), got 'financial-credit.tiers[0].below'",
        id="bracket-index"),
    pytest.param(
        "        financial-credit.tiers:\n"
        "          - {below: 99.95, at_least: 99.0, percent_of_monthly_fee: 10}\n"
        "          - {below: 99.0, percent_of_monthly_fee: 25}\n"
        "        financial-credit.tiers.2.percent_of_monthly_fee: 60\n",
        "104:58: $.spec.offerings[1].overrides['financial-credit.tiers.2.percent_of_monthly_fee']"
        ": override 'financial-credit.tiers.2.percent_of_monthly_fee': 'tiers' of clause "
        "'financial-credit' has 2 items (indexes 0 to 1), so there is no item 2; an override "
        "replaces an item the list has, it never adds one",
        id="index-past-a-list-an-earlier-override-shortened"),
    pytest.param(
        "        financial-credit.tiers.1.percent_of_monthly_fee: 5\n",
        "101:58: $.spec.offerings[1].overrides['financial-credit.tiers.1.percent_of_monthly_fee']"
        ": offering 'premium' makes the policy invalid: "
        "$.spec.credits[0].tiers[1].percent_of_monthly_fee: amounts rise as availability "
        "falls: 5 is not more than the tier above's",
        id="item-value-makes-the-variant-invalid"),
    pytest.param(
        "        financial-credit.tiers:\n"
        "          - {below: 99.95, at_least: 99.0, percent_of_monthly_fee: 10}\n"
        "          - {below: 99.0, percent_of_monthly_fee: 25}\n" + _ITEM,
        "104:41: $.spec.offerings[1].overrides['financial-credit.tiers.0.below']: override "
        "'financial-credit.tiers.0.below' is inside 'financial-credit.tiers', which this "
        "offering overrides too; which value applies would depend on the order they are "
        "written in: write the value in 'financial-credit.tiers', or override the items one "
        "by one", id="an-item-and-its-whole-list-in-one-offering"),
    pytest.param(
        _ITEM + "        financial-credit.tiers.00.below: 99.92\n",
        "102:42: $.spec.offerings[1].overrides['financial-credit.tiers.00.below']: override "
        "'financial-credit.tiers.00.below': write the list index '00' without leading zeros, "
        "as 'financial-credit.tiers.0.below': two spellings of one item would let the later "
        "override win by line order", id="same-item-as-tiers-0-through-a-leading-zero"),
    pytest.param(
        "        financial-credit.tiers.01.below: 99.0\n",
        "101:42: $.spec.offerings[1].overrides['financial-credit.tiers.01.below']: override "
        "'financial-credit.tiers.01.below': write the list index '01' without leading zeros, "
        "as 'financial-credit.tiers.1.below': two spellings of one item would let the later "
        "override win by line order", id="leading-zero-index-alone"),
    pytest.param(
        "        financial-credit.tiers.+1.below: 99.0\n",
        "101:9: $.spec.offerings[1].overrides['financial-credit.tiers.+1.below']: expected "
        "clause-id.term like availability-commitment.target_percent (a list item by its index "
        "from 0, like service-credit.tiers.0.below), got 'financial-credit.tiers.+1.below'",
        id="plus-sign-index"),
    pytest.param(
        "        'financial-credit.tiers. 1.below': 99.0\n",
        "101:9: $.spec.offerings[1].overrides['financial-credit.tiers. 1.below']: expected "
        "clause-id.term like availability-commitment.target_percent (a list item by its index "
        "from 0, like service-credit.tiers.0.below), got 'financial-credit.tiers. 1.below'",
        id="space-in-index"),
    pytest.param(
        _ITEM + "        financial-credit.tiers.0.below: 99.92\n",
        "102:9: $.spec.offerings[1].overrides['financial-credit.tiers.0.below']: duplicate key "
        "'financial-credit.tiers.0.below' (first at line 101)",
        id="same-item-same-spelling-twice"),
])
def test_an_item_override_refused_at_the_override(tmp_path: Path, new: str,
                                                  expected: str) -> None:
    assert _run(tmp_path, new) == (2, [expected])


def test_show_names_the_item_and_lists_a_list_override_item_by_item(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["show", str(POLICY)])
    assert result.exit_code == 0
    assert "- **Changes financial-credit.tiers.0.below (tier 1):** to 99.95" in result.output
    code, lines = _run(tmp_path, "        financial-credit.tiers:\n"
                       "          - {below: 99.95, at_least: 99.0, percent_of_monthly_fee: 10}\n"
                       "          - {below: 99.0, percent_of_monthly_fee: 25}\n", "show")
    assert code == 0
    changes = [line for line in lines if line.startswith("- **Changes ")]
    assert changes == [
        "- **Changes financial-credit.tiers:** to these 2 items",
        "- **Changes financial-credit.tiers, tier 1:** below 99.95; at least 99.0; percent of "
        "monthly fee 10",
        "- **Changes financial-credit.tiers, tier 2:** below 99.0; percent of monthly fee 25",
        "- **Changes monthly-uptime.target\\_percent:** to 99.95%",
    ]


def test_variant_replaces_the_item_and_keeps_the_rest_of_the_list() -> None:
    data = {"spec": {"credits": [{"id": "c", "kind": "service_credit", "tiers": [
        {"below": 99.9, "pct": 10}, {"below": 99.0, "pct": 25}]}]}}
    edited = variant_data(data, None, [("c.tiers.1.pct", 30)])
    assert edited["spec"]["credits"][0]["tiers"] == [{"below": 99.9, "pct": 10},
                                                     {"below": 99.0, "pct": 30}]
    assert data["spec"]["credits"][0]["tiers"][1]["pct"] == 25  # the input is not changed
    assert missing_term(data, "c.tiers.1.pct") is None
    assert missing_term(data, "c.tiers.2") == ("index", "tiers.2", ["2"])
    assert missing_term(data, "c.tiers.x") == ("list", "tiers", ["2"])
