"""The JSON Schemas and the readable diagnostics built from them."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from policyengine.diagnostics import Diagnostic
from policyengine.load.loader import load_document, load_text
from policyengine.validation.schemas import (
    SCHEMA_NAMES,
    load_schema,
    validate_document,
    validate_fact,
)

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies" / "spirion" / "1.0.0.yaml"
RULE_PACKS = sorted((ROOT / "rules").glob("*.yaml"))
POLICY_TEXT = POLICY.read_text(encoding="utf-8")

FACTS_TEXT = """\
apiVersion: policyengine/v1
kind: FactSet
facts:
  - type: subscription
    customer: acme
    plan: production
    deployment: saas
    license: subscription
    annual_fee: "120000.00"
    currency: USD
    term_start: "2026-01-01"
    term_end: "2026-12-31"
    renewed: true
    support: active
    contact: ops@acme.example
  - type: subscription
    customer: globex
    plan: beta
    deployment: on_premise
    license: perpetual
    annual_fee: 48000.50
    currency: EUR
    term_start: "2026-01-01"
    term_end: "2026-12-31"
    renewed: false
    support: lapsed
  - type: downtime
    id: d-1
    start: 2026-10-05T14:00:00-04:00
    end: "2026-10-05T16:30:00-04:00"
    cause: vendor
    maintenance: scheduled
    customers: [acme]
    ticket_ref: INC-77
  - type: notice
    id: n-1
    kind: scheduled_downtime
    about: d-1
    sent_at: "2026-10-02T09:00:00Z"
    channel: email
  - type: change
    id: c-1
    kind: significant
    deployed_at: "2026-10-12T22:00:00-04:00"
  - type: ticket
    id: t-1
    customer: acme
    opened_at: "2026-10-05T17:30:00-04:00"
    impact:
      loss_of_service: true
      critical_function: false
      production_degraded: true
      workaround_available: false
    first_response_at: "2026-10-06T09:45:00-04:00"
    resolved_at: null
    status_history:
      - {at: "2026-10-06T10:00:00-04:00", status: waiting_on_customer}
  - type: ticket
    id: t-2
    customer: acme
    opened_at: "2026-10-07T10:00:00.250+00:00"
    severity: 2
  - type: credit_request
    customer: acme
    month: 2026-10
    requested_at: "2026-11-20T10:00:00-05:00"
  - type: update_request
    id: u-1
    customer: globex
    requested_at: "2026-10-20T10:00:00-04:00"
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the only occurrence of ``needle``."""
    assert text.count(needle) == 1, f"{needle!r} must occur exactly once"
    return text[: text.index(needle)].count("\n") + 1


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def policy_problems(text: str) -> list[Diagnostic]:
    return validate_document(load_text(text, "policy.yaml"), "policy")


def facts_problems(text: str) -> list[Diagnostic]:
    return validate_document(load_text(text, "facts.yaml"), "facts")


def rules_problems(text: str) -> list[Diagnostic]:
    return validate_document(load_text(text, "rules.yaml"), "rules")


def summary(problems: list[Diagnostic]) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in problems]


# -- the shipped files are valid ----------------------------------------------------------
def test_shipped_policy_is_valid() -> None:
    assert validate_document(load_document(POLICY), "policy") == []


@pytest.mark.parametrize("pack", RULE_PACKS, ids=lambda p: p.name)
def test_shipped_rule_packs_are_valid(pack: Path) -> None:
    assert validate_document(load_document(pack), "rules") == []


def test_rule_packs_exist() -> None:
    assert RULE_PACKS


def test_fact_set_example_is_valid() -> None:
    assert facts_problems(FACTS_TEXT) == []


def test_decimals_are_numbers() -> None:
    document = load_text(POLICY_TEXT, "policy.yaml")
    target = document.data["spec"]["availability"][0]["target_percent"]
    assert isinstance(target, Decimal)
    assert validate_document(document, "policy") == []
    out_of_range = load_text(edit(POLICY_TEXT, "target_percent: 99.0", "target_percent: 100.5"),
                             "policy.yaml")
    assert summary(validate_document(out_of_range, "policy")) == [
        ("$.spec.availability[0].target_percent", "'100.5' is above the maximum of 100"),
    ]


# -- broken policies ---------------------------------------------------------------------
def test_unknown_top_level_key_with_did_you_mean() -> None:
    text = edit(POLICY_TEXT, "\nmetadata:\n", "\nmetdata:\n")
    problems = policy_problems(text)
    assert summary(problems) == [
        ("$", "missing required field 'metadata'"),
        ("$.metdata", "unknown field 'metdata'"),
    ]
    unknown = problems[1]
    assert unknown.hint == "did you mean 'metadata'?"
    assert unknown.line == line_of(text, "metdata:")
    assert unknown.code == "schema"
    assert unknown.file == "policy.yaml"
    assert "did you mean 'metadata'?" in unknown.render()


def test_unknown_field_without_close_match_lists_allowed_fields() -> None:
    text = edit(POLICY_TEXT, "  timezone: America/New_York\n\n", "  timezone: America/New_York\n"
                "  colour: blue\n\n")
    (problem,) = policy_problems(text)
    assert (problem.path, problem.message) == ("$.spec.colour", "unknown field 'colour'")
    assert problem.hint.startswith("allowed here: timezone, calendars, availability")
    assert (problem.line, problem.column) == (line_of(text, "colour: blue"), 3)


def test_unknown_clause_term_with_did_you_mean() -> None:
    text = edit(POLICY_TEXT, "      windows_per_month: 1\n",
                "      window_per_month: 1\n")
    problems = policy_problems(text)
    assert summary(problems) == [
        ("$.spec.exclusions[1]", "missing required field 'windows_per_month'"),
        ("$.spec.exclusions[1].window_per_month", "unknown field 'window_per_month'"),
    ]
    assert problems[1].hint == "did you mean 'windows_per_month'?"
    assert problems[1].line == line_of(text, "window_per_month: 1")
    assert problems[1].column == 7  # the key itself, not its value


def test_target_percent_above_maximum() -> None:
    text = edit(POLICY_TEXT, "target_percent: 99.0", "target_percent: 199")
    (problem,) = policy_problems(text)
    assert problem.path == "$.spec.availability[0].target_percent"
    assert problem.message == "'199' is above the maximum of 100"
    assert problem.line == line_of(text, "target_percent: 199")


def test_target_percent_zero_is_refused() -> None:
    text = edit(POLICY_TEXT, "target_percent: 99.0", "target_percent: 0")
    assert summary(policy_problems(text)) == [
        ("$.spec.availability[0].target_percent", "'0' must be above 0"),
    ]


@pytest.mark.parametrize("bad", ["-4h", "48 hours"])
def test_bad_duration(bad: str) -> None:
    text = edit(POLICY_TEXT, "        lead: 48h\n", f"        lead: {bad}\n")
    (problem,) = policy_problems(text)
    assert problem.path == "$.spec.exclusions[0].notice.lead"
    assert problem.message == f"expected a duration like 48h, 7d or 30m, got '{bad}'"
    assert problem.line == line_of(text, f"lead: {bad}")


def test_claim_window_needs_days() -> None:
    text = edit(POLICY_TEXT, "window: 60d", "window: 1440h")
    assert summary(policy_problems(text)) == [
        ("$.spec.credits[1].window",
         "expected a number of days like 60d (or weeks like 2w), unlimited, or "
         "{months: 1, to: end_of_month}, got '1440h'"),
    ]


def test_missing_ref() -> None:
    ref = '      ref: "Service Level Addendum > Exclusions > Excused Downtime"\n'
    text = edit(POLICY_TEXT, ref, "")
    (problem,) = policy_problems(text)
    assert problem.path == "$.spec.exclusions[2]"
    assert problem.message == "missing required field 'ref'"
    assert problem.line == line_of(text, "- id: excused-downtime")


def test_unknown_clause_kind() -> None:
    text = edit(POLICY_TEXT, "kind: excluded_plan\n", "kind: excluded_plans\n")
    (problem,) = policy_problems(text)
    assert problem.path == "$.spec.exclusions[3].kind"
    assert problem.message.startswith(
        "unknown clause kind 'excluded_plans'; expected one of: calendar, "
        "regional_calendar, availability_commitment, scheduled_maintenance,"
    )
    assert problem.hint == "did you mean 'excluded_plan'?"
    assert problem.line == line_of(text, "kind: excluded_plans")


def test_unknown_plan_in_policy() -> None:
    text = edit(POLICY_TEXT, "plans: [production]", "plans: [gold]")
    assert summary(policy_problems(text)) == [
        ("$.spec.availability[0].plans[0]",
         "unknown plan 'gold'; expected one of: production, beta, trial, pilot"),
    ]


def test_business_clock_needs_a_calendar() -> None:
    text = edit(POLICY_TEXT, "resolution: {target: 48h, clock: business, calendar: support-hours}",
                "resolution: {target: 48h, clock: business}")
    assert summary(policy_problems(text)) == [
        ("$.spec.support[1].resolution", "missing required field 'calendar'"),
    ]


def test_severity_definition_is_checked() -> None:
    text = edit(POLICY_TEXT, "- {production_degraded: true}",
                "- {production_degraded: {gte: 1, lte: 2}}")
    text = edit(text, "- {workaround_available: false}", "- {workaround_available: {sometimes: 1}}")
    assert summary(policy_problems(text)) == [
        ("$.spec.support[0].definition.all[1].workaround_available.sometimes",
         "unknown field 'sometimes'"),
        ("$.spec.support[1].definition.all[0].production_degraded",
         "use exactly one test here, such as {gte: 4} or {in: [a, b]}"),
    ]


def test_unknown_time_zone_and_unquoted_version() -> None:
    text = edit(POLICY_TEXT, '  version: "1.0.0"', "  version: 1.0")
    text = edit(text, "spec:\n  timezone: America/New_York", "spec:\n  timezone: America/NewYork")
    problems = policy_problems(text)
    assert summary(problems) == [
        ("$.metadata.version", "expected text, got the number 1.0"),
        ("$.spec.timezone", "unknown time zone 'America/NewYork'"),
    ]
    assert problems[0].hint == "put the value in quotes"
    assert problems[1].hint == "did you mean 'America/New_York'?"


def test_bad_dates() -> None:
    text = edit(POLICY_TEXT, 'from: "2020-01-01"', 'from: "2020-02-30"')
    text = edit(text, "until: null", "until: 2021")
    assert summary(policy_problems(text)) == [
        ("$.metadata.effective.from", "'2020-02-30' is not a real calendar date"),
        ("$.metadata.effective.until", "expected text or null, got the number 2021"),
    ]


def test_all_independent_errors_sorted_by_line() -> None:
    text = edit(POLICY_TEXT, "target_percent: 99.0", "target_percent: 199")
    text = edit(text, "        lead: 48h\n", "        lead: 48 hours\n")
    text = edit(text, "rounding: half_up", "rounding: nearest")
    text = edit(text, "\nkind: Policy\n", "\nkind: Polcy\n")
    problems = policy_problems(text)
    assert [p.path for p in problems] == [
        "$.kind",
        "$.spec.availability[0].target_percent",
        "$.spec.exclusions[0].notice.lead",
        "$.spec.credits[0].rounding",
    ]
    assert problems[0].message == "expected 'Policy', got 'Polcy'"
    lines = [p.line for p in problems]
    assert lines == sorted(lines) and lines[0] == line_of(text, "kind: Polcy")


# -- broken fact files -------------------------------------------------------------------
def test_unknown_fact_type() -> None:
    text = FACTS_TEXT + "  - {type: outage, id: o-1}\n"
    (problem,) = facts_problems(text)
    assert problem.path == "$.facts[9].type"
    assert problem.message == (
        "unknown fact type 'outage'; expected one of: subscription, downtime, notice, change, "
        "ticket, credit_request, update_request"
    )
    assert problem.subject == "o-1"
    assert problem.line == line_of(text, "type: outage")


def test_declared_fact_types_can_be_allowed() -> None:
    text = FACTS_TEXT + "  - {type: outage, id: o-1}\n"
    assert validate_document(load_text(text, "f.yaml"), "facts", allow_fact_types=["outage"]) == []


def test_timestamp_without_offset() -> None:
    text = edit(FACTS_TEXT, 'end: "2026-10-05T16:30:00-04:00"', 'end: "2026-10-05T16:30:00"')
    (problem,) = facts_problems(text)
    assert problem.path == "$.facts[2].end"
    assert problem.message == (
        "timestamp '2026-10-05T16:30:00' has no offset; a timestamp without an offset is "
        "refused (write e.g. 2026-10-05T16:30:00Z or 2026-10-05T16:30:00-05:00)"
    )
    assert problem.subject == "d-1"
    assert problem.line == line_of(text, 'end: "2026-10-05T16:30:00"')


def test_bad_timestamps() -> None:
    text = edit(FACTS_TEXT, 'sent_at: "2026-10-02T09:00:00Z"', 'sent_at: "2026-02-30T09:00:00Z"')
    text = edit(text, 'deployed_at: "2026-10-12T22:00:00-04:00"', "deployed_at: next tuesday")
    assert summary(facts_problems(text)) == [
        ("$.facts[3].sent_at", "'2026-02-30T09:00:00Z' is not a real date and time"),
        ("$.facts[4].deployed_at",
         "expected a timestamp with an offset or Z, like 2026-10-05T14:00:00-04:00, "
         "got 'next tuesday'"),
    ]


def test_unknown_plan_in_facts() -> None:
    text = edit(FACTS_TEXT, "plan: production", "plan: gold")
    (problem,) = facts_problems(text)
    assert (problem.path, problem.message) == (
        "$.facts[0].plan",
        "unknown plan 'gold'; expected one of: production, beta, trial, pilot",
    )
    assert problem.subject == "acme"
    assert problem.line == line_of(text, "plan: gold")


def test_fact_field_errors() -> None:
    text = edit(FACTS_TEXT, "    severity: 2\n", "    severity: 0\n")
    text = edit(text, 'annual_fee: "120000.00"', 'annual_fee: "$120,000"')
    text = edit(text, "      loss_of_service: true\n", "      loss_of_service: yes please\n")
    text = edit(text, "    id: n-1\n", "")
    assert summary(facts_problems(text)) == [
        ("$.facts[0].annual_fee",
         "expected an amount like 120000.00 (at most 15 digits, a decimal point and at most 6 "
         "more; no sign, exponent, currency sign or separators), got '$120,000'"),
        ("$.facts[3]", "missing required field 'id'"),
        ("$.facts[5].impact.loss_of_service", "expected true or false, got text 'yes please'"),
        ("$.facts[6].severity", "'0' is below the minimum of 1"),
    ]


def test_unknown_fact_fields_are_kept() -> None:
    text = edit(FACTS_TEXT, "    ticket_ref: INC-77\n",
                "    ticket_ref: INC-77\n    extra: {a: 1}\n")
    assert facts_problems(text) == []


# -- NDJSON: one fact per line ------------------------------------------------------------
def test_validate_fact_for_ndjson_lines() -> None:
    good = json.loads(
        '{"type": "downtime", "id": "d-9", "start": "2026-10-05T14:00:00Z", '
        '"end": "2026-10-05T15:00:00Z", "cause": "third_party", "maintenance": "none"}'
    )
    assert validate_fact(good, "facts.ndjson", 7) == []
    bad = dict(good, start="2026-10-05T14:00:00", cause="ddos")
    problems = validate_fact(bad, "facts.ndjson", 7)
    assert summary(problems) == [
        ("$.cause", "unknown cause 'ddos'; expected one of: vendor, customer, third_party, "
                    "force_majeure"),
        ("$.start", "timestamp '2026-10-05T14:00:00' has no offset; a timestamp without an "
                    "offset is refused (write e.g. 2026-10-05T14:00:00Z or "
                    "2026-10-05T14:00:00-05:00)"),
    ]
    assert all((p.file, p.line, p.subject) == ("facts.ndjson", 7, "d-9") for p in problems)
    assert problems[0].render().startswith("facts.ndjson:7:")


def test_validate_fact_unknown_type_and_non_object() -> None:
    assert summary(validate_fact({"type": "outage"}, "f.ndjson", 1))[0][0] == "$.type"
    assert validate_fact({"type": "outage"}, "f.ndjson", 1, allow_fact_types={"outage"}) == []
    assert summary(validate_fact([1, 2], "f.ndjson", 2)) == [
        ("$", "expected a set of named fields, got a list"),
    ]
    assert summary(validate_fact({"id": "x"}, "f.ndjson", 3)) == [
        ("$", "missing required field 'type'"),
    ]


def test_validate_fact_agrees_with_the_fact_definition() -> None:
    schema = load_schema("facts")
    assert schema["definitions"]["fact"]["properties"]["type"]["enum"] == [
        "subscription", "downtime", "notice", "change", "ticket", "credit_request",
        "update_request",
    ]
    validator = Draft7Validator({"$ref": "#/definitions/fact", **schema})
    for fact in load_text(FACTS_TEXT, "facts.yaml").data["facts"]:
        assert validator.is_valid(fact)
        assert validate_fact(fact, "facts.ndjson", 1) == []


# -- broken rule packs -------------------------------------------------------------------
def test_rule_pack_errors() -> None:
    text = (ROOT / "rules" / "notices.yaml").read_text(encoding="utf-8")
    text = edit(text, "combine: max}", "combine: maximum}")
    text = edit(text, "    for_clause: notice_obligation\n    if_terms: {strength: binding}",
                "    for_clause: notice_obligations\n    if_terms: {strength: binding}")
    text = edit(text, "      s: {type: notice_subject, kind: {term: subject}, met: false}\n"
                "    then:\n      subject: s\n      outcome: breach",
                "      s: {kind: {term: subject}, met: {is: false}}\n"
                "    then:\n      subject: s\n      outcome: breach")
    problems = rules_problems(text)
    assert summary(problems) == [
        ("$.rules[1].then.set[0].combine",
         "unknown combine mode 'maximum'; expected one of: max, min, all, any, unique"),
        ("$.rules[3].for_clause",
         problems[1].message),
        ("$.rules[3].when.s", "missing required field 'type'"),
        ("$.rules[3].when.s.met.is", "unknown field 'is'"),
    ]
    assert problems[1].message.startswith("unknown clause kind 'notice_obligations'")
    assert problems[1].hint == "did you mean 'notice_obligation'?"


def test_rule_pack_unknown_key_and_bad_alias() -> None:
    text = (ROOT / "rules" / "entitlements.yaml").read_text(encoding="utf-8")
    text = edit(text, "      r: {type: update_request, in_term: true, license: {in: {term: "
                "entitled_licenses}}}",
                "      R: {type: update_request, in_term: true, license: {in: {term: "
                "entitled_licenses}}}")
    text = edit(text, "    stage: entitlements\n    for_clause: support_lapse",
                "    stages: entitlements\n    for_clause: support_lapse")
    assert summary(rules_problems(text)) == [
        ("$.rules[0].when.R", "expected an alias in lowercase letters, like w or m, got 'R'"),
        ("$.rules[2]", "missing required field 'stage'"),
        ("$.rules[2].stages", "unknown field 'stages'"),
    ]


# -- the schemas themselves --------------------------------------------------------------
def _nodes(node: object, where: str):
    """Yield (where, schema) for every subschema, skipping values and `if` selectors."""
    if isinstance(node, dict):
        yield where, node
        for key, sub in node.items():
            if key in ("enum", "const", "examples", "if"):
                continue
            if key in ("properties", "definitions"):
                for name, prop in sub.items():
                    yield from _nodes(prop, f"{where}.{key}.{name}")
            else:
                yield from _nodes(sub, f"{where}.{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from _nodes(sub, f"{where}[{index}]")


def _walk(node: object, where: str):
    """Yield (where, property schema) for every property declared anywhere in a schema."""
    for at, schema in _nodes(node, where):
        for name, sub in (schema.get("properties") or {}).items():
            yield f"{at}.properties.{name}", sub


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_07(name: str) -> None:
    schema = load_schema(name)
    Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["$id"] == f"https://policyengine.dev/schemas/v1/{name}.schema.json"
    assert schema["title"] and schema["description"]
    for definition, sub in schema.get("definitions", {}).items():
        assert sub.get("description"), f"definition {definition} has no description"


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_property_has_a_description(name: str) -> None:
    missing = [where for where, sub in _walk(load_schema(name), "$")
               if not (isinstance(sub, dict) and sub.get("description"))]
    assert missing == []


def test_policy_schema_is_strict_where_the_format_is_ours() -> None:
    loose = [where for where, sub in _nodes(load_schema("policy"), "$")
             if "properties" in sub and "additionalProperties" not in sub]
    assert loose == ["$.definitions.clause"]  # closed per kind, by the kind's definition


def test_schema_files_are_the_ones_loaded() -> None:
    for name in SCHEMA_NAMES:
        on_disk = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text("utf-8"))
        assert load_schema(name) == on_disk
        assert load_schema(name) is load_schema(name)
    with pytest.raises(ValueError, match="unknown schema"):
        load_schema("nope")


def test_importing_does_not_load_jsonschema() -> None:
    code = "import sys, policyengine.validation.schemas; print('jsonschema' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
