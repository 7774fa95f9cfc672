"""Reconciliation: tickets where the source's own SLA verdict and the contract's differ.

Helpdesks compute their own SLA verdicts (Zendesk breach events, Jira SLA cycles,
ServiceNow ``task_sla.has_breached``); ``policyengine import`` carries them on the ticket as
``source_sla: {response_met, resolution_met}``. This compares them with the verdicts the
policy gives (``evaluate``'s ticket rows) and lists every ticket where they differ, with the
source record it came from (``provenance``): the auditor's first question.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from policyengine.api import Engine
from policyengine.validation.facts import load_facts

TARGETS = (("response", "response_met"), ("resolution", "resolution_met"))


@dataclass(frozen=True)
class Difference:
    """One target of one ticket judged differently (``source``/``contract``: met or not;
    ``contract`` None = no target or not yet due)."""

    ticket: str
    customer: str
    target: str  # "response" or "resolution"
    source: bool
    contract: bool | None
    due: str | None
    origin: str  # "SOURCE id FILE:LINE" of the source record, "" when unknown

    def to_dict(self) -> dict[str, Any]:
        return {"ticket": self.ticket, "customer": self.customer, "target": self.target,
                "source_met": self.source, "contract_met": self.contract, "due": self.due,
                "origin": self.origin}


def reconcile(engine: Engine, facts: Iterable[str | os.PathLike[str]],
              as_of: str | None = None) -> tuple[list[Difference], int]:
    """(differences sorted by ticket and target, number of verdicts compared).

    Raises :class:`InputError` for bad fact files, as ``evaluate`` does.
    """
    fact_set = load_facts(list(facts), allow_types=engine.fact_types)
    verdicts = {}
    for ticket in fact_set.tickets:
        sla = ticket.extra.get("source_sla")
        if isinstance(sla, dict):
            verdicts[ticket.id] = (sla, ticket.extra.get("provenance"))
    evaluation = engine.evaluate(fact_set, as_of=as_of)
    differences: list[Difference] = []
    compared = 0
    for row in evaluation.tickets:
        found = verdicts.get(row.id)
        if found is None:
            continue
        sla, provenance = found
        for target, name in TARGETS:
            source = sla.get(name)
            if not isinstance(source, bool):
                continue
            compared += 1
            contract = getattr(row, name)
            if contract != source:
                differences.append(Difference(
                    ticket=row.id, customer=row.customer, target=target, source=source,
                    contract=contract, due=getattr(row, f"{target}_due"),
                    origin=_origin(provenance)))
    differences.sort(key=lambda d: (d.ticket, d.target))
    return differences, compared


def _origin(provenance: Any) -> str:
    if not isinstance(provenance, dict):
        return ""
    return (f"{provenance.get('source')} {provenance.get('id')} "
            f"{provenance.get('file')}:{provenance.get('line')}")
