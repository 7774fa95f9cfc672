"""Shared by the rule-pack tests (test_rulepack_limits.py, test_rule_bounds.py): the shipped
rules plus one pack under test, and the CLI run in-process with no traceback allowed."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from policyengine.cli.main import main

from .conftest import ROOT

EXAMPLE = ROOT / "examples" / "october-2026.yaml"
POLICY = ROOT / "policies" / "spirion"
AS_OF = "2026-11-27T12:00:00-05:00"
HEAD = """\
apiVersion: policyengine/v1
kind: RulePack
metadata:
  name: extra
  description: one rule under test
"""


def _rules(tmp_path: Path, rules: str, head: str = HEAD) -> Path:
    """The shipped rules/ plus ``extra.yaml`` holding ``rules`` (its rule starts at line 7)."""
    directory = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", directory)
    (directory / "extra.yaml").write_text(head + "rules:\n" + rules, encoding="utf-8")
    return directory


def _cli(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output.splitlines()
