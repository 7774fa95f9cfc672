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
    assert "<td>2026-10-28T13:30:00-04:00</td>" in t1003
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
    assert "periods not over, no verdict yet: 1" in summary  # the late one is not covered
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
