"""Rule packs cannot explode, decide out of range or decide nothing (issue 16 §3, second pass).

- the work of a joined rule is bounded by the data before either back-end runs
  (:mod:`policyengine.engine.bounds`): three ticket aliases joined only on ``customer``
  passed the syntactic join check and took 85 s / 3 GB (Python) and more than 6.8 GB
  (durable-rules) over 200 tickets of one customer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from policyengine.compile.compiler import CompiledRule, CompiledStage
from policyengine.diagnostics import InputError
from policyengine.engine.bounds import MAX_COMBINATIONS, check_combinations, combinations
from policyengine.load.loader import load_document

from .conftest import ROOT
from .rulepacks import AS_OF, EXAMPLE, HEAD, POLICY, _cli, _rules


def _evaluate(rules: Path, facts: Path = EXAMPLE, backend: str = "python",
              *extra: str) -> tuple[int, list[str]]:
    return _cli("evaluate", "--policy", str(POLICY), "--facts", str(facts), "--as-of", AS_OF,
                "--rules", str(rules), "--engine", backend, *extra)


def _facts(tmp_path: Path, change: Any) -> Path:
    facts = change(load_document(EXAMPLE).data["facts"])
    file = tmp_path / "facts.json"
    file.write_text(json.dumps({"apiVersion": "policyengine/v1", "kind": "FactSet",
                                "facts": facts}, default=str), encoding="utf-8")
    return file


# -- F7: joins bounded by the data ---------------------------------------------------------------
TRIPLE = """\
  - id: triple
    stage: ticket-severity
    for_clause: support_lapse
    when:
      a: {type: ticket, support: lapsed}
      b: {type: ticket, customer: {fact: a.customer}}
      c: {type: ticket, customer: {fact: b.customer}}
    then:
      set:
        - {subject: a, field: targets, value: false, combine: all}
      subject: a
      outcome: withdrawn
      message: "x"
"""


def _umbrella_tickets(count: int) -> Any:
    def change(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ticket = next(f for f in facts if f["type"] == "ticket")
        return facts + [{**ticket, "id": f"u-{n}", "customer": "umbrella"}
                        for n in range(count)]
    return change


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_a_join_on_a_field_every_fact_shares_is_refused_before_the_engine_runs(
        tmp_path: Path, backend: str) -> None:
    """umbrella (support lapsed) has no ticket in the example; 200 added (the session holds
    203 tickets: a takes the 200 lapsed ones; b, c any of the 203): a: 200, b: 200
    per a less a itself = 199, c: 199 per b → 200·199·199 = 7,920,200 combinations (the
    largest prefix), over
    100,000. Was 85 s / 3 GB (python), killed at 6.8 GB (durable)."""
    rules = _rules(tmp_path, TRIPLE)
    assert _cli("validate", str(rules))[0] == 0  # the join check alone lets it through
    facts = _facts(tmp_path, _umbrella_tickets(200))
    started = time.monotonic()
    code, lines = _evaluate(rules, facts, backend)
    assert time.monotonic() - started < 20
    assert code == 2
    assert lines == [
        f"{rules / 'extra.yaml'}:10:5: $.rules[0].when: rule "
        "extra.triple@perpetual-lapsed-support would bind 7,920,200 combinations of facts in "
        "one evaluation session (a: 200 ticket facts, b: 203 ticket facts, c: 203 ticket "
        "facts), more than the limit of 100,000: its joins do not tell the facts apart (join "
        "each alias on a field that few facts share, such as a key, as in window: {fact: "
        "w.key}; see docs/hardening.md, \"Rule packs\")"]


def test_a_join_within_the_limit_runs(tmp_path: Path) -> None:
    """40 umbrella tickets: 40·39·39 = 60,840 ≤ 100,000 → evaluated, and every umbrella ticket
    withdrawn: 40 findings of the rule."""
    rules = _rules(tmp_path, TRIPLE)
    facts = _facts(tmp_path, _umbrella_tickets(40))
    out = tmp_path / "report.json"
    code, lines = _evaluate(rules, facts, "python", "--format", "json", "--output", str(out))
    assert code == 0, lines
    report = json.loads(out.read_text(encoding="utf-8"))
    withdrawn = [f for f in report["findings"] if f["rule"] == "extra.triple"]
    assert len(withdrawn) == 40


def _rule(*aliases: tuple[str, dict[str, Any]]) -> CompiledRule:
    return CompiledRule(name="r@c", rule_id="p.r", clause_id="c", stage="s",
                        aliases=tuple(a for a, _ in aliases),
                        conditions=tuple({a: c} for a, c in aliases), sets=(), subject=None,
                        outcome=None, message=None)


def _by_type(facts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for fact in facts:
        out.setdefault(fact["type"], []).append(fact)
    return out


TICKETS = ([{"type": "t", "customer": "x", "key": f"x{n}", "open": n % 2 == 0} for n in range(2)]
           + [{"type": "t", "customer": "y", "key": f"y{n}", "open": n % 2 == 0}
              for n in range(3)]
           + [{"type": "t", "customer": "z", "key": f"z{n}", "open": n % 2 == 0}
              for n in range(5)]
           + [{"type": "t", "key": "no-customer", "open": True}])


@pytest.mark.parametrize(("case", "aliases", "expected"), [
    # 2 + 3 + 5 tickets by customer; a fact never joins itself (a != b, b != c; a and c,
    # not joined directly, may coincide): pairs n(n-1) = 2 + 6 + 20 = 28, triples
    # n(n-1)(n-1) = 2 + 12 + 80 = 94
    ("chain-on-customer", (("a", {"type": "t"}), ("b", {"$and": [{"type": "t"}, {
        "customer": {"a": "customer"}}]}), ("c", {"$and": [{"type": "t"}, {
            "customer": {"b": "customer"}}]})), (94, [11, 11, 11])),
    # own test open == true on a: 1 + 2 + 3 open (n even); b, c != a → triples
    # 1·1·1 + 2·2·2 + 3·4·4 = 57
    ("own-test-narrows", (("a", {"$and": [{"type": "t"}, {"open": True}]}), ("b", {"$and": [
        {"type": "t"}, {"customer": {"a": "customer"}}]}), ("c", {"$and": [{"type": "t"}, {
            "customer": {"a": "customer"}}]})), (57, [7, 11, 11])),
    # joined on customer and key: only each ticket with itself, which is no pair → 0
    ("composite-key", (("a", {"type": "t"}), ("b", {"$and": [{"type": "t"}, {
        "customer": {"a": "customer"}}, {"key": {"a": "key"}}]})), (0, [11, 11])),
    # no equality join at all: 11 × 10 = 110 (b != a)
    ("cross-product", (("a", {"type": "t"}), ("b", {"type": "t"})), (110, [11, 11])),
    # the prefix a, b is the largest: c joins on a field no fact has → 0 triples, 28 pairs
    ("prefix-is-larger", (("a", {"type": "t"}), ("b", {"$and": [{"type": "t"}, {
        "customer": {"a": "customer"}}]}), ("c", {"$and": [{"type": "t"}, {
            "missing": {"b": "customer"}}]})), (28, [11, 11, 11])),
])
def test_candidate_combinations_are_counted_exactly(case: str, aliases: Any,
                                                    expected: tuple[int, list[int]]) -> None:
    assert combinations(_rule(*aliases), _by_type(TICKETS)) == expected


def test_the_limit_is_inclusive() -> None:
    rule = _rule(("a", {"type": "t"}), ("b", {"type": "t"}))  # 11 × 10 = 110 combinations
    stage = CompiledStage("s", (rule,), frozenset({"t"}))
    check_combinations(stage, TICKETS, limit=110)
    with pytest.raises(InputError, match="would bind 110 combinations .* limit of 109"):
        check_combinations(stage, TICKETS, limit=109)
    assert MAX_COMBINATIONS == 100_000


# -- F14: every decision in its domain -----------------------------------------------------------
BONUS = HEAD + "extra_fields:\n  window: [bonus]\n"
BONUS_RULE = """\
  - id: typed
    stage: window-exclusions
    for_clause: excused_cause
    when:
      w: {type: window, cause: vendor}
    then:
      set:
        - {subject: w, field: excluded_up_to, value: {fact: w.bonus}, combine: max}
      subject: w
      outcome: excluded
      message: "bonus {w.bonus}"
"""


@pytest.mark.parametrize("backend", ["python", "durable"])
@pytest.mark.parametrize(("case", "bonus", "shown"), [
    ("negative", -360000, "-360000"),  # was: counted 12,750 of 1,410 min, 71.44 %, exit 0
    ("negative-fraction", -0.5, "-0.5"),
    ("beyond-the-span", 10**10, "10000000000"),
])
def test_a_decision_read_from_a_fact_outside_its_domain_is_refused(
        tmp_path: Path, backend: str, case: str, bonus: Any, shown: str) -> None:
    rules = _rules(tmp_path, BONUS_RULE, BONUS)
    facts = _facts(tmp_path, lambda facts: [
        {**f, "bonus": bonus} if f["type"] == "downtime" else f for f in facts])
    assert _evaluate(rules, facts, backend) == (2, [
        f"policyengine: rule extra.typed@excused-downtime decides excluded_up_to of "
        f"acme/dt-101 as {shown}, but excluded_up_to is a number of seconds from 0 to "
        "7,321,190,400"])


def test_a_decision_in_its_domain_read_from_a_fact_is_used(tmp_path: Path) -> None:
    """bonus 3600 s on every downtime, used for vendor causes (combine max with the
    shipped rules' excluded_up_to): acme's October with the shipped packs has 1,410 min of
    downtime, 660 excluded (dt-102 scheduled with notice 480, dt-104 emergency 180), 750
    counted. The bonus adds 60 min to dt-101 (unplanned, nothing excluded) and dt-103
    (scheduled, late notice: nothing excluded) and nothing to dt-104 (180 > 60):
    660 + 60 + 60 = 780 excluded, 1,410 - 780 = 630 counted."""
    rules = _rules(tmp_path, BONUS_RULE, BONUS)
    facts = _facts(tmp_path, lambda facts: [
        {**f, "bonus": 3600} if f["type"] == "downtime" else f for f in facts])
    out = tmp_path / "report.json"
    code, lines = _evaluate(rules, facts, "python", "--output", str(out))
    assert code == 0, lines
    rows = json.loads(out.read_text(encoding="utf-8"))["availability"]
    row = next(r for r in rows if r["customer"] == "acme" and r["month"] == "2026-10")
    assert (row["excluded_minutes"], row["counted_downtime_minutes"]) == (780, 630)


def _literal_rule(field: str, value: str, stage: str = "credits",
                  alias: str = "m: {type: customer_month, covered: true, met: false}",
                  for_clause: str = "service_credit") -> str:
    return f"""\
  - id: literal
    stage: {stage}
    for_clause: {for_clause}
    when:
      {alias}
    then:
      set:
        - {{subject: {alias[0]}, field: {field}, value: {value}}}
"""


WINDOW = "w: {type: window, cause: vendor}"
TICKET = "t: {type: ticket}"


@pytest.mark.parametrize(("case", "rule", "message"), [
    ("status-not-a-status", _literal_rule("status", "paid"),
     "'status' of customer_month facts is one of payable, claimable, expired, but the value "
     "is 'paid'"),
    ("form-not-a-form", _literal_rule("form", "voucher"),
     "'form' of customer_month facts is one of credit, refund, service_days, but the value "
     "is 'voucher'"),
    ("tier-zero", _literal_rule("tier", "0"),
     "'tier' of customer_month facts is a band number: a whole number from 1 (the first "
     "band listed), but the value is 0"),
    ("negative-exclusion", _literal_rule("excluded_up_to", "-5", "window-exclusions", WINDOW,
                                         "excused_cause"),
     "'excluded_up_to' of window facts is a number of seconds from 0 to 7,321,190,400, but "
     "the value is -5"),
    ("fractional-level", _literal_rule("severity", "1.5", "ticket-severity", TICKET,
                                       "severity"),
     "'severity' of ticket facts is a severity level: a whole number from 1, but the value "
     "is Decimal('1.5')"),
    ("unknown-source", _literal_rule("severity_source", "guessed", "ticket-severity", TICKET,
                                     "severity"),
     "'severity_source' of ticket facts is assigned or classified, but the value is "
     "'guessed'"),
])
def test_a_literal_decision_outside_its_domain_is_refused_at_load(
        tmp_path: Path, case: str, rule: str, message: str) -> None:
    rules = _rules(tmp_path, rule)
    effect = rule.splitlines()[7]  # line 14 of the pack: `- {subject: ..., value: ...}`
    column = effect.index("value: ") + len("value: ") + 1
    line = f"{rules / 'extra.yaml'}:14:{column}: $.rules[0].then.set[0].value: {message}"
    assert _cli("validate", str(rules)) == (2, [line])
    assert _evaluate(rules) == (2, [line])


def _tier_rule(tier: int) -> str:
    return f"""\
  - id: tier
    stage: credits
    for_clause: service_credit
    when:
      m: {{type: customer_month, covered: true, met: false}}
    then:
      set:
        - {{subject: m, field: tier, value: {tier}, combine: max}}
"""


TIERED = ROOT / "policies" / "examples" / "tiered-percent"


def _no_tickets(tmp_path: Path) -> str:
    """The example without tickets: tiered-percent has no support terms (and refuses them)."""
    return str(_facts(tmp_path, lambda facts: [f for f in facts if f["type"] != "ticket"]))


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_a_tier_past_the_last_band_is_one_line(tmp_path: Path, backend: str) -> None:
    """tiered-percent has 3 bands; tier 99 was an IndexError traceback."""
    rules = _rules(tmp_path, _tier_rule(99))
    code, lines = _cli("evaluate", "--policy", str(TIERED), "--facts", _no_tickets(tmp_path),
                       "--as-of", AS_OF, "--rules", str(rules), "--engine", backend)
    assert (code, lines[-1:]) == (2, [
        "policyengine: the rules decided tier 99 of acme/2026-10, but credit "
        "'financial-credit' of policy tiered-percent 1.0.0 has 3 bands"]), lines


def test_a_tier_in_range_is_used(tmp_path: Path) -> None:
    """tier 3 (50 % of the monthly fee) beats the shipped rules' tier 2 (combine max):
    acme 120,000.00 / 12 × 50 % = 5,000.00; globex 50,000.00 / 12 × 50 % = 2,083.333...
    → 2,083.33 (half_up). The shipped packs give tier 2 (25 %): 2,500.00 and 1,041.67."""
    rules = _rules(tmp_path, _tier_rule(3))
    out = tmp_path / "report.json"
    code, lines = _cli("evaluate", "--policy", str(TIERED), "--facts", _no_tickets(tmp_path),
                       "--as-of", AS_OF, "--rules", str(rules), "--output", str(out))
    assert code == 0, lines
    credits = json.loads(out.read_text(encoding="utf-8"))["credits"]
    assert [(c["customer"], c["tier"], c["amount"]) for c in credits] == [
        ("acme", 3, "5000.00"), ("globex", 3, "2083.33")]


# -- F8: a clause no rule decides ------------------------------------------------------------------
NO_RULE_HINT = ("(give --rules a directory holding rule packs for every clause kind the policy "
                "uses, e.g. a copy of the shipped rules/ with your packs added)")


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_a_rules_directory_without_the_policys_clause_kinds_is_refused(
        tmp_path: Path, backend: str) -> None:
    """Only notices.yaml: every other rule-decided clause of spirion 1.0.0 (13 of them;
    calendars and declarations are read by the evaluator) would decide nothing. Was exit 0
    with every month `covered: false`."""
    rules = tmp_path / "only-notices"
    rules.mkdir()
    shutil.copy(ROOT / "rules" / "notices.yaml", rules)
    policy = POLICY / "1.0.0.yaml"
    code, lines = _cli("evaluate", "--policy", str(policy), "--facts", str(EXAMPLE),
                       "--as-of", AS_OF, "--rules", str(rules), "--engine", backend)
    assert code == 2
    assert len(lines) == 13
    assert lines[0] == (
        f"{policy}:44:13: $.spec.availability[0].kind: no rule decides clause "
        "'availability-commitment' (availability_commitment): the rule packs "
        f"({rules}) have no rule for_clause availability_commitment, so it would decide "
        f"nothing {NO_RULE_HINT}")
    assert [line.split(": ")[2].split("'")[1] for line in lines[1:]] == [
        "scheduled-downtime", "emergency-maintenance", "excused-downtime",
        "non-production-plans", "service-credit", "credit-claim-window", "severity-1",
        "severity-2", "severity-3", "severity-good-faith", "support-updates",
        "perpetual-lapsed-support"]
    assert _cli("validate", str(rules)) == (0, [f"ok: {rules}"])  # a pack alone is fine


CHRONIC_ELSEWHERE = """\
  - id: chronic-other
    stage: remedies
    for_clause: chronic_failure
    if_terms: {consecutive_missed: {present: false}}
    when:
      p: {type: missed_period, missed_in_12_months: {gte: {term: missed_in_12_months}}}
    then:
      subject: p
      outcome: termination_right
      message: "x"
"""


def test_a_clause_whose_rules_all_skip_its_terms_is_refused(tmp_path: Path) -> None:
    """tiered-percent's chronic-failure clause gives consecutive_missed; the only
    chronic_failure rule left (credits.yaml removed) is for clauses without it."""
    rules = _rules(tmp_path, CHRONIC_ELSEWHERE)
    (rules / "credits.yaml").unlink()
    policy = TIERED / "1.0.0.yaml"
    code, lines = _cli("evaluate", "--policy", str(TIERED), "--facts", str(EXAMPLE),
                       "--as-of", AS_OF, "--rules", str(rules))
    assert code == 2
    assert [line for line in lines if "'chronic-failure'" in line] == [
        f"{policy}:83:13: $.spec.credits[4].kind: no rule decides clause 'chronic-failure' "
        "(chronic_failure): none of the 1 rule(s) for_clause chronic_failure in the rule "
        f"packs ({rules}) applies to its terms (their if_terms do not match), so it would "
        f"decide nothing {NO_RULE_HINT}"]


def test_every_shipped_clause_kind_is_read_by_the_evaluator_or_has_shipped_rules() -> None:
    from policyengine.api import load_rule_packs
    from policyengine.clauses import registry
    from policyengine.compile.stages import READ_WITHOUT_RULES

    ruled = {str(rule["for_clause"]) for pack in load_rule_packs() for rule in pack.rules}
    kinds = {kind.name for kind in registry.kinds()}
    assert kinds >= READ_WITHOUT_RULES
    assert kinds - READ_WITHOUT_RULES == ruled


# -- F4: directories give regular files only ------------------------------------------------
def _special(tmp_path: Path, where: Path, name: str, what: str) -> Path:
    path = where / name
    if what == "fifo":
        os.mkfifo(path)
    else:  # a symbolic link to nothing, inside the directory
        path.symlink_to(where / "gone.yaml")
    return path


def _run(*args: str) -> tuple[int, list[str]]:
    """In a subprocess with a timeout: before the fix, a FIFO in --rules hung for ever."""
    done = subprocess.run([sys.executable, "-m", "policyengine", *args],
                          capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stderr.splitlines()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize(("what", "words"), [("fifo", "a FIFO"),
                                             ("broken-link", "a broken symbolic link")])
@pytest.mark.parametrize("reader", ["validate-rules", "evaluate-rules", "evaluate-policy",
                                    "validate-policy", "test-dir"])
def test_a_special_file_in_a_directory_read_is_refused(tmp_path: Path, reader: str,
                                                       what: str, words: str) -> None:
    """A FIFO hung `evaluate --rules` (open blocks) and was skipped silently in a policy or
    test directory; a broken link was skipped silently everywhere."""
    if reader.endswith("rules"):
        directory = _rules(tmp_path, "")
        (directory / "extra.yaml").unlink()
        special = _special(tmp_path, directory, "zz.yaml", what)
    elif reader == "test-dir":
        directory = tmp_path / "cases"
        shutil.copytree(ROOT / "tests" / "cases" / "explain", directory)
        special = _special(tmp_path, directory, "zz.test.yaml", what)
    else:
        directory = tmp_path / "policy"
        shutil.copytree(POLICY, directory)
        special = _special(tmp_path, directory, "2.0.0.yaml", what)
    command = {
        "validate-rules": ["validate", str(directory)],
        "validate-policy": ["validate", str(directory)],
        "evaluate-rules": ["evaluate", "--policy", str(POLICY), "--rules", str(directory),
                           "--facts", str(EXAMPLE), "--as-of", AS_OF],
        "evaluate-policy": ["evaluate", "--policy", str(directory), "--facts", str(EXAMPLE),
                            "--as-of", AS_OF],
        "test-dir": ["test", str(directory)],
    }[reader]
    assert _run(*command) == (2, [
        f"{special}:0:0: $: not a regular file ({words}); only regular files are read from "
        "a directory"])


# -- F9: duplicate packs and rule ids, malformed placeholders --------------------------------------
def test_two_packs_of_one_name_are_refused(tmp_path: Path) -> None:
    """A copy of notices.yaml next to it fired every notices rule twice under the same ids."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    shutil.copy(rules / "notices.yaml", rules / "notices2.yaml")
    line = (f"{rules / 'notices2.yaml'}:9:9: $.metadata.name: rule pack name 'notices' is "
            f"also the name of {rules / 'notices.yaml'}: its rule ids (notices.<id>) would "
            "clash (give each rule pack of a directory its own metadata.name)")
    assert _cli("validate", str(rules)) == (2, [line])
    assert _evaluate(rules) == (2, [line])


DUPLICATE_ID = """\
  - id: same
    stage: window-verdicts
    for_clause: excused_cause
    when:
      w: {type: window}
    then: {subject: w, outcome: counted, message: "a"}
  - id: same
    stage: window-verdicts
    for_clause: excused_cause
    when:
      w: {type: window}
    then: {subject: w, outcome: counted, message: "b"}
"""


def test_a_rule_id_twice_in_a_pack_is_refused(tmp_path: Path) -> None:
    rules = _rules(tmp_path, DUPLICATE_ID)
    line = (f"{rules / 'extra.yaml'}:13:9: $.rules[1].id: duplicate rule id 'same' (first at "
            "line 7): findings and decisions name rules by id")
    assert _cli("validate", str(rules)) == (2, [line])
    assert _evaluate(rules) == (2, [line])


@pytest.mark.parametrize(("case", "placeholder"), [
    ("format-spec", "{w.key:>999999999}"),
    ("attribute", "{w.key.__class__}"),
    ("positional", "{0}"),
    ("conversion", "{w.key!r}"),
    ("term-with-space", "{term: lead}"),
])
def test_a_placeholder_that_is_not_one_is_refused(tmp_path: Path, case: str,
                                                  placeholder: str) -> None:
    """Was printed literally into the report's findings (`support-updates: {r.license:>9}`)."""
    rule = f"""\
  - id: shown
    stage: window-verdicts
    for_clause: excused_cause
    when:
      w: {{type: window}}
    then: {{subject: w, outcome: counted, message: "see {placeholder}"}}
"""
    rules = _rules(tmp_path, rule)
    code, lines = _cli("validate", str(rules))
    assert code == 2
    assert lines == [
        f"{rules / 'extra.yaml'}:12:51: $.rules[0].then.message: placeholder "
        f"{placeholder!r} is neither {{alias.field}} nor {{term:path}}: it would be printed "
        "as written (a message fills in only {alias.field} (a field of a bound fact) and "
        "{term:path} (a term of the clause); no format specs or expressions)"]


# -- F20: an empty path is refused, for every path option ------------------------------------------
EMPTY = "empty path: name a file or directory (use . for the current directory)"


@pytest.mark.parametrize(("case", "args", "named"), [
    ("evaluate-rules", ["evaluate", "--policy", str(POLICY), "--facts", str(EXAMPLE),
                        "--as-of", AS_OF, "--rules", ""], "--rules"),
    ("evaluate-policy", ["evaluate", "--policy", "", "--facts", str(EXAMPLE)], "--policy"),
    ("evaluate-facts", ["evaluate", "--policy", str(POLICY), "--facts", ""], "--facts"),
    ("evaluate-output", ["evaluate", "--policy", str(POLICY), "--facts", str(EXAMPLE),
                         "--output", ""], "--output"),
    ("validate", ["validate", ""], "PATHS"),
    ("test", ["test", ""], "PATHS"),
    ("test-rules", ["test", "--rules", ""], "--rules"),
    ("show", ["show", ""], "POLICY"),
    ("due", ["due", "--policy", "", "--severity", "1", "--opened-at", AS_OF], "--policy"),
    ("import-mapping", ["import", "csv", "--mapping", "", "x.csv"], "--mapping"),
])
def test_an_empty_path_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
                                  args: list[str], named: str) -> None:
    """`--rules ""` read every *.yaml of the current directory as a rule pack."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.yaml").write_text("a: 1\n", encoding="utf-8")
    assert _cli(*args) == (2, [f"{named}:0:0: $: {EMPTY}"])


def test_the_library_refuses_an_empty_rules_or_policy_path() -> None:
    from policyengine.api import load_rule_packs
    from policyengine.validation.policy import policy_files

    with pytest.raises(InputError, match=r"^rules:0:0: \$: empty path"):
        load_rule_packs("")
    with pytest.raises(InputError, match=r"^policy:0:0: \$: empty path"):
        policy_files("")


# -- G2: one fact never binds two aliases, on either back-end ------------------------------------
PAIR = """\
  - id: pair
    stage: ticket-severity
    for_clause: support_lapse
    when:
      a: {type: ticket}
      b: {type: ticket, customer: {fact: a.customer}}
    then:
      set:
        - {subject: a, field: targets, value: false, combine: all}
      subject: a
      outcome: withdrawn
      message: "{a.key} with {b.key}"
"""


def test_a_fact_never_binds_two_aliases_and_both_back_ends_agree(tmp_path: Path) -> None:
    """The example's tickets: acme T-1001 and T-1003, globex T-1002 (its customer's only
    ticket). durable-rules binds each alias to a distinct fact, so the pairs are T-1001 with
    T-1003 and T-1003 with T-1001, and T-1002 pairs with nothing: it keeps its response
    target. The Python back-end used to pair each ticket with itself as well (5 findings,
    T-1002 withdrawn); the two reports are now byte for byte the same."""
    rules = _rules(tmp_path, PAIR)
    reports = {}
    for backend in ("python", "durable"):
        out = tmp_path / f"{backend}.json"
        code, lines = _evaluate(rules, EXAMPLE, backend, "--format", "json", "--output",
                                str(out))
        assert code == 0, lines
        reports[backend] = out.read_bytes()
    assert reports["python"] == reports["durable"]
    findings = json.loads(reports["python"])["findings"]
    assert sorted(f["message"] for f in findings if f["rule"] == "extra.pair") == [
        "T-1001 with T-1003", "T-1003 with T-1001"]
    assert not any(f["subject"] == "T-1002" and f["rule"] == "extra.pair" for f in findings)


# -- G1: the bound is also on a stage's rules together -------------------------------------------
def _lapsed_pair(name: str) -> str:
    return f"""\
  - id: {name}
    stage: ticket-severity
    for_clause: support_lapse
    when:
      a: {{type: ticket, support: lapsed}}
      b: {{type: ticket, customer: {{fact: a.customer}}}}
    then:
      set:
        - {{subject: a, field: targets, value: false, combine: all}}
      subject: a
      outcome: withdrawn
      message: "x"
"""


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_many_joined_rules_each_under_the_limit_are_refused_together(
        tmp_path: Path, backend: str) -> None:
    """200 umbrella tickets (support lapsed): each pair rule binds a: 200, b: the 199 other
    umbrella tickets → 200 × 199 = 39,800 ≤ 100,000 each; three rules 3 × 39,800 = 119,400
    > 100,000 for the stage (25 such rules of 96,100 took 1.1 GB / 1.9 GB, exit 0). Located
    at the rule that binds the most, ties by name: pair0, whose when is at line 10."""
    rules = _rules(tmp_path, "".join(_lapsed_pair(f"pair{n}") for n in range(3)))
    facts = _facts(tmp_path, _umbrella_tickets(200))
    code, lines = _evaluate(rules, facts, backend)
    assert code == 2
    assert lines == [
        f"{rules / 'extra.yaml'}:10:5: $.rules[0].when: the 3 joined rules of stage "
        "ticket-severity would bind 119,400 combinations of facts in all in one evaluation "
        "session (extra.pair0@perpetual-lapsed-support: 39,800, "
        "extra.pair1@perpetual-lapsed-support: 39,800, extra.pair2@perpetual-lapsed-support: "
        "39,800), more than the limit of 100,000 for a stage: together their joins do not "
        "tell the facts apart (join each alias on a field that few facts share, such as a "
        "key, as in window: {fact: w.key}; see docs/hardening.md, \"Rule packs\")"]


def test_joined_rules_within_the_stage_limit_run(tmp_path: Path) -> None:
    """Two of the rules above: 2 × 39,800 = 79,600 ≤ 100,000 → evaluated."""
    rules = _rules(tmp_path, "".join(_lapsed_pair(f"pair{n}") for n in range(2)))
    code, lines = _evaluate(rules, _facts(tmp_path, _umbrella_tickets(200)))
    assert code == 0, lines


# -- G6: a decision read from a field a fact lacks is blamed on the rule that read it ------------
LVL_HEAD = HEAD + "extra_fields: {ticket: [lvl]}\n"
FORCE = """\
  - id: force
    stage: ticket-severity
    for_clause: severity_assignment
    when:
      t: {type: ticket, assigned: false}
    then:
      set: [{subject: t, field: severity, value: {fact: t.lvl}, combine: min}]
      subject: t
      outcome: assigned
      message: "x"
"""


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_a_missing_extension_value_is_blamed_on_the_rule_that_read_it(
        tmp_path: Path, backend: str) -> None:
    """Only T-1001 carries lvl (3): extra.force decides T-1002's severity from its missing
    lvl (None), which 'min' cannot compare with the 2 the shipped impact rule decides. The
    line names extra.force and the field it read, not the shipped rule."""
    def change(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**f, "lvl": 3} if f.get("id") == "T-1001" else f for f in facts]
    rules = _rules(tmp_path, FORCE, LVL_HEAD)
    code, lines = _evaluate(rules, _facts(tmp_path, change), backend)
    assert code == 2
    assert lines == [
        "policyengine: rule extra.force@severity-good-faith decides severity of T-1002 as "
        "nothing (T-1002 has no field lvl), which combine 'min' cannot compare with 2 "
        "(decided by rule support.severity-from-impact@severity-2)"]


# -- G3: a join compares values of one kind on both back-ends ------------------------------------
ZONE_HEAD = HEAD + "extra_fields: {ticket: [zone]}\n"
ZONE = """\
  - id: zone
    stage: ticket-severity
    for_clause: support_lapse
    when:
      a: {type: ticket}
      b: {type: ticket, zone: {fact: a.zone}}
    then: {subject: a, outcome: withdrawn, message: "{a.key}={b.key}"}
"""


def _zones(zones: dict[str, Any]) -> Any:
    def change(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**f, "zone": zones[f["id"]]} if f.get("id") in zones else f for f in facts]
    return change


@pytest.mark.parametrize("backend", ["python", "durable"])
@pytest.mark.parametrize(("case", "zones", "kinds"), [
    # durable-rules matched 1 with "1" (not with 1.0); Python matched 1 with 1.0
    ("number-and-text", {"T-1001": 1, "T-1003": "1"},
     "a.zone of T-1001 is 1 (a whole number), a.zone of T-1003 is '1' (text)"),
    ("whole-and-point", {"T-1001": 1, "T-1003": 1.0},
     "a.zone of T-1001 is 1 (a whole number), a.zone of T-1003 is 1.0 (a number with a "
     "point)"),
    ("bool-and-number", {"T-1001": True, "T-1003": 1},
     "a.zone of T-1001 is True (true or false), a.zone of T-1003 is 1 (a whole number)"),
])
def test_a_join_of_values_of_two_kinds_is_refused(tmp_path: Path, backend: str, case: str,
                                                  zones: dict[str, Any], kinds: str) -> None:
    rules = _rules(tmp_path, ZONE, ZONE_HEAD)
    code, lines = _evaluate(rules, _facts(tmp_path, _zones(zones)), backend)
    assert code == 2
    assert lines == [
        f"{rules / 'extra.yaml'}:11:5: $.rules[0].when: rule extra.zone@perpetual-lapsed-"
        f"support joins b.zone to a.zone, whose values in this session are of two kinds: "
        f"{kinds}; a join compares values of one kind (the back-ends would match them "
        "differently) (write the joined field's values in one kind in every fact, e.g. all "
        "as text; see docs/hardening.md, \"Rule packs\")"]


def test_a_join_of_values_of_one_kind_is_the_same_on_both_back_ends(tmp_path: Path) -> None:
    """Text "1" on T-1001 and T-1003, "01" on T-1002: only T-1001 and T-1003 pair (a fact
    never pairs with itself; "01" is not "1"), both ways, on both back-ends."""
    rules = _rules(tmp_path, ZONE, ZONE_HEAD)
    facts = _facts(tmp_path, _zones({"T-1001": "1", "T-1002": "01", "T-1003": "1"}))
    reports = {}
    for backend in ("python", "durable"):
        out = tmp_path / f"{backend}.json"
        code, lines = _evaluate(rules, facts, backend, "--format", "json", "--output",
                                str(out))
        assert code == 0, lines
        reports[backend] = out.read_bytes()
    assert reports["python"] == reports["durable"]
    assert sorted(f["message"] for f in json.loads(reports["python"])["findings"]
                  if f["rule"] == "extra.zone") == ["T-1001=T-1003", "T-1003=T-1001"]
