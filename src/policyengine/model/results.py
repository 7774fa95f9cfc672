"""Typed evaluation results; ``to_dict``/``to_json`` are the CLI's JSON, byte for byte."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from policyengine.diagnostics import Diagnostic


class Finding(NamedTuple):
    """A decision, with the rule and the clause behind it (sorts by subject first).

    A named tuple rather than a dataclass: an evaluation of a million facts makes millions.
    """

    subject: str
    rule: str
    clause: str
    outcome: str
    message: str
    facts: tuple[str, ...] = ()  # the facts a join used; empty when it used the subject alone

    @property
    def used(self) -> tuple[str, ...]:
        """Keys of the facts the rule used (the subject alone when ``facts`` is empty)."""
        return self.facts or (self.subject,)

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "clause": self.clause,
            "subject": self.subject,
            "outcome": self.outcome,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
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
    # the month is not over at as-of: measured so far, no verdict and no credit yet
    provisional: bool = False
    policy_version: str = ""

    def key(self) -> tuple:
        return (self.customer, self.month)


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class EntitlementRow:
    id: str
    customer: str
    entitled: bool
    reason: str
    policy_version: str = ""

    def key(self) -> tuple:
        return (self.customer, self.id)


def row_dict(row: Any) -> dict[str, Any]:
    """A row's fields in declaration order (rows are slotted: there are a million)."""
    return {name: getattr(row, name) for name in row.__slots__}


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

    def _sections(self) -> list[tuple[str, Any]]:
        """(key, value or lazy rows) in contract order; rows become dicts one at a time."""
        return [
            ("as_of", self.as_of),
            ("policy", [{"name": n, "version": v} for n, v in self.policies]),
            ("availability", (self.availability, row_dict)),
            ("credits", (self.credits, row_dict)),
            ("tickets", (self.tickets, row_dict)),
            ("obligations", (self.obligations, row_dict)),
            ("entitlements", (self.entitlements, row_dict)),
            ("findings", (self.findings, Finding.to_dict)),
        ]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of INTERFACE.md §2 (plus `as_of` and row `policy_version`)."""
        document: dict[str, Any] = {}
        for key, value in self._sections():
            if isinstance(value, tuple):
                rows, convert = value
                document[key] = [convert(row) for row in rows]
            else:
                document[key] = value
        return document

    def iter_json(self) -> Iterator[str]:
        """The JSON document in pieces: one line per row, sections in contract order.

        Rows are turned into dicts and encoded one at a time by the C encoder (several
        times faster than indenting), so a large report never sits in memory whole.
        """
        sections = self._sections()
        encode = json.JSONEncoder(ensure_ascii=False).encode  # one C encoder for every row
        yield "{\n"
        for index, (key, value) in enumerate(sections):
            comma = "," if index < len(sections) - 1 else ""
            rows, convert = value if isinstance(value, tuple) else (value, None)
            if not isinstance(rows, list):
                yield f"  {json.dumps(key)}: {encode(rows)}{comma}\n"
            elif not rows:
                yield f"  {json.dumps(key)}: []{comma}\n"
            else:
                yield f"  {json.dumps(key)}: [\n"
                last = len(rows) - 1
                for position, row in enumerate(rows):
                    end = "," if position < last else ""
                    yield f"    {encode(convert(row) if convert else row)}{end}\n"
                yield f"  ]{comma}\n"
        yield "}\n"

    def to_json(self) -> str:
        """The JSON document of :meth:`to_dict` (deterministic, one row per line)."""
        return "".join(self.iter_json())

    def has_outcome(self, outcome: str) -> bool:
        return any(f.outcome == outcome for f in self.findings)

    def findings_for(self, subject: str) -> list[Finding]:
        return [f for f in self.findings if f.subject == subject]
