"""Zendesk Support: tickets, ticket metric events (first reply), ticket audits (status history).

Reads ``GET /api/v2/tickets`` pages (``{"tickets": [...]}``), ``ticket_metric_events``
pages and ``audits`` pages, in any order (events and audits are indexed by ``ticket_id``
first; tickets are then read one at a time). Field table: docs/import.md.

- customer: ``organization_id``, else ``requester_id``, through the mapping's ``customers``;
- severity: ``priority`` through ``severity``; impact flags: ``tags`` (and the priority)
  through ``impact``;
- first response: the ``reply_time`` metric's first ``fulfill`` event (it is not on the
  ticket); status history: the audits' ``Change`` events of ``status``; resolution: the last
  change to ``solved`` when the ticket is ``solved`` or ``closed`` now (a reopen undoes one);
- the source's verdict: ``breach`` events of ``reply_time`` / ``resolution_time`` under an
  applied SLA (``apply_sla``) → ``source_sla.response_met`` / ``resolution_met``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from policyengine.importers.core import At, Run, json_records, shaped

KEYS = ("tickets", "ticket_metric_events", "audits", "ticket")
_RESPONSE, _RESOLUTION = "reply_time", "resolution_time"


def read(run: Run, files: Iterable[str]) -> Iterator[str]:
    """Fact lines from Zendesk exports."""
    events: dict[str, list[Mapping[str, Any]]] = {}
    audits: dict[str, list[tuple[Mapping[str, Any], At]]] = {}
    tickets: list[tuple[Mapping[str, Any], At]] = []
    for path in files:
        for key, record, at in json_records(path, path, KEYS):
            if not isinstance(record, Mapping):
                run.problem(at, "a record must be an object")
            elif key == "ticket_metric_events" or "metric" in record:
                events.setdefault(str(record.get("ticket_id")), []).append(record)
            elif key == "audits" or "events" in record:
                audits.setdefault(str(record.get("ticket_id")), []).append(
                    (record, at.named(record.get("ticket_id"))))
            else:
                tickets.append((record, at.named(record.get("id"))))
    for record, at in tickets:
        run.records += 1
        key = str(record.get("id"))
        line = shaped(run, at, ticket, run, record, at, events.get(key, []),
                      audits.get(key, []))
        if line:
            yield line


def ticket(run: Run, record: Mapping[str, Any], at: At, events: list[Mapping[str, Any]],
           audits: list[tuple[Mapping[str, Any], At]]) -> str | None:
    """The ticket fact of one Zendesk ticket (None when it cannot be placed)."""
    customer = run.customer([record.get("organization_id"), record.get("requester_id")], at,
                            "ticket")
    tags = [str(t) for t in record.get("tags") or ()]
    severity = run.severity(record.get("priority"), at)
    impact = run.impact([record.get("priority"), *tags]) if run.mapping.impact else None
    replies = sorted(str(e.get("time")) for e in events
                     if e.get("metric") == _RESPONSE and e.get("type") == "fulfill"
                     and e.get("instance_id", 1) == 1 and e.get("time"))
    history: list[tuple[Any, str, At]] = []
    for audit, where in sorted(audits, key=lambda a: str(a[0].get("created_at"))):
        for event in audit.get("events") or ():
            if event.get("type") == "Change" and event.get("field_name") == "status":
                history.append((audit.get("created_at"), str(event.get("value")), where))
    resolved = None
    if record.get("status") in ("solved", "closed"):
        solved = [at_ for at_, status, _ in history if status == "solved"]
        resolved = solved[-1] if solved else record.get("updated_at")
    return run.ticket(at, source_id=record.get("id"), customer=customer,
                      opened_at=record.get("created_at"), severity=severity, impact=impact,
                      first_response_at=replies[0] if replies else None, resolved_at=resolved,
                      history=history, source_sla=_verdict(events))


def _verdict(events: list[Mapping[str, Any]]) -> dict[str, bool | None]:
    """Zendesk's own SLA verdict per metric: breached → False, fulfilled → True, else None."""
    verdict: dict[str, bool | None] = {}
    for name, metric in (("response_met", _RESPONSE), ("resolution_met", _RESOLUTION)):
        mine = [e for e in events if e.get("metric") == metric]
        if not any(e.get("type") == "apply_sla" for e in mine):
            verdict[name] = None
        elif any(e.get("type") == "breach" for e in mine):
            verdict[name] = False
        elif any(e.get("type") == "fulfill" for e in mine):
            verdict[name] = True
        else:
            verdict[name] = None
    return verdict
