"""Issue 13 parts 3 and 4: a typo cannot change a verdict; the API names its parameters.

Unknown fields on standard facts (warning with a did-you-mean; an error under --strict;
a near miss of a scope field, or of a downtime's `end`, is always an error when that field
is missing), `--strict` on evaluate and validate,
summaries that restate numbers their terms no longer say, one fact path given to
`Engine.evaluate`, and errors that name `as_of`/`months`/`opened_at` from the library but
`--as-of`/`--months`/`--opened-at` from the CLI.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.api import Engine
from policyengine.clauses.summaries import stated_numbers
from policyengine.cli.main import main
from policyengine.diagnostics import InputError

from .conftest import ROOT, SHIPPED

AS_OF = "2026-11-27T12:00:00-05:00"
POLICY = str(ROOT / "policies" / "spirion")
EXAMPLE = str(ROOT / "examples" / "october-2026.yaml")
SUB = ('{type: subscription, customer: %s, plan: production, deployment: saas, '
       'license: subscription, annual_fee: "120000.00", currency: USD, '
       'term_start: "2026-01-01", term_end: "2026-12-31", renewed: true, support: active}')


def _facts(tmp_path: Path, *lines: str) -> str:
    body = "\n".join(f"  - {line}" for line in (SUB % "acme", SUB % "globex", *lines))
    path = tmp_path / "facts.yaml"
    path.write_text(f"apiVersion: policyengine/v1\nkind: FactSet\nfacts:\n{body}\n",
                    encoding="utf-8")
    return str(path)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


TICKET_TYPO = ('{type: ticket, id: t-1, customer: acme, severity: 2, '
               'opened_at: "2026-10-06T10:00:00-04:00", '
               'first_responce_at: "2026-10-06T11:00:00-04:00"}')
WARNING = ("facts.yaml:6:5: $.facts[2].first_responce_at: warning: fact 't-1': unknown field "
           "'first_responce_at' on a ticket; the standard evaluation does not read it "
           "(did you mean 'first_response_at'?)")


def test_unknown_field_is_a_located_warning_with_did_you_mean(tmp_path: Path) -> None:
    facts = _facts(tmp_path, TICKET_TYPO)
    code, out, err = _run("evaluate", "--policy", POLICY, "--facts", facts, "--as-of", AS_OF)
    assert code == 0
    *_, warning, summary = err.splitlines()  # then evaluate's summary line
    assert warning.endswith(WARNING) and summary.startswith("evaluated: 1 customer, ")
    assert '"id": "t-1"' in out  # evaluated: the warning changes nothing by itself
    code, _, err = _run("validate", facts)
    assert code == 0 and WARNING in err


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_strict_evaluate_refuses_warnings_and_writes_nothing(tmp_path: Path, fmt: str) -> None:
    facts = _facts(tmp_path, TICKET_TYPO)
    report = tmp_path / "report.out"
    code, out, err = _run("evaluate", "--policy", POLICY, "--facts", facts, "--as-of", AS_OF,
                          "--strict", "--format", fmt, "--output", str(report))
    assert code == 2
    assert err.strip().endswith(WARNING.replace("warning: ", ""))
    assert out == "" and not report.exists()


def test_strict_validate_fails_on_warnings(tmp_path: Path) -> None:
    facts = _facts(tmp_path, TICKET_TYPO)
    code, _, err = _run("validate", "--strict", facts)
    assert code == 2 and "warning:" not in err and "first_responce_at" in err
    code, _, _ = _run("validate", "--strict", str(ROOT / "policies"), str(ROOT / "rules"),
                      str(ROOT / "examples"))
    assert code == 0


def test_downtime_customer_typo_is_an_error_even_without_strict(tmp_path: Path) -> None:
    facts = _facts(tmp_path, '{type: downtime, id: d-1, start: "2026-10-05T10:00:00-04:00", '
                   'end: "2026-10-05T20:00:00-04:00", cause: vendor, maintenance: none, '
                   'customer: acme}')
    for args in (["evaluate", "--policy", POLICY, "--facts", facts, "--as-of", AS_OF],
                 ["validate", facts]):
        code, out, err = _run(*args)
        assert code == 2 and out == ""
        assert err == ("facts.yaml:6:5: $.facts[2].customer: fact 'd-1': unknown field "
                       "'customer': a downtime without 'customers' counts for every customer "
                       "(did you mean 'customers'?)\n").replace("facts.yaml", facts)


def test_notice_customers_typo_is_an_error(tmp_path: Path) -> None:
    facts = _facts(tmp_path,
                   '{type: change, id: c-1, kind: significant, '
                   'deployed_at: "2026-10-20T10:00:00-04:00"}',
                   '{type: notice, id: n-1, kind: significant_change, about: c-1, '
                   'sent_at: "2026-10-01T10:00:00-04:00", channel: email, customers: [acme]}')
    code, _, err = _run("validate", facts)
    assert code == 2
    assert ("$.facts[3].customers: fact 'n-1': unknown field 'customers': a notice without "
            "'customer' reaches every customer (did you mean 'customer'?)") in err


@pytest.mark.parametrize("typo", ["ended", "ends"])
def test_downtime_end_typo_is_an_error_when_end_is_missing(tmp_path: Path, typo: str) -> None:
    """A downtime without `end` is still going on and counts up to as-of (issue 13 part 1):
    `ended: ...` would charge a closed 10-hour outage up to as-of (53 days here), so a near
    miss of `end` on a downtime without one is an error, as a scope field's is."""
    facts = _facts(tmp_path, '{type: downtime, id: d-1, start: "2026-10-05T10:00:00-04:00", '
                   f'{typo}: "2026-10-05T20:00:00-04:00", cause: vendor, maintenance: none}}')
    for args in (["evaluate", "--policy", POLICY, "--facts", facts, "--as-of", AS_OF],
                 ["validate", facts]):
        code, out, err = _run(*args)
        assert code == 2 and out == ""
        assert err == (f"facts.yaml:6:5: $.facts[2].{typo}: fact 'd-1': unknown field "
                       f"'{typo}': a downtime without 'end' is still going on and counts up "
                       "to as-of (did you mean 'end'?)\n").replace("facts.yaml", facts)


def test_downtime_end_typo_next_to_end_is_only_a_warning(tmp_path: Path) -> None:
    facts = _facts(tmp_path, '{type: downtime, id: d-1, start: "2026-10-05T10:00:00-04:00", '
                   'end: "2026-10-05T20:00:00-04:00", ended: "2026-10-05T20:00:00-04:00", '
                   'cause: vendor, maintenance: none}')
    code, _, err = _run("validate", facts)
    assert code == 0
    assert ("$.facts[2].ended: warning: fact 'd-1': unknown field 'ended' on a downtime; the "
            "standard evaluation does not read it (did you mean 'end'?)") in err


@pytest.mark.parametrize("nested, path, meant", [
    ("impact: {loss_of_servce: true, workaround_available: false}",
     "impact.loss_of_servce", "loss_of_service"),
    ('status_history: [{at: "2026-10-06T11:00:00-04:00", status: pending, until: x}]',
     "status_history[0].until", None),
])
def test_unknown_key_inside_impact_or_status_history_is_a_warning(
        tmp_path: Path, nested: str, path: str, meant: str | None) -> None:
    """Keys inside a ticket's `impact` and `status_history` entries are fields too. A
    misspelt impact flag was dropped without a word: `loss_of_servce: true` on a ticket
    without severity read as no loss of service, so the ticket was classified severity 3
    (response due 2026-10-06T14:00, 4 support hours from 10:00) instead of severity 1
    (the same response target here, but a 24h resolution target instead of none)."""
    facts = _facts(tmp_path, '{type: ticket, id: t-1, customer: acme, '
                   f'opened_at: "2026-10-06T10:00:00-04:00", {nested}}}')
    hint = f"did you mean {meant!r}?" if meant else "expected one of: at, status"
    code, _, err = _run("validate", facts)
    assert code == 0
    assert f"facts.yaml:6:5: $.facts[2].{path}: warning: fact 't-1': unknown field " \
        f"{path.rsplit('.', 1)[1]!r} in a ticket's {path.split('.')[0].split('[')[0]}" \
        in err.replace(facts, "facts.yaml")
    assert hint in err
    code, out, err = _run("validate", "--strict", facts)
    assert code == 2 and "warning:" not in err and path in err
    code, out, _ = _run("evaluate", "--policy", POLICY, "--facts", facts, "--as-of", AS_OF,
                        "--strict")
    assert code == 2 and out == ""


def test_a_field_a_rule_pack_declares_is_not_reported(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for pack in (ROOT / "rules").glob("*.yaml"):
        (rules / pack.name).write_text(pack.read_text(encoding="utf-8"), encoding="utf-8")
    (rules / "region.yaml").write_text(
        "apiVersion: policyengine/v1\nkind: RulePack\nmetadata: {name: region}\n"
        "extra_fields: {window: [region]}\nrules: []\n", encoding="utf-8")
    facts = _facts(tmp_path, '{type: downtime, id: d-1, start: "2026-10-05T10:00:00-04:00", '
                   'end: "2026-10-05T11:00:00-04:00", cause: vendor, maintenance: none, '
                   'region: eu}')
    code, _, err = _run("evaluate", "--policy", POLICY, "--facts", facts, "--as-of", AS_OF,
                        "--strict", "--rules", str(rules))
    assert code == 0, err
    code, _, err = _run("evaluate", "--policy", POLICY, "--facts", facts, "--as-of", AS_OF)
    assert code == 0 and "unknown field 'region' on a downtime" in err


# -- summaries ---------------------------------------------------------------------------
def test_stated_numbers() -> None:
    # "two days" = 172800 s; "4 support hours" = 14400 s; "99.9%" is a percentage
    assert stated_numbers("at least two days ahead, 4 support hours, 99.9% a month") == [
        ("two days", "duration", 172800), ("4 support hours", "duration", 14400),
        ("99.9%", "percent", Decimal("99.9"))]


@pytest.mark.parametrize("old,new,expected", [
    ("target_percent: 99.0", "target_percent: 99.9",
     "$.spec.availability[0].summary: warning: the summary says '99 percent', which none of "
     "the clause's terms says (target_percent 99.9); update the summary or the term"),
    ("      lead: 48h\n      channels: [email, phone, portal]\n      strength: binding",
     "      lead: 72h\n      channels: [email, phone, portal]\n      strength: binding",
     "$.spec.notifications[0].summary: warning: the summary says '48 hours', which none of "
     "the clause's terms says (lead 72h); update the summary or the term"),
    ("window: 60d", "window: 30d",
     "$.spec.credits[1].summary: warning: the summary says '60 days', which none of the "
     "clause's terms says (window 30d); update the summary or the term"),
], ids=["target-99.9", "notice-lead-72h", "claim-window-30d"])
def test_summary_that_contradicts_its_terms_warns(tmp_path: Path, old: str, new: str,
                                                  expected: str) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "p.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, _, err = _run("validate", str(path))
    assert code == 0
    assert expected in [line.split(": ", 1)[1] for line in err.splitlines()]
    assert sum("summary says" in line for line in err.splitlines()) == 1
    code, _, _ = _run("validate", "--strict", str(path))
    assert code == 2


@pytest.mark.parametrize("total,warned", [("10h", False), ("12h", True)],
                         ids=["allowance-10h-as-stated", "allowance-12h-contradicts"])
def test_summary_may_state_the_maintenance_allowance(tmp_path: Path, total: str,
                                                     warned: bool) -> None:
    # "ten hours a year" restates allowance.total (10 h = 36,000 s); before, the check did
    # not read the allowance and warned on a summary that was right (second contract trial)
    text = SHIPPED.read_text(encoding="utf-8")
    old = "six hours and any overrun counts."
    assert old in text and "      excluded_up_to: 6h\n" in text
    text = text.replace(old, "six hours and any overrun counts; ten hours a year in all.", 1)
    text = text.replace("      excluded_up_to: 6h\n", "      excluded_up_to: 6h\n"
                        f"      allowance: {{total: {total}, per: calendar_year}}\n", 1)
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = _run("validate", "--strict", str(path))
    assert (code, "the summary says 'ten hours'" in err) == ((2, True) if warned else (0, False))


# -- library API -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(POLICY, backend="python")


def test_evaluate_accepts_one_path(engine: Engine) -> None:
    one = engine.evaluate(EXAMPLE, as_of=AS_OF)
    assert one.to_json() == engine.evaluate([EXAMPLE], as_of=AS_OF).to_json()
    assert one.to_json() == engine.evaluate(Path(EXAMPLE), as_of=AS_OF).to_json()


@pytest.mark.parametrize("bad", [b"facts.yaml", 42, {"type": "subscription"}],
                         ids=["bytes", "number", "single-dict"])
def test_evaluate_refuses_a_non_path_with_a_type_error(engine: Engine, bad: object) -> None:
    with pytest.raises(TypeError, match="^facts: expected a path, a list of paths or fact "
                       "dicts, or a FactSet, got "):
        engine.evaluate(bad, as_of=AS_OF)  # type: ignore[arg-type]


@pytest.mark.parametrize("call,expected", [
    (lambda e: e.evaluate(EXAMPLE, as_of="2026-11-27T12:00:00"),
     "as_of:0:0: $: as_of '2026-11-27T12:00:00' has no offset: a timestamp without a UTC "
     "offset is refused; write e.g. 2026-11-27T12:00:00Z or 2026-11-27T12:00:00-05:00"),
    (lambda e: e.evaluate(EXAMPLE, as_of=AS_OF, months="2026-13"),
     "months:0:0: $: months '2026-13' is not a month that exists"),
    (lambda e: e.due(1, "2026-10-16T19:00:00"),
     "opened_at:0:0: $: opened_at '2026-10-16T19:00:00' has no offset: a timestamp without "
     "a UTC offset is refused; write e.g. 2026-10-16T19:00:00Z or 2026-10-16T19:00:00-05:00"),
], ids=["as_of", "months", "opened_at"])
def test_api_errors_name_api_parameters(engine: Engine, call, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        call(engine)
    assert caught.value.diagnostics[0].render() == expected


@pytest.mark.parametrize("args,expected", [
    (["evaluate", "--policy", POLICY, "--facts", EXAMPLE, "--as-of", "2026-11-27T12:00:00"],
     "--as-of:0:0: $: as-of '2026-11-27T12:00:00' has no offset"),
    (["evaluate", "--policy", POLICY, "--facts", EXAMPLE, "--as-of", AS_OF,
      "--months", "2026-13"], "--months:0:0: $: --months '2026-13' is not a month that exists"),
    (["due", "--policy", POLICY, "--severity", "1", "--opened-at", "2026-10-16T19:00:00"],
     "--opened-at:0:0: $: opened-at '2026-10-16T19:00:00' has no offset"),
], ids=["as-of", "months", "opened-at"])
def test_cli_errors_keep_option_names(args: list[str], expected: str) -> None:
    code, _, err = _run(*args)
    assert code == 2 and err.startswith(expected), err


def test_strict_api_raises_the_warnings_as_errors(engine: Engine, tmp_path: Path) -> None:
    facts = _facts(tmp_path, TICKET_TYPO)
    assert len(engine.evaluate(facts, as_of=AS_OF).warnings) == 1
    with pytest.raises(InputError) as caught:
        engine.evaluate(facts, as_of=AS_OF, strict=True)
    assert caught.value.diagnostics[0].severity == "error"
    with pytest.raises(InputError):
        engine.write_json([facts], lambda pieces: list(pieces), as_of=AS_OF, strict=True)
