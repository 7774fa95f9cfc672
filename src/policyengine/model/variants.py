"""Policy variants: a policy document resolved for one offering and a customer's overrides.

A policy may define *offerings* (``spec.offerings``, clauses of kind ``offering``), each a
named set of term overrides (``overrides: {clause-id.term.path: value}``), and any clause
may carry ``offerings: [name, ...]`` to apply only to subscriptions of those offerings. A
subscription names its ``offering`` and may carry negotiated ``overrides`` of its own (an
order form), effective-dated. The *variant* of a policy for an offering and a set of
overrides is the document with

1. the clauses whose ``offerings`` do not name the offering left out (a subscription with no
   offering keeps only the clauses that name none),
2. the offering's overrides, then the customer's, applied to the terms they name (a list
   item by its index from 0: ``service-credit.tiers.0.below`` replaces the first band's
   ``below`` and keeps the rest of the list as written),
3. the ``offerings`` section and every clause's ``offerings`` key removed (the variant is a
   resolved policy).

This module only edits data; validating and compiling a variant happens above
(:mod:`policyengine.validation.variants`, :mod:`policyengine.evaluate.variants`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

OFFERINGS_SECTION = "offerings"
OFFERINGS_KEY = "offerings"
_CLAUSE_KEYS = ("id", "kind", "ref", "summary")
_DIGITS = re.compile(r"[0-9]+")
_CANONICAL_INDEX = re.compile(r"0|[1-9][0-9]*")


def clause_index(data: Mapping[str, Any]) -> dict[str, tuple[str, int, Mapping[str, Any]]]:
    """Every clause of a policy document by id: ``(section, index, clause)`` (first wins)."""
    found: dict[str, tuple[str, int, Mapping[str, Any]]] = {}
    for section, clauses in (data.get("spec") or {}).items():
        if not isinstance(clauses, list):
            continue
        for index, clause in enumerate(clauses):
            if isinstance(clause, Mapping) and isinstance(clause.get("id"), str):
                found.setdefault(clause["id"], (section, index, clause))
    return found


def term_steps(rest: str) -> list[str | int]:
    """The steps of a term path after the clause id: ``tiers.0.below`` →
    ``["tiers", 0, "below"]`` (a part of ASCII digits only is a list index, from 0)."""
    return [int(part) if _DIGITS.fullmatch(part) else part for part in rest.split(".")]


def missing_term(data: Mapping[str, Any], dotted: str) -> tuple[str, str, list[str]] | None:
    """Why ``clause-id.term.path`` names no term of the document, or None when it does.

    ``(what is missing, where, the names there)``: ``("clause", id, clause ids)`` for an
    unknown clause; ``("term", path, term names)`` for a term path that does not exist (every
    part must: an override replaces a term, it never adds one); ``("term", name, [])`` for
    the clause's identity (id, kind, ref, summary) or its ``offerings``, which are not terms;
    ``("index", path, [count])`` for a list item that is not there (``tiers.5`` of a list of
    3; ``count`` as text), and ``("list", path, [count])`` for a list stepped into by a name
    instead of an index (``tiers.below``), and ``("index-form", path, [canonical path])``
    for an index not written canonically (``tiers.00``, ``tiers.01``: leading zeros), which
    would name the item ``tiers.0`` names under a second spelling, so that two overrides of
    one item could both be accepted and the later win by line order. A list item is named by
    its index from 0, written without leading zeros: ``service-credit.tiers.0.below``.
    """
    head, _, rest = dotted.partition(".")
    clauses = clause_index(data)
    if head not in clauses or clauses[head][0] == OFFERINGS_SECTION:
        return ("clause", head, sorted(k for k, v in clauses.items()
                                       if v[0] != OFFERINGS_SECTION))
    if not rest:
        return ("term", "", [])
    parts = rest.split(".")
    if parts[0] in (*_CLAUSE_KEYS, OFFERINGS_KEY):
        return ("term", parts[0], [])
    target: Any = clauses[head][2]
    for depth, part in enumerate(parts):
        if isinstance(target, list):
            where = ".".join(parts[:depth])
            if not _DIGITS.fullmatch(part):
                return ("list", where, [str(len(target))])
            if not _CANONICAL_INDEX.fullmatch(part):
                canonical = [*parts[:depth], str(int(part)), *parts[depth + 1:]]
                return ("index-form", ".".join(parts[:depth + 1]),
                        [f"{head}.{'.'.join(canonical)}"])
            if int(part) >= len(target):
                return ("index", ".".join(parts[:depth + 1]), [str(len(target))])
            target = target[int(part)]
            continue
        if not isinstance(target, Mapping) or part not in target:
            names = sorted(str(k) for k in target if k not in (*_CLAUSE_KEYS, OFFERINGS_KEY)) \
                if isinstance(target, Mapping) else []
            return ("term", ".".join(parts[:depth + 1]), names)
        target = target[part]
    return None


def offering_names(data: Mapping[str, Any]) -> list[str]:
    """The offerings a policy document defines (ids of its ``offerings`` section)."""
    section = (data.get("spec") or {}).get(OFFERINGS_SECTION) or []
    return [c["id"] for c in section if isinstance(c, Mapping) and isinstance(c.get("id"), str)]


def uses_variants(data: Mapping[str, Any]) -> bool:
    """Whether a policy defines offerings or restricts a clause to some."""
    if offering_names(data):
        return True
    return any(OFFERINGS_KEY in clause for _s, _i, clause in clause_index(data).values())


def missing_in_turn(data: Mapping[str, Any], offering: str | None,
                    edits: Sequence[tuple[str, Any]],
                    offering_overrides: bool = True) -> list[tuple[str, str, list[str]] | None]:
    """:func:`missing_term` of each edit, in order, against the document as the edits before
    it left it (resolved for ``offering``, with its own overrides first unless
    ``offering_overrides`` is false): an item override after a shorter list replaced the
    list (``tiers: [two bands]``, then ``tiers.2.below``) names an item that is not there."""
    out: list[tuple[str, str, list[str]] | None] = []
    for index, (dotted, _value) in enumerate(edits):
        missing = missing_term(data, str(dotted))
        if missing is None and any(_DIGITS.fullmatch(part) for part in str(dotted).split(".")):
            resolved = variant_data(data, offering, edits[:index],
                                    offering_overrides=offering_overrides)
            missing = missing_term(resolved, str(dotted))
        out.append(missing)
    return out


def variant_data(data: Mapping[str, Any], offering: str | None,
                 overrides: Iterable[tuple[str, Any]] = (),
                 offering_overrides: bool = True) -> dict[str, Any]:
    """The document resolved for ``offering`` (None: no offering) and ``overrides``
    (``(clause-id.term.path, value)``, applied after the offering's own, in order; the
    offering's own left out when ``offering_overrides`` is false).

    Terms that do not exist are not added (check with :func:`missing_term` first). The
    result is not validated.
    """
    edited: dict[str, Any] = copy.deepcopy(dict(data))
    spec = edited.get("spec") or {}
    defined = {c.get("id"): c for c in spec.pop(OFFERINGS_SECTION, None) or []
               if isinstance(c, Mapping)}
    for section, clauses in list(spec.items()):
        if not isinstance(clauses, list):
            continue
        kept = []
        for clause in clauses:
            if isinstance(clause, dict) and OFFERINGS_KEY in clause:
                if offering not in (clause.get(OFFERINGS_KEY) or ()):
                    continue
                del clause[OFFERINGS_KEY]
            kept.append(clause)
        spec[section] = kept
    edits: list[tuple[str, Any]] = []
    own = defined.get(offering) if offering is not None else None
    if own is not None and offering_overrides:
        edits += list((own.get("overrides") or {}).items())
    edits += list(overrides)
    clauses = clause_index(edited)
    for dotted, value in edits:
        head, _, rest = str(dotted).partition(".")
        if head not in clauses or not rest:
            continue
        target: Any = clauses[head][2]
        steps = term_steps(rest)
        for step in steps[:-1]:
            target = _step(target, step)
        last = steps[-1]
        in_list = isinstance(target, list) and isinstance(last, int) and last < len(target)
        if in_list or (isinstance(target, dict) and last in target):
            target[last] = copy.deepcopy(value)
    return edited


def _step(target: Any, step: str | int) -> Any:
    """One step into a term value: a key of a mapping, an index of a list; None if absent."""
    if isinstance(target, dict) and isinstance(step, str):
        return target.get(step)
    if isinstance(target, list) and isinstance(step, int) and step < len(target):
        return target[step]
    return None


def variant_key(offering: str | None, overrides: Sequence[tuple[str, Any]]) -> str:
    """A stable text naming a variant (for caches and fingerprints)."""
    import json

    return json.dumps([offering, [[k, v] for k, v in overrides]], sort_keys=True,
                      default=str, separators=(",", ":"))


__all__ = ["OFFERINGS_KEY", "OFFERINGS_SECTION", "clause_index", "missing_in_turn", "missing_term",
           "offering_names", "term_steps", "uses_variants", "variant_data", "variant_key"]
