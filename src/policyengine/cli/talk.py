"""What ``evaluate`` tells a person on stderr: progress, a summary line, what tripped.

Progress is drawn by tqdm (small, no dependencies of its own, writes to stderr, and turns
itself off when stderr is not a terminal: ``disable=None``). Nothing here touches stdout:
the report's bytes are the same with or without a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Bars for facts read, shards or stages evaluated; silent off a terminal.

    Call it as the library's ``progress(stage, done, total)`` callback. Stages: ``bytes``
    (the "facts read" bar, in bytes of the input, with the number of facts beside it),
    ``facts`` (facts read: beside the bytes, or a bar of its own when the size is not
    known), ``shards`` (shards evaluated, streamed) and ``stages`` (evaluation stages done,
    in memory). Each bar is drawn as soon as its stage is first heard of; the reading bar
    is removed when evaluation begins.
    """

    LABELS = {"bytes": "facts read", "facts": "facts read", "shards": "shards evaluated",
              "stages": "stages evaluated"}

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage == "facts" and "bytes" in self.bars:  # the count beside the bytes
            bar = self.bars["bytes"]
            bar.set_postfix_str(f"{done:,} facts", refresh=False)
            return
        bar = self.bars.get(stage)
        if bar is None:
            if stage in ("shards", "stages"):  # reading is over: its bar gives way
                for reading in ("bytes", "facts"):
                    if reading in self.bars:
                        self.bars.pop(reading).close()
            label = self.LABELS.get(stage, stage)
            units = ({"unit": "B", "unit_scale": True, "unit_divisor": 1024}
                     if stage == "bytes" else {"unit": " " + stage})
            bar = tqdm(total=total, desc=label, file=self.stream, disable=None, leave=False,
                       dynamic_ncols=True, mininterval=0.2, **units)
            self.bars[stage] = bar
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


CREDIT_STATUSES = ("payable", "claimable", "expired")  # the order the summary line says them


def summary_line(rows: Mapping[str, int], missed: int, breaches: int,
                 credits: Mapping[tuple[str, str], Decimal], seconds: float, customers: int,
                 provisional: int = 0) -> str:
    """One line: ``evaluated: 5 customers, 4 customer-periods (2 missed), 8 breaches,
    65 findings, credits payable 10000.00 USD, claimable 4166.67 USD, 0.9 s``.

    ``credits``: amounts per ``(status, currency)`` (:attr:`Stats.credits_by_status`).
    What is owed is told apart from what may still be claimed and what was forfeited: each
    status present is named with its totals per currency, in the order payable, claimable,
    expired (any other status after, alphabetically); ``credits none`` when there are none.
    Amounts of different statuses or currencies are never added together.
    ``missed``: periods with a verdict below the target; ``provisional``: periods of a month
    not over at as-of (no verdict yet, never missed), shown as ``(2 missed, 1 provisional)``
    when there are any. Counts take the plural they need: ``1 customer``, ``2 customers``.
    """
    order = {status: rank for rank, status in enumerate(CREDIT_STATUSES)}
    statuses = sorted({status for status, _ in credits},
                      key=lambda status: (order.get(status, len(order)), status))
    money = ", ".join(
        f"{status} " + ", ".join(f"{amount} {currency}"
                                 for (each, currency), amount in sorted(credits.items())
                                 if each == status)
        for status in statuses)
    periods = f"{missed} missed" + (f", {provisional} provisional" if provisional else "")
    return (f"evaluated: {_count(customers, 'customer')}, "
            f"{_count(rows.get('availability', 0), 'customer-period')} "
            f"({periods}), {_count(breaches, 'breach', 'breaches')}, "
            f"{_count(rows.get('findings', 0), 'finding')}, "
            f"credits {money or 'none'}, {seconds:.1f} s")


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"


def tripped(fail_on: Iterable[str], outcome_counts: Mapping[str, int],
            warnings: int) -> list[str]:
    """What made ``--fail-on`` fail, and how often: ``["breach (8)", "warning (1)"]``."""
    found = []
    for outcome in dict.fromkeys(fail_on):
        count = warnings if outcome == "warning" else outcome_counts.get(outcome, 0)
        if count:
            found.append(f"{outcome} ({count})")
    return found
