"""Typed evaluation results; ``to_dict``/``to_json`` are the CLI's JSON, byte for byte."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from policyengine.diagnostics import Diagnostic
from policyengine.model.json_report import (
    ABSENT,
    ALL_ROW_SECTIONS,
    Audit,
    LineEncoder,
    finding_dict,
    report_dict,
    report_pieces,
)


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
        """The finding as the JSON report gives it (``rule``, ``clause``, ``subject``,
        ``outcome``, ``message``)."""
        return finding_dict(self)


# What ``policyengine diff --facts`` makes of each row field (``field(metadata=...)``):
# KEY fields say which rows are the same across two evaluations; CONTEXT fields are
# measures shown beside a changed outcome (an availability row's minutes and percentages);
# VERSION names the policy version (it differs by construction). Every other field is an
# OUTCOME and is compared: a field added without a role is compared, never forgotten
# (:func:`diff_roles`; docs/versions.md).
KEY, CONTEXT, VERSION, OUTCOME = "key", "context", "version", "outcome"


def _key(rank: int = 0, **kwargs: Any) -> Any:
    # rank: the place in the row's key when it is not the declaration order
    return field(metadata={"diff": KEY, "rank": rank}, **kwargs)


def _context() -> Any:
    return field(metadata={"diff": CONTEXT})


def _version() -> Any:
    return field(default="", metadata={"diff": VERSION})


def diff_key(row_type: type) -> tuple[str, ...]:
    """The :data:`KEY` fields of a row class, in key order (rank, then declaration)."""
    import dataclasses

    keys = [f for f in dataclasses.fields(row_type) if f.metadata.get("diff") == KEY]
    return tuple(f.name for f in sorted(keys, key=lambda f: f.metadata.get("rank", 0)))


def diff_roles(row_type: type) -> dict[str, str]:
    """Each field of a result row class (in declaration order) → its role for ``diff``:
    :data:`KEY`, :data:`CONTEXT`, :data:`VERSION` or (unmarked) :data:`OUTCOME`."""
    import dataclasses

    return {f.name: f.metadata.get("diff", OUTCOME) for f in dataclasses.fields(row_type)}


def _text(value: Any) -> str:
    """An optional key part: the text, or "" when it is ABSENT (sorts first)."""
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class AvailabilityRow:
    customer: str = _key()
    month: str = _key()
    covered: bool
    minutes_in_month: int | float = _context()
    downtime_minutes: int | float = _context()
    excluded_minutes: int | float = _context()
    counted_downtime_minutes: int | float = _context()
    availability_percent: int | float = _context()
    target_percent: int | float | None = _context()
    met: bool | None
    # the month is not over at as-of: measured so far, no verdict and no credit yet
    provisional: bool = False
    policy_version: str = _version()
    # the measurement period (2026-Q4, 2026) when it is not the calendar month, and the
    # service measured (per_service scope); else ABSENT: left out of the report
    # (docs/interface.md §2)
    period: str | Any = _key(default=ABSENT)
    service: str | Any = _key(default=ABSENT)

    def key(self) -> tuple:
        return (self.customer, self.month, _text(self.service))


@dataclass(frozen=True, slots=True)
class CreditRow:
    customer: str = _key()
    month: str = _key()
    amount: str
    currency: str
    form: str
    claim_deadline: str | None  # None: no deadline (no claim window, or window: unlimited)
    requested_at: str | None
    status: str
    policy_version: str = _version()
    period: str | Any = _key(default=ABSENT)  # as on AvailabilityRow
    service: str | Any = _key(default=ABSENT)
    # the credit shapes beyond a fraction of the annual fee (tiers, another basis, a cap):
    # ``basis``, ``tier`` (1 = the first band listed; None when not tiered),
    # ``uncapped_amount`` (the amount before caps), ``capped_by`` (the cap clause that cut
    # it, or None) and ``cap_reduction`` (by how much, or None). Every row of a policy that
    # uses them has all five, null when they do not apply; else ABSENT (Spirion's rows keep
    # their keys). For a days-of-service credit ``amount`` is a number of days and
    # ``currency`` is ``days``.
    basis: str | None | Any = ABSENT
    tier: int | None | Any = ABSENT
    uncapped_amount: str | None | Any = ABSENT
    capped_by: str | None | Any = ABSENT
    cap_reduction: str | None | Any = ABSENT

    def key(self) -> tuple:
        return (self.customer, self.month, _text(self.service))


@dataclass(frozen=True, slots=True)
class RemedyRow:
    """A remedy for chronic failure: the customer, the period whose miss granted it, the
    clause, the remedy's name, why (the rule messages), and the last day to use it (None
    without an ``exercise_within``)."""

    customer: str = _key()
    period: str = _key()
    clause: str = _key()
    remedy: str
    reason: str
    exercise_by: str | None
    policy_version: str = _version()

    def key(self) -> tuple:
        return (self.customer, self.period, self.clause)


@dataclass(frozen=True, slots=True)
class TicketRow:
    id: str = _key()
    customer: str = _context()  # the ticket's: the same under any version
    severity: int | None
    severity_source: str | None
    response_due: str | None
    response_met: bool | None
    resolution_due: str | None
    resolution_met: bool | None
    # only in reports of a policy with periodic updates, or at-risk thresholds (else ABSENT:
    # left out of the report); docs/interface.md §2
    update_due: str | None | Any = ABSENT
    update_met: bool | None | Any = ABSENT
    at_risk: bool | Any = ABSENT
    policy_version: str = _version()

    def key(self) -> tuple:
        return (self.customer, self.id)


@dataclass(frozen=True, slots=True)
class ObligationRow:
    obligation: str
    subject: str = _key(rank=1)
    customer: str = _key()
    required_lead_hours: int | float
    lead_hours: int | float | None = _context()  # measured from the facts
    met: bool
    strength: str
    policy_version: str = _version()

    def key(self) -> tuple:
        return (self.customer, self.subject, self.obligation)


@dataclass(frozen=True, slots=True)
class EntitlementRow:
    id: str = _key()
    customer: str = _context()  # the request's: the same under any version
    entitled: bool
    reason: str
    policy_version: str = _version()

    def key(self) -> tuple:
        return (self.customer, self.id)


#: The row class of each row section of the report (ALL_ROW_SECTIONS order).
ROW_TYPES: dict[str, type] = {
    "availability": AvailabilityRow, "credits": CreditRow, "tickets": TicketRow,
    "obligations": ObligationRow, "entitlements": EntitlementRow, "remedies": RemedyRow,
}
assert tuple(ROW_TYPES) == ALL_ROW_SECTIONS


@dataclass
class Evaluation:
    """Everything one evaluation decided, sorted so equal input gives equal output."""

    policies: list[tuple[str, str]] = field(default_factory=list)
    availability: list[AvailabilityRow] = field(default_factory=list)
    credits: list[CreditRow] = field(default_factory=list)
    tickets: list[TicketRow] = field(default_factory=list)
    obligations: list[ObligationRow] = field(default_factory=list)
    entitlements: list[EntitlementRow] = field(default_factory=list)
    # None: no policy version has a chronic_failure clause, and the report has no section
    remedies: list[RemedyRow] | None = None
    findings: list[Finding] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    as_of: str = ""
    audit: Audit | None = None  # what it was decided from: the report's ``decision`` header

    def decision(self) -> dict[str, Any] | None:
        """The report's ``decision`` header (:meth:`Audit.header`), None without an audit."""
        if self.audit is None:
            return None
        counts = {name: len(rows) for name, rows in self._section_rows().items()}
        return self.audit.header(self.as_of, counts)

    def sort(self) -> Evaluation:
        for name in ALL_ROW_SECTIONS:
            rows = getattr(self, name)
            if rows is not None:
                rows.sort(key=lambda row: row.key())
        self.findings.sort()
        self.policies = sorted(set(self.policies))
        return self

    def _section_rows(self) -> dict[str, list[Any]]:
        """Each row section's rows, then the findings (the report's lists, by name)."""
        return {**{name: getattr(self, name) for name in ALL_ROW_SECTIONS
                   if getattr(self, name) is not None},
                "findings": self.findings}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of docs/interface.md §2 (plus `as_of` and row `policy_version`).

        The layout is :mod:`policyengine.model.json_report`'s.
        """
        return report_dict(self.as_of, self.policies, self._section_rows(), self.decision())

    def iter_json(self) -> Iterator[str]:
        """The JSON document in pieces: one line per row, sections in contract order.

        Written by :func:`~policyengine.model.json_report.report_pieces`, as the streamed
        report is; rows are encoded one at a time, so a large report never sits in memory
        whole.
        """
        encoder = LineEncoder()
        sections: dict[str, Iterable[str]] = {
            name: map(encoder.row, rows) for name, rows in self._section_rows().items()}
        sections["findings"] = map(encoder.finding, self.findings)
        return report_pieces(self.as_of, self.policies, sections, self.decision())

    def to_json(self) -> str:
        """The JSON document of :meth:`to_dict` (deterministic, one row per line)."""
        return "".join(self.iter_json())

    def has_outcome(self, outcome: str) -> bool:
        return any(f.outcome == outcome for f in self.findings)

    def findings_for(self, subject: str) -> list[Finding]:
        return [f for f in self.findings if f.subject == subject]
