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
        where = (f" (clause {commitments[0][1].get('id')!r} at line "
                 f"{ctx.line(commitments[0][0])} says "
                 f"{'scope: ' + str(commitments[0][1]['scope']) if commitments[0][1].get('scope') else 'no scope'})"
                 if commitments else "")
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


__all__ = ["PER_SERVICE", "check_per_service", "service_variant_data", "services_with_terms"]
