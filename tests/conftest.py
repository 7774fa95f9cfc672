"""Shared fixtures: the shipped policy, engines on both back-ends, case files."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from policyengine.api import Engine, compile_versions, load_rule_packs
from policyengine.engine import get_backend
from policyengine.load.loader import load_document
from policyengine.model.policy import Policy

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "policies" / "spirion" / "1.0.0.yaml"
BACKENDS = ("durable", "python")


def shipped_policy_data() -> dict[str, Any]:
    """A fresh, mutable copy of the shipped Spirion policy document."""
    return copy.deepcopy(load_document(SHIPPED).data)


def set_term(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Edit a policy copy: ``clause-id.term.path`` (or ``metadata.x``) := value."""
    head, _, rest = dotted.partition(".")
    if head == "metadata":
        target: Any = data["metadata"]
        parts = rest.split(".")
    else:
        target = next(c for section in data["spec"].values() if isinstance(section, list)
                      for c in section if c.get("id") == head)
        parts = rest.split(".")
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = value
    return data


def engine_for(data: dict[str, Any], backend: str) -> Engine:
    policy = Policy.from_data(data, "<test policy>")
    return Engine(compile_versions([policy], load_rule_packs()), get_backend(backend))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every evaluation test runs on durable-rules and on the pure-Python evaluator."""
    return request.param


@pytest.fixture
def spirion(backend: str) -> Engine:
    return engine_for(shipped_policy_data(), backend)
