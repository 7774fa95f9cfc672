"""Atlassian Statuspage: incidents → downtime; scheduled maintenances → downtime + notice.

Reads the status API's pages (``{"page": ..., "incidents": [...]}``,
``{"scheduled_maintenances": [...]}``), the manage API's incident lists (a bare list), or
NDJSON of incident objects. Field table: docs/import.md.

- An incident is a downtime from ``started_at`` (else ``created_at``) to ``resolved_at`` for
  the customers of its ``components`` (mapping ``components``); an incident still open is a
  warning (a downtime needs an end). ``downtime_impacts`` filters by ``impact``.
- A scheduled maintenance (``scheduled_for`` set) is a downtime with ``maintenance:
  scheduled`` from its first ``in_progress`` update (else ``scheduled_for``) to
  ``resolved_at`` (a maintenance not started yet: its planned window), **and** the notice it
  is: sent when it was created (its first update), on the mapping's ``channels.subscribers``
  channel when that update notified subscribers, else ``channels.page``.
- Cause and maintenance labels are the values of the incident's ``metadata``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from policyengine.importers.core import At, Run, json_records, shaped

KEYS = ("incidents", "scheduled_maintenances", "incident")


def read(run: Run, files: Iterable[str]) -> Iterator[str]:
    """Fact lines from Statuspage exports."""
    for path in files:
        for _, record, at in json_records(path, path, KEYS):
            run.records += 1
            if not isinstance(record, Mapping):
                run.problem(at, "an incident must be an object")
                continue
            at = at.named(record.get("id"))
            yield from shaped(run, at, lambda r=record, a=at: list(incident(run, r, a))) or ()


def _labels(record: Mapping[str, Any]) -> list[str]:
    labels: list[str] = []
    for group in (record.get("metadata") or {}).values():
        if isinstance(group, Mapping):
            labels.extend(str(v) for v in group.values())
        else:
            labels.append(str(group))
    return labels


def incident(run: Run, record: Mapping[str, Any], at: At) -> Iterator[str]:
    """The facts of one incident or scheduled maintenance."""
    if record.get("id") in (None, ""):
        run.problem(at, "incident has no id", "id")
        return
    updates = sorted((u for u in record.get("incident_updates") or ()
                      if isinstance(u, Mapping)),
                     key=lambda u: run.order(u.get("created_at")))
    placed, customers = run.customers_of(
        [c.get("name") for c in record.get("components") or () if isinstance(c, Mapping)], at)
    if not placed:
        return
    labels = _labels(record)
    cause = run.labelled("cause", labels, at)
    if record.get("scheduled_for"):
        yield from _maintenance(run, record, at, updates, customers, cause)
        return
    impact = str(record.get("impact") or "none")
    allowed = run.mapping.downtime_impacts
    if allowed is not None and impact not in allowed:
        run.skip(f"impact {impact} not in downtime_impacts")
        return
    maintenance = run.labelled("maintenance", labels, at)
    line = run.downtime(at, source_id=record["id"],
                        start=record.get("started_at") or record.get("created_at"),
                        end=record.get("resolved_at"), cause=cause, maintenance=maintenance,
                        customers=customers)
    if line:
        yield line


def _maintenance(run: Run, record: Mapping[str, Any], at: At, updates: list[Mapping[str, Any]],
                 customers: list[str] | None, cause: str | None) -> Iterator[str]:
    started = next((u.get("created_at") for u in updates if u.get("status") == "in_progress"),
                   None)
    status = record.get("status")
    if status == "scheduled":  # announced, not started: the planned window
        start, end = record.get("scheduled_for"), record.get("scheduled_until")
    else:
        start, end = started or record.get("scheduled_for"), record.get("resolved_at")
    line = run.downtime(at, source_id=record["id"], start=start, end=end, cause=cause,
                        maintenance="scheduled", customers=customers)
    if not line:
        return
    yield line
    first = updates[0] if updates else {}
    notified = bool(first.get("deliver_notifications"))
    channel = run.mapping.channels.get("subscribers" if notified else "page")
    notice = run.notice(at, notice_id=f"{run.fact_id(record['id'])}-notice",
                        kind="scheduled_downtime", about=run.fact_id(record["id"]),
                        sent_at=first.get("created_at") or record.get("created_at"),
                        channel=channel)
    if notice:
        yield notice
