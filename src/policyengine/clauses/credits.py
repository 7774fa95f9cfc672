"""Credits: the remedy for a missed month and how to claim it.

Kinds ``service_credit`` (a fraction of the annual fee, rounded as the contract says, given
as a credit or a refund) and ``claim_window`` (whole days after the month within which the
credit must be requested). The rule pack decides *whether* a month earns a credit and its
status (stage ``credits``); the amount is computed here, by the credit clause's kind, and the
claim deadline from the window's days. A kind with other arithmetic (tiers, caps) registers
itself as the credit the same way and implements ``credit_amount``.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from policyengine.clauses.registry import (
    CheckContext,
    ClauseKind,
    ClausePath,
    TermLines,
    register,
)
from policyengine.clauses.values import PolicyValues
from policyengine.clocks.durations import duration_days
from policyengine.diagnostics import Diagnostic
from policyengine.model.policy import Clause, Policy

if TYPE_CHECKING:  # pragma: no cover - typing only
    from policyengine.model.facts import Subscription

_ROUNDING = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_down": decimal.ROUND_HALF_DOWN,
    "up": decimal.ROUND_UP,
    "down": decimal.ROUND_DOWN,
    "ceiling": decimal.ROUND_CEILING,
    "floor": decimal.ROUND_FLOOR,
}


@register("service_credit")
class ServiceCredit(ClauseKind):
    section = "credits"
    title = "Service credit"
    description = "The credit a customer earns for a period that misses the commitment."
    terms = {
        "fraction_of_annual_fee": {
            "description": (
                "The credit as a fraction of the annual fee, written as a fraction of two whole "
                "numbers of at most six digits, at most 1 (the whole fee). Example: 1/12 (one "
                "month's worth)."
            ),
            "type": "string",
            "minLength": 1,
            "pattern": "^[1-9][0-9]{0,5}/[1-9][0-9]{0,5}$",
            "patternErrorMessage": (
                "expected a fraction like 1/12 (whole numbers of at most six digits)"
            ),
            "examples": ["1/12"],
        },
        "rounding": {
            "description": (
                "How the amount is rounded: half_up (0.5 cent goes up), half_even (to the even "
                "cent), half_down, up (away from zero), down (toward zero), ceiling, floor. "
                "Example: half_up."
            ),
            "type": "string",
            "enum": ["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"],
            "x-enum-label": "rounding rule",
        },
        "decimal_places": {
            "description": (
                "How many decimal places the amount is rounded to, 0 to 4. Example: 2 (cents)."
            ),
            "type": "integer",
            "minimum": 0,
            "maximum": 4,
        },
        "form": {
            "description": (
                "Whether the credit is given as a credit on future invoices or paid back as a "
                "refund, depending on whether the order was renewed. Example: {renewed: credit, "
                "not_renewed: refund}."
            ),
            "type": "object",
            "required": ["renewed", "not_renewed"],
            "additionalProperties": False,
            "properties": {
                "renewed": {
                    "description": "The form when the order was renewed. Example: credit.",
                    "type": "string",
                    "enum": ["credit", "refund"],
                    "x-enum-label": "form",
                },
                "not_renewed": {
                    "description": "The form when the order was not renewed. Example: refund.",
                    "type": "string",
                    "enum": ["credit", "refund"],
                    "x-enum-label": "form",
                },
            },
        },
    }
    required = ("fraction_of_annual_fee", "rounding", "decimal_places", "form")
    single = True

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """The fraction is at most 1: a month's credit is never more than the whole fee."""
        try:
            fraction = Fraction(str(clause.get("fraction_of_annual_fee")))
        except (ValueError, ZeroDivisionError):
            return ()  # the schema's pattern reports it
        if fraction > 1:
            return [ctx.error((*path, "fraction_of_annual_fee"),
                              f"a credit of {clause.get('fraction_of_annual_fee')} of the annual "
                              "fee is more than the whole fee; at most 1")]
        return ()

    def credit_amount(self, clause: Clause, subscription: Subscription) -> Decimal:
        """The credit for one missed month: annual fee × fraction, rounded as the clause says
        (``rounding`` to ``decimal_places``), in the subscription's currency."""
        return credit_amount(subscription.annual_fee, clause.terms)

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"fraction_of_annual_fee", "rounding", "decimal_places", "form"})
        form = terms.get("form") or {}
        places = terms.get("decimal_places", 2)
        rounding = str(terms.get("rounding", "half_up")).replace("_", " ")
        return [
            ("Amount", f"{terms.get('fraction_of_annual_fee')} of the annual fee for each "
                       f"missed month, rounded {rounding} to {places} decimal places"),
            ("Form", f"{form.get('renewed')} when the order was renewed, "
                     f"{form.get('not_renewed')} when it was not"),
        ]

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The first credit clause fixes the amount."""
        if values.credit is None:
            values.credit = clause


@register("claim_window")
class ClaimWindow(ClauseKind):
    section = "credits"
    summary_numbers = {"window": "duration"}
    title = "Claim window"
    description = "How long after the end of the month the customer has to ask for a credit."
    terms = {
        "window": {
            "description": (
                "Calendar days after the end of the month within which the credit must be "
                "requested, at most 365d. Example: 60d."
            ),
            "$ref": "#/definitions/days",
        }
    }
    required = ("window",)
    single = True

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """The window is counted in whole calendar days (``60d``, ``2w``; not ``36h``)."""
        try:
            duration_days(str(clause.get("window")))
        except ValueError:
            return [ctx.error((*path, "window"), "a claim window is counted in whole calendar "
                                                 "days, e.g. 60d")]
        return ()

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.add("window")
        return [("Claim within", f"{terms.get('window')} after the end of the month that "
                                 "missed the target; a late or missing request forfeits the "
                                 "credit")]

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """Days after the end of a month within which a credit must be claimed (first
        window wins); the deadline is local midnight that many days after the month."""
        if values.claim_days is None:
            values.claim_days = duration_days(clause.term("window"))


def credit_amount(annual_fee: Decimal, terms: Mapping[str, Any]) -> Decimal:
    """``annual_fee`` × ``fraction_of_annual_fee``, quantized to ``decimal_places`` with
    ``rounding`` (defaults 2 and half_up). Exact to 50 digits before the one rounding."""
    fraction = Fraction(str(terms["fraction_of_annual_fee"]))
    quantum = Decimal(1).scaleb(-int(terms.get("decimal_places", 2)))
    mode = _ROUNDING[terms.get("rounding", "half_up")]
    with decimal.localcontext() as context:
        context.prec = 50  # exact enough that only the final quantize rounds
        raw = annual_fee * Decimal(fraction.numerator) / Decimal(fraction.denominator)
        return raw.quantize(quantum, rounding=mode)
