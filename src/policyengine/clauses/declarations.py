"""Declarations: terms recorded for reference that decide nothing (kind ``declaration``).

A declaration may sit in any section; ``show`` and ``diff`` list it, no rule reads it.
"""

from __future__ import annotations

from policyengine.clauses.registry import ClauseKind, register


@register("declaration")
class Declaration(ClauseKind):
    section = "declarations"
    title = "Declaration"
    description = (
        "A term of the contract that is recorded for reference but decides nothing by itself (no "
        "further terms)."
    )
