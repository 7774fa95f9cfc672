"""Read a saved JSON report back, without evaluating anything again.

The JSON report is written one row per line (:mod:`policyengine.model.json_report`), so it
is read here line by line, one small JSON value at a time (a report that another tool
re-indented is parsed as one document instead). The rows are held in memory as dicts:
``customers`` narrows what is kept for rendering.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import typing
from collections.abc import Callable, Collection, Iterator
from typing import Any

from policyengine.diagnostics import Diagnostic, InputError, excerpt
from policyengine.model.json_report import OPTIONAL_SECTIONS, ROW_SECTIONS

_LISTS = ("policy", *ROW_SECTIONS, "findings")


def load_report(path: str | os.PathLike[str],
                customers: Collection[str] | None = None) -> dict[str, Any]:
    """The report at ``path`` as a dict: ``as_of``, ``policy``, each row section, ``findings``
    and, when the report has one, ``decision`` (the audit header).

    ``customers``: keep only rows of these customers and the findings about them (a finding's
    customer is read from its subject: ``customer/...``, or the ticket or update request it
    names). Raises :class:`InputError` (FILE:LINE:COL) for a file that is not JSON or not a
    policyengine report, or when one of ``customers`` has no row and no finding in it (a
    misspelt name would otherwise give an empty page); ``OSError`` when it cannot be read.
    """
    name = str(path)
    positions: dict[tuple[str, int], int] = {}
    with open(path, encoding="utf-8") as stream:
        first = stream.readline()
        try:
            if first != "{\n":
                raise _OtherLayout
            document = _by_lines(stream, name, positions)
        except _OtherLayout:
            positions.clear()
            stream.seek(0)
            document = _whole(stream.read(), name)
    _check(document, name)
    _check_rows(document, name, positions)
    if customers is not None:
        wanted = set(customers)
        unknown = sorted(wanted - set(customers_in(document)))
        if unknown:
            known = customers_in(document)
            raise InputError.single(
                name, f"no customer {unknown[0]!r} in this report (it has "
                + (", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
                   if known else "no customer") + ")", code="load")
        document = only_customers(document, wanted)
    return document


def customers_in(document: dict[str, Any]) -> list[str]:
    """The customers the report has rows or findings about, sorted."""
    find = customer_of(document)
    names = {row["customer"] for name in _row_sections(document) for row in document[name]
             if isinstance(row.get("customer"), str)}
    names.update(c for c in map(find, document["findings"]) if c is not None)
    return sorted(names)


def _row_sections(document: dict[str, Any]) -> tuple[str, ...]:
    """The row sections the report has: every one of ROW_SECTIONS, and the optional ones
    (``remedies``) when present."""
    return (*ROW_SECTIONS, *(name for name in OPTIONAL_SECTIONS
                             if isinstance(document.get(name), list)))


class _OtherLayout(Exception):
    """Not the layout the report writer uses: parse the text as one JSON document."""


def _whole(text: str, name: str) -> dict[str, Any]:
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise InputError.single(name, f"not a JSON report: {error.msg}", line=error.lineno,
                                column=error.colno, code="load") from None
    except ValueError as error:  # NaN, Infinity
        raise InputError.single(name, f"not a JSON report: {error}", code="load") from None
    if not isinstance(document, dict):
        raise InputError.single(name, "not a policyengine report: the JSON is not an object",
                                code="load")
    return document


def _by_lines(lines: Iterator[str], name: str,
              positions: dict[tuple[str, int], int]) -> dict[str, Any]:
    """The layout of ``report_pieces``: ``"key": value,`` lines, lists one item per line.

    ``positions`` gets the line number of each list item: ``(section, index) -> line``."""
    document: dict[str, Any] = {}
    current: list[Any] | None = None
    section = ""
    decode = json.JSONDecoder(parse_constant=_no_constant).decode
    for number, line in enumerate(lines, start=2):
        text = line.rstrip("\n")
        try:
            if current is not None:
                if text.startswith("  ]"):
                    current = None
                    continue
                positions[(section, len(current))] = number
                try:
                    current.append(decode(text.strip().removesuffix(",")))
                except _Constant as error:
                    raise InputError.single(name, f"not a JSON report: {error}", line=number,
                                            column=1, path=f"$.{section}[{len(current)}]",
                                            code="load") from None
                continue
            if text == "}":
                return document
            key_text, sep, value_text = text.strip().partition(": ")
            if not sep:
                raise ValueError("expected \"key\": value")
            key = decode(key_text)
            if value_text == "[":
                current = document.setdefault(key, [])
                section = str(key)
                continue
            document[key] = decode(value_text.removesuffix(","))
        except ValueError:
            raise _OtherLayout from None  # re-indented, or not JSON: json.loads says where
    raise InputError.single(name, "not a policyengine JSON report: it ends before its "
                            "closing brace (cut short?)", code="load")


def _check(document: dict[str, Any], name: str) -> None:
    missing = [key for key in ("as_of", *_LISTS) if key not in document]
    if missing:
        raise InputError.single(name, "not a policyengine JSON report: no "
                                + ", ".join(repr(m) for m in missing), code="load")
    for key in (*_LISTS, *(o for o in OPTIONAL_SECTIONS if o in document)):
        if not isinstance(document[key], list) or not all(
                isinstance(item, dict) for item in document[key]):
            raise InputError.single(name, f"not a policyengine JSON report: {key!r} is not "
                                    "a list of objects", code="load")


class _Constant(ValueError):
    """NaN, Infinity or -Infinity: JSON that Python reads, but no number a report holds."""


def _no_constant(word: str) -> Any:
    raise _Constant(f"{word} is not a number a report holds")


def _row_schema(row_type: type) -> dict[str, Any]:
    """The JSON Schema of one row, from the row class of the report model
    (:data:`policyengine.model.results.ROW_TYPES`): a field typed ``... | Any`` (left out
    as ``ABSENT``) is optional; ``int | float`` is a number, ``str`` text, ``bool`` true
    or false, ``None`` null. Amounts are decimal strings (docs/interface.md §2)."""
    hints = typing.get_type_hints(row_type)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in dataclasses.fields(row_type):
        arguments = typing.get_args(hints[field.name]) or (hints[field.name],)
        types = sorted({_JSON_TYPES[a] for a in arguments if a in _JSON_TYPES})
        properties[field.name] = {"type": types}
        if field.name in _AMOUNTS:
            properties[field.name]["pattern"] = _AMOUNT
        if Any not in arguments:
            required.append(field.name)
    return {"type": "object", "properties": properties, "required": required}


_JSON_TYPES: dict[Any, str] = {str: "string", bool: "boolean", int: "number",
                               float: "number", type(None): "null"}
_AMOUNTS = ("amount", "uncapped_amount", "cap_reduction")
_AMOUNT = r"^-?[0-9]{1,30}(\.[0-9]{1,30})?$"
_TEXT_FIELDS = {"policy": ("name", "version"),
                "findings": ("rule", "clause", "subject", "outcome", "message")}


def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a saved JSON report: the contract of docs/interface.md
    §2 as the report model writes it (more fields may be added: they are allowed)."""
    from policyengine.model.results import ROW_TYPES

    sections: dict[str, Any] = {
        name: {"type": "array", "items": {
            "type": "object", "required": list(fields),
            "properties": {f: {"type": "string"} for f in fields}}}
        for name, fields in _TEXT_FIELDS.items()}
    for name, row_type in ROW_TYPES.items():
        sections[name] = {"type": "array", "items": _row_schema(row_type)}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
            "required": ["as_of", *_LISTS], "properties": {
                "as_of": {"type": "string"}, "decision": {"type": "object"}, **sections}}


_WORDS = {"string": "text", "number": "a number", "boolean": "true or false",
          "null": "null", "object": "an object", "array": "a list"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"text {excerpt(value)}"
    return "null" if value is None else "a list" if isinstance(value, list) else "an object"


def _check_rows(document: dict[str, Any], name: str,
                positions: dict[tuple[str, int], int]) -> None:
    """Every row against :func:`report_schema`: one located line per problem, the first
    20 problems (the renderer reads these fields; a row without them cannot be shown)."""
    import jsonschema

    validator = jsonschema.Draft7Validator(_SCHEMA())
    problems: list[Diagnostic] = []
    missing_in: set[int] = set()

    def order(error: Any) -> list[tuple[int, int, str]]:
        return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.path]

    for error in sorted(validator.iter_errors(document), key=order):
        where = list(error.absolute_path)
        line = positions.get((str(where[0]), where[1]), 0) if len(where) >= 2 else 0
        json_path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)
        if error.validator == "required":
            if id(error.instance) in missing_in:
                continue  # one line per row names every field it lacks
            missing_in.add(id(error.instance))
            fields = [f for f in error.validator_value if f not in error.instance]
            message = (f"missing field{'s' if len(fields) > 1 else ''} "
                       f"{', '.join(repr(f) for f in fields)}")
        elif error.validator == "type":
            wanted = error.validator_value
            wanted = [wanted] if isinstance(wanted, str) else wanted
            message = (f"expected {' or '.join(_WORDS[w] for w in wanted)}, got "
                       f"{_kind(error.instance)}")
        elif error.validator == "pattern":
            message = (f"expected a decimal amount like 120.00, got "
                       f"{_kind(error.instance)}")
        else:
            message = str(error.message)
        problems.append(Diagnostic(file=name, line=line, column=1 if line else 0,
                                   path=json_path, message=f"not a policyengine JSON "
                                   f"report: {message}", code="load"))
        if len(problems) == 20:
            break
    if problems:
        raise InputError(problems)


@functools.cache
def _SCHEMA() -> dict[str, Any]:  # noqa: N802 - a constant, built once
    return report_schema()


def customer_of(document: dict[str, Any]) -> Callable[[dict[str, Any]], str | None]:
    """A function giving the customer a finding is about, or None (fleet-wide or unknown).

    A subject ``customer/...`` names its customer (the longest known customer name that
    prefixes it wins); a ticket id or an update-request id is looked up in its section.
    """
    customers = {row["customer"] for name in _row_sections(document) for row in document[name]
                 if isinstance(row.get("customer"), str)}
    tickets = {row.get("id"): row["customer"] for row in document["tickets"]}
    requests = {row.get("id"): row["customer"] for row in document["entitlements"]}

    def find(finding: dict[str, Any]) -> str | None:
        subject = str(finding.get("subject", ""))
        head, slash, _ = subject.partition("/")
        while slash:
            if head in customers:
                return head
            more, slash, _ = subject[len(head) + 1:].partition("/")
            head = f"{head}/{more}"
        first, second = ((requests, tickets) if str(finding.get("rule", "")).startswith(
            "entitlements.") else (tickets, requests))
        return first.get(subject) or second.get(subject)

    return find


def only_customers(document: dict[str, Any], customers: set[str]) -> dict[str, Any]:
    """The report with only these customers' rows and findings (header kept)."""
    find = customer_of(document)
    kept = dict(document)
    for name in _row_sections(document):
        kept[name] = [row for row in document[name] if row.get("customer") in customers]
    kept["findings"] = [f for f in document["findings"] if find(f) in customers]
    return kept


__all__ = ["customer_of", "customers_in", "load_report", "only_customers", "report_schema"]
