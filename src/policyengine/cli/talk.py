"""What ``evaluate`` tells a person on stderr: progress, a summary line, what tripped.

Progress is drawn by tqdm (small, no dependencies of its own, writes to stderr, and turns
itself off when stderr is not a terminal: ``disable=None``). Nothing here touches stdout:
the report's bytes are the same with or without a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Bars for ``facts read`` and ``shards evaluated``; silent off a terminal.

    Call it as the library's ``progress(stage, done, total)`` callback.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            label = {"facts": "facts read", "shards": "shards evaluated"}.get(stage, stage)
            bar = tqdm(total=total, desc=label, unit=" " + stage, file=self.stream,
                       disable=None, leave=False, dynamic_ncols=True, mininterval=0.2)
            self.bars[stage] = bar
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def summary_line(rows: Mapping[str, int], missed: int, breaches: int,
                 credits: Mapping[str, Decimal], seconds: float, customers: int,
                 provisional: int = 0) -> str:
    """One line: ``evaluated: 5 customers, 4 customer-periods (2 missed), 8 breaches,
    65 findings, credits 14166.67 USD, 0.9 s`` (credits of every status, per currency).

    ``missed``: periods with a verdict below the target; ``provisional``: periods of a month
    not over at as-of (no verdict yet, never missed), shown as ``(2 missed, 1 provisional)``
    when there are any."""
    money = ", ".join(f"{amount} {currency}" for currency, amount in sorted(credits.items()))
    periods = f"{missed} missed" + (f", {provisional} provisional" if provisional else "")
    return (f"evaluated: {customers} customers, {rows.get('availability', 0)} customer-periods "
            f"({periods}), {breaches} breaches, {rows.get('findings', 0)} findings, "
            f"credits {money or 'none'}, {seconds:.1f} s")


def credit_totals(amounts: Iterable[tuple[str, str]]) -> dict[str, Decimal]:
    """(currency, amount) pairs added up per currency, in Decimal."""
    totals: dict[str, Decimal] = {}
    for currency, amount in amounts:
        try:
            totals[currency] = totals.get(currency, Decimal(0)) + Decimal(amount)
        except InvalidOperation:
            continue
    return totals


def tripped(fail_on: Iterable[str], outcome_counts: Mapping[str, int],
            warnings: int) -> list[str]:
    """What made ``--fail-on`` fail, and how often: ``["breach (8)", "warning (1)"]``."""
    found = []
    for outcome in dict.fromkeys(fail_on):
        count = warnings if outcome == "warning" else outcome_counts.get(outcome, 0)
        if count:
            found.append(f"{outcome} ({count})")
    return found
