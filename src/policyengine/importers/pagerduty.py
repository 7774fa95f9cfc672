"""PagerDuty: incidents and their log entries → downtime.

Reads ``GET /incidents`` pages (``{"incidents": [...]}``) and ``GET /log_entries`` pages
(``{"log_entries": [...]}``), in any order, or NDJSON of either. Resolve log entries are
read first (one instant kept per incident), then incidents are streamed on a second read
(core.side_then_main). Field table: docs/import.md.

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

from policyengine.importers.core import At, Run, shaped, side_then_main

KEYS = ("incidents", "log_entries", "incident", "log_entry")


def read(run: Run, files: Iterable[str]) -> Iterator[str]:
    """Fact lines from PagerDuty exports (resolve log entries first, incidents streamed)."""
    resolved: dict[str, Any] = {}

    def is_incident(key: str, record: Mapping[str, Any]) -> bool:
        return not (key.startswith("log_entr")
                    or str(record.get("type", "")).endswith("log_entry"))

    def index(key: str, record: Mapping[str, Any], at: At) -> None:
        if record.get("type") == "resolve_log_entry":
            subject = record.get("incident") or {}
            resolved[str(subject.get("id"))] = record.get("created_at")

    for record, at in side_then_main(run, list(files), KEYS, is_incident, index):
        run.records += 1
        at = at.named(record.get("id"))
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
