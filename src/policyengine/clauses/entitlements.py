"""Entitlements: who is entitled to updates.

Kinds ``update_entitlement`` (licences entitled outright, and licences entitled while
support is active) and ``support_lapse`` (licences kept, without updates, once support
lapses). The rule pack decides each update request (stage ``entitlements``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policyengine.clauses.registry import ClauseKind, TermLines, register
from policyengine.clauses.words import join_words


@register("update_entitlement")
class UpdateEntitlement(ClauseKind):
    section = "entitlements"
    title = "Update entitlement"
    description = "Which licences are entitled to bug fixes, maintenance updates and new releases."
    terms = {
        "entitled_licenses": {
            "description": "Licences that are always entitled. Example: [subscription].",
            "type": "array",
            "items": {"$ref": "#/definitions/license"},
            "uniqueItems": True,
        },
        "licenses_requiring_support": {
            "description": (
                "Licences that are entitled only while technical support is active. Example: "
                "[perpetual]."
            ),
            "type": "array",
            "items": {"$ref": "#/definitions/license"},
            "uniqueItems": True,
        },
    }
    required = ("entitled_licenses", "licenses_requiring_support")

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"entitled_licenses", "licenses_requiring_support"})
        lines: TermLines = []
        if terms.get("entitled_licenses"):
            lines.append(("Entitled to updates",
                          f"{join_words(terms['entitled_licenses'])} licences"))
        if terms.get("licenses_requiring_support"):
            lines.append(("Entitled while support is active",
                          f"{join_words(terms['licenses_requiring_support'])} licences"))
        return lines


@register("support_lapse")
class SupportLapse(ClauseKind):
    section = "entitlements"
    title = "Support lapse"
    description = "What happens when technical support lapses: the licence stays, updates stop."
    terms = {
        "licenses": {
            "description": "The licences this applies to. Example: [perpetual].",
            "type": "array",
            "items": {"$ref": "#/definitions/license"},
            "uniqueItems": True,
        },
        "support_targets": {
            "description": (
                "What becomes of the severity targets (response and resolution) of tickets "
                "opened while support is lapsed: kept, or withdrawn (no targets, no breach). "
                "Kept when left out. Example: withdrawn."
            ),
            "type": "string",
            "enum": ["kept", "withdrawn"],
        },
    }
    required = ("licenses",)

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"licenses", "support_targets"})
        licences = f"{join_words(terms.get('licenses') or [])} licences"
        lines: TermLines = [("Keeps the licence but not updates once support lapses", licences)]
        if terms.get("support_targets") == "withdrawn":
            lines.append(("Severity targets while support is lapsed",
                          "none: tickets opened then have no response or resolution target"))
        return lines
