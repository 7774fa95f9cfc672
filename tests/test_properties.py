"""Properties of availability, ordering, back-ends and business-hour clocks (hypothesis).

Random fact sets cover one or two months of 2026 for one to three production SaaS
customers, with downtime windows aligned to whole minutes and written with assorted UTC
offsets. They are evaluated through :class:`policyengine.api.Engine` on the pure-Python
back-end (and, fewer of them, on durable-rules).
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.api import Engine
from policyengine.clauses.values import values_of

ROOT = Path(__file__).resolve().parents[1]
NEW_YORK = ZoneInfo("America/New_York")
AS_OF = "2027-06-01T00:00:00Z"
MINUTE = 60

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

OFFSETS = [0, -4 * 60, -5 * 60, 5 * 60 + 30, -9 * 60 - 30, 14 * 60, -12 * 60, 1]
CAUSES = ["vendor", "customer", "third_party", "force_majeure"]
MAINTENANCE = ["none", "scheduled", "emergency"]


@cache
def engine(backend: str) -> Engine:
    return Engine.load(ROOT / "policies" / "spirion", backend=backend)


def month_start(year: int, month: int) -> int:
    return int(dt.datetime(year, month, 1, tzinfo=NEW_YORK).timestamp())


def months_of(first: int, count: int) -> tuple[list[str], int, int]:
    """``count`` months from month ``first`` of 2026: names and ``[start, end)`` epochs."""
    spans = [(2026 + (first + i - 1) // 12, (first + i - 1) % 12 + 1) for i in range(count + 1)]
    names = [f"{year}-{month:02d}" for year, month in spans[:-1]]
    return names, month_start(*spans[0]), month_start(*spans[-1])


def stamp(epoch: int, offset_minutes: int, zulu: bool) -> str:
    """ISO 8601 with an explicit offset; ``Z`` for UTC when ``zulu``."""
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    text = dt.datetime.fromtimestamp(epoch, zone).isoformat()
    return text.replace("+00:00", "Z") if zulu else text


@st.composite
def instants(draw: Any, start: int, end: int) -> int:
    """A whole minute in ``[start, end)``."""
    return start + MINUTE * draw(st.integers(0, (end - start) // MINUTE - 1))


@st.composite
def windows(draw: Any, start: int, end: int, customers: list[str], index: int,
            maintenance: list[str] | None = None, causes: list[str] | None = None
            ) -> dict[str, Any]:
    begin = draw(instants(start, end))
    minutes = draw(st.one_of(st.integers(0, 12 * 60), st.integers(0, 3 * 24 * 60)))
    offset = draw(st.sampled_from(OFFSETS))
    zulu = draw(st.booleans())
    fact = {
        "type": "downtime", "id": f"d-{index}",
        "start": stamp(begin, offset, zulu), "end": stamp(begin + minutes * MINUTE, offset, zulu),
        "cause": draw(st.sampled_from(causes or CAUSES)),
        "maintenance": draw(st.sampled_from(maintenance or MAINTENANCE)),
    }
    if draw(st.booleans()):
        fact["customers"] = draw(st.lists(st.sampled_from(customers), min_size=1,
                                          max_size=len(customers), unique=True))
    return fact


@st.composite
def scenarios(draw: Any, maintenance: list[str] | None = None, rich: bool = False,
              min_windows: int = 0) -> dict[str, Any]:
    """Subscriptions, downtime (and with ``rich``: notices, tickets, credit requests)."""
    first = draw(st.integers(1, 12))
    names, start, end = months_of(first, draw(st.integers(1, 2)))
    customers = [f"c{i}" for i in range(1, draw(st.integers(1, 3)) + 1)]
    facts: list[dict[str, Any]] = [
        {"type": "subscription", "customer": name, "plan": "production", "deployment": "saas",
         "license": "subscription",
         "annual_fee": draw(st.sampled_from(["120000.00", "50000", "36000.00", "999.99"])),
         "currency": "USD", "term_start": "2025-01-01", "term_end": "2027-12-31",
         "renewed": draw(st.booleans()), "support": "active"}
        for name in customers
    ]
    count = draw(st.integers(min_windows, 6))
    downs = [draw(windows(start, end, customers, i, maintenance)) for i in range(count)]
    facts += downs
    if rich:
        for down in downs:
            if down["maintenance"] == "scheduled" and draw(st.booleans()):
                lead = draw(st.integers(0, 5 * 24 * 60)) * MINUTE
                sent = int(dt.datetime.fromisoformat(down["start"]).timestamp()) - lead
                facts.append({"type": "notice", "id": f"n-{down['id']}",
                              "kind": "scheduled_downtime", "about": down["id"],
                              "sent_at": stamp(sent, draw(st.sampled_from(OFFSETS)), False),
                              "channel": draw(st.sampled_from(["email", "phone", "portal"]))})
        for i in range(draw(st.integers(0, 3))):
            opened = draw(instants(start, end))
            ticket: dict[str, Any] = {
                "type": "ticket", "id": f"t-{i}", "customer": draw(st.sampled_from(customers)),
                "opened_at": stamp(opened, draw(st.sampled_from(OFFSETS)), False),
            }
            severity = draw(st.sampled_from([1, 2, 3, None]))
            if severity is None:
                ticket["impact"] = {flag: draw(st.booleans()) for flag in (
                    "loss_of_service", "critical_function", "production_degraded",
                    "workaround_available")}
            else:
                ticket["severity"] = severity
            if draw(st.booleans()):
                answered = opened + draw(st.integers(0, 7 * 24 * 60)) * MINUTE
                ticket["first_response_at"] = stamp(answered, 0, True)
                if draw(st.booleans()):
                    done = answered + draw(st.integers(0, 7 * 24 * 60)) * MINUTE
                    ticket["resolved_at"] = stamp(done, -5 * 60, False)
            facts.append(ticket)
        for name in customers:
            if draw(st.booleans()):
                facts.append({"type": "credit_request", "customer": name, "month": names[0],
                              "requested_at": stamp(end + draw(st.integers(0, 90 * 24 * 60))
                                                    * MINUTE, -5 * 60, False)})
    return {"facts": facts, "months": names, "start": start, "end": end,
            "customers": customers}


def evaluate(scenario: dict[str, Any], facts: list[dict[str, Any]] | None = None,
             backend: str = "python") -> Any:
    return engine(backend).evaluate(copy.deepcopy(facts if facts is not None
                                                  else scenario["facts"]),
                                    as_of=AS_OF, months=scenario["months"])


def availability(evaluation: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["customer"], row["month"]): row
            for row in evaluation.to_dict()["availability"]}


# ---------------------------------------------------------------------- availability


@SETTINGS
@given(scenarios())
def test_availability_is_a_percentage(scenario: dict[str, Any]) -> None:
    rows = availability(evaluate(scenario))
    assert {(c, m) for c in scenario["customers"] for m in scenario["months"]} <= set(rows)
    for row in rows.values():
        assert 0 <= row["availability_percent"] <= 100
        minutes, counted = row["minutes_in_month"], row["counted_downtime_minutes"]
        assert 0 <= counted <= row["downtime_minutes"] <= minutes
        assert row["excluded_minutes"] == row["downtime_minutes"] - counted
        exact = Fraction(100) * (minutes - counted) / minutes
        assert abs(Fraction(str(row["availability_percent"])) - exact) <= Fraction(1, 20000)
        if row["covered"]:
            assert row["met"] is (exact >= 99)
        else:
            assert row["met"] is None


@SETTINGS
@given(scenarios(), st.data())
def test_more_vendor_downtime_never_raises_availability(scenario: dict[str, Any],
                                                         data: st.DataObject) -> None:
    extra = data.draw(windows(scenario["start"], scenario["end"], scenario["customers"], 99,
                              maintenance=["none"], causes=["vendor"]))
    before = availability(evaluate(scenario))
    after = availability(evaluate(scenario, [*scenario["facts"], extra]))
    assert set(before) <= set(after)
    for key, row in before.items():
        assert after[key]["availability_percent"] <= row["availability_percent"], key
        assert after[key]["counted_downtime_minutes"] >= row["counted_downtime_minutes"], key


@SETTINGS
@given(scenarios(rich=True, min_windows=1), st.data())
def test_excusing_a_counted_window_never_lowers_availability(scenario: dict[str, Any],
                                                             data: st.DataObject) -> None:
    downs = [i for i, f in enumerate(scenario["facts"]) if f["type"] == "downtime"]
    index = data.draw(st.sampled_from(downs))
    facts = copy.deepcopy(scenario["facts"])
    facts[index]["cause"] = "vendor"
    excused = copy.deepcopy(facts)
    excused[index]["cause"] = "customer"
    before = availability(evaluate(scenario, facts))
    after = availability(evaluate(scenario, excused))
    assert set(before) == set(after)
    for key, row in before.items():
        assert after[key]["availability_percent"] >= row["availability_percent"], key
        assert after[key]["counted_downtime_minutes"] <= row["counted_downtime_minutes"], key


@SETTINGS
@given(scenarios(maintenance=["none"], min_windows=1), st.data())
def test_splitting_a_window_changes_no_availability_row(scenario: dict[str, Any],
                                                        data: st.DataObject) -> None:
    facts = scenario["facts"]
    downs = [i for i, f in enumerate(facts) if f["type"] == "downtime"]
    index = data.draw(st.sampled_from(downs))
    whole = facts[index]
    start = int(dt.datetime.fromisoformat(whole["start"]).timestamp())
    end = int(dt.datetime.fromisoformat(whole["end"]).timestamp())
    if end - start < 2 * MINUTE:
        end = start + 2 * MINUTE
        whole = {**whole, "end": stamp(end, 0, True)}
    cut = start + MINUTE * data.draw(st.integers(1, (end - start) // MINUTE - 1))
    offset = data.draw(st.sampled_from(OFFSETS))
    first = {**whole, "id": f"{whole['id']}-a", "end": stamp(cut, offset, False)}
    second = {**whole, "id": f"{whole['id']}-b", "start": stamp(cut, -offset, True)}
    joined = [*facts[:index], whole, *facts[index + 1:]]
    split = [*facts[:index], first, second, *facts[index + 1:]]
    assert availability(evaluate(scenario, joined)) == availability(evaluate(scenario, split))


# ----------------------------------------------------------- determinism and back-ends


@SETTINGS
@given(scenarios(rich=True), st.randoms(use_true_random=False))
def test_fact_order_does_not_change_the_output(scenario: dict[str, Any],
                                               rnd: random.Random) -> None:
    shuffled = copy.deepcopy(scenario["facts"])
    rnd.shuffle(shuffled)
    assert evaluate(scenario).to_json() == evaluate(scenario, shuffled).to_json()


@FEW
@given(scenarios(rich=True))
def test_durable_and_python_back_ends_agree(scenario: dict[str, Any]) -> None:
    python = evaluate(scenario, backend="python").to_json()
    durable = evaluate(scenario, backend="durable").to_json()
    assert python == durable


# ------------------------------------------------------------------- business hours


def support_hours() -> Any:
    return values_of(engine("python").policies[0]).calendar("support-hours")


START_2025 = month_start(2025, 1)
END_2027 = month_start(2028, 1)


@settings(max_examples=100, deadline=None)
@given(st.integers(START_2025, END_2027), st.integers(0, 300 * 3600))
def test_business_add_then_measure_round_trips(start: int, seconds: int) -> None:
    calendar = support_hours()
    due = calendar.add(float(start), float(seconds))
    assert due >= start
    assert calendar.measure(float(start), due) == seconds
    if seconds:
        # the clock was running just before the due instant (it never ends in a closure)
        assert calendar.is_open(due - 0.5)


@settings(max_examples=100, deadline=None)
@given(st.integers(START_2025, END_2027), st.integers(0, 30 * 24 * 3600))
def test_business_measure_then_add_round_trips(start: int, span: int) -> None:
    calendar = support_hours()
    end = float(start + span)
    consumed = calendar.measure(float(start), end)
    assert 0 <= consumed <= span
    back = calendar.add(float(start), consumed)
    assert start <= back <= end
    assert calendar.measure(float(start), back) == consumed
    if consumed and calendar.is_open(end - 0.5):  # running right up to ``end``
        assert back == end


@settings(max_examples=100, deadline=None)
@given(st.integers(START_2025, END_2027), st.integers(0, 100 * 3600),
       st.integers(0, 100 * 3600))
def test_business_add_is_monotonic_and_additive(start: int, a: int, b: int) -> None:
    calendar = support_hours()
    first = calendar.add(float(start), float(min(a, b)))
    second = calendar.add(float(start), float(max(a, b)))
    assert first <= second
    # adding in two steps lands where adding at once does
    in_steps = calendar.add(calendar.add(float(start), float(a)), float(b))
    assert in_steps == calendar.add(float(start), float(a + b))
