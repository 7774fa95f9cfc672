"""``policyengine``: a thin click shell over the library. Only this module prints or exits.

Exit codes: 0 success, 1 evaluated and ``--fail-on`` matched (or a policy test failed),
2 bad input, bad policy or bad usage: one located line per problem, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

import click

from policyengine.cli.common import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    FAIL_ON,
    emit,
    handles_errors,
    refuse_clobbering,
)


class _Group(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("prog_name", "policyengine")
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.ctx.get_help() if error.ctx else str(error))
            sys.exit(EXIT_INPUT)
        except click.UsageError as error:
            click.echo(f"policyengine: {error.format_message()}", err=True)
            sys.exit(EXIT_INPUT)
        except click.exceptions.Abort:
            sys.exit(130)
        except click.ClickException as error:
            error.show()
            sys.exit(EXIT_INPUT)


@click.group(cls=_Group)
@click.version_option(package_name="policyengine")
def main() -> None:
    """Executable customer-services contracts: validate, evaluate, diff and test policies."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="How to print problems.")
@click.option("--skip-unknown", is_flag=True,
              help="Skip named files that are not policyengine documents (for pre-commit).")
@click.option("--strict", is_flag=True, help="Fail (exit 2) on warnings too (for CI).")
@handles_errors
def validate(paths: tuple[str, ...], fmt: str, skip_unknown: bool, strict: bool) -> int:
    """Validate policy files, rule packs, fact files and policy tests (dirs recursively)."""
    from policyengine.diagnostics import as_errors
    from policyengine.report.render import render_diagnostics
    from policyengine.tools.check import validate_paths

    skipped: list[str] = []
    problems = validate_paths(paths, skip_unknown=skip_unknown, skipped=skipped)
    if strict:
        problems = as_errors(problems)
    errors = [p for p in problems if p.severity == "error"]
    if problems:
        click.echo(render_diagnostics(problems, fmt), nl=False, err=fmt == "text")
    if errors:
        return EXIT_INPUT
    if fmt == "text":
        # what was checked is "ok"; what --skip-unknown passed over was not checked: said so
        checked = [path for path in paths if path not in skipped]
        if checked:
            click.echo(f"ok: {', '.join(checked)}", err=True)
        if skipped:
            what = "file" if len(skipped) == 1 else "files"
            click.echo(f"skipped {len(skipped)} {what} (not policyengine documents, not "
                       f"checked): {', '.join(skipped)}", err=True)
    return EXIT_OK


@main.command()
@click.option("--policy", "policy_path", required=True, type=click.Path(),
              help="A policy file or a directory of effective-dated versions.")
@click.option("--facts", "fact_paths", required=True, multiple=True, type=click.Path(),
              help="A fact file (YAML, JSON or NDJSON); repeat for more.")
@click.option("--as-of", "as_of", default=None,
              help="Evaluation instant, ISO 8601 with offset (default: now).")
@click.option("--months", multiple=True,
              help="YYYY-MM or YYYY-MM..YYYY-MM: also report these months (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["json", "table", "markdown", "html"]),
              default="json", show_default=True,
              help="html: one self-contained page per evaluation (docs/report.md).")
@click.option("--output", default=None, type=click.Path(), help="Write here (atomically).")
@click.option("--fail-on", "fail_on", multiple=True, type=click.Choice(FAIL_ON),
              help="Exit 1 when a finding has this outcome (repeatable).")
@click.option("--explain", is_flag=True, help="List every rule that fired, with its clause.")
@click.option("--rules", "rules_dir", default=None, type=click.Path(),
              help="Rule-pack directory (default: the shipped rules/).")
@click.option("--engine", "backend", type=click.Choice(["auto", "durable", "python"]),
              default="auto", show_default=True, help="Rule-engine back-end.")
@click.option("--workers", type=click.IntRange(min=0), default=0,
              help="Processes for a streamed JSON report (default 0: one per CPU, at most 8).")
@click.option("--strict", is_flag=True,
              help="Refuse facts with warnings (exit 2, nothing written); for CI.")
@click.option("--decision-log", "decision_log", default=None, type=click.Path(),
              help="Append the decision (fingerprints, counts, report sha256) as one JSON "
                   "line to this file (docs/report.md).")
@handles_errors
def evaluate(policy_path: str, fact_paths: tuple[str, ...], as_of: str | None,
             months: tuple[str, ...], fmt: str, output: str | None, fail_on: tuple[str, ...],
             explain: bool, rules_dir: str | None, backend: str, workers: int,
             strict: bool, decision_log: str | None) -> int:
    """Evaluate facts against a policy: availability, credits, tickets, notices, entitlements.

    On a terminal, stderr shows progress and, at the end, a one-line summary; stdout is the
    report alone, the same bytes with or without a terminal.
    """
    from policyengine.cli import audit

    run = audit.Run(policy=policy_path, facts=list(fact_paths), rules=rules_dir,
                    as_of=as_of, months=list(months) or None, fmt=fmt, explain=explain,
                    engine=backend, strict=strict)
    refuse_clobbering([("--output", output), ("--decision-log", decision_log)],
                      [("--policy", policy_path), *(("--facts", f) for f in fact_paths),
                       ("--rules", rules_dir)])
    if decision_log:
        audit.check_appendable(decision_log)
    result = audit.execute(run, output, workers=workers or default_workers())
    click.echo(result.summary, err=True)
    if decision_log:
        audit.append_line(decision_log, result.log_line())
    return _exit_for(fail_on, result.outcome_counts, result.warnings)


def _exit_for(fail_on: Iterable[str], outcome_counts: dict[str, int], warnings: int) -> int:
    """EXIT_FINDINGS, naming on stderr what tripped and how often, when a ``--fail-on``
    outcome (or a warning) occurred; else EXIT_OK."""
    from policyengine.cli.talk import tripped

    found = tripped(fail_on, outcome_counts, warnings)
    if found:
        click.echo(f"policyengine: --fail-on tripped: {', '.join(found)}", err=True)
        return EXIT_FINDINGS
    return EXIT_OK


@main.command()
@click.argument("report_path", metavar="REPORT.json", type=click.Path())
@click.option("--output", default=None, type=click.Path(),
              help="Write the page here (atomically; default: stdout).")
@click.option("--customer", "customers", multiple=True,
              help="Only this customer (repeatable).")
@handles_errors
def report(report_path: str, output: str | None, customers: tuple[str, ...]) -> int:
    """Render a saved JSON report as one self-contained HTML page (nothing is evaluated)."""
    from policyengine.report.html import render_html
    from policyengine.report.saved import load_report

    refuse_clobbering([("--output", output)], [("REPORT.json", report_path)])
    document = load_report(report_path, customers=customers or None)
    emit(render_html(document), output)
    return EXIT_OK


@main.command()
@click.argument("logline", metavar="DECISION")
@click.option("--decision", "decision_id", default=None,
              help="Which decision of the log file: its id, or a unique prefix of at least "
              "4 hex digits (default: the log's last line).")
@click.option("--output", default=None, type=click.Path(),
              help="Also write the replayed report here.")
@click.option("--policy", "policy_path", default=None, type=click.Path(),
              help="The policy, if it has moved since (its fingerprint must still match).")
@click.option("--facts", "fact_paths", multiple=True, type=click.Path(),
              help="The fact files, if they have moved since (repeatable).")
@click.option("--rules", "rules_dir", default=None, type=click.Path(),
              help="The rule-pack directory, if it has moved since.")
@handles_errors
def replay(logline: str, decision_id: str | None, output: str | None, policy_path: str | None,
           fact_paths: tuple[str, ...], rules_dir: str | None) -> int:
    """Replay a decision from its --decision-log line (a log file, or the JSON line itself).

    Exit 0: same policy, rules and facts (by fingerprint), and the report is the same, byte
    for byte. Exit 1: a fingerprint differs (named) or the report differs. Exit 2: bad input.
    """
    from policyengine.cli import audit

    entry = audit.read_entry(logline, decision_id)
    run = audit.Run.from_entry(entry).moved(policy=policy_path, facts=list(fact_paths) or None,
                                            rules=rules_dir)
    refuse_clobbering([("--output", output)],
                      [("DECISION", logline if os.path.isfile(logline) else None),
                       ("--policy", run.policy), *(("--facts", f) for f in run.facts),
                       ("--rules", run.rules)])
    name = entry["decision"]["decision_id"]
    changed, engine = audit.changed_inputs(run, entry)
    if changed:
        for line in changed:
            click.echo(f"replay: decision {name}: {line}", err=True)
        click.echo(f"replay: decision {name} not reproduced: its inputs changed", err=True)
        return EXIT_FINDINGS
    result = audit.execute(run, output or os.devnull, workers=default_workers(), quiet=True,
                           engine=engine, names=("decision.as_of", "decision.months"))
    expected = entry.get("report_sha256")
    if result.report_sha256 != expected:
        click.echo(f"replay: decision {name}: same inputs, but the report differs (sha256 "
                   f"{result.report_sha256}, logged {expected}; policyengine "
                   f"{audit.version()}, logged {entry.get('policyengine')})", err=True)
        return EXIT_FINDINGS
    click.echo(f"replay: decision {name} reproduced: same policy, rules and facts; report "
               f"sha256 {expected} ({result.report_bytes} bytes)", err=True)
    return EXIT_OK


def default_workers() -> int:
    """One worker process per CPU this process may use (at most 8)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


@main.command()
@click.argument("which", type=click.Choice(["policy", "facts", "rules", "mapping"]))
@handles_errors
def schema(which: str) -> int:
    """Print a JSON Schema (for editors and other tools), with plug-ins' clause kinds."""
    from policyengine.clauses.generate import dumps
    from policyengine.load.packaged import data_dir
    from policyengine.validation.schemas import load_schema, schema_with_kinds

    schema = schema_with_kinds(which)
    if schema is load_schema(which):  # no plug-in kinds: the checked-in file as it is
        click.echo((data_dir("schemas") / f"{which}.schema.json").read_text(encoding="utf-8"),
                   nl=False)
    else:
        click.echo(dumps(schema), nl=False)
    return EXIT_OK


@main.command()
@click.option("--policy", "policy_path", required=True, type=click.Path())
@click.option("--severity", required=True, type=int, help="Severity level, e.g. 1.")
@click.option("--opened-at", "opened_at", required=True,
              help="When the ticket was opened (ISO 8601 with offset).")
@click.option("--region", default=None,
              help="The customer's support region, for regional calendars (default: theirs).")
@click.option("--last-update-at", "last_update_at", default=None,
              help="The first response or latest update: when is the next update due?")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text",
              show_default=True)
@handles_errors
def due(policy_path: str, severity: int, opened_at: str, region: str | None,
        last_update_at: str | None, fmt: str) -> int:
    """When is a ticket of this severity, opened at this instant, due (and at risk)?"""
    import json

    from policyengine.api import Engine, parse_as_of

    opened = parse_as_of(opened_at, "--opened-at")
    last = parse_as_of(last_update_at, "--last-update-at") if last_update_at else None
    result = Engine.load(policy_path).due(severity, opened, region=region,
                                          last_update_at=last)
    data = result.to_dict()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(f"severity {result.severity} opened {result.opened_at} "
                   + (f"in region {result.region} " if "region" in data else "")
                   + f"(policy {result.policy_version})")
        click.echo(f"  response due:   {result.response_due or 'no target'}")
        if "response_at_risk" in data and result.response_due is not None:
            click.echo("    at risk from: "
                       f"{_at_risk(result.response_due, result.response_at_risk)}")
        if "update_due" in data:
            # None: no update target for this severity (a --last-update-at is then placed
            # against nothing), or a target with no last update given to count from
            if result.update_due is not None:
                click.echo(f"  update due:     {result.update_due}")
                if "update_at_risk" in data:  # (there is a target: a due time)
                    click.echo("    at risk from: "
                               f"{_at_risk(result.update_due, result.update_at_risk)}")
            elif last is not None:
                click.echo(f"  update due:     no target (severity {result.severity} has no "
                           "periodic update target)")
            else:
                click.echo("  update due:     counted from the first response or latest "
                           "update (give --last-update-at)")
        click.echo(f"  resolution due: {result.resolution_due or 'no target'}")
        if "resolution_at_risk" in data and result.resolution_due is not None:
            click.echo("    at risk from: "
                       f"{_at_risk(result.resolution_due, result.resolution_at_risk)}")
    return EXIT_OK


def _at_risk(due_at: str, at_risk: str | None) -> str:
    """An at-risk line's value (under a due time: there is a target): the instant, or
    that the policy sets no at-risk threshold for it."""
    return at_risk if at_risk is not None else "no at-risk threshold"


def _register_policy_commands() -> None:
    """The policy authors' commands (diff, test, show) live in their own module."""
    from policyengine.cli import policy

    policy.register(main)


def _register_import_commands() -> None:
    """Importing source exports (import, reconcile) lives in its own module."""
    from policyengine.cli import importing

    importing.register(main)


_register_policy_commands()
_register_import_commands()
