"""Extending a policy without code: declared fact types and a custom rule pack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policyengine.api import Engine
from policyengine.diagnostics import InputError

from .conftest import ROOT, SHIPPED

REVIEW_PACK = """\
apiVersion: policyengine/v1
kind: RulePack
metadata:
  name: reviews
  description: Note months that had a post-incident review on file.
rules:
  - id: month-reviewed
    stage: months
    for_clause: availability_commitment
    when:
      m: {type: customer_month}
      r: {type: incident_review, customer: {fact: m.customer}, month: {fact: m.month}}
    then:
      subject: m
      outcome: reviewed
      message: "review {r.key} by {r.reviewer}"
"""

FACTS = [
    {"type": "subscription", "customer": "acme", "plan": "production", "deployment": "saas",
     "license": "subscription", "annual_fee": "1200", "currency": "USD",
     "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
     "support": "active"},
    {"type": "downtime", "id": "d1", "start": "2026-10-05T10:00:00-04:00",
     "end": "2026-10-05T11:00:00-04:00", "cause": "vendor", "maintenance": "none"},
    {"type": "incident_review", "id": "IR-7", "customer": "acme", "month": "2026-10",
     "reviewer": "dana"},
]


def _setup(tmp_path: Path, declare: bool) -> tuple[Path, Path]:
    policy_dir = tmp_path / "policy"
    policy_dir.mkdir()
    text = SHIPPED.read_text(encoding="utf-8")
    if declare:
        text = text.replace("spec:\n  timezone: America/New_York\n",
                            "spec:\n  timezone: America/New_York\n"
                            "  fact_types: [incident_review]\n")
    (policy_dir / "1.0.0.yaml").write_text(text, encoding="utf-8")
    rules_dir = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules_dir)
    (rules_dir / "reviews.yaml").write_text(REVIEW_PACK, encoding="utf-8")
    return policy_dir, rules_dir


@pytest.mark.parametrize("backend", ["durable", "python"])
def test_declared_fact_type_reaches_a_custom_rule(tmp_path: Path, backend: str) -> None:
    policy_dir, rules_dir = _setup(tmp_path, declare=True)
    engine = Engine.load(policy_dir, rules=rules_dir, backend=backend)
    result = engine.evaluate(FACTS, as_of="2026-11-27T12:00:00-05:00")
    reviewed = [f for f in result.findings if f.outcome == "reviewed"]
    assert [(f.subject, f.rule, f.clause, f.message) for f in reviewed] == [
        ("acme/2026-10", "reviews.month-reviewed", "availability-commitment",
         "review IR-7 by dana")]


def test_undeclared_fact_type_is_an_input_error(tmp_path: Path) -> None:
    """A rule on a type the policy does not declare is refused when compiled; facts of it
    are refused when read."""
    policy_dir, rules_dir = _setup(tmp_path, declare=False)
    with pytest.raises(InputError) as raised:
        Engine.load(policy_dir, rules=rules_dir, backend="python")
    assert [d.render() for d in raised.value.diagnostics] == [
        f"{rules_dir / 'reviews.yaml'}:12:17: $.rules[0].when.r.type: unknown fact type "
        "'incident_review' in stage months; it receives: customer_month; a policy may declare "
        "other fact types in spec.fact_types"]
    engine = Engine.load(policy_dir, backend="python")
    with pytest.raises(InputError, match="incident_review"):
        engine.evaluate(FACTS, as_of="2026-11-27T12:00:00-05:00")


def test_declared_fact_type_in_a_streamed_report(tmp_path: Path) -> None:
    """Custom facts are fleet-wide for the shards: every shard's sessions see them."""
    import io
    import json

    policy_dir, rules_dir = _setup(tmp_path, declare=True)
    engine = Engine.load(policy_dir, rules=rules_dir, backend="durable")
    facts = [*FACTS, {**FACTS[0], "customer": "zenith"},
             {**FACTS[2], "id": "IR-8", "customer": "zenith", "reviewer": "lee"}]
    path = tmp_path / "facts.ndjson"
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    out = io.StringIO()
    engine.write_json([str(path)], out, as_of="2026-11-27T12:00:00-05:00", workers=2,
                      shards=5)
    assert out.getvalue() == engine.evaluate([str(path)],
                                             as_of="2026-11-27T12:00:00-05:00").to_json()
    reviewed = [f for f in json.loads(out.getvalue())["findings"]
                if f["outcome"] == "reviewed"]
    assert [(f["subject"], f["message"]) for f in reviewed] == [
        ("acme/2026-10", "review IR-7 by dana"), ("zenith/2026-10", "review IR-8 by lee")]
