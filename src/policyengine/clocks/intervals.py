"""Interval arithmetic on epoch seconds: half-open ``[start, end)`` pairs."""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[float, float]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping or touching intervals; empty ones are dropped."""
    merged: list[list[float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def clip(intervals: Iterable[Interval], start: float, end: float) -> list[Interval]:
    """The parts of ``intervals`` inside ``[start, end)``."""
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and e > start]


def total(intervals: Iterable[Interval]) -> float:
    """Covered length of a list of intervals, counting overlaps once."""
    return sum(e - s for s, e in union(intervals))
