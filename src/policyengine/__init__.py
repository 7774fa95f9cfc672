"""policyengine: executable customer-services contracts.

Load a versioned YAML policy once with :meth:`Engine.load`, then :meth:`Engine.evaluate`
facts (outages, maintenance, notices, tickets, credit requests) into typed results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Diagnostic", "Engine", "EngineError", "Evaluation", "InputError", "validate"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Engine, validate
    from .diagnostics import Diagnostic, EngineError, InputError
    from .results import Evaluation


def __getattr__(name: str) -> Any:
    # lazy, so that `policyengine validate` does not import the rule engine
    if name in ("Engine", "validate"):
        from . import api

        return getattr(api, name)
    if name in ("Diagnostic", "EngineError", "InputError"):
        from . import diagnostics

        return getattr(diagnostics, name)
    if name == "Evaluation":
        from .results import Evaluation

        return Evaluation
    raise AttributeError(name)
