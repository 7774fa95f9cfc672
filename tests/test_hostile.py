"""Hostile input through the real CLI: every case exits 2 with a located message, never a
traceback, in bounded time (see docs/hardening.md for the table of decisions).

Three groups:

- the corpus in ``tests/hostile/`` (one small file per case, named for it), each run as
  ``validate FILE``, ``evaluate --policy FILE`` and ``evaluate --facts FILE`` in a
  subprocess with a timeout (run concurrently, so the whole group stays quick);
- bad facts: one mutation of a small valid fact set per case, run in-process;
- output safety: ``--output`` is written atomically and never left half-written.

Bugs found here were fixed; each case keeps the expectation that found it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from policyengine.cli.main import main
from policyengine.load.loader import LIMITS

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = Path("tests") / "hostile"  # relative to ROOT: messages name files as given
POLICY = "policies/spirion"
POLICY_FILE = "policies/spirion/1.0.0.yaml"
FACTS = "examples/october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"
TIMEOUT = 20  # seconds per subprocess
MEMORY = 2 * 1024**3  # address-space cap per subprocess, so a runaway case cannot swap
SMALL_MEMORY = 384 * 1024**2  # enough for the python back-end; a runaway loop dies in seconds

LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): ", re.M)


# --------------------------------------------------------------------------- running


def _memory_cap(limit: int) -> Callable[[], None] | None:
    if os.name != "posix":
        return None

    def cap() -> None:  # pragma: no cover - runs in the child
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return cap


def run_cli(
    args: list[str], timeout: float = TIMEOUT, memory: int = MEMORY
) -> subprocess.CompletedProcess[str]:
    """``python -m policyengine ARGS`` from the repository root; a hang is a failure."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "policyengine", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_memory_cap(memory),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"policyengine {' '.join(args)} did not finish within {timeout} s")


def invoke(args: list[str]) -> Any:
    """In-process run through click's CliRunner (exceptions are caught and inspected)."""
    return CliRunner().invoke(main, args, catch_exceptions=True)


def assert_rejected(
    code: int,
    stdout: str,
    stderr: str,
    file: str,
    where: str | None = None,
    fragment: str | None = None,
) -> None:
    """Exit 2, no traceback, and a ``FILE:LINE:COL:`` line naming ``file``.

    ``where`` (``"LINE:COL"``, or ``"LINE:"`` for a line only) and ``fragment`` (a piece of
    the message on that same line) are checked when given.
    """
    both = stdout + stderr
    assert "Traceback" not in both, both
    assert code == 2, f"exit {code}, expected 2\n{both}"
    located = [m for m in LOCATED.finditer(stderr) if m.group("file") == file]
    assert located, f"no FILE:LINE:COL message naming {file!r}:\n{stderr}"
    if where is not None:
        lines = [line for line in stderr.splitlines() if line.startswith(f"{file}:{where}")]
        assert lines, f"no message at {file}:{where}:\n{stderr}"
        if fragment is not None:
            assert any(fragment in line for line in lines), f"{fragment!r} not in:\n{stderr}"
    elif fragment is not None:
        assert fragment in stderr, f"{fragment!r} not in:\n{stderr}"


# ---------------------------------------------------------------- the hostile corpus

# name -> (LINE:COL, message fragment); the same for every command that reads the file.
CORPUS: dict[str, tuple[str, str]] = {
    "alias-bomb.yaml": ("7:36", "aliases expand to too many nodes"),
    "deep-nesting.yaml": ("3:71", "nesting is deeper than 64 levels"),
    "deep-nesting.json": ("1:126", "nesting is deeper than 64 levels"),
    "nan.yaml": ("4:54", "NaN/Infinity not allowed"),
    "nan.json": ("2:71", "NaN/Infinity not allowed"),
    "infinity.yaml": ("4:54", "NaN/Infinity not allowed"),
    "infinity.json": ("2:71", "NaN/Infinity not allowed"),
    "huge-integer.yaml": ("4:54", "number too large"),
    "huge-integer.json": ("2:71", "number too large"),
    "huge-exponent.yaml": ("4:54", "number out of range"),
    "non-string-key.yaml": ("5:5", "mapping keys must be strings"),
    "complex-key.yaml": ("5:7", "mapping keys must be strings"),
    "binary-junk.yaml": ("1:1", "invalid UTF-8 byte 0x89"),
    "nul-byte.yaml": ("2:11", "NUL character is not allowed"),
    "utf8-bom.yaml": ("1:1", "byte-order mark"),
    "utf16.yaml": ("1:1", "byte-order mark"),
    "utf16-no-bom.yaml": ("1:2", "NUL character is not allowed"),
    "empty.yaml": ("1:1", "empty document"),
    "comments-only.yaml": ("1:1", "empty document"),
    "two-documents.yaml": ("4:1", "found a second one"),
    "duplicate-keys.yaml": ("3:1", "duplicate key 'kind' (first at line 2)"),
    "duplicate-keys.json": ("4:2", "duplicate key 'facts' (first at line 3)"),
    "syntax-error.yaml": ("5:5", "did not find expected ',' or '}'"),
    "tabs.yaml": ("4:1", "cannot start any token"),
}

# NDJSON fact files with a bad third line: (LINE:COL, fragment) for `evaluate --facts`.
NDJSON: dict[str, tuple[str, str]] = {
    "bad-line-3-syntax.ndjson": ("3:44", "expected a JSON value"),
    "bad-line-3-naive-timestamp.ndjson": ("3:1", "has no offset"),
    "bad-line-3-not-an-object.ndjson": ("3:1", "each line must hold a JSON object"),
    "bad-line-3-nan.ndjson": ("3:57", "NaN/Infinity not allowed"),
}

MODES: dict[str, Callable[[str], list[str]]] = {
    "validate": lambda f: ["validate", f],
    "evaluate-policy": lambda f: ["evaluate", "--policy", f, "--facts", FACTS, "--as-of", AS_OF],
    "evaluate-facts": lambda f: ["evaluate", "--policy", POLICY, "--facts", f, "--as-of", AS_OF],
}


def _corpus_runs() -> list[tuple[str, str]]:
    runs = [(name, mode) for name in CORPUS for mode in MODES]
    runs += [(name, mode) for name in NDJSON for mode in MODES]
    return runs


def test_corpus_is_complete() -> None:
    """Every file in tests/hostile/ has an expectation, and every expectation a file."""
    on_disk = {p.name for p in (ROOT / HOSTILE).iterdir() if p.is_file()}
    assert on_disk == set(CORPUS) | set(NDJSON)


@pytest.fixture(scope="module")
def corpus_results() -> dict[tuple[str, str], subprocess.CompletedProcess[str]]:
    """Run every (file, command) pair once, two at a time (the machine has two cores)."""

    def one(run: tuple[str, str]) -> subprocess.CompletedProcess[str]:
        name, mode = run
        return run_cli(MODES[mode](str(HOSTILE / name)))

    runs = _corpus_runs()
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(runs, pool.map(one, runs), strict=True))


def _corpus_params() -> list[Any]:
    params = []
    for name, mode in _corpus_runs():
        params.append(pytest.param(name, mode, id=f"{name}-{mode}"))
    return params


@pytest.mark.parametrize(("name", "mode"), _corpus_params())
def test_hostile_file(
    name: str,
    mode: str,
    corpus_results: dict[tuple[str, str], subprocess.CompletedProcess[str]],
) -> None:
    done = corpus_results[(name, mode)]
    file = str(HOSTILE / name)
    if name in CORPUS:
        where, fragment = CORPUS[name]
        assert_rejected(done.returncode, done.stdout, done.stderr, file, where, fragment)
    elif mode == "evaluate-policy":
        # an NDJSON fact file is no policy: any located refusal will do
        assert_rejected(done.returncode, done.stdout, done.stderr, file)
    else:
        where, fragment = NDJSON[name]
        if mode == "validate":  # validate reports every problem; at least the one on line 3
            where = where.split(":")[0] + ":"
        assert_rejected(done.returncode, done.stdout, done.stderr, file, where, fragment)


# ------------------------------------------------------------ generated and special files


def _huge_yaml(path: Path) -> None:
    """A syntactically fine fact file just over the size limit (written in chunks)."""
    line = b"  - {type: change, id: c-%08d, kind: significant, deployed_at: 2026-10-01T00:00:00Z}\n"
    with open(path, "wb") as handle:
        handle.write(b"apiVersion: policyengine/v1\nkind: FactSet\nfacts:\n")
        written, index = 0, 0
        while written <= LIMITS.max_bytes:
            chunk = b"".join(line % i for i in range(index, index + 10_000))
            handle.write(chunk)
            written += len(chunk)
            index += 10_000


@pytest.mark.parametrize("mode", list(MODES))
def test_huge_document(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "huge.yaml"
    _huge_yaml(path)
    done = run_cli(MODES[mode](str(path)))
    # size is checked before parsing: reported at 0:0 (the whole file)
    assert_rejected(done.returncode, done.stdout, done.stderr, str(path), "0:0", "larger than")


def test_huge_ndjson_line(tmp_path: Path) -> None:
    path = tmp_path / "huge-line.ndjson"
    good = json.dumps({"type": "change", "id": "c-1", "kind": "significant",
                       "deployed_at": "2026-10-01T00:00:00Z"})
    filler = "x" * (LIMITS.max_line_bytes + 10)
    path.write_text(f'{good}\n{{"type": "change", "id": "{filler}"}}\n', encoding="utf-8")
    done = run_cli(MODES["evaluate-facts"](str(path)))
    assert_rejected(done.returncode, done.stdout, done.stderr, str(path), "2:1", "longer than")


def test_fact_file_given_as_policy() -> None:
    done = run_cli(["evaluate", "--policy", FACTS, "--facts", FACTS, "--as-of", AS_OF])
    assert_rejected(done.returncode, done.stdout, done.stderr, FACTS, "1:1", "give it to --facts")


def test_policy_given_as_facts() -> None:
    done = run_cli(["evaluate", "--policy", POLICY, "--facts", POLICY_FILE, "--as-of", AS_OF])
    assert_rejected(done.returncode, done.stdout, done.stderr, POLICY_FILE, "1:1",
                    "give it to --policy")


@pytest.mark.parametrize("mode", list(MODES))
def test_directory_that_does_not_exist(tmp_path: Path, mode: str) -> None:
    missing = str(tmp_path / "no-such-directory")
    target = missing if mode != "evaluate-facts" else f"{missing}/facts.yaml"
    done = run_cli(MODES[mode](target))
    # a file that cannot be read at all is reported at 0:0 with the operating system's reason
    assert_rejected(done.returncode, done.stdout, done.stderr, target, "0:0")
    assert "o such file or directory" in done.stderr


def test_fact_directory_given_as_facts() -> None:
    done = run_cli(["evaluate", "--policy", POLICY, "--facts", "examples", "--as-of", AS_OF])
    assert_rejected(done.returncode, done.stdout, done.stderr, "examples", "0:0",
                    "Is a directory")


def test_validate_refuses_a_named_fact_file_without_envelope(tmp_path: Path) -> None:
    path = tmp_path / "facts.yaml"
    write_facts(path, base_facts())
    path.write_text(path.read_text(encoding="utf-8").split("\n", 2)[2], encoding="utf-8")
    assert invoke(["evaluate", "--policy", POLICY, "--facts", str(path)]).exit_code == 2
    done = invoke(["validate", str(path)])
    assert_rejected(done.exit_code, done.stdout, done.stderr, str(path), "1:1", "apiVersion")


@pytest.mark.parametrize(("option", "value"), [
    ("--as-of", "2026-10-01T00:00:00"),
    ("--as-of", "yesterday"),
    ("--as-of", ""),
    ("--as-of", "2026-02-30T00:00:00Z"),
    ("--months", "2026-13"),
    ("--months", "2026-1"),
    ("--months", "october"),
    ("--months", "2026-12..2026-01"),
], ids=lambda v: v or "empty")
def test_bad_option_values(option: str, value: str) -> None:
    args = ["evaluate", "--policy", POLICY, "--facts", FACTS, "--engine", "python"]
    if option != "--as-of":
        args += ["--as-of", AS_OF]
    done = invoke([*args, option, value])
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.exit_code == 2, done.stderr
    assert done.stderr.startswith(f"{option}:0:0: "), done.stderr


def test_validate_accepts_a_valid_ndjson_fact_file(tmp_path: Path) -> None:
    path = tmp_path / "facts.ndjson"
    lines = [json.dumps(f) for f in base_facts()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = invoke(["validate", str(path)])
    assert done.exit_code == 0, done.stderr


# ------------------------------------------------------------------------- bad facts


def base_facts() -> list[dict[str, Any]]:
    """One valid fact of every type; index order is the file order."""
    return [
        {"type": "subscription", "customer": "acme", "plan": "production", "deployment": "saas",
         "license": "subscription", "annual_fee": "120000.00", "currency": "USD",
         "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
         "support": "active"},
        {"type": "downtime", "id": "d-1", "start": "2026-10-05T10:00:00-04:00",
         "end": "2026-10-05T11:00:00-04:00", "cause": "vendor", "maintenance": "scheduled"},
        {"type": "notice", "id": "n-1", "kind": "scheduled_downtime", "about": "d-1",
         "sent_at": "2026-10-01T10:00:00-04:00", "channel": "email"},
        {"type": "change", "id": "c-1", "kind": "significant",
         "deployed_at": "2026-10-20T10:00:00-04:00"},
        {"type": "ticket", "id": "t-1", "customer": "acme",
         "opened_at": "2026-10-06T10:00:00-04:00", "severity": 2},
        {"type": "credit_request", "customer": "acme", "month": "2026-10",
         "requested_at": "2026-11-02T10:00:00-05:00"},
        {"type": "update_request", "id": "u-1", "customer": "acme",
         "requested_at": "2026-10-07T10:00:00-04:00"},
    ]


INDEX = {fact["type"]: i for i, fact in enumerate(base_facts())}
FIRST_LINE = 4  # facts[i] is written on line FIRST_LINE + i (one flow mapping per line)

# Required fields per fact type, from docs/interface.md §1 (bold fields).
REQUIRED: dict[str, tuple[str, ...]] = {
    "subscription": ("customer", "plan", "deployment", "license", "annual_fee", "currency",
                     "term_start", "term_end", "renewed", "support"),
    "downtime": ("id", "start", "cause", "maintenance"),  # no end: still ongoing
    "notice": ("id", "kind", "about", "sent_at", "channel"),
    "change": ("id", "kind", "deployed_at"),
    "ticket": ("id", "customer", "opened_at"),
    "credit_request": ("customer", "month", "requested_at"),
    "update_request": ("id", "customer", "requested_at"),
}


def write_facts(path: Path, facts: list[Any]) -> None:
    """YAML, one fact per line as a flow mapping (JSON is valid YAML flow syntax)."""
    lines = ["apiVersion: policyengine/v1", "kind: FactSet", "facts:"]
    lines += [f"  - {json.dumps(fact)}" for fact in facts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _set(fact_type: str, /, **changes: Any) -> Callable[[list[Any]], None]:
    """A mutation: set (or, with ``...``, delete) fields of the fact of ``fact_type``."""

    def apply(facts: list[Any]) -> None:
        fact = facts[INDEX[fact_type]]
        for key, value in changes.items():
            if value is ...:
                fact.pop(key, None)
            else:
                fact[key] = value

    return apply


def _append(*extra: Any) -> Callable[[list[Any]], None]:
    def apply(facts: list[Any]) -> None:
        facts.extend(copy.deepcopy(list(extra)))

    return apply


def _append_copy(fact_type: str, /, **changes: Any) -> Callable[[list[Any]], None]:
    def apply(facts: list[Any]) -> None:
        facts.append({**copy.deepcopy(facts[INDEX[fact_type]]), **changes})

    return apply


class Case:
    """A bad-facts case: a mutation and what must come of it."""

    def __init__(self, mutate: Callable[[list[Any]], None], outcome: str, *, fact: int,
                 field: str = "", fragment: str = "", subject: str = "") -> None:
        self.mutate = mutate
        self.outcome = outcome  # "error" (exit 2), "warning" (exit 0, stderr) or "ok"
        self.fact = fact  # index of the fact the message must point at
        self.field = field  # named in the message's JSON path or text
        self.fragment = fragment
        self.subject = subject  # the fact id named in the message


def _missing_cases() -> dict[str, Case]:
    cases = {}
    for kind, fields in REQUIRED.items():
        for name in fields:
            rest = {k: v for k, v in base_facts()[INDEX[kind]].items() if k != name}
            subject = rest.get("id") or rest.get("customer") or ""  # what is left to name it
            cases[f"missing-{kind}-{name}"] = Case(
                _set(kind, **{name: ...}), "error", fact=INDEX[kind], field=name,
                fragment=f"missing required field '{name}'", subject=subject)
    return cases


CASES: dict[str, Case] = {
    **_missing_cases(),
    # -- wrong types and values
    "fee-is-a-list": Case(_set("subscription", annual_fee=[1]), "error", fact=0,
                          field="annual_fee", fragment="got a list", subject="acme"),
    "fee-with-separators": Case(_set("subscription", annual_fee="120,000.00"), "error",
                                fact=0, field="annual_fee", fragment="expected an amount"),
    "fee-negative": Case(_set("subscription", annual_fee="-5"), "error", fact=0,
                         field="annual_fee"),
    "fee-is-a-bool": Case(_set("subscription", annual_fee=True), "error", fact=0,
                          field="annual_fee"),
    "renewed-is-text": Case(_set("subscription", renewed="yes"), "error", fact=0,
                            field="renewed", fragment="expected true or false"),
    "plan-unknown": Case(_set("subscription", plan="gold"), "error", fact=0, field="plan",
                         fragment="unknown plan 'gold'"),
    "currency-lowercase": Case(_set("subscription", currency="usd"), "error", fact=0,
                               field="currency"),
    "term-start-not-a-date": Case(_set("subscription", term_start="2026-02-30"), "error",
                                  fact=0, field="term_start",
                                  fragment="not a real calendar date"),
    "term-end-before-start": Case(_set("subscription", term_end="2025-12-31"), "error",
                                  fact=0, field="term_end",
                                  fragment="term_end is before term_start"),
    "downtime-id-is-a-number": Case(_set("downtime", id=17), "error", fact=1, field="id",
                                    fragment="expected text"),
    "downtime-start-is-epoch": Case(_set("downtime", start=1790000000), "error", fact=1,
                                    field="start", subject="d-1"),
    "downtime-customers-is-text": Case(_set("downtime", customers="acme"), "error", fact=1,
                                       field="customers", fragment="expected a list"),
    "downtime-cause-unknown": Case(_set("downtime", cause="aliens"), "error", fact=1,
                                   field="cause", subject="d-1"),
    "notice-channel-unknown": Case(_set("notice", channel="fax"), "error", fact=2,
                                   field="channel", subject="n-1"),
    "change-kind-unknown": Case(_set("change", kind="minor"), "error", fact=3, field="kind",
                                subject="c-1"),
    "ticket-severity-is-text": Case(_set("ticket", severity="1"), "error", fact=4,
                                    field="severity", subject="t-1"),
    "ticket-severity-out-of-range": Case(_set("ticket", severity=4), "error", fact=4,
                                         field="severity", subject="t-1"),
    "ticket-severity-is-a-bool": Case(_set("ticket", severity=True), "error", fact=4,
                                      field="severity", subject="t-1"),
    "ticket-impact-is-a-list": Case(_set("ticket", impact=["loss_of_service"]), "error",
                                    fact=4, field="impact", subject="t-1"),
    "ticket-impact-flag-is-text": Case(_set("ticket", impact={"loss_of_service": "yes"}),
                                       "error", fact=4, field="loss_of_service",
                                       subject="t-1"),
    "credit-month-is-a-number": Case(_set("credit_request", month=202610), "error", fact=5,
                                     field="month"),
    "update-requested-at-is-a-bool": Case(_set("update_request", requested_at=True), "error",
                                          fact=6, field="requested_at", subject="u-1"),
    "fact-is-a-string": Case(_append("hello"), "error", fact=7,
                             fragment="expected a set of named fields"),
    "fact-is-null": Case(_append(None), "error", fact=7,
                         fragment="expected a set of named fields"),
    "fact-without-type": Case(_append({"id": "x-1"}), "error", fact=7, field="type",
                              fragment="missing required field 'type'"),
    "fact-type-unknown": Case(_append({"type": "outage", "id": "x-1"}), "error", fact=7,
                              field="type", fragment="unknown fact type 'outage'"),
    "unknown-field-is-kept": Case(_set("downtime", ticket_ref="INC-1"), "ok", fact=1),
    # -- timestamps
    "naive-timestamp": Case(_set("downtime", start="2026-10-05T10:00:00"), "error", fact=1,
                            field="start", fragment="has no offset", subject="d-1"),
    "naive-timestamp-with-space": Case(_set("ticket", opened_at="2026-10-06 10:00:00"),
                                       "error", fact=4, field="opened_at",
                                       fragment="has no offset", subject="t-1"),
    "date-instead-of-timestamp": Case(_set("change", deployed_at="2026-10-20"), "error",
                                      fact=3, field="deployed_at", subject="c-1"),
    "impossible-date-feb-30": Case(_set("downtime", start="2026-02-30T10:00:00Z"), "error",
                                   fact=1, field="start", fragment="not a real date and time"),
    "impossible-hour-25": Case(_set("notice", sent_at="2026-10-01T25:00:00Z"), "error",
                               fact=2, field="sent_at", fragment="not a real date and time"),
    "leap-second": Case(_set("downtime", end="2026-12-31T23:59:60Z"), "error", fact=1,
                        field="end"),
    "lowercase-z": Case(_set("change", deployed_at="2026-10-20T14:00:00z"), "error", fact=3,
                        field="deployed_at", fragment="with an offset or Z", subject="c-1"),
    "impossible-offset": Case(_set("downtime", start="2026-10-05T10:00:00+25:00"), "error",
                              fact=1, field="start"),
    # 02:30 on 2026-03-08 does not exist in New York; without an offset it is refused as
    # naive, with an offset it is an unambiguous instant (07:30Z) and accepted.
    "nonexistent-wall-time-naive": Case(
        _set("downtime", start="2026-03-08T02:30:00", end="2026-03-08T04:00:00-04:00"),
        "error", fact=1, field="start", fragment="has no offset", subject="d-1"),
    "nonexistent-wall-time-with-offset": Case(
        _set("downtime", start="2026-03-08T02:30:00-05:00", end="2026-03-08T04:00:00-04:00"),
        "ok", fact=1),
    "ambiguous-wall-time-with-offset": Case(
        _set("downtime", start="2026-11-01T01:30:00-04:00", end="2026-11-01T01:30:00-05:00"),
        "ok", fact=1),
    "end-before-start": Case(_set("downtime", end="2026-10-05T09:59:00-04:00"), "error",
                             fact=1, field="end", fragment="end is before start",
                             subject="d-1"),
    "zero-length-window": Case(_set("downtime", end="2026-10-05T10:00:00-04:00"), "warning",
                               fact=1, field="end", fragment="zero-length", subject="d-1"),
    "response-before-opened": Case(_set("ticket",
                                        first_response_at="2026-10-06T09:00:00-04:00"),
                                   "error", fact=4, field="first_response_at",
                                   fragment="before opened_at", subject="t-1"),
    # -- duplicates and references
    "duplicate-downtime-id": Case(_append_copy("downtime"), "error", fact=7,
                                  fragment="duplicate downtime id 'd-1'", subject="d-1"),
    "duplicate-ticket-id": Case(_append_copy("ticket"), "error", fact=7,
                                fragment="duplicate ticket id 't-1'", subject="t-1"),
    # the same term twice is an overlap (renewals are separate facts whose terms do not
    # overlap); located at the later one, naming the earlier
    "duplicate-subscription": Case(_append_copy("subscription"), "error", fact=7,
                                   field="term_start",
                                   fragment="overlaps the term 2026-01-01..2026-12-31",
                                   subject="acme"),
    "same-id-in-two-types": Case(_append_copy("change", id="d-1"), "ok", fact=7),
    "notice-about-unknown-fact": Case(_set("notice", about="d-404"), "error", fact=2,
                                      field="about", fragment="'d-404'", subject="n-1"),
    "notice-for-unknown-customer": Case(_set("notice", customer="nobody"), "error", fact=2,
                                        field="customer", fragment="'nobody'", subject="n-1"),
    "downtime-for-unknown-customer": Case(_set("downtime", customers=["nobody"]), "error",
                                          fact=1, field="customers", fragment="'nobody'",
                                          subject="d-1"),
    "ticket-for-unknown-customer": Case(_set("ticket", customer="nobody"), "error", fact=4,
                                        field="customer", fragment="'nobody'", subject="t-1"),
    "credit-for-unknown-customer": Case(_set("credit_request", customer="nobody"), "error",
                                        fact=5, field="customer", fragment="'nobody'"),
    "update-for-unknown-customer": Case(_set("update_request", customer="nobody"), "error",
                                        fact=6, field="customer", fragment="'nobody'",
                                        subject="u-1"),
    # -- months
    "month-13": Case(_set("credit_request", month="2026-13"), "error", fact=5, field="month",
                     fragment="'2026-13'"),
    "month-00": Case(_set("credit_request", month="2026-00"), "error", fact=5, field="month"),
    "month-one-digit": Case(_set("credit_request", month="2026-1"), "error", fact=5,
                            field="month"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_facts(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    facts = base_facts()
    case.mutate(facts)
    path = tmp_path / "facts.yaml"
    write_facts(path, facts)
    done = invoke(["evaluate", "--policy", POLICY, "--facts", str(path), "--as-of", AS_OF,
                   "--engine", "python"])
    out = done.stdout + done.stderr
    assert done.exception is None or isinstance(done.exception, SystemExit), out
    assert "Traceback" not in out
    if case.outcome == "ok":
        assert done.exit_code == 0, out
        json.loads(done.stdout)
        return
    line = FIRST_LINE + case.fact
    if case.outcome == "warning":
        assert done.exit_code == 0, out
        json.loads(done.stdout)
        messages = [m for m in done.stderr.splitlines() if m.startswith(f"{path}:{line}:")]
        assert messages, f"no located warning:\n{done.stderr}"
    else:
        assert_rejected(done.exit_code, done.stdout, done.stderr, str(path), f"{line}:")
        messages = [m for m in done.stderr.splitlines() if m.startswith(f"{path}:{line}:")]
    text = "\n".join(messages)
    if case.field:
        assert case.field in text, f"field {case.field!r} not named:\n{text}"
    if case.fragment:
        assert case.fragment in text, f"{case.fragment!r} not in:\n{text}"
    if case.subject:
        assert f"fact '{case.subject}'" in text, f"fact id {case.subject!r} not named:\n{text}"


def test_bad_facts_validate_agrees(tmp_path: Path) -> None:
    """`validate` reports the same located problem as `evaluate` (one representative)."""
    facts = base_facts()
    CASES["naive-timestamp"].mutate(facts)
    path = tmp_path / "facts.yaml"
    write_facts(path, facts)
    done = invoke(["validate", str(path)])
    assert_rejected(done.exit_code, done.stdout, done.stderr, str(path), f"{FIRST_LINE + 1}:",
                    "has no offset")


def test_all_required_fields_are_covered() -> None:
    """The missing-field cases follow docs/interface.md §1: every required field of every type."""
    names = {n for n in CASES if n.startswith("missing-")}
    assert len(names) == sum(len(fields) for fields in REQUIRED.values()) == 31  # end: optional
    assert set(REQUIRED) == set(INDEX)


# ------------------------------------------------- instants and months out of range

# Instants, dates and months outside 1971..2199 are refused with the field named: year 1
# and 9999 used to overflow datetime, December 9999 looped in months_between, and tickets
# after 2200 were beyond the business-hour index.


def _extreme(fact_type: str, /, **changes: Any) -> list[Any]:
    facts = base_facts()
    _set(fact_type, **changes)(facts)
    facts[0]["term_end"] = "2999-12-31"
    return facts


EXTREME_FACTS: dict[str, list[Any]] = {
    "downtime-in-december-9999": _extreme(
        "downtime", start="9999-12-31T10:00:00Z", end="9999-12-31T11:00:00Z"),
    "downtime-in-year-1": _extreme(
        "downtime", start="0001-01-01T00:00:00+01:00", end="2026-10-05T11:00:00-04:00"),
    "ticket-opened-in-2300": _extreme("ticket", opened_at="2300-01-01T10:00:00Z"),
}


@pytest.mark.parametrize("name", list(EXTREME_FACTS))
def test_extreme_instant_in_facts(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    write_facts(path, EXTREME_FACTS[name])
    done = run_cli(["evaluate", "--policy", POLICY, "--facts", str(path), "--as-of", AS_OF,
                    "--engine", "python"], timeout=10, memory=SMALL_MEMORY)
    assert_rejected(done.returncode, done.stdout, done.stderr, str(path))


@pytest.mark.parametrize("option", [
    pytest.param(["--as-of", "0001-01-01T00:00:00Z"], id="as-of-year-1"),
    pytest.param(["--months", "9999-11"], id="months-9999-11"),
    pytest.param(["--months", "9999-12"], id="months-9999-12"),
])
def test_extreme_option(option: list[str]) -> None:
    args = ["evaluate", "--policy", POLICY, "--facts", FACTS, "--engine", "python", *option]
    if option[0] != "--as-of":
        args += ["--as-of", AS_OF]
    done = run_cli(args, timeout=10, memory=SMALL_MEMORY)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"{option[0]}:"), done.stderr


def test_open_ended_term_end(tmp_path: Path) -> None:
    facts = base_facts()
    facts[0]["term_end"] = "9999-12-31"
    path = tmp_path / "facts.yaml"
    write_facts(path, facts)
    done = run_cli(["evaluate", "--policy", POLICY, "--facts", str(path), "--as-of", AS_OF,
                    "--engine", "python"], timeout=10, memory=SMALL_MEMORY)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    # evaluated (the term simply covers every month) or refused with a located message
    assert done.returncode in (0, 2), done.stderr
    if done.returncode == 2:
        assert_rejected(done.returncode, done.stdout, done.stderr, str(path),
                        f"{FIRST_LINE}:", "term_end")


# ---------------------------------------------------------------------- output safety

OLD = "previous report\n"


def _evaluate_to(output: Path, *extra: str) -> Any:
    return invoke(["evaluate", "--policy", POLICY, "--facts", FACTS, "--as-of", AS_OF,
                   "--engine", "python", "--output", str(output), *extra])


def _leftovers(directory: Path, output: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != output.name)


def test_output_is_written_whole(tmp_path: Path) -> None:
    output = tmp_path / "report.json"
    output.write_text(OLD, encoding="utf-8")
    done = _evaluate_to(output)
    assert done.exit_code == 0, done.stderr
    assert done.stdout == ""
    written = output.read_text(encoding="utf-8")
    assert written == invoke(["evaluate", "--policy", POLICY, "--facts", FACTS, "--as-of",
                              AS_OF, "--engine", "python"]).stdout
    json.loads(written)
    assert _leftovers(tmp_path, output) == []


@pytest.mark.parametrize("fmt", ["table", "json-streamed-fails-mid-report"])
def test_render_failure_keeps_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         fmt: str) -> None:
    import policyengine.report.render
    import policyengine.stream.sharded

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("renderer exploded")

    def half_written(*args: Any, **kwargs: Any) -> Iterator[str]:
        yield "{\n"  # some of the report is out when it fails
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(policyengine.report.render, "render_evaluation", broken)
    monkeypatch.setattr(policyengine.stream.sharded, "_section_blocks", half_written)
    output = tmp_path / "report.json"
    output.write_text(OLD, encoding="utf-8")
    done = _evaluate_to(output, "--format", fmt.split("-")[0])
    assert done.exit_code != 0
    assert output.read_text(encoding="utf-8") == OLD
    assert _leftovers(tmp_path, output) == []


def test_bad_input_keeps_old_output(tmp_path: Path) -> None:
    output = tmp_path / "report.json"
    output.write_text(OLD, encoding="utf-8")
    done = invoke(["evaluate", "--policy", POLICY, "--facts", str(HOSTILE / "nan.yaml"),
                   "--output", str(output)])
    assert done.exit_code == 2
    assert output.read_text(encoding="utf-8") == OLD
    assert _leftovers(tmp_path, output) == []


def test_failed_rename_keeps_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the directory were read-only at the last moment: exit 2, old file intact."""

    def refuse(src: Any, dst: Any) -> None:
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    output = tmp_path / "report.json"
    output.write_text(OLD, encoding="utf-8")
    done = _evaluate_to(output)
    assert done.exit_code == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "Permission denied" in done.stderr
    assert output.read_text(encoding="utf-8") == OLD
    assert _leftovers(tmp_path, output) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions that apply (not root)")
def test_read_only_directory_keeps_old_output(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    output = directory / "report.json"
    output.write_text(OLD, encoding="utf-8")
    directory.chmod(0o555)
    try:
        done = _evaluate_to(output)
    finally:
        directory.chmod(0o755)
    assert done.exit_code == 2
    assert output.read_text(encoding="utf-8") == OLD
    assert _leftovers(directory, output) == []


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_interrupt_while_writing_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    def interrupt(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, where, interrupt)
    output = tmp_path / "report.json"
    output.write_text(OLD, encoding="utf-8")
    done = _evaluate_to(output)
    assert done.exit_code == 130, done.stderr
    assert "interrupted" in done.stderr
    assert output.read_text(encoding="utf-8") == OLD
    assert _leftovers(tmp_path, output) == []


def _session(sid: int) -> list[int]:
    """Processes of session ``sid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        if int(text[text.rindex(")") + 2:].split()[3]) == sid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("to", ["parent", "group"])
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_a_signal_as_workers_start_stops_cleanly(tmp_path: Path, signal_name: str,
                                                 to: str) -> None:
    """Sent to the parent alone (kill PID, timeout) or to its group (Ctrl-C): one line, exit
    130 or 143, and the workers, the streamed report's spool and the unfinished --output
    gone. Before: SIGTERM left the workers running on and the spool (~56 MiB for 100k
    facts) in TMPDIR; Ctrl-C as the workers started printed worker tracebacks in 16 of 16
    runs, a RuntimeError traceback (exit 1) in some, and in 3 the run went on and wrote
    its report (exit 0)."""
    import signal

    from .test_sharded import _fleet

    facts = tmp_path / "fleet.ndjson"
    facts.write_text("".join(json.dumps(f) + "\n" for f in _fleet(100, 100)),
                     encoding="utf-8")
    spool, output = tmp_path / "spool", tmp_path / "report.json"
    spool.mkdir()
    run = subprocess.Popen(
        [sys.executable, "-m", "policyengine", "evaluate", "--policy",
         str(ROOT / "policies" / "spirion"), "--facts", str(facts), "--as-of", AS_OF,
         "--workers", "2", "--output", str(output)],
        start_new_session=True, env={**os.environ, "TMPDIR": str(spool)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while run.poll() is None and len(_session(run.pid)) < 3:  # the parent and 2 workers
        pass
    (os.kill if to == "parent" else os.killpg)(run.pid, getattr(signal, signal_name))
    _, stderr = run.communicate(timeout=60)
    assert (run.returncode, stderr) == (
        {"SIGTERM": 143, "SIGINT": 130}[signal_name],
        f"policyengine: {'terminated' if signal_name == 'SIGTERM' else 'interrupted'}; "
        "nothing was written\n")
    # workers killed with their parent are reaped by init a moment later: a short grace
    deadline = time.monotonic() + 5
    while _session(run.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _session(run.pid) == []
    assert list(spool.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.ndjson", "spool"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("hook", ["before-fork-hook", "after-fork-hook-in-parent"])
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_a_signal_at_the_fork_instant_stops_cleanly(tmp_path: Path, signal_name: str,
                                                    hook: str) -> None:
    """The same, with the signal made to arrive inside policyengine's at-fork hook of the
    first worker (tests/signal_at_fork.py): deterministic, where the test above caught it
    only on a loaded machine. Before: the stop signals were blocked in the forking thread
    only; another thread (tqdm's monitor) took the signal and CPython ran the CLI's handler
    in the main thread inside the hook, so its exception was printed as "Exception ignored
    in: <function _after_fork ...>" with a traceback, lost, and the run was stopped only by
    the 10 s grace alarm (or, had the stop come earlier, not at all)."""
    from .test_sharded import _fleet

    facts = tmp_path / "fleet.ndjson"
    facts.write_text("".join(json.dumps(f) + "\n" for f in _fleet(100, 100)),
                     encoding="utf-8")
    spool, output = tmp_path / "spool", tmp_path / "report.json"
    spool.mkdir()
    run = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "signal_at_fork.py"), signal_name,
         hook.split("-")[0], "evaluate", "--policy", str(ROOT / "policies" / "spirion"),
         "--facts", str(facts), "--as-of", AS_OF, "--workers", "2", "--output", str(output)],
        start_new_session=True, env={**os.environ, "TMPDIR": str(spool)},
        capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stderr) == (
        {"SIGTERM": 143, "SIGINT": 130}[signal_name],
        f"policyengine: {'terminated' if signal_name == 'SIGTERM' else 'interrupted'}; "
        "nothing was written\n")
    assert list(spool.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.ndjson", "spool"]


def test_interrupt_with_no_previous_output_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    output = tmp_path / "report.json"
    done = _evaluate_to(output)
    assert done.exit_code == 130
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_names_the_output_path(tmp_path: Path) -> None:
    output = tmp_path / "missing-directory" / "report.json"
    done = _evaluate_to(output)
    assert done.exit_code == 2
    assert str(output) in done.stderr, done.stderr
    assert ".report.json." not in done.stderr, done.stderr


def test_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """`policyengine evaluate ... | head`: no message, no traceback, exit 141 (SIGPIPE)."""
    facts = tmp_path / "facts.ndjson"  # a report far larger than a pipe's buffer
    subprocess.run([sys.executable, "bench/generate.py", "--facts", "3000", "--out", str(facts)],
                   check=True, capture_output=True, timeout=120)
    command = [sys.executable, "-m", "policyengine", "evaluate", "--policy", POLICY,
               "--facts", str(facts), "--as-of", AS_OF]
    reader = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)
    done = subprocess.run(command, stdout=reader.stdin, stderr=subprocess.PIPE, text=True,
                          check=False, timeout=120)
    reader.stdin.close()
    reader.wait()
    assert (done.returncode, done.stderr) == (141, "")
