"""``policyengine show``: a policy version as a document a legal reader can follow.

The document gives the policy's title, version, dates and contract, then every section and
clause with its id, contract reference, summary, and its terms in plain words ("Target:
99.0% of each full calendar month", "Notice: at least 48h ahead by email, phone or portal").
Durations are shown as written in the policy (``48h``, ``60d``). Terms a kind does not
describe in words are still listed, as ``label: value``, so nothing in the YAML is hidden.

Each clause kind says its terms in words (:mod:`policyengine.clauses`); the helpers
:func:`describe_value`, :func:`describe_condition` and :func:`term_label` come from
:mod:`policyengine.clauses.words` and are shared with :mod:`policyengine.tools.diff`, so both
speak the same words.
"""

from __future__ import annotations

import re

from policyengine.clauses import registry
from policyengine.clauses.per_service import service_lines
from policyengine.clauses.words import (
    describe_condition,
    describe_value,
    join_words,
    period_words,
    reading_period,
    term_label,
)
from policyengine.model.policy import SECTIONS, Clause, Policy
from policyengine.report.render import markdown_text, plain_text

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

def measurement_period(policy: Policy) -> str | None:
    """The unit the policy measures availability per (its first commitment's ``period``),
    or None without a commitment."""
    return next((str(c.terms.get("period")) for c in policy.clauses
                 if c.kind == "availability_commitment" and c.terms.get("period")), None)


def clause_terms(clause: Clause, period: str | None = None) -> list[tuple[str, str]]:
    """A clause's terms as ``(label, words)`` lines; unknown terms as ``label: value``.

    The words come from the clause's kind (:meth:`ClauseKind.words
    <policyengine.clauses.registry.ClauseKind.words>`), with the terms a service gives for
    itself after them (:func:`~policyengine.clauses.per_service.service_lines`). ``period``:
    the policy's measurement period (:func:`measurement_period`), so that the words say
    "quarter" where it is one; None keeps the words of the period being read (a calendar
    month outside :func:`render_policy`).
    """
    if period is not None:
        with reading_period(period):
            return clause_terms(clause)
    done: set[str] = set()
    lines = service_lines(registry.kind_of(clause.kind), clause.terms, done)
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
    rows.append(("Time zone", f"{policy.timezone} ({period_words().plural}, days and "
                              "deadlines)"))
    return rows


_BLOCK_START = re.compile(r"^(?:[#>+=-]|\d+[.)])")


def _md(text: object, line_start: bool = False) -> str:
    """A policy's own string as literal markdown: one paragraph (whitespace runs joined),
    inline markup and HTML escaped (:func:`~policyengine.report.render.markdown_text`), and
    at the start of a line a leading block marker (``#``, ``>``, ``-``, ``1.``) escaped so
    it starts no heading, quote or list."""
    escaped = markdown_text(" ".join(str(text).split()))
    return "\\" + escaped if line_start and _BLOCK_START.match(escaped) else escaped


def _txt(text: object) -> str:
    """A policy's own string for the text format: control characters shown as escapes."""
    return plain_text(str(text))


def render_policy(policy: Policy, fmt: str = "markdown") -> str:
    """The policy as a readable document, in ``markdown`` or ``text``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
    with reading_period(measurement_period(policy)):
        return _render(policy, fmt == "markdown")


def _render(policy: Policy, markdown: bool) -> str:
    out: list[str] = []
    if markdown:
        out += [f"# {_md(policy.title)}", ""]
        out += [f"- **{label}:** {_md(value)}" for label, value in _header(policy)]
    else:
        title = _txt(policy.title)
        out += [title, "=" * len(title), ""]
        width = max(len(label) for label, _ in _header(policy)) + 1
        out += [f"{label + ':':<{width}} {_txt(value)}" for label, value in _header(policy)]
    present = {c.kind for c in policy.clauses}
    for section in SECTIONS:
        clauses = [c for c in policy.clauses if c.section == section]
        if not clauses:
            continue
        title = SECTION_TITLES.get(section, section.capitalize())
        out += ["", f"## {title}" if markdown else title, *([] if markdown else ["-" * len(title)])]
        for clause in clauses:
            out += _render_clause(clause, markdown)
        out += _render_absences(policy, section, present, markdown)
    return "\n".join(out).rstrip() + "\n"


def _render_clause(clause: Clause, markdown: bool) -> list[str]:
    terms = clause_terms(clause)
    if markdown:
        # the id is a code span: the schema allows [a-z0-9_-] only
        lines = ["", f"### `{clause.id}`", "", f"*Contract: {_md(clause.ref)}*", "",
                 _md(clause.summary, line_start=True)]
        if terms:
            lines.append("")
            lines += [f"- **{_md(label)}:** {_md(words)}" for label, words in terms]
        return lines
    lines = ["", f"[{clause.id}] {_txt(clause.ref)}"]
    lines += [f"    {line}" for line in _wrap(_txt(clause.summary), 88)]
    lines += [f"    - {_txt(label)}: {_txt(words)}" for label, words in terms]
    return lines


def _render_absences(policy: Policy, section: str, present: set[str],
                     markdown: bool) -> list[str]:
    """What the section's missing kinds mean for this policy (:meth:`ClauseKind.absence
    <policyengine.clauses.registry.ClauseKind.absence>`), after its clauses."""
    lines = [line for kind in registry.kinds() if kind.section == section
             and kind.name not in present and (line := kind.absence(policy)) is not None]
    if not lines:
        return []
    if markdown:
        return ["", "*Not in this policy:*", "",
                *(f"- **{_md(label)}:** {_md(words)}" for label, words in lines)]
    return ["", "Not in this policy:", *(f"    - {_txt(label)}: {_txt(words)}"
                                        for label, words in lines)]


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


__all__ = [
    "FORMATS",
    "clause_terms",
    "measurement_period",
    "describe_condition",
    "describe_value",
    "join_words",
    "render_policy",
    "term_label",
]
