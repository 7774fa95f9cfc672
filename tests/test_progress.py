"""Progress while facts are read and evaluated: every reading path (sequential NDJSON, YAML
and JSON documents, fact dicts, the parallel NDJSON readers) and every way of evaluating
(streamed shards, in memory) tells a progress callback how far it has come; the CLI draws it
with tqdm on a terminal only, and the report's bytes never depend on it."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policyengine.api import Engine
from policyengine.stream import factspool, sharded
from policyengine.validation.facts import PROGRESS_EVERY, load_facts

from .conftest import ROOT
from .terminal import _on_a_terminal

POLICY = ROOT / "policies" / "spirion"
EXAMPLE = ROOT / "examples" / "october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"
CLI = [sys.executable, "-m", "policyengine"]


def _subscription(customer: str) -> dict[str, Any]:
    return {"type": "subscription", "customer": customer, "plan": "production",
            "deployment": "saas", "license": "subscription", "annual_fee": "1200.00",
            "currency": "EUR", "term_start": "2026-01-01", "term_end": "2026-12-31",
            "renewed": True, "support": "active"}


DOWNTIME = {"type": "downtime", "id": "d1", "start": "2026-10-05T00:00:00Z",
            "end": "2026-10-05T12:00:00Z", "cause": "vendor", "maintenance": "none"}


def _ndjson(path: Path, customers: int, pad: int = 0) -> Path:
    """``customers`` subscriptions and one 12 h outage; each line padded with ``pad``
    spaces (JSON allows them) to make a file large enough to be read in parallel."""
    facts = [*(_subscription(f"c{i}") for i in range(customers)), DOWNTIME]
    path.write_text("".join(json.dumps(f) + " " * pad + "\n" for f in facts), encoding="utf-8")
    return path


class Recorder:
    """A progress callback that keeps every call: (stage, done, total)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int | None]] = []

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        self.calls.append((stage, done, total))

    def of(self, stage: str) -> list[tuple[int, int | None]]:
        return [(done, total) for each, done, total in self.calls if each == stage]


def _monotonic(values: list[int]) -> bool:
    return all(a <= b for a, b in zip(values, values[1:], strict=False))


# -- the readers -------------------------------------------------------------------------------
def test_sequential_ndjson_reports_bytes_and_facts(tmp_path: Path) -> None:
    path = _ndjson(tmp_path / "f.ndjson", 1000)
    size = path.stat().st_size
    progress = Recorder()
    facts = load_facts([path], progress=progress)
    assert facts.count() == 1001
    read = progress.of("bytes")
    # drawn at 0 before the first line, then every 256 lines (1001 lines: 3 times), the end
    # of the file (twice: the reader's own end, then the file closed), all of `size`
    assert read[0] == (0, size) and read[-1] == (size, size)
    assert len(read) == 1 + 1001 // 256 + 2 and _monotonic([d for d, _ in read])
    counts = [done for done, _ in progress.of("facts")]
    # every 256 facts (3), the end of the file, the end of all sources
    assert counts == [256, 512, 768, 1001, 1001]


def test_yaml_document_reports_bytes_in_proportion_to_the_facts_checked(
        tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    facts = [_subscription(f"c{i}") for i in range(600)]
    path.write_text(json.dumps({"apiVersion": "policyengine/v1", "kind": "FactSet",
                                "facts": facts}, indent=1), encoding="utf-8")
    size = path.stat().st_size
    progress = Recorder()
    assert load_facts([path], progress=progress).count() == 600
    read = progress.of("bytes")
    # 0 before the parse (the bar is there while a long document is parsed); at fact 256
    # and 512 of 600: size * 256 // 600 and size * 512 // 600; the end of the file
    assert read == [(0, size), (size * 256 // 600, size), (size * 512 // 600, size),
                    (size, size)]


def test_two_files_add_up_and_fact_dicts_count_facts_only(tmp_path: Path) -> None:
    first = _ndjson(tmp_path / "a.ndjson", 10)
    progress = Recorder()
    load_facts([first, EXAMPLE], progress=progress)
    total = first.stat().st_size + EXAMPLE.stat().st_size
    assert progress.of("bytes")[-1] == (total, total)
    assert progress.of("bytes")[0] == (0, total)
    dicts = Recorder()
    load_facts([_subscription(f"c{i}") for i in range(PROGRESS_EVERY)], progress=dicts)
    assert dicts.of("bytes") == [] and dicts.of("facts") == [(PROGRESS_EVERY, None)] * 2


def test_parallel_ndjson_readers_report_in_this_process_while_they_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factspool, "PARALLEL_READ_BYTES", 0)

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read sequentially: the parallel readers were not used")

    monkeypatch.setattr(sharded, "read_sequential", never)
    path = _ndjson(tmp_path / "f.ndjson", 3000)
    size = path.stat().st_size
    progress = Recorder()
    out = io.StringIO()
    engine = Engine.load(POLICY, backend="python")
    summary = engine.write_json([path], out, as_of=AS_OF, workers=2, shards=4,
                                progress=progress)
    assert summary.facts == 3001
    stages = [stage for stage, _, _ in progress.calls]
    # reading is told first (from 0 of the whole size), then the shards
    assert progress.calls[0] == ("bytes", 0, size)
    assert stages.index("shards") > max(i for i, s in enumerate(stages) if s == "bytes")
    read = [done for done, _ in progress.of("bytes")]
    assert _monotonic(read) and read[-1] == size
    assert all(total == size for _, total in progress.of("bytes"))
    assert progress.of("facts")[-1] == (3001, 3001)
    assert progress.of("shards")[-1] == (4, 4)
    # the same bytes as without a progress callback
    plain = io.StringIO()
    engine.write_json([path], plain, as_of=AS_OF, workers=2, shards=4)
    assert plain.getvalue() == out.getvalue()


def test_in_memory_evaluation_reports_reading_and_its_four_stages() -> None:
    progress = Recorder()
    engine = Engine.load(POLICY, backend="python")
    evaluation = engine.evaluate([EXAMPLE], as_of=AS_OF, progress=progress)
    size = EXAMPLE.stat().st_size
    assert progress.of("bytes")[0] == (0, size) and progress.of("bytes")[-1] == (size, size)
    # availability and credits, tickets, obligations, entitlements: 0 of 4 before, then each
    assert progress.of("stages") == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert evaluation.to_json() == engine.evaluate([EXAMPLE], as_of=AS_OF).to_json()


# -- on a terminal -----------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "extra", "bar"), [
    ("table", [], "stages evaluated"),
    ("markdown", [], "stages evaluated"),
    ("html", [], "stages evaluated"),
    ("json", ["--explain"], "stages evaluated"),
])
def test_in_memory_formats_show_progress_on_a_terminal_only(
        fmt: str, extra: list[str], bar: str) -> None:
    args = [*CLI, "evaluate", "--policy", str(POLICY), "--facts", str(EXAMPLE), "--as-of",
            AS_OF, "--format", fmt, *extra]
    plain = subprocess.run(args, capture_output=True, check=True)
    stdout, text = _on_a_terminal(args)
    assert stdout == plain.stdout  # the report's bytes do not depend on a terminal
    assert "facts read" in text and bar in text
    assert "0/4" in text  # the four stages, drawn as they begin (then at most 5 a second)
    assert "evaluated: 5 customers" in text
    # off a terminal: no bar, the summary line alone
    assert plain.stderr.decode().startswith("evaluated: 5 customers")
    assert b"\r" not in plain.stderr and b"facts read" not in plain.stderr


def test_parallel_read_on_a_terminal_draws_the_bar_while_reading(tmp_path: Path) -> None:
    # 12,000 lines padded to ~400 bytes: over 4 MB, so two readers share the file
    path = _ndjson(tmp_path / "many.ndjson", 12000, pad=140)
    assert path.stat().st_size > factspool.PARALLEL_READ_BYTES
    args = [*CLI, "evaluate", "--policy", str(POLICY), "--facts", str(path), "--as-of",
            AS_OF, "--workers", "2"]
    plain = subprocess.run(args, capture_output=True, check=True)
    stdout, text = _on_a_terminal(args)
    assert stdout == plain.stdout
    # the reading bar is drawn first, in bytes with the facts beside it, then the shards
    assert text.index("facts read") < text.index("shards evaluated")
    reading = text[:text.index("shards evaluated")]
    # drawn as reading starts, with the input's whole size (the parallel readers' bytes);
    # redrawn at most five times a second as they read (how often depends on the machine:
    # test_parallel_ndjson_readers_report_in_this_process_while_they_read counts the calls)
    size = f"{path.stat().st_size / 2**20:.2f}M"
    assert re.search(rf"facts read: +0%\|[ ]+\| 0\.00/{size} ", reading), reading
    # 12,000 customers, each 2026-10 missed (12 h of 744 h): 100.00 EUR each, not requested
    assert ("evaluated: 12000 customers, 12000 customer-periods (12000 missed), 12000 "
            "breaches") in text
    assert b"facts read" not in plain.stderr and b"\r" not in plain.stderr
