"""Generic CSV and JSON/NDJSON: any system, with a column/field mapping (``fields``).

Each record becomes one fact of the mapping's ``fact`` type. ``fields`` maps a fact field
(``impact.loss_of_service`` for a flag) to a column or dotted path, a constant
(``{value: vendor}``) or a column with a value table (``{column, values}``, ``split`` for a
list). CSV is read one row at a time (only the ids written are remembered); the line of a
row is the line its record starts on.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from policyengine.diagnostics import InputError
from policyengine.importers.core import At, Run, dig
from policyengine.model.facts import IMPACT_FLAGS

TIME_FIELDS = frozenset({"opened_at", "first_response_at", "resolved_at", "start", "end",
                         "sent_at", "deployed_at", "requested_at"})
_TRUE = frozenset({"true", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "no", "n", "0", ""})
_ID_FIELDS = ("id", "customer")


def read_csv(run: Run, files: Iterable[str]) -> Iterator[str]:
    """Fact lines from CSV files (header row first; ``,`` separated, RFC 4180 quoting)."""
    for path in files:
        yield from _csv_file(run, path)


def _text_lines(handle: Iterable[bytes], path: str) -> Iterator[str]:
    """The lines of a CSV file as text, each decoded on its own: a byte that is not UTF-8
    or a NUL is an error at its own line and column (a decoder reading ahead in blocks
    would report it at the row being parsed, or at line 1). A UTF-8 byte-order mark (as
    Excel writes) is dropped; a UTF-16 one is refused with what to do."""
    for number, raw in enumerate(handle, 1):
        if number == 1:
            if raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise InputError.single(path, "file is UTF-16 text (a byte-order mark "
                                        "0xFF 0xFE or 0xFE 0xFF): save the export as UTF-8",
                                        line=1, column=1, code="import")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            column = len(raw[:error.start].decode("utf-8", "replace")) + 1
            raise InputError.single(path, f"invalid UTF-8 byte 0x{raw[error.start]:02x}; the "
                                    "file must be UTF-8 text (save the export as UTF-8)",
                                    line=number, column=column, code="import") from None
        if "\x00" in text:
            raise InputError.single(path, "NUL character is not allowed (is this a binary "
                                    "file?)", line=number, column=text.index("\x00") + 1,
                                    code="import")
        yield text


def _csv_file(run: Run, path: str) -> Iterator[str]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - with below
    except OSError as error:
        raise InputError.single(path, f"cannot read file: {error.strerror}", code="import") \
            from None
    with handle:
        seen: list[str] = []  # the text lines of the record being read

        def remembered() -> Iterator[str]:
            for text in _text_lines(handle, path):
                seen.append(text)
                yield text

        reader = csv.reader(remembered(), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError.single(path, "empty CSV file: no header row", line=1, column=1,
                                    code="import") from None
        except csv.Error as error:
            raise InputError.single(path, f"not a CSV file: {error}", line=1, column=1,
                                    code="import") from None
        check_columns(run, header, path)
        seen.clear()
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise InputError.single(path, f"bad CSV: {error}", line=start, column=1,
                                        code="import") from None
            line, start = start, reader.line_num + 1
            record_lines, seen[:] = list(seen), []
            if not row or row == [""]:
                continue
            if len(row) != len(header):
                raise InputError.single(path, f"row has {len(row)} columns, the header "
                                        f"{len(header)}", line=line, column=1, code="import")
            cells = dict(zip(header, _cell_places(record_lines, line), strict=False))
            fact = build(run, dict(zip(header, row, strict=True)), At(path, line, cells=cells))
            if fact is not None:
                yield fact


def _cell_places(lines: list[str], first_line: int) -> list[tuple[int, int]]:
    """(line, column) where each field of a CSV record starts (RFC 4180 quoting: a comma
    inside quotes, or a quoted line break, belongs to the field)."""
    places = [(first_line, 1)]
    quoted = False
    for offset, text in enumerate(lines):
        for index, char in enumerate(text):
            if char == '"':
                quoted = not quoted  # a doubled quote toggles twice
            elif char == "," and not quoted:
                places.append((first_line + offset, index + 2))
    return places


def check_columns(run: Run, header: list[str], path: str) -> None:
    """Every column the mapping names must be in the header (one located error if not)."""
    for name, spec in run.mapping.fields.items():
        column = spec if isinstance(spec, str) else (spec.get("column")
                                                     if isinstance(spec, Mapping) else None)
        if column is not None and column not in header:
            raise InputError.single(
                path, f"column {column!r} (mapped to {name} in {run.mapping.file}) is not in "
                f"the header; columns: {', '.join(header)}", line=1, column=1, code="import")


def read_json(run: Run, files: Iterable[str]) -> Iterator[str]:
    """Fact lines from JSON documents (``records`` names the list) or NDJSON files."""
    from policyengine.load import loader

    for path in files:
        if path.lower().endswith((".ndjson", ".jsonl")):
            for line, obj in loader.iter_ndjson(path, display_name=path):
                fact = build(run, obj, At(path, line))
                if fact is not None:
                    yield fact
            continue
        document = loader.load_document(path, display_name=path)
        records_path = run.mapping.records
        items = dig(document.data, records_path) if records_path else document.data
        if not isinstance(items, list):
            raise InputError.single(path, f"no list of records at "
                                    f"{records_path or 'the top level'} (the mapping's "
                                    "'records')", line=1, column=1, code="import")
        prefix: tuple[str | int, ...] = tuple(
            int(p) if p.isdigit() else p for p in records_path.split(".")
        ) if records_path else ()
        for index, record in enumerate(items):
            line, column = document.locate((*prefix, index))
            if not isinstance(record, Mapping):
                raise InputError.single(path, "a record must be an object", line=line,
                                        column=column, code="import")
            fact = build(run, record, At(path, line, column, path=(*prefix, index),
                                         document=document))
            if fact is not None:
                yield fact


def _get(record: Mapping[str, Any], key: str) -> Any:
    if key in record:
        return record[key]
    return dig(record, key) if "." in key else None


def _value(record: Mapping[str, Any], spec: Any) -> tuple[Any, Mapping | None, str]:
    """(value, value table or None, column) of one field spec."""
    if isinstance(spec, str):
        return _get(record, spec), None, spec
    if "value" in spec:
        return spec["value"], None, ""
    column = spec["column"]
    raw = _get(record, column)
    if "split" in spec and isinstance(raw, str):
        raw = [part.strip() for part in raw.split(spec["split"]) if part.strip()]
    return raw, spec.get("values"), column


def build(run: Run, record: Mapping[str, Any], at: At) -> str | None:
    """One record → one fact line of the mapping's type (None when it cannot be placed)."""
    run.records += 1
    mapping = run.mapping
    for name in _ID_FIELDS:  # name the record before anything about it is said
        if name in mapping.fields:
            raw_id = _value(record, mapping.fields[name])[0]
            if raw_id not in (None, ""):
                at = at.named(raw_id)
                break
    values: dict[str, Any] = {}
    columns: dict[str, str] = {}  # fact field -> the column (path) it came from
    for name, spec in mapping.fields.items():
        raw, table, column = _value(record, spec)
        columns[name] = column
        if table is not None and raw not in (None, ""):
            raws = raw if isinstance(raw, list) else [raw]
            mapped = []
            for item in raws:
                if str(item) in table:
                    mapped.append(table[str(item)])
                elif isinstance(spec, Mapping) and "default" in spec:
                    mapped.append(spec["default"])
                else:
                    listed = ", ".join(repr(k) for k in table)
                    run.problem(at.cell(column), f"{column} value {_shown(item)} is not in the "
                                f"mapping's values for {name} ({listed}); list it, or give the "
                                "field a 'default'", name)
                    mapped.append(None)
            raw = mapped if isinstance(raw, list) else mapped[0]
        values[name] = raw
    if at.cells:  # name each fact field's cell too, for the located problems
        at = replace(at, cells={**at.cells, **{name: at.cells[column]
                                              for name, column in columns.items()
                                              if column in at.cells}})
    elif at.document is not None:
        places = {name: at.cell(column) for name, column in columns.items() if column}
        at = replace(at, cells={name: (p.line, p.column) for name, p in places.items()})
    kind = mapping.fact
    if kind == "ticket":
        return _ticket(run, values, at, columns)
    if kind == "downtime":
        return _downtime(run, values, at)
    if kind == "notice":
        about = values.get("about")
        return run.notice(at, notice_id=run.fact_id(values.get("id")), kind=values.get("kind"),
                          about=run.fact_id(about) if about not in (None, "") else about,
                          sent_at=values.get("sent_at"),
                          channel=_channel(run, values.get("channel")),
                          customer=_customer(run, values, at) if values.get("customer")
                          else None)
    fact: dict[str, Any] = {"type": kind}
    for name, value in values.items():
        if value in (None, ""):
            continue
        if name in TIME_FIELDS:
            value = run.instant(value, at, name)
            if value is None:
                return None
        elif name == "customer":
            value = _customer(run, values, at)
            if value is None:
                return None
        elif name == "id":
            value = run.fact_id(value)
        fact[name] = value
    return run.fact(fact, at)


def _customer(run: Run, values: Mapping[str, Any], at: At) -> str | None:
    raw = values.get("customer")
    if run.mapping.customers:
        return run.customer([raw], at, "record")
    if raw in (None, ""):
        run.warn(at, "record has no customer; not imported", "customer")
        return None
    return str(raw)


def _channel(run: Run, raw: Any) -> str | None:
    if raw in (None, ""):
        return run.mapping.channels.get("page")
    return run.mapping.channels.get(str(raw), str(raw) if raw in ("email", "phone", "portal")
                                    else None)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 62 else text[:60] + "...'"


def _default(run: Run, name: str) -> tuple[bool, Any]:
    """(declared, value) of a field's ``default`` in the mapping."""
    spec = run.mapping.fields.get(name)
    if isinstance(spec, Mapping) and "default" in spec:
        return True, spec["default"]
    return False, None


def _flag(run: Run, value: Any, at: At, name: str, column: str = "") -> bool | None:
    """A yes/no cell as a boolean; the field's declared default when unreadable, else a
    located error at the cell (None)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    declared, default = _default(run, name)
    if declared and isinstance(default, bool):
        return default
    run.problem(at.cell(column), f"{name} {_shown(value)} is not yes/no, true/false, 1/0 or "
                "x/empty; fix the export, or give the field a 'default' (true or false)", name)
    return None


def _ticket(run: Run, values: Mapping[str, Any], at: At,
            columns: Mapping[str, str]) -> str | None:
    """A ticket from a record; every problem of the record is reported (a bad flag does
    not hide an error in a timestamp), and a record with an error is not written."""
    mark = len(run.errors)
    customer = _customer(run, values, at)
    priority = values.get("severity")
    if run.mapping.severity:
        severity = run.severity(priority, at.cell(columns.get("severity", "")))
    elif priority in (None, ""):
        severity = None
    else:
        try:
            severity = int(str(priority))
        except ValueError:
            declared, severity = _default(run, "severity")
            if not declared:
                run.problem(at.cell(columns.get("severity", "")),
                            f"severity {_shown(priority)} is not a whole number and the "
                            "mapping has no 'severity' table; add one, or give the field a "
                            "'default' (a level, or null for none)", "severity")
    impact: dict[str, bool] | None = run.impact([priority]) if run.mapping.impact else None
    for flag in IMPACT_FLAGS:
        name = f"impact.{flag}"
        if name in values:
            parsed = _flag(run, values[name], at, name, columns.get(name, ""))
            if parsed is None:
                continue
            impact = impact or dict.fromkeys(IMPACT_FLAGS, False)
            impact[flag] = impact[flag] or parsed
    history = [(entry.get("at"), str(entry.get("status")), at)
               for entry in values.get("status_history") or ()
               if isinstance(entry, Mapping)]
    sla = {name: _flag(run, values[f"source_sla.{name}"], at, f"source_sla.{name}",
                       columns.get(f"source_sla.{name}", ""))
           for name in ("response_met", "resolution_met")
           if values.get(f"source_sla.{name}") not in (None, "")}
    line = run.ticket(at, source_id=values.get("id"), customer=customer,
                      opened_at=values.get("opened_at") or None, severity=severity,
                      impact=impact, first_response_at=values.get("first_response_at"),
                      resolved_at=values.get("resolved_at"), history=history,
                      source_sla=sla or None)
    return None if len(run.errors) > mark else line


def _downtime(run: Run, values: Mapping[str, Any], at: At) -> str | None:
    customers: list[str] | None = None
    raw = values.get("customers")
    if raw not in (None, "", []):
        names = raw if isinstance(raw, list) else [raw]
        if run.mapping.components:
            placed, customers = run.customers_of(names, at)
            if not placed:
                return None
        else:
            customers = [str(n) for n in names]
    cause = values.get("cause") or run.mapping.cause.default
    maintenance = values.get("maintenance") or run.mapping.maintenance.default
    for name, value in (("cause", cause), ("maintenance", maintenance)):
        if value is None:
            run.warn(at, f"no {name} in the record and no '{name}.default' in the mapping; "
                     "not imported", name)
            return None
    return run.downtime(at, source_id=values.get("id"), start=values.get("start"),
                        end=values.get("end"), cause=cause, maintenance=maintenance,
                        customers=customers)
