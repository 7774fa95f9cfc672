"""The HTML report: what it shows per customer, that facts are escaped, that it is one
self-contained deterministic file, and (in headless Chromium) that a person sees a page."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policyengine.api import Engine, facts_from_dicts
from policyengine.model.results import AvailabilityRow, CreditRow, RemedyRow, diff_key
from policyengine.report import html as html_report
from policyengine.report.html import chart, render_html
from policyengine.report.saved import load_report

from . import browser
from .conftest import ROOT

POLICY = ROOT / "policies" / "spirion"
EXAMPLE = ROOT / "examples" / "october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"
CLI = [sys.executable, "-m", "policyengine"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(POLICY)


@pytest.fixture(scope="module")
def example_html(engine: Engine) -> str:
    return render_html(engine.evaluate([EXAMPLE], as_of=AS_OF).to_dict())


def _section(page: str, customer: str) -> str:
    """The part of the page about one customer (from its heading to the next section)."""
    start = page.index(f"<h2>{customer}</h2>")
    return page[start:page.index("</section>", start)]


def test_each_customer_has_its_chart_rows_and_reasons(example_html: str) -> None:
    acme = _section(example_html, "acme")
    # availability 98.3199 % in 2026-10 against 99 %: a red (missed) bar with its value
    assert "<title>2026-10: 98.3199% (target 99%, missed)</title>" in acme
    assert 'fill="#c0392b"' in acme
    # the month's reason with its clause
    # ... and by how much: 744 h in October; 99 % allows 1 % of 44,640 min = 446.4 min =
    # 7 h 26 min 24 s; 750 min = 12 h 30 min counted: 303.6 min = 5 h 3 min 36 s over
    assert ("[availability-commitment]</span> availability 98.3199% is below the 99% "
            "commitment: 12 h 30 min of downtime counted, 7 h 26 min 24 s allowed in the "
            "month, 5 h 3 min 36 s over") in acme
    # the credit: the amount the report gives, with the clause and reason behind it
    assert '<td class="num">10000.00</td><td>USD</td><td>credit</td><td>payable</td>' in acme
    assert ("[service-credit]</span> one credit of 1/12 of the annual fee, as a credit: "
            "1/12 × 120,000.00 = 10,000.00 USD") in acme
    # both tickets missed a target; T-1003 has no resolution target (not "open")
    assert acme.count('<span class="bad">breached</span>') == 2
    t1003 = acme[acme.index("<td>T-1003</td>"):]
    assert '<td>no target</td><td><span class="na">no target</span></td>' in t1003
    # the binding notice missed for dt-103 is listed first, with its reason
    notices = acme[acme.index("<h3>Notices</h3>"):]
    assert notices.index("<td>dt-103</td>") < notices.index("<td>ch-201</td>")
    assert ("no scheduled_downtime notice by email, phone, portal at least 48h ahead of "
            "2026-10-17 02:00 EDT: notice n-103 by portal 47 h ahead, 1 h short of 48 h"
            ) in notices
    # the downtime windows' decisions
    assert "[excused-downtime]</span> cause &#39;third_party&#39; is excused" in acme
    # hooli's month is not covered (its term begins 10-15): a grey bar, no target mark, no
    # verdict of met/missed; (44640 - 180) / 44640 = 99.5968 % of the month
    hooli = _section(example_html, "hooli")
    assert "<title>2026-10: 99.5968% (target 99%, not-covered)</title>" in hooli
    # dt-102 (10-10) came before the term: its window and its notice say so (not_in_term)
    assert ('<tr><td>hooli/dt-102</td><td><span class="outcome not_in_term">not_in_term</span>'
            '</td><td><span class="clause">[availability-commitment]</span> no SaaS '
            'subscription term of hooli is in force during this window (2026-10-10 01:00 EDT '
            'to 2026-10-10 09:00 EDT): it is not charged') in hooli
    assert ("[scheduled_downtime_notice]</span> no SaaS subscription term of hooli is in "
            "force at 2026-10-10 01:00 EDT: no notice is owed") in hooli
    assert "stroke-dasharray" not in hooli
    # umbrella has only an update request: still a section, with its reason
    umbrella = _section(example_html, "umbrella")
    assert "support lapsed: the perpetual licence stays in force" in umbrella


def test_summary_counts_and_credit_totals(example_html: str) -> None:
    summary = example_html[:example_html.index('<section class="customer"')]
    assert "customers: 5" in summary  # acme, globex, hooli, initech, umbrella
    assert "periods below target: 2" in summary  # acme and globex in 2026-10
    # 2 availability months + 4 dt-103 notices + 2 tickets (T-1001, T-1003) = 8 breaches
    assert "breaches: 8" in summary
    assert "binding notices missed: 4" in summary  # dt-103 for each of four customers
    assert "best-efforts notices missed: 4" in summary  # ch-202, 14 h of 24 h
    # per currency and status, added in Decimal: one credit each
    assert '<td>claimable</td><td>USD</td><td class="num">4166.67</td>' in summary
    assert '<td>payable</td><td>USD</td><td class="num">10000.00</td>' in summary


def test_open_not_yet_due_ticket_is_distinct_from_no_target(engine: Engine) -> None:
    # at 2026-10-28 10:00 -04:00 T-1003 (response due 13:30 that day) is open, not yet due
    page = render_html(engine.evaluate([EXAMPLE], as_of="2026-10-28T10:00:00-04:00").to_dict())
    t1003 = page[page.index("<td>T-1003</td>"):page.index("</tr>", page.index("<td>T-1003"))]
    assert '<span class="open">open, not yet due</span>' in t1003
    assert "<td>2026-10-28 13:30 (UTC-04:00)</td>" in t1003
    assert "tickets open, not yet due: 1" in page


def test_text_from_facts_is_escaped(engine: Engine) -> None:
    hostile = '<script>alert("x")</script>&"\'<img src=x onerror=alert(1)>'
    facts = [{"type": "subscription", "customer": hostile, "plan": "production",
              "deployment": "saas", "license": "subscription", "annual_fee": "1200.00",
              "currency": "USD", "term_start": "2026-01-01", "term_end": "2026-12-31",
              "renewed": True, "support": "active"},
             {"type": "downtime", "id": "dt-<b>1</b>", "start": "2026-10-05T00:00:00Z",
              "end": "2026-10-06T00:00:00Z", "cause": "vendor", "maintenance": "none"}]
    page = render_html(engine.evaluate(facts_from_dicts(facts), as_of=AS_OF).to_dict())
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#34;&#39;&lt;img" in page
    assert "dt-&lt;b&gt;1&lt;/b&gt;" in page


def test_provisional_month_and_not_in_term_are_shown_and_escaped(engine: Engine) -> None:
    """A month not over at as-of is "so far, no verdict yet" (amber, with its target mark),
    never below target; a window before a customer's term is its not_in_term finding; names
    from the facts are escaped in rows, subjects and messages alike."""
    hostile = '<script>alert("x")</script>&"\'<img src=x onerror=alert(1)>'
    late = "late<b>&co</b>"
    sub = {"type": "subscription", "plan": "production", "deployment": "saas",
           "license": "subscription", "annual_fee": "1200.00", "currency": "USD",
           "renewed": True, "support": "active"}
    facts = [{**sub, "customer": hostile, "term_start": "2026-01-01", "term_end": "2026-12-31"},
             {**sub, "customer": late, "term_start": "2026-11-03", "term_end": "2027-11-02"},
             {"type": "downtime", "id": "dt-<i>0</i>", "start": "2026-11-01T10:00:00Z",
              "end": "2026-11-01T12:00:00Z", "cause": "vendor", "maintenance": "none"}]
    document = engine.evaluate(facts_from_dicts(facts),
                               as_of="2026-11-10T12:00:00-05:00").to_dict()
    page = render_html(document)
    assert "<script" not in page and "<img" not in page and "<b>" not in page \
        and "<i>" not in page
    summary = page[:page.index('<section class="customer"')]
    assert "periods below target: 0" in summary
    # both months are not over at as-of (as the summary line counts them); late's is also
    # not covered (its term begins 11-03): "not covered (so far)", no verdict either way
    assert "periods not over at as-of (so far, provisional): 2" in summary
    assert '<span class="na">not covered (so far)</span>' in page
    # elapsed 11-01 00:00 -04:00 .. 11-10 12:00 -05:00 = 229 h = 13740 min, 120 counted:
    # (13740 - 120) / 13740 = 99.1266 % so far, against 99 %: amber, target marked, no verdict
    assert "<title>2026-11: 99.1266% (target 99%, provisional)</title>" in page
    assert 'fill="#d4a017"' in page and "stroke-dasharray" in page
    assert '<td><span class="open">so far, no verdict yet</span></td>' in page
    assert ('<span class="outcome provisional">provisional</span> <span class="clause">'
            '[availability-commitment]</span> the month is not over at as-of 2026-11-10 12:00 '
            'EST: 99.1266% so far against the 99% commitment (2 h of downtime counted, 2 h 17 '
            'min 24 s allowed so far, 17 min 24 s to spare), no verdict yet') in page
    # 11-01 00:00 EDT to 11-10 12:00 EST: 228 h of wall clock + the hour 11-01 repeats =
    # 229 h; 1 % of it is 2.29 h = 2 h 17 min 24 s; 2 h counted leaves 17 min 24 s
    # late's term begins 11-03: dt-0 (11-01) is not charged to it, said with its name escaped
    assert ("<tr><td>late&lt;b&gt;&amp;co&lt;/b&gt;/dt-&lt;i&gt;0&lt;/i&gt;</td><td>"
            '<span class="outcome not_in_term">not_in_term</span></td>') in page
    # 10:00Z and 12:00Z on 11-01, after the clocks went back (06:00Z): 05:00 and 07:00 EST
    assert ("no SaaS subscription term of late&lt;b&gt;&amp;co&lt;/b&gt; is in force during "
            "this window (2026-11-01 05:00 EST to 2026-11-01 07:00 EST): it is not charged"
            ) in page
    assert "<title>2026-11: 100% (target 99%, not-covered)</title>" in page


def test_self_contained_and_deterministic(engine: Engine, example_html: str) -> None:
    again = render_html(engine.evaluate([EXAMPLE], as_of=AS_OF).to_dict())
    assert again == example_html
    # nothing to fetch: no URL but the SVG namespace, no script, a CSP that forbids loads
    urls = set(re.findall(r"https?://[^\s\"'<>]+", example_html))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "<script" not in example_html and "@import" not in example_html
    assert "default-src 'none'" in example_html


def test_chart_geometry_hand_computed() -> None:
    rows = [{"month": "2026-09", "availability_percent": 100, "target_percent": 99,
             "met": True},
            {"month": "2026-10", "availability_percent": 98.3199, "target_percent": 99,
             "met": False}]
    drawn = chart(rows)
    assert drawn is not None
    # axis from int(98.3199) - 1 = 97 to 100 over 160 units starting at y=16
    assert [t[1] for t in drawn.ticks] == ["97%", "98.5%", "100%"]
    september, october = drawn.bars
    assert (september.y, september.height, september.state) == (16.0, 160.0, "met")
    # 16 + (100 - 98.3199) / 3 * 160 = 16 + 89.6053 = 105.61 (2 places)
    assert (october.y, october.height, october.state) == (105.61, 70.39, "missed")
    # the target 99 %: 16 + 1/3 * 160 = 69.33
    assert october.target_y == september.target_y == 69.33
    assert chart([]) is None


def test_report_command_renders_a_saved_report_as_evaluate_does(tmp_path: Path) -> None:
    saved, from_saved, direct = tmp_path / "r.json", tmp_path / "a.html", tmp_path / "b.html"
    common = ["--policy", str(POLICY), "--facts", str(EXAMPLE), "--as-of", AS_OF]
    subprocess.run([*CLI, "evaluate", *common, "--output", str(saved)], check=True)
    subprocess.run([*CLI, "evaluate", *common, "--format", "html", "--output", str(direct)],
                   check=True)
    subprocess.run([*CLI, "report", str(saved), "--output", str(from_saved)], check=True)
    assert from_saved.read_bytes() == direct.read_bytes()
    # --customer keeps one customer's rows and findings
    only = subprocess.run([*CLI, "report", str(saved), "--customer", "globex"], check=True,
                          capture_output=True, text=True).stdout
    assert "<h2>globex</h2>" in only and "<h2>acme</h2>" not in only
    assert "customers: 1" in only


def test_saved_report_read_line_by_line_equals_json_load(tmp_path: Path,
                                                         engine: Engine) -> None:
    path = tmp_path / "r.json"
    path.write_text(engine.evaluate([EXAMPLE], as_of=AS_OF).to_json(), encoding="utf-8")
    assert load_report(path) == json.loads(path.read_text(encoding="utf-8"))
    reindented = tmp_path / "indented.json"
    reindented.write_text(json.dumps(json.loads(path.read_text()), indent=1))
    assert load_report(reindented) == load_report(path)


@pytest.mark.parametrize(("name", "text", "where"), [
    ("not-json", "{\n  \"as_of\": nope\n", "not-json.json:2:12:"),
    ("cut-short", "{\n  \"as_of\": \"x\",\n", "cut-short.json:0:0:"),
    ("other-json", "[1, 2]", "other-json.json:0:0:"),
    ("missing-sections", "{\"as_of\": \"x\"}", "other"),
])
def test_report_command_bad_input_is_one_located_line(tmp_path: Path, name: str, text: str,
                                                       where: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out.html"
    done = subprocess.run([*CLI, "report", str(path), "--output", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert "not a policyengine" in done.stderr or "not a JSON report" in done.stderr
    if where != "other":
        assert where in done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [path]


# -- every shape of period: rows keyed as the report keys them ------------------------------
FORGE = ROOT / "policies" / "examples" / "forge-quarterly"
FORGE_FACTS = FORGE / "tests" / "q4-2026.yaml"
FORGE_AS_OF = "2027-01-15T12:00:00-05:00"
TIERED = ROOT / "policies" / "examples" / "tiered-percent"
TIERED_FACTS = ROOT / "examples" / "tiered-percent-2026.yaml"


def test_row_keys_are_the_models() -> None:
    """The page keys period rows by the model's key fields; a new key field (a new shape of
    period) must be taught to period_subject, so it fails here first."""
    assert html_report.PERIOD_KEY == ("customer", "month", "period", "service")
    assert diff_key(CreditRow) == html_report.PERIOD_KEY
    assert html_report.REMEDY_KEY == diff_key(RemedyRow) == ("customer", "period", "clause")
    assert html_report.CAP_PERS == ("period", "rolling_12_months")
    assert html_report.period_subject({"customer": "a", "month": "2026-10"}) == "a/2026-10"
    assert html_report.period_subject({"customer": "a", "month": "2026-10", "period": "2026-Q4",
                                       "service": "pages"}) == "a/2026-Q4/pages"
    assert html_report.period_subject({"customer": "a/b", "month": "2026-01",
                                       "period": "2026"}) == "a/b/2026"
    assert diff_key(AvailabilityRow) == html_report.PERIOD_KEY


def _edited_policy(tmp_path: Path, period: str) -> Path:
    text = (POLICY / "1.0.0.yaml").read_text(encoding="utf-8")
    assert text.count("period: calendar_month") == 1
    target = tmp_path / "spirion" / "1.0.0.yaml"
    target.parent.mkdir()
    target.write_text(text.replace("period: calendar_month", f"period: {period}"),
                      encoding="utf-8")
    return target.parent


SHAPES = {
    "monthly": lambda tmp: (POLICY, [EXAMPLE], AS_OF),
    "quarterly": lambda tmp: (_edited_policy(tmp, "calendar_quarter"), [EXAMPLE],
                              "2027-01-15T12:00:00-05:00"),
    "yearly": lambda tmp: (_edited_policy(tmp, "calendar_year"), [EXAMPLE],
                           "2027-01-15T12:00:00-05:00"),
    "quarterly-per-service-offerings": lambda tmp: (FORGE, [FORGE_FACTS], FORGE_AS_OF),
    "tiers-caps-remedies": lambda tmp: (TIERED, [TIERED_FACTS], "2026-11-15T00:00:00Z"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_period_finding_is_on_its_row_for_every_shape(tmp_path: Path, shape: str) -> None:
    """Monthly, quarterly, yearly, per service, per offering, tiered and capped: each finding
    about a customer period sits on that period's availability, credit or remedy row (a cap's
    on its credit row), never under the downtime windows or "other"; every availability row
    has a reason."""
    policy, facts, as_of = SHAPES[shape](tmp_path)
    document = Engine.load(policy).evaluate(facts, as_of=as_of).to_dict()
    assert document["availability"], shape
    views = html_report._customers(document)
    periods = {html_report.period_subject(r) for r in document["availability"]}
    placed = 0
    for view in views:
        for row in view.availability:
            assert row.reasons, (shape, row.data)
            placed += len(row.reasons)
        for credit in view.credits:
            assert any(f["outcome"] == "credit" for f in credit.reasons), (shape, credit.data)
            if credit.data.get("capped_by"):
                assert [f["clause"] for f in credit.extra] == [credit.data["capped_by"]]
        loose = [f["subject"] for f in (*view.windows, *view.other)
                 if html_report._about_a_period(f["subject"], periods)]
        assert loose == [], (shape, loose)
    assert placed >= len(document["availability"])


def test_quarterly_per_service_page(tmp_path: Path) -> None:
    """forge-quarterly, Q4 2026 (132,540 min): bars and rows name 2026-Q4 and the service;
    git_operations 210 min counted: (132540 - 210) / 132540 = 99.8416 % against 99.9 %;
    the credit 1/40 × 48,000.00 = 1,200.00 sits on its credit row, not under windows."""
    page = render_html(Engine.load(FORGE).evaluate([FORGE_FACTS], as_of=FORGE_AS_OF).to_dict())
    acme = _section(page, "acme")
    assert ("<title>2026-Q4 git_operations: 99.8416% (target 99.9%, missed)</title>") in acme
    assert '>2026-Q4</text>' in acme and '>git_operations</text>' in acme
    assert "2026-10" not in acme.split("<h3>Downtime windows</h3>")[0].split("<h3>Availability")[1]
    credits = acme[acme.index("<h3>Credits</h3>"):]
    row = credits[credits.index("<td>2026-Q4</td><td>git_operations</td>"):]
    row = row[:row.index("</tr>")]
    assert '<td class="num">1200.00</td><td>USD</td>' in row
    assert "1/40 × 48,000.00 = 1,200.00 USD" in row
    windows = acme[acme.index("<h3>Downtime windows</h3>"):acme.index("<h3>Credits</h3>")]
    assert "acme/2026-Q4" not in windows and "acme/d-git" in windows
    assert 'class="na">no finding' not in acme


def test_ticket_states_count_updates_and_at_risk(tmp_path: Path) -> None:
    """Case 3 of tests/cases/explain/support.test.yaml at 16:00: T-C missed its response
    (due 11:00), T-F its update (due 12:30, 3 h 30 min overdue): 2 breached. At risk: T-C
    and T-F (resolution due 18:00, at risk since 16:00), T-E (response due 16:10, since
    15:55), T-H (update due 16:20, since 15:50): 4. Open, not yet due: T-D, T-E, T-G, T-H."""
    import yaml

    suite = yaml.safe_load((ROOT / "tests" / "cases" / "explain" / "support.test.yaml")
                           .read_text(encoding="utf-8"))
    case = suite["cases"][2]
    assert case["as_of"] == "2026-10-05T16:00:00-04:00"
    engine = Engine.load(ROOT / "tests" / "policies" / "support-levels.yaml")
    page = render_html(engine.evaluate(facts_from_dicts(case["facts"]),
                                       as_of=case["as_of"]).to_dict())
    summary = page[:page.index('<section class="customer"')]
    assert "tickets breached: 2" in summary
    assert "tickets at risk: 4" in summary
    assert "tickets open, not yet due: 4" in summary

    def row(ticket: str) -> str:
        start = page.index(f"<td>{ticket}</td>")
        return page[start:page.index("</tr>", start)]

    t_f = row("T-F")
    assert '<span class="bad">breached</span>' in t_f
    # response met, update missed (due 12:30), resolution open; at risk with its instant
    assert ('<td>2026-10-05 12:30 (UTC-04:00)</td><td><span class="bad">missed</span></td>'
            ) in t_f
    assert ("is at risk since 2026-10-05 16:00 EDT (2 h left at as-of)") in t_f
    t_e = row("T-E")
    assert '<span class="open">at risk, not yet due</span>' in t_e
    assert "at risk since 2026-10-05 15:55 EDT (10 min left at as-of)" in t_e
    assert '<span class="open">open, not yet due</span></td>' in row("T-D")
    # the order: breached, at risk, open
    assert page.index("<td>T-C</td>") < page.index("<td>T-E</td>") < page.index("<td>T-D</td>")


def test_provisional_months_read_as_the_summary_line_counts(engine: Engine) -> None:
    """At 2026-10-28 12:00 -04:00 October is not over for all four customer-periods (the
    summary line: 4 provisional); hooli and initech are not covered: no verdict, "not
    covered (so far)", never "so far, no verdict yet"."""
    page = render_html(engine.evaluate([EXAMPLE], as_of="2026-10-28T12:00:00-04:00").to_dict())
    summary = page[:page.index('<section class="customer"')]
    assert "periods not over at as-of (so far, provisional): 4" in summary
    hooli = _section(page, "hooli")
    assert '<span class="na">not covered (so far)</span>' in hooli
    assert "so far, no verdict yet" not in hooli
    acme = _section(page, "acme")
    assert '<span class="open">so far, no verdict yet</span>' in acme
    assert "not over the whole period's minutes shown in its row" in acme
    # the table says the same: "so far" for a covered month, n/a for one not covered
    from policyengine.report.render import render_table

    table = render_table(engine.evaluate([EXAMPLE], as_of="2026-10-28T12:00:00-04:00"))
    verdicts = {line.split()[0]: line.split()[-1] for line in table.splitlines()
                if line.split()[:2] in (["acme", "2026-10"], ["hooli", "2026-10"],
                                        ["initech", "2026-10"], ["globex", "2026-10"])}
    assert verdicts == {"acme": "far", "globex": "far", "hooli": "n/a", "initech": "n/a"}


def test_capped_credit_and_remedy_are_on_their_rows() -> None:
    """tiered-percent, October 2026: tier 3, 50 % × 120,000.00 / 12 = 5,000.00; the rolling
    12-month cap 6,000.00 less 1,000.00 + 2,500.00 granted leaves 2,500.00: 5,000.00 −
    2,500.00 = 2,500.00. Three months missed in a row: termination_right, to be used by
    2026-11-30 (30 days from 11-01)."""
    page = render_html(Engine.load(TIERED).evaluate(
        [TIERED_FACTS], as_of="2026-11-15T00:00:00Z").to_dict())
    acme = _section(page, "acme")
    credits = acme[acme.index("<h3>Credits</h3>"):]
    start = credits.index("<td>2026-10</td>")
    october = credits[start:credits.index("</tr>", start)]
    assert ('<td class="num">2500.00<br><span class="na">capped from 5000.00</span></td>'
            ) in october
    assert ('<span class="open">capped by [yearly-credit-cap]</span>: 5000.00 − 2500.00 = '
            '2500.00') in october
    assert "the credit of 5000.00 is cut to 2500.00, 2500.00 less" in october
    assert "50% × 120,000.00 / 12 = 5,000.00 USD" in october
    remedies = acme[acme.index("<h3>Remedies for chronic failure</h3>"):]
    assert ("<td>2026-10</td><td>termination_right</td><td>by the end of 2026-11-30</td>"
            ) in remedies
    assert "3 consecutive months missed the commitment (2026-08, 2026-09, 2026-10)" in remedies
    assert "remedies for chronic failure: 1" in page
    assert "<h3>Other decisions</h3>" not in acme


@pytest.mark.parametrize(("y", "target_y", "expected"), [
    (105.61, 69.33, 102.61),  # far from the mark: 3 above the bar
    (16.0, 69.33, 26.0),  # a full bar: 10 under the plot's top, clear of the mark
    (20.0, 26.0, 37.0),  # label at 26 would cross the mark at 26: above leaves the plot,
                         # so 11 below it: 26 + 11
    (60.0, 55.0, 51.0),  # label at 57 crosses the mark at 55: 4 above it
    (40.0, None, 37.0),  # no mark (not covered)
])
def test_value_label_clears_the_target_mark(y: float, target_y: float | None,
                                            expected: float) -> None:
    assert html_report._value_y(y, target_y, 16.0) == expected


def test_report_for_an_unknown_customer_is_an_error(tmp_path: Path, engine: Engine) -> None:
    saved = tmp_path / "r.json"
    saved.write_text(engine.evaluate([EXAMPLE], as_of=AS_OF).to_json(), encoding="utf-8")
    out = tmp_path / "x.html"
    done = subprocess.run([*CLI, "report", str(saved), "--customer", "nobody", "--output",
                           str(out)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == (f"{saved}:0:0: $: no customer 'nobody' in this report (it has "
                           "acme, globex, hooli, initech, umbrella)\n")
    assert not out.exists()




def _saved(tmp_path: Path, engine: Engine, edit: Any) -> Path:
    """The example report as `evaluate` writes it (one row a line), ``edit`` applied to
    its text."""
    path = tmp_path / "saved.json"
    text = engine.evaluate([EXAMPLE], as_of=AS_OF).to_json()
    assert edit(text) != text  # the fault is in the file
    path.write_text(edit(text), encoding="utf-8")
    return path


# the example report's rows: availability from line 8 (acme, globex, ...), credits from 14
ROW_FAULTS = {
    # each was rendered until jinja2 raised UndefinedError: a traceback, exit 1
    "availability-row-without-month": (
        lambda t: t.replace('"month": "2026-10", ', "", 1),
        "saved.json:8:1: $.availability[0]: not a policyengine JSON report: missing field "
        "'month'"),
    "availability-row-empty": (
        lambda t: re.sub(r'(?m)^    \{"customer": "acme", "month": "2026-10", "covered".*?\},$',
                         "    {},", t, count=1),
        "saved.json:8:1: $.availability[0]: not a policyengine JSON report: missing fields "
        "'customer', 'month', 'covered', 'minutes_in_month', 'downtime_minutes', "
        "'excluded_minutes', 'counted_downtime_minutes', 'availability_percent', "
        "'target_percent', 'met', 'provisional', 'policy_version'"),
    "customer-a-number": (
        lambda t: t.replace('{"customer": "acme", "month": "2026-10", "covered"',
                            '{"customer": 5, "month": "2026-10", "covered"', 1),
        "saved.json:8:1: $.availability[0].customer: not a policyengine JSON report: "
        "expected text, got the number 5"),
    # rendered as given (escaped): a wrong type in a numeric column
    "percent-as-text": (
        lambda t: t.replace('"availability_percent": 98.3199', '"availability_percent": '
                            '"NaN<b>"', 1),
        "saved.json:8:1: $.availability[0].availability_percent: not a policyengine JSON "
        "report: expected a number, got text 'NaN<b>'"),
    "amount-in-exponent-form": (
        lambda t: t.replace('"amount": "10000.00"', '"amount": "1e400"', 1),
        "saved.json:14:1: $.credits[0].amount: not a policyengine JSON report: expected a "
        "decimal amount like 120.00, got text '1e400'"),
    "bare-nan": (
        lambda t: t.replace('"availability_percent": 98.3199', '"availability_percent": NaN',
                            1),
        "saved.json:8:1: $.availability[0]: not a JSON report: NaN is not a number a report "
        "holds"),
}


@pytest.mark.parametrize("fault", sorted(ROW_FAULTS))
def test_a_saved_report_is_checked_against_the_report_contract(tmp_path: Path,
                                                               engine: Engine,
                                                               fault: str) -> None:
    """attack16 F12: rows are checked (docs/interface.md §2, from the report's row model)
    before anything is rendered: located lines, exit 2, nothing written."""
    edit, line = ROW_FAULTS[fault]
    _saved(tmp_path, engine, edit)
    out = tmp_path / "out.html"
    done = subprocess.run([*CLI, "report", "saved.json", "--output", "out.html"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert (done.returncode, done.stderr.splitlines()) == (2, [line])
    assert not out.exists()


def test_every_shipped_example_report_meets_the_contract(tmp_path: Path) -> None:
    """The contract check refuses no report the product writes (each policy shape:
    tiers, days of service, quarterly periods with remedies)."""
    pairs = [(POLICY, EXAMPLE),
             (ROOT / "policies/examples/tiered-percent",
              ROOT / "examples/tiered-percent-2026.yaml"),
             (ROOT / "policies/examples/days-of-service",
              ROOT / "examples/days-of-service-2026.yaml")]
    for policy, facts in pairs:
        report = Engine.load(policy).evaluate([facts], as_of="2027-01-15T00:00:00Z")
        path = tmp_path / f"{policy.name}.json"
        path.write_text(report.to_json(), encoding="utf-8")
        assert load_report(path)["as_of"]


# -- as a person sees it --------------------------------------------------------------------
needs_chromium = pytest.mark.skipif(
    browser.chromium() is None,
    reason="chromium is not installed and could not be (.ci/run installs the Debian package "
           "with apt-get)")


def _colours(png: Path) -> tuple[int, float, tuple[int, ...], set[tuple[int, ...]]]:
    """Distinct colours, the share of pixels not of the commonest colour (the background),
    the background, and the colours of more than 50 pixels."""
    from PIL import Image

    with Image.open(png) as image:
        counts = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    total = sum(n for n, _ in counts)
    most, background = max(counts)
    return len(counts), 1 - most / total, background, {c for n, c in counts if n > 50}


@needs_chromium
def test_page_in_headless_chromium_is_not_blank_and_logs_nothing(
        tmp_path: Path, example_html: str) -> None:
    page = tmp_path / "report.html"
    page.write_text(example_html, encoding="utf-8")
    shot = browser.screenshot(page, tmp_path / "report.png")
    assert shot.console == [], shot.console
    colours, ink, background, common = _colours(shot.png)
    assert colours > 200  # text, antialiasing, the chart's colours: not a blank page
    assert ink > 0.05
    assert background == (255, 255, 255)  # the white cards hold most of the page
    assert (244, 246, 249) in common  # the page's own background: the CSS applied
    assert (29, 53, 87) in common  # the header band (#1d3557)
    assert (192, 57, 43) in common  # acme's red bar: the chart was drawn (#c0392b)


@needs_chromium
def test_console_check_sees_a_blocked_load(tmp_path: Path) -> None:
    """The check above can fail: a page that tries to fetch gets a console message."""
    page = tmp_path / "fetches.html"
    page.write_text(render_html({"as_of": "x", "policy": [], "availability": [], "credits": [],
                                 "tickets": [], "obligations": [], "entitlements": [],
                                 "findings": []}).replace(
        "</body>", '<img src="http://example.invalid/x.png"></body>'), encoding="utf-8")
    shot = browser.screenshot(page, tmp_path / "fetches.png", height=400)
    assert any("Content Security Policy" in line for line in shot.console), shot.stderr


def test_docs_screenshot_is_kept_and_shown() -> None:
    from PIL import Image

    with Image.open(ROOT / "docs" / "report.png") as image:
        assert image.format == "PNG" and image.size == (1200, 1600)
    assert "(report.png)" in (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
