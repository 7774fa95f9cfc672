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


def weighted_total(pieces: Iterable[tuple[float, float, float]]) -> float:
    """Covered length of ``(start, end, weight)`` pieces, each instant at the highest
    weight of the pieces covering it (overlaps count once, at their strongest).

    With every weight 1 this is :func:`total` (but :func:`total` is what callers without
    weights use, so their sums stay bit for bit as they were).
    """
    events: list[tuple[float, int, float]] = []
    for start, end, weight in pieces:
        if end > start and weight > 0:
            events.append((start, 1, weight))
            events.append((end, -1, weight))
    events.sort()
    active: dict[float, int] = {}
    covered = 0.0
    previous = None
    for at, step, weight in events:
        if previous is not None and active and at > previous:
            covered += (at - previous) * max(active)
        previous = at
        count = active.get(weight, 0) + step
        if count:
            active[weight] = count
        else:
            active.pop(weight, None)
    return covered
