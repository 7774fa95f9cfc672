"""Jira Service Management: issue JSON (fields, SLA fields, changelog) and the CSV export.

Reads ``GET /rest/api/3/search`` pages (``{"issues": [...]}``, with ``expand=changelog``),
single issues (``GET /rest/api/3/issue/{key}?expand=changelog``: the document is the issue),
NDJSON of issues, and the issue navigator's CSV export (a file ending ``.csv``). Field
table: docs/import.md.

- customer: the names of the organisations (the custom field the mapping names under
  ``fields.organizations``; in the CSV, the ``Custom field (Organizations)`` columns), else
  the reporter (``accountId``; in the CSV, ``Reporter``), through ``customers``;
- severity: ``fields.priority.name`` through ``severity``; impact flags: the priority, the
  ``labels`` and the customer request type's name through ``impact``;
- status history: ``changelog.histories[]`` items with ``field: status`` (``toString`` at the
  history's ``created``), renamed by ``statuses``; resolution: ``fields.resolutiondate``
  (Jira clears it on a reopen and sets it again on the next resolve);
- first response: a date field named under ``fields.first_response_at``, else the stop time
  of the first completed cycle of a response SLA (what Jira counted as the first response);
- the source's verdict: the SLA fields named (by field id or SLA name) under
  ``response_slas`` / ``resolution_slas``: a breached cycle (completed or ongoing) → false,
  completed cycles none breached → true, else null.

The CSV export carries no changelog and no SLA cycles (its SLA columns are display text),
so a CSV import has no status history, no first response (unless a date column is named
under ``fields.first_response_at``) and no source verdict; its dates are in the exporting
user's zone and format (``19/Oct/26 10:30 AM``): the mapping declares ``timezone`` and
``formats``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from policyengine.diagnostics import InputError
from policyengine.importers.core import At, Run, json_records, shaped
from policyengine.importers.timestamps import Clock, TimestampError

KEYS = ("issues", "values")
SINGLE = ("key", "fields")
CSV_COLUMNS = {"id": "Issue key", "created": "Created", "resolved": "Resolved",
               "priority": "Priority", "reporter": "Reporter", "labels": "Labels",
               "organizations": "Custom field (Organizations)",
               "request_type": "Custom field (Customer Request Type)"}
_MILLIS = Clock(epoch="milliseconds")


def read(run: Run, files: Iterable[str]) -> Iterator[str]:
    """Fact lines from Jira Service Management issue JSON and CSV exports."""
    for path in files:
        if path.lower().endswith(".csv"):
            yield from _csv_file(run, path)
            continue
        for _, record, at in json_records(path, path, KEYS, single=SINGLE):
            run.records += 1
            if not isinstance(record, Mapping):
                run.problem(at, "an issue must be an object")
                continue
            at = at.named(record.get("key") or record.get("id"))
            line = shaped(run, at, issue, run, record, at)
            if line:
                yield line


def issue(run: Run, record: Mapping[str, Any], at: At) -> str | None:
    """The ticket fact of one issue as the REST API gives it (None when it cannot be placed)."""
    fields = record.get("fields") or {}
    named = run.mapping.fields
    organizations = fields.get(named["organizations"]) if "organizations" in named else None
    reporter = fields.get("reporter") or {}
    customer = run.customer([*(o.get("name") for o in organizations or ()
                               if isinstance(o, Mapping)),
                             reporter.get("accountId") or reporter.get("name")], at, "issue")
    priority = (fields.get("priority") or {}).get("name")
    request = fields.get(named["request_type"]) if "request_type" in named else None
    request_name = ((request or {}).get("requestType") or {}).get("name")
    severity = run.severity(priority, at)
    impact = (run.impact([priority, *(fields.get("labels") or ()), request_name])
              if run.mapping.impact else None)
    history: list[tuple[Any, str, At]] = []
    changelog = record.get("changelog") or {}
    histories = changelog.get("histories") or ()
    total = changelog.get("total")
    if isinstance(total, int) and total > len(histories):
        run.warn(at.inner("changelog"), f"the changelog holds {len(histories)} of {total} "
                 "histories (the search API truncates it): the status history is incomplete; "
                 "export this issue with GET /rest/api/3/issue/{key}?expand=changelog",
                 "status_history")
    for index, entry in enumerate(histories):
        for item in entry.get("items") or ():
            if item.get("field") == "status" or item.get("fieldId") == "status":
                history.append((entry.get("created"), str(item.get("toString")),
                                at.inner("changelog", "histories", index)))
    response = _slas(run, fields, run.mapping.response_slas)
    resolution = _slas(run, fields, run.mapping.resolution_slas)
    first = fields.get(named["first_response_at"]) if "first_response_at" in named else None
    if first is None:
        first = _first_stop(run, response, at)
    return run.ticket(at, source_id=record.get("key") or record.get("id"), customer=customer,
                      opened_at=fields.get("created"), severity=severity, impact=impact,
                      first_response_at=first, resolved_at=fields.get("resolutiondate"),
                      history=history,
                      source_sla={"response_met": _verdict(response),
                                  "resolution_met": _verdict(resolution)})


def _slas(run: Run, fields: Mapping[str, Any], wanted: tuple[str, ...]
          ) -> list[Mapping[str, Any]]:
    """The SLA field values (``completedCycles``/``ongoingCycle``) named by id or SLA name."""
    found = []
    for field_id, value in fields.items():
        if (isinstance(value, Mapping) and ("completedCycles" in value or "ongoingCycle" in value)
                and (field_id in wanted or value.get("name") in wanted)):
            found.append(value)
    return found


def _time(value: Any) -> Any:
    """An SLA time object (``{iso8601, jira, friendly, epochMillis}``) → a readable value."""
    if not isinstance(value, Mapping):
        return value
    for key in ("jira", "iso8601"):
        if value.get(key):
            return value[key]
    millis = value.get("epochMillis")
    if millis is None:
        return None
    try:
        return _MILLIS.instant(int(millis))
    except (TimestampError, ValueError, TypeError):
        return str(millis)


def _first_stop(run: Run, slas: list[Mapping[str, Any]], at: At) -> Any:
    """The earliest stop time of a completed response SLA cycle (None when none stopped)."""
    stops = []
    for sla in slas:
        for cycle in sla.get("completedCycles") or ():
            stop = _time(cycle.get("stopTime"))
            if stop is not None:
                instant = run.instant(stop, at, "first_response_at")
                if instant is not None:
                    stops.append((_order(instant), stop))
    return min(stops)[1] if stops else None


def _order(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp()


def _verdict(slas: list[Mapping[str, Any]]) -> bool | None:
    """Jira's own verdict over the cycles of ``slas``: breached → False, completed → True."""
    cycles = [c for sla in slas for c in sla.get("completedCycles") or ()]
    ongoing = [sla["ongoingCycle"] for sla in slas if isinstance(sla.get("ongoingCycle"),
                                                                 Mapping)]
    if any(c.get("breached") is True for c in (*cycles, *ongoing)):
        return False
    return True if cycles else None


def _csv_file(run: Run, path: str) -> Iterator[str]:
    """Tickets from the issue navigator's CSV export (repeated headers: multi-value fields)."""
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - with below
    except OSError as error:
        raise InputError.single(path, f"cannot read file: {error.strerror}", code="import") \
            from None
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError.single(path, "empty CSV file: no header row", line=1, column=1,
                                    code="import") from None
        except (csv.Error, UnicodeDecodeError) as error:
            raise InputError.single(path, f"not a CSV file: {error}", line=1, column=1,
                                    code="import") from None
        columns = {**CSV_COLUMNS, **{k: v for k, v in run.mapping.fields.items()
                                     if isinstance(v, str)}}
        for name in ("id", "created"):
            if columns[name] not in header:
                raise InputError.single(
                    path, f"column {columns[name]!r} is not in the header: not a Jira issue "
                    "export", line=1, column=1, code="import")
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as error:
                raise InputError.single(path, f"bad CSV: {error}", line=start, column=1,
                                        code="import") from None
            line, start = start, reader.line_num + 1
            if not row or row == [""]:
                continue
            if len(row) != len(header):
                raise InputError.single(path, f"row has {len(row)} columns, the header "
                                        f"{len(header)}", line=line, column=1, code="import")
            values: dict[str, list[str]] = {}
            for column, value in zip(header, row, strict=True):
                if value.strip():
                    values.setdefault(column, []).append(value.strip())
            run.records += 1
            fact = _csv_row(run, values, columns, At(path, line))
            if fact is not None:
                yield fact


def _csv_row(run: Run, values: Mapping[str, list[str]], columns: Mapping[str, str],
             at: At) -> str | None:
    def one(name: str) -> str | None:
        found = values.get(columns.get(name, ""))
        return found[0] if found else None

    def every(name: str) -> list[str]:
        return list(values.get(columns.get(name, ""), ()))

    key = one("id")
    at = at.named(key)
    customer = run.customer([*every("organizations"), one("reporter")], at, "issue")
    priority = one("priority")
    severity = run.severity(priority, at)
    impact = (run.impact([priority, *every("labels"), one("request_type")])
              if run.mapping.impact else None)
    return run.ticket(at, source_id=key, customer=customer, opened_at=one("created"),
                      severity=severity, impact=impact,
                      first_response_at=one("first_response_at"), resolved_at=one("resolved"))
