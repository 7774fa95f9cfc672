"""ServiceNow: incident records, their ``task_sla`` records and the ``sys_audit`` of their state.

Reads Table API pages (``{"result": [...]}``) of ``GET /api/now/table/incident``,
``/table/task_sla`` and ``/table/sys_audit`` (``sysparm_query=tablename=incident^fieldname=
state``), in any order, or NDJSON of their records. A record is told by its shape: a
``task_sla`` has ``sla`` and ``task``, an audit row ``documentkey`` and ``fieldname``; the
others are incidents. SLA records and audit rows are read first and indexed by incident
``sys_id`` (only what they say is kept); incidents are then streamed on a second read
(core.side_then_main). Field table: docs/import.md.

Values come as the API gives them: plain (``sysparm_display_value=false``, the default),
display values (``true``) or both (``all``: ``{"display_value", "value"}``, the ``value`` is
read); a reference is ``{"link", "value"}`` (its ``display_value`` too when asked for).
Date-times are naive (``2026-10-19 14:00:00``): UTC for plain values, the requesting user's
zone for display values, so the mapping must declare ``timezone`` (checked when it is
loaded).

- customer: ``company``, else ``caller_id`` (display value, then sys_id) through
  ``customers``;
- severity: ``priority`` through ``severity``, else the ``impact/urgency`` pair (``"2/3"``);
  impact flags: the priority, the pair and the ``category`` through ``impact``;
- status history: audit rows of ``fieldname: state`` (``newvalue`` at ``sys_created_on``),
  renamed by ``statuses``; resolution: ``resolved_at`` while the state is Resolved (6) or
  Closed (7) (a reopened incident has none);
- first response: an incident field named under ``fields.first_response_at``, else the
  ``end_time`` of the earliest completed response ``task_sla`` (what ServiceNow counted);
- the source's verdict: the ``task_sla`` records whose SLA definition (name or sys_id) is
  listed under ``response_slas`` / ``resolution_slas``, cancelled ones aside:
  ``has_breached`` → false, completed and none breached → true, else null.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from policyengine.importers.core import At, Run, shaped, side_then_main

KEYS = ("result", "records")
RESOLVED_STATES = frozenset({"6", "7", "Resolved", "Closed"})
_TRUE = frozenset({"true", "1"})


class _Sla(NamedTuple):
    """What a ``task_sla`` record says (the record itself is not kept)."""

    names: tuple[str, ...]  # the SLA definition's display value and sys_id
    stage: Any
    breached: bool
    end: Any


def read(run: Run, files: Iterable[str]) -> Iterator[str]:
    """Fact lines from ServiceNow Table API exports (SLAs and audit rows indexed first,
    incidents streamed)."""
    slas: dict[str, list[_Sla]] = {}
    audits: dict[str, list[tuple[Any, str, At]]] = {}

    def is_incident(key: str, record: Mapping[str, Any]) -> bool:
        return not (("sla" in record and "task" in record)
                    or ("documentkey" in record and "fieldname" in record))

    def index(key: str, record: Mapping[str, Any], at: At) -> None:
        if "sla" in record:
            slas.setdefault(str(value(record.get("task"))), []).append(_Sla(
                tuple(str(n) for n in names(record.get("sla")) if n not in (None, "")),
                value(record.get("stage")),
                str(value(record.get("has_breached"))).lower() in _TRUE,
                value(record.get("end_time"))))
        elif value(record.get("fieldname")) == "state":
            audits.setdefault(str(value(record.get("documentkey"))), []).append(
                (value(record.get("sys_created_on")), str(value(record.get("newvalue"))), at))

    files = list(files)
    for record, at in side_then_main(run, files, KEYS, is_incident, index):
        run.records += 1
        at = at.named(value(record.get("number")))
        key = str(value(record.get("sys_id")))
        line = shaped(run, at, incident, run, record, at, slas.get(key, []),
                      audits.get(key, []))
        if line:
            yield line
    if run.written and not slas and "first_response_at" not in run.mapping.fields:
        run.warn(At(files[0], 0, 0), "no task_sla records among the files and no "
                 "'fields.first_response_at' in the mapping: no incident has a first response "
                 "or a ServiceNow SLA verdict; add the task_sla pages")


def value(field: Any) -> Any:
    """The plain value of a field in any of the API's shapes ("" → None)."""
    if isinstance(field, Mapping):
        field = field.get("value", field.get("display_value"))
    return None if field in ("", None) else field


def names(field: Any) -> list[Any]:
    """A reference's display value then its sys_id (what a ``customers`` key may be)."""
    if isinstance(field, Mapping):
        return [field.get("display_value"), field.get("value")]
    return [field]


def incident(run: Run, record: Mapping[str, Any], at: At, slas: list[_Sla],
             audits: list[tuple[Any, str, At]]) -> str | None:
    """The ticket fact of one incident (None when it cannot be placed)."""
    customer = run.customer([*names(record.get("company")), *names(record.get("caller_id"))],
                            at, "incident")
    priority, category = value(record.get("priority")), value(record.get("category"))
    impact_, urgency = value(record.get("impact")), value(record.get("urgency"))
    pair = f"{impact_}/{urgency}" if impact_ is not None and urgency is not None else None
    table = run.mapping.severity
    if str(priority) not in table and pair in table:
        severity: int | None = table[pair]
    else:
        severity = run.severity(priority, at)
    impact = run.impact([priority, pair, category]) if run.mapping.impact else None
    number = value(record.get("number"))
    history = [(when, status, where.named(number))
               for when, status, where in sorted(audits, key=lambda a: str(a[0]))]
    response = _chosen(slas, run.mapping.response_slas)
    resolution = _chosen(slas, run.mapping.resolution_slas)
    named = run.mapping.fields
    first = value(record.get(named["first_response_at"])) if "first_response_at" in named \
        else None
    if first is None:
        ends = sorted(str(s.end) for s in response if s.stage == "completed" and s.end)
        first = ends[0] if ends else None
    resolved = (value(record.get("resolved_at"))
                if str(value(record.get("state"))) in RESOLVED_STATES else None)
    return run.ticket(at, source_id=number, customer=customer,
                      opened_at=value(record.get("opened_at")), severity=severity,
                      impact=impact, first_response_at=first, resolved_at=resolved,
                      history=history,
                      source_sla={"response_met": _verdict(response),
                                  "resolution_met": _verdict(resolution)})


def _chosen(slas: list[_Sla], wanted: tuple[str, ...]) -> list[_Sla]:
    """The task SLAs of the definitions listed (by name or sys_id), cancelled ones aside."""
    return [s for s in slas if any(n in wanted for n in s.names) and s.stage != "cancelled"]


def _verdict(slas: list[_Sla]) -> bool | None:
    """ServiceNow's own verdict: any ``has_breached`` → False; completed → True; else None."""
    if any(s.breached for s in slas):
        return False
    if any(s.stage == "completed" for s in slas):
        return True
    return None
