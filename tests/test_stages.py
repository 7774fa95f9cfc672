"""Declared stages: rule packs that cannot silently decide nothing, and a declaration that
cannot drift from what the evaluator builds."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from policyengine.api import Engine, compile_versions, load_policies, load_rule_packs
from policyengine.cli.main import main
from policyengine.compile import stages
from policyengine.compile.compiler import CompiledStage
from policyengine.diagnostics import InputError
from policyengine.engine.base import Firing
from policyengine.engine.python_backend import PythonBackend
from policyengine.load.loader import load_document

from .conftest import ROOT, SHIPPED

EXAMPLE = ROOT / "examples" / "october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"
STAGE_LIST = ("window-exclusions, window-verdicts, months, credits, credit-caps, remedies, "
              "ticket-severity, "
              "ticket-clocks, obligations, obligation-verdicts, entitlements")


def _cli(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.exit_code, result.output.splitlines()


def _pack_copy(tmp_path: Path, pack: str, old: str, new: str) -> Path:
    """A copy of the shipped rules/ with one edit in one pack."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    text = (rules / pack).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    (rules / pack).write_text(text.replace(old, new), encoding="utf-8")
    return rules


# (pack, old text, new text, FILE:LINE:COL suffix after the pack's path)
MISSPELLINGS = {
    "stage": (
        "availability.yaml",
        "  - id: credit-for-renewed-order\n    stage: credits\n",
        "  - id: credit-for-renewed-order\n    stage: credit\n",
        ":204:12: $.rules[12].stage: unknown stage 'credit'; expected one of: "
        f"{STAGE_LIST} (did you mean 'credits'?)"),
    "fact type": (
        "availability.yaml",
        "      m: {type: customer_month, covered: true, met: false, renewed: true}",
        "      m: {type: customer_mnth, covered: true, met: false, renewed: true}",
        ":207:17: $.rules[12].when.m.type: unknown fact type 'customer_mnth' in stage credits; "
        "it receives: customer_month, credit_tier; a policy may declare other fact types in "
        "spec.fact_types (did you mean 'customer_month'?)"),
    "condition field": (
        "availability.yaml",
        "      m: {type: customer_month, covered: true, met: false, renewed: true}",
        "      m: {type: customer_month, coverd: true, met: false, renewed: true}",
        ":207:33: $.rules[12].when.m.coverd: unknown field 'coverd' of customer_month facts "
        "in stage credits (did you mean 'covered'?)"),
    "join field": (
        "availability.yaml",
        "        requested_at: {lt: {fact: m.claim_deadline}}",
        "        requested_at: {lt: {fact: m.claim_deadlin}}",
        ":239:35: $.rules[14].when.m.requested_at.lt.fact: 'm.claim_deadlin': unknown field "
        "'claim_deadlin' of customer_month facts in stage credits "
        "(did you mean 'claim_deadline'?)"),
    "set field": (
        "availability.yaml",
        "        - {subject: m, field: form, value: {term: form.renewed}}",
        "        - {subject: m, field: from, value: {term: form.renewed}}",
        ":210:31: $.rules[12].then.set[0].field: stage credits decides no field 'from' of "
        "customer_month facts; it decides: form, status, tier (did you mean 'form'?)"),
    "message placeholder": (
        "availability.yaml",
        'message: "a full {m.period_unit} of a {m.plan} {m.deployment} subscription (term '
        '{m.term_text})"',
        'message: "a full {m.period_unit} of a {m.plan} {m.deploymnet} subscription (term '
        '{m.term_text})"',
        ":124:16: $.rules[6].then.message: placeholder {m.deploymnet}: unknown field "
        "'deploymnet' of customer_month facts in stage months (did you mean 'deployment'?)"),
    # terms: checked against the for_clause kind's schema in the clause registry
    "term in a condition": (
        "availability.yaml",
        "        kind: {term: notice.kind}\n",
        "        kind: {term: notice.knd}\n",
        ":34:22: $.rules[1].when.n.kind.term: term 'notice' of clause kind "
        "'scheduled_maintenance' has no term 'knd' (in 'notice.knd'); it has: kind, lead, "
        "channels (did you mean 'kind'?)"),
    "term in a set value": (
        "availability.yaml",
        "        - {subject: m, field: form, value: {term: form.renewed}}",
        "        - {subject: m, field: form, value: {term: form.renwed}}",
        ":210:51: $.rules[12].then.set[0].value.term: term 'form' of clause kind "
        "'service_credit' has no term 'renwed' (in 'form.renwed'); it has: renewed, "
        "not_renewed (did you mean 'renewed'?)"),
    "term in a message": (
        "notices.yaml",
        "by {term:channels} at least {term:lead} ahead of {s.at_text}: {s.notice_text}\"",
        "by {term:chanels} at least {term:lead} ahead of {s.at_text}: {s.notice_text}\"",
        ":65:16: $.rules[3].then.message: clause kind 'notice_obligation' has no term "
        "'chanels'; it has: subject, notice_kind, lead, channels, strength "
        "(did you mean 'channels'?)"),
    # on main before this check: validate ok, evaluate exit 0 and the 4 breach findings of
    # binding-notice-missed gone (the misspelled path is never present, so the rule never
    # compiled for any clause)
    "if_terms path": (
        "notices.yaml",
        "    if_terms: {strength: binding}\n",
        "    if_terms: {strenght: binding}\n",
        ":59:16: $.rules[3].if_terms.strenght: clause kind 'notice_obligation' has no term "
        "'strenght'; it has: subject, notice_kind, lead, channels, strength "
        "(did you mean 'strength'?)"),
}


@pytest.mark.parametrize("case", list(MISSPELLINGS))
def test_misspelling_is_refused_by_validate(tmp_path: Path, case: str) -> None:
    pack, old, new, expected = MISSPELLINGS[case]
    rules = _pack_copy(tmp_path, pack, old, new)
    code, lines = _cli("validate", str(rules))
    assert code == 2
    assert lines == [f"{rules / pack}{expected}"]


@pytest.mark.parametrize("case", list(MISSPELLINGS))
def test_misspelling_is_refused_by_evaluate(tmp_path: Path, case: str) -> None:
    pack, old, new, expected = MISSPELLINGS[case]
    rules = _pack_copy(tmp_path, pack, old, new)
    code, lines = _cli("evaluate", "--policy", str(ROOT / "policies" / "spirion"),
                       "--facts", str(EXAMPLE), "--as-of", AS_OF, "--rules", str(rules))
    assert code == 2
    assert lines == [f"{rules / pack}{expected}"]


def _problems(rules: Path) -> list[str]:
    with pytest.raises(InputError) as raised:
        compile_versions(load_policies(SHIPPED), load_rule_packs(rules))
    return [d.render().replace(f"{rules}/", "") for d in raised.value.diagnostics]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("      m: {type: customer_month, in_term: true, plan: {in: {term: plans}}}",
     "      m: {type: window, plan: {in: {term: plans}}}",
     "availability.yaml:164:17: $.rules[9].when.m.type: stage months receives no window facts "
     "(they go to window-exclusions, window-verdicts); it receives: customer_month"),
    ("      m: {type: customer_month, in_term: true, plan: {in: {term: plans}}}",
     "      m: {type: customer_month, covered: true}",
     "availability.yaml:164:33: $.rules[9].when.m.covered: unknown field 'covered' of "
     "customer_month facts in stage months; this stage decides it, so its own rules cannot "
     "read it"),
    ("      w: {type: window, in_term: true, excluded_up_to: 0}",
     "      w: {type: window, in_term: true, excused: true}",
     "availability.yaml:84:40: $.rules[4].when.w.excused: unknown field 'excused' of window "
     "facts in stage window-verdicts; it is decided in stage window-exclusions and not passed "
     "on to later stages"),
    ("      w: {type: window, in_term: true, excluded_up_to: 0}\n    then:\n",
     "      w: {type: window, in_term: true, excluded_up_to: 0}\n    then:\n      set:\n"
     "        - {subject: w, field: excused, value: true}\n",
     "availability.yaml:87:31: $.rules[4].then.set[0].field: stage window-verdicts decides "
     "nothing about window facts, so a set here would never be read; its rules only report "
     "findings"),
    ('message: "no exclusion applies ({w.exclusion_text}): the whole window counts as '
     'downtime, {w.counted_text} from {w.start_text} to {w.end_text}"',
     'message: "window {x.key} counts as downtime"',
     "availability.yaml:88:16: $.rules[4].then.message: placeholder {x.key} names no alias of "
     "the rule (aliases: w)"),
])
def test_more_refusals(tmp_path: Path, old: str, new: str, expected: str) -> None:
    rules = _pack_copy(tmp_path, "availability.yaml", old, new)
    assert _problems(rules) == [expected]
    code, lines = _cli("validate", str(rules))
    assert (code, [line.replace(f"{rules}/", "") for line in lines]) == (2, [expected])


def test_impact_flags_are_not_carried_into_ticket_clocks(tmp_path: Path) -> None:
    rules = _pack_copy(tmp_path, "support.yaml",
                       "        severity_source: assigned\n        has_impact: true\n",
                       "        severity_source: assigned\n        loss_of_service: true\n")
    assert _problems(rules) == [
        "support.yaml:63:9: $.rules[3].when.t.loss_of_service: unknown field "
        "'loss_of_service' of ticket facts in stage ticket-clocks; ticket facts carry it in "
        "stage ticket-severity"]


def test_a_misspelled_field_in_a_policy_condition_is_refused(tmp_path: Path) -> None:
    """``where: {term: definition}`` inlines the policy's condition: its fields count too."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count("- {loss_of_service: true}") == 1
    policy = tmp_path / "1.0.0.yaml"
    policy.write_text(text.replace("- {loss_of_service: true}", "- {los_of_service: true}"),
                      encoding="utf-8")
    code, lines = _cli("validate", str(policy))
    assert code == 2
    assert lines == [
        f"{ROOT / 'rules' / 'support.yaml'}:{at}: $.rules[{rule}].when.t.where: term "
        "'definition' of clause 'severity-1' tests a field: unknown field 'los_of_service' of "
        "ticket facts in stage ticket-severity; an extra field of ticket records is read only "
        "when the pack declares it: extra_fields: {ticket: [los_of_service]} (compiling for "
        f"clause 'severity-1' of {policy}) (did you mean 'loss_of_service'?)"
        for at, rule in (("33:16", 1), ("50:16", 2))]  # severity-from-impact, impact-level


# -- extension fields ----------------------------------------------------------------------
REGION_RULE = """\
  - id: window-region
    stage: window-verdicts
    for_clause: availability_commitment
    when:
      w: {type: window, region: eu}
    then:
      subject: w
      outcome: regional
      message: "an outage in {w.region} ({w.rack})"
"""


def _region_pack(tmp_path: Path, declare: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "regions.yaml").write_text(
        "apiVersion: policyengine/v1\nkind: RulePack\nmetadata: {name: regions}\n"
        f"{declare}rules:\n{REGION_RULE}", encoding="utf-8")
    return rules


def test_an_undeclared_extension_field_is_refused(tmp_path: Path) -> None:
    rules = _region_pack(tmp_path, "")
    expected = [
        "regions.yaml:9:25: $.rules[0].when.w.region: unknown field 'region' of window facts in "
        "stage window-verdicts; an extra field of downtime records is read only when the pack "
        "declares it: extra_fields: {window: [region]}",
        "regions.yaml:13:16: $.rules[0].then.message: placeholder {w.rack}: unknown field "
        "'rack' of window facts in stage window-verdicts; an extra field of downtime records "
        "is read only when the pack declares it: extra_fields: {window: [rack]}",
        "regions.yaml:13:16: $.rules[0].then.message: placeholder {w.region}: unknown field "
        "'region' of window facts in stage window-verdicts; an extra field of downtime records "
        "is read only when the pack declares it: extra_fields: {window: [region]}",
    ]
    assert _problems(rules) == expected
    code, lines = _cli("validate", str(rules))
    assert (code, [line.replace(f"{rules}/", "") for line in lines]) == (2, expected)


def test_a_record_field_that_never_reaches_the_rules_gets_a_hint_that_works(
        tmp_path: Path) -> None:
    """``{w.id}``: the hint used to say ``extra_fields: {window: [id]}``, which is refused
    ("'id' is a standard field ..."); it now names the field that carries the id (a
    window's ``downtime``; its key is customer/id; a ticket's ``key``; attack16b G4). A record's
    ``cause`` is read by the evaluator (excused causes), never an extra field."""
    rules = _region_pack(tmp_path, "")
    pack = rules / "regions.yaml"
    pack.write_text(pack.read_text(encoding="utf-8").replace(
        "({w.rack})", "({w.id}, {w.impact})"), encoding="utf-8")
    problems = [p for p in _problems(rules) if "{w.id}" in p or "{w.impact}" in p]
    assert problems == [
        "regions.yaml:13:16: $.rules[0].then.message: placeholder {w.id}: unknown field 'id' "
        "of window facts in stage window-verdicts; a downtime record's id reaches the rules "
        "as the fact's downtime: read downtime",
        "regions.yaml:13:16: $.rules[0].then.message: placeholder {w.impact}: unknown field "
        "'impact' of window facts in stage window-verdicts; a downtime record's impact is "
        "read by the evaluator and never reaches the rules under that name (it cannot be an "
        "extra field)",
    ]


@pytest.mark.parametrize("backend", ["durable", "python"])
def test_a_declared_extension_field_reaches_the_rule(tmp_path: Path, backend: str) -> None:
    rules = _region_pack(tmp_path, "extra_fields:\n  window: [region, rack]\n")
    assert _cli("validate", str(rules))[0] == 0
    facts = load_document(EXAMPLE).data["facts"]
    downtime = next(f for f in facts if f["type"] == "downtime")
    tagged = [{**downtime, "region": "eu", "rack": "r7"} if f is downtime else f for f in facts]
    engine = Engine.load(ROOT / "policies" / "spirion", rules=rules, backend=backend)
    found = [(f.subject, f.message) for f in engine.evaluate(tagged, as_of=AS_OF).findings
             if f.outcome == "regional"]
    assert found == [(f"{c}/{downtime['id']}", "an outage in eu (r7)")
                     for c in ("acme", "globex")]


@pytest.mark.parametrize(("declare", "expected"), [
    ("extra_fields:\n  customer_month: [region]\n  window: [region, rack]\n",
     "regions.yaml:5:3: $.extra_fields.customer_month: customer_month facts carry no extra "
     "fields; only window, ticket, update_request facts do"),
    ("extra_fields:\n  window: [region, rack, plan]\n",
     "regions.yaml:5:26: $.extra_fields.window[2]: 'plan' is a standard field of window facts "
     "or downtime records: an extra field by that name never reaches the rules"),
    ("extra_fields:\n  windw: [region]\n  window: [region, rack]\n",
     "regions.yaml:5:3: $.extra_fields.windw: unknown fact type 'windw' "
     "(did you mean 'window'?)"),
])
def test_bad_extra_fields(tmp_path: Path, declare: str, expected: str) -> None:
    rules = _region_pack(tmp_path, declare)
    code, lines = _cli("validate", str(rules))
    assert (code, [line.replace(f"{rules}/", "") for line in lines]) == (2, [expected])


# -- the --rules directory -----------------------------------------------------------------
@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p, "no such rule-pack directory"),
    (lambda p: (p.write_text("x: 1\n", encoding="utf-8"), p)[1],
     "not a directory: rules are read from a directory of rule packs (*.yaml)"),
    (lambda p: (p.mkdir(), p)[1],
     "no rule packs (*.yaml) in this directory: nothing would be decided"),
])
def test_a_rules_directory_that_holds_no_rules_is_refused(tmp_path: Path, make: Any,
                                                          message: str) -> None:
    rules = make(tmp_path / "rules")
    code, lines = _cli("evaluate", "--policy", str(SHIPPED), "--facts", str(EXAMPLE),
                       "--as-of", AS_OF, "--rules", str(rules))
    assert (code, lines) == (2, [f"{rules}:0:0: $: {message}"])


# -- the declaration matches the evaluator -------------------------------------------------
class _Recording:
    """A back-end that records every fact each stage is given."""

    name = "python"

    def __init__(self) -> None:
        self.inner = PythonBackend()
        self.seen: dict[str, list[Mapping[str, Any]]] = defaultdict(list)

    def run(self, stage: CompiledStage, facts: Sequence[Mapping[str, Any]]) -> list[Firing]:
        self.seen[stage.name].extend(dict(f) for f in facts)
        return self.inner.run(stage, facts)


EXTRAS = {"downtime": {"region": "eu"}, "ticket": {"tier": "gold"},
          "update_request": {"channel_note": "portal"}}


def _recorded() -> dict[str, list[Mapping[str, Any]]]:
    """The example, with an extra field on every record that may carry one, through every
    stage."""
    facts = [{**f, **EXTRAS.get(f["type"], {})} for f in load_document(EXAMPLE).data["facts"]]
    # a request before its month ended (the months stage's early_request_at)
    facts.append({"type": "credit_request", "customer": "globex", "month": "2026-10",
                  "requested_at": "2026-10-20T10:00:00-04:00",
                  **EXTRAS.get("credit_request", {})})
    recording = _Recording()
    engine = Engine(compile_versions(load_policies(ROOT / "policies" / "spirion"),
                                     load_rule_packs()), recording)  # type: ignore[arg-type]
    engine.evaluate(facts, as_of=AS_OF)
    # the support shapes (periodic updates, at-risk instants) under the levels test policy
    levels = ROOT / "tests" / "policies" / "support-levels.yaml"
    shaped = [
        {"type": "subscription", "customer": "globex", "plan": "production",
         "deployment": "saas", "license": "subscription", "annual_fee": "1.00",
         "currency": "USD", "term_start": "2026-01-01", "term_end": "2026-12-31",
         "renewed": True, "support": "active", "support_region": "emea"},
        {"type": "ticket", "id": "U-1", "customer": "globex", "severity": 1,
         "opened_at": "2026-10-14T22:00:00-04:00",
         "first_response_at": "2026-10-14T22:30:00-04:00",
         "updates": ["2026-10-15T00:15:00-04:00"]},
    ]
    shaped = [{**f, **EXTRAS.get(f["type"], {})} for f in shaped]
    Engine(compile_versions(load_policies(levels), load_rule_packs()),
           recording).evaluate(shaped, as_of="2026-10-15T01:00:00-04:00")  # type: ignore[arg-type]
    # a policy measured per quarter and per service (customer_month's `service`)
    forge = ROOT / "policies" / "examples" / "forge-quarterly"
    facts = [{**f, **EXTRAS.get(f["type"], {})}
             for f in load_document(forge / "tests" / "q4-2026.yaml").data["facts"]]
    engine = Engine(compile_versions(load_policies(forge), load_rule_packs()),
                    recording)  # type: ignore[arg-type]
    engine.evaluate(facts, as_of="2027-01-15T12:00:00-08:00")
    # the credit shapes (tiers, caps, chronic failure) through the same recording
    tiered = Engine(compile_versions(
        load_policies(ROOT / "policies" / "examples" / "tiered-percent"), load_rule_packs()),
        recording)  # type: ignore[arg-type]
    tiered_facts = load_document(ROOT / "examples" / "tiered-percent-2026.yaml").data["facts"]
    tiered.evaluate([{**f, **EXTRAS.get(f["type"], {})} for f in tiered_facts],
                    as_of="2026-11-15T00:00:00Z")
    # a claim window counted from the outage (customer_month's claim_window_words)
    claims = ROOT / "tests" / "cases" / "claims" / "claims-policy.yaml"
    with tempfile.TemporaryDirectory() as folder:
        incident = Path(folder) / "claims.yaml"
        incident.write_text(claims.read_text(encoding="utf-8").replace(
            "from: period_end", "from: incident"), encoding="utf-8")
        Engine(compile_versions(load_policies(incident), load_rule_packs()),
               recording).evaluate([  # type: ignore[arg-type]
            {"type": "subscription", "customer": "acme", "plan": "production",
             "deployment": "saas", "license": "subscription", "annual_fee": "1.00",
             "currency": "USD", "term_start": "2026-01-01", "term_end": "2026-12-31",
             "renewed": True, "support": "active"},
            {"type": "downtime", "id": "d-1", "start": "2026-10-08T10:00:00Z",
             "end": "2026-10-08T12:00:00Z", "cause": "vendor", "maintenance": "none",
             **EXTRAS["downtime"]},
            {"type": "credit_request", "customer": "acme", "month": "2026-10",
             "requested_at": "2026-10-12T00:00:00Z"}], as_of="2026-11-15T00:00:00Z")
    return recording.seen


@pytest.fixture(scope="module")
def recorded() -> dict[str, list[Mapping[str, Any]]]:
    return _recorded()


def test_every_fact_sent_to_a_stage_is_declared(recorded: dict) -> None:
    assert sorted(recorded, key=stages.STAGE_ORDER.index) == list(stages.STAGE_ORDER)
    for stage_name, facts in recorded.items():
        stage = stages.STAGES[stage_name]
        for fact in facts:
            declared = stage.fields_of(fact["type"])
            assert declared, (stage_name, fact["type"])
            spec = stages.FACT_TYPES[fact["type"]]
            extras = set(EXTRAS.get(spec.extras_from or "", {}))
            assert set(fact) <= declared | extras, (stage_name, set(fact) - declared)
            assert extras <= set(fact), (stage_name, fact["type"])  # extras do arrive


def test_every_field_holds_its_declared_kind(recorded: dict) -> None:
    """Field kinds (text, number, boolean) are what the evaluator really sends; null is
    allowed for any kind (a field that is absent for some facts)."""
    checked = 0
    for stage_name, facts in recorded.items():
        for fact in facts:
            for name, value in fact.items():
                kind = stages.field_kind(fact["type"], name)
                if kind is None or value is None:
                    continue
                assert stages.kind_of_value(value) == kind, (stage_name, fact["type"], name,
                                                             value)
                checked += 1
    assert checked > 900  # the example: 988 typed values over all stages


def test_every_declared_field_is_produced(recorded: dict) -> None:
    """The other way round: no declared field that the evaluator never builds."""
    for stage_name, facts in recorded.items():
        for fact_type, declared in stages.STAGES[stage_name].receives.items():
            seen = set().union(*(f for f in facts if f["type"] == fact_type))
            assert declared <= seen, (stage_name, fact_type, declared - seen)


def test_decided_fields_come_from_the_stage_that_decides_them() -> None:
    for stage_name in stages.STAGE_ORDER:
        stage = stages.STAGES[stage_name]
        earlier = stages.STAGE_ORDER[:stages.STAGE_ORDER.index(stage_name)]
        for fact_type, names in stage.receives.items():
            for name in names:
                decider = stages.FACT_TYPES[fact_type].fields[name].decided_in
                if decider is not None:
                    assert decider in earlier
                    assert name in stages.STAGES[decider].decides[fact_type]


def test_record_fields_match_the_facts_schema() -> None:
    schema = json.loads((ROOT / "schemas" / "facts.schema.json").read_text(encoding="utf-8"))
    for spec in stages.FACT_TYPES.values():
        if spec.extras_from:
            properties = schema["definitions"][spec.extras_from]["properties"]
            assert spec.record_fields == set(properties), spec.type


def test_the_rules_schema_is_generated_from_the_declaration() -> None:
    """Regenerate with compile.stages.stage_schema() / extra_fields_schema()."""
    schema = json.loads((ROOT / "schemas" / "rules.schema.json").read_text(encoding="utf-8"))
    assert schema["definitions"]["rule"]["properties"]["stage"] == stages.stage_schema()
    assert schema["properties"]["extra_fields"] == stages.extra_fields_schema()
    assert stages.stage_schema()["enum"] == STAGE_LIST.split(", ")


def test_docs_tables_are_generated_from_the_declaration() -> None:
    """Regenerate the section of docs/stages.md with compile.stages.reference_markdown()."""
    text = (ROOT / "docs" / "stages.md").read_text(encoding="utf-8")
    section = text.split("<!-- generated: stages.reference_markdown() -->\n")[1]
    assert section.split("<!-- end generated -->")[0] == stages.reference_markdown()
