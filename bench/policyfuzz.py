"""Policy-term fuzzing: whatever `validate` accepts, `evaluate` and `due` must run.

Each case edits one to four terms of a copy of ``policies/spirion/1.0.0.yaml`` at random
(durations from ``0s`` to ``999999999d`` and fractions of a second, fractions with up to
5,000 digits, calendars with no or odd hours and clashing closures, holidays of other
countries, tiny and odd targets, periodic update targets, at-risk thresholds, a regional
calendar over a second calendar, long lists, clauses repeated up to 300 times, other
severity definitions and clocks, credits on other bases, in up to 25 tiers, stacked, capped,
chronic-failure remedies...), then validates it in-process. A policy that is refused
must be refused with located errors (no exception). A policy that validates is compiled and
run on both back-ends (Python and durable-rules): ``evaluate`` of
``examples/october-2026.yaml`` and of a few tickets with periodic updates (``SUPPORT_FACTS``:
a customer in a support region when the policy names regions), and ``due`` for every
severity level at a few instants (with a region and a last update too). A
case fails when anything raises, when it takes longer than the time limit, when the two
back-ends give different reports, or when it leaves a file in its private ``$TMPDIR``.
Case ``i`` of seed ``s`` depends only on ``(s, i)``::

    python bench/fuzz.py --mode policy --cases 5000 --seed 1     # the long run
    python bench/policyfuzz.py --cases 1 --seed 1 --first 17 --keep bench/out/policy  # replay
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: fuzzcases beside it
import fuzzcases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies" / "spirion" / "1.0.0.yaml"
FACTS = ROOT / "examples" / "october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"
OPENED = ("2026-07-02T17:00:00-04:00", "2026-10-14T10:00:00-04:00",
          "2026-12-31T23:59:00-05:00", "2026-03-08T01:59:00-05:00")
CASE_SECONDS = 20.0
# a customer with a support region (set per policy) and tickets with periodic updates: one
# answered and updated (one update after as-of), one unanswered near as-of (at risk), one
# resolved before a late update
_SUPPORT = {"type": "subscription", "customer": "zeta", "plan": "production",
            "deployment": "saas", "license": "subscription", "annual_fee": "1000.00",
            "currency": "USD", "term_start": "2026-01-01", "term_end": "2026-12-31",
            "renewed": True, "support": "active"}
SUPPORT_TICKETS = [
    {"type": "ticket", "id": "Z-1", "customer": "zeta", "severity": 1,
     "opened_at": "2026-11-25T10:00:00-05:00", "first_response_at": "2026-11-25T10:30:00-05:00",
     "updates": ["2026-11-25T11:00:00-05:00", "2026-11-25T13:00:00-05:00",
                 "2026-11-26T09:00:00-05:00", "2026-11-28T09:00:00-05:00"]},
    {"type": "ticket", "id": "Z-2", "customer": "zeta", "severity": 2,
     "opened_at": "2026-11-27T09:00:00-05:00"},
    {"type": "ticket", "id": "Z-3", "customer": "zeta", "severity": 3,
     "opened_at": "2026-11-02T10:00:00-05:00", "first_response_at": "2026-11-02T11:00:00-05:00",
     "resolved_at": "2026-11-04T12:00:00-05:00",
     "updates": ["2026-11-03T09:00:00-05:00", "2026-11-05T09:00:00-05:00"],
     "status_history": [{"at": "2026-11-02T12:00:00-05:00", "status": "waiting_on_customer"},
                        {"at": "2026-11-02T15:00:00-05:00", "status": "open"}]},
]

Spec = dict[str, Any]
Edit = Callable[[Spec, random.Random], str]

# -- values ----------------------------------------------------------------------------------


def _number(rnd: random.Random) -> str:
    return rnd.choice([
        "0", "1", "2", "4", "6", "24", "48", "60", "168", "365", "366", "999", "8760",
        "100000", "999999999", "0.5", "1.5", "0.00001", "0.0000001", "12.25",
        "9" * rnd.randint(10, 40),
    ])


def duration(rnd: random.Random, units: str = "smhdw") -> str:
    return f"{_number(rnd)}{rnd.choice(units)}"


def fraction(rnd: random.Random) -> str:
    def part() -> str:
        return rnd.choice(["1", "12", "2", "100", "999999", "1000000", "7" * 54,
                           "3" * rnd.choice([20, 300, 5000])])
    return f"{part()}/{part()}"


def percent(rnd: random.Random) -> Any:
    return rnd.choice([0.00001, 0.0001, 1e-9, 50, 99, 99.9, 99.99, 99.999999, 100, 100.0,
                       0.5, 12.345678901234, 1e-300, 99.95])


def day(rnd: random.Random) -> str:
    return rnd.choice(["2026-07-03", "2026-07-04", "2026-12-24", "2026-11-26", "2026-10-12",
                       "2027-01-01", "1970-01-01", "2199-12-31", "2026-02-28"])


def hhmm(rnd: random.Random) -> str:
    return rnd.choice(["00:00", "00:01", "09:00", "12:30", "17:59", "18:00", "23:59", "24:00"])


def spans(rnd: random.Random) -> list[dict[str, str]]:
    return [{"from": hhmm(rnd), "to": hhmm(rnd)} for _ in range(rnd.choice([0, 1, 1, 2, 5]))]


# -- edits -----------------------------------------------------------------------------------


def _clause(spec: Spec, section: str, kind: str) -> dict[str, Any]:
    return next(c for c in spec[section] if c["kind"] == kind)


def _severity(spec: Spec, rnd: random.Random) -> dict[str, Any]:
    return rnd.choice([c for c in spec["support"] if c["kind"] == "severity"])


def _set(section: str, kind: str, *path: str, value: Callable[[random.Random], Any]) -> Edit:
    def edit(spec: Spec, rnd: random.Random) -> str:
        target = _clause(spec, section, kind)
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value(rnd)
        return f"{kind}.{'.'.join(path)}"
    return edit


def _weekly_hours(spec: Spec, rnd: random.Random) -> str:
    calendar = _clause(spec, "calendars", "calendar")
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    calendar["weekly_hours"] = {d: spans(rnd) for d in rnd.sample(days, rnd.randint(0, 7))}
    return "calendar.weekly_hours"


def _closures(spec: Spec, rnd: random.Random) -> str:
    calendar = _clause(spec, "calendars", "calendar")
    key = rnd.choice(["added_closures", "removed_closures"])
    calendar[key] = sorted({day(rnd) for _ in range(rnd.randint(0, 4))})
    return f"calendar.{key}"


def _holidays(spec: Spec, rnd: random.Random) -> str:
    holidays = _clause(spec, "calendars", "calendar")["holidays"]
    what = rnd.choice(["country", "subdivision", "categories", "observed"])
    if what == "country":
        holidays["country"] = rnd.choice(["US", "GB", "DE", "NZ", "JP", "XX", "ZZ"])
    elif what == "subdivision":
        holidays["subdivision"] = rnd.choice(["NY", "CA", "XX", "ENG"])
    elif what == "categories":
        holidays["categories"] = rnd.sample(["public", "government", "unofficial", "bank",
                                             "optional", "armed_forces"], rnd.randint(1, 3))
    else:
        holidays["observed"] = rnd.random() < 0.5
    return f"calendar.holidays.{what}"


def _timezone(spec: Spec, rnd: random.Random) -> str:
    zone = rnd.choice(["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata",
                       "Australia/Lord_Howe", "America/St_Johns", "Europe/London", "Mars/Olympus"])
    if rnd.random() < 0.5:
        spec["timezone"] = zone
        return "spec.timezone"
    _clause(spec, "calendars", "calendar")["timezone"] = zone
    return "calendar.timezone"


def threshold(rnd: random.Random) -> str:
    """An at-risk threshold: a share of the target or a time before it falls due."""
    if rnd.random() < 0.5:
        return rnd.choice(["0%", "0.0000001%", "1%", "50%", "75%", "99.999%", "100%",
                           "100.5%", "1000%", "12.345678901234567890%"])
    return duration(rnd)


def _target(spec: Spec, rnd: random.Random) -> str:
    clause = _severity(spec, rnd)
    name = rnd.choice(["response", "resolution", "update"])
    if name != "response" and rnd.random() < 0.2:
        clause[name] = None
        return f"severity.{name}"
    target = dict(clause.get(name) or {"target": "4h", "clock": "elapsed"})
    what = rnd.choice(["target", "clock", "calendar", "pause_on", "at_risk"])
    if what == "target":
        target["target"] = duration(rnd)
    elif what == "clock":
        target["clock"] = rnd.choice(["business", "elapsed"])
        if target["clock"] == "business":
            target["calendar"] = "support-hours"
        else:
            target.pop("calendar", None)
    elif what == "calendar":
        target["calendar"] = rnd.choice(["support-hours", "other-hours", "by-region"])
    elif what == "at_risk":
        target["at_risk"] = threshold(rnd)
    else:
        target["pause_on"] = rnd.sample(["waiting_on_customer", "on_hold", "x"],
                                        rnd.randint(0, 3))
    clause[name] = target
    return f"severity.{name}.{what}"


def _at_risk(spec: Spec, rnd: random.Random) -> str:
    """A policy-wide at-risk threshold clause (a second one when there is one)."""
    spec["support"].append({"id": f"at-risk-{len(spec['support'])}",
                            "kind": "at_risk_threshold", "ref": "fuzz",
                            "summary": "at risk", "threshold": threshold(rnd)})
    return "at_risk_threshold.threshold"


def _regional(spec: Spec, rnd: random.Random) -> str:
    """A second calendar (odd hours, another zone) and a regional calendar over both; a
    target of a severity runs on it."""
    first = _clause(spec, "calendars", "calendar")
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    hours = ({d: spans(rnd) for d in rnd.sample(days, rnd.randint(0, 7))}
             if rnd.random() < 0.2 else  # odd hours, often refused
             {d: [{"from": "00:00", "to": "24:00"}] if rnd.random() < 0.3 else
              [{"from": "08:00", "to": rnd.choice(["08:01", "12:00", "18:00"])}]
              for d in rnd.sample(days, rnd.randint(1, 7))})
    other = {**copy.deepcopy(first), "id": "other-hours",
             "timezone": rnd.choice(["Europe/Berlin", "UTC", "Pacific/Kiritimati"]),
             "weekly_hours": hours}
    names = ["support-hours", "other-hours"]
    regions = {"emea": rnd.choice(names), "americas": rnd.choice(names)}
    if rnd.random() < 0.1:
        regions[rnd.choice(["apac", ""])] = rnd.choice([*names, "no-such-hours"])
    spec["calendars"] += [other, {"id": "by-region", "kind": "regional_calendar",
                                  "ref": "fuzz", "summary": "by region", "regions": regions,
                                  "default": rnd.choice(names)}]
    clause = _severity(spec, rnd)
    name = rnd.choice(["response", "update", "resolution"])
    clause[name] = {"target": rnd.choice(["1h", "4h", "40h", duration(rnd)]),
                    "clock": "business", "calendar": "by-region"}
    return f"regional_calendar (severity.{name})"


def _condition(rnd: random.Random, depth: int = 0) -> dict[str, Any]:
    flags = ["loss_of_service", "critical_function", "production_degraded",
             "workaround_available"]
    if depth < 3 and rnd.random() < 0.4:
        key = rnd.choice(["all", "any"])
        return {key: [_condition(rnd, depth + 1) for _ in range(rnd.choice([0, 1, 2, 3, 70]))]}
    flag = rnd.choice(flags)
    test = rnd.choice([True, False, {"eq": True}, {"ne": False}, {"exists": True},
                       {"in": [True, False]}])
    return {flag: test}


def _definition(spec: Spec, rnd: random.Random) -> str:
    _severity(spec, rnd)["definition"] = _condition(rnd)
    return "severity.definition"


def _level(spec: Spec, rnd: random.Random) -> str:
    _severity(spec, rnd)["level"] = rnd.randint(1, 9)
    return "severity.level"


def _notice(spec: Spec, rnd: random.Random) -> str:
    clause = rnd.choice(spec["notifications"][:3])
    what = rnd.choice(["lead", "channels", "strength", "notice_kind", "subject"])
    if what == "lead":
        clause["lead"] = duration(rnd)
    elif what == "channels":
        clause["channels"] = rnd.sample(["email", "phone", "portal"], rnd.randint(1, 3))
    elif what == "strength":
        clause["strength"] = rnd.choice(["binding", "reasonable_efforts"])
    elif what == "notice_kind":
        clause["notice_kind"] = rnd.choice(["scheduled_downtime", "significant_change",
                                            "high_priority_update"])
    else:
        clause["subject"] = rnd.choice(["scheduled_maintenance", "significant_change",
                                        "high_priority_change"])
    return f"notice_obligation.{what}"


def _list(section: str, kind: str, key: str, options: list[str], most: int = 4) -> Edit:
    def edit(spec: Spec, rnd: random.Random) -> str:
        clause = _clause(spec, section, kind)
        if len(options) > most:
            clause[key] = rnd.sample(options, rnd.randint(0, min(len(options), most)))
        else:
            clause[key] = rnd.sample(options, rnd.randint(0, len(options)))
        return f"{kind}.{key}"
    return edit


def _causes(spec: Spec, rnd: random.Random) -> str:
    count = rnd.choice([0, 1, 3, 50, 100, 101, 300])
    base = ["vendor", "customer", "third_party", "force_majeure"]
    _clause(spec, "exclusions", "excused_cause")["causes"] = (
        base + [f"cause_{i}" for i in range(count)])[:count] if count else []
    return "excused_cause.causes"


def _repeat(spec: Spec, rnd: random.Random) -> str:
    section = rnd.choice(["exclusions", "exclusions", "entitlements", "credits", "availability",
                          "calendars", "notifications", "support"])
    clause = rnd.choice(spec[section])
    count = rnd.choice([1, 2, 47, 48, 49, 64, 65, 130, 300])
    spec[section].extend({**copy.deepcopy(clause), "id": f"{clause['id']}-copy-{i}"}
                         for i in range(count))
    return f"repeat {clause['kind']} x{count}"


# -- shapes 4-6: periods, services, offerings ---------------------------------------------
SERVICES = ["api", "dashboard", "reports"]
OFFERINGS = ["standard", "premium"]


def _period(spec: Spec, rnd: random.Random) -> str:
    _clause(spec, "availability", "availability_commitment")["period"] = rnd.choice(
        ["calendar_month", "calendar_quarter", "calendar_year", "calendar_week"])
    return "availability_commitment.period"


def _scope(spec: Spec, rnd: random.Random) -> str:
    clause = _clause(spec, "availability", "availability_commitment")
    scope = rnd.choice(["per_service", "across_services", None])
    if scope is None:
        clause.pop("scope", None)
    else:
        clause["scope"] = scope
    if rnd.random() < 0.7:  # without services, subscriptions that list none are refused
        clause["services"] = rnd.sample(SERVICES, rnd.randint(1, 3))
    return "availability_commitment.scope"


def _impact_weights(spec: Spec, rnd: random.Random) -> str:
    grades = ["partial_outage", "major_outage", "degraded"]
    weights: dict[str, Any] = {g: rnd.choice([0, 0.25, 0.5, 1])
                               for g in rnd.sample(grades, rnd.randint(1, 3))}
    if rnd.random() < 0.2:  # a name or a weight the schema refuses, or none at all
        weights = rnd.choice([{"Bad Grade": 1}, {"partial_outage": 1.5}, {"degraded": -1},
                              {"major_outage": "half"}, {}])
    _clause(spec, "availability", "availability_commitment")["impact_weights"] = weights
    return "availability_commitment.impact_weights"


def _override(rnd: random.Random) -> tuple[str, Any]:
    if rnd.random() < 0.15:  # refused: a term or clause that does not exist, a bad value
        return rnd.choice([
            ("availability-commitment.nope", 1), ("no-such-clause.target_percent", 99),
            ("availability-commitment.period", "fortnight"),
            ("availability-commitment.plans", "x"), ("service-credit.form.renewed", "cash"),
        ])
    return rnd.choice([
        ("availability-commitment.target_percent", rnd.choice([99.5, 99.9, 99.95, 100])),
        ("availability-commitment.target_percent", percent(rnd)),
        ("availability-commitment.period", rnd.choice(["calendar_quarter", "calendar_year"])),
        ("availability-commitment.plans", rnd.choice([["production", "beta"], ["beta"]])),
        ("service-credit.fraction_of_annual_fee", rnd.choice(["1/6", "1/24", "1/1"])),
        ("service-credit.fraction_of_annual_fee", fraction(rnd)),
        ("service-credit.form.renewed", "refund"),
        ("credit-claim-window.window", rnd.choice(["30d", "90d", duration(rnd, "dw")])),
        ("severity-1.response.target", rnd.choice(["1h", "30m", duration(rnd)])),
    ])


def _offerings(spec: Spec, rnd: random.Random) -> str:
    """Offerings with random overrides; sometimes a clause restricted to some of them
    (perhaps one the policy does not define)."""
    spec["offerings"] = [
        {"id": name, "kind": "offering", "ref": "order form", "summary": f"The {name} plan.",
         **({"overrides": dict(_override(rnd) for _ in range(rnd.randint(1, 3)))}
            if rnd.random() < 0.7 else {})}
        for name in rnd.sample(OFFERINGS, rnd.randint(1, 2))]
    if rnd.random() < 0.5:
        section = rnd.choice(["availability", "credits", "exclusions", "support"])
        names = [*OFFERINGS, "gold"] if rnd.random() < 0.2 else OFFERINGS  # gold: undefined
        rnd.choice(spec[section])["offerings"] = rnd.sample(names, rnd.randint(1, 2))
    return "offering.overrides"


def _split_single(spec: Spec, rnd: random.Random) -> str:
    """A single kind given once per offering (valid when the offerings differ, refused when
    two clauses apply to one offering)."""
    spec.setdefault("offerings", [
        {"id": name, "kind": "offering", "ref": "order form", "summary": f"The {name} plan."}
        for name in OFFERINGS])
    section, kind = rnd.choice([("availability", "availability_commitment"),
                                ("credits", "service_credit"), ("credits", "claim_window")])
    clause = _clause(spec, section, kind)
    copy_ = {**copy.deepcopy(clause), "id": f"{clause['id']}-premium"}
    clause["offerings"] = rnd.choice([["standard"], ["standard"], ["standard", "premium"],
                                      ["premium"]])
    copy_["offerings"] = ["premium"]
    if kind == "availability_commitment":
        copy_["target_percent"] = percent(rnd)
    spec[section].append(copy_)
    return f"offerings split {kind}"
# -- credit shapes (issue 12): bases, tiers, stacking, caps, chronic failure -----------------
BASES = ("fraction_of_annual_fee", "percent_of_monthly_fee", "percent_of_period_fee",
         "days_of_service", "multiple_of_downtime_fees")


def _amount(rnd: random.Random, basis: str) -> Any:
    """An amount on ``basis``: a fitting one mostly, an odd or out-of-bounds one at times."""
    if basis == "fraction_of_annual_fee":
        if rnd.random() < 0.3:
            return fraction(rnd)
        return f"{rnd.randint(1, 12)}/{rnd.choice([12, 24, 120])}"
    if rnd.random() < 0.6:
        return rnd.choice([0.00001, 0.5, 1, 3, 10, 25, 50, 99.99, 100])
    return rnd.choice([0, 1e-9, 100.5, 366, 367, 1000, 1001, -1, 1e300, "10"])


def _service_credit(spec: Spec) -> dict[str, Any]:
    credit = _clause(spec, "credits", "service_credit")
    for name in (*BASES, "tiers", "stacking"):
        credit.pop(name, None)
    return credit


def _days_form(credit: dict[str, Any], basis: str, rnd: random.Random) -> None:
    if basis == "days_of_service" and rnd.random() < 0.9:
        credit["form"] = {"renewed": "service_days", "not_renewed": "service_days"}


def _credit_basis(spec: Spec, rnd: random.Random) -> str:
    basis = rnd.choice(BASES)
    credit = _service_credit(spec)
    credit[basis] = _amount(rnd, basis)
    _days_form(credit, basis, rnd)
    return f"service_credit.{basis}"


def _careful_tiers(rnd: random.Random, basis: str, count: int) -> list[dict[str, Any]]:
    """Bands as a careful editor writes them: from the 99% commitment down, amounts rising
    within the basis's bounds, at_least written out now and then."""
    bounds = sorted({round(99.0 - sum(rnd.choice([0.1, 0.5, 1, 4, 0.00001])
                                       for _ in range(n)), 5) for n in range(count)},
                    reverse=True)
    tiers, step = [], rnd.choice([1, 2, 4])
    for n, below in enumerate(bounds):
        amount: Any = (f"{n + 1}/{len(bounds) * 12}" if basis == "fraction_of_annual_fee"
                       else (n + 1) * step)
        tier: dict[str, Any] = {"below": below, basis: amount}
        if rnd.random() < 0.3:
            tier["at_least"] = bounds[n + 1] if n + 1 < len(bounds) else 0
        tiers.append(tier)
    return tiers


def _credit_tiers(spec: Spec, rnd: random.Random) -> str:
    basis = rnd.choice(BASES)
    credit = _service_credit(spec)
    count = rnd.choice([0, 1, 2, 3, 5, 20, 21, 25])
    if rnd.random() < 0.7:
        credit["tiers"] = _careful_tiers(rnd, basis, count)
    else:
        below, tiers = rnd.choice([99.0, 99.9, 100, 98.0]), []
        for _ in range(count):
            tier: dict[str, Any] = {"below": below, basis: _amount(rnd, basis)}
            below = round(below - rnd.choice([0.1, 0.5, 1, 5, 0.00001, -1]), 5)
            if rnd.random() < 0.3:
                tier["at_least"] = rnd.choice([below, 0, below + 0.1, 99.5])
            tiers.append(tier)
        credit["tiers"] = tiers
    if rnd.random() < 0.5:
        credit["stacking"] = rnd.choice(["highest", "cumulative"])
    _days_form(credit, basis, rnd)
    return f"service_credit.tiers ({basis} x{count})"


def _credit_cap(spec: Spec, rnd: random.Random) -> str:
    per = rnd.choice(["period", "rolling_12_months", "period", "rolling_12_months", "month"])
    cap: dict[str, Any] = {"id": f"cap-{len(spec['credits'])}", "kind": "credit_cap",
                           "ref": "fuzz", "summary": "fuzz", "per": per}
    limit = rnd.choice(["percent_of_fees", "amount", "percent_of_fees", "amount", "both"])
    if limit in ("percent_of_fees", "both"):
        cap["percent_of_fees"] = rnd.choice([0, 0.00001, 5, 50, 100, 101, -1])
    if limit in ("amount", "both"):
        cap["amount"] = rnd.choice(["0", "0.001", "750", "5000.00", "-1.00", "1e5", 1e20,
                                    "999999999999999", "1000000000000000", "x", 12.5, 300])
    spec["credits"].append(cap)
    return f"credit_cap.{limit}"


def _chronic(spec: Spec, rnd: random.Random) -> str:
    clause: dict[str, Any] = {"id": f"chronic-{len(spec['credits'])}", "kind": "chronic_failure",
                              "ref": "fuzz", "summary": "fuzz",
                              "remedy": rnd.choice(["termination_right", "fee_refund",
                                                    "termination_right", "Bad Name"])}
    for term, values in (("consecutive_missed", [1, 1, 2, 3, 120, 0, 121]),
                         ("missed_in_12_months", [1, 2, 4, 12, 0, 13])):
        if rnd.random() < 0.6:
            clause[term] = rnd.choice(values)
    if rnd.random() < 0.5:
        clause["exercise_within"] = rnd.choice(["1d", "30d", "365d", "366d", "0d", "12h",
                                                duration(rnd, "d")])
    spec["credits"].append(clause)
    return "chronic_failure"


EDITS: list[Edit] = [
    _set("availability", "availability_commitment", "target_percent", value=percent),
    _set("availability", "availability_commitment", "full_months_only",
         value=lambda r: r.random() < 0.7),
    _list("availability", "availability_commitment", "plans",
          ["production", "beta", "trial", "pilot"]),
    _list("availability", "availability_commitment", "deployments", ["saas", "on_premise"]),
    _set("exclusions", "scheduled_maintenance", "excluded_up_to", value=duration),
    _set("exclusions", "scheduled_maintenance", "notice", "lead", value=duration),
    _list("exclusions", "scheduled_maintenance", "notice", ["email"]),  # replaced below
    _set("exclusions", "emergency_maintenance", "excluded_up_to", value=duration),
    _set("exclusions", "emergency_maintenance", "windows_per_month",
         value=lambda r: r.choice([1, 2, 31, 1000, 1001, 10**20])),
    _causes,
    _list("exclusions", "excluded_plan", "plans", ["production", "beta", "trial", "pilot"]),
    _set("credits", "service_credit", "fraction_of_annual_fee", value=fraction),
    _set("credits", "service_credit", "rounding",
         value=lambda r: r.choice(["half_up", "half_even", "half_down", "up", "down",
                                   "ceiling", "floor"])),
    _set("credits", "service_credit", "decimal_places", value=lambda r: r.randint(0, 4)),
    _set("credits", "service_credit", "form", "renewed",
         value=lambda r: r.choice(["credit", "refund"])),
    _set("credits", "service_credit", "form", "not_renewed",
         value=lambda r: r.choice(["credit", "refund"])),
    _set("credits", "claim_window", "window", value=lambda r: duration(r, "dw")),
    _weekly_hours, _closures, _holidays, _timezone,
    _target, _target, _target, _definition, _level, _at_risk, _regional,
    _notice, _notice,
    _list("entitlements", "update_entitlement", "entitled_licenses",
          ["subscription", "perpetual"]),
    _list("entitlements", "update_entitlement", "licenses_requiring_support",
          ["subscription", "perpetual"]),
    _list("entitlements", "support_lapse", "licenses", ["subscription", "perpetual"]),
    _repeat,
    _period, _scope, _impact_weights, _offerings, _offerings, _split_single,
    _credit_basis, _credit_tiers, _credit_tiers, _credit_cap, _chronic,
]
# the scheduled-maintenance notice channels (a list inside a nested term)
EDITS[6] = _set("exclusions", "scheduled_maintenance", "notice", "channels",
                value=lambda r: r.sample(["email", "phone", "portal"], r.randint(1, 3)))


def mutate(document: dict[str, Any], rnd: random.Random) -> tuple[dict[str, Any], list[str]]:
    """A copy of the policy document with one to four terms edited; the edits' names."""
    mutant = copy.deepcopy(document)
    names = [rnd.choice(EDITS)(mutant["spec"], rnd) for _ in range(rnd.randint(1, 4))]
    return mutant, names


# -- running a case ----------------------------------------------------------------------------


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass
class Outcome:
    index: int
    edits: list[str]
    verdict: str  # refused (at validate) | evaluated | failed
    problem: str = ""
    seconds: float = 0.0


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise _Timeout(f"no result within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def evaluate_everywhere(path: Path) -> str:
    """Validate ``path``; if it validates, evaluate and ``due`` on both back-ends.

    Returns ``"refused"`` or ``"evaluated"``; raises AssertionError when the back-ends
    disagree, and whatever else goes wrong.
    """
    from policyengine.api import Engine, compile_versions, load_rule_packs
    from policyengine.diagnostics import InputError
    from policyengine.engine import get_backend
    from policyengine.validation.policy import load_policy_document

    loaded = load_policy_document(path)
    if loaded.policy is None:
        assert loaded.problems, "refused without a located problem"
        for problem in loaded.problems:
            assert problem.line >= 0 and problem.message, problem
        return "refused"
    try:
        compiled = compile_versions([loaded.policy], load_rule_packs())
    except InputError as error:  # a located compile error is a refusal too
        raise AssertionError(f"validated, then refused at compile: {error}") from None
    from policyengine.clauses.values import values_of

    regions = sorted(values_of(loaded.policy).regions)
    region = regions[0] if regions else None
    support = [{**_SUPPORT, "support_region": region} if region else _SUPPORT,
               *SUPPORT_TICKETS]
    fact_sets: list[list[Any]] = [[FACTS], support]
    offerings = [c.id for c in loaded.policy.clauses if c.kind == "offering"]
    if offerings:  # the example customers again, on each offering in turn and on none
        fact_sets.append(_on_offerings([*offerings, None]))
    reports = []
    for backend in ("python", "durable"):
        engine = Engine(compiled, get_backend(backend))
        results = []
        for facts in fact_sets:
            try:
                results.append(engine.evaluate(facts, as_of=AS_OF).to_json())
            except InputError as error:
                # the tickets carry severities 1-3: a policy without one of them refuses
                # those facts, located (the only refusals of these facts a policy may cause)
                first = error.diagnostics[0]
                assert len(error.diagnostics) == 1 and first.file in (str(FACTS), "<api>") \
                    and any(text in first.message for text in ALLOWED_FACT_REFUSALS), \
                    str(error)
                results.append(f"refused: {first.render()}")
        dues = [engine.due(level, opened, **options).to_dict()
                for level in sorted(_levels(loaded.policy)) for opened in OPENED
                for options in ({}, {"region": region, "last_update_at": opened})]
        reports.append((results, dues))
    assert reports[0] == reports[1], "the back-ends disagree"
    return "evaluated"


# The refusals of valid example facts a policy may cause, each one located line: the
# example tickets carry severities 1-3 (a policy without one of them refuses those facts);
# a commitment measured per service that names no services refuses a subscription listing
# none (docs/policy-language.md, shape 5).
ALLOWED_FACT_REFUSALS = ("is not defined by policy",
                         "lists no services and the availability commitment names none",
                         # a subscription with no offering, under a policy whose clauses
                         # without `offerings:` are not a valid policy (docs/policy-language.md)
                         "the policy makes policy")


def _on_offerings(names: list[str | None]) -> list[dict[str, Any]]:
    """The example facts with their subscriptions given the offerings ``names`` in turn
    (None: no offering)."""
    facts = yaml.safe_load(FACTS.read_text())["facts"]
    subscriptions = [f for f in facts if f.get("type") == "subscription"]
    for index, fact in enumerate(subscriptions):
        name = names[index % len(names)]
        if name is not None:
            fact["offering"] = name
    return facts


def _levels(policy: Any) -> set[int]:
    from policyengine.clauses.values import values_of

    return set(values_of(policy).severities)


def run_case(seed: int, index: int, document: dict[str, Any], workdir: Path,
             limit: float = CASE_SECONDS, keep: Path | None = None) -> Outcome:
    rnd = random.Random(f"{seed}:{index}")
    mutant, edits = mutate(document, rnd)
    path = workdir / f"case-{index}.yaml"
    path.write_text(yaml.dump(mutant, Dumper=_NoAliases, sort_keys=False, width=1000))
    started = time.perf_counter()
    outcome = Outcome(index, edits, "failed")
    try:
        with time_limit(limit):
            outcome.verdict = evaluate_everywhere(path)
    except _Timeout as error:
        outcome.problem = str(error)
    except BaseException as error:  # noqa: BLE001 - every escape is a finding
        if isinstance(error, KeyboardInterrupt):
            raise
        outcome.problem = "".join(traceback.format_exception(error)).strip()
    outcome.seconds = time.perf_counter() - started
    if keep is not None and outcome.verdict == "failed":
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, keep / path.name)
    path.unlink()
    return outcome


def run(cases: int, seed: int, first: int = 0, limit: float = CASE_SECONDS,
        keep: Path | None = None) -> list[Outcome]:
    """Run ``cases`` cases in a private ``$TMPDIR``; a file left in it fails the run's last
    case (reported as ``leftover``)."""
    document = yaml.safe_load(POLICY.read_text())
    private = Path(tempfile.mkdtemp(prefix="policyfuzz-"))
    workdir = private / "cases"
    workdir.mkdir()
    previous_env, previous_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(private), str(private)
    outcomes: list[Outcome] = []
    try:
        for index in range(first, first + cases):
            outcome = run_case(seed, index, document, workdir, limit, keep)
            left = sorted(p.name for p in private.iterdir() if p != workdir)
            left += sorted(p.name for p in workdir.iterdir())
            if left:
                outcome.verdict, outcome.problem = "failed", f"leftover files: {left[:5]}"
                for name in left:
                    target = private / name if (private / name).exists() else workdir / name
                    shutil.rmtree(target) if target.is_dir() else target.unlink()
            outcomes.append(outcome)
    finally:
        if previous_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous_env
        tempfile.tempdir = previous_dir
        shutil.rmtree(private, ignore_errors=True)
    return outcomes


def summary(outcomes: list[Outcome], seed: int, seconds: float) -> str:
    return fuzzcases.summary("policy", outcomes, seed, seconds, joiner=", ", kinds=False)


def main(argv: list[str] | None = None) -> int:
    parser = fuzzcases.case_parser(__doc__.split("\n\n")[0], CASE_SECONDS,
                                   "copy the policy of each failing case here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    outcomes = run(args.cases, args.seed, args.first, args.limit, args.keep)
    print(summary(outcomes, args.seed, time.perf_counter() - started))
    return 1 if any(o.verdict == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    raise SystemExit(main())
