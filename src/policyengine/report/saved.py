"""Read a saved JSON report back, without evaluating anything again.

The JSON report is written one row per line (:mod:`policyengine.model.json_report`), so it
is read here line by line, one small JSON value at a time (a report that another tool
re-indented is parsed as one document instead). The rows are held in memory as dicts:
``customers`` narrows what is kept for rendering.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterator
from typing import Any

from policyengine.diagnostics import InputError
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
    with open(path, encoding="utf-8") as stream:
        first = stream.readline()
        try:
            if first != "{\n":
                raise _OtherLayout
            document = _by_lines(stream, name)
        except _OtherLayout:
            stream.seek(0)
            document = _whole(stream.read(), name)
    _check(document, name)
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
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError.single(name, f"not a JSON report: {error.msg}", line=error.lineno,
                                column=error.colno, code="load") from None
    if not isinstance(document, dict):
        raise InputError.single(name, "not a policyengine report: the JSON is not an object",
                                code="load")
    return document


def _by_lines(lines: Iterator[str], name: str) -> dict[str, Any]:
    """The layout of ``report_pieces``: ``"key": value,`` lines, lists one item per line."""
    document: dict[str, Any] = {}
    current: list[Any] | None = None
    decode = json.JSONDecoder().decode
    for line in lines:
        text = line.rstrip("\n")
        try:
            if current is not None:
                if text.startswith("  ]"):
                    current = None
                    continue
                current.append(decode(text.strip().removesuffix(",")))
                continue
            if text == "}":
                return document
            key_text, sep, value_text = text.strip().partition(": ")
            if not sep:
                raise ValueError("expected \"key\": value")
            key = decode(key_text)
            if value_text == "[":
                current = document.setdefault(key, [])
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


__all__ = ["customer_of", "customers_in", "load_report", "only_customers"]
