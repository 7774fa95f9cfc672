"""The evaluation stages, declared once: their order, the facts each receives, what each decides.

The evaluator (:mod:`policyengine.evaluate.evaluator`) builds *derived facts* from the input
(a ``window`` per downtime record and affected customer, a ``customer_month`` per customer
and month, ...) and runs the rules of each stage over them, in this order::

  window-exclusions → window-verdicts → months → credits → credit-caps → remedies
  ticket-severity → ticket-clocks
  obligations → obligation-verdicts
  entitlements

This module is the one description of that contract. Rule packs are checked against it
(:mod:`policyengine.compile.packcheck`): a rule on an unknown stage, on a fact type its stage
never receives, reading a field those facts never carry, or deciding a field nobody reads
is a located error, never a rule that silently decides nothing. ``tests/test_stages.py``
runs the example through the evaluator and checks that every fact sent to every stage
matches this declaration, so it cannot drift from what the evaluator really builds.

Times are epoch seconds (UTC), durations and leads are seconds; see ``docs/stages.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from policyengine.model.facts import IMPACT_FLAGS

# -- stage names, in evaluation order ---------------------------------------------------
WINDOW_EXCLUSIONS = "window-exclusions"
WINDOW_VERDICTS = "window-verdicts"
MONTHS = "months"
CREDITS = "credits"
CREDIT_CAPS = "credit-caps"
REMEDIES = "remedies"
TICKET_SEVERITY = "ticket-severity"
TICKET_CLOCKS = "ticket-clocks"
OBLIGATIONS = "obligations"
OBLIGATION_VERDICTS = "obligation-verdicts"
ENTITLEMENTS = "entitlements"

# -- derived fact types -----------------------------------------------------------------
WINDOW = "window"
WINDOW_NOTICE = "window_notice"
CUSTOMER_MONTH = "customer_month"
CREDIT_TIER = "credit_tier"
CREDIT_CAP = "credit_cap"
MISSED_PERIOD = "missed_period"
TICKET = "ticket"
NOTICE_SUBJECT = "notice_subject"
SUBJECT_NOTICE = "subject_notice"
UPDATE_REQUEST = "update_request"


# -- value kinds: what a field holds (``set`` values and ``combine`` modes are checked) ---------
TEXT = "text"
NUMBER = "number"  # epoch seconds, seconds, levels, percentages: int or float
BOOLEAN = "boolean"
KINDS = (TEXT, NUMBER, BOOLEAN)
# the combine modes that make sense for each kind (``unique``: every rule must agree)
COMBINES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    TEXT: ("unique",),
    NUMBER: ("unique", "max", "min"),
    BOOLEAN: ("unique", "all", "any"),
})


def a_kind(kind: str | None) -> str:
    """``text``, ``a number``, ``a boolean`` (for messages); ``null`` for None."""
    return {TEXT: "text", NUMBER: "a number", BOOLEAN: "a boolean"}.get(kind or "", "null")


def kind_of_value(value: Any) -> str | None:
    """The kind of a value as the engine sees it (``None`` for null or anything else)."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    return None


@dataclass(frozen=True)
class FieldSpec:
    """One field of a derived fact.

    ``decided_in`` names the earlier stage whose rules decided the value (the evaluator
    copies the decision onto the fact for later stages); ``None`` for measured fields.
    ``kind``: :data:`TEXT`, :data:`NUMBER` or :data:`BOOLEAN`.
    """

    name: str
    description: str
    decided_in: str | None = None
    kind: str = TEXT


@dataclass(frozen=True)
class FactSpec:
    """A derived fact type and every field it may carry.

    ``extras_from`` names the input record (``downtime``, ``ticket``, ``update_request``)
    whose unknown scalar fields are copied onto the fact (the fact's own fields win);
    ``record_fields`` are that record's standard fields, which never reach the rules as
    such (they are consumed into the derived fields).
    """

    type: str
    description: str
    fields: Mapping[str, FieldSpec]
    extras_from: str | None = None
    record_fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class StageSpec:
    """One stage: what its rules see and the decision fields they may ``set``.

    ``receives`` maps each fact type the stage is given to the fields those facts carry
    in this stage (a subset of :data:`FACT_TYPES`' fields); ``decides`` maps a fact type
    to the fields the evaluator reads back from this stage's decisions. Facts of types a
    policy declares (``spec.fact_types``) reach every stage whose rules match them.
    """

    name: str
    description: str
    receives: Mapping[str, frozenset[str]]
    decides: Mapping[str, frozenset[str]]

    def fields_of(self, fact_type: str) -> frozenset[str]:
        """Field names facts of ``fact_type`` carry in this stage (empty when not received)."""
        return self.receives.get(fact_type, frozenset())


def _fields(*specs: FieldSpec) -> Mapping[str, FieldSpec]:
    return MappingProxyType({s.name: s for s in specs})


_TYPE = FieldSpec("type", "the fact type")

FACT_TYPES: Mapping[str, FactSpec] = MappingProxyType({
    WINDOW: FactSpec(
        WINDOW, "one downtime record as it affects one SaaS customer",
        _fields(
            _TYPE,
            FieldSpec("key", "customer/downtime id"),
            FieldSpec("customer", "the affected customer"),
            FieldSpec("downtime", "the downtime record's id"),
            FieldSpec("cause", "the record's cause"),
            FieldSpec("maintenance", "scheduled, emergency or none"),
            FieldSpec("start", "start instant, epoch seconds", kind=NUMBER),
            FieldSpec("end", "end instant, epoch seconds (as-of for a downtime still going "
                      "on then)", kind=NUMBER),
            FieldSpec("duration", "end - start, seconds", kind=NUMBER),
            FieldSpec("emergency_rank", "1 for the customer's first emergency window of its "
                      "month (by start), 2 for the second, ...; 0 when not emergency", kind=NUMBER),
            FieldSpec("plan", "the plan of the customer's SaaS subscription in force at the "
                      "start (else the first to begin during the window, else the nearest)"),
            FieldSpec("deployment", "that subscription's deployment"),
            FieldSpec("in_term", "a SaaS subscription term of the customer is in force during "
                      "some of the window (false: nothing is charged; such a window only goes "
                      "to window-verdicts)", kind=BOOLEAN),
            FieldSpec("excluded_up_to", "seconds excluded from the start (the whole duration "
                      "when excused; 0 when nothing is)", WINDOW_EXCLUSIONS, kind=NUMBER),
            FieldSpec("allowance_cut", "seconds of the scheduled exclusion the maintenance "
                      "allowance did not have left (they count); 0 when none (measured after "
                      "window-exclusions)", kind=NUMBER),
            FieldSpec("start_text", "the start in words (an instant in the policy's timezone)"),
            FieldSpec("end_text", "the end in words"),
            FieldSpec("duration_text", "the duration in words"),
            FieldSpec("exclusion_text", "what could have excused the window and why it did "
                      "not: scheduled maintenance and its best notice against the lead the "
                      "scheduled-maintenance clause asks, emergency maintenance and its rank, "
                      "or unplanned downtime and its cause"),
            FieldSpec("excluded_text", "excluded_up_to in words"),
            FieldSpec("counted_text", "the time counted as downtime (duration less "
                      "excluded_up_to) in words"),
            FieldSpec("counted_from_text", "the instant counting starts (start + "
                      "excluded_up_to) in words"),
        ),
        extras_from="downtime",
        record_fields=frozenset({"type", "id", "start", "end", "cause", "maintenance",
                                 "customers", "services", "impact", "affected_share"}),
    ),
    WINDOW_NOTICE: FactSpec(
        WINDOW_NOTICE, "a notice about a downtime record that reached the window's customer",
        _fields(
            _TYPE,
            FieldSpec("key", "the notice's id"),
            FieldSpec("window", "the key of the window it announces"),
            FieldSpec("customer", "the customer"),
            FieldSpec("kind", "the notice kind, e.g. scheduled_downtime"),
            FieldSpec("channel", "how it was sent, e.g. email"),
            FieldSpec("lead", "seconds from sending to the window's start (negative: late)",
                      kind=NUMBER),
            FieldSpec("lead_text", "the lead in words against the lead the scheduled-"
                      "maintenance clause asks (\"72 h ahead, 24 h more than 48 h\")"),
        ),
    ),
    CUSTOMER_MONTH: FactSpec(
        CUSTOMER_MONTH, "one SaaS customer in one measurement period (a calendar month, "
        "quarter or year of the policy's timezone), or one service of it",
        _fields(
            _TYPE,
            FieldSpec("key", "customer/period, plus /service when measured per service "
                      "(customer/YYYY-MM for a monthly policy)"),
            FieldSpec("customer", "the customer"),
            FieldSpec("month", "YYYY-MM: the month, or the first month of a longer period"),
            FieldSpec("period", "the period's key: YYYY-MM, YYYY-Qn or YYYY"),
            FieldSpec("service", "the service measured (only when the commitment's scope is "
                      "per_service)"),
            FieldSpec("plan", "the plan of the customer's SaaS subscription in force on the "
                      "month's first day (else the first to begin in it, else the nearest)"),
            FieldSpec("deployment", "that subscription's deployment"),
            FieldSpec("month_start", "the period's first local midnight, epoch seconds",
                      kind=NUMBER),
            FieldSpec("month_end", "the next period's first local midnight, epoch seconds",
                      kind=NUMBER),
            FieldSpec("measured_start", "where the measure starts: month_start, or for a "
                      "part period (full_months_only: false) the later term_start",
                      kind=NUMBER),
            FieldSpec("measured_end", "where the measure ends: month_end, or for a part "
                      "period the earlier term_end", kind=NUMBER),
            FieldSpec("term_start", "local midnight starting that subscription's term, or the "
                      "earliest term it renews without a gap (same plan and deployment)",
                      kind=NUMBER),
            FieldSpec("term_end", "local midnight after the last day of that term, or of the "
                      "last term renewing it without a gap", kind=NUMBER),
            FieldSpec("in_term", "a SaaS subscription term of the customer is in force during "
                      "some of the month", kind=BOOLEAN),
            FieldSpec("complete", "the month is over at as-of (false: provisional, measured "
                      "up to as-of)", kind=BOOLEAN),
            FieldSpec("availability", "percent available (of the month, or of its part up to "
                      "as-of while not complete), floored to 1e-9", kind=NUMBER),
            FieldSpec("availability_percent", "percent available, 4 decimals (for messages; "
                      "a month below its target is floored so it never reads as the target)",
                      kind=NUMBER),
            FieldSpec("renewed", "whether that subscription's order was renewed", kind=BOOLEAN),
            FieldSpec("requested", "whether a credit request made after the month ended "
                      "names this month (a window from: incident: made once its first counted "
                      "outage had begun)", kind=BOOLEAN),
            FieldSpec("requested_at", "the earliest such request, epoch seconds (only when "
                      "requested)", kind=NUMBER),
            FieldSpec("early_request_at", "the earliest request for this month made before "
                      "it ended (from: incident: before its first counted outage began), epoch "
                      "seconds (only when there is one; it claims nothing)",
                      kind=NUMBER),
            FieldSpec("claim_deadline", "end of the claim window, epoch seconds (a window with "
                      "no deadline: 9999-12-31T23:59:59Z)", kind=NUMBER),
            FieldSpec("claim_window_words", "the claim window in words, only when it is not a "
                      "number of days after the period's end (counted from the outage, to the "
                      "end of a calendar month, or with no deadline); the rules of those "
                      "windows read it, the plain-days rules require it absent"),
            FieldSpec("claim_opens_words", "from when a request counts, in words: 'the end of "
                      "the month' or 'the first counted outage of the month' (with "
                      "claim_window_words)"),
            FieldSpec("as_of", "the evaluation instant, epoch seconds", kind=NUMBER),
            FieldSpec("covered", "the month has an availability commitment", MONTHS, kind=BOOLEAN),
            FieldSpec("met", "the month met its commitment", MONTHS, kind=BOOLEAN),
            FieldSpec("period_unit", "the period's unit in words: month, quarter or year"),
            FieldSpec("term_text", "the subscription run (term_start to term_end) as dates"),
            FieldSpec("period_end_text", "month_end in words (the instant the period ends)"),
            FieldSpec("as_of_text", "as_of in words"),
            FieldSpec("counted_text", "the downtime counted in the period (up to as-of while "
                      "not complete), in words"),
            FieldSpec("allowed_text", "the downtime the commitment allows in that time (the "
                      "error budget: elapsed × (100 - target) / 100), in words"),
            FieldSpec("budget_text", "counted against allowed: \"2 h to spare\", \"nothing "
                      "to spare\" or \"5 h 3 min over\""),
            FieldSpec("requested_text", "requested_at in words (only when requested)"),
            FieldSpec("early_request_text", "early_request_at in words (only when there is "
                      "one)"),
            FieldSpec("claim_last_day", "the last day of the claim window, YYYY-MM-DD (only "
                      "when the window has a deadline)"),
            FieldSpec("claim_close_text", "when the claim window closes, in words: 'closes "
                      "at the end of 2026-11-30' or 'never closes'"),
            FieldSpec("form_renewed_text", "how the credit is given for a renewed order, in "
                      "words: 'a credit', 'a refund', 'days of service added to the term'"),
            FieldSpec("form_not_renewed_text", "how the credit is given for an order not "
                      "renewed, in words"),
            FieldSpec("credit_text", "the credit's arithmetic (\"1/12 × 120,000.00 = "
                      "10,000.00 USD\"; a credit without tiers, for a period that missed its "
                      "commitment)"),
        ),
    ),
    CREDIT_TIER: FactSpec(
        CREDIT_TIER, "one band of a tiered service credit, for one customer period that "
        "missed its commitment",
        _fields(
            _TYPE,
            FieldSpec("key", "customer/period#tier"),
            FieldSpec("credit", "the key of the customer_month it is for"),
            FieldSpec("customer", "the customer"),
            FieldSpec("tier", "the band's number, 1 for the first (highest) band listed",
                      kind=NUMBER),
            FieldSpec("below", "the band holds availability below this percentage",
                      kind=NUMBER),
            FieldSpec("at_least", "the band holds availability at or above this percentage",
                      kind=NUMBER),
            FieldSpec("band_text", "the band in words: 'below 99.95%, at least 99%', the "
                      "lowest band 'below 95%'"),
            FieldSpec("availability", "the period's availability, exact (its customer_month's)",
                      kind=NUMBER),
            FieldSpec("credit_text", "the credit's arithmetic if the period falls in this band "
                      "(stacked bands added up)"),
        ),
    ),
    CREDIT_CAP: FactSpec(
        CREDIT_CAP, "one cap measured against one credit (periods in order, per customer)",
        _fields(
            _TYPE,
            FieldSpec("key", "customer/period/per"),
            FieldSpec("credit", "the key of the customer_month whose credit it limits"),
            FieldSpec("customer", "the customer"),
            FieldSpec("per", "period or rolling_12_months"),
            FieldSpec("amount", "the credit before this cap, in its unit", kind=NUMBER),
            FieldSpec("limit", "the cap, in the credit's unit", kind=NUMBER),
            FieldSpec("room", "what the cap leaves: the limit less the credits granted in the "
                      "earlier periods it spans (never below 0)", kind=NUMBER),
            FieldSpec("amount_text", "amount as written in the report"),
            FieldSpec("limit_text", "limit as written in the report"),
            FieldSpec("room_text", "room as written in the report"),
            FieldSpec("unit", "the credit's unit: a currency, or days"),
            FieldSpec("cap_text", "the cap in words: \"cap per month of 500.00 USD\", or "
                      "\"rolling 12-month cap of 6000.00 USD (3500.00 of it used by earlier "
                      "credits)\""),
            FieldSpec("cut_text", "how much the cap cuts: amount less room, as written in "
                      "the report"),
        ),
    ),
    MISSED_PERIOD: FactSpec(
        MISSED_PERIOD, "one customer period that missed its commitment, with the misses "
        "before it",
        _fields(
            _TYPE,
            FieldSpec("key", "customer/period"),
            FieldSpec("customer", "the customer"),
            FieldSpec("period", "the period (YYYY-MM for a month)"),
            FieldSpec("consecutive_missed", "missed periods in a row ending with this one "
                      "(periods that follow each other without a gap)", kind=NUMBER),
            FieldSpec("missed_in_12_months", "missed periods in the 12 months ending with this "
                      "one's end, this one included", kind=NUMBER),
            FieldSpec("run", "the consecutive missed periods, comma-separated"),
            FieldSpec("period_unit", "the period's unit in words: month, quarter or year"),
            FieldSpec("year_text", "the 12 months ending with this period, as dates"),
        ),
    ),
    TICKET: FactSpec(
        TICKET, "one support ticket",
        _fields(
            _TYPE,
            FieldSpec("key", "the ticket's id"),
            FieldSpec("customer", "the customer"),
            FieldSpec("assigned", "whether the vendor assigned a severity", kind=BOOLEAN),
            FieldSpec("assigned_severity", "the assigned level (only when assigned)", kind=NUMBER),
            FieldSpec("assignment_clause", "whether the policy has a severity_assignment "
                      "clause (without one, an assigned level is still used as given)",
                      kind=BOOLEAN),
            FieldSpec("has_impact", "whether an impact was reported", kind=BOOLEAN),
            FieldSpec("in_term", "a subscription term of the customer was in force when the "
                      "ticket was opened", kind=BOOLEAN),
            FieldSpec("license", "the licence of that subscription (only when in_term)"),
            FieldSpec("support", "its technical support status, active or lapsed (only when "
                      "in_term)"),
            FieldSpec("targets", "the severity targets apply: in_term, and not withdrawn by a "
                      "rule", TICKET_SEVERITY, kind=BOOLEAN),
            *(FieldSpec(flag, "reported impact flag (false when no impact was reported)",
                        kind=BOOLEAN) for flag in IMPACT_FLAGS),
            FieldSpec("as_of", "the evaluation instant, epoch seconds", kind=NUMBER),
            FieldSpec("responded", "whether there was a first response", kind=BOOLEAN),
            FieldSpec("resolved", "whether it was resolved", kind=BOOLEAN),
            FieldSpec("severity", "the level used (only when the policy defines it)",
                      TICKET_SEVERITY, kind=NUMBER),
            FieldSpec("severity_source", "assigned or classified", TICKET_SEVERITY),
            FieldSpec("impact_severity", "the level the reported impact suggests (only for "
                      "an assigned ticket with an impact that matches a level)",
                      TICKET_SEVERITY, kind=NUMBER),
            FieldSpec("response_due", "first response due, epoch seconds (when a target)",
                      kind=NUMBER),
            FieldSpec("resolution_due", "resolution due, epoch seconds (when a target)",
                      kind=NUMBER),
            FieldSpec("first_response_at", "first response, epoch seconds (when responded)",
                      kind=NUMBER),
            FieldSpec("resolved_at", "resolution, epoch seconds (when resolved)", kind=NUMBER),
            FieldSpec("update_due", "the first periodic update that no update met, epoch "
                      "seconds (a severity with an update target, once responded before the "
                      "resolution)", kind=NUMBER),
            FieldSpec("response_at_risk", "when the response target becomes at risk, epoch "
                      "seconds (a policy with at-risk thresholds)", kind=NUMBER),
            FieldSpec("resolution_at_risk", "when the resolution target becomes at risk, "
                      "epoch seconds (a policy with at-risk thresholds)", kind=NUMBER),
            FieldSpec("update_at_risk", "when the pending update becomes at risk, epoch "
                      "seconds (with update_due, in a policy with at-risk thresholds)",
                      kind=NUMBER),
            FieldSpec("impact_text", "the reported impact flags that are set, in words (\"no "
                      "impact reported\" when none was)"),
            FieldSpec("opened_text", "when the ticket was opened, in words"),
            FieldSpec("as_of_text", "as_of in words"),
            FieldSpec("response_due_text", "response_due in words"),
            FieldSpec("resolution_due_text", "resolution_due in words"),
            FieldSpec("update_due_text", "update_due in words"),
            FieldSpec("first_response_text", "first_response_at in words"),
            FieldSpec("resolved_text", "resolved_at in words"),
            FieldSpec("response_margin_text", "the answer (the first response, or the "
                      "resolution when it came first) against response_due: \"6 h 5 min "
                      "late\", \"2 h to spare\", \"exactly on time\"; unanswered, as_of "
                      "against it: \"3 h overdue\", \"3 h left\""),
            FieldSpec("resolution_margin_text", "resolved_at (else as_of) against "
                      "resolution_due, in the words of response_margin_text"),
            FieldSpec("update_margin_text", "resolved_at (else as_of) against update_due, in "
                      "the words of response_margin_text"),
            FieldSpec("response_at_risk_text", "response_at_risk in words"),
            FieldSpec("resolution_at_risk_text", "resolution_at_risk in words"),
            FieldSpec("update_at_risk_text", "update_at_risk in words"),
        ),
        extras_from="ticket",
        record_fields=frozenset({"type", "id", "customer", "opened_at", "severity", "impact",
                                 "first_response_at", "resolved_at", "status_history",
                                 "updates"}),
    ),
    NOTICE_SUBJECT: FactSpec(
        NOTICE_SUBJECT, "something a customer is owed notice of (a scheduled maintenance "
        "window or a change), per affected customer",
        _fields(
            _TYPE,
            FieldSpec("key", "customer/subject id"),
            FieldSpec("subject", "the downtime or change id"),
            FieldSpec("customer", "the customer"),
            FieldSpec("kind", "scheduled_maintenance, significant_change or "
                      "high_priority_change"),
            FieldSpec("at", "when it starts or is deployed, epoch seconds", kind=NUMBER),
            FieldSpec("in_term", "a SaaS subscription term of the customer is in force at `at`",
                      kind=BOOLEAN),
            FieldSpec("met", "a qualifying notice gave enough lead", OBLIGATIONS, kind=BOOLEAN),
            FieldSpec("at_text", "`at` in words"),
            FieldSpec("notice_text", "the best notice against the obligation's kind, channels "
                      "and lead (\"notice n-1 by email 36 h ahead, 12 h short of 48 h\"), or "
                      "that none reached the customer"),
        ),
    ),
    SUBJECT_NOTICE: FactSpec(
        SUBJECT_NOTICE, "a notice about a subject that reached its customer",
        _fields(
            _TYPE,
            FieldSpec("key", "the notice's id"),
            FieldSpec("subject", "the downtime or change id"),
            FieldSpec("customer", "the customer"),
            FieldSpec("kind", "the notice kind"),
            FieldSpec("channel", "how it was sent"),
            FieldSpec("lead", "seconds from sending to the subject's instant (negative: late)",
                      kind=NUMBER),
            FieldSpec("lead_text", "the lead in words against the lead the obligation for "
                      "the subject's kind asks"),
        ),
    ),
    UPDATE_REQUEST: FactSpec(
        UPDATE_REQUEST, "a request for a support update",
        _fields(
            _TYPE,
            FieldSpec("key", "the request's id"),
            FieldSpec("customer", "the customer"),
            FieldSpec("in_term", "a subscription term of the customer is in force at the "
                      "request", kind=BOOLEAN),
            FieldSpec("license", "the licence of that subscription (only when in_term)"),
            FieldSpec("support", "its technical support status (only when in_term)"),
        ),
        extras_from="update_request",
        record_fields=frozenset({"type", "id", "customer", "requested_at"}),
    ),
})

# decision fields: what a rule may `set`, by the fact type it decides about
DECISIONS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    WINDOW: MappingProxyType({
        "excused": "the whole window is excluded (combine: any)",
        "excluded_up_to": "seconds excluded from the start (combine: max)",
    }),
    CUSTOMER_MONTH: MappingProxyType({
        "covered": "the month has an availability commitment (combine: all)",
        "met": "the month met its commitment (combine: all)",
        "form": "the remedy's form (credit, refund, ...): a credit is owed",
        "status": "payable, claimable or expired",
        "tier": "the band of a tiered credit the period falls in (combine: max)",
    }),
    CREDIT_CAP: MappingProxyType({
        "capped": "the cap cuts the credit to its room (combine: any)",
    }),
    TICKET: MappingProxyType({
        "severity": "the level used",
        "severity_source": "assigned or classified",
        "impact_severity": "the level the impact suggests",
        "targets": "false: the severity targets do not apply to the ticket (combine: all)",
        "response_met": "the first response was in time",
        "resolution_met": "the resolution was in time",
        "update_met": "every periodic update was in time",
        "at_risk": "a running target has passed its at-risk threshold (combine: any)",
    }),
    NOTICE_SUBJECT: MappingProxyType({
        "owed": "an obligation applies to the subject",
        "met": "a qualifying notice gave enough lead",
        "lead": "the longest lead of a qualifying notice, seconds",
    }),
    UPDATE_REQUEST: MappingProxyType({
        "entitled": "the request is covered by the licence and support",
    }),
})


def _all_but(fact_type: str, *left_out: str) -> frozenset[str]:
    return frozenset(FACT_TYPES[fact_type].fields) - set(left_out)


def _only(fact_type: str, *names: str) -> frozenset[str]:
    unknown = set(names) - set(FACT_TYPES[fact_type].fields)
    assert not unknown, unknown  # a typo in this table
    return frozenset(names)


# the words of what the window-exclusions stage decided reach only window-verdicts
_WINDOW_DECIDED_TEXT = ("excluded_text", "counted_text", "counted_from_text")
_WINDOW_MEASURED = _all_but(WINDOW, "excluded_up_to", "allowance_cut", *_WINDOW_DECIDED_TEXT)
# a credit's arithmetic is worked out only for a period that missed (stage credits)
_MONTH_MEASURED = _all_but(CUSTOMER_MONTH, "covered", "met", "credit_text")
_SUBJECT = _all_but(NOTICE_SUBJECT, "met", "notice_text")

_TICKET_TEXT = ("opened_text", "as_of_text", "response_due_text", "resolution_due_text",
                "update_due_text", "first_response_text", "resolved_text",
                "response_margin_text", "resolution_margin_text", "update_margin_text",
                "response_at_risk_text", "resolution_at_risk_text", "update_at_risk_text")

STAGES: Mapping[str, StageSpec] = MappingProxyType({s.name: s for s in (
    StageSpec(
        WINDOW_EXCLUSIONS, "how much of each downtime window is excused",
        receives={WINDOW: _WINDOW_MEASURED, WINDOW_NOTICE: _all_but(WINDOW_NOTICE)},
        decides={WINDOW: frozenset({"excused", "excluded_up_to"})},
    ),
    StageSpec(
        WINDOW_VERDICTS, "what counts as downtime (findings only)",
        receives={WINDOW: _all_but(WINDOW)},
        decides={},
    ),
    StageSpec(
        MONTHS, "coverage and verdict per customer and month",
        receives={CUSTOMER_MONTH: _MONTH_MEASURED},
        decides={CUSTOMER_MONTH: frozenset({"covered", "met"})},
    ),
    StageSpec(
        CREDITS, "the remedy for a covered month that missed its commitment",
        receives={CUSTOMER_MONTH: _all_but(CUSTOMER_MONTH),
                  CREDIT_TIER: _all_but(CREDIT_TIER)},
        decides={CUSTOMER_MONTH: frozenset({"form", "status", "tier"})},
    ),
    StageSpec(
        CREDIT_CAPS, "whether a cap cuts a credit (periods in order, per customer)",
        receives={CREDIT_CAP: _all_but(CREDIT_CAP)},
        decides={CREDIT_CAP: frozenset({"capped"})},
    ),
    StageSpec(
        REMEDIES, "remedies for chronic failure: repeated missed periods (findings only)",
        receives={MISSED_PERIOD: _all_but(MISSED_PERIOD)},
        decides={},
    ),
    StageSpec(
        TICKET_SEVERITY, "each ticket's severity: as assigned, or classified from its impact",
        receives={TICKET: _only(TICKET, "type", "key", "customer", "assigned",
                                "assigned_severity", "assignment_clause", "has_impact",
                                "in_term", "license", "support", "impact_text",
                                *IMPACT_FLAGS)},
        decides={TICKET: frozenset({"severity", "severity_source", "impact_severity",
                                    "targets"})},
    ),
    StageSpec(
        TICKET_CLOCKS, "response and resolution verdicts against the due instants",
        receives={TICKET: _only(TICKET, "type", "key", "customer", "as_of", "has_impact",
                                "responded", "resolved", "in_term", "targets", "severity",
                                "severity_source",
                                "impact_severity", "response_due", "resolution_due",
                                "first_response_at", "resolved_at", "update_due",
                                "response_at_risk", "resolution_at_risk", "update_at_risk",
                                *_TICKET_TEXT)},
        decides={TICKET: frozenset({"response_met", "resolution_met", "update_met",
                                    "at_risk"})},
    ),
    StageSpec(
        OBLIGATIONS, "which notices qualify, the lead they gave, whether obligations are met",
        receives={NOTICE_SUBJECT: _SUBJECT, SUBJECT_NOTICE: _all_but(SUBJECT_NOTICE)},
        decides={NOTICE_SUBJECT: frozenset({"owed", "met", "lead"})},
    ),
    StageSpec(
        OBLIGATION_VERDICTS, "breaches and misses of owed obligations (findings only)",
        receives={NOTICE_SUBJECT: _only(NOTICE_SUBJECT, "type", "key", "subject", "customer",
                                        "kind", "met", "at_text", "notice_text")},
        decides={},
    ),
    StageSpec(
        ENTITLEMENTS, "whether an update request is covered",
        receives={UPDATE_REQUEST: _all_but(UPDATE_REQUEST)},
        decides={UPDATE_REQUEST: frozenset({"entitled"})},
    ),
)})

STAGE_ORDER: tuple[str, ...] = tuple(STAGES)

# the kind of each decision field, by fact type (a decision that is also a field of the fact
# has that field's kind; a test checks they agree)
DECISION_KINDS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    WINDOW: MappingProxyType({"excused": BOOLEAN, "excluded_up_to": NUMBER}),
    CUSTOMER_MONTH: MappingProxyType({"covered": BOOLEAN, "met": BOOLEAN, "form": TEXT,
                                      "status": TEXT, "tier": NUMBER}),
    CREDIT_CAP: MappingProxyType({"capped": BOOLEAN}),
    TICKET: MappingProxyType({"severity": NUMBER, "severity_source": TEXT,
                              "impact_severity": NUMBER, "targets": BOOLEAN,
                              "response_met": BOOLEAN, "resolution_met": BOOLEAN,
                              "update_met": BOOLEAN, "at_risk": BOOLEAN}),
    NOTICE_SUBJECT: MappingProxyType({"owed": BOOLEAN, "met": BOOLEAN, "lead": NUMBER}),
    UPDATE_REQUEST: MappingProxyType({"entitled": BOOLEAN}),
})


# -- domains: the values a decision may take, beyond its kind ---------------------------------
# The span of supported instants (clocks.calendar: local years 1970-2200, one year of margin
# each side): no duration or lead a rule decides can be longer.
SPAN_SECONDS = 7_321_190_400  # 1969-01-01 to 2201-01-01 (UTC): 232 years, 56 leap days


@dataclass(frozen=True)
class Domain:
    """The values a decision may take beyond its kind (``words`` says which, for messages).

    Numbers: ``minimum``/``maximum`` (inclusive) and ``whole``; text: ``choices``. A value
    outside it is refused where it is decided: a literal or a term when the pack is loaded
    or compiled, a value read from a fact when the rule fires, on both back-ends. Before,
    ``excluded_up_to`` read from an extension field could be -360000 (counted downtime
    12,750 of 1,410 min, availability 71.44 %, exit 0).
    """

    words: str
    minimum: float | None = None
    maximum: float | None = None
    whole: bool = False
    choices: tuple[str, ...] = ()

    def admits(self, value: Any) -> bool:
        """Whether ``value`` (of the decision's kind; null is always admitted) is in it."""
        if value is None:
            return True
        if self.choices:
            return isinstance(value, str) and value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True  # a value of another kind is the kind check's to refuse
        if value != value or value in (float("inf"), float("-inf")):
            return False
        if self.minimum is not None and value < self.minimum:
            return False
        if self.maximum is not None and value > self.maximum:
            return False
        return not self.whole or value == int(value)


_LEVEL = Domain("a severity level: a whole number from 1", minimum=1, whole=True)
DECISION_DOMAINS: Mapping[str, Mapping[str, Domain]] = MappingProxyType({
    WINDOW: MappingProxyType({
        # not whole: a window's own duration (a whole-window exclusion) has the fractions of
        # a second its timestamps have
        "excluded_up_to": Domain(f"a number of seconds from 0 to {SPAN_SECONDS:,}",
                                 minimum=0, maximum=SPAN_SECONDS),
    }),
    CUSTOMER_MONTH: MappingProxyType({
        "form": Domain("one of credit, refund, service_days",
                       choices=("credit", "refund", "service_days")),
        "status": Domain("one of payable, claimable, expired",
                         choices=("payable", "claimable", "expired")),
        "tier": Domain("a band number: a whole number from 1 (the first band listed)",
                       minimum=1, whole=True),
    }),
    TICKET: MappingProxyType({
        "severity": _LEVEL,
        "impact_severity": _LEVEL,
        "severity_source": Domain("assigned or classified", choices=("assigned", "classified")),
    }),
    NOTICE_SUBJECT: MappingProxyType({
        "lead": Domain(f"a number of seconds from -{SPAN_SECONDS:,} to {SPAN_SECONDS:,}",
                       minimum=-SPAN_SECONDS, maximum=SPAN_SECONDS),
    }),
})


def domain_problem(fact_type: str, name: str, value: Any) -> str:
    """``""`` when ``value`` is in the domain of decision ``name`` of ``fact_type`` facts
    (or the decision has none), else the domain in words (``a whole number of seconds
    from 0 to ...``)."""
    domain = DECISION_DOMAINS.get(fact_type, {}).get(name)
    if domain is None or domain.admits(value):
        return ""
    return domain.words


# Clause kinds whose terms the evaluator reads itself (business calendars, offerings, at-risk
# thresholds, declarations for the reader). A clause of any other kind, third-party kinds
# included, is decided by rules: a policy with such a clause that no rule of the loaded packs
# is compiled for is refused (compile.compiler.compile_policy), since it would decide nothing.
READ_WITHOUT_RULES = frozenset({"calendar", "regional_calendar", "declaration", "offering",
                                "at_risk_threshold"})


def field_kind(fact_type: str, name: str) -> str | None:
    """The declared kind of a field (or decision) of a standard fact type; None if unknown.

    Extension fields and the fields of policy-declared types have no declared kind.
    """
    decided = DECISION_KINDS.get(fact_type, {}).get(name)
    if decided is not None:
        return decided
    spec = FACT_TYPES.get(fact_type)
    field_spec = spec.fields.get(name) if spec is not None else None
    return field_spec.kind if field_spec is not None else None

for _stage in STAGES.values():  # the tables above agree with each other
    for _type, _names in _stage.decides.items():
        assert _names <= set(DECISIONS[_type]), (_stage.name, _names)
for _type, _kinds in DECISION_KINDS.items():
    assert set(_kinds) == set(DECISIONS[_type]), _type
    for _name, _kind in _kinds.items():
        _field = FACT_TYPES[_type].fields.get(_name)
        assert _field is None or _field.kind == _kind, (_type, _name)
for _type, _domains in DECISION_DOMAINS.items():
    assert set(_domains) <= set(DECISIONS[_type]), _type
for _spec in FACT_TYPES.values():
    assert all(f.kind in KINDS for f in _spec.fields.values()), _spec.type
del _stage, _type, _names, _kinds, _name, _kind, _field, _spec, _domains


def standard_fields(fact_type: str) -> frozenset[str]:
    """Every name the evaluator itself puts on facts of a type, in any stage (or decides)."""
    spec = FACT_TYPES.get(fact_type)
    if spec is None:
        return frozenset()
    return frozenset(spec.fields) | frozenset(DECISIONS.get(fact_type, ()))


def deciding_stage(fact_type: str, field_name: str) -> str | None:
    """The stage whose rules decide ``field_name`` of ``fact_type`` facts, if any."""
    for stage in STAGES.values():
        if field_name in stage.decides.get(fact_type, ()):
            return stage.name
    return None


def stage_schema() -> dict[str, Any]:
    """The rule-pack schema's ``stage`` property, generated (``schemas/rules.schema.json``)."""
    return {
        "description": "The evaluation stage the rule runs in; stages run in this order. "
                       "Example: window-exclusions.",
        "type": "string",
        "enum": list(STAGE_ORDER),
        "x-enum-label": "stage",
    }


def extra_fields_schema() -> dict[str, Any]:
    """The rule-pack schema's ``extra_fields`` property, generated."""
    carriers = [t for t, spec in FACT_TYPES.items() if spec.extras_from]
    return {
        "description": "Fields beyond the standard ones that rules of this pack read, by fact "
                       "type: extra fields of input records (" + ", ".join(
                           f"{t} facts carry those of {FACT_TYPES[t].extras_from} records"
                           for t in carriers)
                       + ") or the fields of a fact type a policy declares. A field no fact "
                       "can carry is an error. Example: {window: [region]}.",
        "type": "object",
        "propertyNames": {
            "pattern": "^[a-z][a-z0-9_]*$",
            "patternErrorMessage": "expected a fact type like window",
        },
        "additionalProperties": {
            "type": "array",
            "uniqueItems": True,
            "items": {
                "type": "string",
                "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                "patternErrorMessage": "expected a field name like region",
            },
        },
    }


def reference_markdown() -> str:
    """The stages and their facts as Markdown tables (``docs/stages.md``, between markers)."""
    lines: list[str] = []
    for number, stage in enumerate(STAGES.values(), start=1):
        lines += [f"### {number}. `{stage.name}`: {stage.description}", ""]
        for fact_type, names in stage.receives.items():
            spec = FACT_TYPES[fact_type]
            extras = (f"; also the extra fields of its {spec.extras_from} record that the "
                      "pack declares" if spec.extras_from else "")
            lines += [f"`{fact_type}`: {spec.description}{extras}.", "",
                      "| field | kind | meaning |", "|---|---|---|"]
            for field_spec in spec.fields.values():
                if field_spec.name not in names:
                    continue
                decided = (f" *(decided in `{field_spec.decided_in}`)*"
                           if field_spec.decided_in else "")
                lines.append(f"| `{field_spec.name}` | {field_spec.kind} | "
                             f"{field_spec.description}{decided} |")
            lines.append("")
        if stage.decides:
            lines += ["Rules of this stage may `set`:", ""]
            for fact_type, names in stage.decides.items():
                for name in sorted(names):
                    kind = DECISION_KINDS[fact_type][name]
                    domain = DECISION_DOMAINS.get(fact_type, {}).get(name)
                    lines.append(f"- `{name}` of `{fact_type}` ({kind}"
                                 + (f"; {domain.words}" if domain else "") + "): "
                                 f"{DECISIONS[fact_type][name]}")
        else:
            lines.append("Rules of this stage decide nothing (`set` is refused); they report "
                         "findings.")
        lines.append("")
    return "\n".join(lines)


__all__ = [
    "CREDITS", "CREDIT_CAP", "CREDIT_CAPS", "CREDIT_TIER", "CUSTOMER_MONTH", "MISSED_PERIOD",
    "REMEDIES", "DECISIONS", "ENTITLEMENTS", "FACT_TYPES", "MONTHS",
    "NOTICE_SUBJECT", "OBLIGATIONS", "OBLIGATION_VERDICTS", "STAGES", "STAGE_ORDER",
    "SUBJECT_NOTICE", "TICKET", "TICKET_CLOCKS", "TICKET_SEVERITY", "UPDATE_REQUEST", "WINDOW",
    "WINDOW_EXCLUSIONS", "WINDOW_NOTICE", "WINDOW_VERDICTS", "FactSpec", "FieldSpec",
    "StageSpec", "BOOLEAN", "COMBINES", "DECISION_DOMAINS", "DECISION_KINDS", "KINDS",
    "NUMBER", "READ_WITHOUT_RULES", "SPAN_SECONDS", "TEXT", "Domain", "a_kind",
    "deciding_stage", "domain_problem", "extra_fields_schema", "field_kind", "kind_of_value",
    "reference_markdown", "stage_schema", "standard_fields",
]
