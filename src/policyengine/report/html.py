"""The HTML report: one self-contained page per evaluation, for people.

Rendered by Jinja2 with autoescaping on (every string from facts or findings is escaped
once, by the template engine), from the JSON report's document (:func:`render_html` takes
``Evaluation.to_dict()`` or a saved report read by :func:`policyengine.report.saved.load_report`,
so a saved report is never evaluated again). The page has no script, no external style,
font or image, and a Content-Security-Policy that forbids fetching anything: it opens the
same offline, from a mail attachment or a ticket.

Per customer it shows a chart of availability per period against the target (inline SVG;
the geometry is computed here and drawn by the template: see docs/report.md for why no
charting library), the availability rows, credits with the amount the report gives and the
clause and reason behind them, tickets (breached, open and not yet due, met), notices
(missed first) and entitlements; every row carries the findings about it, each with its
clause and its message. Output is deterministic: the same report gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import jinja2
from markupsafe import Markup

from policyengine.clauses import registry
from policyengine.diagnostics import VISIBLE_ESCAPES
from policyengine.model.json_report import ALL_ROW_SECTIONS
from policyengine.model.results import AvailabilityRow, RemedyRow, diff_key
from policyengine.report.saved import customer_of

# findings about a customer period (``customer/period[/service]``) that decide its credit,
# not its availability
CREDIT_OUTCOMES = frozenset({"credit", "payable", "claimable", "expired"})

# control and bidi characters (not newlines and tabs, which HTML shows as spaces) as visible
# escapes in every value the page shows, as in every other text output (docs/hardening.md)
_PAGE_ESCAPES = {c: text for c, text in VISIBLE_ESCAPES.items() if c not in (0x09, 0x0A)}


def _visible(value: Any) -> Any:
    """A value as the page shows it: text (not markup the page made) with visible escapes."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return value.translate(_PAGE_ESCAPES)
    return value


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("policyengine.report", "templates"),
    autoescape=True,
    finalize=_visible,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def instant(value: Any) -> str:
    """An ISO-8601 instant of the report as people read it: ``2026-11-05T10:00:00-05:00``
    is ``2026-11-05 10:00 (UTC-05:00)`` (seconds shown when not zero; the offset the report
    gives, since the page does not know the policy's time zone names). Anything else is
    returned as text."""
    try:
        at = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if at.tzinfo is None:
        return str(value)
    clock = at.strftime("%H:%M" if at.second == 0 and at.microsecond == 0 else "%H:%M:%S")
    offset = at.strftime("%z")
    zone = "UTC" if offset == "+0000" else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{at.date().isoformat()} {clock} ({zone})"


_ENVIRONMENT.filters["instant"] = instant


@dataclass
class Bar:
    """One period of the chart: where its bar and its target mark go (SVG user units)."""

    label: str
    value: str  # as the report gives it, e.g. "98.3199"
    target: str
    x: float
    width: float
    y: float
    height: float
    target_y: float | None
    state: str  # "met", "missed", "provisional", "not-covered"
    value_y: float = 0.0  # baseline of the value label, clear of the target mark
    period: str = ""  # the first line under the bar
    service: str = ""  # the second line (a per-service row), else ""


@dataclass
class Chart:
    """An SVG bar chart of availability per period against the target."""

    width: int
    height: int
    top: float
    bottom: float
    left: float
    right: float
    ticks: list[tuple[float, str]]
    bars: list[Bar]
    label: str


@dataclass
class Row:
    """A report row (as in the JSON report) and the findings about it; ``extra``: findings
    shown in a column of their own (a credit's caps, a ticket's at-risk findings)."""

    data: dict[str, Any]
    reasons: list[dict[str, Any]] = field(default_factory=list)
    state: str = ""
    extra: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CustomerView:
    name: str
    anchor: str
    chart: Chart | None
    availability: list[Row]
    windows: list[dict[str, Any]]
    credits: list[Row]
    credit_totals: list[tuple[str, str, str]]  # (currency, status, amount)
    tickets: list[Row]
    notices: list[Row]
    entitlements: list[Row]
    remedies: list[Row] | None  # None: no chronic_failure clause, no section
    other: list[dict[str, Any]]
    counts: dict[str, int]
    # columns a policy's shape adds (as the JSON rows have the fields): a service column,
    # a credit's cap, a ticket's periodic updates, a ticket's at-risk flag
    services: bool = False
    caps: bool = False
    ticket_updates: bool = False
    ticket_risk: bool = False


def render_html(document: Mapping[str, Any]) -> str:
    """The report ``document`` (the JSON report as a dict) as one HTML page (str).

    Raises ``KeyError`` when a section of the JSON report is missing.
    """
    customers = _customers(document)
    as_of = str(document["as_of"])
    totals = _credit_totals(document["credits"])
    summary = {
        "customers": len(customers),
        "periods": len(document["availability"]),
        "missed": sum(1 for r in document["availability"] if r.get("met") is False),
        # periods not over at as-of (the rows' ``provisional``, as the summary line counts)
        "provisional": sum(1 for r in document["availability"] if r.get("provisional")),
        "breaches": sum(1 for f in document["findings"] if f.get("outcome") == "breach"),
        "tickets_breached": sum(c.counts["tickets_breached"] for c in customers),
        "tickets_at_risk": sum(c.counts["tickets_at_risk"] for c in customers),
        "tickets_open": sum(c.counts["tickets_open"] for c in customers),
        "remedies": sum(c.counts["remedies"] for c in customers),
        "notices_missed": sum(c.counts["notices_missed"] for c in customers),
        "notices_best_efforts": sum(c.counts["notices_best_efforts"] for c in customers),
        "findings": len(document["findings"]),
    }
    template = _ENVIRONMENT.get_template("report.html.j2")
    return template.render(
        as_of=as_of,
        policies=document["policy"],
        decision=document.get("decision"),
        summary=summary,
        totals=totals,
        customers=customers,
        fleet=_fleet_findings(document),
    )


def _customers(document: Mapping[str, Any]) -> list[CustomerView]:
    find = customer_of(dict(document))
    rows: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for section in ALL_ROW_SECTIONS:
        for row in document.get(section) or ():
            rows[str(row.get("customer"))][section].append(row)
    findings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in document["findings"]:
        customer = find(finding)
        if customer is not None:
            findings[customer].append(finding)
    views = []
    for index, name in enumerate(sorted(set(rows) | set(findings)), start=1):
        views.append(_customer(name, f"customer-{index}", rows[name], findings[name],
                               "remedies" in document))
    return views


def _fleet_findings(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    find = customer_of(dict(document))
    return [f for f in document["findings"] if find(f) is None]


# -- which findings belong to which row: the evaluator's subjects, from the report model ----
# A customer period's findings have the subject ``customer/period[/service]`` (the
# evaluator's key of a ``customer_month`` fact): ``period`` is the row's ``period`` when it
# has one (2026-Q4, 2026) and its ``month`` otherwise, ``service`` the row's service of a
# per-service commitment. The parts are the key fields of the row classes
# (:func:`policyengine.model.results.diff_key`); tests/test_html_report.py pins them, so a
# new key field (a new shape of period) fails a test instead of leaving rows without
# their reasons.
PERIOD_KEY = diff_key(AvailabilityRow)  # ("customer", "month", "period", "service")
REMEDY_KEY = diff_key(RemedyRow)  # ("customer", "period", "clause")
# a cap's finding: ``<the credit's subject>/<per>`` (one per cap that applies to it)
CAP_PERS = tuple(registry.kind_of("credit_cap").terms["per"]["enum"])


def period_subject(row: Mapping[str, Any]) -> str:
    """The subject of the findings about the customer period of an availability or credit
    ``row`` (a dict as in the JSON report): ``customer/period[/service]``, e.g.
    ``acme/2026-10``, ``acme/2026-Q4/git_operations``, ``acme/2026``."""
    customer, month, period, service = (row.get(name) for name in PERIOD_KEY)
    return "/".join(str(part) for part in (customer, period or month, service)
                    if part is not None)


def remedy_subject(row: Mapping[str, Any]) -> str:
    """The subject of the findings that granted a remedy row: ``customer/period`` (the
    period whose miss granted it; its findings carry the row's clause)."""
    return f"{row.get('customer')}/{row.get('period')}"


def _customer(name: str, anchor: str, rows: Mapping[str, list[dict[str, Any]]],
              findings: list[dict[str, Any]], has_remedies: bool) -> CustomerView:
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        by_subject[str(finding.get("subject"))].append(finding)
    used: set[int] = set()

    def take(subject: str, keep: Any = lambda f: True) -> list[dict[str, Any]]:
        chosen = [f for f in by_subject.get(subject, ()) if id(f) not in used and keep(f)]
        used.update(id(f) for f in chosen)
        return chosen

    credits = []
    for r in rows["credits"]:
        key = period_subject(r)
        caps = [f for per in CAP_PERS for f in take(f"{key}/{per}")]
        credits.append(Row(r, take(key, _is_credit), str(r.get("status", "")), caps))
    remedies = [Row(r, take(remedy_subject(r),
                            lambda f, r=r: f.get("clause") == r.get("clause")), "remedy")
                for r in rows["remedies"]]
    availability = [Row(r, take(period_subject(r)), _availability_state(r))
                    for r in rows["availability"]]
    notices = sorted(
        (Row(r, take(f"{name}/{r.get('subject')}",
                     lambda f, r=r: f.get("clause") == r.get("obligation")),
             _notice_state(r)) for r in rows["obligations"]),
        key=lambda row: row.state != "missed")  # missed first, in report order otherwise
    tickets = []
    for r in rows["tickets"]:
        reasons = take(str(r.get("id")))
        risks = [f for f in reasons if f.get("outcome") == "at_risk"]
        tickets.append(Row(r, [f for f in reasons if f not in risks], _ticket_state(r), risks))
    tickets.sort(key=lambda row: TICKET_STATES.index(row.state))
    entitlements = [Row(r, take(str(r.get("id"))),
                        "entitled" if r.get("entitled") else "not-entitled")
                    for r in rows["entitlements"]]
    # what is left: the downtime windows' decisions (``customer/<window id>`` of the
    # availability rules) and the rest; a finding about one of the customer's periods that
    # no row took (e.g. a period with no row) is never taken for a window
    periods = {period_subject(r) for r in (*rows["availability"], *rows["credits"])}
    periods |= {remedy_subject(r) for r in rows["remedies"]}
    rest = [f for f in findings if id(f) not in used]
    windows = [f for f in rest if str(f.get("rule", "")).startswith("availability.")
               and not _about_a_period(str(f.get("subject")), periods)]
    other = [f for f in rest if not any(f is w for w in windows)]
    counts = {
        "tickets_breached": sum(1 for t in tickets if t.state == "breached"),
        "tickets_at_risk": sum(1 for t in tickets if t.data.get("at_risk") is True),
        "tickets_open": sum(1 for t in tickets if t.state in ("at-risk", "open")),
        "notices_missed": sum(1 for n in notices if n.state == "missed"
                              and n.data.get("strength") == "binding"),
        "notices_best_efforts": sum(1 for n in notices if n.state == "missed"
                                    and n.data.get("strength") != "binding"),
        "periods_missed": sum(1 for a in availability if a.state == "missed"),
        "periods_provisional": sum(1 for a in availability if a.data.get("provisional")),
        "remedies": len(remedies),
    }
    return CustomerView(
        name, anchor, chart(rows["availability"]), availability, windows, credits,
        _credit_totals(rows["credits"]), tickets, notices, entitlements,
        remedies if has_remedies else None, other, counts,
        services=any(r.get("service") is not None
                     for r in (*rows["availability"], *rows["credits"])),
        caps=any("capped_by" in r for r in rows["credits"]),
        ticket_updates=any("update_due" in r for r in rows["tickets"]),
        ticket_risk=any("at_risk" in r for r in rows["tickets"]))


def _about_a_period(subject: str, periods: set[str]) -> bool:
    """Whether ``subject`` is one of ``periods`` or names something under one (a cap's
    ``customer/period/per``)."""
    return any(subject == p or subject.startswith(p + "/") for p in periods)


def _is_credit(finding: Mapping[str, Any]) -> bool:
    return finding.get("outcome") in CREDIT_OUTCOMES


def _availability_state(row: Mapping[str, Any]) -> str:
    """``met``, ``missed``, ``provisional`` (a covered period not over at as-of: measured so
    far, no verdict yet) or ``not-covered`` (no commitment that period, e.g. outside every
    term: a ``not_in_term`` finding says why; measured so far when it is not over either:
    the row's ``provisional``)."""
    met = row.get("met")
    if met is not None:
        return "met" if met else "missed"
    return "provisional" if row.get("provisional") and row.get("covered") else "not-covered"


def _notice_state(row: Mapping[str, Any]) -> str:
    return "met" if row.get("met") else "missed"


# a ticket's state, in the order the page lists them
TICKET_STATES = ("breached", "at-risk", "open", "met", "")
TICKET_TARGETS = ("response", "update", "resolution")


def _ticket_state(row: Mapping[str, Any]) -> str:
    """``breached`` (a response, update or resolution target missed), ``at-risk`` (none
    missed, but the row is ``at_risk``: a target due soon, past its at-risk threshold at
    as-of), ``open`` (a target due and neither met nor missed at as-of), ``met`` or ``""``
    (no target applies). The update columns and ``at_risk`` are only in reports of a
    policy that uses them (absent: not applicable)."""
    verdicts = [(row.get(f"{kind}_due"), row.get(f"{kind}_met")) for kind in TICKET_TARGETS]
    if any(met is False for _, met in verdicts):
        return "breached"
    if row.get("at_risk") is True:
        return "at-risk"
    if any(due is not None and met is None for due, met in verdicts):
        return "open"
    if any(met is True for _, met in verdicts):
        return "met"
    return ""


def _credit_totals(credits: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """Credit amounts added up per currency and status, in Decimal: (currency, status, sum).

    The sum keeps the places of its amounts (``10000.00 + 4166.67 = 14166.67``); an amount
    that is not a decimal is left out of the sum rather than guessed.
    """
    sums: dict[tuple[str, str], Decimal] = {}
    for row in credits:
        try:
            amount = Decimal(str(row.get("amount")))
        except InvalidOperation:
            continue
        key = (str(row.get("currency")), str(row.get("status")))
        sums[key] = sums.get(key, Decimal(0)) + amount
    return [(currency, status, str(amount)) for (currency, status), amount in sorted(sums.items())]


def chart(rows: Sequence[Mapping[str, Any]]) -> Chart | None:
    """Bars of availability per period (in report order) against each period's target.

    The vertical axis runs from a whole percent at least one point below the lowest value
    or target shown up to 100 %, so a miss of a fraction of a point is visible. Periods
    that are not covered get a grey bar and no target mark; a provisional period (the month
    is not over at as-of) an amber bar with its target mark. None when there are no rows.
    """
    if not rows:
        return None
    values = [_number(r.get("availability_percent")) for r in rows]
    targets = [_number(r.get("target_percent")) for r in rows]
    shown = [v for v in (*values, *targets) if v is not None]
    low = max(0.0, float(int(min(shown, default=99.0))) - 1.0)
    if low >= 100.0:
        low = 99.0
    services = any(r.get("service") is not None for r in rows)
    # a per-service row names its service on a second line under the period: wider slots
    slot, gap = (88.0, 12.0) if services else (56.0, 12.0)
    left, right, top, bottom = 48.0, 16.0, 16.0, (52.0 if services else 40.0)
    plot_height = 160.0
    width = int(left + right + slot * len(rows))
    height = int(top + plot_height + bottom)

    def y_of(value: float) -> float:
        value = min(100.0, max(low, value))
        return round(top + (100.0 - value) / (100.0 - low) * plot_height, 2)

    bars = []
    for index, (row, value, target) in enumerate(zip(rows, values, targets, strict=True)):
        x = left + index * slot + gap / 2
        y = y_of(value) if value is not None else top + plot_height
        state = _availability_state(row)
        target_y = y_of(target) if target is not None and state != "not-covered" else None
        bars.append(Bar(
            label=period_label(row),
            value=_text(row.get("availability_percent")),
            target=_text(row.get("target_percent")),
            x=round(x, 2), width=slot - gap, y=y, height=round(top + plot_height - y, 2),
            target_y=target_y, state=state,
            value_y=_value_y(y, target_y, top),
            period=str(row.get("period") or row.get("month") or ""),
            service=str(row.get("service") or ""),
        ))
    middle = round((low + 100.0) / 2, 1)
    ticks = [(y_of(v), _percent(v)) for v in (low, middle, 100.0)]
    label = "; ".join(f"{b.label}: {b.value}% against {b.target}% ({b.state})" for b in bars)
    return Chart(width, height, top, top + plot_height, left, width - right, ticks, bars,
                 f"Availability per period against the target: {label}")


def _value_y(y: float, target_y: float | None, top: float) -> float:
    """The baseline of a bar's value label: just above the bar (at least 10 units below the
    plot's top), or, when that would cross the dashed target mark (a label's glyphs span
    from 9 units above its baseline to 2 below), just above the mark, or just below it when
    above would leave the plot."""
    at = max(y - 3, top + 10)
    if target_y is None or not at - 9 <= target_y <= at + 2:
        return round(at, 2)
    above = target_y - 4
    return round(above if above - 9 >= top else target_y + 11, 2)


def period_label(row: Mapping[str, Any]) -> str:
    """How the page names a row's period: its ``period`` (2026-Q4, 2026) or its ``month``,
    and its ``service`` when it has one (``2026-Q4 git_operations``)."""
    _customer, month, period, service = (row.get(name) for name in PERIOD_KEY)
    return " ".join(str(p) for p in (period or month, service) if p is not None)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def _percent(value: float) -> str:
    return f"{value:g}%"


__all__ = ["CAP_PERS", "CREDIT_OUTCOMES", "PERIOD_KEY", "REMEDY_KEY", "TICKET_STATES", "chart",
           "period_label", "period_subject", "remedy_subject", "render_html"]
