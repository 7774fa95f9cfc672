"""Typed evaluation results; ``to_dict``/``to_json`` are the CLI's JSON, byte for byte."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .backends.base import Finding
from .diagnostics import Diagnostic


@dataclass(frozen=True)
class AvailabilityRow:
    customer: str
    month: str
    covered: bool
    minutes_in_month: int | float
    downtime_minutes: int | float
    excluded_minutes: int | float
    counted_downtime_minutes: int | float
    availability_percent: int | float
    target_percent: int | float | None
    met: bool | None
    policy_version: str = ""

    def key(self) -> tuple:
        return (self.customer, self.month)


@dataclass(frozen=True)
class CreditRow:
    customer: str
    month: str
    amount: str
    currency: str
    form: str
    claim_deadline: str
    requested_at: str | None
    status: str
    policy_version: str = ""

    def key(self) -> tuple:
        return (self.customer, self.month)


@dataclass(frozen=True)
class TicketRow:
    id: str
    customer: str
    severity: int | None
    severity_source: str | None
    response_due: str | None
    response_met: bool | None
    resolution_due: str | None
    resolution_met: bool | None
    policy_version: str = ""

    def key(self) -> tuple:
        return (self.customer, self.id)


@dataclass(frozen=True)
class ObligationRow:
    obligation: str
    subject: str
    customer: str
    required_lead_hours: int | float
    lead_hours: int | float | None
    met: bool
    strength: str
    policy_version: str = ""

    def key(self) -> tuple:
        return (self.customer, self.subject, self.obligation)


@dataclass(frozen=True)
class EntitlementRow:
    id: str
    customer: str
    entitled: bool
    reason: str
    policy_version: str = ""

    def key(self) -> tuple:
        return (self.customer, self.id)


def _row_dict(row: Any) -> dict[str, Any]:
    return dict(row.__dict__)


@dataclass
class Evaluation:
    """Everything one evaluation decided, sorted so equal input gives equal output."""

    policies: list[tuple[str, str]] = field(default_factory=list)
    availability: list[AvailabilityRow] = field(default_factory=list)
    credits: list[CreditRow] = field(default_factory=list)
    tickets: list[TicketRow] = field(default_factory=list)
    obligations: list[ObligationRow] = field(default_factory=list)
    entitlements: list[EntitlementRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    as_of: str = ""

    def sort(self) -> Evaluation:
        for name in ("availability", "credits", "tickets", "obligations", "entitlements"):
            getattr(self, name).sort(key=lambda row: row.key())
        self.findings.sort()
        self.policies = sorted(set(self.policies))
        return self

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of INTERFACE.md §2 (plus `as_of` and row `policy_version`)."""
        return {
            "as_of": self.as_of,
            "policy": [{"name": n, "version": v} for n, v in self.policies],
            "availability": [_row_dict(r) for r in self.availability],
            "credits": [_row_dict(r) for r in self.credits],
            "tickets": [_row_dict(r) for r in self.tickets],
            "obligations": [_row_dict(r) for r in self.obligations],
            "entitlements": [_row_dict(r) for r in self.entitlements],
            "findings": [f.to_dict() for f in self.findings],
        }

    def iter_json(self) -> Iterator[str]:
        """The JSON document in pieces: one line per row, sections in contract order.

        Rows are encoded by the C encoder, which is several times faster than indenting.
        """
        data = self.to_dict()
        encode = json.JSONEncoder(ensure_ascii=False).encode  # one C encoder for every row
        yield "{\n"
        for index, (key, value) in enumerate(data.items()):
            comma = "," if index < len(data) - 1 else ""
            if isinstance(value, list):
                if not value:
                    yield f"  {json.dumps(key)}: []{comma}\n"
                    continue
                yield f"  {json.dumps(key)}: [\n"
                last = len(value) - 1
                for position, row in enumerate(value):
                    end = "," if position < last else ""
                    yield f"    {encode(row)}{end}\n"
                yield f"  ]{comma}\n"
            else:
                yield f"  {json.dumps(key)}: {encode(value)}{comma}\n"
        yield "}\n"

    def to_json(self) -> str:
        """The JSON document of :meth:`to_dict` (deterministic, one row per line)."""
        return "".join(self.iter_json())

    def has_outcome(self, outcome: str) -> bool:
        return any(f.outcome == outcome for f in self.findings)

    def findings_for(self, subject: str) -> list[Finding]:
        return [f for f in self.findings if f.subject == subject]
