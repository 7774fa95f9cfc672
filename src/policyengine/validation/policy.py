"""Validate policy documents, rule packs and fact files: structure, schema, then meaning.

Policy documents: schema, then the checks a schema cannot express, and version sets.
``policyengine.tools.check`` runs these for ``policyengine validate``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policyengine.clauses import registry
from policyengine.clauses.registry import CheckContext
from policyengine.clauses.summaries import check_summary
from policyengine.clocks.durations import duration_seconds, is_duration
from policyengine.diagnostics import Diagnostic, InputError, excerpt
from policyengine.load.paths import links_out
from policyengine.model.policy import SECTIONS, Policy

DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")
VALIDATED_SUFFIXES = (*DOCUMENT_SUFFIXES, ".ndjson", ".jsonl")


@dataclass
class PolicyDocument:
    """A policy file as loaded: its document (for positions) and, if valid, its model."""

    document: Any
    policy: Policy | None
    problems: list[Diagnostic]


def _diag(document: Any, path: Sequence[str | int], message: str, code: str) -> Diagnostic:
    from policyengine.load.loader import json_path

    line, column = document.locate(tuple(path))
    return Diagnostic(file=document.file, line=line, column=column, path=json_path(path),
                      message=message, code=code)


def _walk_durations(value: Any, path: tuple[str | int, ...]) -> Iterable[tuple[tuple, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_durations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_durations(item, (*path, index))
    elif is_duration(value):
        yield path, value


def spec_at(spec: Any, path: tuple) -> Any:
    """The clause at ``("spec", section, index)``."""
    return spec[path[1]][path[2]]


def check_policy_semantics(document: Any) -> list[Diagnostic]:
    """Checks the schema cannot express, on a schema-valid policy document.

    Generic checks (time zone, effective dates, duplicate clause ids, zero durations,
    ``cites``) are here; each clause's kind adds its own (see
    :mod:`policyengine.clauses.registry`): per clause in document order, then per kind.
    """
    from zoneinfo import available_timezones

    problems: list[Diagnostic] = []
    data = document.data
    spec = data.get("spec") or {}
    zones = available_timezones()
    if spec.get("timezone") not in zones:
        problems.append(_diag(document, ("spec", "timezone"),
                              f"unknown timezone {excerpt(spec.get('timezone'))} (use an IANA name "
                              "such as America/New_York)", "semantic"))
    effective = (data.get("metadata") or {}).get("effective") or {}
    try:
        start = dt.date.fromisoformat(effective.get("from", "1970-01-01"))
        until = effective.get("until")
        if until and dt.date.fromisoformat(until) <= start:
            problems.append(_diag(document, ("metadata", "effective", "until"),
                                  "effective.until must be after effective.from", "semantic"))
    except ValueError as error:
        problems.append(_diag(document, ("metadata", "effective"), f"invalid date: {error}",
                              "semantic"))
    seen_ids: dict[str, tuple] = {}
    clauses: list[tuple[tuple, dict]] = []
    for section in SECTIONS:
        for index, clause in enumerate(spec.get(section) or ()):
            clauses.append((("spec", section, index), clause))
    context = CheckContext(document, clauses, zones)
    once: dict[str, tuple] = {}  # kind read once per policy -> the path of its first clause
    for path, clause in clauses:
        clause_id = clause.get("id")
        if clause_id in seen_ids:
            first_line, _ = document.locate((*seen_ids[clause_id], "id"))
            problems.append(_diag(document, (*path, "id"),
                                  f"duplicate clause id {excerpt(clause_id)} (first at line "
                                  f"{first_line})", "semantic"))
        else:
            seen_ids[clause_id] = path
        kind = registry.kind_of(clause.get("kind"))
        if kind.one_per_policy:  # evaluation reads one: a second would be silently ignored
            first = once.setdefault(kind.name, path)
            if first != path:
                problems.append(_diag(document, (*path, "kind"), f"a second {kind.name} clause "
                                      f"(the first, {excerpt(spec_at(spec, first).get('id'))}, "
                                      f"is at line {document.locate(first)[0]}): "
                                      f"{kind.one_per_policy}", "semantic"))
        problems.extend(kind.check(context, path, clause))
        problems.extend(check_summary(kind, context, path, clause))
        for duration_path, text in _walk_durations(clause, path):
            if duration_seconds(text) <= 0:
                problems.append(_diag(document, duration_path,
                                      f"duration {excerpt(text)} must be greater than zero",
                                      "semantic"))
    present = {clause.get("kind") for _, clause in clauses}
    for kind in registry.kinds():
        if kind.name in present:
            problems.extend(kind.check_policy(context))
    for path, clause in clauses:
        for key in ("cites",):
            for i, ref in enumerate(clause.get(key) or ()):
                if ref not in seen_ids:
                    problems.append(_diag(document, (*path, key, i),
                                          f"undefined clause {excerpt(ref)}", "reference"))
    return problems


def check_version_set(versions: Sequence[PolicyDocument]) -> list[Diagnostic]:
    """Versions of one policy must not overlap or leave gaps, and must share a name."""
    problems: list[Diagnostic] = []
    valid = [v for v in versions if v.policy is not None]
    names = {v.policy.name for v in valid}  # type: ignore[union-attr]
    if len(names) > 1:
        for v in valid:
            problems.append(_diag(v.document, ("metadata", "name"),
                                  f"one directory holds versions of one policy; found "
                                  f"{', '.join(sorted(names))}", "versions"))
        return problems
    ordered = sorted(valid, key=lambda v: v.policy.effective_from)  # type: ignore[union-attr]
    seen_versions: dict[str, PolicyDocument] = {}
    for v in ordered:
        policy = v.policy
        assert policy is not None
        if policy.version in seen_versions:
            problems.append(_diag(v.document, ("metadata", "version"),
                                  f"version {policy.version} also in "
                                  f"{seen_versions[policy.version].document.file}", "versions"))
        seen_versions[policy.version] = v
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        a, b = earlier.policy, later.policy
        assert a is not None and b is not None
        if a.effective_until is None or a.effective_until > b.effective_from:
            problems.append(_diag(later.document, ("metadata", "effective", "from"),
                                  f"version {b.version} starts {b.effective_from} while version "
                                  f"{a.version} is still in force "
                                  f"(until {a.effective_until or 'open-ended'})", "versions"))
        elif a.effective_until < b.effective_from:
            problems.append(_diag(later.document, ("metadata", "effective", "from"),
                                  f"gap: version {a.version} ends {a.effective_until} but "
                                  f"version {b.version} starts {b.effective_from}", "versions"))
    return problems


def load_policy_document(
    path: str | os.PathLike[str], document: Any = None
) -> PolicyDocument:
    """Load (unless given), schema-check and semantically check one policy file."""
    from policyengine.load import loader
    from policyengine.validation import schemas

    if document is None:
        try:
            document = loader.load_document(path)
        except InputError as error:
            return PolicyDocument(None, None, error.diagnostics)
    data = document.data
    if isinstance(data, dict) and data.get("kind") == "FactSet":
        return PolicyDocument(document, None, [Diagnostic(
            file=document.file, line=1, column=1, code="kind",
            message="this is a fact file, not a policy (give it to --facts)")])
    problems = schemas.validate_document(document, "policy")
    if problems:
        return PolicyDocument(document, None, problems)
    problems = check_policy_semantics(document)
    errors = [p for p in problems if p.severity == "error"]
    policy = None if errors else Policy.from_data(data, document.file)
    return PolicyDocument(document, policy, problems)


def policy_files(path: str | os.PathLike[str]) -> list[Path]:
    """A policy file, or every policy file below a directory (sorted).

    Raises InputError for a symbolic link below the directory that leads out of it.
    """
    root = Path(path)
    if root.is_dir():
        found, problems = links_out(sorted(
            p for p in root.rglob("*") if p.suffix in DOCUMENT_SUFFIXES and p.is_file()
            and not p.name.endswith(".test.yaml") and "tests" not in p.relative_to(root).parts),
            root)
        if problems:  # never read a file a link leads to outside the directory
            raise InputError(problems)
        return [p for p in found if _kind_of(p) == "Policy"]
    return [root]


OUR_KINDS = ("RulePack", "FactSet", "PolicyTest", "Policy")


def _kind_of(path: Path) -> str:
    """A document's ``kind`` for dispatch (see :func:`peek`)."""
    return peek(path)[0]


def peek(path: Path) -> tuple[str, Any]:
    """(kind, loaded document or None): ours, or ``""`` for a foreign YAML/JSON document.

    Anything that does not load (broken YAML, binary junk, an empty file) is treated as a
    policy so that the policy checks report it with its location. The document is handed
    on so that a file is parsed once.
    """
    from policyengine.load import loader
    from policyengine.validation.facts import NDJSON_SUFFIXES

    if path.suffix.lower() in NDJSON_SUFFIXES:
        return "FactSet", None
    try:
        document = loader.load_document(path)
    except InputError:
        return "Policy", None
    data = document.data
    if not isinstance(data, dict):
        return "Policy", document
    kind, api = data.get("kind"), data.get("apiVersion")
    if kind in OUR_KINDS:
        return str(kind), document
    if isinstance(api, str) and api.startswith("policyengine/"):
        return "Policy", document
    if kind is None and api is None and "spec" in data:
        return "Policy", document
    return "", document
