"""The import mapping file: what a source's values mean, read once and checked with located errors.

A mapping is YAML (``kind: ImportMapping``, ``schemas/mapping.schema.json``); every problem is
an :class:`InputError` with ``FILE:LINE:COL`` like a policy's. Shapes are in docs/import.md.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policyengine.diagnostics import InputError
from policyengine.model.facts import IMPACT_FLAGS

CAUSES = ("vendor", "customer", "third_party", "force_majeure")
MAINTENANCE = ("none", "scheduled", "emergency")
# The keys each source reads, beyond apiVersion, kind, source, timezone, formats, epoch and
# id_prefix: any other key is a located error (it would be accepted and do nothing).
_COMMON = ("apiVersion", "kind", "source", "timezone", "formats", "epoch", "id_prefix")
_TICKETS = ("customers", "severity", "impact", "statuses")
_GENERIC = (*_TICKETS, "components", "channels", "cause", "maintenance", "fact", "fields")
READS = {
    "csv": _GENERIC,
    "json": (*_GENERIC, "records"),
    "statuspage": ("components", "channels", "cause", "maintenance", "downtime_impacts"),
    "pagerduty": ("components", "cause", "maintenance", "downtime_impacts"),
    "zendesk": _TICKETS,
    "jira": (*_TICKETS, "response_slas", "resolution_slas", "fields"),
    "servicenow": (*_TICKETS, "response_slas", "resolution_slas", "fields"),
}
# What ``fields`` may name for a vendor source (the others take no ``fields``; csv/json any).
VENDOR_FIELDS = {
    "jira": ("organizations", "request_type", "first_response_at", "id", "created",
             "resolved", "priority", "reporter", "labels"),
    "servicenow": ("first_response_at",),
}


@dataclass(frozen=True)
class Choice:
    """A default and tag/label overrides (``cause``, ``maintenance``)."""

    default: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def pick(self, labels: list[str]) -> str | None:
        """The value of the first label listed in ``labels`` (source order), else the default."""
        for label in labels:
            if label in self.labels:
                return self.labels[label]
        return self.default


@dataclass(frozen=True)
class ImportMapping:
    """A checked mapping (see the schema for each field's meaning)."""

    source: str
    file: str
    timezone: str | None = None
    formats: tuple[str, ...] = ()
    epoch: str | None = None
    id_prefix: str = ""
    customers: Mapping[str, str] = field(default_factory=dict)
    components: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    severity: Mapping[str, int] = field(default_factory=dict)
    impact: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)
    statuses: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    cause: Choice = field(default_factory=Choice)
    maintenance: Choice = field(default_factory=Choice)
    downtime_impacts: tuple[str, ...] | None = None
    response_slas: tuple[str, ...] = ()
    resolution_slas: tuple[str, ...] = ()
    fact: str | None = None
    records: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    where: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def at(self, key: str) -> tuple[int, int]:
        """(line, column) of a top-level key in the mapping file, (1, 1) when absent."""
        return self.where.get(key, (1, 1))


def generic_fields(fact: str) -> list[str]:
    """The names ``fields`` may map for a csv/json record of fact type ``fact``: the type's
    fields (docs/interface.md), with a ticket's impact flags and source verdict by their
    dotted names (``impact.loss_of_service``, ``source_sla.response_met``)."""
    from policyengine.validation.facts import _KNOWN

    # a ticket's `updates` is a list of timestamps, which one csv/json column cannot give
    # (not yet importable; facts written by hand or by another tool may carry it)
    names = sorted(_KNOWN[fact] - {"type", "impact", "updates"})
    if fact == "ticket":
        names += [f"impact.{flag}" for flag in IMPACT_FLAGS]
        names += ["source_sla.response_met", "source_sla.resolution_met"]
    return names


def load_mapping(path: str | os.PathLike[str], source: str | None = None) -> ImportMapping:
    """Read and check a mapping file; ``source`` (the command's SOURCE) must match its own.

    Raises :class:`InputError` (located) for a bad file, a schema problem, an unknown
    customer-less component list, or a source mismatch.
    """
    from policyengine.load import loader
    from policyengine.validation import schemas

    display = os.fspath(path)
    document = loader.load_document(path, display_name=display)
    data = document.data
    if not isinstance(data, Mapping):
        raise InputError.single(display, "an import mapping must be a mapping with "
                                "'apiVersion', 'kind' and 'source'", line=1, column=1,
                                code="schema")
    problems = schemas.validate_document(document, "mapping")
    if problems:
        raise InputError(problems)
    where = {str(key): document.locate((key,)) for key in data}

    def fail(key: str, message: str, *path: str | int) -> InputError:
        line, column = document.locate((key, *path))
        return InputError.single(display, message, line=line, column=column,
                                 path=loader.json_path([key, *path]), code="mapping")

    if source is not None and data["source"] != source:
        raise fail("source", f"this mapping is for source {data['source']!r}, not {source!r}")
    reads = READS[data["source"]]
    for key in data:
        if key not in _COMMON and key not in reads:
            raise fail(str(key), f"a {data['source']} import does not read {key!r}, so it "
                       f"would change nothing; it reads: {', '.join(reads)}")
    if data["source"] in ("csv", "json") and "fact" not in data:
        raise InputError.single(display, f"a {data['source']} mapping needs 'fact' (the fact "
                                "type each record becomes) and 'fields'", line=1, column=1,
                                path="$", code="mapping")
    if data["source"] == "servicenow" and "timezone" not in data:
        raise InputError.single(display, "a servicenow mapping needs 'timezone': the Table "
                                "API writes naive date-times (UTC for plain values, the "
                                "requesting user's zone for display values); never assumed",
                                line=1, column=1, path="$", code="mapping")
    if data["source"] in ("csv", "json"):
        fact_fields = generic_fields(data["fact"])
        for name in data.get("fields") or {}:
            if name not in fact_fields:
                dotted = [f for f in fact_fields if f.startswith(f"{name}.")]
                close = difflib.get_close_matches(str(name), fact_fields, n=1)
                hint = (f" (map each by its dotted name, e.g. {dotted[0]!r})" if dotted else
                        f" (did you mean {close[0]!r}?)" if close else "")
                raise fail("fields", f"a {data['fact']} has no field {name!r}{hint}; it has: "
                           f"{', '.join(fact_fields)}", name)
    known = VENDOR_FIELDS.get(data["source"])
    if known is not None:
        for name in data.get("fields") or {}:
            if name not in known:
                raise fail("fields", f"a {data['source']} mapping names no field {name!r} "
                           f"(it knows: {', '.join(known)})", name)
    choices = {}
    for name, allowed in (("cause", CAUSES), ("maintenance", MAINTENANCE)):
        raw = data.get(name) or {}
        for key, value in [("default", raw.get("default")),
                           *((f"labels.{k}", v) for k, v in (raw.get("labels") or {}).items())]:
            if value is not None and value not in allowed:
                path = ("default",) if key == "default" else ("labels", key[7:])
                raise fail(name, f"{name} {value!r} is not one of: {', '.join(allowed)}", *path)
        choices[name] = Choice(raw.get("default"), dict(raw.get("labels") or {}))
    components = {
        str(name): (None if value == "*" else tuple(value))
        for name, value in (data.get("components") or {}).items()
    }
    impact = {str(k): {flag: bool(v.get(flag, False)) for flag in IMPACT_FLAGS}
              for k, v in (data.get("impact") or {}).items()}
    return ImportMapping(
        source=data["source"], file=display, timezone=data.get("timezone"),
        formats=tuple(data.get("formats") or ()), epoch=data.get("epoch"),
        id_prefix=data.get("id_prefix", ""),
        customers={str(k): v for k, v in (data.get("customers") or {}).items()},
        components=components,
        severity={str(k): v for k, v in (data.get("severity") or {}).items()},
        impact=impact,
        statuses={str(k): v for k, v in (data.get("statuses") or {}).items()},
        channels=dict(data.get("channels") or {}),
        cause=choices["cause"], maintenance=choices["maintenance"],
        downtime_impacts=(tuple(data["downtime_impacts"])
                          if "downtime_impacts" in data else None),
        response_slas=tuple(data.get("response_slas") or ()),
        resolution_slas=tuple(data.get("resolution_slas") or ()),
        fact=data.get("fact"), records=data.get("records"),
        fields=dict(data.get("fields") or {}), where=where,
    )
