"""Shared helpers for the importer tests: run `policyengine import`, then evaluate the facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from policyengine.api import Engine
from policyengine.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUBSCRIPTIONS = FIXTURES / "subscriptions.yaml"


def run_import(source: str, files: list[Path], mapping: Path, output: Path | None,
               *options: str) -> Result:
    """Invoke ``policyengine import`` as a user would; stderr is kept apart."""
    args = ["import", source, *map(str, files), "--mapping", str(mapping), *options]
    if output is not None:
        args += ["--output", str(output)]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def read_facts(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def evaluate(*facts: Path, as_of: str) -> dict:
    """The JSON report of spirion for the subscriptions plus ``facts``."""
    engine = Engine.load(str(ROOT / "policies" / "spirion"))
    evaluation = engine.evaluate([str(SUBSCRIPTIONS), *map(str, facts)], as_of=as_of)
    return json.loads(evaluation.to_json())


@pytest.fixture
def imported(tmp_path: Path):
    """``imported(source, files, mapping, *options)`` → (result, output path)."""

    def go(source: str, files: list[Path], mapping: Path, *options: str):
        out = tmp_path / f"{source}.ndjson"
        return run_import(source, files, mapping, out, *options), out

    return go


WAITING = "waiting_on_customer"


def pausing_engine(backend: str) -> Engine:
    """A copy of the shipped policy whose severity 2 clocks (response and resolution) stop
    while the ticket is ``waiting_on_customer`` (as tests/test_clock_pauses.py configures)."""
    from tests.conftest import engine_for, set_term, shipped_policy_data

    data = shipped_policy_data()
    set_term(data, "severity-2.response.pause_on", [WAITING])
    set_term(data, "severity-2.resolution.pause_on", [WAITING])
    return engine_for(data, backend)


def evaluate_with(engine: Engine, *facts: Path, as_of: str) -> dict:
    """The JSON report of ``engine`` for the subscriptions plus ``facts``."""
    evaluation = engine.evaluate([str(SUBSCRIPTIONS), *map(str, facts)], as_of=as_of)
    return json.loads(evaluation.to_json())
