"""``Engine.due(severity, opened_at)`` and the ``policyengine due`` command.

Expected instants are computed by hand from the shipped Spirion policy 1.0.0: support hours
Mon-Fri 09:00-18:00 America/New_York (half-open), closed on US federal holidays (observed);
response 4 support hours for every severity; resolution sev 1 = 24 elapsed hours, sev 2 =
48 support hours, sev 3 = no target.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from policyengine.api import Engine, facts_from_dicts
from policyengine.cli.main import main
from policyengine.diagnostics import InputError

from .conftest import ROOT, engine_for, set_term, shipped_policy_data

POLICY_DIR = ROOT / "policies" / "spirion"
POLICY_FILE = POLICY_DIR / "1.0.0.yaml"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(POLICY_DIR)


# (severity, opened_at, response_due, resolution_due), worked out by hand:
DUES = [
    # Fri 19:00 is after closing -> Mon 10-19 09:00 + 4 h; resolution 24 elapsed hours.
    pytest.param(1, "2026-10-16T19:00:00-04:00", "2026-10-19T13:00:00-04:00",
                 "2026-10-17T19:00:00-04:00", id="sev1-friday-after-closing"),
    # 18:00 sharp is closed -> Wed 09:00 + 4 h = 13:00.
    pytest.param(3, "2026-10-13T18:00:00-04:00", "2026-10-14T13:00:00-04:00", None,
                 id="sev3-at-closing"),
    # Mon 14:00 + 4 h = 18:00 exactly: stays at closing.
    pytest.param(3, "2026-10-05T14:00:00-04:00", "2026-10-05T18:00:00-04:00", None,
                 id="sev3-due-at-closing"),
    # Sat 2026-03-07 12:00 EST = 17:00Z, + 24 h = 03-08 17:00Z = 13:00 EDT.
    pytest.param(1, "2026-03-07T12:00:00-05:00", "2026-03-09T13:00:00-04:00",
                 "2026-03-08T13:00:00-04:00", id="sev1-spring-forward"),
    # Mon 11-23 10:00: 8 + 9 (Tue) + 9 (Wed) + 0 (Thanksgiving) + 9 (Fri) + 9 (Mon 11-30)
    # = 44 h, Tue 12-01 09:00 + 4 h = 13:00.
    pytest.param(2, "2026-11-23T10:00:00-05:00", "2026-11-23T14:00:00-05:00",
                 "2026-12-01T13:00:00-05:00", id="sev2-thanksgiving-week"),
    # Thanksgiving 10:00 -> Fri 11-27 09:00 + 4 h = 13:00.
    pytest.param(3, "2026-11-26T10:00:00-05:00", "2026-11-27T13:00:00-05:00", None,
                 id="sev3-on-thanksgiving"),
    # Fri 2026-07-03 (Independence Day observed) -> Mon 07-06 13:00.
    pytest.param(2, "2026-07-03T10:00:00-04:00", "2026-07-06T13:00:00-04:00",
                 # 48 support h from Mon 07-06 09:00: Mon-Fri 45 h, Mon 07-13 09:00 + 3 h
                 "2026-07-13T12:00:00-04:00", id="sev2-observed-holiday"),
]


@pytest.mark.parametrize(("severity", "opened_at", "response", "resolution"), DUES)
def test_engine_due(engine: Engine, severity: int, opened_at: str, response: str,
                    resolution: str | None) -> None:
    due = engine.due(severity, opened_at)
    assert due.severity == severity
    assert due.opened_at == opened_at
    assert due.response_due == response
    assert due.resolution_due == resolution
    assert due.policy_version == "1.0.0"
    assert due.to_dict() == {
        "severity": severity, "opened_at": opened_at, "response_due": response,
        "resolution_due": resolution, "policy_version": "1.0.0",
    }


@pytest.mark.parametrize(("severity", "opened_at", "response", "resolution"), DUES)
def test_due_agrees_with_evaluate(backend: str, severity: int, opened_at: str, response: str,
                                  resolution: str | None) -> None:
    """The what-if answer is the due time an evaluated ticket of that severity gets."""
    engine = engine_for(shipped_policy_data(), backend)
    facts = facts_from_dicts([
        {"type": "subscription", "customer": "acme", "plan": "production",
         "deployment": "saas", "license": "subscription", "annual_fee": "1200.00",
         "currency": "USD", "term_start": "2026-01-01", "term_end": "2026-12-31",
         "renewed": True, "support": "active"},
        {"type": "ticket", "id": "T", "customer": "acme", "severity": severity,
         "opened_at": opened_at},
    ])
    row = engine.evaluate(facts, as_of=opened_at).to_dict()["tickets"][0]
    due = engine.due(severity, opened_at)
    assert (row["response_due"], row["resolution_due"]) == (response, resolution)
    assert (due.response_due, due.resolution_due) == (response, resolution)


def test_due_accepts_z_datetime_and_epoch(engine: Engine) -> None:
    """Any spelling of the same instant gives the same answer, rendered in New York time."""
    expected = ("2026-10-16T19:00:00-04:00", "2026-10-19T13:00:00-04:00",
                "2026-10-17T19:00:00-04:00")
    aware = dt.datetime(2026, 10, 16, 19, 0, tzinfo=NEW_YORK)
    for spelling in ("2026-10-16T23:00:00Z", "2026-10-16T23:00:00+00:00", aware,
                     aware.timestamp()):
        due = engine.due(1, spelling)
        assert (due.opened_at, due.response_due, due.resolution_due) == expected, spelling


def test_due_loads_a_single_policy_file() -> None:
    due = Engine.load(POLICY_FILE).due(1, "2026-10-16T19:00:00-04:00")
    assert due.response_due == "2026-10-19T13:00:00-04:00"


def test_due_follows_policy_edits() -> None:
    """A policy edit (2 h response, Mon 10-19 closed) changes the answer, no code change."""
    data = shipped_policy_data()
    set_term(data, "severity-1.response.target", "2h")
    set_term(data, "support-hours.added_closures", ["2026-10-19"])
    due = engine_for(data, "python").due(1, "2026-10-16T19:00:00-04:00")
    # Mon 10-19 closed -> Tue 10-20 09:00 + 2 h = 11:00; resolution elapsed, unchanged.
    assert due.response_due == "2026-10-20T11:00:00-04:00"
    assert due.resolution_due == "2026-10-17T19:00:00-04:00"


def test_due_unknown_severity(engine: Engine) -> None:
    with pytest.raises(InputError) as caught:
        engine.due(4, "2026-10-16T19:00:00-04:00")
    message = str(caught.value)
    assert "severity 4 is not defined" in message
    assert "[1, 2, 3]" in message


@pytest.mark.parametrize("opened_at", ["2026-10-16T19:00:00", dt.datetime(2026, 10, 16, 19)])
def test_due_naive_opened_at(engine: Engine, opened_at: str | dt.datetime) -> None:
    with pytest.raises(InputError, match="offset"):
        engine.due(1, opened_at)


def test_due_before_any_policy_version(engine: Engine) -> None:
    """The shipped policy is effective from 2020-01-01."""
    with pytest.raises(InputError, match="no policy version is in force on 2019-10-16"):
        engine.due(1, "2019-10-16T19:00:00-04:00")


# -- CLI ------------------------------------------------------------------------------------

def _due(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["due", "--policy", str(POLICY_DIR), *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_due_text() -> None:
    code, out, err = _due("--severity", "1", "--opened-at", "2026-10-16T19:00:00-04:00")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    assert "severity 1" in lines[0] and "2026-10-16T19:00:00-04:00" in lines[0]
    assert "1.0.0" in lines[0]
    assert "response due" in lines[1] and lines[1].endswith("2026-10-19T13:00:00-04:00")
    assert "resolution due" in lines[2] and lines[2].endswith("2026-10-17T19:00:00-04:00")


def test_cli_due_text_no_resolution_target() -> None:
    code, out, _ = _due("--severity", "3", "--opened-at", "2026-10-13T18:00:00-04:00")
    assert code == 0
    lines = out.splitlines()
    assert lines[1].endswith("2026-10-14T13:00:00-04:00")
    assert "resolution due" in lines[2] and lines[2].endswith("no target")


def test_cli_due_json() -> None:
    code, out, err = _due("--severity", "2", "--opened-at", "2026-11-23T10:00:00-05:00",
                          "--format", "json")
    assert code == 0, err
    assert json.loads(out) == {
        "severity": 2,
        "opened_at": "2026-11-23T10:00:00-05:00",
        "response_due": "2026-11-23T14:00:00-05:00",
        "resolution_due": "2026-12-01T13:00:00-05:00",
        "policy_version": "1.0.0",
    }


def test_cli_due_json_null_resolution() -> None:
    code, out, _ = _due("--severity", "3", "--opened-at", "2026-10-16T19:00:00-04:00",
                        "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["resolution_due"] is None
    assert data["response_due"] == "2026-10-19T13:00:00-04:00"


def test_cli_due_single_policy_file() -> None:
    result = CliRunner().invoke(main, ["due", "--policy", str(POLICY_FILE), "--severity", "1",
                                       "--opened-at", "2026-03-07T12:00:00-05:00",
                                       "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["resolution_due"] == "2026-03-08T13:00:00-04:00"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(["--severity", "4", "--opened-at", "2026-10-16T19:00:00-04:00"],
                     "severity 4 is not defined", id="unknown-severity"),
        pytest.param(["--severity", "1", "--opened-at", "2026-10-16T19:00:00"],
                     "has no offset", id="naive-opened-at"),
        pytest.param(["--severity", "1", "--opened-at", "next tuesday"],
                     "not a valid ISO 8601 timestamp", id="garbage-opened-at"),
        pytest.param(["--severity", "one", "--opened-at", "2026-10-16T19:00:00-04:00"],
                     "severity", id="non-integer-severity"),
        pytest.param(["--severity", "1"], "opened-at", id="missing-opened-at"),
        pytest.param(["--severity", "1", "--opened-at", "2019-10-16T19:00:00-04:00"],
                     "no policy version is in force", id="before-policy"),
    ],
)
def test_cli_due_bad_input_exits_2_with_one_line(args: list[str], fragment: str) -> None:
    code, out, err = _due(*args)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_cli_due_unknown_policy_path_exits_2() -> None:
    result = CliRunner().invoke(main, ["due", "--policy", str(ROOT / "no-such-policy"),
                                       "--severity", "1",
                                       "--opened-at", "2026-10-16T19:00:00-04:00"])
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_cli_due_naive_opened_at_names_the_option() -> None:
    result = CliRunner().invoke(main, ["due", "--policy", str(ROOT / "policies" / "spirion"),
                                       "--severity", "1",
                                       "--opened-at", "2026-10-16T19:00:00"])
    assert result.exit_code == 2
    assert "opened-at" in result.stderr or "opened_at" in result.stderr
    assert "as-of" not in result.stderr


# -- one timestamp rule for the options (attack16 F11, F15) ---------------------------------


def test_due_last_update_before_opened_is_refused(engine: Engine) -> None:
    """As a fact's update before opened_at: a usage error at the option, not an answer."""
    with pytest.raises(InputError) as caught:
        engine.due(2, "2026-10-13T10:00:00-04:00", last_update_at="2026-10-12T10:00:00-04:00")
    (problem,) = caught.value.diagnostics
    assert (problem.file, problem.message) == (
        "last-update-at", "last-update-at 2026-10-12T10:00:00-04:00 is before opened-at "
        "2026-10-13T10:00:00-04:00: a ticket's first response or update comes after it was "
        "opened")


def test_due_answer_after_the_supported_years_is_refused(engine: Engine) -> None:
    """2199-12-31 17:00 EST, severity 2 (4 support hours): one hour that day, the other 3
    in 2200, past the supported years: refused at the option it runs from (it used to be
    answered, 2200-01-01T12:00:00-05:00)."""
    with pytest.raises(InputError) as caught:
        engine.due(2, "2199-12-31T17:00:00-05:00")
    (problem,) = caught.value.diagnostics
    assert problem.file == "opened-at"
    assert problem.message.startswith("the response target cannot be placed: it falls at 2200-")
    assert problem.message.endswith(", after the supported years 1971-2199")


@pytest.mark.parametrize(("value", "fragment"), [
    pytest.param("2026-10-13T10:00:00.1234567-04:00",
                 "gives 7 digits after the seconds' decimal point; at most 6", id="7-digits"),
    pytest.param("2026-W42-2T10:00:00-04:00", "is an ISO week date", id="week-date"),
    pytest.param("2026-286T10:00:00-04:00", "is an ISO ordinal date", id="ordinal-date"),
    pytest.param("20261013T100000-04:00", "is not written as the facts write timestamps",
                 id="basic-format"),
    pytest.param(1.0, "(epoch seconds) is outside the supported years 1971-2199",
                 id="epoch-1970"),
    pytest.param(dt.datetime(2200, 1, 1, 12, tzinfo=dt.UTC),
                 "is outside the supported years 1971-2199", id="datetime-2200"),
])
def test_due_opened_at_one_timestamp_rule(engine: Engine, value: object,
                                          fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        engine.due(2, value)  # type: ignore[arg-type]
    (problem,) = caught.value.diagnostics
    assert problem.file == "opened_at" and fragment in problem.message


def test_cli_due_last_update_before_opened_exits_2() -> None:
    result = CliRunner().invoke(main, [
        "due", "--policy", str(POLICY_DIR), "--severity", "2",
        "--opened-at", "2026-10-13T10:00:00-04:00",
        "--last-update-at", "2026-10-12T10:00:00-04:00"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "last-update-at:0:0: $: last-update-at 2026-10-12T10:00:00-04:00 is before opened-at "
        "2026-10-13T10:00:00-04:00: a ticket's first response or update comes after it was "
        "opened"]
