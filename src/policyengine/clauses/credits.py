"""Credits: the remedy for a missed month and how to claim it.

Kinds ``service_credit`` (one amount, or tiers of availability bands; on a basis: a fraction
of the annual fee, a percentage of the monthly or the period's fee, days of service, a
multiple of the fees for the counted downtime; rounded as the contract says, given as a
credit, a refund or days of service), ``credit_cap`` (per period or per rolling 12 months),
``claim_window`` (when a credit must be requested: days or calendar months after the period
or the outage, or no deadline; without one, credits are owed without a request) and
``chronic_failure`` (a remedy such as a termination right after repeated misses). The rule
pack decides *whether* a period earns a credit, which tier it falls in, whether a cap cuts it,
its status and whether a remedy is granted; the amounts are computed here, by the kinds. A
kind with other arithmetic registers itself as the credit the same way and implements
``credit_amount`` (or ``credit_for``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
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
from policyengine.clauses.values import CreditFigure, CreditMeasure, PolicyValues
from policyengine.clauses.words import ordinal, period_words
from policyengine.clocks.durations import duration_days
from policyengine.diagnostics import Diagnostic, excerpt
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


#: The most bands a tiered credit may list (public SLAs list two to five).
MAX_TIERS = 20
#: The largest cap amount: fifteen digits before the point.
MAX_CAP_AMOUNT = Decimal(10) ** 15 - 1

# The bases a credit may be computed on (one per clause, or one per tier: the same for all).
BASES = ("fraction_of_annual_fee", "percent_of_monthly_fee", "percent_of_period_fee",
         "days_of_service", "multiple_of_downtime_fees")
_BASIS_WORDS = {
    "fraction_of_annual_fee": "{v} of the annual fee",
    "percent_of_monthly_fee": "{v}% of the monthly fee (the annual fee / 12)",
    "percent_of_period_fee": "{v}% of the fees for the measurement period",
    "days_of_service": "{v} days of service added to the term",
    "multiple_of_downtime_fees": "{v} times the fees for the counted downtime",
}
_PERCENT = {"type": "number", "exclusiveMinimum": 0, "maximum": 100}
_BASIS_TERMS: dict[str, Any] = {
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
    "percent_of_monthly_fee": {
        **_PERCENT,
        "description": "The credit as a percentage of the monthly fee (the annual fee / 12), "
                       "above 0 and at most 100. Example: 10.",
    },
    "percent_of_period_fee": {
        **_PERCENT,
        "description": "The credit as a percentage of the fees for the measurement period "
                       "(a month: annual fee / 12; a quarter: / 4; a year: the annual fee). "
                       "Example: 25.",
    },
    "days_of_service": {
        "type": "number", "exclusiveMinimum": 0, "maximum": 366,
        "description": "The credit as days of service added to the end of the term "
                       "(form: service_days). Example: 3.",
    },
    "multiple_of_downtime_fees": {
        "type": "number", "exclusiveMinimum": 0, "maximum": 1000,
        "description": "The credit as a multiple of the fees for the counted downtime (the "
                       "period's fees × counted downtime / the period's length). Example: 10.",
    },
}
_PLAIN_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")  # no exponent, no sign but minus
_FORM_VALUE = {"type": "string", "enum": ["credit", "refund", "service_days"],
               "x-enum-label": "form"}


def basis_of(terms: Mapping[str, Any]) -> list[str]:
    """The basis terms a mapping (a credit clause or one tier) gives, in :data:`BASES` order."""
    return [name for name in BASES if terms.get(name) is not None]


@register("service_credit")
class ServiceCredit(ClauseKind):
    section = "credits"
    title = "Service credit"
    description = (
        "The credit a customer earns for a period that misses the commitment: one amount, or "
        "tiers of availability bands (the band the period falls in decides)."
    )
    single = ("for credits that rise as availability falls write tiers on the one clause "
              "(tiers: [{below: 99.9, percent_of_monthly_fee: 10}, {below: 99.0, "
              "percent_of_monthly_fee: 25}]; docs/policy-language.md, Tiered credits)")
    terms = {
        **_BASIS_TERMS,
        "tiers": {
            "description": (
                "Availability bands, highest first: a period below a band's `below` (and at "
                "or above its `at_least`, by default the next band's `below`) earns that "
                "band's amount, written with one basis, the same in every band. Bands are "
                "ordered, do not overlap or leave gaps, and amounts rise as availability "
                "falls. Example: [{below: 99.9, percent_of_monthly_fee: 10}, {below: 99.0, "
                "percent_of_monthly_fee: 25}]."
            ),
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_TIERS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["below"],
                "properties": {
                    "below": {"description": "The band holds availability below this "
                                             "percentage. Example: 99.9.",
                              "type": "number", "exclusiveMinimum": 0, "maximum": 100},
                    "at_least": {"description": "The band holds availability at or above "
                                                "this percentage (default: the next band's "
                                                "below; 0 for the last). Example: 99.0.",
                                 "type": "number", "minimum": 0, "maximum": 100},
                    **_BASIS_TERMS,
                },
            },
        },
        "stacking": {
            "description": (
                "highest (default): only the band the period falls in pays; cumulative: that "
                "band and every band above it pay, added up."
            ),
            "type": "string",
            "enum": ["highest", "cumulative"],
            "x-enum-label": "stacking",
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
                "Whether the credit is given as a credit on future invoices, paid back as a "
                "refund, or given as days of service (service_days, for days_of_service), "
                "depending on whether the order was renewed. Example: {renewed: credit, "
                "not_renewed: refund}."
            ),
            "type": "object",
            "required": ["renewed", "not_renewed"],
            "additionalProperties": False,
            "properties": {
                "renewed": {**_FORM_VALUE,
                            "description": "The form when the order was renewed. Example: "
                                           "credit."},
                "not_renewed": {**_FORM_VALUE,
                                "description": "The form when the order was not renewed. "
                                               "Example: refund."},
            },
        },
    }
    required = ("rounding", "decimal_places", "form")
    per_service_terms = (*BASES, "tiers", "stacking")

    def for_service(self, terms: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
        """A service's own amount (a basis, or tiers) replaces the clause's whole amount
        (its basis, tiers and stacking); a service giving only ``stacking`` keeps the
        clause's tiers."""
        if basis_of(own) or own.get("tiers") is not None:
            terms = {k: v for k, v in terms.items()
                     if k not in (*BASES, "tiers", "stacking")}
        return super().for_service(terms, own)

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """One basis (or tiers); tiers ordered, without overlap or gap, amounts rising; a
        form that fits the basis."""
        problems: list[Diagnostic] = []
        own = basis_of(clause)
        tiers = clause.get("tiers")
        if tiers is not None and own:
            problems.append(ctx.error((*path, own[0]), f"{own[0]} and tiers both give the "
                                      "amount; write the amount in each tier"))
            return problems
        if tiers is None and len(own) != 1:
            where = (*path, own[1]) if own else path
            problems.append(ctx.error(where, "a service credit needs exactly one amount: "
                                      + ", ".join(BASES) + ", or tiers"))
            return problems
        if clause.get("stacking") is not None and tiers is None:
            problems.append(ctx.error((*path, "stacking"), "stacking applies to tiers; this "
                                      "credit has one amount"))
        basis = own[0] if own else None
        if basis == "fraction_of_annual_fee":
            problems += _fraction_over_one(ctx, path, clause)
        if tiers:
            basis, tier_problems = _check_tiers(ctx, (*path, "tiers"), tiers)
            problems += tier_problems
            if basis and not tier_problems and clause.get("stacking") == "cumulative":
                problems += _check_stack(ctx, path, tiers, basis)
        form = clause.get("form") or {}
        for when in ("renewed", "not_renewed"):
            value = form.get(when)
            days = basis == "days_of_service"
            if value is not None and (value == "service_days") != days:
                wanted = "service_days" if days else "credit or refund"
                problems.append(ctx.error((*path, "form", when), f"a credit of "
                                          f"{(basis or 'this basis').replace('_', ' ')} is "
                                          f"given as {wanted}, not {value}"))
        return problems

    def check_policy(self, ctx: CheckContext) -> Iterable[Diagnostic]:
        """The first band must start at the commitment: above it a met month would earn a
        credit (error); below it a missed month between the two earns none (warning)."""
        problems: list[Diagnostic] = []
        targets = [(p, c.get("target_percent")) for p, c in ctx.of_kind("availability_commitment")
                   if c.get("target_percent") is not None]
        for path, clause in ctx.of_kind(self.name):
            tiers = clause.get("tiers") or []
            if not tiers or not isinstance(tiers[0], Mapping) or tiers[0].get("below") is None:
                continue
            top = Decimal(str(tiers[0]["below"]))
            for target_path, target in targets:
                goal = Decimal(str(target))
                where = (*path, "tiers", 0, "below")
                if top > goal:
                    problems.append(ctx.error(where, f"the first tier starts below {top}%, above "
                                              f"the {goal}% commitment at line "
                                              f"{ctx.line(target_path)}: a month that meets "
                                              "the commitment cannot earn a credit"))
                elif top < goal:
                    problems.append(ctx.warning(where, f"the first tier starts below {top}%, "
                                                f"under the {goal}% commitment at line "
                                                f"{ctx.line(target_path)}: a month between "
                                                "the two misses the commitment and earns no "
                                                "credit"))
        return problems

    def credit_amount(self, clause: Clause, subscription: Subscription) -> Decimal:
        """The credit for one missed month with a fraction of the annual fee: annual fee ×
        fraction, rounded as the clause says (``rounding`` to ``decimal_places``).
        Raises NotImplementedError for another basis (use :meth:`credit_for`)."""
        if not clause.has_term("fraction_of_annual_fee"):
            raise NotImplementedError("this credit needs the measured period: credit_for")
        return credit_amount(subscription.annual_fee, clause.terms)

    def credit_for(self, clause: Clause, subscription: Subscription,
                   measure: CreditMeasure) -> CreditFigure:
        """The credit of one missed period, from the basis of the clause or of the tier the
        rules decided (``measure.tier``; with ``stacking: cumulative`` every band from the
        first to it, added up). Exact to 50 digits, rounded once (``rounding`` to
        ``decimal_places``). Money in the subscription's currency; days of service in
        ``days``. Raises ValueError when the clause has tiers and no tier was decided."""
        terms = clause.terms
        tiers = terms.get("tiers")
        if tiers:
            if measure.tier is None:
                raise ValueError(f"credit {clause.id!r} has tiers but no tier was decided")
            bands = (tiers[:measure.tier] if terms.get("stacking") == "cumulative"
                     else [tiers[measure.tier - 1]])
        else:
            bands = [terms]
        basis = basis_of(bands[0])[0]
        with decimal.localcontext() as context:
            context.prec = 50  # exact enough that only the final quantize rounds
            raw = sum((_raw(basis, band[basis], subscription.annual_fee, measure)
                       for band in bands), Decimal(0))
        quantum = Decimal(1).scaleb(-int(terms.get("decimal_places", 2)))
        amount = raw.quantize(quantum, rounding=_ROUNDING[terms.get("rounding", "half_up")])
        unit = "days" if basis == "days_of_service" else subscription.currency
        return CreditFigure(amount, unit, basis, measure.tier if tiers else None)

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({*BASES, "tiers", "stacking", "rounding", "decimal_places", "form"})
        form = terms.get("form") or {}
        places = terms.get("decimal_places", 2)
        rounding = str(terms.get("rounding", "half_up")).replace("_", " ")
        lines: TermLines = []
        own = basis_of(terms)
        if own:
            lines.append(("Amount", f"{_BASIS_WORDS[own[0]].format(v=terms[own[0]])} for each "
                                    f"missed {period_words().noun}, rounded {rounding} to "
                                    f"{places} decimal places"))
        for number, tier in enumerate(terms.get("tiers") or (), start=1):
            if not isinstance(tier, Mapping):
                continue
            floor = tier.get("at_least")
            band = f"below {tier.get('below')}%" + (f", at least {floor}%" if floor else "")
            basis = basis_of(tier)
            amount = _BASIS_WORDS[basis[0]].format(v=tier[basis[0]]) if basis else "nothing"
            lines.append((f"Tier {number}", f"{band}: {amount}"))
        if terms.get("tiers"):
            noun = period_words().noun
            stacking = (f"the bands from the first to the one the {noun} falls in, added up"
                        if terms.get("stacking") == "cumulative"
                        else f"only the band the {noun} falls in (no stacking)")
            lines.append(("Pays", f"{stacking}; rounded {rounding} to {places} decimal places"))
        lines.append(("Form", f"{form.get('renewed')} when the order was renewed, "
                              f"{form.get('not_renewed')} when it was not"))
        return lines

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The credit clause fixes the amount (one per policy, checked)."""
        if values.credit is None:
            values.credit = clause
            if not clause.has_term("fraction_of_annual_fee"):
                values.credit_details = True


def _check_tiers(ctx: CheckContext, path: ClausePath,
                 tiers: list[Any]) -> tuple[str | None, list[Diagnostic]]:
    """The tiers' common basis and their problems: one basis each, the same in all; bands
    highest first, each band's floor the next band's `below` (no overlap, no gap), the last
    reaching 0; amounts rising as availability falls."""
    problems: list[Diagnostic] = []
    basis: str | None = None
    previous: tuple[Decimal, Decimal] | None = None  # below, amount of the band above
    for index, tier in enumerate(tiers):
        if not isinstance(tier, Mapping):
            continue
        here = (*path, index)
        given = basis_of(tier)
        if len(given) != 1:
            problems.append(ctx.error(here, "a tier needs exactly one amount: "
                                      + ", ".join(BASES)))
            continue
        if basis is None:
            basis = given[0]
        elif given[0] != basis:
            problems.append(ctx.error((*here, given[0]), f"every tier uses one basis: the "
                                      f"first tier gives {basis}, this one {given[0]}"))
            continue
        if basis == "fraction_of_annual_fee":
            over = _fraction_over_one(ctx, here, tier)
            if over:
                problems += over
                continue
        below = Decimal(str(tier.get("below")))
        amount = _comparable(basis, tier[basis])
        if previous is not None:
            above_below, above_amount = previous
            if below >= above_below:
                problems.append(ctx.error((*here, "below"), f"tiers go from the highest "
                                          f"availability down: below {below}% must be under "
                                          f"the tier above's {above_below}%"))
            elif amount <= above_amount:
                problems.append(ctx.error((*here, basis), f"amounts rise as availability falls: "
                                          f"{tier[basis]} is not more than the tier above's"))
        floor = tier.get("at_least")
        if floor is not None:
            floor = Decimal(str(floor))
            nxt = tiers[index + 1] if index + 1 < len(tiers) else None
            nxt_below = (Decimal(str(nxt.get("below"))) if isinstance(nxt, Mapping)
                         and nxt.get("below") is not None else Decimal(0))
            if floor >= below:
                problems.append(ctx.error((*here, "at_least"), f"at_least {floor}% must be "
                                          f"under below {below}%: the band is empty"))
            elif floor < nxt_below:
                problems.append(ctx.error((*here, "at_least"), f"this band (from {floor}%) "
                                          f"overlaps the next one (below {nxt_below}%): a "
                                          "period would fall in both"))
            elif floor > nxt_below:
                what = ("the next tier's" if nxt is not None else "0, the last band's floor")
                problems.append(ctx.error((*here, "at_least"), f"a gap: availability from "
                                          f"{nxt_below}% up to {floor}% falls in no band "
                                          f"(at_least must be {what} {nxt_below}%)"))
        previous = (below, amount)
    return basis, problems


def _fraction_over_one(ctx: CheckContext, path: ClausePath,
                       terms: Mapping[str, Any]) -> list[Diagnostic]:
    """A fraction of the annual fee above 1 (a clause's or a tier's): a period's credit is
    never more than the whole fee. A fraction the schema's pattern refuses is left to it."""
    try:
        fraction = Fraction(str(terms.get("fraction_of_annual_fee")))
    except (ValueError, ZeroDivisionError):
        return []
    if fraction <= 1:
        return []
    return [ctx.error((*path, "fraction_of_annual_fee"),
                      f"a credit of {terms.get('fraction_of_annual_fee')} of the annual fee is "
                      "more than the whole fee; at most 1")]


def _check_stack(ctx: CheckContext, path: ClausePath, tiers: list[Any],
                 basis: str) -> list[Diagnostic]:
    """Stacked (``cumulative``), the bands down to the last add up to at most what one
    amount may be (the whole annual fee, 100 percent, 366 days, 1000 times): a stack is
    one period's credit, bounded like one."""
    most = (Decimal(1) if basis == "fraction_of_annual_fee"
            else Decimal(str(_BASIS_TERMS[basis]["maximum"])))
    total = sum((_comparable(basis, tier[basis]) for tier in tiers), Decimal(0))
    if total <= most:
        return []
    return [ctx.error((*path, "stacking"), f"stacked, the {len(tiers)} tiers' {basis} add up "
                      f"to {_figure(total)}, more than one credit may be ({_figure(most)}); "
                      "lower the amounts, or let only the band a period falls in pay "
                      "(stacking: highest)")]


def _figure(value: Decimal) -> str:
    """A decimal without trailing zeros, to at most 6 places (1.4, 0.333333)."""
    return format(value.quantize(Decimal("0.000001")).normalize(), "f")


def _comparable(basis: str, value: Any) -> Decimal:
    if basis == "fraction_of_annual_fee":
        fraction = Fraction(str(value))
        return Decimal(fraction.numerator) / Decimal(fraction.denominator)
    return Decimal(str(value))


def _raw(basis: str, value: Any, annual_fee: Decimal, measure: CreditMeasure) -> Decimal:
    """One band's credit before rounding (money, or days for days_of_service); every
    product is formed before the one division, so an exact value stays exact."""
    if basis == "days_of_service":
        return Decimal(str(value))
    if basis == "fraction_of_annual_fee":
        fraction = Fraction(str(value))
        return annual_fee * Decimal(fraction.numerator) / Decimal(fraction.denominator)
    number = Decimal(str(value))
    # the bases that are the fees for the period take a part period's share of them
    # (measure.share: 1 for a whole period; days in the term / days of the period when
    # pro-rated)
    share = measure.share
    if basis == "percent_of_monthly_fee":
        return annual_fee * number * share / 1200
    if basis == "percent_of_period_fee":
        return annual_fee * measure.period_months * number * share / 1200
    # multiple_of_downtime_fees: the period's (or its part's) fees per elapsed second of it
    # × counted seconds
    return (annual_fee * measure.period_months * share * Decimal(repr(measure.counted_seconds))
            * number / (12 * Decimal(repr(measure.period_seconds))))


@register("credit_cap")
class CreditCap(ClauseKind):
    section = "credits"
    title = "Credit cap"
    description = (
        "The most a customer's credits may add up to, per measurement period or per rolling "
        "12 months: a percentage of the fees for that time, or an amount."
    )
    terms = {
        "per": {
            "description": "What the cap limits: the credit of one measurement period "
                           "(period), or the credits of the periods in any 12 months "
                           "(rolling_12_months). Example: period.",
            "type": "string",
            "enum": ["period", "rolling_12_months"],
            "x-enum-label": "cap",
        },
        "percent_of_fees": {
            "description": "The cap as a percentage of the fees for that time (the period's "
                           "fees, or 12 months' fees: the annual fee). Example: 50.",
            "type": "number", "minimum": 0, "maximum": 100,
        },
        "amount": {
            "description": "The cap as an amount in the credit's unit (money in the "
                           "subscription's currency, or days for days of service). "
                           "Example: \"5000.00\".",
            "type": ["string", "number"],
        },
    }
    required = ("per",)

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """Exactly one of percent_of_fees and amount; an amount that is a number, not below 0;
        one cap per `per`."""
        problems: list[Diagnostic] = []
        given = [k for k in ("percent_of_fees", "amount") if clause.get(k) is not None]
        if len(given) != 1:
            where = (*path, given[1]) if given else path
            problems.append(ctx.error(where, "a credit cap needs exactly one limit: "
                                      "percent_of_fees or amount"))
        if clause.get("amount") is not None:
            text = str(clause["amount"])
            try:
                value = Decimal(text)
                if not value.is_finite() or not _PLAIN_DECIMAL.match(text):
                    raise decimal.InvalidOperation
            except decimal.InvalidOperation:
                problems.append(ctx.error((*path, "amount"), f"a cap amount is a decimal "
                                          f"number like 5000.00, not {excerpt(clause['amount'])}"))
            else:
                if value < 0:
                    problems.append(ctx.error((*path, "amount"), f"a cap below zero "
                                              f"({value}) would take credits back"))
                elif value > MAX_CAP_AMOUNT:
                    problems.append(ctx.error((*path, "amount"), f"a cap of {value} is more "
                                              "than the largest allowed, 15 digits before the "
                                              "point"))
        seen = ctx.scratch(self.name)
        per = clause.get("per")
        if per in seen:
            problems.append(ctx.error((*path, "per"), f"a second cap per {per} (the first at "
                                      f"line {ctx.line(seen[per])}); one cap per period kind"))
        else:
            seen[per] = path
        return problems

    def check_policy(self, ctx: CheckContext) -> Iterable[Diagnostic]:
        """A cap needs a credit; a days-of-service credit is capped in days (amount)."""
        problems: list[Diagnostic] = []
        credits = ctx.of_kind("service_credit")
        days = any("days_of_service" in basis_of(c) or any(
            isinstance(t, Mapping) and "days_of_service" in basis_of(t)
            for t in c.get("tiers") or ()) for _, c in credits)
        for path, clause in ctx.of_kind(self.name):
            if not credits:
                problems.append(ctx.error(path, "a credit cap without a service_credit clause "
                                          "caps nothing"))
            elif days and clause.get("percent_of_fees") is not None:
                problems.append(ctx.error((*path, "percent_of_fees"), "the credit is days of "
                                          "service: cap it in days with amount"))
        return problems

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"per", "percent_of_fees", "amount"})
        words = period_words()
        per = (f"one {words.noun}" if terms.get("per") == "period"
               else f"the {words.plural} of any 12 months (rolling)")
        limit = (f"{terms.get('percent_of_fees')}% of the fees for that time"
                 if terms.get("percent_of_fees") is not None else f"{terms.get('amount')}")
        return [("Cap", f"the credits of {per} add up to at most {limit}; a credit over it "
                        "is cut to what is left")]

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        values.credit_caps.append(clause)
        values.credit_details = True

    def limit(self, clause: Clause, subscription: Subscription, period_months: int,
              places: int, share: Decimal = Decimal(1)) -> Decimal:
        """The cap in the credit's unit: the amount, or the percentage of the fees for the
        period (``per: period``; of a part period, its ``share`` of them) or for 12 months
        (the annual fee), to ``places`` decimals rounded down (a cap never grows by
        rounding; an amount of 750 is 750.00, as the credit it cuts is written)."""
        with decimal.localcontext() as context:
            context.prec = 50
            if clause.has_term("amount"):
                raw = Decimal(str(clause.term("amount")))
            elif clause.term("per") == "period":
                fees = subscription.annual_fee * period_months * share / 12
                raw = fees * Decimal(str(clause.term("percent_of_fees"))) / 100
            else:
                fees = subscription.annual_fee
                raw = fees * Decimal(str(clause.term("percent_of_fees"))) / 100
            return raw.quantize(Decimal(1).scaleb(-places), rounding=decimal.ROUND_DOWN)


@register("chronic_failure")
class ChronicFailure(ClauseKind):
    section = "credits"
    title = "Chronic failure"
    description = (
        "A remedy beyond credits (for example a right to terminate) when the commitment is "
        "missed in several consecutive periods, or in several periods of any 12 months."
    )
    terms = {
        "consecutive_missed": {
            "description": "Grants the remedy when this many consecutive periods in a row "
                           "missed the commitment. Example: 3.",
            "type": "integer", "minimum": 1, "maximum": 120,
        },
        "missed_in_12_months": {
            "description": "Grants the remedy when this many periods of any 12 months (rolling) "
                           "missed the commitment. Example: 4.",
            "type": "integer", "minimum": 1, "maximum": 12,
        },
        "remedy": {
            "description": "What the customer gains, as a short name. Example: "
                           "termination_right.",
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]*$",
            "patternErrorMessage": "expected a short name like termination_right",
            "examples": ["termination_right", "fee_refund"],
        },
        "exercise_within": {
            "description": "Calendar days after the end of the period that granted it within "
                           "which the customer may use the remedy. Example: 30d.",
            "type": "string",
            "pattern": "^[1-9][0-9]*d$",
            "patternErrorMessage": "expected whole days like 30d",
        },
    }
    required = ("remedy",)

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        if clause.get("consecutive_missed") is None and clause.get("missed_in_12_months") is None:
            return [ctx.error(path, "a chronic failure needs consecutive_missed, "
                                    "missed_in_12_months, or both")]
        return ()

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"consecutive_missed", "missed_in_12_months", "remedy", "exercise_within"})
        when = []
        words = period_words()
        if terms.get("consecutive_missed") is not None:
            when.append(f"{terms['consecutive_missed']} consecutive {words.plural} miss the "
                        "commitment")
        if terms.get("missed_in_12_months") is not None:
            when.append(f"{terms['missed_in_12_months']} {words.plural} of any 12 months miss "
                        "it")
        remedy = str(terms.get("remedy")).replace("_", " ")
        lines = [("Remedy", f"{remedy} when " + " or when ".join(when))]
        if terms.get("exercise_within"):
            lines.append(("Use within", f"{terms['exercise_within']} after the end of the "
                                        f"{words.noun} that granted it"))
        return lines

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        values.chronic.append(clause)


@register("claim_window")
class ClaimWindow(ClauseKind):
    section = "credits"
    summary_numbers = {"window": "duration"}
    title = "Claim window"
    description = (
        "How long the customer has to ask for a credit, counted from the end of the period "
        "(or from the outage), and whether a request is needed at all. A policy with a "
        "service credit and no claim window owes every credit without a request."
    )
    terms = {
        "window": {
            "description": (
                "When the credit must be requested by: calendar days after the end of the "
                "period (or of the day the outage ended, with from: incident), at most 365d "
                "(60d); or {months: N, to: end_of_month}, the last day of the Nth calendar "
                "month after (1 to 12: 28 to 31 days for one month); or unlimited, a request "
                "is needed but has no deadline. Examples: 60d, {months: 1, to: end_of_month}, "
                "unlimited."
            ),
            "type": ["string", "object"],
            "pattern": "^([0-9]+(d|w)|unlimited)$",
            "patternErrorMessage": (
                "expected a number of days like 60d (or weeks like 2w), unlimited, or "
                "{months: 1, to: end_of_month}"
            ),
            "properties": {
                "months": {
                    "description": "Calendar months after the month the window counts "
                                   "from, 1 to 12. Example: 1.",
                    "type": "integer", "minimum": 1, "maximum": 12,
                },
                "to": {
                    "description": "Where in that month the window ends: end_of_month (its "
                                   "last day).",
                    "type": "string", "enum": ["end_of_month"],
                },
            },
            "required": ["months", "to"],
            "additionalProperties": False,
            "examples": ["60d", {"months": 1, "to": "end_of_month"}, "unlimited"],
        },
        "from": {
            "description": (
                "What the window counts from: period_end (the default: the end of the period "
                "that missed its target; a request made before it claims nothing) or incident "
                "(the day the period's last counted outage ended; a request made once its "
                "first counted outage has begun claims the period's credit, even before the "
                "period ends)."
            ),
            "type": "string",
            "enum": ["period_end", "incident"],
        },
    }
    required = ("window",)
    single = "write the window the contract gives on one clause"

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """A window of days is counted in whole calendar days (``60d``, ``2w``; not
        ``36h``) and is not zero (a request could never be in time)."""
        window = clause.get("window")
        if not isinstance(window, str) or window == UNLIMITED:
            return ()
        try:
            days = duration_days(window)
        except ValueError:
            return [ctx.error((*path, "window"), "a claim window is counted in whole calendar "
                                                 "days, e.g. 60d")]
        if days == 0:
            return [ctx.error((*path, "window"), "a claim window of no days leaves no time to "
                                                 "ask; write the days the contract gives, or "
                                                 "unlimited for no deadline")]
        return ()

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        done.update({"window", "from"})
        window = terms.get("window")
        if window == UNLIMITED:
            return [("Claim", f"a credit must be requested, with no deadline, {_after(terms)}; "
                              "until then it is claimable, never forfeited")]
        return [("Claim within", f"{window_words(terms)}; a late or missing request forfeits "
                                 "the credit")]

    def absence(self, policy: Policy) -> tuple[str, str] | None:
        """``show``'s line for a policy with a credit and no claim window."""
        if not any(clause.section == "credits" and clause.kind == "service_credit"
                   for clause in policy.clauses):
            return None
        return ("Claims", "no claim window: every credit is owed without a request, with no "
                          "deadline (status payable, no claim deadline)")

    def contribute(self, clause: Clause, values: PolicyValues, policy: Policy) -> None:
        """The claim window clause (the first wins), and its days for a window of days."""
        if values.claim_window is None:
            values.claim_window = clause
            window = clause.term("window")
            if isinstance(window, str) and window != UNLIMITED:
                values.claim_days = duration_days(window)


UNLIMITED = "unlimited"


def _counts_from(terms: Mapping[str, Any]) -> str:
    return terms.get("from") or "period_end"


def _after(terms: Mapping[str, Any]) -> str:
    """When a request may be made: after the period, or once the outage has begun."""
    if _counts_from(terms) == "incident":
        return "once an outage of the " + period_words().noun + " has begun"
    return f"after the end of the {period_words().noun} that missed the target"


def window_words(terms: Mapping[str, Any]) -> str:
    """A claim window in words, for ``show`` and for findings: ``60d after the end of the
    month that missed the target``, ``10d after the day the outage ended``, ``by the end
    of the calendar month after the month that missed the target``, ``with no deadline``."""
    window = terms.get("window")
    incident = _counts_from(terms) == "incident"
    noun = period_words().noun
    if window == UNLIMITED:
        return ("with no deadline, once an outage of the " + noun + " has begun" if incident
                else f"with no deadline, after the end of the {noun}")
    if isinstance(window, Mapping):
        months = int(window.get("months", 1))
        which = "calendar month" if months == 1 else f"{ordinal(months)} calendar month"
        base = ("the month the outage ended" if incident
                else f"the {noun} that missed the target")
        return f"by the end of the {which} after {base}"
    if incident:
        return f"{window} after the day the outage ended"
    return f"{window} after the end of the {noun} that missed the target"


def claim_last_day(terms: Mapping[str, Any], last_day: dt.date) -> dt.date | None:
    """The last day a credit may be requested on (a local date), or None for no deadline.

    ``last_day``: the day the window counts from: the last day of the period (from
    period_end), or the day the period's last counted outage ended (from incident). A window
    of N days ends N days after it (October 2026 + 60d: 2026-12-30); ``{months: N, to:
    end_of_month}`` on the last day of the Nth calendar month after its month (October +
    1 month: 2026-11-30; November: 2026-12-31; 28 to 31 days); ``unlimited``: None.
    """
    window = terms.get("window")
    if window == UNLIMITED:
        return None
    if isinstance(window, Mapping):
        index = last_day.year * 12 + last_day.month - 1 + int(window["months"]) + 1
        return dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)
    return last_day + dt.timedelta(days=duration_days(str(window)))


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
