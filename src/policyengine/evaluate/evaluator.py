"""Evaluate facts against a policy: facts → derived facts → rules → result rows.

Python precomputes what a Rete engine does badly (interval union, month splitting in the
policy's timezone, business-hour clocks, claim deadlines, the order of emergency windows);
every decision (exclude, cover, meet, breach, credit, entitle) is a rule firing that
names its clause. Stages run in order (declared, with the facts each receives, in
:mod:`policyengine.compile.stages`), each on small per-customer sessions:

  window-exclusions → window-verdicts → months → credits → credit-caps → remedies
  ticket-severity → ticket-clocks
  obligations → obligation-verdicts
  entitlements
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from policyengine.clauses import registry
from policyengine.clauses.credits import claim_last_day, window_words
from policyengine.clauses.values import (
    CreditMeasure,
    UnknownRegion,
    at_risk,
    clock,
    due,
    values_of,
)
from policyengine.clauses.words import period_words, reading_period
from policyengine.clocks import intervals, timeutil
from policyengine.clocks.durations import duration_seconds
from policyengine.clocks.periods import first_month, months_in, period_bounds, period_of
from policyengine.compile import stages
from policyengine.compile.compiler import CompiledPolicy
from policyengine.diagnostics import Diagnostic, EngineError, InputError
from policyengine.engine.base import Backend, DecisionError, StageResult, apply_firings
from policyengine.evaluate import explain
from policyengine.evaluate.variants import check_subscription, for_service, resolve
from policyengine.model.facts import (
    IMPACT_FLAGS,
    Change,
    CreditRequest,
    Downtime,
    FactSet,
    Notice,
    Subscription,
    Ticket,
    UpdateRequest,
    Where,
)
from policyengine.model.json_report import ABSENT
from policyengine.model.results import (
    AvailabilityRow,
    CreditRow,
    EntitlementRow,
    Evaluation,
    Finding,
    ObligationRow,
    RemedyRow,
    TicketRow,
)

SESSION_FACTS = 2000  # facts per durable-rules session (small sessions stay fast)
_SUBJECT_KINDS = {
    "scheduled": "scheduled_maintenance",
    "significant": "significant_change",
    "high_priority": "high_priority_change",
}


class VersionSet:
    """The compiled versions of one policy, chosen per instant by effective dates."""

    def __init__(self, versions: Sequence[CompiledPolicy]):
        self.versions = sorted(versions, key=lambda v: v.policy.effective_from)
        self.timezone = self.versions[0].policy.timezone
        # [from, until) of each version as epoch seconds: local midnights of its dates
        self._spans = [
            (self._edge(v.policy.effective_from, float("-inf")),
             self._edge(v.policy.effective_until, float("inf")), v)
            for v in self.versions
        ]

    def _edge(self, day: dt.date | None, unbounded: float) -> float:
        if day is None:
            return unbounded
        try:
            return timeutil.local_midnight(day, self.timezone)
        except (OverflowError, ValueError, OSError):  # a date far outside epoch time
            return unbounded

    def at(self, epoch: float, what: str = "") -> CompiledPolicy:
        """The version in force at an instant (its local date in the policy's timezone)."""
        for start, end, version in self._spans:
            if start <= epoch < end:
                return version
        return self.on(timeutil.local_date(epoch, self.timezone), what)

    def on(self, day: dt.date, what: str = "") -> CompiledPolicy:
        for version in self.versions:
            if version.policy.in_force_on(day):
                return version
        raise InputError.single(
            what or "facts",
            f"no policy version is in force on {day.isoformat()}"
            + (f" ({what})" if what else ""),
            code="version",
        )


FactGroups = dict[CompiledPolicy, dict[str, list[dict[str, Any]]]]


def _groups() -> FactGroups:
    """Engine facts by policy version, then by customer (a customer is never split)."""
    return defaultdict(lambda: defaultdict(list))


def _minutes(seconds: float) -> int | float:
    minutes = Decimal(repr(seconds)) / 60
    minutes = minutes.quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
    return int(minutes) if minutes == minutes.to_integral_value() else float(minutes)


def _number(value: Decimal | float | int) -> int | float:
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


# -- as-of is a knowledge cutoff ---------------------------------------------------------------
# what the warning counts, in the order it lists them
_NOT_BEGUN = "credit_request for a month not begun"
_CUTOFF_KINDS = (
    "downtime", "downtime end", "change", "notice", "ticket", "ticket first_response_at",
    "ticket resolved_at", "ticket status_history entry", "ticket update", "credit_request",
    "update_request", _NOT_BEGUN,
)


@dataclass
class Cutoff:
    """Facts, and parts of facts, dated after as-of: not used, counted for one warning.

    ``counts`` by kind (:data:`_CUTOFF_KINDS`); ``first`` locates the first of them by
    (file, line, column): ``(file, line, column, json path, subject)``.
    """

    counts: dict[str, int] = field(default_factory=dict)
    first: tuple[str, int, int, str, str] | None = None

    def note(self, kind: str, where: Where, field_name: str, subject: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        here = (where.file, where.line, where.column, where.path(field_name), subject)
        if self.first is None or here[:3] < self.first[:3]:
            self.first = here

    def merge(self, other: Cutoff) -> None:
        for kind, count in other.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + count
        if other.first is not None and (self.first is None or other.first[:3] < self.first[:3]):
            self.first = other.first

    def warning(self, as_of: str) -> Diagnostic | None:
        """One warning that counts what was not used, located at the first of it; or None."""
        if self.first is None:
            return None
        total = sum(self.counts.values())
        parts = ", ".join(f"{self.counts[k]} {k}" for k in _CUTOFF_KINDS if k in self.counts)
        file, line, column, path, subject = self.first
        claims = " or claiming a month not begun by then" if _NOT_BEGUN in self.counts else ""
        return Diagnostic(
            file=file, line=line, column=column, path=path, subject=subject,
            severity="warning", code="as_of",
            message=(f"{total} fact(s) or part(s) of facts dated after as-of {as_of}{claims} "
                     f"were not used ({parts}); this is the first of them"),
        )


@dataclass
class _Known:
    """The facts known at as-of: later ones left out, later parts cut off."""

    downtimes: list[Downtime]
    changes: list[Change]
    notices: list[Notice]
    tickets: list[Ticket]
    credit_requests: list[CreditRequest]
    update_requests: list[UpdateRequest]


def known_at(facts: FactSet, as_of: float, cutoff: Cutoff, *, fleet: bool = True,
             tz: str | None = None,
             begun: Callable[[CreditRequest], bool] | None = None) -> _Known:
    """What is known at ``as_of``, noting into ``cutoff`` what is not.

    A downtime starting after as-of, a change deployed, a notice sent, a ticket opened or a
    request made after it is left out; a downtime still going on at as-of (no ``end``, or an
    ``end`` after it) counts up to as-of; a ticket's response, resolution or status change
    after as-of has not happened yet. Fleet-wide facts (downtimes, changes, notices to
    everybody) are noted only when ``fleet`` (a customer shard holds copies of them).
    With ``tz`` (the policy's), a credit request for a month that has not begun at as-of
    (its first instant is as-of or later) is left out and noted too: that month is not
    reported, so nothing could answer the request. ``begun`` (request -> bool), when
    given, says instead whether the request's *period* has begun (a quarter begun in
    October answers a request naming November).
    """
    def skip(kind: str, when: float, where: Where, name: str, subject: str,
             counted: bool = True) -> bool:
        if when <= as_of:
            return False
        if counted:
            cutoff.note(kind, where, name, subject)
        return True

    downtimes = []
    for down in facts.downtimes:
        if skip("downtime", down.start, down.where, "start", down.id, fleet):
            continue
        if down.end is None or skip("downtime end", down.end, down.where, "end", down.id,
                                    fleet):
            down = replace(down, end=as_of)  # ongoing at as-of (it started by then)
        downtimes.append(down)
    changes = [c for c in facts.changes
               if not skip("change", c.deployed_at, c.where, "deployed_at", c.id, fleet)]
    notices = [n for n in facts.notices
               if not skip("notice", n.sent_at, n.where, "sent_at", n.id,
                           fleet or n.customer is not None)]
    tickets = []
    for ticket in facts.tickets:
        if skip("ticket", ticket.opened_at, ticket.where, "opened_at", ticket.id):
            continue
        changed: dict[str, Any] = {}
        for name in ("first_response_at", "resolved_at"):
            value = getattr(ticket, name)
            if value is not None and skip(f"ticket {name}", value, ticket.where, name, ticket.id):
                changed[name] = None
        history = tuple(e for e in ticket.status_history
                        if not skip("ticket status_history entry", e[0], ticket.where,
                                    "status_history", ticket.id))
        if len(history) != len(ticket.status_history):
            changed["status_history"] = history
        updates = tuple(u for u in ticket.updates
                        if not skip("ticket update", u, ticket.where, "updates", ticket.id))
        if len(updates) != len(ticket.updates):
            changed["updates"] = updates
        tickets.append(replace(ticket, **changed) if changed else ticket)
    credit_requests = [r for r in facts.credit_requests
                       if not skip("credit_request", r.requested_at, r.where, "requested_at",
                                   r.customer)]
    started: dict[str, bool] = {}

    def month_begun(request: CreditRequest) -> bool:
        if request.month not in started:
            assert tz is not None
            started[request.month] = timeutil.month_bounds(request.month, tz)[0] < as_of
        return started[request.month]

    claimable = begun if begun is not None else month_begun if tz is not None else None
    if claimable is not None:
        kept = []
        for request in credit_requests:
            if claimable(request):
                kept.append(request)
            else:
                cutoff.note(_NOT_BEGUN, request.where, "month", request.customer)
        credit_requests = kept
    update_requests = [r for r in facts.update_requests
                       if not skip("update_request", r.requested_at, r.where, "requested_at",
                                   r.id)]
    return _Known(downtimes, changes, notices, tickets, credit_requests, update_requests)


# -- subscription terms ------------------------------------------------------------------------
@dataclass
class _Terms:
    """One customer's subscriptions as epoch intervals in the policy's timezone.

    ``terms``: (start, end, subscription) with ``end`` the local midnight after
    ``term_end``, by start; ``saas``: the merged intervals of its SaaS terms; ``runs``:
    consecutive SaaS terms (each starting the day after the previous ends) of the same plan
    and deployment, merged, as (start, end) — a month inside one run is a full month of
    subscription even when a renewal starts in it.
    """

    terms: list[tuple[float, float, Subscription]]
    saas: list[intervals.Interval]
    runs: list[tuple[float, float, tuple[str, str]]]

    @classmethod
    def of(cls, subs: Sequence[Subscription], tz: str) -> _Terms:
        terms = [(timeutil.local_midnight(s.term_start, tz),
                  timeutil.local_midnight(s.term_end + dt.timedelta(days=1), tz), s)
                 for s in subs]
        saas = [(a, b) for a, b, s in terms if s.deployment == "saas"]
        runs: list[tuple[float, float, tuple[str, str]]] = []
        for a, b, s in terms:
            kind = (s.plan, s.deployment)
            if runs and runs[-1][1] == a and runs[-1][2] == kind:
                runs[-1] = (runs[-1][0], b, kind)
            else:
                runs.append((a, b, kind))
        return cls(terms, intervals.union(saas), runs)

    def at(self, epoch: float, saas: bool = False) -> Subscription | None:
        """The subscription whose term is in force at ``epoch`` (a SaaS one if ``saas``)."""
        for a, b, sub in self.terms:
            if a <= epoch < b and (not saas or sub.deployment == "saas"):
                return sub
        return None

    def overlaps(self, start: float, end: float) -> bool:
        """Whether a SaaS term is in force at some time of ``[start, end)``."""
        return any(a < end and start < b for a, b in self.saas)

    def governing(self, start: float, end: float) -> Subscription:
        """The SaaS subscription that speaks for ``[start, end)``: in force at ``start``,
        else the first to begin inside it, else the nearest before, else the first."""
        candidates = [(a, b, s) for a, b, s in self.terms if s.deployment == "saas"]
        for a, b, sub in candidates:
            if a <= start < b:
                return sub
        for a, _b, sub in candidates:
            if start <= a < end:
                return sub
        before = [sub for _a, b, sub in candidates if b <= start]
        return before[-1] if before else candidates[0][2]

    def run_of(self, sub: Subscription, tz: str) -> tuple[float, float]:
        """The run of consecutive terms ``sub`` belongs to, as (start, end) epochs."""
        start = timeutil.local_midnight(sub.term_start, tz)
        for a, b, _kind in self.runs:
            if a <= start < b:
                return a, b
        raise AssertionError("a SaaS term outside every run")  # pragma: no cover


@dataclass
class _Run:
    """State of one evaluation."""

    versions: VersionSet
    facts: FactSet
    as_of: float
    backend: Backend
    months: list[str] | None
    # months touched by every downtime of the whole input, when the caller knows them (a
    # shard holds only its customers' downtimes, yet reports every such month)
    downtime_months: Sequence[str] | None = None

    # what the facts hold after as-of is noted here; fleet-wide facts only when count_fleet
    cutoff: Cutoff = field(default_factory=Cutoff)
    count_fleet: bool = True

    def __post_init__(self) -> None:
        self.tz = self.versions.timezone
        self.findings: list[Finding] = []
        self.used: set[tuple[str, str]] = set()
        self.terms = {name: _Terms.of(subs, self.tz)
                      for name, subs in self.facts.subscriptions.items()}
        # customers with a SaaS subscription in some term: they get availability rows, and
        # notices of maintenance and changes are owed to them while such a term is in force
        self.saas = {name: terms for name, terms in self.terms.items() if terms.saas}
        # a subscription's offering and negotiated overrides are checked against the policy
        # before anything is evaluated (docs/policy-language.md, shape 6)
        for subs in self.facts.subscriptions.values():
            for sub in subs:
                if sub.offering is not None or sub.overrides:
                    try:
                        version = self.versions.on(sub.term_start)
                    except InputError:
                        continue  # no version then: nothing is evaluated under one
                    check_subscription(version, sub)
        self.known = known_at(self.facts, self.as_of, self.cutoff, fleet=self.count_fleet,
                              tz=self.tz, begun=self._claim_begun)
        # facts of types the policy declares (spec.fact_types) go to every stage whose
        # rules mention their type
        self.custom = [
            {**_scalars(c.fields), "type": c.type, "key": c.id or f"{c.type}#{n}"}
            for n, c in enumerate(self.facts.custom, start=1)
        ]
        self.custom_types = {c["type"] for c in self.custom}
        # ticket rows carry update_due/update_met, and at_risk, only when a version of the
        # policy uses periodic updates, or at-risk thresholds (docs/policy-language.md)
        policies = [values_of(v.policy) for v in self.versions.versions]
        self.show_updates = any(p.uses_updates for p in policies)
        self.show_at_risk = any(p.uses_at_risk for p in policies)
        regions = frozenset().union(*(p.regions for p in policies))
        if regions:
            self._check_regions(regions)
        # notices by (subject, addressee); a notice without a customer is for everyone
        self._notices: dict[tuple[str, str | None], list[Notice]] = defaultdict(list)
        for notice in self.known.notices:
            self._notices[(notice.about, notice.customer)].append(notice)

    def policy_for(self, version: CompiledPolicy, sub: Subscription | None,
                   epoch: float) -> CompiledPolicy:
        """``version`` resolved for a subscription's offering and the overrides in force on
        the local day of ``epoch`` (``version`` itself when the policy has no offerings and
        the subscription neither names one nor has overrides)."""
        return resolve(version, sub, lambda: timeutil.local_date(epoch, self.tz))

    def _period_of(self, customer: str, month: str, what: str) -> tuple[str, CompiledPolicy]:
        """The key of the measurement period holding ``month`` for a SaaS ``customer``, and
        the policy (resolved for the customer) in force on the month's first day, whose
        commitment gives the period's unit. ``what`` names the month in the error raised
        when no version covers it."""
        start, end = timeutil.month_bounds(month, self.tz)
        version = self.versions.at(start, what)
        version = self.policy_for(version, self.saas[customer].governing(start, end), start)
        values = values_of(version.policy)
        return period_of(month, values.period, values.year_starts), version

    def _allowance_period(self, version: CompiledPolicy, per: str, epoch: float) -> str:
        """The key of the allowance period (``per``: a calendar unit, or ``period``: the
        commitment's measurement period) holding the local month of ``epoch``."""
        month = timeutil.month_of(epoch, self.tz)
        if per == "period":
            values = values_of(version.policy)
            return period_of(month, values.period, values.year_starts)
        return period_of(month, per)

    def _claim_begun(self, request: CreditRequest) -> bool:
        """Whether the period a credit request's month is in has begun at as-of (its first
        instant is before as-of): only then is the period reported, so only then can the
        request be answered. For a monthly policy, whether the month has begun; for a
        quarterly one, a request naming November made in October claims the quarter that
        has begun (it is premature, not unknown)."""
        start = timeutil.month_bounds(request.month, self.tz)[0]
        if start < self.as_of:
            return True
        if request.customer not in self.saas:
            return False
        try:
            period, version = self._period_of(request.customer, request.month,
                                              f"credit request of {request.customer} for "
                                              f"{request.month}")
        except InputError:
            return False  # no version for that month yet: its period is not known
        year_start = values_of(version.policy).year_starts
        return period_bounds(period, self.tz, year_start)[0] < self.as_of

    def notices_for(self, subject: str, customer: str) -> list[Notice]:
        """Notices about ``subject`` that reached ``customer`` (addressed or broadcast)."""
        return self._notices.get((subject, None), []) + self._notices.get((subject, customer), [])

    def _exclusion_words(self, version: CompiledPolicy, down: Downtime, customer: str,
                         rank: int) -> str:
        """What could have excused a downtime window for ``customer``, in words (the
        window fact's ``exclusion_text``): scheduled maintenance and its best notice against
        the scheduled-maintenance clause, emergency maintenance and its rank in the month,
        or unplanned downtime and its cause."""
        if down.maintenance == "scheduled":
            clause = _clause_of(version, "scheduled_maintenance")
            if clause is None:
                return "scheduled maintenance, which this policy does not exclude"
            notice = clause.terms.get("notice") or {}
            return "scheduled maintenance: " + _notice_words(
                self.notices_for(down.id, customer), down.start, customer,
                str(notice.get("kind")), list(notice.get("channels") or ()),
                duration_seconds(str(notice.get("lead"))))
        if down.maintenance == "emergency":
            return (f"emergency maintenance, emergency window {rank} of its month" if rank
                    else "emergency maintenance")
        return f"unplanned downtime, cause '{down.cause}'"

    # -- running stages ------------------------------------------------------------------
    def stage(self, name: str, groups: FactGroups) -> StageResult:
        """Run a stage: per version, sessions of whole customers up to SESSION_FACTS facts."""
        merged = StageResult()
        # a decision that cannot stand is reported once every session has run: the least
        # (stage, subject, field), whatever the order of sessions, back-ends or workers
        errors: list[DecisionError] = []
        for version, per_customer in groups.items():
            compiled = version.stage(name)
            if not compiled.rules:
                continue
            batch: list[dict[str, Any]] = []
            for _customer, facts in sorted(per_customer.items()):
                if batch and len(batch) + len(facts) > SESSION_FACTS:
                    self._apply_all(compiled, batch, merged, errors)
                    batch = []
                batch.extend(facts)
            if batch:
                self._apply_all(compiled, batch, merged, errors)
        if errors:
            least = min(errors, key=lambda error: error.key)
            order = stages.STAGE_ORDER
            position = order.index(name) if name in order else len(order)
            raise DecisionError(str(least), (position, *least.key))
        return merged

    def _apply_all(self, compiled: Any, batch: list[dict[str, Any]], merged: StageResult,
                   errors: list[DecisionError]) -> None:
        try:
            self._apply(compiled, batch, merged)
        except DecisionError as error:
            errors.append(error)

    def _apply(self, compiled: Any, batch: list[dict[str, Any]], merged: StageResult) -> None:
        if self.custom_types & compiled.fact_types:
            batch = batch + self.custom
        result = apply_firings(compiled, self.backend.run(compiled, batch))
        for subject, decided in result.decisions.items():
            merged.decisions.setdefault(subject, {}).update(decided)
        merged.findings.extend(result.findings)
        self.findings.extend(result.findings)

    def use(self, version: CompiledPolicy) -> str:
        self.used.add((version.policy.name, version.policy.version))
        return version.policy.version

    # -- availability ----------------------------------------------------------------------
    def affected(self, down: Downtime) -> list[str]:
        """Customers with a SaaS subscription (in some term) that a downtime names or, with
        no ``customers``, every such customer."""
        if down.customers is None:
            return sorted(self.saas)
        return sorted({c for c in down.customers if c in self.saas})

    def availability(self, evaluation: Evaluation) -> None:
        tz = self.tz
        # window key -> (services, impact, record) of its downtime: what a period's measure
        # filters by service and weighs by impact
        self.affects: dict[str, tuple[tuple[str, ...] | None, str | None, Downtime]] = {}
        windows = _groups()
        out_of_term = _groups()  # windows of customers with no SaaS term in force then
        emergency_seen: dict[tuple[str, str], int] = defaultdict(int)
        # windows that start together: the longer first, then by cause, then id (by then
        # they are the same interval for the same cause: the order changes no minute)
        for down in sorted(self.known.downtimes,
                           key=lambda d: (d.start, d.start - d.end, d.cause, d.id)):
            assert down.end is not None  # known_at ends ongoing downtime at as-of
            if down.end <= down.start:
                continue  # zero length: warned about at load, it counts for nothing
            base = self.versions.at(down.start, f"downtime {down.id}")
            for customer in self.affected(down):
                key = f"{customer}/{down.id}"
                terms = self.saas[customer]
                in_term = terms.overlaps(down.start, down.end)
                rank = 0
                sub = terms.governing(down.start, down.end)
                version = self.policy_for(base, sub, down.start)
                if down.services is not None and not _touches(down, sub, version):
                    continue  # none of the customer's services was affected
                # (so a window that does not affect the customer uses none of its allowance)
                if down.maintenance == "emergency" and in_term:
                    month = timeutil.month_of(down.start, tz)
                    emergency_seen[(customer, month)] += 1
                    rank = emergency_seen[(customer, month)]
                if in_term:
                    self.affects[key] = (down.services, down.impact, down)
                window = {
                    **_scalars(down.extra),
                    "type": stages.WINDOW, "key": key, "customer": customer, "downtime": down.id,
                    "cause": down.cause, "maintenance": down.maintenance,
                    "start": down.start, "end": down.end, "duration": down.end - down.start,
                    "emergency_rank": rank, "plan": sub.plan, "deployment": sub.deployment,
                    "in_term": in_term,
                    "start_text": explain.instant(down.start, tz),
                    "end_text": explain.instant(down.end, tz),
                    "duration_text": explain.span(down.end - down.start),
                    "exclusion_text": self._exclusion_words(version, down, customer, rank),
                }
                if not in_term:  # nothing is charged: only the verdict stage says why
                    out_of_term[version][customer].append(
                        {**window, **_counted_words(window, 0, tz), "allowance_cut": 0.0})
                    continue
                session = windows[version][customer]
                session.append(window)
                required = _scheduled_lead(version)
                for notice in self.notices_for(down.id, customer):
                    lead = down.start - notice.sent_at
                    session.append({
                        "type": stages.WINDOW_NOTICE, "key": notice.id, "window": key,
                        "customer": customer, "kind": notice.kind, "channel": notice.channel,
                        "lead": lead,
                        "lead_text": (explain.lead_words(lead, required) if required is not None
                                      else f"{explain.span(lead)} ahead"),
                    })
        exclusions = self.stage(stages.WINDOW_EXCLUSIONS, windows)
        # write the exclusion decision onto each window, then decide what counts
        counted: dict[str, list[_Piece]] = defaultdict(list)
        excluded: dict[str, list[_Piece]] = defaultdict(list)
        verdict_input = _groups()
        # a scheduled-maintenance allowance across windows: (customer, allowance period)
        # -> seconds used so far; windows draw on it in the order they start
        allowance_used: dict[tuple[str, str], float] = defaultdict(float)
        decided = sorted(((fact["start"], fact["key"], version, customer, fact)
                          for version, per_customer in windows.items()
                          for customer, facts in per_customer.items()
                          for fact in facts if fact["type"] == stages.WINDOW),
                         key=lambda item: (item[0], item[1]))
        for _start, _key, version, customer, fact in decided:
            allowance_cut = 0.0
            if exclusions.get(fact["key"], "excused", False):
                excluded_up_to = fact["duration"]  # excused in full
            else:
                excluded_up_to = min(exclusions.get(fact["key"], "excluded_up_to", 0),
                                     fact["duration"])
                allowance = values_of(version.policy).maintenance_allowance
                if allowance is not None and fact["maintenance"] == "scheduled" \
                        and excluded_up_to > 0:
                    slot = (customer, self._allowance_period(version, allowance[1],
                                                             fact["start"]))
                    left = max(allowance[0] - allowance_used[slot], 0.0)
                    allowance_cut = max(excluded_up_to - left, 0.0)
                    excluded_up_to -= allowance_cut
                    allowance_used[slot] += excluded_up_to
            cut = fact["start"] + excluded_up_to
            services, impact, down = self.affects[fact["key"]]
            # a piece of no length is no piece: a window excluded whole has nothing counted
            # (it must not count as an outage a claim window runs from), one excluded not at
            # all has nothing excluded
            if cut > fact["start"]:
                excluded[customer].append((fact["start"], cut, services, impact, down))
            if fact["end"] > cut:
                counted[customer].append((cut, fact["end"], services, impact, down))
            verdict_input[version][customer].append(
                {**fact, **_counted_words(fact, excluded_up_to, tz),
                 "allowance_cut": allowance_cut}
            )
        for version, per_customer in out_of_term.items():
            for customer, facts in per_customer.items():
                verdict_input[version][customer].extend(facts)
        self.stage(stages.WINDOW_VERDICTS, verdict_input)

        months = set(self.months or ())
        if self.downtime_months is not None:
            months.update(self.downtime_months)
        else:
            months.update(downtime_months(self.facts.downtimes, tz, self.as_of))
        self.month_rows(sorted(months), counted, excluded, evaluation)

    def month_rows(
        self,
        months: list[str],
        counted: Mapping[str, list[_Piece]],
        excluded: Mapping[str, list[_Piece]],
        evaluation: Evaluation,
    ) -> None:
        """Rows and verdicts per customer and measurement period (and service).

        The period of a month is the unit of the commitment in force on the month's first
        day for the customer (a calendar month, quarter or year); a period is judged by the
        policy in force on its first day. With a ``scope``, downtime is filtered by the
        services it names: one row per subscribed service (``per_service``) or one for the
        subscribed services together (``across_services``). With ``impact_weights``, a
        minute counts at its downtime's weight (overlaps at the highest).
        """
        tz = self.tz
        requests: dict[tuple[str, str], list[float]] = defaultdict(list)
        for request in self.known.credit_requests:  # those made after as-of are not known
            requests[(request.customer, request.month)].append(request.requested_at)
        # a month a customer's request names is reported for that customer (it is answered
        # even when no downtime touched it); the other months for every SaaS customer
        every = set(months)
        asked = {(c, m) for c, m in requests if c in self.saas and m not in every}
        month_facts = _groups()
        measured: dict[str, dict[str, Any]] = {}
        asked_by: dict[str, set[str]] = defaultdict(set)
        first_asker: dict[str, str] = {}  # for the error naming a month no version covers
        for customer, month in sorted(asked):
            asked_by[customer].add(month)
            first_asker.setdefault(month, customer)
        bounds = {month: timeutil.month_bounds(month, tz) for month in every | set(first_asker)}

        def label(month: str, customer: str) -> str:
            return (f"month {month}" if month in every
                    else f"credit request of {customer} for {month}")

        # a begun month no version covers is refused, customers or not
        for month in sorted(bounds):
            if bounds[month][0] < self.as_of:
                self.versions.at(bounds[month][0], label(month, first_asker.get(month, "")))
        for customer in sorted(self.saas):
            terms = self.saas[customer]
            done: set[str] = set()
            mine = sorted(every | asked_by[customer]) if customer in asked_by else months
            for month in mine:
                month_start, month_end = bounds[month]
                if month_start >= self.as_of and month in every:
                    continue  # not begun at as-of: not reported
                # (a requested month not begun is here only when its period has begun:
                # known_at kept its request, see _claim_begun)
                period, version = self._period_of(customer, month, label(month, customer))
                if period in done:
                    continue
                done.add(period)
                if period == month:
                    start, end = month_start, month_end
                else:  # judged by the policy in force on the period's first day
                    start, end = period_bounds(period, tz, values_of(version.policy).year_starts)
                    version = self.versions.at(start, f"period {period}")
                    version = self.policy_for(version, terms.governing(start, end), start)
                self._period(customer, period, start, end, version, counted, excluded,
                             requests, month_facts, measured)
        verdicts = self.stage(stages.MONTHS, month_facts)
        credit_facts = _groups()
        for key, m in measured.items():
            version, fact = m["version"], m["fact"]
            covered = bool(verdicts.get(key, "covered", False))
            met = verdicts.get(key, "met") if covered and fact["complete"] else None
            target = values_of(version.policy).availability_target
            evaluation.availability.append(AvailabilityRow(
                customer=fact["customer"], month=fact["month"], covered=covered,
                minutes_in_month=_minutes(m["month_s"]),
                downtime_minutes=_minutes(m["down_s"]),
                excluded_minutes=_minutes(m["down_s"] - m["counted_s"]),
                counted_downtime_minutes=_minutes(m["counted_s"]),
                availability_percent=percent_shown(m["exact"], target,
                                                   _tier_bounds(version)),
                target_percent=_number(target) if target is not None else None,
                met=met,
                provisional=not fact["complete"],
                policy_version=self.use(version),
                period=m["period"], service=fact.get("service", ABSENT),
            ))
            if met is not None:
                session = credit_facts[version][fact["customer"]]
                judged = {**fact, "covered": covered, "met": met}
                session.append(judged)
                if met is False:
                    tiers = _tier_facts(version, key, fact["customer"], fact["availability"])
                    for tier in tiers:
                        tier["credit_text"] = _credit_words(version, m, tier["tier"])
                    if not tiers and values_of(version.policy).credit is not None:
                        judged["credit_text"] = _credit_words(version, m, None)
                    session.extend(tiers)
                m["met"] = met if covered else None
        credits = self.stage(stages.CREDITS, credit_facts)
        owed: list[_Owed] = []
        for key, m in measured.items():
            form = credits.get(key, "form")
            if form is None:
                continue
            version, sub, fact = m["version"], m["sub"], m["fact"]
            values = values_of(version.policy)
            tier = credits.get(key, "tier")
            _check_credit_decision(version, values.credit, key, form, tier)
            status = credits.get(key, "status")
            if status is None:  # no claim-window clause: the credit is owed, no request
                status = "payable"
            period = _period_key(fact)
            figure = values.credit_for(sub, CreditMeasure(
                tier=tier, period=period,
                period_months=_period_months(period), period_seconds=m["month_s"],
                counted_seconds=m["counted_s"], share=m["share"]))
            owed.append(_Owed(key, m, form, status, figure))
        self.apply_caps(owed)
        for item in owed:
            version, fact, figure = item.m["version"], item.m["fact"], item.figure
            common = dict(
                customer=fact["customer"], month=fact["month"],
                amount=str(item.amount), currency=figure.unit, form=item.form,
                claim_deadline=(None if item.m["deadline"] is None else
                                (timeutil.local_date(item.m["deadline"], self.tz)
                                 - dt.timedelta(days=1)).isoformat()),
                requested_at=(timeutil.iso(fact["requested_at"], self.tz)
                              if "requested_at" in fact else None),
                status=item.status,
                policy_version=version.policy.version,
                period=item.m["period"], service=fact.get("service", ABSENT),
            )
            if not values_of(version.policy).credit_details:
                evaluation.credits.append(CreditRow(**common))
                continue
            cut = figure.amount - item.amount
            evaluation.credits.append(CreditRow(
                **common, basis=figure.basis, tier=figure.tier,
                uncapped_amount=str(figure.amount), capped_by=item.capped_by,
                cap_reduction=str(cut) if item.capped_by is not None else None,
            ))
        if evaluation.remedies is not None:
            self.remedies(measured, evaluation)

    # -- caps and remedies: periods in order, per customer ----------------------------------
    def apply_caps(self, owed: list[_Owed]) -> None:
        """Cut credits by the policy's caps, period by period in order (a rolling cap's room
        is what the credits granted before leave). Python measures the room; a rule of
        stage ``credit-caps`` decides each cut. A forfeited (expired) credit uses no room."""
        if not any(values_of(i.m["version"].policy).credit_caps for i in owed):
            return
        granted: dict[str, list[tuple[float, Decimal]]] = defaultdict(list)
        by_start: dict[float, list[_Owed]] = defaultdict(list)
        for item in owed:
            by_start[item.m["fact"]["month_start"]].append(item)
        for start in sorted(by_start):
            facts = _groups()
            rooms: dict[str, list[tuple[int, Decimal, str]]] = defaultdict(list)
            for item in by_start[start]:
                version, sub, fact = item.m["version"], item.m["sub"], item.m["fact"]
                values = values_of(version.policy)
                assert values.credit is not None
                places = int(values.credit.terms.get("decimal_places", 2))
                customer = fact["customer"]
                since = _year_before(fact["month_end"], self.tz)
                for order, cap in enumerate(values.credit_caps):
                    kind = registry.kind_of(cap.kind)
                    limit = kind.limit(cap, sub, _period_months(_period_key(fact)),  # type: ignore[attr-defined]
                                       places, item.m["share"])
                    per = cap.term("per")
                    used = (sum((amount for at, amount in granted[customer]
                                 if since <= at < start), Decimal(0))
                            if per == "rolling_12_months" else Decimal(0))
                    room = max(limit - used, Decimal(0))
                    cap_key = f"{item.key}/{per}"
                    rooms[item.key].append((order, room, cap.id))
                    facts[version][customer].append({
                        "type": stages.CREDIT_CAP, "key": cap_key, "credit": item.key,
                        "customer": customer, "per": per,
                        "amount": _number(item.figure.amount), "limit": _number(limit),
                        "room": _number(room), "amount_text": str(item.figure.amount),
                        "limit_text": str(limit), "room_text": str(room),
                        "unit": item.figure.unit,
                        "cap_text": (f"cap per {fact['period_unit']}" if per != "rolling_12_months"
                                     else "rolling 12-month cap")
                        + f" of {limit} {item.figure.unit}"
                        + (f" ({used} of it used by earlier credits)" if used else ""),
                        "cut_text": str(max(item.figure.amount - room, Decimal(0))),
                    })
            decided = self.stage(stages.CREDIT_CAPS, facts)
            for item in by_start[start]:
                per_of = {cap.id: cap.term("per")
                          for cap in values_of(item.m["version"].policy).credit_caps}
                cutting = [(room, order, cap_id) for order, room, cap_id in rooms[item.key]
                           if decided.get(f"{item.key}/{per_of[cap_id]}", "capped")]
                if cutting:
                    room, _order, cap_id = min(cutting)
                    item.amount, item.capped_by = min(room, item.figure.amount), cap_id
                if item.status != "expired":
                    granted[item.m["fact"]["customer"]].append((start, item.amount))

    def remedies(self, measured: Mapping[str, dict[str, Any]], evaluation: Evaluation) -> None:
        """Chronic failure: for each customer period that missed its commitment, the missed
        periods in a row ending with it and those of the 12 months ending with it (Python
        measures); the rules of stage ``remedies`` grant the remedies, one row each."""
        assert evaluation.remedies is not None
        missed: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for m in measured.values():
            if m.get("met") is False:
                missed[m["fact"]["customer"]].append(m)
        facts = _groups()
        periods: dict[str, dict[str, Any]] = {}
        for customer, ms in missed.items():
            ms.sort(key=lambda m: m["fact"]["month_start"])
            run: list[str] = []
            previous_end: float | None = None
            for index, m in enumerate(ms):
                fact = m["fact"]
                period = _period_key(fact)
                run = [*run, period] if previous_end == fact["month_start"] else [period]
                previous_end = fact["month_end"]
                since = _year_before(fact["month_end"], self.tz)
                within = sum(1 for other in ms[:index + 1]
                             if other["fact"]["month_start"] >= since)
                key = f"{customer}/{period}"
                periods[key] = m
                facts[m["version"]][customer].append({
                    "type": stages.MISSED_PERIOD, "key": key, "customer": customer,
                    "period": period, "consecutive_missed": len(run),
                    "missed_in_12_months": within, "run": ", ".join(run),
                    "period_unit": fact["period_unit"],
                    "year_text": (f"{explain.day(since, self.tz)} to "
                                  f"{_last_day(fact['month_end'], self.tz)}"),
                })
        decided = self.stage(stages.REMEDIES, facts)
        reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
        for finding in decided.findings:
            if finding.outcome == "remedy" and finding.subject in periods:
                reasons[(finding.subject, finding.clause)].append(finding.message)
        for (subject, clause_id), messages in sorted(reasons.items()):
            m = periods[subject]
            version = m["version"]
            clause = next(c for c in values_of(version.policy).chronic if c.id == clause_id)
            exercise_by = None
            if clause.has_term("exercise_within"):
                days = int(str(clause.term("exercise_within"))[:-1])
                end_day = timeutil.local_date(m["fact"]["month_end"], self.tz)
                exercise_by = (end_day + dt.timedelta(days=days - 1)).isoformat()
            evaluation.remedies.append(RemedyRow(
                customer=m["fact"]["customer"], period=_period_key(m["fact"]), clause=clause_id,
                remedy=str(clause.term("remedy")), reason="; ".join(sorted(messages)),
                exercise_by=exercise_by, policy_version=self.use(version),
            ))

    def _period(
        self, customer: str, period: str, start: float, end: float, version: CompiledPolicy,
        counted: Mapping[str, list[_Piece]], excluded: Mapping[str, list[_Piece]],
        requests: Mapping[tuple[str, str], list[float]], month_facts: FactGroups,
        measured: dict[str, dict[str, Any]],
    ) -> None:
        """The ``customer_month`` facts of one customer and period: one, or one per service."""
        tz = self.tz
        terms = self.saas[customer]
        values = values_of(version.policy)
        complete = end <= self.as_of  # else provisional: measured so far, no verdict
        so_far = end if complete else self.as_of
        window = values.claim_window
        sub = terms.governing(start, end)
        run_start, run_end = terms.run_of(sub, tz)
        # a request names a month; it claims the period that month is in
        first = first_month(period, values.year_starts)
        made: list[float] = []
        month = first
        for _ in range(months_in(period)):
            made += requests.get((customer, month), ())
            month = timeutil.next_month(month)
        # a period the term starts or ends in: with part periods (full_months_only: false)
        # only its part inside the term is measured, and a pro-rated credit is on the share
        # of the period's days in the term; else the whole period (the rules then find a
        # part period not covered)
        low, high = start, end
        share = Decimal(1)
        if values.part_periods and (run_start > start or run_end < end):
            low, high = max(start, run_start), min(end, run_end)
            if low < high and values.part_period_fee == "pro_rated":
                share = Decimal((timeutil.local_date(high, tz)
                                 - timeutil.local_date(low, tz)).days) / Decimal(
                    (timeutil.local_date(end, tz) - timeutil.local_date(start, tz)).days)
            elif low >= high:  # the governing run misses the period: measure it whole
                low, high = start, end
        # downtime is charged only while a SaaS term is in force
        in_force = intervals.clip(terms.saas, low, high)
        weights = values.impact_weights
        shown = period if period != first else ABSENT  # a month: the row's month says it
        words = {
            "period_unit": explain.PERIOD_WORDS.get(values.period, "period"),
            "term_text": f"{explain.day(run_start, tz)} to {_last_day(run_end, tz)}",
            "period_end_text": explain.instant(end, tz),
            "as_of_text": explain.instant(self.as_of, tz),
        }
        for service, services in self._scopes(values, sub):
            # a service with terms of its own (per_service) is judged by the policy
            # resolved for it: its target, its credit
            judged = version if service is None else for_service(version, service)
            target = values_of(judged.policy).availability_target
            counted_s, down_s = _measure(counted.get(customer, ()), excluded.get(customer, ()),
                                         in_force, services, weights, sub,
                                         values.weigh_affected_share)
            claim = _claim(window, values.period, start, end, tz,
                           _outages(counted.get(customer, ()), in_force, services, weights,
                                    start, so_far))
            valid = [at for at in made if at >= claim.opens]
            early = [at for at in made if at < claim.opens]
            elapsed_s = min(so_far, high) - low
            # (a part period whose part has not begun at as-of has nothing measured yet)
            exact = Decimal(100) if elapsed_s <= 0 else (
                Decimal(repr(elapsed_s)) - Decimal(repr(counted_s))) * 100 / Decimal(
                repr(elapsed_s))
            key = f"{customer}/{period}" + (f"/{service}" if service is not None else "")
            fact = {
                "type": stages.CUSTOMER_MONTH, "key": key, "customer": customer,
                "month": first, "period": period,
                "plan": sub.plan, "deployment": sub.deployment,
                "month_start": start, "month_end": end,
                "measured_start": low, "measured_end": high,
                "term_start": run_start, "term_end": run_end,
                "in_term": terms.overlaps(start, end), "complete": complete,
                # floor to 1e-9 so a period just under the target never rounds up to it
                "availability": float(exact.quantize(Decimal("1e-9"), ROUND_FLOOR)),
                "availability_percent": percent_shown(exact, target, _tier_bounds(judged)),
                "renewed": sub.renewed,
                "requested": bool(valid),
                "claim_deadline": claim.fact_deadline,
                "as_of": self.as_of,
                **words,
                **_budget_words(elapsed_s, counted_s, target),
                **_form_words(judged),
            }
            if claim.deadline is not None:
                fact["claim_last_day"] = _last_day(claim.deadline, tz)
            fact["claim_close_text"] = ("never closes" if claim.deadline is None else
                                        f"closes at the end of {fact['claim_last_day']}")
            if claim.words is not None:
                fact["claim_window_words"] = claim.words
                fact["claim_opens_words"] = claim.opens_words
            if service is not None:
                fact["service"] = service
            if valid:
                fact["requested_at"] = min(valid)
                fact["requested_text"] = explain.instant(min(valid), tz)
            if early:
                fact["early_request_at"] = min(early)
                fact["early_request_text"] = explain.instant(min(early), tz)
            month_facts[judged][customer].append(fact)
            measured[key] = {
                "version": judged, "sub": sub, "fact": fact, "exact": exact,
                "month_s": high - low, "down_s": down_s, "counted_s": counted_s,
                "deadline": claim.deadline, "period": shown, "share": share,
            }

    def _scopes(self, values: Any,
                sub: Subscription) -> list[tuple[str | None, frozenset[str] | None]]:
        """``(row's service, services whose downtime counts)`` for each row of a period:
        ``[(None, None)]`` without a scope (every downtime counts)."""
        if values.scope is None:
            return [(None, None)]
        offered = values.services
        services = sub.services if sub.services is not None else offered
        if not services:
            raise InputError.single(
                sub.where.file, f"subscription of {sub.customer} lists no services and the "
                "availability commitment names none, but it is measured "
                f"{values.scope.replace('_', ' ')}: list the services the subscription includes",
                line=sub.where.line, column=sub.where.column, subject=sub.customer,
                path=sub.where.path("services"), code="fact")
        unknown = [s for s in services if offered and s not in offered]
        if unknown:
            raise InputError.single(
                sub.where.file, f"service {unknown[0]!r} of {sub.customer} is not one the "
                f"availability commitment covers ({', '.join(offered)})",
                line=sub.where.line, column=sub.where.column, subject=sub.customer,
                path=sub.where.path("services"), code="fact")
        if values.scope == "per_service":
            return [(s, frozenset((s,))) for s in sorted(services)]
        return [(None, frozenset(services))]

    # -- tickets -----------------------------------------------------------------------------
    def tickets(self, evaluation: Evaluation) -> None:
        """Severity, due instants and verdicts, in chunks of whole customers.

        Each chunk's engine facts and decisions are dropped once its rows are made, so
        memory for this part grows with the chunk, not with the number of tickets.
        """
        by_customer: dict[str, list[Ticket]] = defaultdict(list)
        for ticket in self.known.tickets:
            by_customer[ticket.customer].append(ticket)
        chunk: list[Ticket] = []
        for customer in sorted(by_customer):
            chunk.extend(by_customer[customer])
            if len(chunk) >= SESSION_FACTS:
                self._ticket_chunk(chunk, evaluation)
                chunk = []
        if chunk:
            self._ticket_chunk(chunk, evaluation)

    def _check_regions(self, regions: frozenset[str]) -> None:
        """Every subscription's ``support_region`` is one the policy's regional calendars
        name (InputError at the first that is not)."""
        for subs in self.facts.subscriptions.values():
            for sub in subs:
                if sub.support_region is not None and sub.support_region not in regions:
                    self._region_error(sub, "the policy's regional calendars name no region "
                                            f"{sub.support_region!r} (regions: "
                                            f"{', '.join(sorted(regions))})")

    @staticmethod
    def _region_error(sub: Subscription, message: str) -> None:
        raise InputError.single(sub.where.file, message, line=sub.where.line,
                                column=sub.where.column, subject=sub.customer,
                                path=sub.where.path("support_region"), code="fact")

    def _ticket_chunk(self, tickets: list[Ticket], evaluation: Evaluation) -> None:
        first = _groups()
        version_of: dict[str, CompiledPolicy] = {}
        in_term: dict[str, bool] = {}
        sub_of: dict[str, Subscription | None] = {}
        for ticket in tickets:
            version = self.versions.at(ticket.opened_at, f"ticket {ticket.id}")
            sub = self.terms[ticket.customer].at(ticket.opened_at)
            sub_of[ticket.id] = sub
            version = self.policy_for(version, sub, ticket.opened_at)
            version_of[ticket.id] = version
            in_term[ticket.id] = sub is not None
            values = values_of(version.policy)
            if ticket.severity is not None and ticket.severity not in values.severities:
                _undefined_severity(ticket, ticket.severity, version)
            fact: dict[str, Any] = {
                **_scalars(ticket.extra),
                "type": stages.TICKET, "key": ticket.id, "customer": ticket.customer,
                "assigned": ticket.severity is not None,
                "assignment_clause": values.severity_assignment is not None,
                "has_impact": ticket.impact is not None,
                "in_term": sub is not None,
            }
            if sub is not None:  # the subscription in force when the ticket was opened
                fact["license"] = sub.license
                fact["support"] = sub.support
            if ticket.severity is not None:
                fact["assigned_severity"] = ticket.severity
            fact.update(ticket.impact or dict.fromkeys(IMPACT_FLAGS, False))
            fact["impact_text"] = _impact_words(ticket.impact)
            first[version][ticket.customer].append(fact)
        severities = self.stage(stages.TICKET_SEVERITY, first)
        del first
        second = _groups()
        dues: dict[str, tuple[float | None, float | None, float | None]] = {}
        for ticket in tickets:
            version = version_of[ticket.id]
            level = severities.get(ticket.id, "severity")
            fact = {
                **_scalars(ticket.extra),
                "type": stages.TICKET, "key": ticket.id, "customer": ticket.customer,
                "as_of": self.as_of, "has_impact": ticket.impact is not None,
                "responded": ticket.first_response_at is not None,
                "resolved": ticket.resolved_at is not None,
                "in_term": in_term[ticket.id],
                # targets apply while a term is in force, unless a rule withdrew them
                "targets": in_term[ticket.id] and severities.get(ticket.id, "targets") is not False,
            }
            clocks: dict[str, float | None] = {}
            clause = severity_clause(version, level)
            if level is not None and clause is None:
                _undefined_severity(ticket, level, version)
            if clause is not None:
                fact["severity"] = level
                fact["severity_source"] = severities.get(ticket.id, "severity_source")
                impact_level = severities.get(ticket.id, "impact_severity")
                if impact_level is not None:
                    fact["impact_severity"] = impact_level
                if fact["targets"]:
                    sub = sub_of[ticket.id]
                    try:
                        clocks = self.clocks(version, clause, ticket,
                                             sub.support_region if sub is not None else None)
                    except UnknownRegion as error:
                        assert sub is not None  # a ticket with targets is in a term
                        self._region_error(sub, f"{error} (ticket {ticket.id})")
            for name, value in (*clocks.items(),
                                ("first_response_at", ticket.first_response_at),
                                ("resolved_at", ticket.resolved_at)):
                if value is not None:
                    fact[name] = value
            fact.update(_ticket_words(fact, ticket, self.tz))
            dues[ticket.id] = (clocks.get("response_due"), clocks.get("resolution_due"),
                               clocks.get("update_due"))
            second[version][ticket.customer].append(fact)
        verdicts = self.stage(stages.TICKET_CLOCKS, second)
        del second
        tz = self.tz
        for ticket in tickets:
            response_due, resolution_due, update_due = dues[ticket.id]
            extra: dict[str, Any] = {}
            if self.show_updates:
                extra["update_due"] = (timeutil.iso(update_due, tz)
                                       if update_due is not None else None)
                extra["update_met"] = verdicts.get(ticket.id, "update_met")
            if self.show_at_risk:
                extra["at_risk"] = bool(verdicts.get(ticket.id, "at_risk", False))
            evaluation.tickets.append(TicketRow(
                id=ticket.id, customer=ticket.customer,
                severity=severities.get(ticket.id, "severity"),
                severity_source=severities.get(ticket.id, "severity_source"),
                response_due=timeutil.iso(response_due, tz) if response_due is not None else None,
                response_met=verdicts.get(ticket.id, "response_met"),
                resolution_due=(timeutil.iso(resolution_due, tz)
                                if resolution_due is not None else None),
                resolution_met=verdicts.get(ticket.id, "resolution_met"),
                **extra,
                policy_version=self.use(version_of[ticket.id]),
            ))

    def clocks(self, version: CompiledPolicy, clause: Any, ticket: Ticket,
               region: str | None) -> dict[str, float | None]:
        """A ticket's due and at-risk instants under its severity clause, epoch seconds.

        ``response_due``/``resolution_due`` run from ``opened_at``; ``update_due`` is the
        first periodic update that no update met: the chain starts at the first response,
        and each update at or before its due instant restarts it (updates after the
        resolution, or at or before the previous link, count for nothing). None where a
        target is absent, and ``update_due`` before a first response (or when the
        resolution came first: it answers the ticket). ``*_at_risk``: when the same clock
        passes the target's at-risk threshold (present only when the policy has one).
        Raises :class:`UnknownRegion` for a region a regional calendar does not name, and
        InputError (a located fact error) for an instant past the last year a calendar
        indexes.
        """
        policy = version.policy
        terms = clause.terms
        out: dict[str, float | None] = {}
        for name in ("response", "resolution"):
            target = terms.get(name)
            if not target:
                out[f"{name}_due"] = None
                continue
            pauses = _pauses(ticket, target.get("pause_on") or (), self.as_of)
            with _placing(ticket, target, "opened_at"):
                out[f"{name}_due"] = due(policy, target, ticket.opened_at, pauses, region)
                if self.show_at_risk:
                    out[f"{name}_at_risk"] = at_risk(policy, target, ticket.opened_at, pauses,
                                                     region)
        update = terms.get("update")
        responded = ticket.first_response_at
        if update and responded is not None and (ticket.resolved_at is None
                                                 or ticket.resolved_at >= responded):
            pauses = _pauses(ticket, update.get("pause_on") or (), self.as_of)
            ticking = clock(policy, update, region)
            seconds = duration_seconds(update["target"])
            last = responded
            with _placing(ticket, update, "first_response_at"):
                for at in ticket.updates:
                    if at <= last:
                        continue
                    if ticket.resolved_at is not None and at > ticket.resolved_at:
                        break
                    if at > ticking.add(last, seconds, pauses):
                        break  # late: the chain stops at the first missed update
                    last = at
            with _placing(ticket, update, "first_response_at" if last == responded
                          else "updates"):
                out["update_due"] = ticking.add(last, seconds, pauses)
                if self.show_at_risk:
                    out["update_at_risk"] = at_risk(policy, update, last, pauses, region)
        return out

    # -- notice obligations --------------------------------------------------------------------
    def obligations(self, evaluation: Evaluation) -> None:
        """Notice obligations per subject (a scheduled window, a change) and customer.

        A scheduled window naming ``services`` is owed, as its downtime counts, only to the
        customers it affects: under a policy with a ``scope``, one that has none of those
        services (at the window's start) is owed no notice (docs/policy-language.md, 5).
        """
        subjects: list[tuple[str, str, float, list[str], Downtime | None]] = []
        for down in self.known.downtimes:
            if down.maintenance == "scheduled":
                subjects.append((down.id, _SUBJECT_KINDS["scheduled"], down.start,
                                 self.affected(down), down))
        for change in self.known.changes:
            subjects.append((change.id, _SUBJECT_KINDS[change.kind], change.deployed_at,
                             sorted(self.saas), None))
        facts = _groups()
        owed: list[tuple[CompiledPolicy, str, str, str, str, float]] = []
        for subject, kind, at, customers, down in subjects:
            base = self.versions.at(at, f"{subject}")
            for customer in customers:
                sub = self.saas[customer].at(at, saas=True)
                version = self.policy_for(base, sub, at)
                if (down is not None and down.services is not None and sub is not None
                        and not _touches(down, sub, version)):
                    continue  # a window naming none of the customer's services: nothing owed
                key = f"{customer}/{subject}"
                session = facts[version][customer]
                # owed only while a SaaS term of the customer is in force
                session.append({"type": stages.NOTICE_SUBJECT, "key": key, "subject": subject,
                                "customer": customer, "kind": kind, "at": at,
                                "in_term": self.saas[customer].at(at, saas=True) is not None,
                                "at_text": explain.instant(at, self.tz)})
                owing = values_of(version.policy).obligations.get(kind)
                required = (duration_seconds(str(owing.term("lead")))
                            if owing is not None and owing.has_term("lead") else None)
                for notice in self.notices_for(subject, customer):
                    lead = at - notice.sent_at
                    session.append({"type": stages.SUBJECT_NOTICE, "key": notice.id,
                                    "subject": subject, "customer": customer,
                                    "kind": notice.kind, "channel": notice.channel,
                                    "lead": lead,
                                    "lead_text": (explain.lead_words(lead, required)
                                                  if required is not None
                                                  else f"{explain.span(lead)} ahead")})
                owed.append((version, key, subject, customer, kind, at))
        decided = self.stage(stages.OBLIGATIONS, facts)
        verdict_facts = _groups()
        for version, key, subject, customer, kind, at in owed:
            if not decided.get(key, "owed"):
                continue
            clause = values_of(version.policy).obligations[kind]
            lead = decided.get(key, "lead")
            met = bool(decided.get(key, "met"))
            evaluation.obligations.append(ObligationRow(
                obligation=clause.id, subject=subject, customer=customer,
                required_lead_hours=_number(Decimal(duration_seconds(clause.term("lead"))) / 3600),
                lead_hours=(_number((Decimal(repr(lead)) / 3600).quantize(Decimal("0.0001")))
                            if lead is not None else None),
                met=met, strength=clause.term("strength"),
                policy_version=self.use(version),
            ))
            verdict_facts[version][customer].append(
                {"type": stages.NOTICE_SUBJECT, "key": key, "subject": subject,
                 "customer": customer, "kind": kind, "met": met,
                 "at_text": explain.instant(at, self.tz),
                 "notice_text": _notice_words(
                     self.notices_for(subject, customer), at, customer,
                     str(clause.term("notice_kind")), list(clause.term("channels")),
                     duration_seconds(str(clause.term("lead"))))}
            )
        self.stage(stages.OBLIGATION_VERDICTS, verdict_facts)

    # -- entitlements ----------------------------------------------------------------------------
    def entitlements(self, evaluation: Evaluation) -> None:
        facts = _groups()
        version_of: dict[str, CompiledPolicy] = {}
        for request in self.known.update_requests:
            version = self.versions.at(request.requested_at, f"update request {request.id}")
            fact: dict[str, Any] = {
                **_scalars(request.extra),
                "type": stages.UPDATE_REQUEST, "key": request.id, "customer": request.customer,
            }
            # the subscription in force at the request decides; none: nothing is owed
            sub = self.terms[request.customer].at(request.requested_at)
            version = self.policy_for(version, sub, request.requested_at)
            version_of[request.id] = version
            fact["in_term"] = sub is not None
            if sub is not None:
                fact["license"] = sub.license
                fact["support"] = sub.support
            facts[version][request.customer].append(fact)
        decided = self.stage(stages.ENTITLEMENTS, facts)
        findings_of: dict[str, list[Finding]] = defaultdict(list)
        for finding in decided.findings:
            findings_of[finding.subject].append(finding)
        for request in self.known.update_requests:
            entitled = bool(decided.get(request.id, "entitled"))
            stage = version_of[request.id].stage(stages.ENTITLEMENTS)
            # the reason is the first (sorted) finding whose rule decided this very value
            reason = "no entitlement clause covers this licence"
            for finding in sorted(findings_of[request.id]):
                rule = stage.rule(f"{finding.rule}@{finding.clause}")
                if any(e.field == "entitled" and e.value == entitled for e in rule.sets):
                    reason = f"{finding.clause}: {finding.message}"
                    break
            evaluation.entitlements.append(EntitlementRow(
                id=request.id, customer=request.customer, entitled=entitled,
                reason=reason, policy_version=self.use(version_of[request.id]),
            ))


def downtime_months(downtimes: Sequence[Downtime], tz: str, as_of: float) -> set[str]:
    """Every month (``YYYY-MM`` in ``tz``) that a downtime record touches by ``as_of``.

    A record starting after as-of touches nothing; one still going on (no ``end``, or an
    ``end`` after as-of) touches the months up to as-of.
    """
    months: set[str] = set()
    for down in downtimes:
        if down.start > as_of:
            continue
        end = as_of if down.end is None else min(down.end, as_of)
        months.update(timeutil.months_touched(down.start, end, tz))
    return months


def percent_shown(exact: Decimal, target: Decimal | float | None,
                  bounds: Sequence[Decimal | float] = ()) -> int | float:
    """A percentage as rows and messages show it: 4 decimals (half-even), except that a
    value below ``target`` (or below one of ``bounds``: the ``below`` and ``at_least`` of
    each band of a tiered credit) never shows as that threshold or above it: then it is
    floored, to as many decimals as the most precise threshold has (at least 4, at most
    20), so it undercuts no threshold it is at or above either. 98.99996 under 99 shows
    98.9999, not 99 (a finding would say "99% falls in tier 2, below 99%"). A value at or
    above the target never rounds below it (the target has no more decimals).
    """
    shown = exact.quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
    goals = [Decimal(str(t)) for t in (target, *bounds) if t is not None]
    if any(exact < goal <= shown for goal in goals):
        places = min(20, max(4, *(-min(0, int(goal.normalize().as_tuple().exponent))
                                  for goal in goals)))
        with localcontext() as context:
            context.prec = 50  # 3 digits before the point and 20 after always fit
            shown = exact.quantize(Decimal(1).scaleb(-places), ROUND_FLOOR)
    return _number(shown)


# the claim deadline the rules see for a window with no deadline: never reached
_NO_DEADLINE = 253402300799.0  # 9999-12-31T23:59:59Z


@dataclass(frozen=True)
class _Claim:
    """How one customer period (or service of it) may be claimed.

    ``opens``: a request made at or after it counts (before it: premature); ``deadline``:
    the instant the window closes (local midnight after its last day), None for no deadline
    (no claim window, or ``window: unlimited``); ``fact_deadline``: what the rules compare
    (the period's end without a window, as always; never reached for ``unlimited``);
    ``words``/``opens_words``: the window in words for the rules of windows that are not
    days after the period's end (None for those, and without a window).
    """

    opens: float
    deadline: float | None
    fact_deadline: float
    words: str | None = None
    opens_words: str | None = None


def _claim(window: Any, period: str, start: float, end: float, tz: str,
           outages: tuple[float, float] | None) -> _Claim:
    """The claim window of a period ``[start, end)`` under a ``claim_window`` clause (None:
    credits are owed without a request). ``outages``: (start of the first, end of the last)
    counted outage in it, for a window ``from: incident``; a period without one counts from
    its end. Days are local dates in ``tz`` (docs/policy-language.md, "Claim windows")."""
    if window is None:
        return _Claim(opens=end, deadline=None, fact_deadline=end)
    terms = window.terms
    incident = terms.get("from") == "incident" and outages is not None
    opens, until = (outages if incident else (end, end))  # type: ignore[misc]
    last_day = timeutil.local_date(until, tz)
    if timeutil.local_midnight(last_day, tz) == until:
        last_day -= dt.timedelta(days=1)  # ended at midnight: the day before was the last
    in_time = claim_last_day(terms, last_day)
    deadline = (None if in_time is None
                else timeutil.local_midnight(in_time + dt.timedelta(days=1), tz))
    plain = (terms.get("from", "period_end") == "period_end"
             and isinstance(terms.get("window"), str) and in_time is not None)
    if plain:
        return _Claim(opens=opens, deadline=deadline, fact_deadline=deadline)  # type: ignore[arg-type]
    with reading_period(period):
        words = window_words(terms)
        noun = period_words().noun
    opens_words = (f"the first counted outage of the {noun} began"
                   if terms.get("from") == "incident" else f"the end of the {noun}")
    return _Claim(opens=opens, deadline=deadline,
                  fact_deadline=_NO_DEADLINE if deadline is None else deadline,
                  words=words, opens_words=opens_words)


def _outages(counted: Sequence[_Piece], in_force: Sequence[intervals.Interval],
             services: frozenset[str] | None, weights: Mapping[str, Any],
             start: float, end: float) -> tuple[float, float] | None:
    """(start of the first, end of the last) downtime record with a counted piece in
    ``[start, end)`` while a term is in force, for the services measured (a piece whose
    impact weighs 0 counts nothing and is no outage); None without one. The records' own
    instants: an outage that runs on past the period ends when it ends."""
    found: list[Downtime] = []
    for piece_start, piece_end, named, impact, down in counted:
        if services is not None and named is not None and services.isdisjoint(named):
            continue
        if weights and impact is not None and not float(weights.get(impact, 1)):
            continue
        if any(intervals.clip([(piece_start, piece_end)], max(a, start), min(b, end))
               for a, b in in_force):
            found.append(down)
    if not found:
        return None
    return (min(d.start for d in found),
            max(d.end if d.end is not None else d.start for d in found))


def _undefined_severity(ticket: Ticket, level: int, version: CompiledPolicy) -> None:
    """Raise the located input error for a ticket whose severity the policy does not define."""
    raise InputError.single(
        ticket.where.file, f"severity {level} is not defined by policy {version.policy.label}",
        line=ticket.where.line, column=ticket.where.column, subject=ticket.id,
        path=ticket.where.path("severity"), code="fact")


def _touches(down: Downtime, sub: Subscription, version: CompiledPolicy) -> bool:
    """Whether a downtime naming services affects a subscription under a policy with a
    ``scope`` (without one, services are not looked at: every downtime affects it)."""
    values = values_of(version.policy)
    if values.scope is None:
        return True
    services = sub.services if sub.services is not None else values.services
    return not services or not set(services).isdisjoint(down.services or ())


# a counted or excluded piece of a downtime window: (start, end, services, impact, record)
_Piece = tuple[float, float, "tuple[str, ...] | None", "str | None", Downtime]


def _measure(counted: Sequence[_Piece], excluded: Sequence[_Piece],
             in_force: Sequence[intervals.Interval], services: frozenset[str] | None,
             weights: Mapping[str, Any], sub: Subscription,
             share: bool = False) -> tuple[float, float]:
    """(counted seconds, downtime seconds) of a customer's pieces inside ``in_force``.

    ``services``: only pieces of downtime naming one of them (or naming none: every service)
    count; None: every piece. ``weights``: impact grade → weight; a piece counts at its
    weight (a downtime without an impact at 1), overlaps once at the highest. ``share``
    (the policy weighs the share of users affected): a piece's weight is also multiplied by
    its downtime's ``affected_share`` (1 when not given). Without weights and share the sums
    are plain interval unions, as they always were. Raises InputError for an impact grade
    the policy does not weigh.
    """
    def keep(piece: _Piece) -> bool:
        return services is None or piece[2] is None or not services.isdisjoint(piece[2])

    counted = [p for p in counted if keep(p)]
    excluded = [p for p in excluded if keep(p)]
    if not weights and not share:
        counted_in: list[intervals.Interval] = []
        excluded_in: list[intervals.Interval] = []
        for a, b in in_force:
            counted_in += intervals.clip([(p[0], p[1]) for p in counted], a, b)
            excluded_in += intervals.clip([(p[0], p[1]) for p in excluded], a, b)
        return intervals.total(counted_in), intervals.total(counted_in + excluded_in)

    def weighed(pieces: Sequence[_Piece]) -> list[tuple[float, float, float]]:
        out = []
        for start, end, _services, impact, down in pieces:
            if impact is None or not weights:
                weight = 1.0
            elif impact in weights:
                weight = float(weights[impact])
            else:
                raise InputError.single(
                    down.where.file, f"impact {impact!r} of downtime {down.id} is not an impact "
                    f"grade the policy weighs ({', '.join(sorted(weights))}); the weight of "
                    f"its minutes for {sub.customer} is not said",
                    line=down.where.line, column=down.where.column, subject=down.id,
                    path=down.where.path("impact"), code="fact")
            if share and down.affected_share is not None:
                weight *= down.affected_share
            for a, b in in_force:
                out += [(x, y, weight) for x, y in intervals.clip([(start, end)], a, b)]
        return out

    counted_w = weighed(counted)
    return (intervals.weighted_total(counted_w),
            intervals.weighted_total(counted_w + weighed(excluded)))
@dataclass
class _Owed:
    """A credit the rules decided, on its way to a row: the amount after caps."""

    key: str
    m: dict[str, Any]
    form: str
    status: str
    figure: Any  # clauses.values.CreditFigure
    amount: Decimal = Decimal(0)
    capped_by: str | None = None

    def __post_init__(self) -> None:
        self.amount = self.figure.amount


def _period_key(fact: Mapping[str, Any]) -> str:
    """The key of a customer period: its ``period`` when the fact has one, else its month."""
    return str(fact.get("period") or fact["month"])


def _period_months(period: str) -> int:
    """Calendar months in a period key: ``2026-10`` 1, ``2026-Q4`` 3, ``2026`` 12 (a fiscal
    ``FY2027-Q1`` 3, ``FY2027`` 12)."""
    return months_in(period)


def _year_before(end: float, tz: str) -> float:
    """Local midnight 12 calendar months before ``end`` (a period's end, a local midnight):
    the start of the rolling 12 months that end with it (29 February goes to the 28th)."""
    day = timeutil.local_date(end, tz)
    try:
        earlier = day.replace(year=day.year - 1)
    except ValueError:
        earlier = day.replace(year=day.year - 1, day=28)
    return timeutil.local_midnight(earlier, tz)


def _form_words(version: CompiledPolicy) -> dict[str, str]:
    """How the version's service credit is given, in words, for a renewed order and for one
    not renewed (``form_renewed_text``, ``form_not_renewed_text``; none without a credit)."""
    credit = values_of(version.policy).credit
    return {f"form_{case}_text": explain.form_words(credit.term(f"form.{case}"))
            for case in ("renewed", "not_renewed")
            if credit is not None and credit.has_term(f"form.{case}")}


def _check_credit_decision(version: CompiledPolicy, credit: Any, key: str, form: Any,
                           tier: Any) -> None:
    """Raise :class:`EngineError` when the rules decided a credit the policy cannot compute:
    no credit clause, a tiered credit without a tier, or a band past its last (the tier's
    own domain, a whole number from 1, is checked as it is decided). Before, an assertion
    or an IndexError traceback."""
    label = version.policy.label
    if credit is None:
        raise EngineError(f"the rules decided form {form!r} of {key}, but policy {label} has "
                          "no service credit clause to compute a credit with")
    bands = credit.terms.get("tiers")
    if not bands:
        return
    if tier is None:
        raise EngineError(f"the rules decided form {form!r} of {key} but no tier, and credit "
                          f"{credit.id!r} of policy {label} has {len(bands)} bands")
    if tier > len(bands):
        raise EngineError(f"the rules decided tier {tier} of {key}, but credit {credit.id!r} "
                          f"of policy {label} has {len(bands)} bands")


def _tier_bounds(version: CompiledPolicy) -> list[Any]:
    """The ``below`` and ``at_least`` of each band of the version's tiered credit (none
    without tiers): thresholds a shown percentage must not cross (:func:`percent_shown`)."""
    credit = values_of(version.policy).credit
    if credit is None or not credit.has_term("tiers"):
        return []
    return [bound for tier in credit.term("tiers")
            for bound in (tier.get("below"), tier.get("at_least")) if bound is not None]


def _tier_facts(version: CompiledPolicy, key: str, customer: str,
                availability: float) -> list[dict[str, Any]]:
    """The bands of a tiered credit, as facts for a missed period (none without tiers):
    each band's ``at_least`` is its own, else the next band's ``below``, else 0; each
    carries the period's ``availability``, so a rule compares a band's bounds with it on
    the band's own fact (durable-rules crashes on a ``gt``/``lte`` join between two facts:
    docs/hardening.md)."""
    credit = values_of(version.policy).credit
    if credit is None or not credit.has_term("tiers"):
        return []
    tiers = credit.term("tiers")
    facts = []
    for number, tier in enumerate(tiers, start=1):
        floor = tier.get("at_least")
        if floor is None:
            floor = tiers[number]["below"] if number < len(tiers) else 0
        facts.append({"type": stages.CREDIT_TIER, "key": f"{key}#{number}", "credit": key,
                      "customer": customer, "tier": number, "below": _number(tier["below"]),
                      "at_least": _number(floor), "availability": availability,
                      "band_text": explain.band(tier["below"], floor)})
    return facts


def _clause_of(version: CompiledPolicy, kind: str) -> Any:
    """The first clause of ``kind`` in a version (document order), or None."""
    return next((c for c in version.policy.clauses if c.kind == kind), None)


def _scheduled_lead(version: CompiledPolicy) -> float | None:
    """The notice lead (seconds) the version's scheduled-maintenance clause asks, or None."""
    clause = _clause_of(version, "scheduled_maintenance")
    if clause is None or not clause.has_term("notice.lead"):
        return None
    return duration_seconds(str(clause.term("notice.lead")))


def _notice_words(notices: Sequence[Notice], at: float, customer: str, kind: str,
                  channels: Sequence[str], required: float) -> str:
    """The best notice about something starting at ``at`` against what a clause asks (a
    ``kind`` of notice, by one of ``channels``, ``required`` seconds ahead), in words:
    ``notice n-1 by email 36 h ahead, 12 h short of 48 h``. Among the notices of that kind
    and channel, the one with the longest lead (then the smallest id) speaks; with none,
    the longest-lead notice of another kind or channel says why it does not count; with no
    notice at all: ``no notice about it reached acme``."""
    def best(candidates: Sequence[Notice]) -> Notice:
        return min(candidates, key=lambda n: (n.sent_at, n.id))

    fitting = [n for n in notices if n.kind == kind and n.channel in channels]
    if fitting:
        notice = best(fitting)
        return (f"notice {notice.id} by {notice.channel} "
                f"{explain.lead_words(at - notice.sent_at, required)}")
    if notices:
        notice = best(notices)
        return (f"notice {notice.id} ({notice.kind} by {notice.channel}) does not count: only "
                f"a {kind} notice by {', '.join(channels)} does")
    return f"no notice about it reached {customer}"


def _credit_words(version: CompiledPolicy, m: Mapping[str, Any], tier: int | None) -> str:
    """The arithmetic of the credit a missed period would earn (in ``tier``, when the
    credit has tiers), as the credit clause's kind computes it (:mod:`.explain`); the
    amount alone for a kind whose terms are not a basis this module knows."""
    values = values_of(version.policy)
    assert values.credit is not None
    fact, sub = m["fact"], m["sub"]
    period = _period_key(fact)
    figure = values.credit_for(sub, CreditMeasure(
        tier=tier, period=period, period_months=_period_months(period),
        period_seconds=m["month_s"], counted_seconds=m["counted_s"]))
    terms = values.credit.terms
    tiers = terms.get("tiers")
    if tiers and tier is not None:
        bands = (list(tiers[:tier]) if terms.get("stacking") == "cumulative"
                 else [tiers[tier - 1]])
    else:
        bands = [terms]
    if figure.basis is None or any(band.get(figure.basis) is None for band in bands):
        return explain.money(figure.amount, figure.unit)
    return explain.credit_arithmetic(
        bands, figure.basis, sub.annual_fee, _period_months(period), m["month_s"],
        m["counted_s"], figure.amount, figure.unit, str(terms.get("rounding", "half_up")))


def _impact_words(impact: Mapping[str, bool] | None) -> str:
    """The impact flags a ticket reports as set, in words: ``loss of service, critical
    function``; ``no impact flag set``; ``no impact reported``."""
    if impact is None:
        return "no impact reported"
    flags = [flag.replace("_", " ") for flag in IMPACT_FLAGS if impact.get(flag)]
    return ", ".join(flags) if flags else "no impact flag set"


def _ticket_words(fact: Mapping[str, Any], ticket: Ticket, tz: str) -> dict[str, str]:
    """The ticket-clocks fact's instants and margins in words (``docs/stages.md``)."""
    out = {"opened_text": explain.instant(ticket.opened_at, tz),
           "as_of_text": explain.instant(fact["as_of"], tz)}
    for name in ("response_due", "resolution_due", "update_due", "response_at_risk",
                 "resolution_at_risk", "update_at_risk"):
        if name in fact:
            out[f"{name}_text"] = explain.instant(fact[name], tz)
    responded, resolved = ticket.first_response_at, ticket.resolved_at
    if responded is not None:
        out["first_response_text"] = explain.instant(responded, tz)
    if resolved is not None:
        out["resolved_text"] = explain.instant(resolved, tz)
    # the response is answered by the first response, or by the resolution when it came
    # first (support.yaml); unanswered, as-of says how long is left or overdue
    answer = (responded if responded is not None and (resolved is None or resolved >= responded)
              else resolved)
    for name, answered in (("response", answer), ("resolution", resolved),
                           ("update", resolved)):
        due_at = fact.get(f"{name}_due")
        if due_at is None:
            continue
        out[f"{name}_margin_text"] = (explain.margin(answered, due_at) if answered is not None
                                      else explain.waiting(fact["as_of"], due_at))
    return out


def _last_day(midnight: float, tz: str) -> str:
    """The local day before a local midnight (the last day of a term or window), ISO."""
    return (timeutil.local_date(midnight, tz) - dt.timedelta(days=1)).isoformat()


def _budget_words(elapsed: float, counted: float, target: Any) -> dict[str, str]:
    """A period's downtime against its error budget, in words: the downtime ``counted``
    (seconds, weighted), what the commitment allows in ``elapsed`` seconds at ``target``
    percent (``elapsed × (100 - target) / 100``) and the margin between the two. Exact
    (Decimal) comparison: nothing to spare is exactly at the target."""
    out = {"counted_text": explain.span(counted)}
    if target is None:
        return out
    allowed = Decimal(repr(elapsed)) * (100 - Decimal(str(target))) / 100
    used = Decimal(repr(counted))
    if used < allowed:
        budget = f"{explain.span(float(allowed - used))} to spare"
    elif used > allowed:
        budget = f"{explain.span(float(used - allowed))} over"
    else:
        budget = "nothing to spare"
    return {**out, "allowed_text": explain.span(float(allowed)), "budget_text": budget}


def _counted_words(window: Mapping[str, Any], excluded_up_to: float,
                   tz: str) -> dict[str, Any]:
    """``excluded_up_to`` for window-verdicts, with what it leaves counted, in words."""
    return {"excluded_up_to": excluded_up_to,
            "excluded_text": explain.span(excluded_up_to),
            "counted_text": explain.span(window["duration"] - excluded_up_to),
            "counted_from_text": explain.instant(window["start"] + excluded_up_to, tz)}


def reports_remedies(versions: Sequence[CompiledPolicy]) -> bool:
    """Whether the report has a ``remedies`` section: some version has a chronic_failure
    clause (other reports keep their bytes)."""
    return any(values_of(v.policy).chronic for v in versions)


def _scalars(extra: Mapping[str, Any]) -> dict[str, Any]:
    """Unknown fact fields that rules can read (scalars only; our own fields win)."""
    return {
        k: (float(v) if isinstance(v, Decimal) else v)
        for k, v in extra.items()
        if isinstance(v, str | int | float | bool | Decimal)
    }


def severity_clause(version: CompiledPolicy, level: int | None) -> Any:
    """The severity clause of a level in a version (indexed once per policy), or None."""
    if level is None:
        return None
    return values_of(version.policy).severities.get(level)


@contextmanager
def _placing(ticket: Ticket, target: Mapping[str, Any], field_name: str) -> Iterator[None]:
    """Turns a ``ValueError`` from a clock (an instant past the last year a calendar
    indexes) into a located fact error at the ticket's ``field_name``, the instant the
    target runs from: ``fact 'T-1': the 468h target cannot be placed: ...``."""
    try:
        yield
    except ValueError as error:
        raise InputError.single(
            ticket.where.file, f"fact '{ticket.id}': the {target.get('target')} target "
            f"cannot be placed: {error}", line=ticket.where.line,
            column=ticket.where.column, subject=ticket.id,
            path=ticket.where.path(field_name), code="fact") from None


def _pauses(ticket: Ticket, pause_on: Sequence[str], as_of: float) -> list[tuple[float, float]]:
    """Intervals in which the ticket's status was one of ``pause_on``.

    A pause still open at ``as_of`` is taken to end then: the due time shown is the one
    the ticket would have if the clock restarted now (it moves on while the wait lasts).
    """
    if not pause_on or not ticket.status_history:
        return []
    spans: list[tuple[float, float]] = []
    history = list(ticket.status_history)
    for (at, status), following in zip(history, [*history[1:], None], strict=True):
        if status in pause_on:
            spans.append((at, following[0] if following else max(at, as_of)))
    return spans


def evaluate_facts(
    versions: Sequence[CompiledPolicy],
    facts: FactSet,
    *,
    as_of: float,
    backend: Backend,
    months: Sequence[str] | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> Evaluation:
    """Run every stage and return sorted, typed results.

    ``evaluation.warnings`` holds the facts' warnings and, when facts or parts of facts are
    dated after ``as_of`` (they are not used), one warning that counts them. ``progress``:
    see :func:`evaluate_parts`.
    """
    cutoff = Cutoff()
    evaluation, used = evaluate_parts(VersionSet(versions), facts, as_of=as_of,
                                      backend=backend, months=months, cutoff=cutoff,
                                      progress=progress)
    evaluation.policies = sorted(used) or default_policies(versions)
    warning = cutoff.warning(evaluation.as_of)
    if warning is not None:
        evaluation.warnings.append(warning)
    return evaluation


def default_policies(versions: Sequence[CompiledPolicy]) -> list[tuple[str, str]]:
    """What ``policy`` names when no row used a version: the earliest one."""
    first = min(versions, key=lambda v: v.policy.effective_from)
    return [(first.policy.name, first.policy.version)]


def evaluate_parts(
    versions: VersionSet,
    facts: FactSet,
    *,
    as_of: float,
    backend: Backend,
    months: Sequence[str] | None = None,
    downtime_months: Sequence[str] | None = None,
    cutoff: Cutoff | None = None,
    count_fleet: bool = True,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> tuple[Evaluation, set[tuple[str, str]]]:
    """Every stage over ``facts``: sorted results and the (name, version) pairs they used.

    What is dated after ``as_of`` is noted into ``cutoff`` (fleet-wide facts only when
    ``count_fleet``). The streamed evaluation calls this once per customer shard, with
    ``count_fleet`` false, and merges the parts. ``progress``, when given, is called as
    ``progress("stages", done, 4)`` before the first and after each of the four parts
    (availability and credits, tickets, obligations, entitlements).
    """
    run = _Run(versions, facts, as_of, backend, list(months) if months else None,
               downtime_months, cutoff if cutoff is not None else Cutoff(), count_fleet)
    evaluation = Evaluation(as_of=timeutil.iso(as_of, run.tz),
                            remedies=[] if reports_remedies(versions.versions) else None)
    parts = (run.availability, run.tickets, run.obligations, run.entitlements)
    for done, part in enumerate(parts):
        if progress is not None:
            progress("stages", done, len(parts))
        part(evaluation)
    if progress is not None:
        progress("stages", len(parts), len(parts))
    evaluation.findings = run.findings
    evaluation.warnings = list(facts.warnings)
    evaluation.sort()
    return evaluation, run.used


__all__ = ["Cutoff", "VersionSet", "default_policies", "downtime_months", "evaluate_facts",
           "evaluate_parts", "known_at", "reports_remedies"]
