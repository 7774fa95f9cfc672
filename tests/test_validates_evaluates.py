"""A policy that validates must evaluate (issue 16 part 1).

Each reproduction of the issue is rebuilt on a copy of the shipped policy: what used to
validate and then crash ``evaluate``/``due`` (or the durable-rules back-end) is now either
refused by ``validate`` with one located line, or evaluated by both back-ends alike. The
property test edits the policy's terms at random (``bench/policyfuzz.py``) and checks the
same for whatever validates; the long run is ``python bench/fuzz.py --mode policy``.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.api import Engine
from policyengine.diagnostics import InputError
from policyengine.engine.durable_backend import (
    ALTERNATIVES_PER_RULESET,
    DurableBackend,
    alternatives,
    engine_json,
)
from policyengine.validation.policy import load_policy_document

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies" / "spirion" / "1.0.0.yaml"
FACTS = ROOT / "examples" / "october-2026.yaml"
SHIPPED = yaml.safe_load(POLICY.read_text())
AS_OF = "2026-11-27T12:00:00-05:00"

Doc = dict[str, Any]


def _load_policyfuzz() -> ModuleType:
    name = "policyengine_bench_policyfuzz"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "policyfuzz.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


policyfuzz = _load_policyfuzz()


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def write(doc: Doc, tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.dump(doc, Dumper=_NoAliases, sort_keys=False, width=1000))
    return path


def edited(edit: Callable[[Doc], None]) -> Doc:
    doc = copy.deepcopy(SHIPPED)
    edit(doc)
    return doc


def calendar(doc: Doc) -> dict[str, Any]:
    return doc["spec"]["calendars"][0]


def set_term(section: str, index: int, term: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: doc["spec"][section][index].__setitem__(term, value)


def both_closures(doc: Doc) -> None:
    calendar(doc)["added_closures"] = ["2026-12-24"]
    calendar(doc)["removed_closures"] = ["2026-12-24"]


def weekly(hours: dict[str, Any]) -> Callable[[Doc], None]:
    return lambda doc: calendar(doc).__setitem__("weekly_hours", hours)


def repeat(section: str, index: int, count: int) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        clause = doc["spec"][section][index]
        doc["spec"][section].extend({**copy.deepcopy(clause), "id": f"{clause['id']}-{i}"}
                                    for i in range(count))
    return edit


def many_tests(count: int) -> Callable[[Doc], None]:
    definition = {"any": [{"loss_of_service": True} for _ in range(count)]}
    return lambda doc: doc["spec"]["support"][1].__setitem__("definition", definition)


def support_shapes(*, at_risk: str = "75%", other_hours: dict[str, Any] | None = None
                   ) -> Callable[[Doc], None]:
    """The support-level shapes on the shipped policy: severity 2 updated every 8 support
    hours, an at-risk threshold, and a regional calendar (EMEA on a second calendar) that
    severity 1's response runs on."""
    def edit(doc: Doc) -> None:
        other = {**copy.deepcopy(calendar(doc)), "id": "other-hours",
                 "timezone": "Europe/Berlin"}
        if other_hours is not None:
            other["weekly_hours"] = other_hours
        doc["spec"]["calendars"] += [other, {
            "id": "by-region", "kind": "regional_calendar", "ref": "test", "summary": "regions",
            "regions": {"emea": "other-hours", "americas": "support-hours"},
            "default": "support-hours"}]
        support = doc["spec"]["support"]
        support[1]["update"] = {"target": "8h", "clock": "business", "calendar": "support-hours"}
        support[0]["response"]["calendar"] = "by-region"
        support.append({"id": "at-risk", "kind": "at_risk_threshold", "ref": "test",
                        "summary": "at risk", "threshold": at_risk})
    return edit


def tiered(count: int, basis: str = "percent_of_monthly_fee",
           amount: Callable[[int], Any] = lambda n: n, **terms: Any) -> Callable[[Doc], None]:
    """The shipped credit as ``count`` bands: below 99.0, 98.9, ... (0.1 apart), amounts
    rising (``amount(n)`` for band n = 1, 2, ...)."""
    def edit(doc: Doc) -> None:
        credit = doc["spec"]["credits"][0]
        del credit["fraction_of_annual_fee"]
        credit["tiers"] = [{"below": round(99.0 - n / 10, 1), basis: amount(n + 1)}
                           for n in range(count)]
        credit.update(terms)
    return edit


def credit_clause(**terms: Any) -> Callable[[Doc], None]:
    """A clause appended to the credits section (index 3: after credit and claim window and
    ..., see the shipped policy)."""
    return lambda doc: doc["spec"]["credits"].append({"ref": "test", "summary": "test", **terms})


def cap(amount: Any, per: str = "period") -> Callable[[Doc], None]:
    return credit_clause(id="cap", kind="credit_cap", per=per, amount=amount)


def chronic(**terms: Any) -> Callable[[Doc], None]:
    return credit_clause(id="chronic", kind="chronic_failure", remedy="termination_right",
                         **terms)


def basis(name: str, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        credit = doc["spec"]["credits"][0]
        del credit["fraction_of_annual_fee"]
        credit[name] = value
        if name == "days_of_service":
            credit["form"] = {"renewed": "service_days", "not_renewed": "service_days"}
    return edit


def both(*edits: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        for one in edits:
            one(doc)
    return edit


# (id, edit, located path, message fragment): each validated and crashed before
REFUSED = [
    ("calendar-never-open", weekly({}), "$.spec.calendars[0].weekly_hours",
     "the calendar is never open"),
    ("calendar-only-empty-days", weekly({"monday": [], "friday": []}),
     "$.spec.calendars[0].weekly_hours", "the calendar is never open"),
    ("claim-window-999999999-days", set_term("credits", 1, "window", "999999999d"),
     "$.spec.credits[1].window", "longer than the longest term allowed, 365d"),
    ("claim-window-366-days", set_term("credits", 1, "window", "366d"),
     "$.spec.credits[1].window", "longer than the longest term allowed, 365d"),
    ("fraction-54-digit-numerator",
     set_term("credits", 0, "fraction_of_annual_fee", "1" * 54 + "/12"),
     "$.spec.credits[0].fraction_of_annual_fee", "whole numbers of at most six digits"),
    ("fraction-5000-digit-denominator",
     set_term("credits", 0, "fraction_of_annual_fee", "1/" + "1" * 5000),
     "$.spec.credits[0].fraction_of_annual_fee", "whole numbers of at most six digits"),
    ("fraction-over-one", set_term("credits", 0, "fraction_of_annual_fee", "13/12"),
     "$.spec.credits[0].fraction_of_annual_fee", "more than the whole fee"),
    ("same-date-added-and-removed", both_closures, "$.spec.calendars[0].removed_closures[0]",
     "2026-12-24 is also in added_closures"),
    ("notice-lead-0.00001s", set_term("notifications", 0, "lead", "0.00001s"),
     "$.spec.notifications[0].lead", "not a whole number of seconds"),
    ("exclusion-lead-1.5s", lambda d: d["spec"]["exclusions"][0]["notice"].__setitem__(
        "lead", "1.5s"), "$.spec.exclusions[0].notice.lead", "not a whole number of seconds"),
    ("target-longer-than-a-year", lambda d: d["spec"]["support"][0]["resolution"].__setitem__(
        "target", "9999h"), "$.spec.support[0].resolution.target",
     "longer than the longest term allowed"),
    # 45 support hours a week: 52 weeks are 2,340 h
    ("business-target-over-52-weeks", lambda d: d["spec"]["support"][1]["resolution"]
     .__setitem__("target", "2341h"), "$.spec.support[1].resolution.target",
     "more than 52 weeks of calendar 'support-hours'"),
    ("definition-with-65-tests", many_tests(65), "$.spec.support[1].definition",
     "holds 65 tests"),
    # any of 33 tests: 33 ways; all of six any-of-two: 2**6 = 64 ways (a ticket meeting them
    # all fired the rule 64 times and, with its sink and the other rules, aborted durable-rules)
    ("definition-with-33-alternatives", many_tests(33), "$.spec.support[1].definition",
     "can be met in 33 alternative ways"),
    ("definition-all-of-six-any", lambda d: d["spec"]["support"][1].__setitem__(
        "definition", {"all": [{"any": [{"loss_of_service": True}, {"critical_function": True}]}
                               for _ in range(6)]}),
     "$.spec.support[1].definition", "can be met in 64 alternative ways"),
    # open one minute a week: the 4h response target would take 240 weeks
    ("calendar-one-minute-a-week", weekly({"monday": [{"from": "09:00", "to": "09:01"}]}),
     "$.spec.support[0].response.target", "more than 52 weeks of calendar 'support-hours'"),
    ("second-service-credit", repeat("credits", 0, 1), "$.spec.credits[3].kind",
     "a second service_credit clause"),
    ("second-claim-window", repeat("credits", 1, 1), "$.spec.credits[3].kind",
     "a second claim_window clause"),
    ("second-availability-commitment", repeat("availability", 0, 1),
     "$.spec.availability[1].kind", "a second availability_commitment clause"),
    ("101-excused-causes", set_term("exclusions", 2, "causes", [f"c{i}" for i in range(101)]),
     "$.spec.exclusions[2].causes", ""),
    # the support-level shapes: the same bounds for an update target, and for each calendar
    # a regional calendar maps to (EMEA open one minute a week: 4h would take 240 weeks)
    ("update-target-over-52-weeks", lambda d: d["spec"]["support"][1].__setitem__(
        "update", {"target": "2341h", "clock": "business", "calendar": "support-hours"}),
     "$.spec.support[1].update.target", "more than 52 weeks of calendar 'support-hours'"),
    ("regional-calendar-one-minute-a-week",
     support_shapes(other_hours={"monday": [{"from": "09:00", "to": "09:01"}]}),
     "$.spec.support[0].response.target",
     "more than 52 weeks of calendar 'other-hours' (for regional calendar 'by-region')"),
    ("second-at-risk-threshold", lambda d: (support_shapes()(d), repeat("support", 4, 1)(d)),
     "$.spec.support[5].kind", "a second at_risk_threshold clause"),
    ("at-risk-above-100-percent", lambda d: d["spec"]["support"][0]["response"].__setitem__(
        "at_risk", "100.5%"), "$.spec.support[0].response.at_risk", "above 100%"),
    ("severity-level-gap", lambda d: d["spec"]["support"][2].__setitem__("level", 5),
     "$.spec.support[2].level", "levels 3-4 are missing"),
    # credit shapes (issue 12): bounded like the terms above
    ("21-tiers", tiered(21), "$.spec.credits[0].tiers", ""),
    ("tier-fraction-over-one", tiered(1, "fraction_of_annual_fee", lambda n: "13/12"),
     "$.spec.credits[0].tiers[0].fraction_of_annual_fee", "more than the whole fee"),
    ("tier-fraction-seven-digits", tiered(1, "fraction_of_annual_fee", lambda n: "1/1000000"),
     "$.spec.credits[0].tiers[0].fraction_of_annual_fee", "at most six digits"),
    ("percent-of-monthly-fee-100.5", basis("percent_of_monthly_fee", 100.5),
     "$.spec.credits[0].percent_of_monthly_fee", ""),
    ("days-of-service-367", basis("days_of_service", 367),
     "$.spec.credits[0].days_of_service", ""),
    ("multiple-of-downtime-fees-1001", basis("multiple_of_downtime_fees", 1001),
     "$.spec.credits[0].multiple_of_downtime_fees", ""),
    ("cap-amount-16-digits", cap("1000000000000000"), "$.spec.credits[3].amount",
     "more than the largest allowed"),
    # written unquoted, 1e5 reads as a number in exponent form
    ("cap-amount-1e5", cap("1e5"), "$.spec.credits[3].amount",
     "a cap amount is a decimal number like 5000.00, not 1E+5"),
    ("cap-amount-float-1e20", cap(1e20), "$.spec.credits[3].amount",
     "a cap amount is a decimal number"),
    ("cap-percent-101", credit_clause(id="cap", kind="credit_cap", per="period",
                                      percent_of_fees=101), "$.spec.credits[3].percent_of_fees",
     ""),
    ("chronic-exercise-within-366d", chronic(consecutive_missed=2, exercise_within="366d"),
     "$.spec.credits[3].exercise_within", "longer than the longest term allowed, 365d"),
    # stacked, 1/20 + 2/20 + ... + 20/20 = 210/20 = 10.5 annual fees for one period
    ("cumulative-fractions-over-the-fee", tiered(20, "fraction_of_annual_fee",
                                                 lambda n: f"{n}/20", stacking="cumulative"),
     "$.spec.credits[0].stacking", "add up to 10.5, more than one credit may be (1)"),
    # 60 + 70 = 130% of the monthly fee
    ("cumulative-percent-over-100", tiered(2, amount=lambda n: 50 + 10 * n,
                                           stacking="cumulative"),
     "$.spec.credits[0].stacking", "add up to 130, more than one credit may be (100)"),
    ("chronic-121-consecutive", chronic(consecutive_missed=121),
     "$.spec.credits[3].consecutive_missed", ""),
    ("chronic-13-in-12-months", chronic(missed_in_12_months=13),
     "$.spec.credits[3].missed_in_12_months", ""),
]


@pytest.mark.parametrize(("edit", "path", "fragment"), [r[1:] for r in REFUSED],
                         ids=[r[0] for r in REFUSED])
def test_refused_at_validate_with_one_located_line(tmp_path: Path, edit: Any, path: str,
                                                   fragment: str) -> None:
    file = write(edited(edit), tmp_path)
    loaded = load_policy_document(file)
    errors = [p for p in loaded.problems if p.severity == "error"]
    assert loaded.policy is None
    assert errors[0].path == path and all(fragment in p.message for p in errors), errors
    assert len({p.path for p in errors}) == len(errors)  # one line per problem
    assert errors[0].line > 0 and str(file) == errors[0].file
    with pytest.raises(InputError):
        Engine.load(file)


# (id, edit): these validate and must evaluate alike on both back-ends
EVALUATED = [
    # 0.00001 went to durable-rules as 1e-05: "error code 204"
    ("target-percent-0.00001", set_term("availability", 0, "target_percent", 0.00001)),
    ("target-percent-99.99999", set_term("availability", 0, "target_percent", 99.99999)),
    # 300 clauses of one kind: "error code 107/108", and a fact firing more than 64 rules
    # of one ruleset aborted the process
    ("300-excused-cause-clauses", repeat("exclusions", 2, 300)),
    ("130-emergency-clauses", repeat("exclusions", 1, 130)),
    ("100-entitlement-clauses", repeat("entitlements", 0, 100)),
    ("definition-with-32-alternatives", many_tests(32)),
    ("definition-all-of-five-any", lambda d: d["spec"]["support"][1].__setitem__(
        "definition", {"all": [{"any": [{"loss_of_service": True}, {"critical_function": True}]}
                               for _ in range(5)]})),
    ("claim-window-365-days", set_term("credits", 1, "window", "365d")),
    ("fraction-six-digits", set_term("credits", 0, "fraction_of_annual_fee", "1/999999")),
    ("calendar-one-hour-a-week", weekly({"monday": [{"from": "09:00", "to": "10:00"}]})),
    ("support-shapes", support_shapes()),
    # a sliver of a target: at risk 0.0144 s after it starts, compared alike by durable
    ("at-risk-0.0000001-percent", support_shapes(at_risk="0.0000001%")),
    ("regional-calendar-one-hour-a-week",
     support_shapes(other_hours={"monday": [{"from": "09:00", "to": "10:00"}]})),
    # credit shapes at their bounds (acme and globex miss October at 98.3199%: band 7 of
    # bands below 99.0, 98.9, ..., 98.4 (98.3199 < 98.4), band 1 of a single band)
    ("20-tiers", tiered(20)),
    # stacked, 1/210 + 2/210 + ... + 20/210 = 210/210: the whole fee, at most
    ("20-tiers-cumulative-fractions", tiered(20, "fraction_of_annual_fee",
                                             lambda n: f"{n}/210", stacking="cumulative")),
    ("days-of-service-366", basis("days_of_service", 366)),
    ("multiple-of-downtime-fees-1000-capped-at-0", both(
        basis("multiple_of_downtime_fees", 1000), cap("0", "rolling_12_months"))),
    ("cap-amount-15-digits", cap("999999999999999")),
    ("cap-percent-0.00001", credit_clause(id="cap", kind="credit_cap", per="period",
                                          percent_of_fees=0.00001)),
    ("chronic-120-consecutive-and-12-in-12-months", chronic(consecutive_missed=120,
                                                           missed_in_12_months=12,
                                                           exercise_within="365d")),
    ("chronic-1-consecutive", chronic(consecutive_missed=1, exercise_within="1d")),
    # 130 remedies granted to one missed period: rules cut into rulesets as for exclusions
    ("130-chronic-clauses", both(chronic(consecutive_missed=1),
                                 repeat("credits", 3, 129))),
]


@pytest.mark.parametrize("edit", [r[1] for r in EVALUATED], ids=[r[0] for r in EVALUATED])
def test_validated_policy_evaluates_on_both_backends(tmp_path: Path, edit: Any) -> None:
    file = write(edited(edit), tmp_path)
    assert load_policy_document(file).policy is not None
    outputs = []
    for backend in ("python", "durable"):
        engine = Engine.load(file, backend=backend)
        report = engine.evaluate([FACTS], as_of=AS_OF).to_json()
        dues = [engine.due(level, "2026-07-02T17:00:00-04:00") for level in (1, 2, 3)]
        outputs.append((report, dues))
    assert outputs[0] == outputs[1]


def test_tiny_target_is_met_and_compared_by_durable(tmp_path: Path) -> None:
    """A month at 98.9247% (480 counted minutes of 44,640) meets a 0.00001% target on
    durable-rules as in Python (the rule compares, not merely parses)."""
    file = write(edited(set_term("availability", 0, "target_percent", 0.00001)), tmp_path)
    facts = [{"type": "subscription", "customer": "acme", "plan": "production",
              "deployment": "saas", "license": "subscription", "annual_fee": "1000.00",
              "currency": "USD", "term_start": "2026-01-01", "term_end": "2026-12-31",
              "renewed": True, "support": "active"},
             {"type": "downtime", "id": "d-1", "start": "2026-10-05T10:00:00-04:00",
              "end": "2026-10-05T18:00:00-04:00", "cause": "vendor", "maintenance": "none"}]
    rows = Engine.load(file, backend="durable").evaluate(facts, as_of=AS_OF).availability
    assert [(r.month, r.availability_percent, r.met) for r in rows] == [("2026-10", 98.9247,
                                                                          True)]


@pytest.mark.parametrize(("value", "text"), [
    (0.00001, "0.00001"), (1e-9, "0.000000001"), (1e16, "10000000000000000"),
    (1.5e-7, "0.00000015"), (2.0**70, "1180591620717411300000"),
], ids=["1e-05", "1e-09", "1e+16", "1.5e-07", "2**70-as-float"])
def test_engine_json_never_writes_exponents(value: float, text: str) -> None:
    assert json.dumps(value) != text  # json.dumps writes these in exponent form
    assert engine_json({"x": [value, "1e5 in text stays", 3]}) == (
        f'{{"x": [{text}, "1e5 in text stays", 3]}}')


def test_plain_values_keep_the_fast_path() -> None:
    value = [{"type": "window", "start": 1790000000.5, "n": 7, "s": "a"}]
    assert engine_json(value) == json.dumps(value)


def test_a_large_stage_is_split_into_rulesets(tmp_path: Path) -> None:
    """301 excused-cause clauses: 301 rules of 3 alternatives (one per cause) then the
    stage's 3 other rules (3, 1 and 1). Parts hold at most 48 alternatives: 16 excused
    rules each (48), so 18 parts of 16 (288 rules) and a 19th with the last 13 (39) and the
    other rules (39 + 3 + 1 + 1 = 44)."""
    file = write(edited(repeat("exclusions", 2, 300)), tmp_path)
    engine = Engine.load(file, backend="durable")
    stage = engine.versions[0].stage("window-exclusions")
    assert len(stage.rules) == 304
    assert len(DurableBackend()._handles(stage)) == 19
    weights = [alternatives(rule["all"]) for rule in stage.durable_definition().values()]
    assert weights[:301] == [3] * 301 and max(weights) <= ALTERNATIVES_PER_RULESET


def test_versions_in_different_time_zones_are_refused(tmp_path: Path) -> None:
    """2026-11-30T12:00Z is November in New York and December in Kiritimati (UTC+14): a
    directory would measure months one way and `due` the other, so it is refused."""
    first = edited(lambda d: d["metadata"]["effective"].__setitem__("until", "2026-11-01"))
    second = edited(lambda d: (d["metadata"].__setitem__("version", "1.1.0"),
                               d["metadata"]["effective"].__setitem__("from", "2026-11-01"),
                               d["spec"].__setitem__("timezone", "Pacific/Kiritimati")))
    (tmp_path / "1.0.0.yaml").write_text(yaml.safe_dump(first, sort_keys=False))
    (tmp_path / "1.1.0.yaml").write_text(yaml.safe_dump(second, sort_keys=False))
    with pytest.raises(InputError) as caught:
        Engine.load(tmp_path)
    (problem,) = caught.value.diagnostics
    assert problem.file.endswith("1.1.0.yaml") and problem.path == "$.spec.timezone"
    assert "version 1.1.0 reckons in Pacific/Kiritimati but version 1.0.0 in " \
        "America/New_York" in problem.message


def test_due_past_the_supported_years_is_a_located_error(tmp_path: Path) -> None:
    """Support on Mondays 09:00-18:00 only, and a 468h (52 Mondays) resolution target. A
    ticket opened on Monday 2199-12-30 at 10:00 has 8 h that day; 2200 has 52 Mondays, three
    of them closed here, so 8 + 49 * 9 = 449 h < 468 h by the end of 2200, the last year a
    calendar indexes: a located fact error, not a traceback."""
    def edit(doc: Doc) -> None:
        weekly({"monday": [{"from": "09:00", "to": "18:00"}]})(doc)
        calendar(doc)["added_closures"] = ["2200-01-06", "2200-01-13", "2200-01-20"]
        doc["spec"]["support"][1]["resolution"]["target"] = "468h"

    file = write(edited(edit), tmp_path)
    facts = [{"type": "subscription", "customer": "acme", "plan": "production",
              "deployment": "saas", "license": "subscription", "annual_fee": "1000.00",
              "currency": "USD", "term_start": "2199-01-01", "term_end": "2199-12-31",
              "renewed": True, "support": "active"},
             {"type": "ticket", "id": "T-1", "customer": "acme", "severity": 2,
              "opened_at": "2199-12-30T10:00:00-05:00"}]
    with pytest.raises(InputError, match=r"fact 'T-1': the 468h target cannot be placed"):
        Engine.load(file, backend="python").evaluate(facts, as_of="2199-12-31T00:00:00Z")


def test_update_due_past_the_supported_years_is_a_located_error(tmp_path: Path) -> None:
    """The same sparse calendar (Mondays 09:00-18:00, three Mondays of 2200 closed) with a
    468h periodic update target on severity 2 (52 Mondays of 9 h: at the 52-week bound).
    Answered Monday 2199-12-30 at 10:30: 7.5 h that day + at most 49 * 9 = 448.5 h < 468 h
    by the end of 2200 (US holidays on Mondays close more). ``evaluate`` is a fact error at
    the instant the update chain runs from (first_response_at); ``due`` a usage error at
    --last-update-at."""
    def edit(doc: Doc) -> None:
        weekly({"monday": [{"from": "09:00", "to": "18:00"}]})(doc)
        calendar(doc)["added_closures"] = ["2200-01-06", "2200-01-13", "2200-01-20"]
        doc["spec"]["support"][1]["update"] = {"target": "468h", "clock": "business",
                                               "calendar": "support-hours"}

    file = write(edited(edit), tmp_path)
    facts = [{"type": "subscription", "customer": "acme", "plan": "production",
              "deployment": "saas", "license": "subscription", "annual_fee": "1000.00",
              "currency": "USD", "term_start": "2199-01-01", "term_end": "2199-12-31",
              "renewed": True, "support": "active"},
             {"type": "ticket", "id": "T-1", "customer": "acme", "severity": 2,
              "opened_at": "2199-12-30T10:00:00-05:00",
              "first_response_at": "2199-12-30T10:30:00-05:00"}]
    engine = Engine.load(file, backend="python")
    with pytest.raises(InputError) as caught:
        engine.evaluate(facts, as_of="2199-12-31T00:00:00Z")
    (problem,) = caught.value.diagnostics
    assert problem.path == "$.facts[1].first_response_at" and problem.code == "fact"
    assert "fact 'T-1': the 468h target cannot be placed: " in problem.message
    # `due` answers only instants of the supported years (1971-2199): opened at the same
    # instant, severity 2's resolution (48 support hours) falls in 2200 and is refused
    with pytest.raises(InputError) as caught:
        engine.due(2, "2199-12-30T10:00:00-05:00")
    (problem,) = caught.value.diagnostics
    assert (problem.file, problem.message) == (
        "opened-at", "the resolution target cannot be placed: it falls at "
        "2200-02-24T13:00:00-05:00, after the supported years 1971-2199")
    # with a 24h elapsed resolution (2199-12-31T10:00) the response is placed (10:00 + 4
    # support hours); the update from 10:30 is not
    doc = edited(edit)
    doc["spec"]["support"][1]["resolution"] = {"target": "24h", "clock": "elapsed"}
    (tmp_path / "b").mkdir()
    engine = Engine.load(write(doc, tmp_path / "b"), backend="python")
    due = engine.due(2, "2199-12-30T10:00:00-05:00")
    assert due.response_due == "2199-12-30T14:00:00-05:00"
    with pytest.raises(InputError) as caught:
        engine.due(2, "2199-12-30T10:00:00-05:00", last_update_at="2199-12-30T10:30:00-05:00")
    (problem,) = caught.value.diagnostics
    assert problem.file == "last-update-at" and problem.code == "usage"
    assert problem.message.startswith("the update target cannot be placed: ")


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_property_whatever_validates_evaluates(tmp_path: Path, seed: int) -> None:
    """Random edits of the shipped policy's terms: refused with located lines, or evaluated
    (example facts and ``due`` for every level) alike by both back-ends, never raising."""
    import random

    mutant, _ = policyfuzz.mutate(SHIPPED, random.Random(seed))
    assert policyfuzz.evaluate_everywhere(write(mutant, tmp_path)) in ("refused", "evaluated")
