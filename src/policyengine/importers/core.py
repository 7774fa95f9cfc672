"""What every importer shares: located diagnostics, record → fact builders, provenance, NDJSON.

An importer reads source records and hands each to a builder here (:meth:`Run.ticket`,
:meth:`Run.downtime`, :meth:`Run.notice`, :meth:`Run.fact`), which checks what the mapping
cannot place (no customer, an unknown priority, a status change or resolution before
creation) and reports it as a located warning or error: never a silent drop or guess.

Every fact written carries ``provenance: {source, id, file, line}``: an extra field that
``evaluate`` keeps on the fact (unknown fields are kept) so a finding or an error can be
traced to the source record. A source's own SLA verdict travels as
``source_sla: {response_met, resolution_met}`` (read by ``policyengine reconcile``).
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from policyengine.diagnostics import Diagnostic, InputError
from policyengine.importers.mapping import ImportMapping
from policyengine.importers.timestamps import OFFSET_WITHOUT_COLON, Clock, TimestampError
from policyengine.model.facts import IMPACT_FLAGS, Where
from policyengine.validation.facts import FieldError, normalise

MAX_ERRORS = 200


class SeenIds:
    """Which (fact type, id) pairs an import has written, in bounded memory.

    A 64-bit fingerprint per pair (BLAKE2b of the pair) in an open-addressing
    table kept at most half full: 16 bytes a fact, so a million facts cost 16 MiB, against
    about 100 for a set of the ids themselves. Two different ids share a fingerprint with a
    chance of about n²/2⁶⁵ (3·10⁻⁸ for a million facts).
    """

    __slots__ = ("count", "table")

    def __init__(self) -> None:
        self.table = array("Q", bytes(8 * 1024))
        self.count = 0

    def add(self, kind: str, fact_id: str) -> bool:
        """Record the pair; False when it was already recorded."""
        # a stable hash (not Python's per-process salted one): the same export gives the
        # same answer on every run, even in the 1-in-10^8 case of two ids colliding
        digest = hashlib.blake2b(f"{kind}\0{fact_id}".encode("utf-8", "surrogatepass"),
                                 digest_size=8).digest()
        code = int.from_bytes(digest, "little") or 1
        if not self._put(self.table, code):
            return False
        self.count += 1
        if self.count * 2 > len(self.table):
            bigger = array("Q", bytes(16 * len(self.table)))
            for old in self.table:
                if old:
                    self._put(bigger, old)
            self.table = bigger
        return True

    @staticmethod
    def _put(table: array, code: int) -> bool:
        mask = len(table) - 1
        slot = code & mask
        while True:
            held = table[slot]
            if held == 0:
                table[slot] = code
                return True
            if held == code:
                return False
            slot = (slot + 1) & mask


@dataclass(frozen=True, slots=True)
class At:
    """Where a source record is: file, 1-based line (and column), and the source's id."""

    file: str
    line: int
    column: int = 1
    source_id: str = ""
    # The JSON document and the record's path in it, to locate what is nested in the record
    # (a changelog entry): None for NDJSON and CSV, where the record's line is the place.
    path: tuple[str | int, ...] = field(default=(), compare=False, repr=False)
    document: Any = field(default=None, compare=False, repr=False)
    # a CSV row's columns: column name -> (line, column) of its cell
    cells: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False,
                                                 repr=False)

    def named(self, source_id: Any) -> At:
        """The same place, naming the record's source id."""
        return replace(self, source_id="" if source_id is None else str(source_id))

    def cell(self, column: str) -> At:
        """The place of a column (CSV) or a dotted field path (JSON) of this record (the
        record's own place when unknown)."""
        if column in self.cells:
            line, col = self.cells[column]
            return replace(self, line=line, column=col)
        if self.document is not None and column:
            return self.inner(*(int(p) if p.isdigit() else p for p in column.split(".")))
        return self

    def of(self, name: str) -> At:
        """The place of a fact field's cell when the importer knows it (the generic CSV
        importer names each mapped field's cell), else this record's place."""
        if name in self.cells:
            line, col = self.cells[name]
            return replace(self, line=line, column=col)
        return self

    def inner(self, *path: str | int) -> At:
        """The place of ``path`` inside this record (the record's own place when unknown)."""
        if self.document is None:
            return self
        try:
            line, column = self.document.locate((*self.path, *path))
        except (KeyError, IndexError, TypeError):  # pragma: no cover - a path not in it
            return self
        return replace(self, line=line, column=column, path=(*self.path, *path))


class Run:
    """One import: the mapping, the clock, and the diagnostics found so far.

    ``strict`` turns every warning into an error. ``check_ids`` refuses a second fact with
    an id already written (16 bytes of memory a fact; off by default: memory stays flat).
    Errors are collected (up to ``MAX_ERRORS``, then :class:`InputError` is raised at once);
    :meth:`finish` raises them all after the last record, so no output is kept from an
    import with errors.
    """

    def __init__(self, mapping: ImportMapping, source: str, strict: bool = False,
                 check_ids: bool = False) -> None:
        self.mapping = mapping
        self.source = source
        self.strict = strict
        self.clock = Clock(mapping.timezone, mapping.formats, mapping.epoch,
                           offset_without_colon=source in OFFSET_WITHOUT_COLON)
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.written = 0
        self.records = 0
        self.skipped: dict[str, int] = {}  # reason → count (filters the mapping declares)
        # duplicate ids are refused by `evaluate` anyway (located at the output line, whose
        # provenance names the record); checking here costs 16 bytes a fact, so it is asked for
        self.seen = SeenIds() if check_ids else None

    # -- diagnostics -----------------------------------------------------------------------
    def problem(self, at: At, message: str, field: str = "", warning: bool = False) -> None:
        """Record a located problem about one source record (a warning unless strict)."""
        is_warning = warning and not self.strict
        diagnostic = Diagnostic(
            file=at.file, line=at.line, column=at.column,
            path=f"$.{field}" if field else "$", message=message, code="import",
            severity="warning" if is_warning else "error", subject=at.source_id,
        )
        if is_warning:
            self.warnings.append(diagnostic)
            return
        self.errors.append(diagnostic)
        if len(self.errors) >= MAX_ERRORS:
            raise InputError(self.errors)

    def warn(self, at: At, message: str, field: str = "") -> None:
        self.problem(at, message, field, warning=True)

    def skip(self, reason: str) -> None:
        """Count a record the mapping filters out on purpose (reported in the summary)."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def finish(self) -> None:
        """Raise every error found (after the last record); warnings stay in ``warnings``."""
        if self.errors:
            raise InputError(self.errors)

    # -- values ----------------------------------------------------------------------------
    def instant(self, value: Any, at: At, field: str) -> str | None:
        """``value`` as ISO 8601 with an offset, or None after recording a located error."""
        try:
            instant = self.clock.instant(value)
        except TimestampError as error:
            self.problem(at.of(field), f"{field}: {error}", field)
            return None
        if self.clock.last_ambiguous:  # a fall-back hour: located, an error with --strict
            self.warn(at.of(field), f"{field}: {self.clock.last_ambiguous}", field)
        return instant

    def order(self, value: Any) -> float:
        """A sort key in time for a raw source timestamp (its instant; unreadable ones last).

        Sorting the text instead misorders instants written with different offsets (the
        hour after a fall-back: 01:10-05:00 is after 01:50-04:00)."""
        try:
            return _order(self.clock.instant(value))
        except (TimestampError, ValueError, TypeError):
            return float("inf")

    def fact_id(self, source_id: Any) -> str:
        """The fact id of a source id ("" when the record has none: :meth:`fact` refuses it)."""
        if source_id is None or source_id == "":
            return ""
        return f"{self.mapping.id_prefix}{source_id}"

    def customer(self, keys: Iterable[Any], at: At, what: str) -> str | None:
        """The customer of the first key the mapping's ``customers`` table knows.

        ``keys`` are the record's organisation/company/requester values, most specific
        first. No key → a warning ("not imported"); keys none of which is mapped → a
        warning naming them. Returns None when the record cannot be placed.
        """
        present = [str(k) for k in keys if k not in (None, "")]
        for key in present:
            if key in self.mapping.customers:
                return self.mapping.customers[key]
        if not present:
            self.warn(at, f"{what} has no organisation, company or requester: no customer "
                      "to place it with; not imported", "customer")
        else:
            self.warn(at, f"{what} belongs to {', '.join(map(repr, present))}, which the "
                      "mapping's 'customers' table does not list; not imported", "customer")
        return None

    def severity(self, priority: Any, at: At) -> int | None:
        """The mapped severity of a priority; None when there is none.

        A priority the ``severity`` table does not list is an error (it is a value of a
        mapped field the mapping cannot read) unless the table declares a default with the
        key ``"*"``: a level, or null for "no assigned severity (the policy classifies the
        ticket from its impact)".
        """
        if priority in (None, ""):
            return None
        table = self.mapping.severity
        if str(priority) in table:
            return table[str(priority)]
        if "*" in table:
            return table["*"]
        listed = ", ".join(repr(k) for k in table)
        self.problem(at, f"priority {str(priority)!r} is not in the mapping's 'severity' "
                     f"table ({listed}); list it, or declare a default for every other "
                     "priority (\"*\": a level, or null for none: the policy classifies the "
                     "ticket from its impact)", "severity")
        return None

    def impact(self, keys: Iterable[Any]) -> dict[str, bool] | None:
        """Impact flags set by any of ``keys`` (priority, tags, labels); None if none apply."""
        flags: dict[str, bool] | None = None
        for key in keys:
            found = self.mapping.impact.get(str(key))
            if found is None:
                continue
            flags = flags or dict.fromkeys(IMPACT_FLAGS, False)
            for flag, value in found.items():
                flags[flag] = flags[flag] or value
        return flags

    def customers_of(self, components: Iterable[Any], at: At) -> tuple[bool, list[str] | None]:
        """(placed, customers) for affected components or services.

        ``None`` customers means every SaaS customer ('*'); a component the mapping does not
        list is a warning and the record is not placed.
        """
        names = [str(c) for c in components if c not in (None, "")]
        if not names:
            self.warn(at, "names no component or service: no customers to place it with; not "
                      "imported", "customers")
            return False, None
        chosen: set[str] = set()
        for name in names:
            if name not in self.mapping.components:
                self.warn(at, f"component or service {name!r} is not in the mapping's "
                          "'components' table; not imported", "customers")
                return False, None
            customers = self.mapping.components[name]
            if customers is None:
                return True, None
            chosen.update(customers)
        return True, sorted(chosen)

    def status(self, status: str) -> str:
        return self.mapping.statuses.get(status, status)

    def labelled(self, name: str, labels: list[str], at: At) -> str | None:
        """``cause`` or ``maintenance`` from labels or the default; None (warned) if neither."""
        choice = getattr(self.mapping, name)
        value = choice.pick(labels)
        if value is None:
            self.problem(at, f"no label gives the {name} and the mapping declares no "
                         f"'{name}.default' (add one, or a label for this record)", name)
        return value

    # -- facts -----------------------------------------------------------------------------
    def provenance(self, at: At) -> dict[str, Any]:
        return {"source": self.source, "id": at.source_id, "file": at.file, "line": at.line}

    def fact(self, fact: dict[str, Any], at: At) -> str | None:
        """One fact as an NDJSON line, with its provenance (counted as written).

        The fact is checked as ``evaluate`` checks it (``validation.facts.normalise``): a
        value ``evaluate`` would refuse (a ``cause`` of ``Vendor``, a record without an id)
        is an error here, at the source record, not later at a line of the fact file. A
        second fact of the same type and id (the same page given twice, overlapping
        exports) is an error too. Returns None after recording the error.
        """
        if fact.get("id") == "":
            self.problem(at, f"record has no id: nothing to name the {fact['type']} by", "id")
            return None
        try:
            normalise(fact, Where(at.file, at.line, at.column, -1))
        except FieldError as error:
            self.problem(at, f"{error} (evaluate would refuse this {fact['type']})",
                         error.field)
            return None
        if (self.seen is not None and "id" in fact
                and not self.seen.add(fact["type"], str(fact["id"]))):
            self.problem(at, f"duplicate {fact['type']} id {fact['id']!r}: an earlier record "
                         "of this import already made it (the same page or file given "
                         "twice, or overlapping exports?)", "id")
            return None
        fact["provenance"] = self.provenance(at)
        self.written += 1
        return json.dumps(fact, ensure_ascii=False, separators=(", ", ": ")) + "\n"

    def ticket(self, at: At, *, source_id: Any, customer: str | None, opened_at: Any,
               severity: int | None = None, impact: Mapping[str, bool] | None = None,
               first_response_at: Any = None, resolved_at: Any = None,
               history: Iterable[tuple[Any, str, At]] = (),
               source_sla: Mapping[str, bool | None] | None = None) -> str | None:
        """A ticket fact line, or None after recording why it cannot be one.

        Times are raw source values (parsed here); ``history`` is (at, status, where) per
        status change. A status change, first response or resolution before creation is an
        error at the record that says so.
        """
        opened = self.instant(opened_at, at, "opened_at") if opened_at is not None else None
        if opened_at is None:
            self.problem(at, "ticket has no creation time", "opened_at")
        if opened is None:
            return None
        # a record not placed (customer None, warned) is still checked: its errors are
        # reported whatever its warnings (nothing is written from an import with errors)
        fact: dict[str, Any] = {"type": "ticket", "id": self.fact_id(source_id),
                                "customer": customer, "opened_at": opened}
        if severity is not None:
            fact["severity"] = severity
        if impact is not None:
            fact["impact"] = dict(impact)
        opened_key = _order(opened)
        ok = True
        for name, raw in (("first_response_at", first_response_at),
                          ("resolved_at", resolved_at)):
            if raw in (None, ""):
                continue
            value = self.instant(raw, at, name)
            if value is None:
                ok = False
            elif _order(value) < opened_key:
                self.problem(at.of(name), f"{name} {value} is before the ticket was created "
                             f"({opened})", name)
                ok = False
            else:
                fact[name] = value
        entries = []
        for raw, status, where in history:
            value = self.instant(raw, where, "status_history.at")
            if value is None:
                ok = False
            elif _order(value) < opened_key:
                self.problem(where, f"status change to {status!r} at {value} is before the "
                             f"ticket was created ({opened})", "status_history")
                ok = False
            else:
                entries.append({"at": value, "status": self.status(status)})
        if entries:
            entries.sort(key=lambda entry: _order(entry["at"]))  # in time, not as written
            fact["status_history"] = entries
        if source_sla is not None and any(v is not None for v in source_sla.values()):
            fact["source_sla"] = dict(source_sla)
        return self.fact(fact, at) if ok and customer is not None else None

    def downtime(self, at: At, *, source_id: Any, start: Any, end: Any, cause: str | None,
                 maintenance: str | None, customers: list[str] | None) -> str | None:
        """A downtime fact line, or None after recording why (no end: still open)."""
        begin = self.instant(start, at, "start") if start is not None else None
        if start is None:
            self.problem(at, "no start time", "start")
        if end in (None, ""):
            self.warn(at, "still open (no end time): a downtime needs an end; not imported "
                      "(import again once it is resolved)", "end")
            return None
        finish = self.instant(end, at, "end")
        if begin is None or finish is None:
            return None
        if _order(finish) < _order(begin):
            self.problem(at.of("end"), f"ends ({finish}) before it starts ({begin})", "end")
            return None
        if cause is None or maintenance is None:
            return None
        fact: dict[str, Any] = {"type": "downtime", "id": self.fact_id(source_id),
                                "start": begin, "end": finish, "cause": cause,
                                "maintenance": maintenance}
        if customers is not None:
            fact["customers"] = customers
        return self.fact(fact, at)

    def notice(self, at: At, *, notice_id: str, kind: str, about: str, sent_at: Any,
               channel: str | None, customer: str | None = None) -> str | None:
        """A notice fact line (``about`` is a fact id already prefixed)."""
        sent = self.instant(sent_at, at, "sent_at")
        if channel is None:
            self.problem(at, "the mapping's 'channels' table gives no channel for this "
                         "notice (add the source's channel to it)", "channel")
        if sent is None or channel is None:
            return None
        fact: dict[str, Any] = {"type": "notice", "id": notice_id, "kind": kind,
                                "about": about, "sent_at": sent, "channel": channel}
        if customer is not None:
            fact["customer"] = customer
        return self.fact(fact, at)


def shaped(run: Run, at: At, build: Any, *args: Any) -> Any:
    """``build(*args)``, or None after a located error when the record is not of the shape
    the vendor documents (a string where an object belongs, and so on)."""
    try:
        return build(*args)
    except (AttributeError, TypeError, KeyError, IndexError) as error:
        run.problem(at, f"record is not of the documented shape ({type(error).__name__}: "
                    f"{error})")
        return None


def _order(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp()


def dig(record: Any, path: str) -> Any:
    """``a.b.0.c`` inside nested mappings/lists; None where any step is missing."""
    value = record
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def json_records(path: str, display: str, keys: Iterable[str],
                 single: tuple[str, ...] = ()) -> Iterator[tuple[str, Any, At]]:
    """(top-level key, record, where) for each record of a vendor JSON export.

    The export is one JSON document (an API page such as ``{"tickets": [...]}``) or NDJSON
    (one record a line). ``keys`` are the list keys this source knows; a bare list is
    yielded with key ``""``; a document holding every key of ``single`` is one record
    (``GET /issue/{key}``), yielded with key ``""``. Bad JSON raises a located
    :class:`InputError`.
    """
    from policyengine.load import loader

    if path.lower().endswith((".ndjson", ".jsonl")):
        for line, obj in loader.iter_ndjson(path, display_name=display):
            yield "", obj, At(display, line)
        return
    document = loader.load_document(path, display_name=display)
    data = document.data

    def at(*where: str | int) -> At:
        line, column = document.locate(where)
        return At(display, line, column, path=where, document=document)

    if isinstance(data, list):
        for index, record in enumerate(data):
            yield "", record, at(index)
        return
    if isinstance(data, Mapping):
        if single and all(key in data for key in single):
            yield "", data, At(display, 1, 1, document=document)
            return
        found = False
        for key in keys:
            items = data.get(key)
            if isinstance(items, list):
                found = True
                for index, record in enumerate(items):
                    yield key, record, at(key, index)
            elif isinstance(items, Mapping):  # a single-record page: {"incident": {...}}
                found = True
                yield key, items, at(key)
        if found:
            return
    raise InputError.single(display, f"not an export this importer reads: expected a list of "
                            f"records or an object with one of: {', '.join(keys)}",
                            line=1, column=1, code="import")


def side_then_main(run: Run, files: list[str], keys: Iterable[str],
                   is_main: Callable[[str, Mapping[str, Any]], bool],
                   index: Callable[[str, Mapping[str, Any], At], None]
                   ) -> Iterator[tuple[Mapping[str, Any], At]]:
    """Two passes over a vendor export: side records first, then the main ones, streamed.

    Pass one hands every side record (metric events, audits, log entries, SLA records) to
    ``index``, which keeps the little each importer needs per ticket; pass two reads the
    files again and yields the main records (tickets, incidents) one at a time, so they
    are never all held. A file that cannot be read twice (a pipe) keeps its main records
    from pass one. A record that is not an object, or a side record ``index`` cannot read
    (not of the documented shape), is a located error (pass one).
    """
    keys = tuple(keys)
    again = [os.path.isfile(path) for path in files]
    held: list[list[tuple[Mapping[str, Any], At]]] = [[] for _ in files]
    mains = [False] * len(files)
    for number, path in enumerate(files):
        for key, record, at in json_records(path, path, keys):
            if not isinstance(record, Mapping):
                run.problem(at, "a record must be an object")
            elif not is_main(key, record):
                shaped(run, at, index, key, record, at)
            else:
                mains[number] = True
                if not again[number]:
                    held[number].append((record, at))
    for number, path in enumerate(files):
        if not again[number] or not mains[number]:
            yield from held[number]
            continue
        for key, record, at in json_records(path, path, keys):
            if isinstance(record, Mapping) and is_main(key, record):
                yield record, at
