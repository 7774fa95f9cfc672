"""Rule packs that would explode or crash are refused at load (issue 16 §3).

- every alias after a rule's first must be joined to an earlier alias by an equality
  (``field: {fact: earlier.field}``): an unjoined alias is a cross product (three unjoined
  ticket aliases over 100 tickets took 17 s and 900 MB on the Python back-end, and killed
  the durable-rules back-end);
- only an equality may compare a field with another alias's field: an order comparison
  between two facts crashed durable-rules (a segmentation fault when it was false);
- a ``set`` value must be of its decision's kind and the ``combine`` mode must suit it
  (``max`` of text and a number was a ``TypeError`` traceback); a value read at run time
  from a field with no declared kind (an extension field) is checked as it is decided.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

import pytest

from policyengine.load.loader import load_document

from .rulepacks import AS_OF, EXAMPLE, HEAD, POLICY, _cli, _rules


def _evaluate(rules: Path, facts: Path = EXAMPLE, backend: str = "python") -> tuple[int, list]:
    return _cli("evaluate", "--policy", str(POLICY), "--facts", str(facts), "--as-of", AS_OF,
                "--rules", str(rules), "--engine", backend)


def _ticket_rule(b: str, c: str) -> str:
    return f"""\
  - id: cross
    stage: ticket-clocks
    for_clause: severity
    when:
      a: {{type: ticket, severity: {{term: level}}}}
      b: {b}
      c: {c}
    then:
      subject: a
      outcome: met
      message: "x"
"""


NOT_JOINED = ("alias '{alias}' is not joined to an earlier alias ({earlier}): without an "
              "equality condition on one of them the rule matches every combination of facts "
              "(a cross product, refused) (join it, e.g. customer: {{fact: a.customer}})")


ACROSS = ("{key}: {{{op}: {{fact: {other}.{key}}}}} compares with a field of another alias "
          "({other}): only an equality may join two facts (durable-rules crashes when such a "
          "comparison between two facts is false) (carry the value on {alias}'s facts and "
          "compare with {{fact: {alias}.<field>}})")


@pytest.mark.parametrize(("b", "c", "expected"), [
    # the reported attack: three aliases, no join at all; both later aliases are named
    ("{type: ticket}", "{type: ticket}",
     [("12:7", "b", "a"), ("13:7", "c", "a, b")]),
    # c joined, b not: b alone is still a cross product with a
    ("{type: ticket}", "{type: ticket, customer: {fact: a.customer}}", [("12:7", "b", "a")]),
    # a join only inside `any` does not bound the match (one branch is enough to match all)
    ("{type: ticket, key: {fact: a.key}}",
     "{type: ticket, any: [{customer: {fact: b.customer}}, {responded: true}]}",
     [("13:7", "c", "a, b")]),
    # an order comparison is no join: every pair with a smaller value matches (and an
    # order comparison between two facts is refused on its own: see below)
    ("{type: ticket, key: {fact: a.key}}", "{type: ticket, as_of: {gte: {fact: a.as_of}}}",
     [("13:7", "c", "a, b"), ("13:38", "c.as_of.gte", "")]),
])
def test_an_unjoined_alias_is_refused(tmp_path: Path, b: str, c: str,
                                      expected: list[tuple[str, str, str]]) -> None:
    rules = _rules(tmp_path, _ticket_rule(b, c))
    lines = [f"{rules / 'extra.yaml'}:{at}: $.rules[0].when.{alias}: "
             + (NOT_JOINED.format(alias=alias, earlier=earlier) if earlier
                else ACROSS.format(key="as_of", op="gte", other="a", alias="c"))
             for at, alias, earlier in expected]
    assert _cli("validate", str(rules)) == (2, lines)
    assert _evaluate(rules) == (2, lines)


def test_the_cross_product_attack_is_refused_before_it_runs(tmp_path: Path) -> None:
    """100 tickets and three unjoined aliases: refused at load, in well under a second."""
    facts = load_document(EXAMPLE).data["facts"]
    ticket = next(f for f in facts if f["type"] == "ticket")
    many = [f for f in facts if f["type"] != "ticket"] + [
        {**ticket, "id": f"t-{n}"} for n in range(100)]
    file = tmp_path / "facts.json"
    import json

    file.write_text(json.dumps({"apiVersion": "policyengine/v1", "kind": "FactSet",
                                "facts": many}, default=str), encoding="utf-8")
    rules = _rules(tmp_path, _ticket_rule("{type: ticket}", "{type: ticket}"))
    for backend in ("python", "durable"):
        started = time.monotonic()
        code, lines = _evaluate(rules, file, backend)
        assert code == 2 and len(lines) == 2 and "cross product" in lines[0], lines
        assert time.monotonic() - started < 5  # was 17 s (python) / a crash (durable)


@pytest.mark.parametrize("op", ["lt", "lte", "gt", "gte", "ne"])
def test_an_order_comparison_between_two_joined_facts_is_refused(tmp_path: Path,
                                                                  op: str) -> None:
    """durable-rules 2.0.28 crashed (SIGSEGV) when such a test was false: the first tiered
    credit rule compared a band's bounds with its period's availability (``below: {gt:
    {fact: m.availability}}``), and the third differently tiered policy evaluated in one
    process killed it. Joined by key, the comparison alone is refused, located at it."""
    rules = _rules(tmp_path, _ticket_rule(
        "{type: ticket, key: {fact: a.key}}",
        f"{{type: ticket, key: {{fact: a.key}}, as_of: {{{op}: {{fact: b.as_of}}}}}}"))
    code, lines = _cli("validate", str(rules))
    assert code == 2
    assert lines == [f"{rules / 'extra.yaml'}:13:{55 + len(op)}: $.rules[0].when.c.as_of.{op}: "
                     + ACROSS.format(key="as_of", op=op, other="b", alias="c")], lines
    assert _evaluate(rules, backend="durable") == (2, lines)


def test_an_order_comparison_on_the_fact_itself_is_accepted(tmp_path: Path) -> None:
    rules = _rules(tmp_path, _ticket_rule(
        "{type: ticket, key: {fact: a.key}}",
        "{type: ticket, key: {fact: a.key}, as_of: {gte: {fact: c.response_due}}}"))
    assert _cli("validate", str(rules)) == (0, [f"ok: {rules}"])


def test_joined_aliases_are_accepted(tmp_path: Path) -> None:
    """A chain of equality joins, one written ``{eq: ...}``: each alias joined to an earlier
    one. 1 + 1 matches per ticket, so the rule fires once per ticket of a severity."""
    rules = _rules(tmp_path, _ticket_rule(
        "{type: ticket, key: {fact: a.key}}",
        "{type: ticket, customer: {eq: {fact: b.customer}}, key: {fact: a.key}}"))
    assert _cli("validate", str(rules)) == (0, [f"ok: {rules}"])
    code, _ = _evaluate(rules)
    assert code in (0, 1)


# -- typed decisions ------------------------------------------------------------------------
def _window_rule(effect: str, for_clause: str = "excused_cause") -> str:
    return f"""\
  - id: typed
    stage: window-exclusions
    for_clause: {for_clause}
    when:
      w: {{type: window}}
    then:
      set:
        - {effect}
"""


@pytest.mark.parametrize(("effect", "at", "message"), [
    # the reported attack: max of text (a cause) and the numbers other rules decide
    ("{subject: w, field: excluded_up_to, value: {fact: w.cause}, combine: max}",
     "14:54: $.rules[0].then.set[0].value",
     "'excluded_up_to' of window facts is a number, but w.cause is text"),
    ("{subject: w, field: excluded_up_to, value: abc, combine: max}",
     "14:54: $.rules[0].then.set[0].value",
     "'excluded_up_to' of window facts is a number, but 'abc' is text"),
    ("{subject: w, field: excused, value: 1, combine: any}",
     "14:47: $.rules[0].then.set[0].value",
     "'excused' of window facts is a boolean, but 1 is a number"),
    # a duration literal is seconds: a number, so not a boolean
    ("{subject: w, field: excused, value: 48h}",
     "14:47: $.rules[0].then.set[0].value",
     "'excused' of window facts is a boolean, but '48h' is a number"),
    ("{subject: w, field: excused, value: true, combine: max}",
     "14:62: $.rules[0].then.set[0].combine",
     "combine 'max' does not suit 'excused' of window facts, a boolean; it takes: unique, "
     "all, any"),
    ("{subject: w, field: excluded_up_to, value: 60, combine: any}",
     "14:67: $.rules[0].then.set[0].combine",
     "combine 'any' does not suit 'excluded_up_to' of window facts, a number; it takes: "
     "unique, max, min"),
])
def test_a_set_value_of_the_wrong_kind_is_refused(tmp_path: Path, effect: str, at: str,
                                                  message: str) -> None:
    rules = _rules(tmp_path, _window_rule(effect))
    line = f"{rules / 'extra.yaml'}:{at}: {message}"
    assert _cli("validate", str(rules)) == (2, [line])
    assert _evaluate(rules) == (2, [line])


def test_a_term_of_the_wrong_kind_is_refused_when_compiled(tmp_path: Path) -> None:
    """``{term: notice.kind}`` is text (scheduled_downtime): refused per clause."""
    rules = _rules(tmp_path, _window_rule(
        "{subject: w, field: excluded_up_to, value: {term: notice.kind}, combine: max}",
        "scheduled_maintenance"))
    code, lines = _evaluate(rules)
    assert code == 2
    assert lines == [
        f"{rules / 'extra.yaml'}:14:54: $.rules[0].then.set[0].value: 'excluded_up_to' of "
        "window facts is a number, but the term's value 'scheduled_downtime' is text "
        "(compiling for clause 'scheduled-downtime' of "
        f"{POLICY / '1.0.0.yaml'})"]


REGION = HEAD + "extra_fields:\n  window: [region]\n"


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_an_extension_field_of_the_wrong_kind_is_an_engine_error(tmp_path: Path,
                                                                  backend: str) -> None:
    """An extension field has no declared kind: checked when the rule decides, one line."""
    rules = _rules(tmp_path, _window_rule(
        "{subject: w, field: excluded_up_to, value: {fact: w.region}, combine: max}"), REGION)
    assert _cli("validate", str(rules))[0] == 0
    facts = load_document(EXAMPLE).data["facts"]
    tagged = [{**f, "region": "eu"} if f["type"] == "downtime" else f for f in facts]
    file = tmp_path / "facts.json"
    import json

    file.write_text(json.dumps({"apiVersion": "policyengine/v1", "kind": "FactSet",
                                "facts": tagged}, default=str), encoding="utf-8")
    code, lines = _evaluate(rules, file, backend)
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith("policyengine: rule extra.typed@")
    assert lines[0].endswith("as 'eu' (text), but excluded_up_to is a number")


# -- errors raised in workers: one line with the cause ------------------------------------------
CONFLICT = """\
  - id: conflict
    stage: credits
    for_clause: service_credit
    when:
      m: {type: customer_month, covered: true, met: false}
    then:
      set:
        - {subject: m, field: form, value: refund}
"""


def _json_report(rules: Path | None, workers: int, facts: Path = EXAMPLE) -> tuple[int, list]:
    args = ["evaluate", "--policy", str(POLICY), "--facts", str(facts), "--as-of", AS_OF,
            "--format", "json", "--workers", str(workers)]
    return _cli(*args, *(["--rules", str(rules)] if rules else []))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers need os.fork")
@pytest.mark.parametrize("engine", ["python", "durable"])
def test_a_conflicting_decision_is_the_same_one_line_everywhere(tmp_path: Path,
                                                                engine: str) -> None:
    """`unique` decisions that disagree (acme's 2026-10 month is decided 'refund' here and
    'credit' by the shipped rule; globex's 'refund' by both): one line, the engine's own,
    and the SAME line in memory (table), with 1 and with 2 workers, on both back-ends: the
    least subject, the values in order ('credit' < 'refund'), the least rule deciding
    each. (It used to name whichever conflict the
    back-end, session or worker met first.)"""
    rules = _rules(tmp_path, CONFLICT)
    expected = ("policyengine: rule extra.conflict@service-credit decides form of "
                "acme/2026-10 as 'refund', but another rule "
                "(availability.credit-for-renewed-order@service-credit) decided 'credit'; "
                "give the field a combine mode")
    runs = [_cli("evaluate", "--policy", str(POLICY), "--facts", str(EXAMPLE), "--as-of",
                 AS_OF, "--engine", engine, "--rules", str(rules))]
    runs += [_cli("evaluate", "--policy", str(POLICY), "--facts", str(EXAMPLE), "--as-of",
                  AS_OF, "--engine", engine, "--rules", str(rules), "--format", "json",
                  "--workers", str(workers)) for workers in (1, 2)]
    for code, lines in runs:
        assert (code, lines) == (2, [expected])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers need os.fork")
def test_a_worker_error_is_one_line_with_its_cause(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No space left in $TMPDIR for a worker's shard rows: the cause and the file, one line.

    (Results come back through the process pool's pipe, so a full $TMPDIR cannot lose them;
    it used to be "a child process ended with exit code 1 and no result".)"""
    from policyengine.stream import sharded

    def full(file: Any, *args: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), file.name)

    monkeypatch.setattr(sharded, "_write_block", full)
    code, lines = _json_report(None, 2)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("policyengine: an evaluation worker failed: No space left on "
                               "device (")
    assert lines[0].endswith(".rows)")

    def bug(file: Any, *args: Any) -> None:
        raise KeyError("customer")

    monkeypatch.setattr(sharded, "_write_block", bug)
    assert _json_report(None, 2) == (2, [
        "policyengine: an evaluation worker failed: KeyError: 'customer' "
        "(at test_rulepack_limits.py:" + str(bug.__code__.co_firstlineno + 1) + ")"])


def _size_rule(conditions: str) -> str:
    """A rule on tickets whose alias ``t`` also holds ``conditions`` (YAML, 6 spaces)."""
    return f"""\
  - id: sized
    stage: ticket-severity
    for_clause: severity
    when:
      t:
        type: ticket
{conditions}
    then:
      set:
        - {{subject: t, field: impact_severity, value: 3, combine: min}}
"""


def _groups(count: int) -> str:
    # `all` of `count` two-way `any`s on one field (always true, met once per ticket)
    return "        all:\n" + "".join(
        "          - any: [{assigned: true}, {assigned: false}]\n" for _ in range(count))


@pytest.mark.parametrize("engine", ["python", "durable"])
@pytest.mark.parametrize(("case", "conditions", "refusal"), [
    # groups: the alias's own `all` (type + 14 anys) is 1, each any 1: 2 x 15 = 30 <= 31
    ("14-groups-fit", _groups(14), None),
    # 2 x 16 = 32 slots: durable-rules refused the ruleset ("error code: 113")
    ("15-groups-too-many", _groups(15),
     "the conditions of alias 't' make 16 groups and 0 comparisons with another alias: "
     "2 x 16 + 0 = 32 slots, more than the 31 durable-rules holds for one alias"),
    # an `in` list of 500 distinct values: one $or of 500 branches, met at most once
    ("in-list-500-fits",
     "        key: {in: [" + ", ".join(f"k{i}" for i in range(500)) + "]}\n", None),
    # 501 branches refused (durable-rules hangs for ever from the 513th on)
    ("in-list-501-too-long",
     "        key: {in: [" + ", ".join(f"k{i}" for i in range(501)) + "]}\n",
     "the conditions of alias 't' hold an 'any' or 'in' list of 501 branches"),
    # a value listed twice is one branch: 500 distinct of 600 written
    ("in-list-repeats-counted-once",
     "        key: {in: [" + ", ".join(f"k{i % 500}" for i in range(600)) + "]}\n", None),
    # 64 identical branches: a ticket meets all 64 at once, fires 64 times (+ its sink)
    ("64-matched-at-once-fit", "        any:\n" + "          - {assigned: true}\n" * 64, None),
    # 65: durable-rules fails the batch ("error code: 303") or corrupts its heap
    ("65-matched-at-once-too-many", "        any:\n" + "          - {assigned: true}\n" * 65,
     "the rule's conditions can be met in 65 alternative ways by the same facts"),
])
def test_a_rule_over_a_durable_rules_limit_is_refused_at_load_on_both_back_ends(
        tmp_path: Path, engine: str, case: str, conditions: str, refusal: str | None) -> None:
    """Measured limits of durable-rules 2.0.28 (docs/hardening.md): a rule over one is one
    located line, exit 2, on both back-ends (the Python back-end used to evaluate what
    durable-rules refused); at the limit both evaluate and agree."""
    rules = _rules(tmp_path, _size_rule(conditions))
    code, lines = _evaluate(rules, backend=engine)
    if refusal is None:
        assert code in (0, 1), lines
        other = _evaluate(rules, backend="python" if engine == "durable" else "durable")
        same = [line for line in lines if '"decision"' not in line and "engine" not in line
                and not line.startswith("evaluated:")]
        assert other[0] == code
        assert [line for line in other[1] if '"decision"' not in line
                and "engine" not in line and not line.startswith("evaluated:")] == same
        return
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"{rules / 'extra.yaml'}:11:7: $.rules[0].when.t: {refusal}")
    assert "(compiling for clause 'severity-1' of" in lines[0]
