"""Checks of offerings and overrides: what ``validate`` says about a policy's variants.

A policy's variant for an offering (:mod:`policyengine.model.variants`) must itself be a
valid policy: an offering that sets ``target_percent: 150`` is refused at the override,
with the reason the schema or a kind's check gives. A customer's negotiated overrides are
checked the same way when facts are evaluated (:func:`override_problems`), located at the
subscription fact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from policyengine.diagnostics import Diagnostic
from policyengine.load.loader import Document, json_path
from policyengine.model.variants import (
    OFFERINGS_KEY,
    OFFERINGS_SECTION,
    clause_index,
    offering_names,
    term_steps,
    variant_data,
)

Checker = Callable[[Any], list[Diagnostic]]


def _diag(document: Any, path: Sequence[str | int], message: str, code: str) -> Diagnostic:
    line, column = document.locate(tuple(path))
    return Diagnostic(file=document.file, line=line, column=column, path=json_path(path),
                      message=message, code=code)


def resolved_problems(document: Any, offering: str | None,
                      overrides: Sequence[tuple[str, Any]],
                      semantics: Checker) -> list[tuple[str | None, Diagnostic]]:
    """Errors of the variant of ``document`` for ``offering`` and ``overrides``, each with
    the override (``clause-id.term.path``) whose term it concerns, or None."""
    from policyengine.validation import schemas

    data = variant_data(document.data, offering, overrides)
    resolved = Document(document.file, data)
    problems = schemas.validate_document(resolved, "policy") or semantics(resolved)
    problems = [p for p in problems if p.severity == "error"]
    clauses = clause_index(data)
    edits = [str(d) for d, _ in overrides]
    if offering is not None:
        own = next((c for c in (document.data.get("spec") or {}).get(OFFERINGS_SECTION) or []
                    if c.get("id") == offering), {})
        edits = [str(d) for d in own.get("overrides") or {}] + edits
    targets = {}
    for dotted in edits:
        head, _, rest = dotted.partition(".")
        if head in clauses:
            section, index, _clause = clauses[head]
            targets[json_path(("spec", section, index, *term_steps(rest)))] = dotted
    out = []
    for problem in problems:
        edit = next((targets[path] for path in sorted(targets, key=len, reverse=True)
                     if problem.path == path or problem.path.startswith((f"{path}.",
                                                                         f"{path}["))), None)
        out.append((edit, problem))
    return out


def check_variants(document: Any, semantics: Checker) -> list[Diagnostic]:
    """Problems of a policy's offerings: a clause naming an offering the policy does not
    define, and each offering's resolved policy that is not valid (located at the override
    that makes it so, or at the offering)."""
    from policyengine.clauses.offerings import did_you_mean

    data = document.data
    names = offering_names(data)
    problems: list[Diagnostic] = []
    for section, clauses in (data.get("spec") or {}).items():
        if not isinstance(clauses, list):
            continue
        for index, clause in enumerate(clauses):
            if not isinstance(clause, dict):
                continue
            for i, name in enumerate(clause.get(OFFERINGS_KEY) or ()):
                if name not in names:
                    defined = (f"it defines: {', '.join(names)}" if names
                               else "it defines none (spec.offerings)")
                    problems.append(_diag(
                        document, ("spec", section, index, OFFERINGS_KEY, i),
                        f"unknown offering {name!r}: {defined}{did_you_mean(str(name), names)}",
                        "reference"))
    if problems:
        return problems
    for index, name in enumerate(names):
        where: tuple[str | int, ...] = ("spec", OFFERINGS_SECTION, index)
        for edit, problem in resolved_problems(document, name, (), semantics):
            at = where if edit is None else (*where, "overrides", edit)
            problems.append(_diag(document, at,
                                  f"offering {name!r} makes the policy invalid: "
                                  f"{problem.path}: {problem.message}", problem.code))
    return problems


def _service_terms(data: Any, service: str) -> dict[tuple[str | int, ...], set[str]]:
    """Clause path → the terms a clause gives for ``service`` under ``per_service``."""
    from policyengine.clauses.per_service import PER_SERVICE

    given: dict[tuple[str | int, ...], set[str]] = {}
    for section, clauses in (data.get("spec") or {}).items():
        if not isinstance(clauses, list):
            continue
        for index, clause in enumerate(clauses):
            own = clause.get(PER_SERVICE) if isinstance(clause, dict) else None
            if isinstance(own, dict) and isinstance(own.get(service), dict):
                given[("spec", section, index)] = set(own[service])
    return given


class _ServiceDocument(Document):
    """A policy resolved for one service that locates a term the service gives at its place
    under ``per_service`` in the document written (so a message's line is the one to edit)."""

    def __init__(self, original: Any, data: Any, service: str,
                 given: dict[tuple[str | int, ...], set[str]]):
        super().__init__(original.file, data)
        self.original, self.service, self.given = original, service, given

    def moved(self, path: Sequence[str | int]) -> tuple[str | int, ...]:
        """``path`` in the written document: a term the service gives, under its entry."""
        path = tuple(path)
        terms = self.given.get(path[:3])
        if terms and len(path) > 3 and path[3] in terms:
            return (*path[:3], "per_service", self.service, *path[3:])
        return path

    def locate(self, path: Sequence[str | int]) -> tuple[int, int]:
        return self.original.locate(self.moved(path))


def check_service_variants(document: Any, semantics: Checker) -> list[Diagnostic]:
    """Problems of a policy's terms per service: each service's resolved policy
    (:func:`~policyengine.clauses.per_service.service_variant_data`) must be valid, else an
    error says which service and why, located at the term to edit: the service's own (under
    ``per_service``) when it gives the term, else the clause's (a dashboard target of 99.5
    under a credit whose first tier starts below 99.9, say)."""
    from policyengine.clauses.per_service import service_variant_data, services_with_terms
    from policyengine.validation import schemas

    problems: list[Diagnostic] = []
    for service in services_with_terms(document.data):
        given = _service_terms(document.data, service)
        resolved = _ServiceDocument(document, service_variant_data(document.data, service),
                                    service, given)
        found = schemas.validate_document(resolved, "policy") or semantics(resolved)
        for problem in found:
            if problem.severity != "error":
                continue
            path = problem.path
            for clause_path, terms in given.items():
                for term in terms:
                    written = json_path((*clause_path, term))
                    if path == written or path.startswith((f"{written}.", f"{written}[")):
                        path = (json_path((*clause_path, "per_service", service, term))
                                + path[len(written):])
            problems.append(dataclasses.replace(
                problem, path=path, message=f"for service {service!r}: {problem.message}"))
    return problems


__all__ = ["check_service_variants", "check_variants", "resolved_problems"]
