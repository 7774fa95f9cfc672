"""Does a clause's ``summary`` still say the numbers its terms say?

A summary restates a clause in plain words ("at least 99 percent", "two days ahead"). When
a term is edited and the summary is not, ``show`` renders a document that contradicts
itself. Each clause kind names the terms a summary may restate
(:attr:`~policyengine.clauses.registry.ClauseKind.summary_numbers`: term path → ``percent``
or ``duration``); every percentage or duration the summary states must equal one of those
terms of the same sort (the clause's, or one a service gives for itself under
``per_service``), else a warning located at the summary names both numbers. A summary that
states no such number, or a kind that names no terms, is not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from policyengine.clauses.registry import CheckContext, ClauseKind, ClausePath
from policyengine.clocks.durations import duration_seconds
from policyengine.diagnostics import Diagnostic

_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "forty-eight": 48, "sixty": 60, "ninety": 90,
}
_UNITS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}
# a number, an optional clock word ("4 support hours", "168 elapsed hours"), a unit
_STATED = re.compile(
    r"(?<![\w.])(?P<number>\d+(?:\.\d+)?|" + "|".join(sorted(_WORDS, key=len, reverse=True))
    + r")(?:\s+(?:support|business|working|elapsed|calendar|clock))?\s*"
    r"(?P<unit>%|percent\b|per cent\b|minutes?\b|hours?\b|days?\b|weeks?\b)",
    re.IGNORECASE,
)


def stated_numbers(summary: str) -> list[tuple[str, str, Decimal]]:
    """``(text, sort, value)`` for each percentage or duration a summary states.

    ``sort`` is ``percent`` (value in percent) or ``duration`` (value in seconds):
    ``"at least 99.9%"`` → ``("99.9%", "percent", 99.9)``; ``"two days"`` →
    ``("two days", "duration", 172800)``.
    """
    found = []
    for match in _STATED.finditer(summary):
        word = match.group("number").lower()
        number = Decimal(_WORDS[word]) if word in _WORDS else Decimal(word)
        unit = match.group("unit").lower()
        text = " ".join(match.group(0).split())
        if unit in ("%", "percent", "per cent"):
            found.append((text, "percent", number))
        else:
            found.append((text, "duration", number * _UNITS[unit.rstrip("s")]))
    return found


def _term(clause: Mapping[str, Any], path: str) -> Any:
    value: Any = clause
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _value(sort: str, raw: Any) -> Decimal | None:
    try:
        if sort == "percent":
            return Decimal(str(raw)) if isinstance(raw, int | float | Decimal | str) \
                and not isinstance(raw, bool) else None
        return Decimal(str(duration_seconds(raw))) if isinstance(raw, str) else None
    except (InvalidOperation, ValueError):
        return None


def _shown(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def check_summary(kind: ClauseKind, ctx: CheckContext, path: ClausePath,
                  clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
    """Warnings for numbers the summary states that none of its terms of that sort says."""
    summary = clause.get("summary")
    if not kind.summary_numbers or not isinstance(summary, str):
        return []
    terms: dict[str, list[tuple[str, Any, Decimal]]] = {}
    # the clause's terms, and the same terms a service gives for itself (per_service)
    own = clause.get("per_service")
    sources = [("", clause)] + [(f"per_service.{name}.", terms_of) for name, terms_of
                                in (own.items() if isinstance(own, Mapping) else ())
                                if isinstance(terms_of, Mapping)]
    for term_path, sort in kind.summary_numbers.items():
        for prefix, source in sources:
            raw = _term(source, term_path)
            value = _value(sort, raw)
            if value is not None:
                terms.setdefault(sort, []).append((prefix + term_path, raw, value))
    out = []
    for text, sort, value in stated_numbers(summary):
        said = terms.get(sort)
        if not said or any(value == term_value for _, _, term_value in said):
            continue
        listed = ", ".join(f"{name} {_shown(raw)}" for name, raw, _ in said)
        out.append(ctx.warning(
            (*path, "summary"),
            f"the summary says {text!r}, which none of the clause's terms says ({listed}); "
            "update the summary or the term", code="summary"))
    return out
