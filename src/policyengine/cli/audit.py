"""One evaluation run from the command line, its decision-log line, and its replay.

``evaluate`` and ``replay`` both run an evaluation through :func:`execute`, so a replay
renders the report exactly as the logged run did; the SHA-256 of the report's bytes is
taken as they are written. The decision log (``--decision-log FILE``) gets one JSON line
per run: the report's ``decision`` header (fingerprints, digest, as-of, counts), the
report's SHA-256 and size, the format, the command's paths (absolute), the wall time it ran
at and took, and the policyengine version. See docs/report.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import click

from policyengine.cli.common import emit
from policyengine.diagnostics import InputError

LOG_KEYS = ("decision", "report_sha256", "report_bytes", "format", "explain", "command",
            "ran_at", "seconds", "policyengine")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("policyengine")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


@dataclass(frozen=True)
class Run:
    """What an ``evaluate`` command was asked: enough to run it again."""

    policy: str
    facts: list[str]
    rules: str | None = None
    as_of: str | None = None
    months: list[str] | None = None
    fmt: str = "json"
    explain: bool = False
    engine: str = "auto"
    strict: bool = False  # warnings refused (a decision made passed them: none were found)

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Run:
        """The run a decision-log line records, at the decision's own as-of and months."""
        command, decision = entry["command"], entry["decision"]
        return cls(policy=command["policy"], facts=list(command["facts"]),
                   rules=command.get("rules"), as_of=decision["as_of"],
                   months=decision.get("months"), fmt=entry["format"],
                   explain=bool(entry.get("explain")), engine=command.get("engine", "auto"),
                   strict=bool(command.get("strict", False)))

    def moved(self, *, policy: str | None, facts: list[str] | None,
              rules: str | None) -> Run:
        """The same run with files that have moved since."""
        return replace(self, policy=policy or self.policy, facts=facts or self.facts,
                       rules=rules or self.rules)


@dataclass
class Result:
    """What one run decided and wrote."""

    run: Run
    decision: dict[str, Any] | None
    report_sha256: str
    report_bytes: int
    outcome_counts: dict[str, int]
    warnings: int
    summary: str
    ran_at: str
    seconds: float

    def log_line(self) -> str:
        """The decision-log line (JSON, one line, keys in :data:`LOG_KEYS` order)."""
        run = self.run
        entry = {
            "decision": self.decision,
            "report_sha256": self.report_sha256,
            "report_bytes": self.report_bytes,
            "format": run.fmt,
            "explain": run.explain,
            "command": {"policy": os.path.abspath(run.policy),
                        "facts": [os.path.abspath(f) for f in run.facts],
                        "rules": os.path.abspath(run.rules) if run.rules else None,
                        "as_of": run.as_of, "months": run.months, "engine": run.engine,
                        "strict": run.strict},
            "ran_at": self.ran_at,
            "seconds": round(self.seconds, 3),
            "policyengine": version(),
        }
        return json.dumps(entry, ensure_ascii=False, separators=(", ", ": "))


class _Digest:
    """Passes the report's pieces through, taking their SHA-256 and size as UTF-8."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.size = 0

    def pieces(self, text: str | Iterable[str]) -> Iterator[str]:
        for piece in [text] if isinstance(text, str) else text:
            data = piece.encode("utf-8", "surrogateescape")
            self.sha.update(data)
            self.size += len(data)
            yield piece


def execute(run: Run, output: str | None, *, workers: int, quiet: bool = False,
            engine: Any = None, names: tuple[str, str] = ("--as-of", "--months")) -> Result:
    """Evaluate as ``evaluate`` does and write the report to ``output`` (or stdout).

    Progress goes to stderr on a terminal (never with ``quiet``); warnings are printed on
    stderr. Raises what the library raises (InputError, OSError) before anything is written;
    a bad as-of or months is an InputError located at ``names`` (the options that gave
    them: ``--as-of:0:0: ...``), checked before the policy is loaded.
    """
    from policyengine.api import Engine, parse_as_of, parse_months
    from policyengine.cli.talk import Progress, summary_line
    from policyengine.evaluate.perf import paused_gc
    from policyengine.report.render import render_diagnostics, render_evaluation
    from policyengine.stream.sharded import Stats, evaluation_stats

    ran_at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    started = time.perf_counter()
    instant = parse_as_of(run.as_of, names[0])
    months = parse_months(run.months, names[1]) if run.months else None
    engine = engine or Engine.load(run.policy, rules=run.rules, backend=run.engine)
    digest = _Digest()
    if run.fmt == "json" and not run.explain:
        # streamed by customer shard: the same report, in bounded memory, on every core
        with contextlib.nullcontext() if quiet else Progress() as progress:
            summary = engine.write_json(run.facts, lambda pieces: emit(digest.pieces(pieces),
                                                                       output),
                                        as_of=instant, months=months, workers=workers,
                                        strict=run.strict, progress=progress)
        if summary.warnings:
            click.echo(render_diagnostics(summary.warnings), nl=False, err=True)
        decision, counts, warnings = summary.decision, summary.outcome_counts, \
            len(summary.warnings)
        rows = summary.rows
        stats = Stats(summary.customers, summary.periods_missed, summary.periods_provisional,
                      summary.credits, summary.credits_by_status)
    else:
        with paused_gc():  # the report is millions of small objects too, and forms no cycles
            with contextlib.nullcontext() if quiet else Progress() as progress:
                evaluation = engine.evaluate(run.facts, as_of=instant, months=months,
                                             strict=run.strict, progress=progress)
            if evaluation.warnings:
                click.echo(render_diagnostics(evaluation.warnings), nl=False, err=True)
            emit(digest.pieces(render_evaluation(evaluation, run.fmt, explain=run.explain)),
                 output)
        decision, warnings = evaluation.decision(), len(evaluation.warnings)
        counts = {}
        for finding in evaluation.findings:
            counts[finding.outcome] = counts.get(finding.outcome, 0) + 1
        rows = (decision or {}).get("counts", {})
        stats = evaluation_stats(evaluation)
    seconds = time.perf_counter() - started
    line = summary_line(rows, stats.missed, counts.get("breach", 0), stats.credits_by_status,
                        seconds,
                        stats.customers, provisional=stats.provisional)
    return Result(run, decision, digest.sha.hexdigest(), digest.size, counts, warnings, line,
                  ran_at, seconds)


def check_appendable(path: str) -> None:
    """OSError now, before evaluating, when the decision log could not be appended to.

    The reason is the real one, worded as the system words it for ``--output``: a missing
    directory is "No such file or directory", a name ending in ``/`` or a directory is
    refused, a file or directory this user may not write is "Permission denied".
    """
    if path.endswith(("/", os.sep)) and not os.path.isdir(path):
        raise OSError(errno.ENOTDIR, "a name ending in / is a directory, not a decision log",
                      path)
    try:
        status: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        status = None
    except OSError as error:  # e.g. a path through a file: Not a directory
        raise OSError(error.errno, error.strerror, path) from None
    if status is not None:
        if stat.S_ISDIR(status.st_mode):
            raise OSError(errno.EISDIR, "is a directory, not a decision log", path)
        if not (stat.S_ISREG(status.st_mode) or stat.S_ISCHR(status.st_mode)
                or stat.S_ISFIFO(status.st_mode)):
            raise OSError(errno.EINVAL, "is not a file a decision log can be appended to",
                          path)
        writable = os.access(path, os.W_OK)
    else:
        directory = os.path.dirname(path) or "."
        if not os.path.exists(directory):
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if not os.path.isdir(directory):
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
        writable = os.access(directory, os.W_OK | os.X_OK)
    if not writable:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), path)


def append_line(path: str, line: str) -> None:
    """Append one line to the decision log with a single write (O_APPEND)."""
    data = (line + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as error:
        raise OSError(error.errno, error.strerror, path) from None
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_entry(source: str, decision_id: str | None = None) -> dict[str, Any]:
    """A decision-log entry: ``source`` is the JSON line itself or a log file (then the
    line of ``decision_id`` (or of the one decision whose id starts with it), the last
    such, or the file's last line). InputError (located)
    when it is not a decision-log line."""
    if source.lstrip().startswith("{"):
        entries = [(_parse(source, "<decision>", 1), 1)]
        name = "<decision>"
    else:
        name = source
        try:
            with open(source, encoding="utf-8") as stream:
                entries = [(_parse(line, source, number), number)
                           for number, line in enumerate(stream, start=1) if line.strip()]
        except UnicodeDecodeError:
            raise InputError.single(source, "not a decision log: not UTF-8 text",
                                    code="load") from None
        if not entries:
            raise InputError.single(source, "the decision log is empty", code="load")
    if decision_id is not None:
        entries = _decision(entries, decision_id, name)
    entry, number = entries[-1]
    _check_entry(entry, name, number)
    return entry


MIN_PREFIX = 4  # hex digits of a decision id that select it, as git takes a commit's


def _decision(entries: list[tuple[dict[str, Any], int]], wanted: str,
              name: str) -> list[tuple[dict[str, Any], int]]:
    """The lines of the decision whose id is ``wanted`` or starts with it (a unique prefix
    of at least :data:`MIN_PREFIX` hex digits, any case). InputError (usage) when no
    decision or more than one matches, or the prefix is too short."""
    prefix = wanted.strip().lower()
    if len(prefix) < MIN_PREFIX:
        raise InputError.single("--decision", f"decision id {wanted!r} is too short: give "
                                f"at least {MIN_PREFIX} of its hex digits", code="usage")
    found = [(e, n) for e, n in entries
             if isinstance(e.get("decision"), dict)
             and str(e["decision"].get("decision_id", "")).startswith(prefix)]
    ids = sorted({str(e["decision"]["decision_id"]) for e, _ in found})
    if not ids:
        raise InputError.single(name, f"no decision {wanted!r} in this log", code="usage")
    if len(ids) > 1:
        raise InputError.single(name, f"decision id prefix {wanted!r} is ambiguous: "
                                f"{len(ids)} decisions start with it ({', '.join(ids)}); give "
                                "more digits", code="usage")
    return found


def _parse(text: str, name: str, number: int) -> dict[str, Any]:
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError.single(name, f"not a decision-log line: {error.msg}", line=number,
                                column=error.colno, code="load") from None
    if not isinstance(entry, dict):
        raise InputError.single(name, "not a decision-log line: not a JSON object",
                                line=number, column=1, code="load")
    return entry


def _check_entry(entry: dict[str, Any], name: str, number: int) -> None:
    decision, command = entry.get("decision"), entry.get("command")
    problems = []
    if not isinstance(decision, dict) or not all(
            key in decision for key in ("decision_id", "as_of", "policy_sha256",
                                        "rules_sha256", "facts_sha256", "months")):
        problems.append("decision")
    if not isinstance(command, dict) or not isinstance(command.get("policy"), str) or \
            not isinstance(command.get("facts"), list):
        problems.append("command")
    if not isinstance(entry.get("report_sha256"), str) or entry.get("format") not in (
            "json", "table", "markdown", "html"):
        problems.append("report_sha256/format")
    if problems:
        raise InputError.single(name, "not a decision-log line: missing or bad "
                                + ", ".join(problems), line=number, column=1, code="load")


def changed_inputs(run: Run, entry: dict[str, Any]) -> tuple[list[str], Any]:
    """What differs from the logged decision, by fingerprint: ``(messages, engine)``.

    The policy and rules are loaded as the run names them (InputError when they no longer
    load); the facts are hashed as they are now.
    """
    from policyengine.api import Engine, facts_digest

    decision = entry["decision"]
    engine = Engine.load(run.policy, rules=run.rules, backend=run.engine)
    changed = []
    checks = (("policy", run.policy, engine.policy_sha256, decision["policy_sha256"]),
              ("rules", run.rules or "the shipped rules", engine.rules_sha256,
               decision["rules_sha256"]))
    for what, where, now, then in checks:
        if now != then:
            changed.append(f"{what} changed: {where} has sha256 {now}, the decision was "
                           f"made with {then}")
    if decision["facts_sha256"] is None:
        changed.append("the facts were read from a pipe or device: there is no digest to "
                       "check them against")
    else:
        now = facts_digest(run.facts)
        if now != decision["facts_sha256"]:
            changed.append(f"facts changed: {', '.join(run.facts)} have sha256 {now}, the "
                           f"decision was made with {decision['facts_sha256']}")
    return changed, engine


__all__ = ["LOG_KEYS", "Result", "Run", "append_line", "changed_inputs",
           "check_appendable", "execute", "read_entry"]
