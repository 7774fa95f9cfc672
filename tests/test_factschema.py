"""One strictness for every fact format (issue 16, part 4).

YAML and JSON documents are checked by jsonschema; NDJSON lines (and API dicts, imported
records) by the fact schema compiled to Python predicates (``validation/factschema.py``).
These tests prove the two agree: the compiled predicate against jsonschema on generated
facts full of junk, and the NDJSON path against the JSON path, end to end, with the same
located messages.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.diagnostics import InputError
from policyengine.validation import factschema, schemas
from policyengine.validation.facts import load_facts

from .test_hostile import base_facts

# Junk the adversarial pass used (and more): each is refused in JSON, so must be in NDJSON.
JUNK: list[Any] = [
    "1e5", "1E5", "1_000", "1e400", "NaN", "Infinity", "-5", "+5", "1.1234567", " 12", "12 ",
    "1234567890123456", "120,000.00", "$120", ".5", "5.", "0x10", "१२३",
    "usd", "US", "USDX", "USD\n", "U$D", "", " ",
    "2026-W40", "2026-W40-1", "2026-W40-1T10:00:00Z", "2026278", "20261005", "2026-10-5",
    "2026-10-05T10:00:00+01:00:30", "2026-10-05T10:00:00+0100", "2026-10-05T10:00:00+01",
    "2026-10-05T10Z", "20261005T100000Z", "2026-10-05T10:00:00z", "2026-10-05T10:00:00",
    "2026-10-05T10:00:00,5Z", "2026-10-05X10:00:00Z", "2026-10-05T10:00:00Z\n",
    "2026-02-30T10:00:00Z", "2026-10-05T24:00:00Z", "2026-10-05 10:00Z",
    "2026-10-05T10:00:00.1234567Z", "2026-10", "2026-13", "2026-02-30", "2026-10-05\n",
    17, 0, -1, 10**15, 10**15 - 1, Decimal("1E+5"), Decimal("0.1234567"), Decimal("0.123456"),
    Decimal("120000.00"), Decimal("1E+29"), True, False, None, [], {}, ["a", "a"], ["a"],
    [17], {"loss_of_service": "yes"}, {"loss_of_service": True},
    [{"at": "2026-10-06T10:00:00-04:00", "status": "waiting_on_customer"}],
    [{"at": "2026-10-06T10:00:00+04:00:00", "status": "x"}], [{"status": ""}],
    "vendor", "production", "gold", "acme", "d-1", 1, 2, 3, 4, Decimal("2"), "2",
]


def _facts() -> st.SearchStrategy[dict[str, Any]]:
    """A valid fact of one type with one to three fields replaced by junk (or dropped)."""
    def mutate(index: int, edits: list[tuple[str, Any]]) -> dict[str, Any]:
        fact = dict(base_facts()[index])
        fields = sorted(set(fact) | _optional(fact["type"]))
        for pick, value in edits:
            name = fields[hash(pick) % len(fields)] if pick else "type"
            if name == "type":
                continue
            if value is _DROP:
                fact.pop(name, None)
            else:
                fact[name] = value
        return fact

    junk = st.one_of(st.sampled_from(JUNK), st.just(_DROP),
                     st.text(max_size=12), st.integers(-10**20, 10**20),
                     st.decimals(allow_nan=False, allow_infinity=False, places=8))
    edits = st.lists(st.tuples(st.text(min_size=1, max_size=3), junk), min_size=1,
                     max_size=3)
    return st.builds(mutate, st.integers(0, len(base_facts()) - 1), edits)


_DROP = object()


def _optional(fact_type: str) -> set[str]:
    definition = schemas.load_schema("facts")["definitions"][fact_type]
    return set(definition["properties"])


def _stable(fact: dict[str, Any]) -> str:
    return json.dumps(fact, default=str, sort_keys=True)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fact=_facts())
def test_the_compiled_check_agrees_with_jsonschema(fact: dict[str, Any]) -> None:
    predicate = factschema.predicates()[fact["type"]]
    problems = schemas.validate_fact(fact, "f.ndjson", 1)
    assert predicate(fact) == (not problems), (_stable(fact), problems)


@pytest.mark.parametrize("value", JUNK, ids=[repr(v)[:40] for v in JUNK])
@pytest.mark.parametrize("field", ["annual_fee", "currency", "term_start", "start", "id",
                                   "customers", "severity", "impact", "status_history",
                                   "month", "first_response_at"])
def test_every_junk_value_in_every_field_agrees(field: str, value: Any) -> None:
    owner = {"annual_fee": 0, "currency": 0, "term_start": 0, "start": 1, "id": 1,
             "customers": 1, "severity": 4, "impact": 4, "status_history": 4, "month": 5,
             "first_response_at": 4}[field]
    fact = {**base_facts()[owner], field: value}
    problems = schemas.validate_fact(fact, "f.ndjson", 1)
    assert factschema.predicates()[fact["type"]](fact) == (not problems), problems


def _outcome(path: Path) -> tuple[bool, list[tuple[str, str, str]]]:
    """(accepted, schema problems as (path inside the fact, message, subject))."""
    try:
        load_facts([path])
    except InputError as error:
        found = []
        for d in error.diagnostics:
            if d.code == "schema":
                inner = d.path.removeprefix("$.facts[0]").removeprefix("$")
                found.append((inner, d.message, d.subject))
        return False, sorted(found)
    return True, []


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(fact=_facts())
def test_ndjson_and_json_accept_and_refuse_the_same_facts(tmp_path: Path,
                                                          fact: dict[str, Any]) -> None:
    """End to end: the same fact (with the subscription it needs) as an NDJSON line and in
    a JSON document: both accepted, or both refused with the same schema messages."""
    facts = [fact] if fact["type"] == "subscription" else [fact, base_facts()[0]]
    if fact["type"] == "notice":
        facts.append(base_facts()[1])  # its subject
    text = [json.dumps(f, default=str) for f in facts]
    ndjson = tmp_path / "f.ndjson"
    ndjson.write_text("\n".join(text) + "\n", encoding="utf-8")
    document = tmp_path / "f.json"
    document.write_text('{"apiVersion": "policyengine/v1", "kind": "FactSet", "facts": [\n'
                        + ",\n".join(text) + "]}\n", encoding="utf-8")
    ndjson_outcome, json_outcome = _outcome(ndjson), _outcome(document)
    assert ndjson_outcome[0] == json_outcome[0], (_stable(fact), ndjson_outcome, json_outcome)
    assert ndjson_outcome[1] == json_outcome[1], _stable(fact)


# -- each junk shape of the issue, pinned, in both formats ------------------------------
SHAPES = {
    # name: (fact index in base_facts, field, value, the message's words)
    "junk-currency": (0, "currency", "XX1", "expected a three-letter currency code like USD, "
                                            "got 'XX1'"),
    "currency-with-line-break": (0, "currency", "USD\n", "expected a three-letter currency"),
    "numeric-id": (1, "id", 17, "expected text, got the number 17"),
    "fee-in-exponent-form": (0, "annual_fee", "1e5", "expected an amount like 120000.00"),
    "fee-with-underscores": (0, "annual_fee", "1_000", "expected an amount like 120000.00"),
    "fee-1e400": (0, "annual_fee", "1e400", "got '1e400'"),
    "fee-16-digits": (0, "annual_fee", "1234567890123456", "at most 15 digits"),
    "fee-7-places": (0, "annual_fee", "1.1234567", "at most 6 more"),
    "fee-number-16-digits": (0, "annual_fee", 10**15,
                             "'1000000000000000' is not an amount: at most 15 digits"),
    "fee-nan": (0, "annual_fee", "NaN", "expected an amount like 120000.00"),
    "iso-week-date": (0, "term_start", "2026-W01-1", "expected a date written YYYY-MM-DD"),
    "iso-week-timestamp": (1, "start", "2026-W41-1T10:00:00Z",
                           "timestamp '2026-W41-1T10:00:00Z' is an ISO week date; write the "
                           "calendar date"),
    # 13 digits after the point: read as ...00.123456 before (the rest silently cut)
    "timestamp-13-fraction-digits": (1, "start", "2026-10-01T00:00:00.1234567890123Z",
                                     "gives 13 digits after the seconds' decimal point; at "
                                     "most 6 (microseconds) can be kept exactly"),
    "timestamp-nanoseconds": (4, "opened_at", "2026-10-06T10:00:00.123456789-04:00",
                              "gives 9 digits after the seconds' decimal point"),
    "timestamp-comma-fraction": (1, "start", "2026-10-05T10:00:00,5Z",
                                 "uses a comma as decimal sign"),
    "ordinal-date-timestamp": (1, "start", "2026-278T10:00:00Z", "is an ISO ordinal date"),
    "offset-with-seconds": (1, "start", "2026-10-05T10:00:00+01:00:30",
                            "expected a timestamp with an offset or Z"),
    "offset-without-colon": (4, "opened_at", "2026-10-06T10:00:00+0100",
                             "expected a timestamp with an offset or Z"),
}


def _write(path: Path, facts: list[dict[str, Any]]) -> None:
    if path.suffix == ".ndjson":
        path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    else:  # one fact per line: line 4 + i
        path.write_text('{"apiVersion": "policyengine/v1", "kind": "FactSet",\n"x": 0,\n'
                        '"facts": [\n' + ",\n".join(json.dumps(f) for f in facts) + "]}\n",
                        encoding="utf-8")


@pytest.mark.parametrize("suffix", [".ndjson", ".json"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_junk_shape_is_refused_in_both_formats(tmp_path: Path, shape: str,
                                                    suffix: str) -> None:
    index, field, value, words = SHAPES[shape]
    facts = base_facts()
    facts[index][field] = value
    path = tmp_path / f"facts{suffix}"
    _write(path, facts)
    with pytest.raises(InputError) as refused:
        load_facts([path])
    first = refused.value.diagnostics[0]
    line = index + 1 if suffix == ".ndjson" else index + 4
    assert (first.file, first.line) == (str(path), line)
    assert first.path.endswith(f".{field}")
    assert words in first.message


def test_a_fee_of_1e400_is_a_located_error_not_a_traceback(tmp_path: Path) -> None:
    """The issue's crash: decimal.InvalidOperation at evaluation, now refused at line 1."""
    from policyengine.api import Engine

    facts = base_facts()
    facts[0]["annual_fee"] = "1e400"
    path = tmp_path / "facts.ndjson"
    _write(path, facts)
    engine = Engine.load("policies/spirion")
    with pytest.raises(InputError) as refused:
        engine.evaluate([path], as_of="2026-11-27T12:00:00-05:00")
    first = refused.value.diagnostics[0]
    assert (first.line, first.column, first.path, first.subject) == (1, 1, "$.annual_fee",
                                                                     "acme")


def test_amounts_within_the_bounds_are_kept_exactly(tmp_path: Path) -> None:
    facts = base_facts()
    facts[0]["annual_fee"] = "999999999999999.999999"  # 15 digits and 6 places: the most
    path = tmp_path / "facts.ndjson"
    _write(path, facts)
    (subscription,) = load_facts([path]).subscriptions["acme"]
    assert subscription.annual_fee == Decimal("999999999999999.999999")


def test_api_dicts_are_held_to_the_schema_too() -> None:
    from policyengine.api import facts_from_dicts

    facts = base_facts()
    facts[1]["id"] = 17
    with pytest.raises(InputError) as refused:
        facts_from_dicts(facts)
    first = refused.value.diagnostics[0]
    assert (first.path, first.message) == (
        "$.facts[1].id", "expected text, got the number 17")


def test_an_unsupported_keyword_is_refused_when_compiling() -> None:
    schema = json.loads(json.dumps(schemas.load_schema("facts")))
    schema["definitions"]["change"]["properties"]["kind"]["oneOf"] = [{"type": "string"}]
    with pytest.raises(factschema.UnsupportedSchema, match="oneOf"):
        factschema.compile_facts(schema)


def test_a_field_added_to_the_schema_is_checked_without_code(tmp_path: Path) -> None:
    """Data-driven: a new declared field (as other work adds them) is enforced at once."""
    schema = json.loads(json.dumps(schemas.load_schema("facts")))
    schema["definitions"]["downtime"]["properties"]["services"] = {
        "type": "array", "items": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"},
        "uniqueItems": True, "minItems": 1}
    check = factschema.compile_facts(schema)["downtime"]
    down = base_facts()[1]
    assert check({**down, "services": ["api", "web"]})
    for bad in (["Api"], [], ["api", "api"], "api", [1]):
        assert not check({**down, "services": bad}), bad


@pytest.mark.parametrize("kind", [["ticket"], {"a": 1}, 7, None, ...],
                         ids=["list", "mapping", "number", "null", "missing"])
def test_a_fact_type_that_is_not_text_is_a_located_error_in_both_formats(
    tmp_path: Path, kind: Any
) -> None:
    """Found on the way: an NDJSON `"type": ["ticket"]` was a TypeError traceback."""
    fact = {"id": "x-1"} if kind is ... else {"type": kind, "id": "x-1"}
    messages = []
    for suffix in (".ndjson", ".json"):
        path = tmp_path / f"facts{suffix}"
        _write(path, [fact])
        with pytest.raises(InputError) as refused:
            load_facts([path])
        assert all(d.line == (1 if suffix == ".ndjson" else 4)
                   for d in refused.value.diagnostics)
        messages.append([(d.path.removeprefix("$.facts[0]").removeprefix("$"), d.message)
                         for d in refused.value.diagnostics])
    assert messages[0] == messages[1]
    if kind is ...:
        assert messages[0] == [("", "missing required field 'type'")]
    else:
        assert (".type", "unknown fact type " + schemas._show(kind) + "; expected one of: "
                "subscription, downtime, notice, change, ticket, credit_request, "
                "update_request") in messages[0]
