"""Words shared by every kind's ``show`` text and by ``policyengine diff``.

:func:`describe_value`, :func:`describe_condition`, :func:`join_words` and
:func:`term_label` turn term values into the words a legal reader follows; each clause kind's
:meth:`~policyengine.clauses.registry.ClauseKind.words` builds on them, and
:mod:`policyengine.tools.show` and :mod:`policyengine.tools.diff` speak the same words.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class PeriodWords:
    """The policy's measurement period in words, for every kind's ``show`` text: ``noun``
    (``month``, ``quarter``, ``year``) and ``plural``."""

    noun: str
    plural: str


PERIOD_WORDS = {
    "calendar_month": PeriodWords("month", "months"),
    "calendar_quarter": PeriodWords("quarter", "quarters"),
    "calendar_year": PeriodWords("year", "years"),
}
_PERIOD: contextvars.ContextVar[PeriodWords] = contextvars.ContextVar(
    "policyengine_period_words", default=PERIOD_WORDS["calendar_month"])


def period_words() -> PeriodWords:
    """The measurement period of the policy being put into words (:func:`reading_period`);
    a calendar month outside one. A kind's :meth:`words
    <policyengine.clauses.registry.ClauseKind.words>` says "each missed quarter" of a
    quarterly policy by asking this, never by writing "month"."""
    return _PERIOD.get()


@contextlib.contextmanager
def reading_period(period: str | None) -> Iterator[PeriodWords]:
    """Put a policy into words whose commitment is measured per ``period``
    (``calendar_quarter``...; None or unknown: a calendar month)."""
    words = PERIOD_WORDS.get(str(period), PERIOD_WORDS["calendar_month"])
    token = _PERIOD.set(words)
    try:
        yield words
    finally:
        _PERIOD.reset(token)

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


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``12th``..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_value(value: Any, key: str | int | None = None) -> str:
    """A term value as written, in words: ``99.0`` under ``*_percent`` → ``99.0%``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value == "whole_window":  # excluded_up_to: all of the window, however long
        return "the whole window"
    if isinstance(key, str) and key.endswith("_percent") and isinstance(value, int | float
                                                                           | Decimal):
        return f"{value}%"
    if isinstance(value, Mapping):
        if set(value) == {"from", "to"}:
            return f"{value['from']}–{value['to']}"
        if set(value) == {"months", "to"} and value["to"] == "end_of_month":  # a claim window
            months = int(value["months"])
            which = "" if months == 1 else f"{ordinal(months)} "
            return f"the end of the {which}calendar month after"
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


def describe_notice(notice: Mapping[str, Any]) -> str:
    """A notice requirement (``{lead, channels, kind}``) in words:
    ``at least 48h ahead by email, phone or portal (scheduled downtime notice)``."""
    text = f"at least {notice.get('lead')} ahead by {join_words(notice.get('channels') or [])}"
    if notice.get("kind"):
        text += f" ({describe_value(notice['kind']).replace('_', ' ')} notice)"
    return text


__all__ = ["PERIOD_WORDS", "PeriodWords", "describe_condition", "describe_notice",
           "describe_value", "join_words", "ordinal", "period_words", "reading_period",
           "term_label"]
