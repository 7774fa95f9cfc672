"""Readable durations (``48h``, ``7d``, ``30m``) as used in policy terms."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(s|m|h|d|w)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def is_duration(text: object) -> bool:
    """True when ``text`` is a duration string such as ``48h``."""
    return isinstance(text, str) and _DURATION.match(text) is not None


@lru_cache(maxsize=1024)
def duration_seconds(text: str) -> int | float:
    """Seconds in a duration string; ``d`` is 24 elapsed hours and ``w`` seven days.

    Raises ValueError for anything that is not a duration.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 48h, 7d or 30m)")
    seconds = Decimal(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return int(seconds) if seconds == seconds.to_integral_value() else float(seconds)


def duration_days(text: str) -> int:
    """Whole calendar days in a duration given in days (``60d``); used by claim windows."""
    match = _DURATION.match(text)
    if match is None or match.group(2) not in ("d", "w") or "." in match.group(1):
        raise ValueError(f"not a whole number of days: {text!r} (expected e.g. 60d)")
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


def format_seconds(seconds: float) -> str:
    """Inverse of :func:`duration_seconds` for display: 172800 → ``48h``."""
    for unit in ("h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
