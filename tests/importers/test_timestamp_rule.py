"""One timestamp rule for every importer (docs/hardening.md, "One timestamp rule";
attack16b G9): the ISO basic format and offsets without a colon, which the facts refuse,
are refused by every vendor's importer with a located line, unless the mapping's
``formats`` reads them (Jira documents ``±HHMM`` offsets: its importer reads those)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import FIXTURES, read_facts, run_import

# (source, the fixture files, the file whose first timestamp the importer reads is replaced,
# the mapping); statuspage's first is the page's updated_at, which no fact reads: its first
# incident's started_at
VENDORS = {
    "csv": ("generic", ["helpdesk.csv"], "helpdesk.csv", "helpdesk.mapping.yaml"),
    "zendesk": ("zendesk", ["tickets.json", "audits.json", "ticket_metric_events.json"],
                "tickets.json", "mapping.yaml"),
    "jira": ("jira", ["search.json"], "search.json", "mapping.yaml"),
    "servicenow": ("servicenow", ["incidents.json", "sys_audit.json", "task_sla.json"],
                   "incidents.json", "mapping.yaml"),
    "statuspage": ("statuspage", ["incidents.json"], "incidents.json", "mapping.yaml"),
    "pagerduty": ("pagerduty", ["incidents.json", "log_entries.json"], "incidents.json",
                  "mapping.yaml"),
}
_STARTED = re.compile(r'(?<="started_at": ")[^"]+')
_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]{4,5})?")


def _import(tmp_path: Path, source: str, value: str, mapping_extra: str = ""):
    folder, files, edited, mapping = VENDORS[source]
    paths = []
    for name in files:
        text = (FIXTURES / folder / name).read_text("utf-8")
        if name == edited:
            found = (_STARTED.search(text) if source == "statuspage"
                     else _STAMP.search(text))
            assert found is not None
            text = text[:found.start()] + value + text[found.end():]
        (tmp_path / name).write_text(text, "utf-8")
        paths.append(tmp_path / name)
    map_path = tmp_path / "map.yaml"
    map_path.write_text((FIXTURES / folder / mapping).read_text("utf-8") + mapping_extra,
                        "utf-8")
    out = tmp_path / "out.ndjson"
    return run_import(source, paths, map_path, out), out, tmp_path / edited


def _first_error(result, edited: Path) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(edited))]
    return lines[0].replace(f"{edited}:", "") if lines else result.stderr


@pytest.mark.parametrize("source", sorted(VENDORS))
@pytest.mark.parametrize(("value", "named"), [
    pytest.param("20261014T130000Z", "'20261014T130000Z' is in the ISO basic format (no '-' "
                 "or ':'); the one form is like 2026-10-14T13:00:00Z", id="basic"),
    pytest.param("20261014T1300Z", "'20261014T1300Z' is in the ISO basic format (no '-' or "
                 "':'); the one form is like 2026-10-14T13:00:00Z", id="basic-minutes"),
    pytest.param("2026-10-14T13:00:00+0000", "'2026-10-14T13:00:00+0000' has an offset "
                 "without a colon; the one form is like 2026-10-14T13:00:00+00:00",
                 id="offset-without-colon"),
])
def test_a_form_the_facts_refuse_is_refused_by_every_importer(
        tmp_path: Path, source: str, value: str, named: str) -> None:
    result, out, edited = _import(tmp_path, source, value)
    if source == "jira" and value.endswith("+0000"):  # the vendor's documented form
        assert result.exit_code == 0, result.stderr
        return
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr and not out.exists()
    assert _first_error(result, edited) == EXPECTED[source] % named


_THEN = "; write that, or declare the source's format under 'formats' in the mapping"
EXPECTED: dict[str, str] = {
    "csv": "2:57: $.opened_at: fact 'F-1': opened_at: %s" + _THEN,
    "jira": "7:5: $.opened_at: fact 'SUP-1': opened_at: %s" + _THEN,
    "pagerduty": "3:5: $.start: fact 'PQ1A2B3': start: %s" + _THEN,
    "servicenow": "3:5: $.opened_at: fact 'INC0010001': opened_at: %s" + _THEN,
    "statuspage": "5:5: $.start: fact 'p31zjtct2jer': start: %s" + _THEN,
    "zendesk": "3:5: $.opened_at: fact '1001': opened_at: %s" + _THEN,
}


def test_a_declared_format_reads_the_basic_form(tmp_path: Path) -> None:
    """``formats: ['YYYYMMDD[T]HHmmss[Z]']`` with ``timezone: UTC`` reads 20261014T130000Z
    as 13:00 UTC (the mapping declares it: the rule's one exception)."""
    result, out, _ = _import(tmp_path, "zendesk", "20261014T130000Z",
                             "timezone: UTC\nformats: ['YYYYMMDD[T]HHmmss[Z]']\n")
    assert result.exit_code == 0, result.stderr
    assert read_facts(out)[0]["opened_at"] == "2026-10-14T13:00:00+00:00"
