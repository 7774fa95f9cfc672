"""The clause-kind registry: generated schemas, and a toy kind added from outside the package.

The toy kind ``flat_credit`` is the worked example of docs/architecture.md ("How to add a
clause kind"): a fixed credit per missed month instead of a fraction of the annual fee. It
is registered here, with its schema fragment, a semantic check, its words for ``show`` and
its own credit arithmetic; its rule lives in a rule pack in a temporary ``--rules``
directory. The test validates, shows and evaluates a policy that uses it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policyengine.api import Engine, facts_from_dicts
from policyengine.clauses import generate, registry
from policyengine.clauses.registry import CheckContext, ClauseKind, ClausePath, TermLines
from policyengine.diagnostics import Diagnostic
from policyengine.model.facts import Subscription
from policyengine.model.policy import Clause, Policy
from policyengine.tools.check import validate_paths
from policyengine.tools.show import render_policy

from .conftest import ROOT, SHIPPED

BUILTIN_KINDS = [
    "calendar", "availability_commitment", "scheduled_maintenance", "emergency_maintenance",
    "excused_cause", "excluded_plan", "service_credit", "credit_cap", "chronic_failure",
    "claim_window", "severity", "severity_assignment", "notice_obligation", "update_entitlement",
    "support_lapse", "declaration",
]


# -- the toy kind -------------------------------------------------------------------------------
class FlatCredit(ClauseKind):
    """A fixed credit for each missed month (toy kind: see the module docstring)."""

    section = "credits"
    title = "Flat credit"
    description = "A fixed amount credited for each month that misses the commitment."
    terms = {
        "amount": {
            "description": "The amount per missed month, in the subscription's currency. "
                           "Example: \"250.00\".",
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]{1,2})?$",
            "patternErrorMessage": "expected an amount like 250.00",
        },
        "given_as": {
            "description": "credit or refund. Example: credit.",
            "type": "string",
            "enum": ["credit", "refund"],
            "x-enum-label": "form",
        },
    }
    required = ("amount", "given_as")

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        if Decimal(str(clause.get("amount"))) == 0:
            return [ctx.error((*path, "amount"), "a flat credit of zero credits nothing")]
        return ()

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"amount", "given_as"})
        return [("Amount", f"{terms['amount']} for each missed month, as a {terms['given_as']}")]

    def contribute(self, clause: Clause, values: Any, policy: Policy) -> None:
        if values.credit is None:
            values.credit = clause

    def credit_amount(self, clause: Clause, subscription: Subscription) -> Decimal:
        # never more than the fee itself
        return min(Decimal(clause.terms["amount"]), subscription.annual_fee)


FLAT_PACK = """\
apiVersion: policyengine/v1
kind: RulePack
metadata:
  name: flat-credits
  description: A flat credit for a missed month.
rules:
  - id: flat-credit
    stage: credits
    for_clause: flat_credit
    when:
      m: {type: customer_month, covered: true, met: false}
    then:
      set:
        - {subject: m, field: form, value: {term: given_as}}
      subject: m
      outcome: credit
      message: "a flat credit of {term:amount}"
"""

SERVICE_CREDIT = """\
    - id: service-credit
      kind: service_credit
      ref: "Service Level Addendum > Service Credit"
      summary: >-
        A month that misses the commitment earns one twelfth of that year's subscription fee,
        as a credit, or as a refund when the order was not renewed. One credit per month at
        most.
      fraction_of_annual_fee: "1/12"
      rounding: half_up
      decimal_places: 2
      form:
        renewed: credit
        not_renewed: refund
"""
FLAT_CREDIT = """\
    - id: flat-credit
      kind: flat_credit
      ref: "Service Level Addendum > Service Credit"
      summary: A month that misses the commitment earns a fixed credit.
      amount: "{amount}"
      given_as: credit
"""

FACTS = [
    {"type": "subscription", "customer": "acme", "plan": "production", "deployment": "saas",
     "license": "subscription", "annual_fee": "1200", "currency": "USD",
     "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
     "support": "active"},
    # 10 h of unexcused downtime in October (744 h): 98.656%, below the 99.0% commitment
    {"type": "downtime", "id": "d1", "start": "2026-10-05T08:00:00-04:00",
     "end": "2026-10-05T18:00:00-04:00", "cause": "vendor", "maintenance": "none"},
]


@pytest.fixture
def flat_credit() -> Iterator[type[ClauseKind]]:
    """The toy kind, registered for one test (and removed again)."""
    registry.register("flat_credit")(FlatCredit)
    try:
        yield FlatCredit
    finally:
        registry.unregister("flat_credit")


def _policy(tmp_path: Path, amount: str = "250.00") -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert SERVICE_CREDIT in text
    text = text.replace(SERVICE_CREDIT, FLAT_CREDIT.format(amount=amount))
    directory = tmp_path / "policy"
    directory.mkdir(exist_ok=True)
    (directory / "1.0.0.yaml").write_text(text, encoding="utf-8")
    return directory


def _rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "flat-credits.yaml").write_text(FLAT_PACK, encoding="utf-8")
    return rules


# -- the toy kind, end to end -------------------------------------------------------------------
def test_unregistered_kind_is_refused(tmp_path: Path) -> None:
    problems = validate_paths([_policy(tmp_path)])
    assert [(p.path, p.message.split(";")[0]) for p in problems] == [
        ("$.spec.credits[0].kind", "unknown clause kind 'flat_credit'")]


def test_toy_kind_validates_with_its_rule_pack(tmp_path: Path, flat_credit: Any) -> None:
    assert validate_paths([_policy(tmp_path), _rules(tmp_path)]) == []


def test_toy_kind_check_is_a_located_error(tmp_path: Path, flat_credit: Any) -> None:
    policy = _policy(tmp_path, amount="0.00")
    file = policy / "1.0.0.yaml"
    line = file.read_text(encoding="utf-8").splitlines().index('      amount: "0.00"') + 1
    problems = validate_paths([policy])
    assert [p.render() for p in problems] == [
        f"{file}:{line}:15: $.spec.credits[0].amount: a flat credit of zero credits nothing"]


def test_toy_kind_is_shown_in_its_words(tmp_path: Path, flat_credit: Any) -> None:
    engine = Engine.load(_policy(tmp_path), rules=_rules(tmp_path), backend="python")
    text = render_policy(engine.policies[0], "text")
    assert ("[flat-credit] Service Level Addendum > Service Credit\n"
            "    A month that misses the commitment earns a fixed credit.\n"
            "    - Amount: 250.00 for each missed month, as a credit\n") in text


@pytest.mark.parametrize("backend", ["durable", "python"])
def test_toy_kind_computes_the_credit(tmp_path: Path, flat_credit: Any, backend: str) -> None:
    engine = Engine.load(_policy(tmp_path), rules=_rules(tmp_path), backend=backend)
    result = engine.evaluate(FACTS, as_of="2026-11-27T12:00:00-05:00")
    october = [r for r in result.availability if r.month == "2026-10"]
    assert [(r.met, r.availability_percent) for r in october] == [(False, 98.6559)]
    # the amount is the toy kind's (250.00), not 1/12 of 1200 (100.00); the claim window
    # (60 days after 31 October) and the status come from the shipped claim_window kind
    assert [(c.customer, c.month, c.amount, c.form, c.status, c.claim_deadline)
            for c in result.credits] == [
        ("acme", "2026-10", "250.00", "credit", "claimable", "2026-12-30")]
    credit = [f for f in result.findings if f.outcome == "credit"]
    assert [(f.clause, f.message) for f in credit] == [("flat-credit", "a flat credit of 250.00")]


def test_toy_kind_arithmetic_is_capped_by_its_module(tmp_path: Path, flat_credit: Any) -> None:
    engine = Engine.load(_policy(tmp_path, amount="5000"), rules=_rules(tmp_path),
                         backend="python")
    result = engine.evaluate(FACTS, as_of="2026-11-27T12:00:00-05:00")
    assert [c.amount for c in result.credits] == ["1200"]


# -- the registry ------------------------------------------------------------------------------
def test_builtin_kinds_in_schema_order() -> None:
    assert [k.name for k in registry.kinds(builtin_only=True)] == BUILTIN_KINDS
    assert {k.name: k.section for k in registry.kinds(builtin_only=True)}["support_lapse"] \
        == "entitlements"


def test_checked_in_schemas_are_generated_from_the_registry() -> None:
    """Fails when a kind changed and ``make schemas`` was not run."""
    assert generate.stale_files() == []
    policy = json.loads((ROOT / "schemas" / "policy.schema.json").read_text(encoding="utf-8"))
    assert policy["definitions"]["clause"]["properties"]["kind"]["enum"] == BUILTIN_KINDS
    rules = json.loads((ROOT / "schemas" / "rules.schema.json").read_text(encoding="utf-8"))
    assert rules["definitions"]["rule"]["properties"]["for_clause"]["enum"] == BUILTIN_KINDS


def test_a_changed_kind_makes_the_schemas_stale(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (generate.POLICY_FILE, generate.RULES_FILE):
        shutil.copy(ROOT / "schemas" / name, tmp_path / name)
    assert generate.stale_files(tmp_path) == []
    monkeypatch.setattr(registry.get("claim_window"), "title", "Claim period")
    assert generate.stale_files(tmp_path) == [tmp_path / generate.POLICY_FILE]
    assert generate.main([str(tmp_path)]) == 0
    assert generate.stale_files(tmp_path) == []
    written = json.loads((tmp_path / generate.POLICY_FILE).read_text(encoding="utf-8"))
    assert written["definitions"]["claim_window"]["title"] == "Claim period"


def test_registered_kind_is_not_written_to_the_package_schemas(flat_credit: Any) -> None:
    assert generate.stale_files() == []
    assert "flat_credit" not in generate.policy_schema()["definitions"]
    assert "flat_credit" in generate.policy_schema(registry.kinds())["definitions"]


def test_register_refuses_bad_names_sections_and_duplicates() -> None:
    with pytest.raises(ValueError, match="lower_snake_case"):
        registry.register("Flat-Credit")(type("K", (ClauseKind,), {}))
    with pytest.raises(ValueError, match="unknown section 'remedies'"):
        registry.register("k")(type("K", (ClauseKind,), {"section": "remedies"}))
    with pytest.raises(ValueError, match="already registered"):
        registry.register("severity")(type("K", (ClauseKind,), {}))
    with pytest.raises(ValueError, match="ships with the package"):
        registry.unregister("severity")


def test_entry_point_kinds_load_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []

    class Entry:
        name = "toy"

        def load(self) -> Any:
            loads.append(self.name)
            registry.register("plugin_note")(type("PluginNote", (ClauseKind,), {}))

    def entry_points(group: str) -> list[Entry]:
        assert group == "policyengine.clauses"
        return [Entry()]

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    monkeypatch.setitem(registry._state, "plugins", False)
    try:
        assert registry.get("plugin_note") is not None
        assert [k.name for k in registry.extra_kinds()] == ["plugin_note"]
        assert registry.get("no_such_kind") is None
        assert loads == ["toy"]
    finally:
        registry.unregister("plugin_note")


def test_architecture_doc_shows_the_tested_example() -> None:
    """docs/architecture.md's worked example is the rule and clause this module runs."""
    from policyengine.load.loader import load_text

    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    blocks = doc.split("```yaml\n")[1:]
    rule = next(b.split("```")[0] for b in blocks if "for_clause: flat_credit" in b)
    clause = next(b.split("```")[0] for b in blocks if "kind: flat_credit" in b)
    pack = load_text(FLAT_PACK, "pack").data["rules"]
    assert load_text(rule, "doc").data["rules"] == pack
    assert clause == FLAT_CREDIT.format(amount="250.00")
    for line in ('    description = "A fixed amount credited for each month that misses the '
                 'commitment."',
                 '            return [ctx.error((*path, "amount"), "a flat credit of zero '
                 'credits nothing")]',
                 '        return min(Decimal(clause.terms["amount"]), subscription.annual_fee)'):
        assert line in doc


def test_only_a_credit_kind_computes_a_credit() -> None:
    policy = Engine.load(SHIPPED, backend="python").policies[0]
    window = policy.clause("credit-claim-window")
    with pytest.raises(NotImplementedError, match="'claim_window' does not compute a credit"):
        registry.kind_of(window.kind).credit_amount(window, None)  # type: ignore[arg-type]
    credit = policy.clause("service-credit")
    sub = facts_from_dicts([{**FACTS[0], "annual_fee": "1000.06"}]).subscriptions["acme"][0]
    # 1000.06 / 12 = 83.33833…, half_up to cents
    assert registry.kind_of(credit.kind).credit_amount(credit, sub) == Decimal("83.34")
