"""Fact files: load (YAML, JSON, NDJSON), validate, and normalise into typed records.

Timestamps become float epoch seconds (UTC) at the edge; money becomes ``Decimal``.
Every problem is a located :class:`Diagnostic`: ``FILE:LINE:COL`` plus the fact id.
Problems that make a result wrong are errors; ones that change nothing are warnings
(see docs/facts.md).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any

from policyengine.diagnostics import Diagnostic, InputError, excerpt
from policyengine.model.facts import (
    IMPACT_FLAGS,
    NOTICE_KINDS,
    Change,
    CreditRequest,
    CustomFact,
    Downtime,
    FactSet,
    Notice,
    Override,
    Subscription,
    Ticket,
    UpdateRequest,
    Where,
)

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_KNOWN = {
    "subscription": {"type", "customer", "plan", "deployment", "license", "annual_fee",
                     "currency", "term_start", "term_end", "renewed", "support", "contact",
                     "support_region", "services", "offering", "overrides"},
    "downtime": {"type", "id", "start", "end", "cause", "maintenance", "customers", "services",
                 "impact", "affected_share"},
    "notice": {"type", "id", "kind", "about", "sent_at", "channel", "customer"},
    "change": {"type", "id", "kind", "deployed_at"},
    "ticket": {"type", "id", "customer", "opened_at", "severity", "impact",
               "first_response_at", "resolved_at", "status_history", "updates"},
    "credit_request": {"type", "customer", "month", "requested_at"},
    "update_request": {"type", "id", "customer", "requested_at"},
}


_KNOWN_SETS = {kind: frozenset(names) for kind, names in _KNOWN.items()}

# Per-customer fact types, in the order finish() reports their unknown customers
CUSTOMER_FACT_RANK: dict[type, int] = {Ticket: 0, CreditRequest: 1, UpdateRequest: 2}
_CUSTOMER_FACT_LIST = ("tickets", "credit_requests", "update_requests")

# Optional fields whose absence changes what a fact means for verdicts: a downtime without
# `customers` counts for all SaaS customers, a notice without `customer` reaches all of
# them, and a downtime without `end` is still going on (it counts up to as-of). A near miss
# of one of them (`customer: acme` or `ended: ...` on a downtime) would silently change
# verdicts (other customers', or a closed outage charged up to as-of): that is an error,
# not a warning. Field → what a fact without it does.
_ABSENCE_MEANS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "downtime": MappingProxyType({"customers": "counts for every customer",
                                  "end": "is still going on and counts up to as-of"}),
    "notice": MappingProxyType({"customer": "reaches every customer"}),
})
_DAY = dt.timedelta(days=1)
_CUTOFF = 0.7  # difflib similarity for "did you mean" (as the schema messages use)


def unknown_field_problems(
    raw: Mapping[str, Any], kind: str, declared: frozenset[str] = frozenset()
) -> list[tuple[str, str, str, bool]]:
    """Unknown fields of a standard fact: ``(field, message, hint, is_error)`` each.

    ``declared`` holds ``type.field`` names a rule pack declares (``extra_fields``): those
    are expected and not reported. A near miss of a field whose absence changes what the
    fact means (:data:`_ABSENCE_MEANS`: it widens the fact to every customer, or leaves a
    downtime going on) is an error when that field is absent; every other unknown field is
    a warning (an error under ``--strict``). The fields are kept and reach the rules either
    way.
    """
    known = _KNOWN[kind]
    absent_means = _ABSENCE_MEANS.get(kind, {})
    out: list[tuple[str, str, str, bool]] = []
    for name in raw:
        if name in known or not isinstance(name, str) or f"{kind}.{name}" in declared:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=_CUTOFF)
        if close and close[0] in absent_means and close[0] not in raw:
            meant = close[0]
            out.append((name, f"unknown field {name!r}: a {kind} without {meant!r} "
                        f"{absent_means[meant]}", f"did you mean {meant!r}?", True))
            continue
        hint = (f"did you mean {close[0]!r}?" if close else
                "a rule pack reads it after declaring it in extra_fields")
        out.append((name, f"unknown field {name!r} on a {kind}; the standard evaluation "
                    "does not read it", hint, False))
    if kind == "ticket":
        out.extend(_nested_unknown(raw))
    return out


# Keys of the mappings inside a ticket: a misspelt impact flag would read as false (and
# change the severity a ticket is classified with), so they are checked like fields.
_NESTED_KNOWN: Mapping[str, frozenset[str]] = MappingProxyType({
    "impact": frozenset(IMPACT_FLAGS),
    "status_history": frozenset({"at", "status"}),
})


def _nested_unknown(raw: Mapping[str, Any]) -> list[tuple[str, str, str, bool]]:
    """Unknown keys inside a ticket's ``impact`` and ``status_history`` entries: warnings
    ``("impact.KEY" or "status_history[i].KEY", message, hint, False)``; they are not
    read (an impact flag not given counts as false)."""
    out: list[tuple[str, str, str, bool]] = []
    impact = raw.get("impact")
    places: list[tuple[str, str, Mapping[str, Any]]] = []
    if isinstance(impact, Mapping):
        places.append(("impact", "impact", impact))
    history = raw.get("status_history")
    if isinstance(history, list):
        places += [(f"status_history[{i}]", "status_history", entry)
                   for i, entry in enumerate(history) if isinstance(entry, Mapping)]
    for path, field_name, mapping in places:
        known = _NESTED_KNOWN[field_name]
        for name in mapping:
            if name in known or not isinstance(name, str):
                continue
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=_CUTOFF)
            hint = (f"did you mean {close[0]!r}?" if close else
                    f"expected one of: {', '.join(sorted(known))}")
            what = ("an impact flag not given counts as false" if field_name == "impact"
                    else "the standard evaluation does not read it")
            out.append((f"{path}.{name}", f"unknown field {name!r} in a ticket's "
                        f"{field_name}; {what}", hint, False))
    return out


# Years every clock and calendar handles (the business-hour index covers 1970..2200).
FIRST_YEAR, LAST_YEAR = 1971, 2199


def _check_year(year: int, field_name: str, text: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise FieldError(field_name, f"{field_name} {excerpt(text)} is outside the supported years "
                          f"{FIRST_YEAR}-{LAST_YEAR}")


class FieldError(Exception):
    """A fact field that cannot be used: ``field`` (a path inside the fact) and the message.

    ``problems`` holds the located diagnostics when the fact does not conform to the fact
    schema (every problem the schema finds in it, worded as for a YAML document)."""

    def __init__(self, field_name: str, message: str,
                 problems: tuple[Diagnostic, ...] = ()):
        super().__init__(message)
        self.field = field_name
        self.problems = problems


def schema_problems(raw: Mapping[str, Any], where: Where) -> tuple[Diagnostic, ...]:
    """The fact schema's problems with one fact, located at ``where`` (none: it conforms).

    The compiled check (:mod:`validation.factschema`) answers for a fact that conforms;
    only a fact that does not is checked again by ``jsonschema``, which words the problems
    exactly as for a fact in a YAML or JSON document. Paths are the fact's own
    (``$.annual_fee`` on an NDJSON line, ``$.facts[3].annual_fee`` in a document).
    """
    from policyengine.validation import factschema

    kind = raw.get("type")
    if isinstance(kind, str):
        conforms = factschema.predicates().get(kind)
        if conforms is None or conforms(raw):  # another type: normalise or the builder says
            return ()
    from policyengine.validation import schemas

    found = []
    for problem in schemas.validate_fact(raw, where.file, where.line):
        inner = problem.path[1:].lstrip(".")
        found.append(replace(problem, column=where.column, path=where.path(inner)))
    return tuple(found)


def parse_instant(text: Any, field_name: str = "timestamp") -> float:
    """ISO 8601 with an offset or Z → epoch seconds; naive or impossible → error."""
    if not isinstance(text, str):
        raise FieldError(field_name, f"{field_name} must be an ISO 8601 timestamp string")
    try:
        parsed = _FROM_ISO(text)
    except ValueError:
        raise FieldError(
            field_name, f"{field_name} {excerpt(text)} is not a valid ISO 8601 timestamp"
        ) from None
    if parsed.tzinfo is None:  # fromisoformat gives fixed offsets: never a None offset
        if len(text.strip()) == 10:  # a date alone: there is no time to attach an offset to
            raise FieldError(
                field_name,
                f"{field_name} {excerpt(text)} is a date without a time and offset; write e.g. "
                f"{text.strip()}T00:00:00-05:00",
            )
        raise FieldError(
            field_name,
            f"{field_name} {excerpt(text)} has no offset: a timestamp without a UTC offset is "
            "refused; "
            f"write e.g. {text}Z or {text}-05:00",
        )
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        _check_year(parsed.year, field_name, text)
    return parsed.timestamp()


_FROM_ISO = dt.datetime.fromisoformat


def _date(text: Any, field_name: str) -> dt.date:
    if not isinstance(text, str):
        raise FieldError(field_name, f"{field_name} must be a date YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise FieldError(field_name, f"{field_name} {excerpt(text)} is not a valid date") from None
    _check_year(day.year, field_name, text)
    return day


def _money(value: Any, field_name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal | float):
        raise FieldError(field_name, f"{field_name} must be a decimal amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise FieldError(field_name,
                         f"{field_name} {excerpt(value)} is not a decimal amount") from None
    if not amount.is_finite() or amount < 0:
        raise FieldError(field_name, f"{field_name} must be a finite amount of zero or more")
    return amount


def parse_month(text: Any, field_name: str) -> str:
    if not isinstance(text, str) or len(text) != 7 or text[4] != "-":
        raise FieldError(field_name, f"{field_name} must be a month YYYY-MM")
    try:
        dt.date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        raise FieldError(field_name,
                         f"{field_name} {excerpt(text)} is not a month that exists") from None
    _check_year(int(text[:4]), field_name, text)
    return text


def _require(raw: Mapping[str, Any], name: str) -> Any:
    if name not in raw or raw[name] is None:
        raise FieldError(name, f"missing required field '{name}'")
    return raw[name]


def _str(raw: Mapping[str, Any], name: str, allowed: Iterable[str] | None = None) -> str:
    value = _require(raw, name)
    if not isinstance(value, str) or not value:
        raise FieldError(name, f"'{name}' must be a non-empty string")
    if allowed is not None and value not in allowed:
        raise FieldError(name, f"'{name}' is {excerpt(value)}; expected one of: "
                               f"{', '.join(allowed)}")
    return value


def _opt_name(raw: Mapping[str, Any], name: str) -> str | None:
    """An optional non-empty name (a support region...), or None when left out."""
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FieldError(name, f"'{name}' must be a non-empty name")
    return sys.intern(value)


def _opt_instant(raw: Mapping[str, Any], name: str) -> float | None:
    value = raw.get(name)
    return None if value is None else parse_instant(value, name)


NO_EXTRA: Mapping[str, Any] = MappingProxyType({})
_IMPACTS: dict[tuple[bool, ...], Mapping[str, bool]] = {}


def impact_mapping(flags: tuple[bool, ...]) -> Mapping[str, bool]:
    """The read-only impact mapping of flags in IMPACT_FLAGS order.

    Sixteen combinations in all: tickets share one mapping per combination.
    """
    impact = _IMPACTS.get(flags)
    if impact is None:
        impact = _IMPACTS[flags] = MappingProxyType(dict(zip(IMPACT_FLAGS, flags, strict=True)))
    return impact


def _extra(raw: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """Fields beyond the standard ones; most facts have none and share one empty mapping."""
    known = _KNOWN_SETS[kind]
    if known.issuperset(raw):
        return NO_EXTRA
    return {k: v for k, v in raw.items() if k not in known}


def _names(raw: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    """An optional list of names (services): None when absent."""
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and v for v in value):
        raise FieldError(name, f"'{name}' must be a non-empty list of names")
    if len(set(value)) != len(value):
        raise FieldError(name, f"'{name}' names a service twice")
    return tuple(value)


def _overrides(value: Any, sub: Subscription) -> tuple[Override, ...]:
    """A subscription's negotiated overrides, checked for shape and for overlapping dates of
    one term (which of two values would apply is not said: an error). They default to the
    subscription's term. Whether the term exists is checked against the policy when the
    facts are evaluated."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError("overrides", "'overrides' must be a list of {term, value, from, until, "
                                      "ref}")
    found: list[Override] = []
    for index, item in enumerate(value):
        at = f"overrides[{index}]"
        if not isinstance(item, Mapping):
            raise FieldError(at, "an override must be a mapping {term, value, from, until, ref}")
        unknown = sorted(set(item) - {"term", "value", "from", "until", "ref"})
        if unknown:
            raise FieldError(f"{at}.{unknown[0]}", f"unknown override field {unknown[0]!r}; "
                                                    "expected term, value, from, until, ref")
        term = item.get("term")
        if not isinstance(term, str) or "." not in term:
            raise FieldError(f"{at}.term", "'term' must name clause-id.term, e.g. "
                                           "availability-commitment.target_percent")
        if "value" not in item:
            raise FieldError(at, f"override of {term!r} has no 'value'")
        start = (_date(item["from"], f"{at}.from") if item.get("from") is not None
                 else sub.term_start)
        until = (_date(item["until"], f"{at}.until") if item.get("until") is not None
                 else sub.term_end + dt.timedelta(days=1))
        if until <= start:
            raise FieldError(f"{at}.until", f"until {until} is not after from {start}")
        ref = item.get("ref")
        if ref is not None and not isinstance(ref, str):
            raise FieldError(f"{at}.ref", "'ref' must be text (where it was agreed)")
        for other in found:
            if other.term == term and other.start < until and start < other.until:
                raise FieldError(f"{at}.from", f"override of {term!r} from {start} until {until} "
                                 f"overlaps overrides[{other.index}] ({other.start} until "
                                 f"{other.until}); say which value applies when by dates that "
                                 "do not overlap")
        found.append(Override(term, item["value"], start, until, ref or "", index))
    return tuple(sorted(found, key=lambda o: (o.start, o.index)))


def normalise(raw: Mapping[str, Any], where: Where) -> Any:
    """One raw fact mapping → its typed record.

    The fact is first checked against the fact schema (:func:`schema_problems`: the same
    rules, and the same messages, as for YAML and JSON documents, whatever the format),
    then converted; the checks made here beyond the schema (a term that ends before it
    starts, years outside 1971..2199, ...) apply to every format alike. Raises
    :class:`FieldError` (with ``problems`` when the schema refuses the fact).
    """
    problems = schema_problems(raw, where)
    if problems:
        first = problems[0]
        raise FieldError(first.path.removeprefix(where.path()).lstrip("."), first.message,
                         problems)
    kind = raw.get("type")
    if kind == "subscription":
        renewed = _require(raw, "renewed")
        if not isinstance(renewed, bool):
            raise FieldError("renewed", "'renewed' must be true or false")
        sub = Subscription(
            customer=sys.intern(_str(raw, "customer")),
            plan=_str(raw, "plan", ("production", "beta", "trial", "pilot")),
            deployment=_str(raw, "deployment", ("saas", "on_premise")),
            license=_str(raw, "license", ("subscription", "perpetual")),
            annual_fee=_money(_require(raw, "annual_fee"), "annual_fee"),
            currency=_str(raw, "currency"),
            term_start=_date(_require(raw, "term_start"), "term_start"),
            term_end=_date(_require(raw, "term_end"), "term_end"),
            renewed=renewed,
            support=_str(raw, "support", ("active", "lapsed")),
            where=where,
            extra=_extra(raw, "subscription"),
            support_region=_opt_name(raw, "support_region"),
        )
        if sub.term_end < sub.term_start:
            raise FieldError("term_end", "term_end is before term_start")
        if "services" in raw or "offering" in raw or "overrides" in raw:
            sub.services = _names(raw, "services")
            offering = raw.get("offering")
            if offering is not None and (not isinstance(offering, str) or not offering):
                raise FieldError("offering", "'offering' must be an offering name")
            sub.offering = offering
            sub.overrides = _overrides(raw.get("overrides"), sub)
        return sub
    if kind == "downtime":
        customers = raw.get("customers")
        if customers is not None and (
            not isinstance(customers, list) or not all(isinstance(c, str) for c in customers)
        ):
            raise FieldError("customers", "'customers' must be a list of customer names")
        down = Downtime(
            id=_id(raw),
            start=parse_instant(_require(raw, "start"), "start"),
            end=_opt_instant(raw, "end"),  # none yet: still ongoing, counted up to as-of
            cause=_str(raw, "cause", ("vendor", "customer", "third_party", "force_majeure")),
            maintenance=_str(raw, "maintenance", ("none", "scheduled", "emergency")),
            customers=tuple(customers) if customers is not None else None,
            where=where,
            extra=_extra(raw, "downtime"),
        )
        if "services" in raw or "impact" in raw:
            down.services = _names(raw, "services")
            impact = raw.get("impact")
            if impact is not None and (not isinstance(impact, str) or not impact):
                raise FieldError("impact", "'impact' must be an impact grade like partial_outage")
            down.impact = impact
        if raw.get("affected_share") is not None:
            value = raw["affected_share"]
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal) \
                    or not 0 < value <= 1:
                raise FieldError("affected_share", "'affected_share' must be a number above 0 "
                                                   "and at most 1 (0.37: 37% of the users)")
            down.affected_share = float(value)
        if down.end is not None and down.end < down.start:
            raise FieldError("end", "end is before start")
        return down
    if kind == "notice":
        customer = raw.get("customer")
        if customer is not None and not isinstance(customer, str):
            raise FieldError("customer", "'customer' must be a customer name")
        return Notice(
            id=_id(raw),
            kind=_str(raw, "kind", NOTICE_KINDS),
            about=_str(raw, "about"),
            sent_at=parse_instant(_require(raw, "sent_at"), "sent_at"),
            channel=_str(raw, "channel", ("email", "phone", "portal")),
            customer=customer,
            where=where,
            extra=_extra(raw, "notice"),
        )
    if kind == "change":
        return Change(
            id=_id(raw),
            kind=_str(raw, "kind", ("significant", "high_priority")),
            deployed_at=parse_instant(_require(raw, "deployed_at"), "deployed_at"),
            where=where,
            extra=_extra(raw, "change"),
        )
    if kind == "ticket":
        return _ticket(raw, where)
    if kind == "credit_request":
        return CreditRequest(
            customer=sys.intern(_str(raw, "customer")),
            month=parse_month(_require(raw, "month"), "month"),
            requested_at=parse_instant(_require(raw, "requested_at"), "requested_at"),
            where=where,
            extra=_extra(raw, "credit_request"),
        )
    if kind == "update_request":
        return UpdateRequest(
            id=_id(raw),
            customer=sys.intern(_str(raw, "customer")),
            requested_at=parse_instant(_require(raw, "requested_at"), "requested_at"),
            where=where,
            extra=_extra(raw, "update_request"),
        )
    raise FieldError("type", f"unknown fact type {excerpt(kind)}; expected one of: "
                             f"{', '.join(_KNOWN)}")


def _id(raw: Mapping[str, Any]) -> str:
    value = _require(raw, "id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise FieldError("id", "'id' must be a non-empty string")
    return str(value)


def _ticket(raw: Mapping[str, Any], where: Where) -> Ticket:
    severity = raw.get("severity")
    if severity is not None and (isinstance(severity, bool) or not isinstance(severity, int)):
        raise FieldError("severity", "'severity' must be a whole number (1 is the most severe)")
    if severity is not None and severity < 1:
        raise FieldError("severity", f"severity {severity} is not a level: levels start at 1")
    impact_raw = raw.get("impact")
    impact: Mapping[str, bool] | None = None
    if impact_raw is not None:
        if not isinstance(impact_raw, Mapping):
            raise FieldError("impact", "'impact' must be a mapping of yes/no flags")
        flags = []
        for flag in IMPACT_FLAGS:
            value = impact_raw.get(flag, False)
            if not isinstance(value, bool):
                raise FieldError("impact", f"impact.{flag} must be true or false")
            flags.append(value)
        impact = impact_mapping(tuple(flags))
    history: list[tuple[float, str]] = []
    for entry in raw.get("status_history") or ():
        status = entry.get("status") if isinstance(entry, Mapping) else None
        if not isinstance(status, str) or not status:
            raise FieldError("status_history", "status_history entries need 'at' and 'status'")
        history.append((parse_instant(entry.get("at"), "status_history.at"), status))
    updates_raw = raw.get("updates")
    if updates_raw is not None and not isinstance(updates_raw, list):
        raise FieldError("updates", "'updates' must be a list of timestamps")
    updates = sorted(parse_instant(u, "updates") for u in updates_raw or ())
    ticket = Ticket(
        id=_id(raw),
        customer=sys.intern(_str(raw, "customer")),
        opened_at=parse_instant(_require(raw, "opened_at"), "opened_at"),
        severity=severity,
        impact=impact,
        first_response_at=_opt_instant(raw, "first_response_at"),
        resolved_at=_opt_instant(raw, "resolved_at"),
        status_history=tuple(sorted(history, key=lambda entry: entry[0])),  # ties: as given
        where=where,
        extra=_extra(raw, "ticket"),
        updates=tuple(updates),
    )
    for name in ("first_response_at", "resolved_at"):
        value = getattr(ticket, name)
        if value is not None and value < ticket.opened_at:
            raise FieldError(name, f"{name} is before opened_at")
    if updates and updates[0] < ticket.opened_at:
        raise FieldError("updates", "an update is before opened_at")
    return ticket


# -- reading files ----------------------------------------------------------------------
def iter_raw_facts(
    path: Path, display: str, allow_types: Iterable[str] = (),
    byte_range: tuple[int, int | None, int] = (0, None, 1),
) -> Iterator[tuple[Mapping[str, Any], Where, Any]]:
    """(raw fact, where, document-or-None) for every fact of one file, schema-checked.

    ``byte_range`` reads part of an NDJSON file (see :func:`loader.iter_ndjson`).
    """
    from policyengine.load import loader
    from policyengine.validation import schemas

    if path.suffix.lower() in NDJSON_SUFFIXES:
        # NDJSON is the bulk format: each line is checked by `normalise` (every field of
        # every standard type, with the same located messages) rather than by JSON Schema,
        # which costs more than the whole evaluation of the fact.
        allowed = frozenset(allow_types)
        for line_no, obj in loader.iter_ndjson(path, display_name=display,
                                               byte_range=byte_range):
            kind = obj.get("type")
            if isinstance(kind, str) and kind in allowed and kind not in _KNOWN:
                problems = schemas.validate_fact(obj, display, line_no,
                                                 allow_fact_types=allowed)
                if problems:
                    raise InputError(problems)
            yield obj, Where(display, line_no, 1, -1), None
        return
    document = loader.load_document(path, display_name=display)
    data = document.data
    if isinstance(data, Mapping) and data.get("kind") == "Policy":
        raise InputError.single(
            display, "this is a policy document, not a fact file (give it to --policy)",
            line=1, column=1, code="kind",
        )
    problems = schemas.validate_document(document, "facts", allow_fact_types=allow_types)
    if problems:
        raise InputError(problems)
    for index, raw in enumerate(data.get("facts") or ()):
        line, column = document.locate(("facts", index))
        yield raw, Where(display, line, column, index), document


def load_facts(
    sources: Iterable[str | os.PathLike[str] | Mapping[str, Any]],
    allow_types: Iterable[str] = (),
) -> FactSet:
    """Read fact files (or fact dicts) into a checked :class:`FactSet`.

    ``allow_types`` are extra fact types a policy declares. All problems found are raised
    together as one :class:`InputError`.
    """
    return read_facts(FactSetBuilder(allow_types), sources)


def read_facts(
    builder: FactSetBuilder,
    sources: Iterable[str | os.PathLike[str] | Mapping[str, Any]],
) -> FactSet:
    """Hand every fact of ``sources`` (files, or fact dicts) to ``builder``; then finish it.

    Returns what the builder kept; raises :class:`InputError` with every problem found.
    """
    for source in sources:
        if isinstance(source, Mapping):
            builder.add(source, Where("<api>", 0, 0, builder.counter))
            continue
        for raw, where, _ in iter_raw_facts(Path(source), str(source), builder.allow_types):
            builder.add(raw, where)
    return builder.finish()


class FactSetBuilder:
    """Accumulates facts, checking each, then cross-checks references in ``finish``."""

    def __init__(
        self,
        allow_types: Iterable[str] = (),
        sink: Callable[[str, Any], None] | None = None,
    ) -> None:
        """``allow_types``: fact types the policy declares. ``sink``: when given, each
        per-customer fact (ticket, credit or update request, notice with a ``customer``)
        is handed to ``sink(customer, fact)`` once checked, instead of being kept in the
        FactSet (the streamed report spools them to disk); its references are still
        checked by :meth:`finish`, in the same order. ``allow_types`` may also hold
        ``type.field`` names of fields rule packs declare (not warned about as unknown)."""
        self.allow_types = frozenset(allow_types)
        self.declared = frozenset(t for t in self.allow_types if "." in t)
        self.facts = FactSet()
        self.sink = sink
        self.problems: list[Diagnostic] = []
        self.seen: dict[str, dict[str, int]] = {}  # type → key → file number << 32 | line
        self._files: list[str] = []
        self._file_numbers: dict[str, int] = {}
        self.counter = 0
        self.subject_ids: set[str] = set()  # ids of downtimes and changes (notice subjects)
        # facts whose customer or subject was not known when they came: checked by finish
        self.later_notices: list[Notice] = []
        self.later_customers: list[tuple[int, int, Any]] = []  # (kind rank, order, fact)

    def _problem(self, where: Where, message: str, subject: str = "", path: str = "$") -> None:
        self.problems.append(
            Diagnostic(file=where.file, line=where.line, column=where.column, path=path,
                       message=message, subject=subject, code="fact")
        )
        if len(self.problems) > 200:
            raise InputError(self.problems)

    def add(self, raw: Mapping[str, Any], where: Where) -> None:
        self.counter += 1
        if not isinstance(raw, Mapping):
            self._problem(where, "a fact must be a mapping with a 'type'")
            return
        subject = str(raw.get("id") or raw.get("customer") or "")
        kind = raw.get("type")
        if isinstance(kind, str) and kind in self.allow_types and kind not in _KNOWN:
            self._add_custom(raw, where, subject)
            return
        try:
            fact = normalise(raw, where)
        except FieldError as error:
            if error.problems:
                self.problems.extend(error.problems)
                if len(self.problems) > 200:
                    raise InputError(self.problems) from None
                return
            self._problem(where, str(error), subject, where.path(error.field))
            return
        kind = raw["type"]
        nested = kind == "ticket" and (raw.get("impact") or raw.get("status_history"))
        if (fact.extra or nested) and self._unknown_fields(raw, kind, where, subject):
            return
        # a customer may have several subscriptions (renewals): overlapping terms are
        # refused in finish(), once every term is known
        key_value = getattr(fact, "id", None)
        if key_value is not None:
            first = self._first_seen(kind, key_value, where)
            if first is not None:
                self._problem(where, f"duplicate {kind} id {excerpt(key_value)} "
                              f"(first at {first})", key_value)
                return
        self._place(fact, where)

    def _unknown_fields(self, raw: Mapping[str, Any], kind: str, where: Where,
                        subject: str) -> bool:
        """Report unknown fields (warnings, or errors for scope near misses); True on error."""
        refused = False
        for name, message, hint, is_error in unknown_field_problems(raw, kind, self.declared):
            if is_error:
                refused = True
                self._problem(where, f"{message} ({hint})", subject, where.path(name))
                continue
            self.facts.warnings.append(Diagnostic(
                file=where.file, line=where.line, column=where.column, path=where.path(name),
                message=message, subject=subject, severity="warning", code="unknown-field",
                hint=hint))
        return refused

    def _first_seen(self, kind: str, key: str, where: Where) -> str | None:
        """``FILE:LINE`` of an earlier fact with this key, or None (then remember this one).

        One small int per fact (file number and line), not the location record: a streamed
        evaluation keeps nothing else per fact.
        """
        seen = self.seen.get(kind)
        if seen is None:
            seen = self.seen[kind] = {}
        first = seen.get(key)
        if first is not None:
            return f"{self._files[first >> 32]}:{first & 0xFFFFFFFF}"
        number = self._file_numbers.get(where.file)
        if number is None:
            number = self._file_numbers[where.file] = len(self._files)
            self._files.append(where.file)
        seen[key] = (number << 32) | (where.line & 0xFFFFFFFF)
        return None

    def _place(self, fact: Any, where: Where) -> None:
        """Keep a checked fact (or hand a per-customer one to the sink).

        A reference that can be decided now (the customer's subscription or the notice's
        subject came earlier) is; the others wait for :meth:`finish`.
        """
        facts = self.facts
        rank = CUSTOMER_FACT_RANK.get(type(fact))
        if rank is not None:  # ticket, credit request, update request
            if fact.customer not in facts.subscriptions:
                self.unresolved_customer(rank, fact)
            if self.sink is None:
                getattr(facts, _CUSTOMER_FACT_LIST[rank]).append(fact)
            else:
                self.sink(fact.customer, fact)
        elif isinstance(fact, Notice):
            if fact.about not in self.subject_ids or (
                fact.customer is not None and fact.customer not in facts.subscriptions
            ):
                self.unresolved_notice(fact)
            if fact.customer is None or self.sink is None:
                facts.notices.append(fact)
            else:
                self.sink(fact.customer, fact)
        elif isinstance(fact, Subscription):
            # several per customer (renewals): overlaps are refused by finish()
            facts.subscriptions.setdefault(fact.customer, []).append(fact)
        elif isinstance(fact, Downtime):
            if fact.end == fact.start:
                facts.warnings.append(Diagnostic(
                    file=where.file, line=where.line, column=where.column,
                    path=where.path("end"), subject=fact.id, severity="warning",
                    code="fact", message="zero-length downtime window; it counts for nothing",
                ))
            facts.downtimes.append(fact)
            self.subject_ids.add(fact.id)
        elif isinstance(fact, Change):
            facts.changes.append(fact)
            self.subject_ids.add(fact.id)

    def unresolved_customer(self, rank: int, fact: Any) -> None:
        """A fact named a customer not (yet) subscribed: check it in :meth:`finish`."""
        self.later_customers.append((rank, self.counter, fact))

    def unresolved_notice(self, notice: Notice) -> None:
        """A notice named a subject or customer not (yet) known: check it in :meth:`finish`."""
        self.later_notices.append(notice)

    def _add_custom(self, raw: Mapping[str, Any], where: Where, subject: str) -> None:
        customer = raw.get("customer")
        if customer is not None and not isinstance(customer, str):
            self._problem(where, "'customer' must be a customer name", subject)
            return
        fact_id = raw.get("id")
        if fact_id is not None:
            first = self._first_seen(str(raw["type"]), str(fact_id), where)
            if first is not None:
                self._problem(where, f"duplicate {raw['type']} id {excerpt(str(fact_id))} "
                              "(first at "
                              f"{first})", str(fact_id))
                return
        self.facts.custom.append(CustomFact(
            type=str(raw["type"]), id=str(fact_id) if fact_id is not None else None,
            customer=customer, fields=dict(raw), where=where))

    def finish(self) -> FactSet:
        """Cross-check references (customers, notice subjects); raise every problem found.

        Problems come in this order: overlapping subscription terms, downtimes' customers,
        then notices, then tickets, credit requests and update requests, then custom facts;
        each kind in input order. Each customer's subscriptions are then in ``term_start``
        order.
        """
        self._check_subscriptions()
        self._check_downtimes()
        for notice in self.later_notices:
            self._check_notice(notice)
        for _rank, _order, item in sorted(self.later_customers, key=itemgetter(0, 1)):
            self._check_customer(item)
        self._check_custom()
        if self.problems:
            raise InputError(self.problems)
        return self.facts

    def _check_subscriptions(self) -> None:
        """Renewals may not overlap: a term that shares a day with an earlier-listed term of
        the same customer is an error at its ``term_start``. Then each customer's terms are
        put in order of ``term_start``."""
        for customer, subs in self.facts.subscriptions.items():
            for index, sub in enumerate(subs):
                for earlier in subs[:index]:
                    if sub.term_start <= earlier.term_end and earlier.term_start <= sub.term_end:
                        # one shared day where one term ends and the other begins: the
                        # usual slip of writing an exclusive end date
                        first, then = sorted((earlier, sub), key=lambda s: s.term_start)
                        hint = (f" (term_end is included in a term: end the earlier one on "
                                f"{first.term_end - _DAY} or begin the renewal on "
                                f"{then.term_start + _DAY})"
                                if first.term_end == then.term_start else "")
                        self._problem(
                            sub.where,
                            f"subscription term {sub.term_start}..{sub.term_end} overlaps the "
                            f"term {earlier.term_start}..{earlier.term_end} of the same customer "
                            f"at {earlier.where.file}:{earlier.where.line}; renewals must not "
                            f"overlap{hint}",
                            customer, sub.where.path("term_start"))
                        break
            subs.sort(key=lambda s: s.term_start)

    def _check_downtimes(self) -> None:
        customers = self.facts.subscriptions
        for down in self.facts.downtimes:
            for customer in down.customers or ():
                if customer not in customers:
                    self._problem(down.where, f"downtime names customer {excerpt(customer)}, "
                                  "who has no subscription in the facts", down.id,
                                  down.where.path("customers"))

    def _check_notice(self, notice: Notice) -> None:
        if notice.about not in self.subject_ids:
            self._problem(notice.where, f"notice is about {excerpt(notice.about)}, which is no "
                          "downtime or change id in the facts", notice.id,
                          notice.where.path("about"))
        if notice.customer is not None and notice.customer not in self.facts.subscriptions:
            self._problem(notice.where, f"notice names customer {excerpt(notice.customer)}, who "
                          "has no subscription in the facts", notice.id,
                          notice.where.path("customer"))

    def _check_customer(self, item: Any) -> None:
        if item.customer not in self.facts.subscriptions:
            subject = getattr(item, "id", None) or item.customer
            self._problem(item.where, f"customer {excerpt(item.customer)} has no subscription "
                          "in the facts", subject, item.where.path("customer"))

    def _check_custom(self) -> None:
        for item in self.facts.custom:
            if item.customer is not None:
                self._check_customer(item)
