"""Terms per service: what a clause says differently for one service (``per_service``).

A commitment measured per service (``scope: per_service``) may hold services to different
targets, and pay different credits for them. A clause whose kind names terms that may differ
per service (:attr:`~policyengine.clauses.registry.ClauseKind.per_service_terms`) carries
them under ``per_service``, service by service::

    target_percent: 99.9                 # every service without its own
    per_service:
      api: {target_percent: 99.95}
      dashboard: {target_percent: 99.5}

A service's rows are judged against the policy *resolved for that service*
(:func:`service_variant_data`): each clause's terms with the service's own laid over them
(:meth:`~policyengine.clauses.registry.ClauseKind.for_service`). docs/policy-language.md,
shape 5, "A target and a credit per service".
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from policyengine.clauses import registry
from policyengine.clauses.registry import CheckContext, ClausePath
from policyengine.diagnostics import Diagnostic

PER_SERVICE = "per_service"


def _clauses(data: Mapping[str, Any]) -> Iterable[tuple[ClausePath, dict[str, Any]]]:
    spec = data.get("spec") if isinstance(data, Mapping) else None
    for section, clauses in (spec or {}).items():
        if isinstance(clauses, list):
            for index, clause in enumerate(clauses):
                if isinstance(clause, dict):
                    yield ("spec", section, index), clause


def services_with_terms(data: Mapping[str, Any]) -> list[str]:
    """Every service some clause of a policy document gives terms for, sorted."""
    found: set[str] = set()
    for _path, clause in _clauses(data):
        own = clause.get(PER_SERVICE)
        if isinstance(own, Mapping):
            found.update(str(name) for name in own)
    return sorted(found)


def service_variant_data(data: Mapping[str, Any], service: str) -> dict[str, Any]:
    """The document resolved for one service: every clause with terms for ``service`` has
    them laid over its own, as its kind says (``per_service`` itself is kept, so the
    resolved policy reads like the one written). Not validated."""
    edited: dict[str, Any] = copy.deepcopy(dict(data))
    for _path, clause in _clauses(edited):
        own = clause.get(PER_SERVICE)
        if not isinstance(own, Mapping) or not isinstance(own.get(service), Mapping):
            continue
        merged = registry.kind_of(clause.get("kind")).for_service(clause, own[service])
        clause.clear()
        clause.update(merged)
    return edited


def check_per_service(ctx: CheckContext, path: ClausePath,
                      clause: Mapping[str, Any]) -> list[Diagnostic]:
    """A clause's ``per_service``: the commitment must be measured per service and each
    service named must be one it covers (each a located error)."""
    from policyengine.clauses.offerings import did_you_mean

    own = clause.get(PER_SERVICE)
    if not isinstance(own, Mapping) or not own:
        return []
    commitments = ctx.of_kind("availability_commitment")
    per_service = [(p, c) for p, c in commitments if c.get("scope") == "per_service"]
    if not per_service:
        where = ""
        if commitments:
            first_path, first = commitments[0]
            said = f"scope: {first['scope']}" if first.get("scope") else "no scope"
            where = (f" (clause {first.get('id')!r} at line {ctx.line(first_path)} says "
                     f"{said})")
        return [ctx.error((*path, PER_SERVICE), "terms per service need the availability "
                          f"commitment to be measured per service (scope: per_service){where}")]
    covered: list[str] = []
    for _p, commitment in per_service:
        covered += [str(s) for s in commitment.get("services") or () if str(s) not in covered]
    problems = []
    for name in own:
        if name not in covered:
            listed = (f"it covers {', '.join(covered)}" if covered
                      else "it lists no services (services: [...])")
            problems.append(ctx.error((*path, PER_SERVICE, name), f"service {str(name)!r} is "
                                      f"not one the availability commitment covers: {listed}"
                                      f"{did_you_mean(str(name), covered)}"))
    return problems


def service_lines(kind: registry.ClauseKind, terms: Mapping[str, Any],
                  done: set[str]) -> registry.TermLines:
    """``show``'s lines for a clause and its terms per service: the kind's words for the
    clause's terms, then, for each service with terms of its own, the kind's lines for the
    service's terms that read differently, labelled ``<label> for <service>`` (``Target for
    api: 99.95% of each full calendar month``); a line the clause has that the service's terms
    do not give (a tier fewer) reads ``none`` for it, so a line left out for a service reads
    as the clause's. Adds the terms described to ``done``."""
    own = terms.get(PER_SERVICE)
    if not isinstance(own, Mapping):
        return kind.words(terms, done)
    done.add(PER_SERVICE)
    base = {k: v for k, v in terms.items() if k != PER_SERVICE}
    lines = kind.words(base, done)
    for service, given in own.items():
        if not isinstance(given, Mapping):
            continue
        theirs = kind.words(kind.for_service(base, given), set())
        for label, words in theirs:
            if (label, words) not in lines:
                lines.append((f"{label} for {service}", words))
        # a line the clause has and the service's terms do not (a tier fewer): none
        labels = {label for label, _ in theirs}
        lines += [(f"{label} for {service}", "none") for label, _ in list(lines)
                  if label not in labels and not label.endswith(tuple(
                      f" for {name}" for name in own))]
    return lines


__all__ = ["PER_SERVICE", "check_per_service", "service_lines", "service_variant_data",
           "services_with_terms"]
