"""policyengine: executable customer-services contracts.

Load a versioned YAML policy once with :meth:`Engine.load`, then :meth:`Engine.evaluate`
facts (outages, maintenance, notices, tickets, credit requests) into typed results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Diagnostic", "Engine", "EngineError", "Evaluation", "InputError", "validate"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from policyengine.api import Engine
    from policyengine.diagnostics import Diagnostic, EngineError, InputError
    from policyengine.model.results import Evaluation
    from policyengine.tools.check import validate


def __getattr__(name: str) -> Any:
    # lazy, so that `policyengine validate` does not import the rule engine
    if name == "Engine":
        from policyengine.api import Engine

        return Engine
    if name == "validate":
        from policyengine.tools.check import validate

        return validate
    if name in ("Diagnostic", "EngineError", "InputError"):
        from policyengine import diagnostics

        return getattr(diagnostics, name)
    if name == "Evaluation":
        from policyengine.model.results import Evaluation

        return Evaluation
    raise AttributeError(name)
