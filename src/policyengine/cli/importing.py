"""``policyengine import`` and ``reconcile``: real data in, and the source's verdicts checked.

Registered on the main group by :mod:`policyengine.cli.main`; like it, only prints and exits.
"""

from __future__ import annotations

import shutil
import sys
import tempfile

import click

from policyengine.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    handles_errors,
    refuse_clobbering,
    write_atomically,
)


def register(main: click.Group) -> None:
    """Add ``import`` and ``reconcile`` to the ``policyengine`` group."""
    from policyengine.importers import SOURCES

    @main.command("import")
    @click.argument("source", type=click.Choice(SOURCES))
    @click.argument("files", nargs=-1, required=True, type=click.Path())
    @click.option("--mapping", "mapping_path", required=True, type=click.Path(),
                  help="The import mapping (YAML, kind: ImportMapping).")
    @click.option("--output", default=None, type=click.Path(),
                  help="Write the facts here (NDJSON, atomically); default: stdout.")
    @click.option("--strict", is_flag=True, help="Treat every warning as an error.")
    @click.option("--check-ids", is_flag=True,
                  help="Refuse a repeated fact id here (16 bytes of memory a fact) instead of "
                       "leaving it to evaluate.")
    @handles_errors
    def import_(source: str, files: tuple[str, ...], mapping_path: str, output: str | None,
                strict: bool, check_ids: bool) -> int:
        """Turn a SOURCE export (FILE...) into a fact file that `evaluate` reads.

        SOURCE is csv, json (JSON or NDJSON), statuspage, pagerduty, zendesk, jira or
        servicenow. Records the mapping cannot place are located warnings (errors with
        --strict); any error writes nothing and exits 2.
        """
        from policyengine.importers import Run, import_lines, load_mapping
        from policyengine.report.render import render_diagnostics

        refuse_clobbering([("--output", output)],
                          [*(("FILE", f) for f in files), ("--mapping", mapping_path)])
        mapping = load_mapping(mapping_path, source)
        run = Run(mapping, source, strict=strict, check_ids=check_ids)
        lines = import_lines(run, files)
        if output:
            write_atomically(output, lines)
        else:  # stdout is written only once the whole import succeeded
            with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as spool:
                spool.writelines(lines)
                spool.seek(0)
                shutil.copyfileobj(spool, sys.stdout)
                sys.stdout.flush()
        if run.warnings:
            click.echo(render_diagnostics(run.warnings), nl=False, err=True)
        skipped = "".join(f"; skipped {count} ({reason})"
                          for reason, count in sorted(run.skipped.items()))
        click.echo(f"imported {run.written} facts from {run.records} {source} records"
                   f"{skipped}; {len(run.warnings)} warning(s)", err=True)
        return EXIT_OK


    @main.command()
    @click.option("--policy", "policy_path", required=True, type=click.Path(),
                  help="A policy file or a directory of effective-dated versions.")
    @click.option("--facts", "fact_paths", required=True, multiple=True, type=click.Path(),
                  help="A fact file (imported facts carry source_sla); repeat for more.")
    @click.option("--as-of", "as_of", default=None,
                  help="Evaluation instant, ISO 8601 with offset (default: now).")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                  show_default=True)
    @click.option("--exit-code", "exit_code", is_flag=True,
                  help="Exit 1 when any verdict differs.")
    @handles_errors
    def reconcile(policy_path: str, fact_paths: tuple[str, ...], as_of: str | None, fmt: str,
                  exit_code: bool) -> int:
        """List tickets whose source SLA verdict differs from the contract's verdict."""
        import json

        from policyengine.api import Engine
        from policyengine.importers.reconcile import reconcile as compare

        engine = Engine.load(policy_path)
        differences, compared = compare(engine, fact_paths, as_of)
        if fmt == "json":
            click.echo(json.dumps({"compared": compared,
                                   "differences": [d.to_dict() for d in differences]},
                                  indent=2))
        else:
            for d in differences:
                contract = {True: "met", False: "missed", None: "no verdict"}[d.contract]
                source = "met" if d.source else "missed"
                click.echo(f"{d.ticket} ({d.customer}) {d.target}: source says {source}, "
                           f"contract says {contract} (due {d.due or '-'}); from {d.origin}")
            click.echo(f"{len(differences)} of {compared} source verdicts differ from the "
                       "contract's", err=True)
        return EXIT_FINDINGS if exit_code and differences else EXIT_OK
