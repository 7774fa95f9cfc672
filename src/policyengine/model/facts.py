"""The fact model: typed, normalised records of one evaluation's input.

Timestamps are float epoch seconds (UTC); money is ``Decimal``; every record keeps
:class:`Where` it came from, for located diagnostics. Reading and checking fact files is
:mod:`policyengine.validation.facts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policyengine.diagnostics import Diagnostic

IMPACT_FLAGS = (
    "loss_of_service", "critical_function", "production_degraded", "workaround_available",
)
NOTICE_KINDS = ("scheduled_downtime", "significant_change", "high_priority_update")


@dataclass(frozen=True, slots=True)
class Where:
    """Where a fact came from, for diagnostics (``index`` -1: an NDJSON line)."""

    file: str
    line: int
    column: int = 1
    index: int = 0

    def path(self, field_name: str = "") -> str:
        """JSON path of the fact (or one of its fields) inside its document."""
        base = "$" if self.index < 0 else f"$.facts[{self.index}]"
        return f"{base}.{field_name}" if field_name else base


@dataclass(frozen=True, slots=True)
class Override:
    """A negotiated term of one customer (an order form): ``term`` (``clause-id.term.path``)
    takes ``value`` from ``start`` (inclusive) until ``until`` (exclusive), local dates;
    ``index`` is its place in the subscription's ``overrides`` (for located errors)."""

    term: str
    value: Any
    start: dt.date
    until: dt.date
    ref: str
    index: int

    def in_force_on(self, day: dt.date) -> bool:
        return self.start <= day < self.until


@dataclass(slots=True)
class Subscription:
    customer: str
    plan: str
    deployment: str
    license: str
    annual_fee: Decimal
    currency: str
    term_start: dt.date
    term_end: dt.date
    renewed: bool
    support: str
    where: Where
    extra: Mapping[str, Any] = field(default_factory=dict)
    # which support region's calendar the policy's regional calendars pick (None: default)
    support_region: str | None = None
    # the services included (None: every service the policy covers), the offering ordered
    # (None: the policy as written) and negotiated overrides, by start
    services: tuple[str, ...] | None = None
    offering: str | None = None
    overrides: tuple[Override, ...] = ()


@dataclass(slots=True)
class Downtime:
    """A downtime record; ``end`` is None while it is still ongoing (it counts up to as-of).

    ``services``: the services affected (None: every service); ``impact``: its impact grade
    (None: a full outage); ``affected_share``: the share of the customer's users affected,
    above 0 and at most 1 (None: all of them).
    """

    id: str
    start: float
    end: float | None
    cause: str
    maintenance: str
    customers: tuple[str, ...] | None
    where: Where
    extra: Mapping[str, Any] = field(default_factory=dict)
    services: tuple[str, ...] | None = None
    impact: str | None = None
    affected_share: float | None = None


@dataclass(slots=True)
class Notice:
    id: str
    kind: str
    about: str
    sent_at: float
    channel: str
    customer: str | None
    where: Where
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Change:
    id: str
    kind: str
    deployed_at: float
    where: Where
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Ticket:
    id: str
    customer: str
    opened_at: float
    severity: int | None
    impact: Mapping[str, bool] | None
    first_response_at: float | None
    resolved_at: float | None
    status_history: tuple[tuple[float, str], ...]
    where: Where
    extra: Mapping[str, Any] = field(default_factory=dict)
    # when the vendor updated the customer while the ticket was open, ascending
    updates: tuple[float, ...] = ()


@dataclass(slots=True)
class CreditRequest:
    customer: str
    month: str
    requested_at: float
    where: Where
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class UpdateRequest:
    id: str
    customer: str
    requested_at: float
    where: Where
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CustomFact:
    """A fact of a type the policy declares in ``spec.fact_types``; passed to rules as is."""

    type: str
    id: str | None
    customer: str | None
    fields: dict[str, Any]
    where: Where


@dataclass
class FactSet:
    """Every fact of an evaluation, normalised, with warnings collected on the way.

    ``subscriptions``: customer → its subscription facts (renewals: terms that do not
    overlap), in input order until the set is finished, then by ``term_start``.
    """

    subscriptions: dict[str, list[Subscription]] = field(default_factory=dict)
    downtimes: list[Downtime] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    credit_requests: list[CreditRequest] = field(default_factory=list)
    update_requests: list[UpdateRequest] = field(default_factory=list)
    custom: list[CustomFact] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    # SHA-256 of the input it was read from, when the reader knew it (the report's
    # decision header: policyengine.api.facts_digest)
    sha256: str | None = None

    def count(self) -> int:
        return (
            sum(map(len, self.subscriptions.values())) + len(self.downtimes)
            + len(self.notices) + len(self.changes)
            + len(self.tickets) + len(self.credit_requests) + len(self.update_requests)
            + len(self.custom)
        )
