"""Zendesk Support: tickets, ticket metric events (first reply), ticket audits (status history).

Reads ``GET /api/v2/tickets`` pages (``{"tickets": [...]}``), ``ticket_metric_events``
pages and ``audits`` pages, in any order, or NDJSON of them. Events and audits are read
first and only what they say per ticket is kept (first reply, SLA outcomes, status
changes); tickets are then streamed on a second read (core.side_then_main). Field table:
docs/import.md.

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

from policyengine.importers.core import At, Run, shaped, side_then_main

KEYS = ("tickets", "ticket_metric_events", "audits", "ticket")
_RESPONSE, _RESOLUTION = "reply_time", "resolution_time"


def read(run: Run, files: Iterable[str]) -> Iterator[str]:
    """Fact lines from Zendesk exports (events and audits indexed first, tickets streamed)."""
    metrics: dict[str, _Metrics] = {}
    changes: dict[str, list[tuple[Any, str, At]]] = {}

    def is_ticket(key: str, record: Mapping[str, Any]) -> bool:
        return not (key in ("ticket_metric_events", "audits") or "metric" in record
                    or "events" in record)

    read_events = [0]

    def index(key: str, record: Mapping[str, Any], at: At) -> None:
        ticket_id = str(record.get("ticket_id"))
        if key == "ticket_metric_events" or "metric" in record:
            read_events[0] += 1
            metrics.setdefault(ticket_id, _Metrics()).add(record)
            return
        for event in record.get("events") or ():
            if (isinstance(event, Mapping) and event.get("type") == "Change"
                    and event.get("field_name") == "status"):
                changes.setdefault(ticket_id, []).append(
                    (record.get("created_at"), str(event.get("value")),
                     at.named(record.get("ticket_id"))))

    files = list(files)
    for record, at in side_then_main(run, files, KEYS, is_ticket, index):
        run.records += 1
        at = at.named(record.get("id"))
        key = str(record.get("id"))
        line = shaped(run, at, ticket, run, record, at, metrics.get(key) or _Metrics(),
                      changes.get(key, []))
        if line:
            yield line
    if run.written and not read_events[0]:
        run.warn(At(files[0], 0, 0), "no ticket metric events among the files: no ticket has "
                 "a first response (it is not on the ticket) or a Zendesk SLA verdict; add "
                 "the ticket_metric_events pages")


class _Metrics:
    """What a ticket's metric events say: the first reply, and per metric whether an SLA
    applied, breached or was fulfilled (the events themselves are not kept)."""

    __slots__ = ("first_reply", "seen")

    def __init__(self) -> None:
        self.first_reply: str | None = None
        self.seen: set[tuple[str, str]] = set()  # (metric, event type)

    def add(self, event: Mapping[str, Any]) -> None:
        metric, kind = event.get("metric"), event.get("type")
        if metric in (_RESPONSE, _RESOLUTION) and kind in ("apply_sla", "breach", "fulfill"):
            self.seen.add((metric, kind))
        if (metric == _RESPONSE and kind == "fulfill" and event.get("instance_id", 1) == 1
                and event.get("time")):
            time = str(event.get("time"))
            if self.first_reply is None or time < self.first_reply:
                self.first_reply = time


def ticket(run: Run, record: Mapping[str, Any], at: At, metrics: _Metrics,
           changes: list[tuple[Any, str, At]]) -> str | None:
    """The ticket fact of one Zendesk ticket (None when it cannot be placed)."""
    customer = run.customer([record.get("organization_id"), record.get("requester_id")], at,
                            "ticket")
    tags = [str(t) for t in record.get("tags") or ()]
    severity = run.severity(record.get("priority"), at)
    impact = run.impact([record.get("priority"), *tags]) if run.mapping.impact else None
    history = sorted(changes, key=lambda change: str(change[0]))
    resolved = None
    if record.get("status") in ("solved", "closed"):
        solved = [at_ for at_, status, _ in history if status == "solved"]
        resolved = solved[-1] if solved else record.get("updated_at")
        if not solved:
            run.warn(at, f"ticket is {record.get('status')} but no audit says when it was "
                     "solved: resolved_at is its updated_at, the latest it can have been "
                     "(add the audits pages)", "resolved_at")
    return run.ticket(at, source_id=record.get("id"), customer=customer,
                      opened_at=record.get("created_at"), severity=severity, impact=impact,
                      first_response_at=metrics.first_reply, resolved_at=resolved,
                      history=history, source_sla=_verdict(metrics))


def _verdict(metrics: _Metrics) -> dict[str, bool | None]:
    """Zendesk's own SLA verdict per metric: breached → False, fulfilled → True, else None."""
    verdict: dict[str, bool | None] = {}
    for name, metric in (("response_met", _RESPONSE), ("resolution_met", _RESOLUTION)):
        if (metric, "apply_sla") not in metrics.seen:
            verdict[name] = None
        elif (metric, "breach") in metrics.seen:
            verdict[name] = False
        elif (metric, "fulfill") in metrics.seen:
            verdict[name] = True
        else:
            verdict[name] = None
    return verdict
