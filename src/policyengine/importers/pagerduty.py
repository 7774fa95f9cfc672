"""PagerDuty: incidents and their log entries → downtime.

Reads ``GET /incidents`` pages (``{"incidents": [...]}``) and ``GET /log_entries`` pages
(``{"log_entries": [...]}``), in any order, or NDJSON of either. Field table:
docs/import.md.

An incident is a downtime from ``created_at`` to when it was resolved: its
``resolve_log_entry`` (the log says when, and by what), else ``resolved_at``; one still
``triggered`` or ``acknowledged`` is a warning (a downtime needs an end). Customers come from
``service.summary`` through the mapping's ``components``; ``downtime_impacts`` filters by
``urgency``; cause and maintenance labels are the ``priority.summary``, the ``urgency`` and
the summaries of the ``teams``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from policyengine.importers.core import At, Run, json_records, shaped

KEYS = ("incidents", "log_entries", "incident", "log_entry")


def read(run: Run, files: Iterable[str]) -> Iterator[str]:
    """Fact lines from PagerDuty exports (log entries are read first, then incidents)."""
    incidents: list[tuple[Mapping[str, Any], At]] = []
    resolved: dict[str, str] = {}
    for path in files:
        for key, record, at in json_records(path, path, KEYS):
            if not isinstance(record, Mapping):
                run.problem(at, "a record must be an object")
            elif key.startswith("log_entr") or str(record.get("type", "")).endswith(
                    "log_entry"):
                if record.get("type") == "resolve_log_entry":
                    subject = record.get("incident") or {}
                    resolved[str(subject.get("id"))] = record.get("created_at")
            else:
                incidents.append((record, at.named(record.get("id"))))
    for record, at in incidents:
        run.records += 1
        line = shaped(run, at, incident, run, record, at, resolved.get(str(record.get("id"))))
        if line:
            yield line


def incident(run: Run, record: Mapping[str, Any], at: At, resolved_at: Any) -> str | None:
    """The downtime of one incident (None when it cannot be placed)."""
    if record.get("id") in (None, ""):
        run.problem(at, "incident has no id", "id")
        return None
    urgency = str(record.get("urgency") or "")
    allowed = run.mapping.downtime_impacts
    if allowed is not None and urgency not in allowed:
        run.skip(f"urgency {urgency or 'none'} not in downtime_impacts")
        return None
    service = record.get("service") or {}
    placed, customers = run.customers_of([service.get("summary")], at)
    if not placed:
        return None
    labels = [str((record.get("priority") or {}).get("summary") or ""), urgency,
              *(str(t.get("summary")) for t in record.get("teams") or ()
                if isinstance(t, Mapping))]
    cause = run.labelled("cause", labels, at)
    maintenance = run.labelled("maintenance", labels, at)
    end = resolved_at or record.get("resolved_at")
    if end is None and record.get("status") == "resolved":
        end = record.get("last_status_change_at")
    return run.downtime(at, source_id=record["id"], start=record.get("created_at"), end=end,
                        cause=cause, maintenance=maintenance, customers=customers)
