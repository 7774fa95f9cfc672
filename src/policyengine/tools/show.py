"""``policyengine show``: a policy version as a document a legal reader can follow.

The document gives the policy's title, version, dates and contract, then every section and
clause with its id, contract reference, summary, and its terms in plain words ("Target:
99.0% of each full calendar month", "Notice: at least 48h ahead by email, phone or portal").
Durations are shown as written in the policy (``48h``, ``60d``). Terms a kind does not
describe in words are still listed, as ``label: value``, so nothing in the YAML is hidden.

The helpers :func:`describe_value`, :func:`describe_condition` and :func:`term_label` are
shared with :mod:`policyengine.tools.diff`, so both speak the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from policyengine.model.policy import SECTIONS, WEEKDAYS, Clause, Policy

FORMATS = ("markdown", "text")

SECTION_TITLES = {
    "calendars": "Support calendars",
    "availability": "Availability",
    "exclusions": "Exclusions",
    "credits": "Service credits",
    "support": "Support",
    "notifications": "Notifications",
    "entitlements": "Entitlements",
    "declarations": "Declarations",
}

# Impact flags (and other boolean fact fields) in words: (when true, when false).
_FLAG_WORDS = {
    "loss_of_service": ("loss of service", "no loss of service"),
    "critical_function": ("critical function", "no critical function affected"),
    "production_degraded": ("production significantly degraded",
                            "production not significantly degraded"),
    "workaround_available": ("a workaround", "no workaround"),
}
_COMPARISONS = {"eq": "is", "ne": "is not", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥",
                "in": "is one of", "not_in": "is not one of"}
_SUBJECTS = {
    "scheduled_maintenance": "every scheduled maintenance window",
    "significant_change": "every significant change",
    "high_priority_change": "every high-priority update",
}
_DEPLOYMENTS = {"saas": "SaaS", "on_premise": "on-premise"}
_STRENGTHS = {
    "binding": "binding (a miss is a breach)",
    "reasonable_efforts": "reasonable efforts (a miss is reported, not a breach)",
}


# -- words shared with policydiff ---------------------------------------------------------------
def term_label(path: Iterable[str | int]) -> str:
    """A term path in words: ``("notice", "lead")`` → ``notice lead``."""
    return " ".join(str(part).replace("_", " ") for part in path)


def join_words(items: Iterable[Any], last: str = "or") -> str:
    """``[a, b, c]`` → ``a, b or c``."""
    words = [describe_value(item) for item in items]
    if not words:
        return "none"
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def describe_value(value: Any, key: str | int | None = None) -> str:
    """A term value as written, in words: ``99.0`` under ``*_percent`` → ``99.0%``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(key, str) and key.endswith("_percent") and isinstance(value, int | float
                                                                           | Decimal):
        return f"{value}%"
    if isinstance(value, Mapping):
        if set(value) == {"from", "to"}:
            return f"{value['from']}–{value['to']}"
        if key == "definition" or {"all", "any"} & set(value):
            return describe_condition(value)
        return "; ".join(f"{term_label([k])} {describe_value(v, k)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(describe_value(item) for item in value) if value else "none"
    return str(value)


def describe_condition(condition: Any) -> str:
    """A severity definition (``all``/``any`` of field tests) as a readable condition."""
    if not isinstance(condition, Mapping):
        return describe_value(condition)
    parts: list[str] = []
    for key, test in condition.items():
        if key in ("all", "any"):
            items = [_nested(item, key) for item in test or ()]
            if not items:
                parts.append("any other case" if key == "all" else "never")
            elif key == "any":
                parts.append(" or ".join(items))
            else:
                parts.append(_join_all(items))
        else:
            parts.append(_describe_test(str(key), test))
    return _join_all(parts) if parts else "any other case"


def _nested(item: Any, parent: str) -> str:
    text = describe_condition(item)
    child_is_all = isinstance(item, Mapping) and ("all" in item or len(item) > 1)
    if parent == "any" and child_is_all and (" and " in text):
        return f"({text})"
    return text


def _join_all(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    separator = ", and " if any(" or " in item for item in items) else " and "
    return separator.join(items)


def _describe_test(field: str, test: Any) -> str:
    words = _FLAG_WORDS.get(field)
    if isinstance(test, bool) and words:
        return words[0] if test else words[1]
    label = term_label([field])
    if isinstance(test, bool):
        return label if test else f"not {label}"
    if isinstance(test, Mapping) and len(test) == 1:
        ((op, operand),) = test.items()
        if op == "exists":
            return f"{label} is given" if operand else f"{label} is not given"
        if isinstance(operand, Mapping) and "term" in operand:
            operand_text = f"the {term_label(str(operand['term']).split('.'))} term"
        elif isinstance(operand, list | tuple):
            operand_text = join_words(operand)
        else:
            operand_text = describe_value(operand)
        return f"{label} {_COMPARISONS.get(str(op), str(op))} {operand_text}"
    return f"{label} is {describe_value(test)}"


# -- clause terms in words ----------------------------------------------------------------------
TermLines = list[tuple[str, str]]


def _calendar(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.update({"weekly_hours", "holidays", "added_closures", "removed_closures", "timezone"})
    weekly = terms.get("weekly_hours") or {}
    tz = terms.get("timezone")
    lines: TermLines = []
    groups: list[tuple[list[str], str]] = []
    for day in WEEKDAYS:
        spans = ", ".join(f"{s['from']}–{s['to']}" for s in weekly.get(day) or ())
        if groups and groups[-1][1] == spans:
            groups[-1][0].append(day)
        else:
            groups.append(([day], spans))
    open_groups = [(days, spans) for days, spans in groups if spans]
    hours = "; ".join(
        f"{_day_range(days)} {spans}" for days, spans in open_groups
    ) or "never open"
    lines.append(("Hours", f"{hours}" + (f" ({tz} time)" if tz else "")))
    closed = [day for days, spans in groups if not spans for day in days]
    if closed and open_groups:
        lines.append(("Closed", join_words([d.capitalize() for d in closed], "and")))
    holidays = terms.get("holidays") or {}
    if holidays.get("country"):
        where = holidays["country"]
        if holidays.get("subdivision"):
            where = f"{where}-{holidays['subdivision']}"
        categories = join_words(holidays.get("categories") or ["public"], "and")
        observed = " (observed dates)" if holidays.get("observed", True) else ""
        lines.append(("Holidays", f"closed on {categories} holidays of {where}{observed}"))
    if terms.get("added_closures"):
        lines.append(("Also closed", join_words(terms["added_closures"], "and")))
    if terms.get("removed_closures"):
        lines.append(("Open despite a holiday", join_words(terms["removed_closures"], "and")))
    return lines


def _day_range(days: Sequence[str]) -> str:
    names = [d.capitalize() for d in days]
    return names[0] if len(names) == 1 else f"{names[0]}–{names[-1]}"


def _availability(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.update({"target_percent", "period", "full_months_only", "plans", "deployments"})
    period = "calendar month" if terms.get("period") == "calendar_month" else \
        str(terms.get("period", "period")).replace("_", " ")
    full = "full " if terms.get("full_months_only") else ""
    target = describe_value(terms.get("target_percent"), "target_percent")
    deployments = join_words(_DEPLOYMENTS.get(d, d) for d in terms.get("deployments") or [])
    return [
        ("Target", f"{target} of each {full}{period}"),
        ("Applies to", f"{join_words(terms.get('plans') or [])} plans, deployed as "
                       f"{deployments}"),
    ]


def _notice(notice: Mapping[str, Any]) -> str:
    text = f"at least {notice.get('lead')} ahead by {join_words(notice.get('channels') or [])}"
    if notice.get("kind"):
        text += f" ({describe_value(notice['kind']).replace('_', ' ')} notice)"
    return text


def _scheduled(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.update({"notice", "excluded_up_to"})
    return [
        ("Notice", _notice(terms.get("notice") or {})),
        ("Excluded", f"the first {terms.get('excluded_up_to')} of each window, when notice "
                     "was given in time; the rest counts, and all of it counts without notice"),
    ]


def _emergency(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.update({"excluded_up_to", "windows_per_month"})
    count = terms.get("windows_per_month")
    windows = "the first emergency window" if count == 1 else f"the first {count} emergency " \
        "windows"
    return [
        ("Excluded", f"the first {terms.get('excluded_up_to')} of {windows} each calendar month"),
        ("Counted", "any overrun, and every further emergency window that month"),
    ]


def _excused(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.add("causes")
    return [("Excused in full", f"downtime caused by {join_words(terms.get('causes') or [])}")]


def _excluded_plan(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.add("plans")
    return [("No commitment and no credits", f"{join_words(terms.get('plans') or [])} plans")]


def _credit(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.update({"fraction_of_annual_fee", "rounding", "decimal_places", "form"})
    form = terms.get("form") or {}
    places = terms.get("decimal_places", 2)
    rounding = str(terms.get("rounding", "half_up")).replace("_", " ")
    return [
        ("Amount", f"{terms.get('fraction_of_annual_fee')} of the annual fee for each missed "
                   f"month, rounded {rounding} to {places} decimal places"),
        ("Form", f"{form.get('renewed')} when the order was renewed, "
                 f"{form.get('not_renewed')} when it was not"),
    ]


def _claim(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.add("window")
    return [("Claim within", f"{terms.get('window')} after the end of the month that missed "
                             "the target; a late or missing request forfeits the credit")]


def _target(target: Any) -> str:
    if not target:
        return "no target"
    text = str(target.get("target"))
    if target.get("clock") == "business":
        text += f" in support hours (calendar {target.get('calendar')})"
    else:
        text += " elapsed, around the clock"
    if target.get("pause_on"):
        text += f"; the clock stops while the ticket is {join_words(target['pause_on'])}"
    return text


def _severity(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.update({"level", "name", "definition", "response", "resolution"})
    return [
        ("Level", f"{terms.get('level')} ({terms.get('name')})"),
        ("Applies when", describe_condition(terms.get("definition") or {})),
        ("Initial response", _target(terms.get("response"))),
        ("Resolution", _target(terms.get("resolution"))),
    ]


def _obligation(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.update({"subject", "notice_kind", "lead", "channels", "strength"})
    subject = _SUBJECTS.get(str(terms.get("subject")), describe_value(terms.get("subject")))
    notice = _notice({"lead": terms.get("lead"), "channels": terms.get("channels"),
                      "kind": terms.get("notice_kind")})
    strength = str(terms.get("strength"))
    return [
        ("Notice", f"{notice}, for {subject}"),
        ("Strength", _STRENGTHS.get(strength, strength.replace("_", " "))),
    ]


def _entitlement(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.update({"entitled_licenses", "licenses_requiring_support"})
    lines: TermLines = []
    if terms.get("entitled_licenses"):
        lines.append(("Entitled to updates",
                      f"{join_words(terms['entitled_licenses'])} licences"))
    if terms.get("licenses_requiring_support"):
        lines.append(("Entitled while support is active",
                      f"{join_words(terms['licenses_requiring_support'])} licences"))
    return lines


def _lapse(terms: Mapping[str, Any], done: set[str]) -> TermLines:
    done.add("licenses")
    return [("Keeps the licence but not updates once support lapses",
             f"{join_words(terms.get('licenses') or [])} licences")]


_KIND_WORDS: dict[str, Callable[[Mapping[str, Any], set[str]], TermLines]] = {
    "calendar": _calendar,
    "availability_commitment": _availability,
    "scheduled_maintenance": _scheduled,
    "emergency_maintenance": _emergency,
    "excused_cause": _excused,
    "excluded_plan": _excluded_plan,
    "service_credit": _credit,
    "claim_window": _claim,
    "severity": _severity,
    "notice_obligation": _obligation,
    "update_entitlement": _entitlement,
    "support_lapse": _lapse,
}


def clause_terms(clause: Clause) -> list[tuple[str, str]]:
    """A clause's terms as ``(label, words)`` lines; unknown terms as ``label: value``."""
    done: set[str] = set()
    words = _KIND_WORDS.get(clause.kind)
    lines = words(clause.terms, done) if words else []
    for key, value in clause.terms.items():
        if key not in done:
            lines.append((term_label([key]).capitalize(), describe_value(value, key)))
    return lines


# -- the document -------------------------------------------------------------------------------
def _header(policy: Policy) -> list[tuple[str, str]]:
    until = (f"until {policy.effective_until.isoformat()} (not included)"
             if policy.effective_until else "with no end date")
    rows = [
        ("Policy", policy.name),
        ("Version", policy.version),
        ("In force", f"from {policy.effective_from.isoformat()}, {until}"),
    ]
    contract = (policy.data.get("metadata") or {}).get("contract") or {}
    if contract.get("title"):
        rows.append(("Contract", str(contract["title"])))
    if contract.get("source"):
        rows.append(("Contract text", str(contract["source"])))
    rows.append(("Time zone", f"{policy.timezone} (months, days and deadlines)"))
    return rows


def render_policy(policy: Policy, fmt: str = "markdown") -> str:
    """The policy as a readable document, in ``markdown`` or ``text``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
    markdown = fmt == "markdown"
    out: list[str] = []
    if markdown:
        out += [f"# {policy.title}", ""]
        out += [f"- **{label}:** {value}" for label, value in _header(policy)]
    else:
        out += [policy.title, "=" * len(policy.title), ""]
        width = max(len(label) for label, _ in _header(policy)) + 1
        out += [f"{label + ':':<{width}} {value}" for label, value in _header(policy)]
    for section in SECTIONS:
        clauses = [c for c in policy.clauses if c.section == section]
        if not clauses:
            continue
        title = SECTION_TITLES.get(section, section.capitalize())
        out += ["", f"## {title}" if markdown else title, *([] if markdown else ["-" * len(title)])]
        for clause in clauses:
            out += _render_clause(clause, markdown)
    return "\n".join(out).rstrip() + "\n"


def _render_clause(clause: Clause, markdown: bool) -> list[str]:
    terms = clause_terms(clause)
    if markdown:
        lines = ["", f"### `{clause.id}`", "", f"*Contract: {clause.ref}*", "", clause.summary]
        if terms:
            lines.append("")
            lines += [f"- **{label}:** {words}" for label, words in terms]
        return lines
    lines = ["", f"[{clause.id}] {clause.ref}"]
    lines += [f"    {line}" for line in _wrap(clause.summary, 88)]
    lines += [f"    - {label}: {words}" for label, words in terms]
    return lines


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


__all__ = [
    "FORMATS",
    "clause_terms",
    "describe_condition",
    "describe_value",
    "join_words",
    "render_policy",
    "term_label",
]
