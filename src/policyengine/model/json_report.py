"""The JSON report's layout, described once: used in memory and by the streamed report.

The document (docs/interface.md §2, plus ``as_of`` and each row's ``policy_version``)::

    {
      "as_of": "2026-11-27T12:00:00-05:00",
      "policy": [
        {"name": "spirion", "version": "1.0.0"}
      ],
      "decision": {"decision_id": "...", "as_of": "...", "policy_sha256": "...", ...},
      "availability": [
        {...one row per line...},
        {...}
      ],
      "credits": [], "tickets": [...], "obligations": [...], "entitlements": [...],
      "findings": [...]
    }

``decision`` (the audit header, :class:`Audit`) is there when the evaluation knows its
fingerprints (every evaluation through :class:`policyengine.api.Engine` does).
Sections come in :data:`SECTIONS` order, one row (or finding) per line, indented by four
spaces, each line but a section's last ending in a comma; an empty section is ``[]`` on
its key's line. Rows are their fields in declaration order (:func:`row_dict`); findings
are :data:`FINDING_FIELDS`. Text is UTF-8 JSON with non-ASCII characters as they are.

:meth:`Evaluation.to_json <policyengine.model.results.Evaluation.to_json>` and the
streamed report (:mod:`policyengine.stream.sharded`) both write through
:func:`report_pieces`, so the two are byte for byte the same by construction. This
module sits in the model layer, below the report layer, because ``Evaluation.to_json``
(a documented API) needs it and the model must not import from layers above it.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ROW_SECTIONS = ("availability", "credits", "tickets", "obligations", "entitlements")
# sections written only when the evaluation has them (before ``findings``): ``remedies``
# when some policy version has a chronic_failure clause, so every other report keeps its bytes
OPTIONAL_SECTIONS = ("remedies",)
ALL_ROW_SECTIONS = (*ROW_SECTIONS, *OPTIONAL_SECTIONS)
SECTIONS = ("as_of", "policy", *ALL_ROW_SECTIONS, "findings")
FINDING_FIELDS = ("rule", "clause", "subject", "outcome", "message")


class _Absent(enum.Enum):
    """The value of a row field that the report leaves out (a single member, so that it
    survives pickling between worker processes as itself)."""

    ABSENT = "absent"

    def __repr__(self) -> str:
        return "ABSENT"


#: A row field with this value is not in the report: an optional field that only a policy
#: using its shape fills (e.g. a ticket's ``update_due``; docs/interface.md §2).
ABSENT = _Absent.ABSENT


DECISION_FIELDS = ("decision_id", "as_of", "policy_sha256", "rules_sha256", "facts_sha256",
                   "months", "counts")


@dataclass(frozen=True)
class Audit:
    """What an evaluation was decided from, for its ``decision`` header (docs/report.md).

    ``policy_sha256``: SHA-256 of the policy versions' content (canonical JSON);
    ``rules_sha256``: of the rule packs' content; ``facts_sha256``: of the input facts (each
    file's bytes, each fact dict's canonical JSON), None when it could not be taken (a pipe);
    ``months``: the months asked for with ``--months`` (None: only those downtimes touch).
    """

    policy_sha256: str
    rules_sha256: str
    facts_sha256: str | None
    months: tuple[str, ...] | None = None

    def decision_id(self, as_of: str) -> str:
        """32 hex digits of the SHA-256 of what was decided from: the three fingerprints,
        ``as_of`` and the months. The same decision always gets the same id."""
        basis = {"as_of": as_of, "facts_sha256": self.facts_sha256,
                 "months": list(self.months) if self.months is not None else None,
                 "policy_sha256": self.policy_sha256, "rules_sha256": self.rules_sha256}
        text = json.dumps(basis, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def header(self, as_of: str, counts: Mapping[str, int]) -> dict[str, Any]:
        """The ``decision`` object: :data:`DECISION_FIELDS`; ``counts`` has a number for each
        of :data:`ROW_SECTIONS` and ``findings``."""
        return {
            "decision_id": self.decision_id(as_of),
            "as_of": as_of,
            "policy_sha256": self.policy_sha256,
            "rules_sha256": self.rules_sha256,
            "facts_sha256": self.facts_sha256,
            "months": list(self.months) if self.months is not None else None,
            "counts": {name: counts[name] for name in (*ROW_SECTIONS, "findings")},
        }


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def row_dict(row: Any) -> dict[str, Any]:
    """A result row's fields in declaration order (rows are slotted: there are a million),
    leaving out the fields that are :data:`ABSENT`: a field added for a policy shape is
    ABSENT unless the policy uses the shape, so every other report keeps its bytes
    (docs/interface.md). None is written as null."""
    names = _FIELD_NAMES.get(type(row))
    if names is None:
        names = _FIELD_NAMES.setdefault(type(row),
                                        tuple(f.name for f in dataclasses.fields(row)))
    return {name: value for name in names if (value := getattr(row, name)) is not ABSENT}


def finding_dict(finding: Any) -> dict[str, str]:
    """A finding as the report gives it: :data:`FINDING_FIELDS`, in that order."""
    return {name: getattr(finding, name) for name in FINDING_FIELDS}


def policy_dict(name: str, version: str) -> dict[str, str]:
    """One entry of the report's ``policy`` section."""
    return {"name": name, "version": version}


class LineEncoder:
    """Rows, findings and policies as report lines: ``'    {json},\\n'``.

    Every line ends in a comma; :func:`report_pieces` drops the one of a section's last
    line. One C JSON encoder serves every line (several times faster than indenting).
    """

    def __init__(self) -> None:
        self.encode = json.JSONEncoder(ensure_ascii=False).encode

    def row(self, row: Any) -> str:
        return f"    {self.encode(row_dict(row))},\n"

    def finding(self, finding: Any) -> str:
        return f"    {self.encode(finding_dict(finding))},\n"

    def policy(self, name: str, version: str) -> str:
        return f"    {self.encode(policy_dict(name, version))},\n"


def report_pieces(
    as_of: str,
    policies: Iterable[tuple[str, str]],
    sections: Mapping[str, Iterable[str]],
    decision: Mapping[str, Any] | None = None,
) -> Iterator[str]:
    """The JSON report in pieces of text, so that a large one never sits in memory whole.

    ``sections`` holds, for each of :data:`ROW_SECTIONS` and ``"findings"`` (and each of
    :data:`OPTIONAL_SECTIONS` the report has), the section's lines in report order, made by
    :class:`LineEncoder`; a piece may hold several whole lines (e.g. one customer's rows,
    copied from a shard's file). ``decision``: the audit header (:meth:`Audit.header`),
    written on one line after ``policy``. Raises KeyError when a section is missing.
    """
    encoder = LineEncoder()
    yield "{\n"
    yield f"  \"as_of\": {encoder.encode(as_of)},\n"
    yield from _section("policy", (encoder.policy(n, v) for n, v in policies), last=False)
    if decision is not None:
        yield f"  \"decision\": {encoder.encode(dict(decision))},\n"
    for name in ALL_ROW_SECTIONS:
        if name in ROW_SECTIONS or name in sections:
            yield from _section(name, sections[name], last=False)
    yield from _section("findings", sections["findings"], last=True)
    yield "}\n"


def _section(name: str, pieces: Iterable[str], last: bool) -> Iterator[str]:
    """``"name": [`` lines ``]``, holding back each piece until the next shows it is not last."""
    comma = "" if last else ","
    previous: str | None = None
    for piece in pieces:
        if not piece:
            continue
        yield f"  \"{name}\": [\n" if previous is None else previous
        previous = piece
    if previous is None:
        yield f"  \"{name}\": []{comma}\n"
        return
    if not previous.endswith(",\n"):
        raise ValueError(f"a line of section {name!r} does not end with a comma")
    yield previous[:-2] + "\n"  # the section's last line has no comma
    yield f"  ]{comma}\n"


def report_dict(
    as_of: str,
    policies: Iterable[tuple[str, str]],
    sections: Mapping[str, Sequence[Any]],
    decision: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report as one dict (keys in :data:`SECTIONS` order; rows and findings as dicts).

    ``sections`` holds the row objects of each of :data:`ROW_SECTIONS` (and of the
    :data:`OPTIONAL_SECTIONS` the report has) and the findings; ``decision`` the audit
    header, kept after ``policy`` when given.
    """
    document: dict[str, Any] = {
        "as_of": as_of,
        "policy": [policy_dict(n, v) for n, v in policies],
    }
    if decision is not None:
        document["decision"] = dict(decision)
    for name in ALL_ROW_SECTIONS:
        if name in ROW_SECTIONS or name in sections:
            document[name] = [row_dict(row) for row in sections[name]]
    document["findings"] = [finding_dict(f) for f in sections["findings"]]
    return document


__all__ = ["ABSENT", "ALL_ROW_SECTIONS", "DECISION_FIELDS", "FINDING_FIELDS", "OPTIONAL_SECTIONS",
           "ROW_SECTIONS", "SECTIONS", "Audit",
           "LineEncoder", "finding_dict", "report_dict", "report_pieces", "row_dict"]
