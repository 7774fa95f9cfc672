"""What evaluation reads from a policy's clauses, contributed by their kinds, built once.

The evaluator and :meth:`policyengine.api.Engine.due` never look clauses up by kind name:
they read :class:`PolicyValues`, which every clause's kind fills through
:meth:`~policyengine.clauses.registry.ClauseKind.contribute` (in document order, so the
first clause of a kind wins where one is needed). A kind that changes the arithmetic (a
tiered credit, say) contributes itself as the credit and computes the amount in its own
module; the evaluator does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine.clauses import registry
from policyengine.clauses.registry import CreditFigure, CreditMeasure
from policyengine.clocks.calendar import BusinessCalendar, ElapsedClock
from policyengine.clocks.durations import duration_seconds

if TYPE_CHECKING:  # pragma: no cover - typing only
    from policyengine.model.facts import Subscription
    from policyengine.model.policy import Clause, Policy

_CACHE_KEY = "_policyengine_clause_values"


@dataclass
class PolicyValues:
    """The values a policy version's clauses contribute to evaluation.

    - ``calendar_builders``: calendar clause id → a function building its
      :class:`BusinessCalendar` (built on first use by :meth:`calendar`; holiday data
      is only loaded when a business clock runs);
    - ``severities``: severity level → its clause (the first clause of a level);
    - ``claim_days``: whole days after the end of a month within which a credit must be
      claimed (None without a claim window, or with one not given in days);
    - ``claim_window``: the claim window clause (its terms say the deadline:
      :func:`policyengine.clauses.credits.claim_last_day`); None without one: every credit
      is owed without a request;
    - ``credit``: the clause that fixes the credit amount, whose kind implements
      ``credit_amount(clause, subscription) -> Decimal``; None without one;
    - ``availability_target``: the committed availability in percent, as written; None
      without a commitment;
    - ``obligations``: notice subject (``scheduled_maintenance``...) → the clause owing it;
    - ``regional_calendars``: regional calendar clause id → (region → calendar clause id,
      the default calendar clause id);
    - ``at_risk``: the policy-wide at-risk threshold (``75%`` or ``1h``), None without one.
    - ``period``: the measurement period's unit (``calendar_month``, ``calendar_quarter``,
      ``calendar_year``); ``scope``: ``per_service``, ``across_services`` or None (services
      are not looked at); ``services``: the services the commitment covers (empty: not
      said); ``impact_weights``: impact grade → weight from 0 to 1 (empty: every downtime
      counts in full) — all from the first availability commitment;
    - ``offerings``: offering name → its clause (kind ``offering``).
    - ``severity_assignment``: the ``severity_assignment`` clause, None without one (a
      level recorded on a ticket is used as given either way; the clause adds the note
      when the reported impact points to another level).
    - ``credit_caps``: the ``credit_cap`` clauses, in document order;
    - ``chronic``: the ``chronic_failure`` clauses, in document order;
    - ``part_periods``: the commitment covers a period the subscription term starts or
      ends in (``full_months_only: false``), measured over its part in the term;
      ``part_period_fee``: ``pro_rated`` or ``full``, the fee such a part's credit is on;
    - ``year_starts``: the month (1-12) a quarterly or yearly period's year starts in (1: the
      calendar year; else fiscal quarters and years, keyed ``FY2027-Q1``);
    - ``maintenance_allowance``: (total seconds, per) of the scheduled-maintenance
      allowance across windows (``per``: calendar_month, calendar_quarter, calendar_year or
      period), None without one;
    - ``weigh_affected_share``: a minute of downtime counts at its ``affected_share`` (the
      share of users affected) times its impact weight;
    - ``credit_details``: the policy uses a credit shape beyond a fraction of the annual
      fee (tiers, another basis, a cap): its credit rows carry ``tier``, ``basis`` and the
      cap's cut (the Spirion policy's rows stay as they were).
    """

    calendar_builders: dict[str, Callable[[], BusinessCalendar]] = field(default_factory=dict)
    severities: dict[int, Clause] = field(default_factory=dict)
    claim_days: int | None = None
    claim_window: Clause | None = None
    credit: Clause | None = None
    availability_target: Any = None
    obligations: dict[str, Clause] = field(default_factory=dict)
    regional_calendars: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)
    at_risk: str | None = None
    period: str = "calendar_month"
    scope: str | None = None
    services: tuple[str, ...] = ()
    impact_weights: dict[str, Any] = field(default_factory=dict)
    offerings: dict[str, Clause] = field(default_factory=dict)
    severity_assignment: Clause | None = None
    credit_caps: list[Clause] = field(default_factory=list)
    chronic: list[Clause] = field(default_factory=list)
    credit_details: bool = False
    part_periods: bool = False
    part_period_fee: str = "pro_rated"
    year_starts: int = 1
    maintenance_allowance: tuple[float, str] | None = None
    weigh_affected_share: bool = False
    _calendars: dict[str, BusinessCalendar] = field(default_factory=dict, repr=False)

    def calendar(self, clause_id: str) -> BusinessCalendar:
        """The business calendar of a calendar clause (built once); KeyError if undeclared."""
        built = self._calendars.get(clause_id)
        if built is None:
            built = self._calendars.setdefault(clause_id, self.calendar_builders[clause_id]())
        return built

    def calendar_for(self, clause_id: str, region: str | None) -> BusinessCalendar:
        """The calendar a target's ``calendar`` names, for a customer's support region.

        A regional calendar gives the region's calendar (its default when ``region`` is
        None); a plain calendar ignores the region. Raises :class:`UnknownRegion` for a
        region the regional calendar does not name, KeyError for an undeclared id.
        """
        regional = self.regional_calendars.get(clause_id)
        if regional is None:
            return self.calendar(clause_id)
        regions, default = regional
        if region is None:
            return self.calendar(default)
        if region not in regions:
            raise UnknownRegion(region, clause_id, sorted(regions))
        return self.calendar(regions[region])

    @property
    def regions(self) -> frozenset[str]:
        """Every support region the policy's regional calendars name (empty: none)."""
        return frozenset(r for regions, _ in self.regional_calendars.values() for r in regions)

    @property
    def uses_updates(self) -> bool:
        """Whether a severity of the policy has a periodic update target."""
        return any(clause.terms.get("update") for clause in self.severities.values())

    @property
    def uses_at_risk(self) -> bool:
        """Whether the policy gives an at-risk threshold (policy-wide or on a target)."""
        return self.at_risk is not None or any(
            isinstance(clause.terms.get(name), Mapping) and clause.terms[name].get("at_risk")
            for clause in self.severities.values() for name in ("response", "update",
                                                                 "resolution"))

    @property
    def calendars(self) -> dict[str, BusinessCalendar]:
        """Every declared calendar, by clause id (built on this call if not yet)."""
        return {clause_id: self.calendar(clause_id) for clause_id in self.calendar_builders}

    def credit_amount(self, subscription: Subscription) -> Decimal:
        """The credit for one missed month, as the credit clause's kind computes it.

        Raises LookupError when the policy has no credit clause, NotImplementedError when
        its kind does not compute one.
        """
        if self.credit is None:
            raise LookupError("the policy has no credit clause")
        return registry.kind_of(self.credit.kind).credit_amount(self.credit, subscription)

    def credit_for(self, subscription: Subscription, measure: CreditMeasure) -> CreditFigure:
        """The credit for one missed period, as the credit clause's kind computes it from
        what was measured. Raises LookupError when the policy has no credit clause."""
        if self.credit is None:
            raise LookupError("the policy has no credit clause")
        return registry.kind_of(self.credit.kind).credit_for(self.credit, subscription,
                                                             measure)


class UnknownRegion(LookupError):
    """A support region that a regional calendar does not name."""

    def __init__(self, region: str, clause_id: str, known: Sequence[str]):
        super().__init__(f"support region {region!r} has no calendar in regional calendar "
                         f"{clause_id!r} (regions: {', '.join(known)})")
        self.region = region


def values_of(policy: Policy) -> PolicyValues:
    """The :class:`PolicyValues` of a policy (built on first use, then kept on the policy)."""
    cached = policy.__dict__.get(_CACHE_KEY)
    if cached is None:
        cached = PolicyValues()
        for clause in policy.clauses:
            registry.kind_of(clause.kind).contribute(clause, cached, policy)
        cached = policy.__dict__.setdefault(_CACHE_KEY, cached)
    return cached


def clock(policy: Policy, target: Mapping[str, Any],
          region: str | None = None) -> BusinessCalendar | ElapsedClock:
    """The clock a target (``{target, clock, calendar}``) runs on for a customer in
    ``region`` (a regional calendar picks by it; :class:`UnknownRegion` when it cannot)."""
    if target.get("clock") == "business":
        return values_of(policy).calendar_for(target["calendar"], region)
    return ElapsedClock()


def due(policy: Policy, target: Mapping[str, Any] | None, start: float,
        pauses: Sequence[tuple[float, float]] = (), region: str | None = None) -> float | None:
    """When a target (``{target, clock, calendar}``) started at ``start`` falls due (epoch s).

    The clock only runs while open (and not paused), so a start out of hours counts from
    the next opening by construction. No target: None. ``region``: the customer's support
    region, for a regional calendar (None: its default).
    """
    if not target:
        return None
    return clock(policy, target, region).add(start, duration_seconds(target["target"]), pauses)


def at_risk(policy: Policy, target: Mapping[str, Any] | None, start: float,
            pauses: Sequence[tuple[float, float]] = (),
            region: str | None = None) -> float | None:
    """When a target started at ``start`` becomes at risk of breach (epoch s), or None.

    The threshold is the target's own ``at_risk``, else the policy's
    ``at_risk_threshold``: ``75%`` is the instant at which 75% of the target has run on its
    clock (pauses and closed hours do not count); ``1h`` is the instant at which the target
    less one hour has run, i.e. one hour of the target's clock before it falls due.
    None without a target or a threshold.
    """
    if not target:
        return None
    threshold = target.get("at_risk") or values_of(policy).at_risk
    if threshold is None:
        return None
    whole = Decimal(str(duration_seconds(target["target"])))
    text = str(threshold)
    if text.endswith("%"):
        part = whole * Decimal(text[:-1]) / 100
    else:
        part = whole - Decimal(str(duration_seconds(text)))
    return clock(policy, target, region).add(start, float(part), pauses)


__all__ = ["CreditFigure", "CreditMeasure", "PolicyValues", "UnknownRegion", "at_risk", "clock",
           "due", "values_of"]
