"""Engine back-ends: durable-rules (default) and a pure-Python evaluator of the same JSON."""

from __future__ import annotations

from policyengine.engine.base import (
    Backend,
    DecisionError,
    Finding,
    Firing,
    StageResult,
    apply_firings,
)

__all__ = ["Backend", "DecisionError", "Finding", "Firing", "StageResult", "apply_firings",
           "get_backend"]


def get_backend(name: str = "auto") -> Backend:
    """``durable``, ``python`` or ``auto`` (durable-rules when its C extension loads)."""
    from policyengine.engine.durable_backend import DurableBackend, durable_available
    from policyengine.engine.python_backend import PythonBackend

    if name == "python":
        return PythonBackend()
    if name == "durable" or (name == "auto" and durable_available()):
        return DurableBackend()
    return PythonBackend()
