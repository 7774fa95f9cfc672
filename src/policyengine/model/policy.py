"""The policy model: a validated policy document as clauses with stable ids and terms.

A policy is a list of sections, each a list of clauses; every clause has an ``id``, a
``kind`` (which rules it enables), a ``ref`` to the contract and a ``summary``. Everything
else on a clause is a *term* that rules read with ``{term: path}``. What a kind means (its
schema, checks, words and the values evaluation reads from it) lives in
:mod:`policyengine.clauses`, one layer up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

SECTIONS = (
    "calendars",
    "availability",
    "exclusions",
    "credits",
    "support",
    "notifications",
    "entitlements",
    "declarations",
    "offerings",
)
CLAUSE_KEYS = ("id", "kind", "ref", "summary")


@dataclass(frozen=True)
class Clause:
    """One clause of a policy: its identity, contract reference and terms."""

    id: str
    kind: str
    section: str
    index: int
    ref: str
    summary: str
    terms: Mapping[str, Any]

    @property
    def path(self) -> tuple[str | int, ...]:
        """Position of the clause in the policy document (for diagnostics)."""
        return ("spec", self.section, self.index)

    def term(self, dotted: str) -> Any:
        """A term by dotted path (``notice.lead``); KeyError when absent."""
        value: Any = self.terms
        for part in dotted.split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise KeyError(dotted)
            value = value[part]
        return value

    def has_term(self, dotted: str) -> bool:
        try:
            return self.term(dotted) is not None
        except KeyError:
            return False


@dataclass
class Policy:
    """A loaded, validated policy version."""

    name: str
    version: str
    title: str
    effective_from: dt.date
    effective_until: dt.date | None
    timezone: str
    clauses: tuple[Clause, ...]
    fact_types: tuple[str, ...] = ()
    file: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], file: str = "") -> Policy:
        """Build the model from a document that passed schema validation."""
        meta = data["metadata"]
        spec = data["spec"]
        clauses: list[Clause] = []
        for section in SECTIONS:
            for index, raw in enumerate(spec.get(section) or ()):
                terms = {k: v for k, v in raw.items() if k not in CLAUSE_KEYS}
                clauses.append(
                    Clause(
                        id=raw["id"],
                        kind=raw["kind"],
                        section=section,
                        index=index,
                        ref=raw["ref"],
                        summary=" ".join(str(raw["summary"]).split()),
                        terms=terms,
                    )
                )
        effective = meta.get("effective") or {}
        until = effective.get("until")
        return cls(
            name=meta["name"],
            version=str(meta["version"]),
            title=meta.get("title", meta["name"]),
            effective_from=dt.date.fromisoformat(effective.get("from", "1970-01-01")),
            effective_until=dt.date.fromisoformat(until) if until else None,
            timezone=spec["timezone"],
            clauses=tuple(clauses),
            fact_types=tuple(spec.get("fact_types") or ()),
            file=file,
            data=data,
        )

    # -- clause look-up -----------------------------------------------------------------
    def clauses_of(self, kind: str) -> list[Clause]:
        """Clauses of a kind, in document order."""
        return [c for c in self.clauses if c.kind == kind]

    def first_of(self, kind: str) -> Clause | None:
        found = self.clauses_of(kind)
        return found[0] if found else None

    @cached_property
    def by_id(self) -> dict[str, Clause]:
        return {c.id: c for c in self.clauses}

    def clause(self, clause_id: str) -> Clause:
        return self.by_id[clause_id]

    def __iter__(self) -> Iterator[Clause]:
        return iter(self.clauses)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def in_force_on(self, day: dt.date) -> bool:
        """Whether this version is in force on a (local) date; ``until`` is exclusive."""
        return self.effective_from <= day and (
            self.effective_until is None or day < self.effective_until
        )

