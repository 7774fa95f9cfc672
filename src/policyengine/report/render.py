"""Render evaluations and diagnostics: json, table (for people), markdown (for tickets), html
(a self-contained page: :mod:`policyengine.report.html`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from policyengine.clauses.words import plain_number
from policyengine.diagnostics import VISIBLE_ESCAPES, Diagnostic
from policyengine.model.json_report import ABSENT
from policyengine.model.results import Evaluation

FORMATS = ("json", "table", "markdown", "html")


# control, bidirectional-formatting and line-separator characters: a fact string must not
# move a terminal's cursor, colour its screen or reorder a line, so they are shown as visible
# escapes (\x1b, \n, \u202e) instead: one rule for every text output
_CONTROLS = VISIBLE_ESCAPES
# CommonMark's inline markup and raw HTML: what a fact string could turn into a link, an
# image, emphasis or a tag in a rendered markdown document
_MARKDOWN = {ord(c): f"\\{c}" for c in "\\`*_[]|~"}
_MARKDOWN.update({ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;"})


def github_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped, so that it stays one
    annotation (GitHub's toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A workflow command's property value (``file=``): also ``:`` and ``,``, which would
    end the property list or start another property (``escapeProperty``)."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def plain_text(text: str) -> str:
    """``text`` safe for a terminal: control and bidi characters become visible escapes
    (:data:`policyengine.diagnostics.VISIBLE_ESCAPES`)."""
    return text.translate(_CONTROLS)


def markdown_text(text: str) -> str:
    """``text`` as literal markdown: inline markup escaped, HTML as entities, no controls."""
    return plain_text(text).translate(_MARKDOWN)


# what a cell with no value says: the row has no such thing (a month not covered has no
# verdict, a severity without a resolution target no due time); "open" is a verdict still
# to come (docs/report.md, "Table and markdown")
NOT_APPLICABLE = "n/a"
OPEN = "open"


def _cell(value: Any) -> str:
    if value is None:
        return NOT_APPLICABLE
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return plain_text(plain_number(value))  # 1e-24 as 0.000000000000000000000001


def _aligned(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    numeric = [all(_is_number(r[i]) for r in cells) and bool(cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)]


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except Exception:
        return False
    return True


def _markdown(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def esc(v: Any) -> str:
        return _cell(v).translate(_MARKDOWN)

    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out.extend("| " + " | ".join(esc(v) for v in row) + " |" for row in rows)
    return out


def _shapes(rows: Sequence[Any], headers: list[str],
            cells: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
    """A ``period`` column after ``month`` and a ``service`` column when any row has one
    (reports of monthly policies without services keep their columns)."""
    for name in ("service", "period"):
        if any(getattr(r, name) is not ABSENT for r in rows):
            headers = [*headers[:2], name, *headers[2:]]
            cells = [[*c[:2], None if getattr(r, name) is ABSENT else getattr(r, name),
                      *c[2:]]
                     for c, r in zip(cells, rows, strict=True)]
    return headers, cells


def _sections(evaluation: Evaluation) -> list[tuple[str, list[str], list[list[Any]]]]:
    e = evaluation
    availability = [[r.customer, r.month, r.covered, r.minutes_in_month, r.downtime_minutes,
                     r.excluded_minutes, r.counted_downtime_minutes, r.availability_percent,
                     r.target_percent, "so far" if r.provisional and r.covered else _verdict(r.met)]
                    for r in e.availability]
    availability_headers, availability = _shapes(
        e.availability, ["customer", "month", "covered", "minutes", "downtime", "excluded",
                         "counted", "availability %", "target %", "verdict"], availability)
    credits = [[r.customer, r.month, r.amount, r.currency, r.form, r.claim_deadline,
                "no" if r.requested_at is None else r.requested_at, r.status]
               for r in e.credits]
    credit_headers, credits = _shapes(
        e.credits, ["customer", "month", "amount", "currency", "form", "claim by",
                    "requested", "status"], credits)
    tickets = [[r.id, r.customer, r.severity, r.severity_source, r.response_due,
                _verdict(r.response_met, due=r.response_due), r.resolution_due,
                _verdict(r.resolution_met, due=r.resolution_due)]
               for r in e.tickets]
    ticket_headers = ["ticket", "customer", "sev", "source", "response due", "response",
                      "resolution due", "resolution"]
    # periodic updates and at-risk: columns only for a policy that uses them (as in JSON)
    if any(r.update_due is not ABSENT for r in e.tickets):
        ticket_headers += ["update due", "updates"]
        for row, r in zip(tickets, e.tickets, strict=True):
            row += [r.update_due, _verdict(r.update_met, due=r.update_due)]
    if any(r.at_risk is not ABSENT for r in e.tickets):
        ticket_headers.append("at risk")
        for row, r in zip(tickets, e.tickets, strict=True):
            row.append("AT RISK" if r.at_risk is True else "no")
    obligations = [[r.obligation, r.subject, r.customer, r.required_lead_hours,
                    "none" if r.lead_hours is None else r.lead_hours,
                    _verdict(r.met, r.strength), r.strength] for r in e.obligations]
    entitlements = [[r.id, r.customer, r.entitled, r.reason] for r in e.entitlements]
    remedies: list[tuple[str, list[str], list[list[Any]]]] = []
    if e.remedies is not None:  # a policy with a chronic_failure clause
        remedies = [("Remedies", ["customer", "period", "remedy", "use by", "clause", "reason"],
                     [[r.customer, r.period, r.remedy, r.exercise_by, r.clause, r.reason]
                      for r in e.remedies])]
    return [
        ("Availability", availability_headers, availability),
        ("Credits", credit_headers, credits),
        ("Tickets", ticket_headers, tickets),
        ("Notices", ["obligation", "subject", "customer", "required h", "lead h", "verdict",
                     "strength"], obligations),
        ("Entitlements", ["request", "customer", "entitled", "reason"], entitlements),
        *remedies,
        ("Findings", ["subject", "outcome", "clause", "reason"],
         [[f.subject, f.outcome, f.clause, f.message] for f in e.findings]),
    ]


def _verdict(met: bool | None, strength: str = "binding", *, due: Any = None) -> str:
    """``met``, ``MISSED`` (``missed (best efforts)``), ``open`` (no verdict yet: a ``due``
    instant is set and has not been answered or passed) or ``n/a`` (nothing is due)."""
    if met is None:
        return OPEN if due is not None else NOT_APPLICABLE
    if met:
        return "met"
    return "MISSED" if strength == "binding" else "missed (best efforts)"


def _totals(evaluation: Evaluation) -> list[str]:
    by_currency: dict[tuple[str, str], Decimal] = {}
    for row in evaluation.credits:
        key = (row.currency, row.status)
        by_currency[key] = by_currency.get(key, Decimal(0)) + Decimal(row.amount)
    lines = [f"credits {status}: {amount} {currency}"
             for (currency, status), amount in sorted(by_currency.items())]
    missed = sum(1 for r in evaluation.availability if r.met is False)
    breaches = sum(1 for f in evaluation.findings if f.outcome == "breach")
    lines.append(f"months below target: {missed}; breaches: {breaches}; "
                 f"findings: {len(evaluation.findings)}")
    return lines


def _decision_line(evaluation: Evaluation) -> str | None:
    """The JSON report's ``decision`` header in one line: the decision id, the first 12
    hex digits of each fingerprint (the JSON report has them whole) and the months asked
    for; None without an audit."""
    decision = evaluation.decision()
    if decision is None:
        return None
    parts = [f"decision {decision['decision_id']}"]
    parts += [f"{name} sha256 {str(decision[f'{name}_sha256'])[:12]}"
              for name in ("policy", "rules", "facts") if decision.get(f"{name}_sha256")]
    if decision.get("months"):
        parts.append(f"months {decision['months']}")
    return "; ".join(parts)


def render_table(evaluation: Evaluation, *, markdown: bool = False,
                 explain: bool = False) -> str:
    """The report for people (``table``) or for tickets and wikis (``markdown``): the
    header (policy, as-of, the decision line), a section per kind of row, FINDINGS (every
    finding, sorted by subject, with its clause and its reason) and TOTALS; with
    ``explain``, DECISIONS (each finding with its rule and the facts it used). A cell
    with no value reads ``n/a``; a verdict still to come ``open`` (docs/report.md)."""
    policies = plain_text(", ".join(f"{n} {v}" for n, v in evaluation.policies))
    decision = _decision_line(evaluation)
    out: list[str] = []
    if markdown:
        policies = policies.translate(_MARKDOWN)
        out += [f"# Evaluation at {markdown_text(evaluation.as_of)}", "",
                f"Policy: {policies}", ""]
        if decision is not None:
            out += [markdown_text("D" + decision[1:]), ""]
    else:
        out += [f"policy {policies}; as of {plain_text(evaluation.as_of)}"]
        if decision is not None:
            out.append(plain_text(decision))
        out.append("")
    draw: Callable[..., list[str]] = _markdown if markdown else _aligned
    for title, headers, rows in _sections(evaluation):
        if not rows:
            continue
        out.append(f"## {title}" if markdown else title.upper())
        if markdown:
            out.append("")
        out.extend(draw(headers, rows))
        out.append("")
    out.append("## Totals" if markdown else "TOTALS")
    if markdown:
        out.append("")
    out.extend(f"- {t}" if markdown else t for t in _totals(evaluation))
    legend = (f"{NOT_APPLICABLE}: not applicable (nothing is due); {OPEN}: not yet due, no "
              "verdict yet")
    out.append(f"- {legend}" if markdown else legend)
    if explain:
        out += ["", "## Decisions" if markdown else "DECISIONS (rule [clause] subject: outcome)"]
        if markdown:
            out.append("")
        for f in evaluation.findings:
            text = f"{f.rule} [{f.clause}] {f.subject}: {f.outcome} - {f.message}"
            text += f" (facts: {', '.join(f.used)})"
            out.append(f"- {markdown_text(text)}" if markdown else f"  {plain_text(text)}")
    return "\n".join(out).rstrip() + "\n"


def render_evaluation(
    evaluation: Evaluation, fmt: str, *, explain: bool = False
) -> str | Iterator[str]:
    """Render an evaluation in ``json``, ``table``, ``markdown`` or ``html``.

    Plain JSON comes back in pieces (a year of facts makes a report of hundreds of MB).
    The HTML page always shows every finding with its row (``explain`` changes nothing).
    """
    if fmt == "html":
        from policyengine.report.html import render_html

        return render_html(evaluation.to_dict())
    if fmt == "json":
        if not explain:
            return evaluation.iter_json()
        import json

        data = evaluation.to_dict()
        data["explain"] = [{**f.to_dict(), "facts": list(f.used)} for f in evaluation.findings]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return render_table(evaluation, markdown=fmt == "markdown", explain=explain)


def render_diagnostics(diagnostics: Sequence[Diagnostic], fmt: str = "text") -> str:
    """``text`` (FILE:LINE:COL: path: message), ``json`` or ``github`` annotations."""
    if fmt == "json":
        import json

        return json.dumps([d.to_dict() for d in diagnostics], indent=2) + "\n"
    if fmt == "github":
        lines = []
        for d in diagnostics:
            level = "warning" if d.severity == "warning" else "error"
            message = github_data(d.render_message())
            lines.append(f"::{level} file={github_property(d.file)},line={d.line},"
                         f"col={d.column}::{message}")
        return "\n".join(lines) + ("\n" if lines else "")
    return "".join(d.render() + "\n" for d in diagnostics)
