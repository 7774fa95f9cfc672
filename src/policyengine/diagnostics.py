"""One error type for every layer: a located, one-line diagnostic.

Every layer (load, validate, compile, evaluate) reports problems as a sorted list of
:class:`Diagnostic`. Libraries never print; the CLI renders them as
``FILE:LINE:COL: <json-path>: <message>`` and exits 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# How much of a value from an input file a message may quote: a file named by mistake (a
# password file given as a policy) must not be copied into stderr, CI annotations or JUnit.
QUOTE_LIMIT = 60  # characters of one quoted value (see excerpt)
MESSAGE_LIMIT = 500  # characters of a whole message; the rest is cut (a backstop)
HINT_LIMIT = 200
#: Characters no text output shows as they are (docs/hardening.md, "Nothing a fact says
#: becomes markup"): C0 and C1 control characters and DEL (they move a terminal's cursor,
#: colour it, or end a line: U+0085 NEL), the bidirectional formatting characters (U+061C,
#: U+200E, U+200F, U+202A-U+202E, U+2066-U+2069: they reorder the rest of a line, "Trojan
#: source") and the line and paragraph separators U+2028, U+2029. Each is shown as a
#: visible escape: ``\x1b``, ``\x85``, ``\u202e``; newline, CR and tab as ``\n``, ``\r``,
#: ``\t``. Use with ``str.translate``.
VISIBLE_ESCAPES: dict[int, str] = {
    c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}")
    for c in (*range(0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F,
              *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029)}
VISIBLE_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
# a diagnostic keeps its newlines (a message is split into one line at the end)
_CONTROLS = {c: text for c, text in VISIBLE_ESCAPES.items() if c != 0x0A}


def excerpt(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for a message, at most ``limit`` characters of it quoted.

    ``'root:x:0:0:root:/root:/bin/bash daemon:x:1:1:daemon:/usr/sbi'... (1,234 characters)``
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(value) if isinstance(value, str) else text
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def _capped(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


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

    def __post_init__(self) -> None:
        # a backstop for every message: no layer copies a whole foreign file into one
        object.__setattr__(self, "message", _capped(self.message, MESSAGE_LIMIT))
        object.__setattr__(self, "hint", _capped(self.hint, HINT_LIMIT))
        object.__setattr__(self, "subject", _capped(self.subject, QUOTE_LIMIT))
        object.__setattr__(self, "path", _capped(self.path, HINT_LIMIT))

    def render(self) -> str:
        """``FILE:LINE:COL: <json-path>: <message>`` on one line."""
        where = f"{self.file}:{self.line}:{self.column}".translate(_CONTROLS)
        return f"{where}: {self.render_message()}"

    def render_message(self) -> str:
        """``<json-path>: <message>`` on one line, control characters as visible escapes."""
        text = self.message
        if self.subject:
            text = f"fact {self.subject!r}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        if self.severity == "warning":
            text = f"warning: {text}"
        line = " ".join(f"{self.path}: {text}".split("\n"))
        return line.translate(_CONTROLS)  # no terminal escape from a file reaches the screen

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
