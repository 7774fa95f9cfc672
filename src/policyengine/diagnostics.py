"""One error type for every layer: a located, one-line diagnostic.

Every layer (load, validate, compile, evaluate) reports problems as a sorted list of
:class:`Diagnostic`. Libraries never print; the CLI renders them as
``FILE:LINE:COL: <json-path>: <message>`` and exits 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem found in a policy, rule pack or fact file.

    ``path`` is a JSON path inside the document (``$.spec.availability.target``);
    ``line``/``column`` are 1-based (0 when unknown). ``subject`` names a fact id
    when the problem is about a fact.
    """

    file: str
    line: int = 0
    column: int = 0
    path: str = "$"
    message: str = ""
    code: str = "invalid"
    severity: str = "error"
    subject: str = ""
    hint: str = field(default="", compare=False)

    def render(self) -> str:
        """``FILE:LINE:COL: <json-path>: <message>`` on one line."""
        where = f"{self.file}:{self.line}:{self.column}"
        text = self.message
        if self.subject:
            text = f"fact {self.subject!r}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        if self.severity == "warning":
            text = f"warning: {text}"
        return " ".join(f"{where}: {self.path}: {text}".split("\n"))

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "code": self.code,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "hint": self.hint,
        }


def as_errors(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The same diagnostics as errors (``--strict``: a warning fails the run)."""
    from dataclasses import replace

    return [replace(d, severity="error") for d in diagnostics]


class PolicyEngineError(Exception):
    """Base of every error the library raises on purpose."""


class InputError(PolicyEngineError):
    """Bad input (policy, rules or facts): carries one or more diagnostics."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics: list[Diagnostic] = sorted(diagnostics)
        if not self.diagnostics:
            raise ValueError("InputError needs at least one diagnostic")
        super().__init__(self.diagnostics[0].render())

    @classmethod
    def single(cls, file: str, message: str, **where: object) -> InputError:
        """Build an error with one diagnostic."""
        return cls([Diagnostic(file=file, message=message, **where)])  # type: ignore[arg-type]


class EngineError(PolicyEngineError):
    """The rule engine failed (an action raised, a fact was refused, a limit was hit)."""
