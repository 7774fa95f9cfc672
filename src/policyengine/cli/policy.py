"""``policyengine diff``, ``show`` and ``test``: the commands for policy authors and CI.

Registered on the main group by :mod:`policyengine.cli.main`; like it, only prints and exits.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from policyengine.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    emit,
    handles_errors,
    refuse_clobbering,
)

if TYPE_CHECKING:
    from policyengine.model.policy import Policy


def _one_version(path: str) -> Policy:
    """The single policy version in a file (or in a directory holding only one)."""
    from policyengine.api import load_policies
    from policyengine.diagnostics import InputError

    policies = load_policies(path)
    if len(policies) != 1:
        # in the order they come into force (1.2.0 before 1.10.0), not as file names sort
        versions = ", ".join(p.version for p in sorted(policies,
                                                        key=lambda p: p.effective_from))
        raise InputError.single(path, f"holds {len(policies)} versions ({versions}); give "
                                "the file of one version", code="usage")
    return policies[0]


def register(main: click.Group) -> None:
    """Add ``diff``, ``show`` and ``test`` to the ``policyengine`` group."""

    @main.command()
    @click.argument("old", type=click.Path())
    @click.argument("new", type=click.Path())
    @click.option("--facts", "fact_paths", multiple=True, type=click.Path(),
                  help="Also compare outcomes for these facts (repeatable).")
    @click.option("--as-of", "as_of", default=None,
                  help="Evaluation instant for the outcome comparison (default: now).")
    @click.option("--months", default=None, help="YYYY-MM or YYYY-MM..YYYY-MM to report.")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                  show_default=True)
    @click.option("--output", default=None, type=click.Path(), help="Write here (atomically).")
    @click.option("--exit-code", "exit_code", is_flag=True,
                  help="Exit 1 when the versions differ (in terms or outcomes).")
    @click.option("--engine", "backend", type=click.Choice(["auto", "durable", "python"]),
                  default="auto", show_default=True, help="Rule-engine back-end.")
    @handles_errors
    def diff(old: str, new: str, fact_paths: tuple[str, ...], as_of: str | None,
             months: str | None, fmt: str, output: str | None, exit_code: bool,
             backend: str) -> int:
        """What changed from policy version OLD to NEW: terms, and outcomes for --facts.

        With --facts, the same facts are evaluated under each version alone (its
        effective dates ignored), so every month is judged by both versions.
        """
        from policyengine.tools.diff import compare_outcomes, diff_policies

        refuse_clobbering([("--output", output)], [("OLD", old), ("NEW", new),
                                                   *(("--facts", f) for f in fact_paths)])
        before, after = _one_version(old), _one_version(new)
        terms = diff_policies(before, after)
        from policyengine.api import parse_as_of, parse_months

        instant = parse_as_of(as_of, "--as-of") if fact_paths else None
        month_list = parse_months(months, "--months") if months and fact_paths else None
        outcomes = (compare_outcomes(before, after, list(fact_paths), as_of=instant,
                                     months=month_list, backend=backend)
                    if fact_paths else None)
        if fmt == "json":
            data = terms.to_dict()
            if outcomes is not None:
                data["outcomes"] = outcomes.to_dict()
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        else:
            text = terms.render_text()
            if outcomes is not None:
                text += "\n" + outcomes.render_text()
        emit(text, output)
        differs = not terms.is_empty or (outcomes is not None and not outcomes.is_empty)
        return EXIT_FINDINGS if exit_code and differs else EXIT_OK

    @main.command()
    @click.argument("policy", type=click.Path())
    @click.option("--format", "fmt", type=click.Choice(["markdown", "text"]),
                  default="markdown", show_default=True)
    @click.option("--output", default=None, type=click.Path(), help="Write here (atomically).")
    @handles_errors
    def show(policy: str, fmt: str, output: str | None) -> int:
        """Print a policy as a readable document (every version, for a directory)."""
        from policyengine.api import load_policies
        from policyengine.tools.show import render_policy

        refuse_clobbering([("--output", output)], [("POLICY", policy)])
        versions = sorted(load_policies(policy), key=lambda p: p.effective_from)
        separator = "\n---\n\n" if fmt == "markdown" else "\n\n"
        emit(separator.join(render_policy(p, fmt) for p in versions), output)
        return EXIT_OK

    @main.command()
    @click.argument("paths", nargs=-1, type=click.Path())
    @click.option("--format", "fmt", type=click.Choice(["text", "junit"]), default="text",
                  show_default=True)
    @click.option("--output", default=None, type=click.Path(),
                  help="Write the report here (atomically); a summary still goes to stderr.")
    @click.option("--rules", "rules_dir", default=None, type=click.Path(),
                  help="Rule-pack directory (default: the shipped rules/).")
    @click.option("--engine", "backend", type=click.Choice(["auto", "durable", "python"]),
                  default="auto", show_default=True, help="Rule-engine back-end.")
    @handles_errors
    def test(paths: tuple[str, ...], fmt: str, output: str | None, rules_dir: str | None,
             backend: str) -> int:
        """Run policy tests (*.test.yaml and *.test.yml files under PATHS; default: policies/).

        Exit 0 when every case passes, 1 when a case fails, 2 when a file or its facts
        cannot be used.
        """
        from policyengine.tools.policytest import DEFAULT_PATH, render_run, run_tests

        refuse_clobbering([("--output", output)],
                          [*(("PATHS", p) for p in paths or (DEFAULT_PATH,)),
                           ("--rules", rules_dir)])
        run = run_tests(paths, backend=backend, rules=rules_dir)
        if run.warnings:
            from policyengine.report.render import render_diagnostics

            click.echo(render_diagnostics(run.warnings), nl=False, err=True)
        emit(render_run(run, fmt), output)
        if not run.files:
            from policyengine.tools.policytest import nothing_to_run

            click.echo(f"policyengine: {nothing_to_run(paths)}", err=True)
        if output or fmt == "junit":
            click.echo(f"{run.count('pass')} passed, {run.count('fail')} failed, "
                       f"{run.count('error')} errors", err=True)
        return run.exit_code
