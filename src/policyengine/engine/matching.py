"""How the Python back-end (and the bound on a rule's work) tests one fact against a compiled
durable-rules condition: the engine's semantics for the subset the compiler emits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_ORDER_OPS = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}
MISSING = object()  # a field the fact does not have


def _comparable(a: Any, b: Any) -> bool:
    numeric = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, numeric) and isinstance(b, numeric):
        return True
    return type(a) is type(b)


class Matcher:
    """Tests ``fact`` against a compiled condition (``test(spec) -> bool``), with ``bound``
    the facts bound to earlier aliases (a join to an alias not bound does not match)."""

    def __init__(self, fact: Mapping[str, Any], bound: Mapping[str, Mapping[str, Any]]):
        self.fact = fact
        self.bound = bound

    def operand(self, raw: Any) -> Any:
        if isinstance(raw, Mapping):
            ((key, field),) = raw.items()
            source = self.fact if key == "$m" else self.bound.get(key)
            if source is None:
                return MISSING
            return source.get(field, MISSING)
        return raw

    def test(self, spec: Mapping[str, Any]) -> bool:
        for key, raw in spec.items():
            if key == "$and":
                if not all(self.test(part) for part in raw):
                    return False
            elif key == "$or":
                if not any(self.test(part) for part in raw):
                    return False
            elif key == "$ex":
                ((field, _),) = raw.items()
                if field not in self.fact:
                    return False
            elif key == "$nex":
                ((field, _),) = raw.items()
                if field in self.fact:
                    return False
            elif key == "$neq":
                ((field, operand),) = raw.items()
                actual, expected = self.fact.get(field, MISSING), self.operand(operand)
                if actual is MISSING or expected is MISSING:
                    return False
                if _comparable(actual, expected) and actual == expected:
                    return False
            elif key in _ORDER_OPS:
                ((field, operand),) = raw.items()
                actual, expected = self.fact.get(field, MISSING), self.operand(operand)
                if actual is MISSING or expected is MISSING:
                    return False
                if not _comparable(actual, expected) or isinstance(actual, bool):
                    return False
                if not _ORDER_OPS[key](actual, expected):
                    return False
            else:
                actual, expected = self.fact.get(key, MISSING), self.operand(raw)
                if actual is MISSING or expected is MISSING:
                    return False
                if not (_comparable(actual, expected) and actual == expected):
                    return False
        return True


def engine_key(value: Any) -> Any:
    """Index key with the engine's equality: numbers by value, bools apart from numbers."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    return (type(value).__name__, value)



