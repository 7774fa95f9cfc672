"""Ticket clocks that pause while the ticket waits on the customer.

The shipped Spirion policy declares no ``pause_on``, so status history never moves a due time.
A policy may declare ``pause_on: [status, ...]`` on a response or resolution target; the
clock then stops from a status-history entry with such a status until the next entry.

Every expected instant is worked out by hand in the comment beside it. Support hours:
Mon-Fri 09:00-18:00 America/New_York; the weeks used (2026-09-14 .. 09-25) have no holiday
(Labor Day is 09-07, Columbus Day 10-12). Unpaused, a severity 2 ticket opened Mon 09-14
10:00 EDT is due: response 10:00 + 4 h = Mon 14:00; resolution 48 support hours =
Mon 8 h (8), Tue 17, Wed 26, Thu 35, Fri 44, Mon 09-21 09:00 + 4 h = 13:00.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policyengine import validate
from policyengine.api import Engine, facts_from_dicts
from policyengine.diagnostics import InputError

from .conftest import SHIPPED, engine_for, set_term, shipped_policy_data

WAITING = "waiting_on_customer"
OPENED = "2026-09-14T10:00:00-04:00"  # Monday
UNPAUSED_RESPONSE = "2026-09-14T14:00:00-04:00"
UNPAUSED_RESOLUTION = "2026-09-21T13:00:00-04:00"
# as-of after every status change of the cases (a change after as-of is not yet known)
LATER = "2026-09-30T12:00:00-04:00"
SUBSCRIPTION = {
    "type": "subscription", "customer": "acme", "plan": "production", "deployment": "saas",
    "license": "subscription", "annual_fee": "120000.00", "currency": "USD",
    "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
    "support": "active",
}


def pausing_policy() -> dict[str, Any]:
    """The shipped policy, with severity 2 (both clocks) and severity 1 resolution pausing."""
    data = shipped_policy_data()
    set_term(data, "severity-2.response.pause_on", [WAITING])
    set_term(data, "severity-2.resolution.pause_on", [WAITING])
    set_term(data, "severity-1.resolution.pause_on", [WAITING])
    return data


@pytest.fixture
def pausing(backend: str) -> Engine:
    return engine_for(pausing_policy(), backend)


def history(*entries: tuple[str, str]) -> list[dict[str, str]]:
    return [{"at": at, "status": status} for at, status in entries]


def ticket_row(engine: Engine, as_of: str, **ticket: Any) -> dict[str, Any]:
    fact = {"type": "ticket", "id": "T", "customer": "acme", "severity": 2,
            "opened_at": OPENED, **ticket}
    result = engine.evaluate(facts_from_dicts([SUBSCRIPTION, fact]), as_of=as_of).to_dict()
    (row,) = result["tickets"]
    return row


# (name, status_history, response_due, resolution_due) for a severity 2 ticket opened OPENED
SEV2_CASES = [
    # Waiting Mon 11:00 -> open Tue 09-15 10:00.
    # response: 1 h used (10-11), resumes Tue 10:00, 3 h left -> Tue 13:00.
    # resolution: Mon 1 h (1), Tue 10-18 8 h (9), Wed 18, Thu 27, Fri 36, Mon 09-21 45,
    #   Tue 09-22 09:00 + 3 h = 12:00 (8 support hours later than unpaused).
    pytest.param(
        history(("2026-09-14T11:00:00-04:00", WAITING), ("2026-09-15T10:00:00-04:00", "open")),
        "2026-09-15T13:00:00-04:00", "2026-09-22T12:00:00-04:00", id="overnight-wait"),
    # Waiting Mon 18:30 -> open Tue 08:30: entirely outside support hours -> no shift.
    pytest.param(
        history(("2026-09-14T18:30:00-04:00", WAITING), ("2026-09-15T08:30:00-04:00", "open")),
        UNPAUSED_RESPONSE, UNPAUSED_RESOLUTION, id="wait-outside-hours"),
    # Two waits, 11:00-12:00 and 13:00-13:30: response runs 10-11, 12-13, then 13:30 + 2 h
    # = 15:30; resolution 1.5 support hours later than unpaused: Mon 09-21 14:30.
    pytest.param(
        history(("2026-09-14T11:00:00-04:00", WAITING), ("2026-09-14T12:00:00-04:00", "open"),
                ("2026-09-14T13:00:00-04:00", WAITING), ("2026-09-14T13:30:00-04:00", "open")),
        "2026-09-14T15:30:00-04:00", "2026-09-21T14:30:00-04:00", id="two-short-waits"),
    # Statuses that are not listed in pause_on do not stop the clock.
    pytest.param(
        history(("2026-09-14T11:00:00-04:00", "in_progress"),
                ("2026-09-14T12:00:00-04:00", "waiting_on_vendor"),
                ("2026-09-15T12:00:00-04:00", "open")),
        UNPAUSED_RESPONSE, UNPAUSED_RESOLUTION, id="other-statuses"),
    # Waiting Fri 09-18 15:00 -> open Tue 09-22 10:00: the response (Mon 14:00) was due long
    # before -> unchanged. Resolution: by Fri 15:00 used Mon 8, Tue 17, Wed 26, Thu 35,
    # Fri 09-15 6 = 41 h; 7 h left from Tue 09-22 10:00 -> 17:00.
    pytest.param(
        history(("2026-09-18T15:00:00-04:00", WAITING), ("2026-09-22T10:00:00-04:00", "open")),
        UNPAUSED_RESPONSE, "2026-09-22T17:00:00-04:00", id="wait-over-weekend"),
    # The same overnight wait given out of order: history is read in time order.
    pytest.param(
        history(("2026-09-15T10:00:00-04:00", "open"), ("2026-09-14T11:00:00-04:00", WAITING)),
        "2026-09-15T13:00:00-04:00", "2026-09-22T12:00:00-04:00", id="unsorted-history"),
    # Waiting from the moment the ticket is opened until Tue 09-15 09:30: response runs
    # from Tue 09:30 -> 13:30; resolution loses Mon 10-18 (8 h) + Tue 09:00-09:30 (0.5 h):
    # Mon 09-21 13:00 + 8.5 support h = Mon 18:00 (5 h), Tue 09-22 09:00 + 3.5 h = 12:30.
    pytest.param(
        history((OPENED, WAITING), ("2026-09-15T09:30:00-04:00", "open")),
        "2026-09-15T13:30:00-04:00", "2026-09-22T12:30:00-04:00", id="waiting-from-open"),
]


@pytest.mark.parametrize(("status_history", "response_due", "resolution_due"), SEV2_CASES)
def test_pause_on_shifts_severity_2_dues(pausing: Engine, status_history: list[dict[str, str]],
                                         response_due: str, resolution_due: str) -> None:
    row = ticket_row(pausing, LATER, status_history=status_history)
    assert (row["response_due"], row["resolution_due"]) == (response_due, resolution_due)


@pytest.mark.parametrize(("status_history", "response_due", "resolution_due"), SEV2_CASES)
def test_shipped_policy_ignores_status_history(spirion: Engine,
                                               status_history: list[dict[str, str]],
                                               response_due: str, resolution_due: str) -> None:
    """No pause_on in the shipped policy: every history gives the unpaused due times."""
    row = ticket_row(spirion, LATER, status_history=status_history)
    assert (row["response_due"], row["resolution_due"]) == (UNPAUSED_RESPONSE,
                                                            UNPAUSED_RESOLUTION)


def test_pause_turns_a_late_answer_into_a_timely_one(pausing: Engine, spirion: Engine) -> None:
    """Answered Tue 09-15 12:30 after an overnight wait on the customer.

    Pausing policy: due Tue 13:00 (see overnight-wait) -> 12:30 <= 13:00 -> met.
    Shipped policy: due Mon 14:00 -> late -> false, a breach.
    """
    ticket = {
        "status_history": history(("2026-09-14T11:00:00-04:00", WAITING),
                                  ("2026-09-15T10:00:00-04:00", "open")),
        "first_response_at": "2026-09-15T12:30:00-04:00",
    }
    as_of = "2026-09-15T15:00:00-04:00"
    paused = ticket_row(pausing, as_of, **ticket)
    assert paused["response_due"] == "2026-09-15T13:00:00-04:00"
    assert paused["response_met"] is True
    shipped = ticket_row(spirion, as_of, **ticket)
    assert shipped["response_due"] == UNPAUSED_RESPONSE
    assert shipped["response_met"] is False


def test_pause_keeps_an_unanswered_ticket_pending(pausing: Engine, spirion: Engine) -> None:
    """as_of Tue 09-15 12:00, no answer, overnight wait: paused due Tue 13:00 -> null;
    shipped due Mon 14:00 has passed -> false."""
    ticket = {"status_history": history(("2026-09-14T11:00:00-04:00", WAITING),
                                        ("2026-09-15T10:00:00-04:00", "open"))}
    as_of = "2026-09-15T12:00:00-04:00"
    assert ticket_row(pausing, as_of, **ticket)["response_met"] is None
    assert ticket_row(spirion, as_of, **ticket)["response_met"] is False


def test_pause_on_an_elapsed_clock(pausing: Engine) -> None:
    """Severity 1 resolution is 24 elapsed hours; its pause_on stops that clock too.

    Opened Sat 2026-03-07 12:00 EST (17:00Z); waiting 14:00-19:30 EST (5.5 real hours).
    2 h used before the wait; resumes 19:30 EST = 03-08 00:30Z; 22 h left -> 03-08 22:30Z =
    Sun 18:30 EDT (unpaused: 13:00 EDT). The response target has no pause_on: the wait changes
    nothing there (weekend -> Mon 03-09 09:00 EDT + 4 h = 13:00).
    """
    row = ticket_row(pausing, "2026-03-10T12:00:00-04:00", severity=1,
                     opened_at="2026-03-07T12:00:00-05:00",
                     status_history=history(("2026-03-07T14:00:00-05:00", WAITING),
                                            ("2026-03-07T19:30:00-05:00", "open")))
    assert row["resolution_due"] == "2026-03-08T18:30:00-04:00"
    assert row["response_due"] == "2026-03-09T13:00:00-04:00"


def test_pause_applies_only_to_targets_that_declare_it(pausing: Engine) -> None:
    """Severity 3 declares no pause_on: an overnight wait leaves its response at Mon 14:00."""
    row = ticket_row(pausing, LATER, severity=3,
                     status_history=history(("2026-09-14T11:00:00-04:00", WAITING),
                                            ("2026-09-15T10:00:00-04:00", "open")))
    assert row["response_due"] == UNPAUSED_RESPONSE
    assert row["resolution_due"] is None


def test_pause_on_lists_several_statuses(backend: str) -> None:
    """pause_on [waiting_on_customer, on_hold]: a chained wait 11:00-12:00 then on hold
    12:00-13:00 stops the response clock 2 h -> 10:00-11:00, 13:00 + 3 h = 16:00."""
    data = shipped_policy_data()
    set_term(data, "severity-2.response.pause_on", [WAITING, "on_hold"])
    row = ticket_row(engine_for(data, backend), LATER,
                     status_history=history(("2026-09-14T11:00:00-04:00", WAITING),
                                            ("2026-09-14T12:00:00-04:00", "on_hold"),
                                            ("2026-09-14T13:00:00-04:00", "open")))
    assert row["response_due"] == "2026-09-14T16:00:00-04:00"
    assert row["resolution_due"] == UNPAUSED_RESOLUTION  # resolution declares no pause_on


def test_pausing_policy_file_validates_and_loads(tmp_path: Path) -> None:
    """pause_on is a schema-valid policy term: a one-line YAML edit of the shipped file
    (severity 2 resolution pauses) loads, validates and shifts the resolution due
    (overnight wait: Tue 09-22 12:00, see SEV2_CASES); the response is untouched."""
    text = SHIPPED.read_text(encoding="utf-8")
    line = "resolution: {target: 48h, clock: business, calendar: support-hours}"
    assert text.count(line) == 1
    policy = tmp_path / "spirion-pausing.yaml"
    policy.write_text(text.replace(line, line[:-1] + ", pause_on: [waiting_on_customer]}"),
                      encoding="utf-8")
    assert [p for p in validate([policy]) if p.severity == "error"] == []
    engine = Engine.load(policy, backend="python")
    row = ticket_row(engine, LATER,
                     status_history=history(("2026-09-14T11:00:00-04:00", WAITING),
                                            ("2026-09-15T10:00:00-04:00", "open")))
    assert row["response_due"] == UNPAUSED_RESPONSE
    assert row["resolution_due"] == "2026-09-22T12:00:00-04:00"


def test_status_changes_after_as_of_are_not_known(pausing: Engine) -> None:
    """as-of Mon 09-14 12:00; waiting since 11:00, the Tue 10:00 "open" is after as-of.

    Known at as-of: the wait began 11:00 and still goes on, so it is taken to end at as-of:
    response 1 h used (10-11), resumes 12:00, 3 h left -> Mon 15:00 (not Tue 13:00, which
    needs the later entry). Not yet due -> null.
    """
    row = ticket_row(pausing, "2026-09-14T12:00:00-04:00",
                     status_history=history(("2026-09-14T11:00:00-04:00", WAITING),
                                            ("2026-09-15T10:00:00-04:00", "open")))
    assert row["response_due"] == "2026-09-14T15:00:00-04:00"
    assert row["response_met"] is None


def test_naive_status_history_timestamp_is_an_input_error(pausing: Engine) -> None:
    with pytest.raises(InputError, match=r"status_history\[0\]\.at: .* has no offset"):
        ticket_row(pausing, "2026-09-14T10:30:00-04:00",
                   status_history=history(("2026-09-14T11:00:00", WAITING)))
