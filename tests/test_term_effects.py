"""Every term does what it says (issue 16 part 2).

One row per term of the policy schema: the term is edited on a copy of the shipped policy and
an observable (a report row, a finding, ``due``) must change from the hand-computed value
before to the hand-computed value after, and ``show`` must describe the edit (its text
changes). Terms no evaluation reads are listed in ``DOCUMENTARY`` with the reason; a term
that is neither (a new term nobody wired) fails ``test_every_term_is_read_or_documentary``.

Fixed facts: acme, a production SaaS subscription renewed for 2026, fee 1000.00 (one credit
is 1000/12 = 83.333...); times in America/New_York (EDT -04:00 until 1 November).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from policyengine.api import Engine
from policyengine.clauses import registry
from policyengine.diagnostics import InputError
from policyengine.tools.show import render_policy

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = yaml.safe_load((ROOT / "policies" / "spirion" / "1.0.0.yaml").read_text())
AS_OF = "2026-11-27T12:00:00-05:00"
ACME = {"type": "subscription", "customer": "acme", "plan": "production", "deployment": "saas",
        "license": "subscription", "annual_fee": "1000.00", "currency": "USD",
        "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
        "support": "active"}

Doc = dict[str, Any]


def clause(doc: Doc, clause_id: str) -> dict[str, Any]:
    return next(c for section in doc["spec"].values() if isinstance(section, list)
                for c in section if isinstance(c, dict) and c.get("id") == clause_id)


def setter(clause_id: str, dotted: str, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        target = clause(doc, clause_id)
        *parents, last = dotted.split(".")
        for key in parents:
            target = target[key]
        target[last] = value
    return edit


def engine(doc: Doc, tmp_path: Path, name: str) -> Engine:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return Engine.load(path, backend="python")


# -- observables ----------------------------------------------------------------------------


def due(level: int, opened: str, which: str = "response") -> Callable[[Engine], Any]:
    def observe(e: Engine) -> Any:
        return getattr(e.due(level, opened), f"{which}_due")
    return observe


def report(facts: list[dict[str, Any]], table: str, key: dict[str, Any],
           field: str) -> Callable[[Engine], Any]:
    """A field of the first row of ``table`` matching ``key`` (None when no row matches)."""
    def observe(e: Engine) -> Any:
        rows = getattr(e.evaluate([ACME, *facts], as_of=AS_OF), table)
        for row in rows:
            if all(getattr(row, k) == v for k, v in key.items()):
                return getattr(row, field)
        return None
    return observe


def outcome(facts: list[dict[str, Any]], clause_id: str, subject: str) -> Callable[[Engine], Any]:
    def observe(e: Engine) -> Any:
        found = e.evaluate([ACME, *facts], as_of=AS_OF).findings
        return sorted(f.outcome for f in found if f.clause == clause_id and f.subject == subject)
    return observe


def ticket(tid: str, opened: str, **more: Any) -> dict[str, Any]:
    return {"type": "ticket", "id": tid, "customer": "acme", "opened_at": opened, **more}


def down(did: str, start: str, end: str, cause: str = "vendor", maintenance: str = "none"
         ) -> dict[str, Any]:
    return {"type": "downtime", "id": did, "start": start, "end": end, "cause": cause,
            "maintenance": maintenance}


def notice(nid: str, kind: str, about: str, sent: str, channel: str = "email") -> dict[str, Any]:
    return {"type": "notice", "id": nid, "kind": kind, "about": about, "sent_at": sent,
            "channel": channel}


OCT = {"customer": "acme", "month": "2026-10"}
# 10:00-11:00: 60 counted minutes of 44,640: 100 * 44580 / 44640 = 99.8656%
ONE_HOUR = [down("d-1", "2026-10-05T10:00:00-04:00", "2026-10-05T11:00:00-04:00")]
# 8 hours down (480 minutes): 98.9247%, missed; earns 83.33
MISSED = [down("d-1", "2026-10-05T10:00:00-04:00", "2026-10-05T18:00:00-04:00")]
# scheduled maintenance 01:00-06:00 (300 minutes), emailed exactly 48 h ahead
SCHEDULED = [down("s-1", "2026-10-10T01:00:00-04:00", "2026-10-10T06:00:00-04:00",
                  maintenance="scheduled"),
             notice("n-1", "scheduled_downtime", "s-1", "2026-10-08T01:00:00-04:00")]
# scheduled maintenance 01:00-05:00 on 10 September (240 minutes), emailed 48 h ahead
SEPTEMBER_SCHEDULED = [
    down("s-9", "2026-09-10T01:00:00-04:00", "2026-09-10T05:00:00-04:00",
         maintenance="scheduled"),
    notice("n-9", "scheduled_downtime", "s-9", "2026-09-08T01:00:00-04:00")]
# two emergency windows of 5 h in October
EMERGENCY = [down("e-1", "2026-10-10T01:00:00-04:00", "2026-10-10T06:00:00-04:00",
                  maintenance="emergency"),
             down("e-2", "2026-10-17T01:00:00-04:00", "2026-10-17T06:00:00-04:00",
                  maintenance="emergency")]
# a significant change emailed exactly 168 h ahead
CHANGE = [{"type": "change", "id": "ch-1", "kind": "significant",
           "deployed_at": "2026-10-26T12:00:00-04:00"},
          notice("n-1", "significant_change", "ch-1", "2026-10-19T12:00:00-04:00")]
LATE_HP = [{"type": "change", "id": "hp-1", "kind": "high_priority",
            "deployed_at": "2026-10-29T10:00:00-04:00"}]
PERPETUAL = {**ACME, "customer": "wayne", "license": "perpetual", "deployment": "on_premise"}
UPDATE = [{"type": "update_request", "id": "UR-1", "customer": "acme",
           "requested_at": "2026-10-30T09:00:00-04:00"}]
UPDATE_WAYNE = [PERPETUAL, {"type": "update_request", "id": "UR-2", "customer": "wayne",
                            "requested_at": "2026-10-30T09:00:00-04:00"}]
LAPSED = [{**PERPETUAL, "support": "lapsed"}, UPDATE_WAYNE[1]]
# a second calendar, open at weekends only, for the `calendar` term of a target
WEEKEND = {"id": "weekend-hours", "kind": "calendar", "ref": "test", "summary": "weekends",
           "timezone": "America/New_York",
           "weekly_hours": {"saturday": [{"from": "09:00", "to": "18:00"}],
                            "sunday": [{"from": "09:00", "to": "18:00"}]}}
WAITING = [ticket("W-1", "2026-10-14T10:00:00-04:00", severity=3, status_history=[
    {"at": "2026-10-14T10:00:00-04:00", "status": "waiting_on_customer"},
    {"at": "2026-10-14T12:00:00-04:00", "status": "open"}])]


# credit shapes (issue 12) on the shipped credit clause and beside it
TWO_BANDS = [{"below": 99.0, "at_least": 98.95, "percent_of_monthly_fee": 10},
             {"below": 98.95, "percent_of_monthly_fee": 25}]
OCT_PERIOD = {"customer": "acme", "period": "2026-10"}
SEP_AND_OCT = [*MISSED, down("d-0", "2026-09-05T10:00:00-04:00", "2026-09-05T18:00:00-04:00")]
AUG_AND_OCT = [*MISSED, down("d-0", "2026-08-05T10:00:00-04:00", "2026-08-05T18:00:00-04:00")]


# a customer whose term starts inside October, 480 min down on 20 October
LATE = {**ACME, "customer": "late", "term_start": "2026-10-15", "term_end": "2027-10-14"}
LATE_DOWN = [down("d-l", "2026-10-20T10:00:00-04:00", "2026-10-20T18:00:00-04:00")]
LATE_OCT = {"customer": "late", "month": "2026-10"}


def fiscal_february(doc: Doc) -> None:
    """Quarters of a year starting in February, from a version beginning on 2020-02-01."""
    setter("availability-commitment", "year_starts", "february")(doc)
    doc["metadata"]["effective"]["from"] = "2020-02-01"


def part_months(doc: Doc) -> None:
    """Part periods measured, the credit 10% of the monthly fee (a fee the part pro-rates)."""
    basis("percent_of_monthly_fee", 10)(doc)
    setter("availability-commitment", "full_months_only", False)(doc)


def basis(name: str, value: Any) -> Callable[[Doc], None]:
    """The shipped credit on another basis (days of service are given as service days)."""
    def edit(doc: Doc) -> None:
        credit = clause(doc, "service-credit")
        del credit["fraction_of_annual_fee"]
        credit[name] = copy.deepcopy(value)
        if name == "days_of_service":
            credit["form"] = {"renewed": "service_days", "not_renewed": "service_days"}
    return edit


def _add_credit_clause(doc: Doc, terms: dict[str, Any]) -> None:
    doc["spec"]["credits"].append({"ref": "test", "summary": "test", **terms})


def cap_amount(amount: str) -> Callable[[Doc], None]:
    return lambda doc: _add_credit_clause(doc, {"id": "cap", "kind": "credit_cap",
                                                "per": "period", "amount": amount})


def capped_5_percent(doc: Doc) -> None:
    basis("percent_of_monthly_fee", 10)(doc)
    _add_credit_clause(doc, {"id": "cap", "kind": "credit_cap", "per": "period",
                             "percent_of_fees": 5})


def chronic(**terms: Any) -> Callable[[Doc], None]:
    return lambda doc: _add_credit_clause(doc, {"id": "chronic", "kind": "chronic_failure",
                                                "remedy": "termination_right", **terms})


def remedies(facts: list[dict[str, Any]]) -> Callable[[Engine], Any]:
    def observe(e: Engine) -> Any:
        rows = e.evaluate([ACME, *facts], as_of=AS_OF).remedies or []
        return [f"{r.customer} {r.period}" for r in rows]
    return observe


def add_weekend(doc: Doc) -> None:
    doc["spec"]["calendars"].append(copy.deepcopy(WEEKEND))


# a second region: EMEA support on weekdays 09:00-18:00 Berlin time (CEST, +02:00, until
# 25 October), and a regional calendar that severity 3's response runs on
EMEA = {"id": "emea-hours", "kind": "calendar", "ref": "test", "summary": "EMEA weekdays",
        "timezone": "Europe/Berlin",
        "weekly_hours": {day: [{"from": "09:00", "to": "18:00"}]
                         for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}}
BY_REGION = {"id": "by-region", "kind": "regional_calendar", "ref": "test",
             "summary": "hours by the customer's region",
             "regions": {"emea": "emea-hours", "americas": "support-hours"},
             "default": "support-hours"}


def add_regions(doc: Doc) -> None:
    doc["spec"]["calendars"] += [copy.deepcopy(EMEA), copy.deepcopy(BY_REGION)]
    clause(doc, "severity-3")["response"]["calendar"] = "by-region"


def add_at_risk(threshold: str) -> Callable[[Doc], None]:
    """A policy-wide at-risk threshold clause (100%: at risk only when due)."""
    def edit(doc: Doc) -> None:
        doc["spec"]["support"].append({"id": "at-risk", "kind": "at_risk_threshold",
                                       "ref": "test", "summary": "at risk",
                                       "threshold": threshold})
    return edit


# severity 2 updated at least every 8 support hours (its resolution target is 48)
UPDATE_8H = {"target": "8h", "clock": "business", "calendar": "support-hours"}


def add_update(doc: Doc) -> None:
    clause(doc, "severity-2")["update"] = copy.deepcopy(UPDATE_8H)


def both(*edits: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        for one in edits:
            one(doc)
    return edit


def due_of(level: int, opened: str, field: str, **options: Any) -> Callable[[Engine], Any]:
    """A field of ``due`` (``region``, ``last_update_at`` as options); None when the
    policy leaves it out (no at-risk threshold, no update target)."""
    def observe(e: Engine) -> Any:
        return e.due(level, opened, **options).to_dict().get(field)
    return observe


def ticket_at(facts: list[dict[str, Any]], as_of: str, tid: str,
              field: str) -> Callable[[Engine], Any]:
    """A field of ticket ``tid``'s row in a report at ``as_of``."""
    def observe(e: Engine) -> Any:
        rows = e.evaluate([ACME, *facts], as_of=as_of).tickets
        return next(getattr(r, field) for r in rows if r.id == tid)
    return observe


# severity 2 opened Wednesday 2026-10-14 10:00, first answered 10:30, updated at 12:00
UPDATED = [ticket("U-1", "2026-10-14T10:00:00-04:00", severity=2,
                  first_response_at="2026-10-14T10:30:00-04:00",
                  updates=["2026-10-14T12:00:00-04:00"])]
# severity 2 answered 10:30, waiting on the customer 11:00-13:00, no update
WAITING_UPDATE = [ticket("U-2", "2026-10-14T10:00:00-04:00", severity=2,
                         first_response_at="2026-10-14T10:30:00-04:00", status_history=[
                             {"at": "2026-10-14T11:00:00-04:00",
                              "status": "waiting_on_customer"},
                             {"at": "2026-10-14T13:00:00-04:00", "status": "open"}])]
# severity 3 opened Wednesday 2026-10-14 10:00, not answered by 13:00 (response due 14:00)
UNANSWERED = [ticket("R-1", "2026-10-14T10:00:00-04:00", severity=3)]


def drop(clause_id: str) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        for section in doc["spec"].values():
            if isinstance(section, list):
                section[:] = [c for c in section if c.get("id") != clause_id]
    return edit


def services_counted(facts: list[dict[str, Any]]) -> Callable[[Engine], Any]:
    """(service, counted minutes) of acme's October rows in the report (None: the row has
    no ``service``)."""
    def observe(e: Engine) -> Any:
        return [(r.get("service"), r["counted_downtime_minutes"])
                for r in e.evaluate([ACME, *facts], as_of=AS_OF).to_dict()["availability"]
                if r["customer"] == "acme" and r["month"] == "2026-10"]
    return observe


def with_services(doc: Doc, scope: str | None = None) -> None:
    """The commitment covers api and dashboard (and is measured by ``scope`` when given)."""
    setter("availability-commitment", "services", ["api", "dashboard"])(doc)
    if scope is not None:
        setter("availability-commitment", "scope", scope)(doc)


PREMIUM_ACME = {**ACME, "offering": "premium"}


def add_offering(overrides: dict[str, Any] | None) -> Callable[[Doc], None]:
    """A ``premium`` offering (with ``overrides`` when given) in spec.offerings."""
    def edit(doc: Doc) -> None:
        offering: dict[str, Any] = {"id": "premium", "kind": "offering", "ref": "order form",
                                    "summary": "The premium plan."}
        if overrides is not None:
            offering["overrides"] = dict(overrides)
        doc["spec"]["offerings"] = [offering]
    return edit


def report_for(subscription: dict[str, Any], facts: list[dict[str, Any]], table: str,
               key: dict[str, Any], field: str) -> Callable[[Engine], Any]:
    """As :func:`report`, for acme under another subscription."""
    def observe(e: Engine) -> Any:
        for row in getattr(e.evaluate([subscription, *facts], as_of=AS_OF), table):
            if all(getattr(row, k) == v for k, v in key.items()):
                return getattr(row, field)
        return None
    return observe


# (term path, base edit or None, edit, observable, before, after); the path is
# kind.term[.nested] as in the schema.
ROWS: list[tuple[str, Any, Callable[[Doc], None], Callable[[Engine], Any], Any, Any]] = [
    # -- calendar: severity 3, 4 support hours; opened Wednesday 2026-10-14 10:00 ------------
    # Los Angeles 09:00-18:00 is 12:00-21:00 in New York: 12:00 + 4 h = 16:00 EDT
    ("calendar.timezone", None, setter("support-hours", "timezone", "America/Los_Angeles"),
     due(3, "2026-10-14T10:00:00-04:00"), "2026-10-14T14:00:00-04:00",
     "2026-10-14T16:00:00-04:00"),
    # Saturday 2026-10-17 10:00: closed until Monday 09:00 (+4 h = 13:00); open Saturdays: 14:00
    ("calendar.weekly_hours", None,
     setter("support-hours", "weekly_hours.saturday", [{"from": "09:00", "to": "18:00"}]),
     due(3, "2026-10-17T10:00:00-04:00"), "2026-10-19T13:00:00-04:00",
     "2026-10-17T14:00:00-04:00"),
    ("calendar.weekly_hours.monday", None,
     setter("support-hours", "weekly_hours.monday", [{"from": "09:00", "to": "10:00"}]),
     due(3, "2026-10-19T09:00:00-04:00"), "2026-10-19T13:00:00-04:00",
     "2026-10-20T12:00:00-04:00"),  # Monday 1 h, then Tuesday 09:00 + 3 h
    # Columbus Day, Monday 2026-10-12, is no holiday in Great Britain
    ("calendar.holidays.country", None, setter("support-hours", "holidays.country", "GB"),
     due(3, "2026-10-12T10:00:00-04:00"), "2026-10-13T13:00:00-04:00",
     "2026-10-12T14:00:00-04:00"),
    # Lincoln's Birthday, Thursday 2026-02-12, is a New York State holiday (EST -05:00)
    ("calendar.holidays.subdivision", None,
     setter("support-hours", "holidays.subdivision", "NY"),
     due(3, "2026-02-12T10:00:00-05:00"), "2026-02-12T14:00:00-05:00",
     "2026-02-13T13:00:00-05:00"),
    # Groundhog Day, Monday 2026-02-02, is an unofficial US holiday
    ("calendar.holidays.categories", None,
     setter("support-hours", "holidays.categories", ["public", "unofficial"]),
     due(3, "2026-02-02T10:00:00-05:00"), "2026-02-02T14:00:00-05:00",
     "2026-02-03T13:00:00-05:00"),
    # the case: Independence Day 2026 is a Saturday, observed Friday 07-03. Severity
    # 2 opened Thursday 17:00: 1 h that day, then 3 h from the next open day's 09:00.
    ("calendar.holidays.observed", None, setter("support-hours", "holidays.observed", False),
     due(2, "2026-07-02T17:00:00-04:00"), "2026-07-06T12:00:00-04:00",
     "2026-07-03T12:00:00-04:00"),
    ("calendar.added_closures", None, setter("support-hours", "added_closures", ["2026-10-14"]),
     due(3, "2026-10-14T10:00:00-04:00"), "2026-10-14T14:00:00-04:00",
     "2026-10-15T13:00:00-04:00"),
    ("calendar.removed_closures", None,
     setter("support-hours", "removed_closures", ["2026-10-12"]),
     due(3, "2026-10-12T10:00:00-04:00"), "2026-10-13T13:00:00-04:00",
     "2026-10-12T14:00:00-04:00"),
    # -- regional_calendar: severity 3's response on `by-region`, opened Wednesday 2026-10-14
    # 10:00 EDT = 16:00 in Berlin: EMEA has 2 h that day (16:00-18:00), then Thursday 09:00
    # + 2 h = 11:00 Berlin = 05:00 EDT; the Americas (support-hours) 10:00 + 4 h = 14:00
    ("regional_calendar.regions", add_regions,
     setter("by-region", "regions", {"emea": "support-hours", "americas": "support-hours"}),
     due_of(3, "2026-10-14T10:00:00-04:00", "response_due", region="emea"),
     "2026-10-15T05:00:00-04:00", "2026-10-14T14:00:00-04:00"),
    ("regional_calendar.default", add_regions, setter("by-region", "default", "emea-hours"),
     due(3, "2026-10-14T10:00:00-04:00"), "2026-10-14T14:00:00-04:00",
     "2026-10-15T05:00:00-04:00"),
    # -- availability_commitment -----------------------------------------------------------
    ("availability_commitment.target_percent", None,
     setter("availability-commitment", "target_percent", 99.9),
     report(ONE_HOUR, "availability", OCT, "met"), True, False),
    ("availability_commitment.plans", None,
     setter("availability-commitment", "plans", ["beta"]),
     report(ONE_HOUR, "availability", OCT, "covered"), True, False),
    ("availability_commitment.deployments", None,
     setter("availability-commitment", "deployments", ["on_premise"]),
     report(ONE_HOUR, "availability", OCT, "covered"), True, False),
    # a quarter measured as one period: October 1 to January 1 is 92 days, and the clocks
    # go back on 1 November (one hour longer): 92 * 1440 + 60 = 132,540 minutes (the row of
    # 2026-Q4 is provisional at as-of 27 November, so it is measured so far)
    ("availability_commitment.period", None,
     setter("availability-commitment", "period", "calendar_quarter"),
     report(ONE_HOUR, "availability", OCT, "minutes_in_month"), 44640, 132540),
    # per service: one row per service the commitment names, counting only downtime that
    # names it (api 60 minutes, dashboard none); without a scope one row counting all of it
    ("availability_commitment.scope", with_services,
     setter("availability-commitment", "scope", "per_service"),
     services_counted([{**ONE_HOUR[0], "services": ["api"]}]),
     [(None, 60)], [("api", 60), ("dashboard", 0)]),
    # across the services the commitment covers: a downtime of only reports no longer
    # touches acme's subscription (it lists no services, so it has those of the commitment)
    ("availability_commitment.services",
     lambda doc: with_services(doc, "across_services"),
     setter("availability-commitment", "services", ["api", "dashboard", "reports"]),
     services_counted([{**ONE_HOUR[0], "services": ["reports"]}]), [(None, 0)],
     [(None, 60)]),
    # an hour of partial outage weighed 0.5 counts 30 minutes (unweighed: all 60)
    ("availability_commitment.impact_weights", None,
     setter("availability-commitment", "impact_weights", {"partial_outage": 0.5}),
     report([{**ONE_HOUR[0], "impact": "partial_outage"}], "availability", OCT,
            "counted_downtime_minutes"), 60, 30),
    # a year starting in February: October is in fiscal Q3 (Aug-Oct) of FY2027, not in the
    # calendar Q4 (the version is made to begin on a fiscal quarter's first day)
    ("availability_commitment.year_starts",
     setter("availability-commitment", "period", "calendar_quarter"), fiscal_february,
     report(ONE_HOUR, "availability", {"customer": "acme"}, "period"), "2026-Q4",
     "FY2027-Q3"),
    # part periods: late's term starts 2026-10-15, so October is a part month (17 days,
    # 24,480 min): not covered with full months only; measured over its part when false
    ("availability_commitment.full_months_only", None,
     setter("availability-commitment", "full_months_only", False),
     report([LATE, *LATE_DOWN], "availability", LATE_OCT, "covered"), False, True),
    # 480 min of 24,480: 98.0392% < 99; 10% of the monthly fee 1000.00 / 12 = 8.3333...:
    # pro-rated 17/31 -> 4.5699 -> 4.57; the whole month's fee -> 8.33
    ("availability_commitment.part_period_fee", part_months,
     setter("availability-commitment", "part_period_fee", "full"),
     report([LATE, *LATE_DOWN], "credits", LATE_OCT, "amount"), "4.57", "8.33"),
    # an hour for a quarter of the users counts 15 minutes when the share is weighed
    ("availability_commitment.weigh_affected_share", None,
     setter("availability-commitment", "weigh_affected_share", True),
     report([{**ONE_HOUR[0], "affected_share": 0.25}], "availability", OCT,
            "counted_downtime_minutes"), 60, 15),
    # -- offerings ---------------------------------------------------------------------------
    # acme on the premium offering: 99.8656% meets premium's 99.5, not an override to 99.9
    ("offering.overrides", add_offering({"availability-commitment.target_percent": 99.5}),
     setter("premium", "overrides", {"availability-commitment.target_percent": 99.9}),
     report_for(PREMIUM_ACME, ONE_HOUR, "availability", OCT, "met"), True, False),
    # a clause for premium only: acme (no offering) no longer gets the 83.33 credit
    ("clause.offerings", add_offering(None),
     setter("service-credit", "offerings", ["premium"]),
     report(MISSED, "credits", OCT, "amount"), "83.33", None),
    # -- exclusions --------------------------------------------------------------------------
    ("scheduled_maintenance.excluded_up_to", None,
     setter("scheduled-downtime", "excluded_up_to", "2h"),
     report(SCHEDULED, "availability", OCT, "excluded_minutes"), 300, 120),
    # an allowance across windows: 5 h a year leaves all 300 minutes; 2 h leaves 120
    ("scheduled_maintenance.allowance.total",
     setter("scheduled-downtime", "allowance", {"total": "5h", "per": "calendar_year"}),
     setter("scheduled-downtime", "allowance.total", "2h"),
     report(SCHEDULED, "availability", OCT, "excluded_minutes"), 300, 120),
    # 6 h per month: October's window is excluded whole (300); 6 h per year: September's
    # 4 h window used 240 minutes of it, so October gets 120
    ("scheduled_maintenance.allowance.per",
     setter("scheduled-downtime", "allowance", {"total": "6h", "per": "calendar_month"}),
     setter("scheduled-downtime", "allowance.per", "calendar_year"),
     report([*SCHEDULED, *SEPTEMBER_SCHEDULED], "availability", OCT, "excluded_minutes"),
     300, 120),
    ("scheduled_maintenance.notice.kind", None,
     setter("scheduled-downtime", "notice.kind", "significant_change"),
     report(SCHEDULED, "availability", OCT, "excluded_minutes"), 300, 0),
    ("scheduled_maintenance.notice.lead", None,
     setter("scheduled-downtime", "notice.lead", "49h"),
     report(SCHEDULED, "availability", OCT, "excluded_minutes"), 300, 0),
    ("scheduled_maintenance.notice.channels", None,
     setter("scheduled-downtime", "notice.channels", ["portal"]),
     report(SCHEDULED, "availability", OCT, "excluded_minutes"), 300, 0),
    # two emergency windows: the first 4 h of the first excused (240 of 600 minutes)
    ("emergency_maintenance.excluded_up_to", None,
     setter("emergency-maintenance", "excluded_up_to", "1h"),
     report(EMERGENCY, "availability", OCT, "excluded_minutes"), 240, 60),
    ("emergency_maintenance.windows_per_month", None,
     setter("emergency-maintenance", "windows_per_month", 2),
     report(EMERGENCY, "availability", OCT, "excluded_minutes"), 240, 480),
    ("excused_cause.causes", None, setter("excused-downtime", "causes", ["force_majeure"]),
     report([down("d-1", "2026-10-05T10:00:00-04:00", "2026-10-05T11:00:00-04:00",
                  cause="customer")], "availability", OCT, "counted_downtime_minutes"), 0, 60),
    # a beta customer under a commitment that names beta: excluded_plan decides
    ("excluded_plan.plans", setter("availability-commitment", "plans", ["production", "beta"]),
     setter("non-production-plans", "plans", ["trial"]),
     lambda e: [r.covered for r in e.evaluate(
         [{**ACME, "customer": "beta-co", "plan": "beta"}, *ONE_HOUR], as_of=AS_OF).availability
         if r.customer == "beta-co"], [False], [True]),
    # -- credits -----------------------------------------------------------------------------
    ("service_credit.fraction_of_annual_fee", None,
     setter("service-credit", "fraction_of_annual_fee", "1/6"),
     report(MISSED, "credits", OCT, "amount"), "83.33", "166.67"),
    ("service_credit.rounding", None, setter("service-credit", "rounding", "up"),
     report(MISSED, "credits", OCT, "amount"), "83.33", "83.34"),
    ("service_credit.decimal_places", None, setter("service-credit", "decimal_places", 0),
     report(MISSED, "credits", OCT, "amount"), "83.33", "83"),
    ("service_credit.form.renewed", None, setter("service-credit", "form.renewed", "refund"),
     report(MISSED, "credits", OCT, "form"), "credit", "refund"),
    ("service_credit.form.not_renewed", None,
     setter("service-credit", "form.not_renewed", "credit"),
     lambda e: [r.form for r in e.evaluate([{**ACME, "renewed": False}, *MISSED],
                                           as_of=AS_OF).credits], ["refund"], ["credit"]),
    # -- credit bases, tiers and caps (issue 12): the month missed above, 480 counted minutes
    # of 44,640 (98.9247%); the monthly fee is 1000.00 / 12 = 83.333...
    # 10% of 83.333 = 8.333 -> 8.33; 25% = 20.833 -> 20.83
    ("service_credit.percent_of_monthly_fee", basis("percent_of_monthly_fee", 10),
     setter("service-credit", "percent_of_monthly_fee", 25),
     report(MISSED, "credits", OCT, "amount"), "8.33", "20.83"),
    # a month's period fee is the monthly fee: 10% -> 8.33; 50% = 41.666 -> 41.67
    ("service_credit.percent_of_period_fee", basis("percent_of_period_fee", 10),
     setter("service-credit", "percent_of_period_fee", 50),
     report(MISSED, "credits", OCT, "amount"), "8.33", "41.67"),
    # days of service, to 2 decimal places: 3 -> 3.00, 7 -> 7.00
    ("service_credit.days_of_service", basis("days_of_service", 3),
     setter("service-credit", "days_of_service", 7),
     report(MISSED, "credits", OCT, "amount"), "3.00", "7.00"),
    # the fees for the counted downtime: 83.333 x 480 / 44,640 = 0.896057; x 10 = 8.96057 ->
    # 8.96; x 20 = 17.92115 -> 17.92
    ("service_credit.multiple_of_downtime_fees", basis("multiple_of_downtime_fees", 10),
     setter("service-credit", "multiple_of_downtime_fees", 20),
     report(MISSED, "credits", OCT, "amount"), "8.96", "17.92"),
    # one band below 99: 10% -> 8.33; a second band below 98.95 holds 98.9247: 25% -> 20.83
    ("service_credit.tiers", basis("tiers", [{"below": 99.0, "percent_of_monthly_fee": 10}]),
     setter("service-credit", "tiers", TWO_BANDS),
     report(MISSED, "credits", OCT, "amount"), "8.33", "20.83"),
    # both bands pay when cumulative: 10% + 25% = 35% of 83.333 = 29.1666 -> 29.17
    ("service_credit.stacking", basis("tiers", TWO_BANDS),
     setter("service-credit", "stacking", "cumulative"),
     report(MISSED, "credits", OCT, "amount"), "20.83", "29.17"),
    # a 5% cap per period: 5% of 83.333 = 4.1666, rounded down to 4.16 cuts 8.33; per rolling
    # 12 months it is 5% of 1000.00 = 50.00 and cuts nothing
    ("credit_cap.per", capped_5_percent, setter("cap", "per", "rolling_12_months"),
     report(MISSED, "credits", OCT, "amount"), "4.16", "8.33"),
    # 8% of 83.333 = 6.666 -> 6.66
    ("credit_cap.percent_of_fees", capped_5_percent, setter("cap", "percent_of_fees", 8),
     report(MISSED, "credits", OCT, "amount"), "4.16", "6.66"),
    ("credit_cap.amount", cap_amount("5.00"), setter("cap", "amount", "2.50"),
     report(MISSED, "credits", OCT, "amount"), "5.00", "2.50"),
    # chronic failure: September (480 of 43,200 minutes: 98.8889%) and October missed
    ("chronic_failure.consecutive_missed", chronic(consecutive_missed=2),
     setter("chronic", "consecutive_missed", 3), remedies(SEP_AND_OCT), ["acme 2026-10"], []),
    # August (98.9247%) and October missed, September met: two of 12 months, not in a row
    ("chronic_failure.missed_in_12_months", chronic(missed_in_12_months=2),
     setter("chronic", "missed_in_12_months", 3), remedies(AUG_AND_OCT), ["acme 2026-10"], []),
    ("chronic_failure.remedy", chronic(consecutive_missed=2),
     setter("chronic", "remedy", "fee_refund"),
     report(SEP_AND_OCT, "remedies", OCT_PERIOD, "remedy"), "termination_right", "fee_refund"),
    # the last day to use it: October ends at midnight 1 November; 30 days are 1-30 November
    ("chronic_failure.exercise_within", chronic(consecutive_missed=2, exercise_within="30d"),
     setter("chronic", "exercise_within", "10d"),
     report(SEP_AND_OCT, "remedies", OCT_PERIOD, "exercise_by"), "2026-11-30", "2026-11-10"),
    # the deadline shown is the last day: 60 days after 31 October is 30 December
    ("claim_window.window", None, setter("credit-claim-window", "window", "30d"),
     report(MISSED, "credits", OCT, "claim_deadline"), "2026-12-30", "2026-11-30"),
    # to the end of the calendar month after October: 30 November; of the 2nd: 31 December
    ("claim_window.window.months",
     setter("credit-claim-window", "window", {"months": 1, "to": "end_of_month"}),
     setter("credit-claim-window", "window.months", 2),
     report(MISSED, "credits", OCT, "claim_deadline"), "2026-11-30", "2026-12-31"),
    # from the outage: it ended on 5 October, + 60 days = 4 December
    ("claim_window.from", None, setter("credit-claim-window", "from", "incident"),
     report(MISSED, "credits", OCT, "claim_deadline"), "2026-12-30", "2026-12-04"),
    # -- severity ---------------------------------------------------------------------------
    # levels run 1..N without gaps, so the edit swaps 2 and 3: severity 2 is then the
    # clause without a resolution target (48 support hours from Wednesday 2026-10-14
    # 10:00 was Wednesday 2026-10-21 13:00, see severity.resolution.clock)
    ("severity.level", None,
     both(setter("severity-2", "level", 3), setter("severity-3", "level", 2)),
     due(2, "2026-10-14T10:00:00-04:00", "resolution"), "2026-10-21T13:00:00-04:00", None),
    ("severity.name", None, setter("severity-1", "name", "Sky Falling"),
     lambda e: sorted(f.message for f in e.evaluate(
         [ACME, ticket("C-1", "2026-10-14T10:00:00-04:00",
                       impact={"loss_of_service": True, "workaround_available": False})],
         as_of=AS_OF).findings if f.rule == "support.severity-from-impact"),
     ["the reported impact (loss of service) matches the definition of severity 1 "
      "(Critical Impact)"],
     ["the reported impact (loss of service) matches the definition of severity 1 "
      "(Sky Falling)"]),
    ("severity.definition", None,
     setter("severity-2", "definition", {"all": [{"critical_function": True}]}),
     report([ticket("C-4", "2026-10-14T10:00:00-04:00",
                    impact={"production_degraded": True, "workaround_available": True})],
            "tickets", {"id": "C-4"}, "severity"), 2, 3),
    ("severity.response", None,
     setter("severity-3", "response", {"target": "4h", "clock": "elapsed"}),
     due(3, "2026-10-17T10:00:00-04:00"), "2026-10-19T13:00:00-04:00",
     "2026-10-17T14:00:00-04:00"),
    ("severity.response.target", None, setter("severity-3", "response.target", "2h"),
     due(3, "2026-10-14T10:00:00-04:00"), "2026-10-14T14:00:00-04:00",
     "2026-10-14T12:00:00-04:00"),
    ("severity.response.clock", None,
     lambda doc: clause(doc, "severity-3")["response"].update(clock="elapsed"),
     due(3, "2026-10-17T10:00:00-04:00"), "2026-10-19T13:00:00-04:00",
     "2026-10-17T14:00:00-04:00"),
    # Saturday 2026-10-17 10:00 on the weekend calendar: 10:00 + 4 h the same day
    ("severity.response.calendar", add_weekend,
     setter("severity-3", "response.calendar", "weekend-hours"),
     due(3, "2026-10-17T10:00:00-04:00"), "2026-10-19T13:00:00-04:00",
     "2026-10-17T14:00:00-04:00"),
    # waiting on the customer 10:00-12:00: the clock starts at 12:00, due 16:00
    ("severity.response.pause_on", None,
     setter("severity-3", "response.pause_on", ["waiting_on_customer"]),
     report(WAITING, "tickets", {"id": "W-1"}, "response_due"), "2026-10-14T14:00:00-04:00",
     "2026-10-14T16:00:00-04:00"),
    # 4 support hours from 10:00: at risk at 100% when due (14:00), at 75% after 3 h (13:00)
    ("severity.response.at_risk", add_at_risk("100%"),
     setter("severity-3", "response.at_risk", "75%"),
     due_of(3, "2026-10-14T10:00:00-04:00", "response_at_risk"),
     "2026-10-14T14:00:00-04:00", "2026-10-14T13:00:00-04:00"),
    ("severity.resolution", None, setter("severity-1", "resolution", None),
     due(1, "2026-10-14T10:00:00-04:00", "resolution"), "2026-10-15T10:00:00-04:00", None),
    ("severity.resolution.target", None, setter("severity-1", "resolution.target", "12h"),
     due(1, "2026-10-14T10:00:00-04:00", "resolution"), "2026-10-15T10:00:00-04:00",
     "2026-10-14T22:00:00-04:00"),
    # severity 2 resolution, 48 support hours from Wednesday 2026-10-14 10:00: Wed 8, Thu 9
    # (17), Fri 9 (26), Mon 9 (35), Tue 9 (44), Wed 2026-10-21 09:00-13:00 (48)
    ("severity.resolution.clock", None,
     lambda doc: clause(doc, "severity-2")["resolution"].update(clock="elapsed"),
     due(2, "2026-10-14T10:00:00-04:00", "resolution"), "2026-10-21T13:00:00-04:00",
     "2026-10-16T10:00:00-04:00"),
    # on weekends 09:00-18:00: Sat 17 9, Sun 18 (18), Sat 24 (27), Sun 25 (36), Sat 31 (45),
    # Sun 2026-11-01 (EST after 02:00) 09:00-12:00 (48)
    ("severity.resolution.calendar", add_weekend,
     setter("severity-2", "resolution.calendar", "weekend-hours"),
     due(2, "2026-10-14T10:00:00-04:00", "resolution"), "2026-10-21T13:00:00-04:00",
     "2026-11-01T12:00:00-05:00"),
    # waiting on the customer 10:00-12:00 holds the clock for 2 support hours
    ("severity.resolution.pause_on", None,
     setter("severity-2", "resolution.pause_on", ["waiting_on_customer"]),
     report([{**WAITING[0], "severity": 2}], "tickets", {"id": "W-1"}, "resolution_due"),
     "2026-10-21T13:00:00-04:00", "2026-10-21T15:00:00-04:00"),
    # severity 1 resolution, 24 elapsed hours from Wednesday 10:00: due Thursday 10:00; at
    # risk then at 100%, 2 h before (08:00) with its own 2h
    ("severity.resolution.at_risk", add_at_risk("100%"),
     setter("severity-1", "resolution.at_risk", "2h"),
     due_of(1, "2026-10-14T10:00:00-04:00", "resolution_at_risk"),
     "2026-10-15T10:00:00-04:00", "2026-10-15T08:00:00-04:00"),
    # -- severity.update: severity 2, first answered (or last updated) Wednesday 10:30 ------
    # 8 support hours from 10:30: Wednesday 7.5 h to 18:00, Thursday 09:00 + 0.5 h = 09:30
    ("severity.update", None, add_update,
     due_of(2, "2026-10-14T10:00:00-04:00", "update_due",
            last_update_at="2026-10-14T10:30:00-04:00"),
     None, "2026-10-15T09:30:00-04:00"),
    # the 12:00 update is in time either way and restarts the chain: 12:00 + 8 support
    # hours = Wednesday 6 h to 18:00, Thursday 09:00 + 2 h = 11:00; + 4 h = 16:00 Wednesday
    ("severity.update.target", add_update, setter("severity-2", "update.target", "4h"),
     report(UPDATED, "tickets", {"id": "U-1"}, "update_due"), "2026-10-15T11:00:00-04:00",
     "2026-10-14T16:00:00-04:00"),
    # elapsed: 12:00 + 8 h = 20:00 Wednesday
    ("severity.update.clock", add_update,
     lambda doc: clause(doc, "severity-2")["update"].update(clock="elapsed"),
     report(UPDATED, "tickets", {"id": "U-1"}, "update_due"), "2026-10-15T11:00:00-04:00",
     "2026-10-14T20:00:00-04:00"),
    # on weekends 09:00-18:00: 12:00 Wednesday counts from Saturday 09:00, + 8 h = 17:00
    ("severity.update.calendar", both(add_weekend, add_update),
     setter("severity-2", "update.calendar", "weekend-hours"),
     report(UPDATED, "tickets", {"id": "U-1"}, "update_due"), "2026-10-15T11:00:00-04:00",
     "2026-10-17T17:00:00-04:00"),
    # answered 10:30, no update: 10:30 + 8 support hours = Thursday 09:30; waiting on the
    # customer 11:00-13:00 holds the clock 2 h: Wednesday 0.5 + 5 h, Thursday 09:00 + 2.5 h
    ("severity.update.pause_on", add_update,
     setter("severity-2", "update.pause_on", ["waiting_on_customer"]),
     report(WAITING_UPDATE, "tickets", {"id": "U-2"}, "update_due"),
     "2026-10-15T09:30:00-04:00", "2026-10-15T11:30:00-04:00"),
    # the update due Thursday 09:30 (from 10:30): at risk then at 100%; at 75% after 6
    # support hours, 16:30 Wednesday
    ("severity.update.at_risk", both(add_update, add_at_risk("100%")),
     setter("severity-2", "update.at_risk", "75%"),
     due_of(2, "2026-10-14T10:00:00-04:00", "update_at_risk",
            last_update_at="2026-10-14T10:30:00-04:00"),
     "2026-10-15T09:30:00-04:00", "2026-10-14T16:30:00-04:00"),
    # -- at_risk_threshold: severity 3 opened 10:00, response due 14:00, unanswered at 13:00:
    # not yet at risk at 100%; at 75% at risk from 13:00 (3 of the 4 support hours)
    ("at_risk_threshold.threshold", add_at_risk("100%"), setter("at-risk", "threshold", "75%"),
     ticket_at(UNANSWERED, "2026-10-14T13:00:00-04:00", "R-1", "at_risk"), False, True),
    # -- notice_obligation ------------------------------------------------------------------
    ("notice_obligation.subject", drop("high_priority_update_notice"),
     setter("significant_change_notice", "subject", "high_priority_change"),
     lambda e: sorted(r.subject for r in e.evaluate([ACME, *CHANGE, *LATE_HP],
                                                    as_of=AS_OF).obligations),
     ["ch-1"], ["hp-1"]),
    ("notice_obligation.notice_kind", None,
     setter("significant_change_notice", "notice_kind", "high_priority_update"),
     report(CHANGE, "obligations", {"subject": "ch-1"}, "met"), True, False),
    ("notice_obligation.lead", None, setter("significant_change_notice", "lead", "169h"),
     report(CHANGE, "obligations", {"subject": "ch-1"}, "met"), True, False),
    ("notice_obligation.channels", None,
     setter("significant_change_notice", "channels", ["portal"]),
     report(CHANGE, "obligations", {"subject": "ch-1"}, "met"), True, False),
    ("notice_obligation.strength", None,
     setter("high_priority_update_notice", "strength", "binding"),
     outcome(LATE_HP, "high_priority_update_notice", "acme/hp-1"), ["missed"], ["breach"]),
    # -- entitlements -----------------------------------------------------------------------
    ("update_entitlement.entitled_licenses", None,
     setter("support-updates", "entitled_licenses", []),
     report(UPDATE, "entitlements", {"id": "UR-1"}, "entitled"), True, False),
    ("update_entitlement.licenses_requiring_support", None,
     setter("support-updates", "licenses_requiring_support", []),
     report(UPDATE_WAYNE, "entitlements", {"id": "UR-2"}, "entitled"), True, False),
    ("support_lapse.licenses", None,
     setter("perpetual-lapsed-support", "licenses", ["subscription"]),
     report(LAPSED, "entitlements", {"id": "UR-2"}, "reason"),
     "perpetual-lapsed-support: support lapsed: the perpetual licence stays in force but "
     "updates are not included", "no entitlement clause covers this licence"),
    # wayne's perpetual licence with lapsed support: a severity-3 ticket opened Wednesday
    # 2026-10-14 10:00 has no targets while they are withdrawn (the shipped reading); kept,
    # it is due 4 support hours later, 14:00
    ("support_lapse.support_targets", None,
     setter("perpetual-lapsed-support", "support_targets", "kept"),
     report([LAPSED[0], {**ticket("L-1", "2026-10-14T10:00:00-04:00", severity=3),
                         "customer": "wayne"}], "tickets", {"id": "L-1"}, "response_due"),
     None, "2026-10-14T14:00:00-04:00"),
]

# Terms no evaluation reads, and why they stay.
DOCUMENTARY = {
    "claim_window.window.to": "only end_of_month is accepted (enum): it marks a window of "
                              "calendar months, which claim_window.window.months exercises",
}


@pytest.mark.parametrize(("term", "base", "edit", "observe", "before", "after"), ROWS,
                         ids=[row[0] for row in ROWS])
def test_term_changes_what_it_says(tmp_path: Path, term: str, base: Any,
                                   edit: Callable[[Doc], None], observe: Callable[[Engine], Any],
                                   before: Any, after: Any) -> None:
    doc = copy.deepcopy(SHIPPED)
    if base is not None:
        base(doc)
    edited = copy.deepcopy(doc)
    edit(edited)
    old, new = engine(doc, tmp_path, "before"), engine(edited, tmp_path, "after")
    assert observe(old) == before
    assert observe(new) == after
    # show describes the edit: the document's words change with the term
    assert render_policy(old.policies[0]) != render_policy(new.policies[0])


def _term_paths(schema: dict[str, Any], prefix: str, definitions: dict[str, Any]) -> list[str]:
    """A term's path, or (for an object of named terms) its nested terms' paths."""
    if "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("then", {}).get("$ref"):
        schema = definitions[schema["then"]["$ref"].rsplit("/", 1)[1]]
    properties = schema.get("properties") or {}
    if not properties or prefix.endswith(("weekly_hours", "definition")):
        return [prefix]  # a leaf; one weekday stands for all, a condition is one term
    return [path for name, sub in properties.items()
            for path in _term_paths(sub, f"{prefix}.{name}", definitions)]


def test_every_term_is_read_or_documentary() -> None:
    """Each term (and nested term) of every shipped kind has a row or a documentary reason."""
    import json

    schema = json.loads((ROOT / "schemas" / "policy.schema.json").read_text())
    definitions = schema["definitions"]
    covered = {row[0] for row in ROWS} | set(DOCUMENTARY)
    missing = []
    for kind in registry.kinds(builtin_only=True):
        for term, sub in kind.terms.items():
            for path in _term_paths(sub, f"{kind.name}.{term}", definitions):
                if path not in covered:
                    missing.append(path)
    assert missing == []


def test_part_period_fee_with_full_months_only_is_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(SHIPPED)
    setter("availability-commitment", "part_period_fee", "full")(doc)
    with pytest.raises(InputError, match=r"availability\[0\]\.part_period_fee: "
                                         r"part_period_fee applies to part periods, and "
                                         r"full_months_only is true"):
        engine(doc, tmp_path, "refused")


# -- terms that validate must be able to take effect (attack16 F16, F17, F22) ----------------
# Each edit made a term that `show` described while no evaluation could ever act on it (or
# acted on the host's settings); each is now refused at the term's own line, one problem.


def _zone(where: str, name: str) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        if where == "spec":
            doc["spec"]["timezone"] = name
        else:
            clause(doc, "support-hours")["timezone"] = name
    return edit


def _quarterly_chronic(period: str, count: int) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        setter("availability-commitment", "period", period)(doc)
        chronic(missed_in_12_months=count)(doc)
    return edit


REFUSED: list[tuple[str, Callable[[Doc], None], str, str]] = [
    # Independence Day 2026 is Saturday 07-04 (the calendar is closed on Saturdays anyway);
    # it is observed on Friday 07-03, which stays closed: removing 07-04 opened nothing
    ("removed-closure-weekend-holiday",
     setter("support-hours", "removed_closures", ["2026-07-04"]),
     "$.spec.calendars[0].removed_closures[0]",
     "2026-07-04 (Independence Day) is a Saturday, when calendar 'support-hours' has no "
     "opening hours: removing it opens nothing; it is observed on 2026-07-03: remove that "
     "date to open on the observed day"),
    # Wednesday 2026-07-08 is no US holiday: nothing to reopen
    ("removed-closure-not-a-holiday",
     setter("support-hours", "removed_closures", ["2026-07-08"]),
     "$.spec.calendars[0].removed_closures[0]",
     "2026-07-08 is no closure of calendar 'support-hours' (no holiday of its country, nor "
     "an added closure): removing it opens nothing"),
    # Saturday 2026-07-04 itself, with observed: false: still the Saturday, still closed;
    # the nearest open holiday date is none (07-03 is no holiday then)
    ("removed-closure-weekend-holiday-not-observed",
     both(setter("support-hours", "holidays.observed", False),
          setter("support-hours", "removed_closures", ["2026-07-04"])),
     "$.spec.calendars[0].removed_closures[0]",
     "2026-07-04 (Independence Day) is a Saturday, when calendar 'support-hours' has no "
     "opening hours: removing it opens nothing"),
    # a closure no clock can reach (clocks run 1971..2200)
    ("added-closure-year-9999", setter("support-hours", "added_closures", ["9999-12-31"]),
     "$.spec.calendars[0].added_closures[0]",
     "9999-12-31 is outside the years a clock can reach (1971-2200): it can never take "
     "effect"),
    ("removed-closure-year-1", setter("support-hours", "removed_closures", ["0001-01-01"]),
     "$.spec.calendars[0].removed_closures[0]",
     "0001-01-01 is outside the years a clock can reach (1971-2200): it can never take "
     "effect"),
    # an empty list used to be read as the default [public]
    ("holiday-categories-empty", setter("support-hours", "holidays.categories", []),
     "$.spec.calendars[0].holidays.categories",
     "categories [] names no kind of holiday; leave the key out for the default [public], "
     "or leave out 'holidays' for a calendar closed on no holiday"),
    # 12 months hold 4 quarters or 1 year: 12 missed periods in 12 months never happen
    ("chronic-missed-in-12-months-quarterly", _quarterly_chronic("calendar_quarter", 12),
     "$.spec.credits[3].missed_in_12_months",
     "missed_in_12_months 12 can never be reached: 12 months hold 4 calendar quarters (the "
     "commitment's period is calendar_quarter); at most 4"),
    ("chronic-missed-in-12-months-yearly", _quarterly_chronic("calendar_year", 2),
     "$.spec.credits[3].missed_in_12_months",
     "missed_in_12_months 2 can never be reached: 12 months hold 1 calendar year (the "
     "commitment's period is calendar_year); at most 1"),
    # host-dependent zones: results would change with the machine's /etc/localtime
    ("timezone-localtime", _zone("spec", "localtime"), "$.spec.timezone",
     "time zone 'localtime' is the host's own time zone, which differs from machine to "
     "machine, not a place a policy or mapping can name (name the zone, e.g. "
     "America/New_York or UTC)"),
    ("calendar-timezone-localtime", _zone("calendar", "localtime"),
     "$.spec.calendars[0].timezone",
     "time zone 'localtime' is the host's own time zone, which differs from machine to "
     "machine, not a place a policy or mapping can name (name the zone, e.g. "
     "America/New_York or UTC)"),
    ("calendar-timezone-factory", _zone("calendar", "Factory"),
     "$.spec.calendars[0].timezone",
     "time zone 'Factory' is tzdata's placeholder zone, whose local time is '-00' (no time "
     "at all), not a place a policy or mapping can name (name the zone, e.g. "
     "America/New_York or UTC)"),
    ("timezone-posixrules", _zone("spec", "posixrules"), "$.spec.timezone",
     "time zone 'posixrules' is the host's default daylight-saving rules, not a place a "
     "policy or mapping can name (name the zone, e.g. America/New_York or UTC)"),
    ("timezone-posix-copy", _zone("spec", "posix/Europe/Berlin"), "$.spec.timezone",
     "time zone 'posix/Europe/Berlin' is a copy of the database that depends on the host, "
     "not a place a policy or mapping can name (use 'Europe/Berlin')"),
    ("timezone-misspelt", _zone("spec", "America/New_Yrok"), "$.spec.timezone",
     "unknown time zone 'America/New_Yrok'"),
]


def _elapsed_with_calendar(doc: Doc) -> None:
    clause(doc, "severity-1")["resolution"] = {"target": "24h", "clock": "elapsed",
                                               "calendar": "support-hours"}


# the sweep: terms that validated and were silently ignored
REFUSED += [
    # lists choosing what a clause applies to, empty: the clause applies to nothing
    ("commitment-plans-empty", setter("availability-commitment", "plans", []),
     "$.spec.availability[0].plans",
     "plans [] covers no plan: the clause could never take effect; list what it applies "
     "to, or remove the clause"),
    ("commitment-deployments-empty", setter("availability-commitment", "deployments", []),
     "$.spec.availability[0].deployments",
     "deployments [] covers no deployment: the clause could never take effect"),
    ("excluded-plans-empty", setter("non-production-plans", "plans", []),
     "$.spec.exclusions[3].plans", "plans [] excludes no plan: the clause could never take "
     "effect"),
    ("support-lapse-licenses-empty", setter("perpetual-lapsed-support", "licenses", []),
     "$.spec.entitlements[1].licenses", "licenses [] applies to no licence: the clause could "
     "never take effect"),
    # a maintenance allowance longer than its period (attack16b G5): New York's longest
    # month is 31 d x 24 h + the hour falling back adds = 745 h; a quarter 92 d x 24 h + 1 h
    # = 2,209 h (Oct-Dec); a year (8,784 h) is longer than any duration term (365d = 8,760 h)
    ("allowance-800h-per-month",
     setter("scheduled-downtime", "allowance", {"total": "800h", "per": "calendar_month"}),
     "$.spec.exclusions[0].allowance.total",
     "allowance total 800h can never be reached: a calendar month lasts at most 745h in "
     "America/New_York; at most 745h"),
    ("allowance-93d-per-quarter",
     setter("scheduled-downtime", "allowance", {"total": "93d", "per": "calendar_quarter"}),
     "$.spec.exclusions[0].allowance.total",
     "allowance total 93d can never be reached: a calendar quarter lasts at most 2209h in "
     "America/New_York; at most 2209h"),
    ("allowance-746h-per-monthly-period",
     setter("scheduled-downtime", "allowance", {"total": "746h", "per": "period"}),
     "$.spec.exclusions[0].allowance.total",
     "allowance total 746h can never be reached: a calendar month lasts at most 745h in "
     "America/New_York (per period: the commitment's period is calendar_month); at most "
     "745h"),
    # an excused-cause clause excusing nothing
    ("excused-causes-empty", setter("excused-downtime", "causes", []),
     "$.spec.exclusions[2].causes",
     "causes [] excuses nothing; list the causes that excuse downtime, or remove the clause"),
]


@pytest.mark.parametrize(("edit", "path", "message"), [r[1:] for r in REFUSED],
                         ids=[r[0] for r in REFUSED])
def test_term_that_cannot_take_effect_is_refused(tmp_path: Path, edit: Callable[[Doc], None],
                                                 path: str, message: str) -> None:
    doc = copy.deepcopy(SHIPPED)
    edit(doc)
    with pytest.raises(InputError) as caught:
        engine(doc, tmp_path, "refused")
    (problem,) = caught.value.diagnostics
    assert problem.path == path
    assert problem.message.startswith(message)
    assert problem.line > 1 and problem.file.endswith("refused.yaml")


def test_allowance_of_a_whole_month_still_validates(tmp_path: Path) -> None:
    """The bound is the longest month, not the shortest: 745h per calendar month can be
    reached in New York (October 1971-2006 held the fall-back hour: 31 d x 24 h + 1 h =
    745 h), so it is accepted."""
    doc = copy.deepcopy(SHIPPED)
    setter("scheduled-downtime", "allowance", {"total": "745h", "per": "calendar_month"})(doc)
    engine(doc, tmp_path, "whole-month")


def test_removed_closure_of_an_observed_day_takes_effect(tmp_path: Path) -> None:
    """The fix the message names: removing the observed Friday 2026-07-03 opens it. Severity
    2 (4 support hours) opened Thursday 07-02 17:00: 1 h that day, then 3 h from Friday 09:00
    = 12:00 (before: Monday 07-06 12:00)."""
    doc = copy.deepcopy(SHIPPED)
    setter("support-hours", "removed_closures", ["2026-07-03"])(doc)
    assert due(2, "2026-07-02T17:00:00-04:00")(engine(doc, tmp_path, "open")) == \
        "2026-07-03T12:00:00-04:00"


def test_added_closure_of_a_closed_day_is_a_warning(tmp_path: Path) -> None:
    """Closing a Saturday or a holiday again changes nothing: a located warning each
    (Thanksgiving is Thursday 2026-11-26), the policy still loads."""
    from policyengine.validation.policy import load_policy_document

    doc = copy.deepcopy(SHIPPED)
    setter("support-hours", "added_closures", ["2026-10-17", "2026-11-26", "2026-10-14"])(doc)
    path = tmp_path / "warned.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    warnings = [d for d in load_policy_document(path).problems if d.severity == "warning"]
    assert [(d.path, d.message) for d in warnings] == [
        ("$.spec.calendars[0].added_closures[0]", "2026-10-17 is a Saturday, when calendar "
         "'support-hours' has no opening hours: closing it changes nothing"),
        ("$.spec.calendars[0].added_closures[1]", "2026-11-26 is already closed "
         "(Thanksgiving Day): closing it again changes nothing"),
    ]


def test_downtime_causes_are_the_fact_vocabulary() -> None:
    import json

    from policyengine.clauses.exclusions import DOWNTIME_CAUSES

    schema = json.loads((ROOT / "schemas" / "facts.schema.json").read_text())
    found = [node["properties"]["cause"]["enum"] for node in schema["definitions"].values()
             if isinstance(node, dict) and "cause" in (node.get("properties") or {})]
    assert found and all(tuple(e) == DOWNTIME_CAUSES for e in found)


@pytest.mark.parametrize(("edit", "path", "message"), [
    # a cause no downtime fact can have (facts refuse it) never excuses anything
    pytest.param(setter("excused-downtime", "causes", ["customer", "acts_of_god"]),
                 "$.spec.exclusions[2].causes[1]",
                 "no downtime fact can give cause 'acts_of_god' (a downtime's cause is one "
                 "of: vendor, customer, third_party, force_majeure): it excuses nothing",
                 id="excused-cause-outside-the-vocabulary"),
    # the elapsed clock counts every hour: the calendar was never read (show never said
    # it was: a leftover, warned)
    pytest.param(_elapsed_with_calendar, "$.spec.support[0].resolution.calendar",
                 "calendar 'support-hours' is not read on the elapsed clock, which counts "
                 "every hour; use clock: business to count its opening hours, or remove the "
                 "calendar", id="calendar-on-elapsed-clock"),
    # severity 1 holds for every ticket: levels 2-3 are never classified (min wins)
    pytest.param(setter("severity-1", "definition", {"all": []}),
                 "$.spec.support[0].definition",
                 "severity 1's definition holds for every ticket: the definitions of levels "
                 "2-3 never classify one (only an assigned severity reaches them); make the "
                 "catch-all the last level", id="catch-all-above-other-levels"),
])
def test_term_that_can_only_partly_take_effect_is_warned(
        tmp_path: Path, edit: Callable[[Doc], None], path: str, message: str) -> None:
    from policyengine.validation.policy import load_policy_document

    doc = copy.deepcopy(SHIPPED)
    edit(doc)
    file = tmp_path / "warned.yaml"
    file.write_text(yaml.safe_dump(doc, sort_keys=False))
    loaded = load_policy_document(file)
    assert loaded.policy is not None
    assert [(d.path, d.message) for d in loaded.problems if d.severity == "warning"] == \
        [(path, message)]
