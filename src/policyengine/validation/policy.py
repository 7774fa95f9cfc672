"""Validate policy documents, rule packs and fact files: structure, schema, then meaning.

Policy documents: schema, then the checks a schema cannot express, and version sets.
``policyengine.tools.check`` runs these for ``policyengine validate``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policyengine.clauses import registry
from policyengine.clauses.per_service import PER_SERVICE, check_per_service, services_with_terms
from policyengine.clauses.registry import CheckContext
from policyengine.clauses.summaries import check_summary
from policyengine.clocks.durations import duration_seconds, is_duration
from policyengine.diagnostics import Diagnostic, InputError, excerpt
from policyengine.load.paths import links_out, walked
from policyengine.model.policy import SECTIONS, Policy
from policyengine.model.variants import OFFERINGS_KEY, offering_names, uses_variants
from policyengine.validation.variants import check_service_variants, check_variants

DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")
#: The longest duration a policy term may give (a notice lead, a target, a claim window):
#: 365 days. Longer terms are no customer-services terms, and would carry due times and
#: deadlines past the supported years (1971-2199, a year of headroom).
MAX_DURATION_SECONDS = 365 * 86400
VALIDATED_SUFFIXES = (*DOCUMENT_SUFFIXES, ".ndjson", ".jsonl")
_NONE = object()  # no clash found


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


def check_policy_semantics(document: Any, *, services: bool = True) -> list[Diagnostic]:
    """Checks the schema cannot express, on a schema-valid policy document.

    Generic checks (time zone, effective dates, duplicate clause ids, durations above zero,
    in whole seconds and at most 365 days, at most one clause of a ``single`` kind for each
    offering) are here; each clause's kind adds its own (see
    :mod:`policyengine.clauses.registry`): per clause in document order, then per kind.
    A policy with offerings has each offering's resolved policy checked too, and one with
    terms per service each service's (``services=False``: not, for a policy that is itself
    resolved for a service).
    """
    from policyengine.clocks.zones import known_zones, zone_problem

    problems: list[Diagnostic] = []
    data = document.data
    spec = data.get("spec") or {}
    zones = known_zones()
    zone_error = zone_problem(spec.get("timezone"))
    if zone_error:
        problems.append(_diag(document, ("spec", "timezone"), zone_error, "semantic"))
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
        problems.extend(kind.check(context, path, clause))
        problems.extend(check_summary(kind, context, path, clause))
        if PER_SERVICE in clause:
            problems.extend(check_per_service(context, path, clause))
        for duration_path, text in _walk_durations(clause, path):
            problems.extend(_check_duration(document, duration_path, text))
        for term, effect in _EMPTY_SELECTS_NOTHING.get(clause.get("kind"), {}).items():
            if clause.get(term) == []:
                problems.append(_diag(document, (*path, term), f"{term} [] {effect}: the "
                                      "clause could never take effect; list what it applies "
                                      "to, or remove the clause", "semantic"))
    problems.extend(_check_single_kinds(document, clauses))
    present = {clause.get("kind") for _, clause in clauses}
    for kind in registry.kinds():
        if kind.name in present:
            problems.extend(kind.check_policy(context))
    if not any(p.severity == "error" for p in problems) and uses_variants(data):
        # each offering's resolved policy must be valid too (docs/policy-language.md §6)
        problems.extend(check_variants(document, check_policy_semantics))
    if services and not any(p.severity == "error" for p in problems) \
            and services_with_terms(data):
        # each service's resolved policy must be valid too (docs/policy-language.md §5)
        problems.extend(check_service_variants(
            document, functools.partial(check_policy_semantics, services=False)))
    return problems


# Lists that choose what a clause applies to: empty, the clause applies to nothing (issue 16
# §2, a term that cannot take effect is refused). An empty list of update_entitlement's
# licences is a real statement ("no licence is entitled"), so it is not here.
_EMPTY_SELECTS_NOTHING = {
    "availability_commitment": {"plans": "covers no plan",
                                "deployments": "covers no deployment"},
    "excluded_plan": {"plans": "excludes no plan"},
    "support_lapse": {"licenses": "applies to no licence"},
}


def _check_duration(document: Any, path: tuple, text: str) -> list[Diagnostic]:
    """A duration term: above zero, whole seconds, at most :data:`MAX_DURATION_SECONDS`."""
    seconds = duration_seconds(text)
    if seconds <= 0:
        message = f"duration {excerpt(text)} must be greater than zero"
    elif seconds != int(seconds):
        message = (f"duration {excerpt(text)} is not a whole number of seconds; durations are "
                   "counted in whole seconds")
    elif seconds > MAX_DURATION_SECONDS:
        message = f"duration {excerpt(text)} is longer than the longest term allowed, 365d"
    else:
        return []
    return [_diag(document, path, message, "semantic")]


def _check_single_kinds(document: Any, clauses: Sequence[tuple[tuple, dict]]) -> list[Diagnostic]:
    """A kind evaluation reads once (``ClauseKind.single``) appears at most once for each
    subscription: at most once per offering, counting a clause without ``offerings`` in
    every offering and for a subscription of none. Clauses restricted to different
    offerings (``offerings: [standard]``, ``offerings: [premium]``) may each give one, since
    an offering's resolved policy keeps only its own (:mod:`policyengine.model.variants`).
    A second clause is an error at its ``kind`` naming the first (id and line), ended by the
    kind's sentence on what to write instead when ``single`` is one."""
    problems: list[Diagnostic] = []
    offerings = offering_names(document.data)
    first: dict[tuple[str, str | None], tuple[tuple, dict]] = {}
    for path, clause in clauses:
        kind = clause.get("kind")
        single = registry.kind_of(kind).single
        if not single:
            continue
        restricted = clause.get(OFFERINGS_KEY)
        # a clause without ``offerings`` applies to every subscription: each offering the
        # policy defines (or the clause names) and a subscription of none (None)
        applies = (list(dict.fromkeys(restricted)) if isinstance(restricted, list)
                   else [None, *offerings])
        clash = next((o for o in applies if (kind, o) in first), _NONE)
        if clash is not _NONE:
            first_path, first_clause = first[(kind, clash)]
            line, _ = document.locate((*first_path, "kind"))
            first_id = excerpt(first_clause.get("id"))
            head = f"a second {kind} clause"
            if clash is None and not offerings:
                hint = registry.kind_of(kind).single_hint(first_clause, clause)
                message = (f"{head} (the first, {first_id}, is at line {line}); a policy has "
                           "at most one, and evaluation would read only the first"
                           + (f": {hint}" if hint else ""))
            else:
                whom = ("a subscription of no offering" if clash is None
                        else f"offering {clash!r}")
                message = (f"{head} for {whom} (the first, {first_id}, is at line {line}); "
                           "each offering has at most one")
                if _restriction(first_clause) == _restriction(clause):
                    # the same subscriptions: the kind says what to write instead
                    hint = registry.kind_of(kind).single_hint(first_clause, clause)
                    message += (" (restrict the clauses to different offerings with "
                                "'offerings: [...]'), and evaluation would read only the first"
                                + (f": {hint}" if hint else ""))
                else:
                    message += (", and evaluation would read only the first: "
                                + _offering_hint(first_clause, clause, clash, offerings))
            problems.append(_diag(document, (*path, "kind"), message, "semantic"))
        for offering in applies:
            first.setdefault((kind, offering), (path, clause))
    return problems


def _restriction(clause: Mapping[str, Any]) -> frozenset[str] | None:
    """The offerings a clause is restricted to, or None (every subscription)."""
    named = clause.get(OFFERINGS_KEY)
    return frozenset(named) if isinstance(named, list) else None


def _offering_hint(first: Mapping[str, Any], second: Mapping[str, Any], clash: str | None,
                   offerings: Sequence[str]) -> str:
    """What to write when two clauses of a single kind meet in one offering because their
    ``offerings`` differ (one names none, or both name ``clash``): each offering's terms
    come from one clause, or from overrides on the offering."""
    first_id, own = first.get("id"), _restriction(first)
    if clash is None:  # only possible with both unrestricted, handled by the caller
        return "give each clause the offerings it is for with 'offerings: [...]'"
    overrides = (f"or leave this clause out and write what differs for {clash!r} as overrides "
                 f"on that offering (overrides: {{{first_id}.<term>: value}})")
    if own is None:
        others = [o for o in offerings if o not in (_restriction(second) or ())]
        return (f"the first has no 'offerings', so it applies to {clash!r} too; give it the "
                f"offerings it is for ('offerings: [{', '.join(others)}]'), {overrides}")
    if _restriction(second) is None:
        others = [o for o in offerings if o not in own]
        return (f"this clause has no 'offerings', so it applies to {clash!r} too, for which "
                f"{first_id!r} is written; give it the offerings it is for "
                f"('offerings: [{', '.join(others)}]')")
    return (f"both name {clash!r}; name each offering in one of them, {overrides}")


def check_version_set(versions: Sequence[PolicyDocument]) -> list[Diagnostic]:
    """Versions of one policy must not overlap or leave gaps, and must share a name and a
    time zone (``spec.timezone``)."""
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
    if ordered:
        # One zone for every version: months, days, claim deadlines and version boundaries
        # are reckoned in it, so a month is measured the same way by the directory and by
        # the version alone (a zone change would make the months at the switch overlap or
        # leave a gap). A contract that changes its zone is a new policy.
        first = ordered[0].policy
        assert first is not None
        for v in ordered[1:]:
            assert v.policy is not None
            if v.policy.timezone != first.timezone:
                problems.append(_diag(v.document, ("spec", "timezone"),
                                      f"version {v.policy.version} reckons in "
                                      f"{v.policy.timezone} but version {first.version} in "
                                      f"{first.timezone}; every version of a policy uses the "
                                      "same time zone (a new zone is a new policy)",
                                      "versions"))
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
    if os.fspath(path) == "":  # the OS reads it as "."
        raise InputError.single("policy", "empty path: name a policy file or directory",
                                code="usage")
    root = Path(path)
    if root.is_dir():
        found, problems = links_out([
            p for p in walked(root) if p.suffix in DOCUMENT_SUFFIXES
            and not p.name.endswith(".test.yaml") and "tests" not in p.relative_to(root).parts],
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
