"""Every `policyengine ...` command the README shows runs as written, from a copy of the
repository's files, with the exit code it should have; the few that name files a reader
supplies (placeholders) are listed here explicitly, and a new README command that is in
neither list fails the test until it is classified."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

README = ROOT / "README.md"
CLI = [sys.executable, "-m", "policyengine"]

# commands named in prose, not commands to run
NAMES = {"policyengine evaluate", "policyengine import", "policyengine reconcile"}

# commands with a file or value the reader supplies: not run (the reason is the placeholder)
PLACEHOLDERS = {
    "policyengine diff OLD.yaml NEW.yaml [--facts F]": "OLD.yaml, NEW.yaml, F",
    "policyengine diff policies/spirion/1.0.0.yaml policies/spirion/1.1.0.yaml --facts F":
        "1.1.0.yaml is the version the walkthrough has the reader write; F",
    "policyengine evaluate --policy policies/spirion --facts F": "F",
    "policyengine evaluate --policy policies/spirion --facts F.yaml "
    "--as-of 2026-11-27T12:00:00-05:00 --format table": "F.yaml",
    "policyengine evaluate --policy policies/spirion --facts year.ndjson "
    "--output report.json": "year.ndjson (made by bench/generate.py: a million facts)",
    "policyengine evaluate ... --decision-log decisions.log": "...",
    "policyengine evaluate ... --format html --output october.html": "...",
    "policyengine import SOURCE FILE... --mapping MAP.yaml --output facts.ndjson":
        "SOURCE, FILE, MAP.yaml",
}

# what the commands that read an earlier run's output are given: made first, as the
# README's own evaluate commands would make them
SETUP = ["evaluate", "--policy", "policies/spirion", "--facts", "examples/october-2026.yaml",
         "--as-of", "2026-11-27T12:00:00-05:00", "--output", "report.json",
         "--decision-log", "decisions.log"]

# exit codes other than 0
EXIT: dict[str, int] = {}


def readme_commands() -> list[str]:
    """The `policyengine ...` commands of the README: code spans and code-block lines;
    ``a|b|c`` alternatives (``schema policy|facts|rules``) each as a command."""
    text = README.read_text(encoding="utf-8")
    found = [m.group(1).strip() for m in re.finditer(r"`(policyengine [^`]+)`", text)]
    found += [line.strip() for line in text.splitlines()
              if line.strip().startswith("policyengine ")]
    commands: list[str] = []
    for command in dict.fromkeys(found):
        alternatives = re.fullmatch(r"(policyengine schema) ([a-z|]+)", command)
        if alternatives:
            commands += [f"{alternatives.group(1)} {which}"
                         for which in alternatives.group(2).split("|")]
        else:
            commands.append(command)
    return commands


RUNNABLE = [c for c in readme_commands() if c not in NAMES and c not in PLACEHOLDERS]


def test_every_readme_command_is_run_or_listed_as_a_placeholder() -> None:
    commands = readme_commands()
    # the lists name only what the README still shows
    assert set(commands) >= set(PLACEHOLDERS) | NAMES
    assert len(RUNNABLE) >= 12, RUNNABLE  # --help, validate x2, show, due x2, test, ...
    assert all("..." not in c and " F " not in f"{c} " for c in RUNNABLE), RUNNABLE


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's policies and examples, copied into a repository of their own (a
    path a document names stays inside its repository): commands write files here."""
    where = tmp_path_factory.mktemp("readme")
    for part in ("policies", "examples", "tests/policies"):
        shutil.copytree(ROOT / part, where / part)
    subprocess.run(["git", "init", "-q", str(where)], check=True)
    done = subprocess.run([*CLI, *SETUP], cwd=where, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return where


@pytest.mark.parametrize("command", RUNNABLE)
def test_readme_command_runs_as_written(workdir: Path, command: str) -> None:
    args = shlex.split(command)
    assert args[0] == "policyengine"
    done = subprocess.run([*CLI, *args[1:]], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == EXIT.get(command, 0), (command, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
