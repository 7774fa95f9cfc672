"""Seeded generator of realistic fact sets for benchmarks (bench-only; not shipped).

One year (2026) of operations for N customers:

* customers: mostly production SaaS; some beta/trial/pilot; ~10% on-premise (mostly
  perpetual licences, support active or lapsed);
* outages: a few affecting every SaaS customer (no ``customers``), most affecting one customer
  (some a small shard of 2-8); causes vendor / customer / third_party / force_majeure;
* scheduled maintenance (fleet-wide every other Saturday night, plus per-tenant windows) with
  notices: most in time, some late (< 48 h), some missing; emergency maintenance;
* significant and high-priority changes, with notices (some late, some on the wrong channel:
  the policy wants email);
* notices for fleet-wide subjects are either one broadcast notice (no ``customer``) or a
  mailing of one notice per SaaS customer, which is what makes notices the second-largest fact
  type (~20%);
* tickets (the rest, ~66%) of every severity: assigned, impact only, or both (sometimes
  disagreeing); most answered, some late, some still open; some with a status history;
* credit requests (some late) and update requests (including lapsed perpetual customers).

Timestamps carry offsets (mostly America/New_York, some ``Z`` or other offsets).

    python bench/generate.py --customers 2000 --facts 1000000 --seed 7 \\
        --out bench/out/facts-1m.ndjson

``.ndjson``/``.jsonl`` → one fact per line; ``.yaml``/``.yml`` → a FactSet document (one
flow-style fact per line). The same arguments give byte-identical output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
OTHER_OFFSETS = (dt.timezone(dt.timedelta(hours=1)), dt.timezone(dt.timedelta(hours=5, minutes=30)),
                 dt.timezone(dt.timedelta(hours=-8)))
YEAR_START = dt.datetime(2026, 1, 1, tzinfo=NY).timestamp()
YEAR_END = dt.datetime(2027, 1, 1, tzinfo=NY).timestamp()
HOUR = 3600.0
DAY = 86400.0

# shares of the facts left once subscriptions are written
SHARE_OUTAGES = 0.040           # per-customer (or shard) outages
SHARE_TENANT_MAINTENANCE = 0.020  # per-customer scheduled maintenance (1-2 notices each)
SHARE_EMERGENCY = 0.005         # per-customer emergency maintenance
SHARE_NOTICES = 0.200           # every notice, all kinds
SHARE_CREDIT_REQUESTS = 0.010
SHARE_UPDATE_REQUESTS = 0.030
FLEET_OUTAGES = 24              # per year, every SaaS customer
FLEET_MAINTENANCE = 26          # every other Saturday night
FLEET_EMERGENCIES = 6


def default_customers(facts: int) -> int:
    """~500 facts per customer-year (2,000 customers at 1M facts)."""
    return max(5, facts // 500)


class _Clock:
    """Timestamps in the year, rendered with offsets."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def iso(self, epoch: float, *, mixed: bool = True) -> str:
        """Mostly New York local time; with ``mixed`` sometimes Z or another offset."""
        epoch = round(epoch)
        roll = self.rng.random() if mixed else 1.0
        if roll < 0.10:
            zone: dt.tzinfo = UTC
        elif roll < 0.15:
            zone = self.rng.choice(OTHER_OFFSETS)
        else:
            zone = NY
        text = dt.datetime.fromtimestamp(epoch, zone).isoformat(timespec="seconds")
        return text.replace("+00:00", "Z") if zone is UTC else text

    def any_time(self) -> float:
        return self.rng.uniform(YEAR_START, YEAR_END - 2 * DAY)

    def working_time(self) -> float:
        """A weekday between 08:00 and 19:00 New York time (70%), else any time."""
        if self.rng.random() >= 0.7:
            return self.any_time()
        while True:
            t = self.any_time()
            local = dt.datetime.fromtimestamp(t, NY)
            if local.weekday() < 5:
                day = local.replace(hour=8, minute=0, second=0)
                return day.timestamp() + self.rng.uniform(0, 11 * HOUR)

    def next_working(self, epoch: float) -> float:
        """``epoch`` if it falls on a weekday 09:00-18:00 New York time, else the next 09:00."""
        local = dt.datetime.fromtimestamp(epoch, NY)
        if local.weekday() < 5 and 9 <= local.hour < 18:
            return epoch
        day = local.date() + dt.timedelta(days=0 if local.hour < 9 else 1)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return self.local(day, 9)

    def local(self, day: dt.date, hour: int, minute: int = 0) -> float:
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY).timestamp()


def _lognormal(rng: random.Random, median: float, sigma: float, low: float, high: float) -> float:
    return min(high, max(low, median * math.exp(rng.gauss(0.0, sigma))))


def _weighted_picker(rng: random.Random, names: list[str], skew: float = 1.1):
    """Pick names with a Zipf-like skew (big customers raise more tickets)."""
    weights = [1.0 / (rank + 1) ** (skew / 2) for rank in range(len(names))]
    order = names[:]
    rng.shuffle(order)
    cumulative: list[float] = []
    acc = 0.0
    for w in weights:
        acc += w
        cumulative.append(acc)

    def pick(k: int = 1) -> list[str]:
        return rng.choices(order, cum_weights=cumulative, k=k)

    return pick


class Generator:
    def __init__(self, customers: int, facts: int, seed: int):
        if customers < 1:
            raise ValueError("need at least one customer")
        self.n_customers = customers
        self.n_facts = facts
        self.rng = random.Random(seed)
        self.clock = _Clock(self.rng)
        self.counts: Counter[str] = Counter()

    # -- customers -----------------------------------------------------------------------
    def subscriptions(self) -> list[dict[str, Any]]:
        rng = self.rng
        out = []
        for i in range(self.n_customers):
            name = f"cust-{i:05d}"
            on_prem = rng.random() < 0.10
            roll = rng.random()
            plan = ("production" if roll < 0.86 else "beta" if roll < 0.91
                    else "trial" if roll < 0.96 else "pilot")
            if on_prem:
                plan = "production"
                license_ = "perpetual" if rng.random() < 0.7 else "subscription"
                support = "lapsed" if rng.random() < 0.4 else "active"
            else:
                license_, support = "subscription", "active"
            if plan == "production":
                fee = f"{round(_lognormal(rng, 48000, 0.9, 6000, 900000), -2):.2f}"
            else:
                fee = "0" if rng.random() < 0.6 else f"{rng.choice([1200, 2400, 6000]):.2f}"
            start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 900))
            if rng.random() < 0.7:
                start = start.replace(day=1)
            years = 1 if plan == "production" else 0
            if plan == "production" and rng.random() < 0.3:
                years = rng.choice([2, 3])
            if years:
                end = start.replace(year=start.year + years) - dt.timedelta(days=1)
            else:
                end = start + dt.timedelta(days=rng.choice([30, 60, 90, 180]))
            fact: dict[str, Any] = {
                "type": "subscription", "customer": name, "plan": plan,
                "deployment": "on_premise" if on_prem else "saas", "license": license_,
                "annual_fee": fee,
                "currency": rng.choices(["USD", "EUR", "GBP"], [80, 15, 5])[0],
                "term_start": start.isoformat(), "term_end": end.isoformat(),
                "renewed": rng.random() < 0.75, "support": support,
            }
            if rng.random() < 0.8:
                fact["contact"] = f"ops@{name}.example"
            out.append(fact)
        return out

    # -- generation ------------------------------------------------------------------------
    def facts(self) -> Iterator[dict[str, Any]]:
        rng, clock = self.rng, self.clock
        subs = self.subscriptions()
        saas = [s["customer"] for s in subs if s["deployment"] == "saas"]
        production_saas = [s["customer"] for s in subs
                           if s["deployment"] == "saas" and s["plan"] == "production"]
        everyone = [s["customer"] for s in subs]
        if not saas:
            raise ValueError("no SaaS customer: use more customers")
        rest = self.n_facts - len(subs)
        n_outages = round(rest * SHARE_OUTAGES)
        n_tenant_maint = round(rest * SHARE_TENANT_MAINTENANCE)
        n_emergency = round(rest * SHARE_EMERGENCY)
        n_changes = min(150, max(12, rest // 10000))
        n_credit = round(rest * SHARE_CREDIT_REQUESTS)
        n_update = round(rest * SHARE_UPDATE_REQUESTS)
        pick_any = _weighted_picker(rng, everyone)

        yield from subs
        self.counts["subscription"] += len(subs)
        emitted = len(subs)
        notices: list[dict[str, Any]] = []
        downtimes: list[dict[str, Any]] = []
        seq = Counter()

        def next_id(prefix: str) -> str:
            seq[prefix] += 1
            return f"{prefix}-{seq[prefix]:07d}"

        def downtime(start: float, minutes: float, cause: str, maintenance: str,
                     customers: list[str] | None) -> dict[str, Any]:
            fact: dict[str, Any] = {
                "type": "downtime", "id": next_id("dt"), "start": clock.iso(start),
                "end": clock.iso(start + round(minutes) * 60), "cause": cause,
                "maintenance": maintenance,
            }
            if customers is not None:
                fact["customers"] = customers
            downtimes.append(fact)
            return fact

        def notice(kind: str, about: str, sent_at: float, channel: str,
                   customer: str | None) -> None:
            fact: dict[str, Any] = {"type": "notice", "id": next_id("n"), "kind": kind,
                                    "about": about, "sent_at": clock.iso(sent_at),
                                    "channel": channel}
            if customer is not None:
                fact["customer"] = customer
            notices.append(fact)

        def scheduled_notice_plan() -> list[tuple[float, str]]:
            """(lead seconds, channel) of the notices sent for one maintenance window."""
            roll = rng.random()
            if roll < 0.08:
                return []  # forgotten
            channel = rng.choices(["email", "portal", "phone"], [70, 20, 10])[0]
            if roll < 0.20:  # late: under 48 h
                return [(rng.uniform(6, 47.5) * HOUR, channel)]
            plan = [(rng.uniform(72, 14 * 24) * HOUR, channel)]
            if rng.random() < 0.4:  # a reminder the day before
                plan.append((rng.uniform(20, 30) * HOUR, "email"))
            return plan

        def change_notice_plan(kind: str) -> list[tuple[float, str]]:
            roll = rng.random()
            if roll < 0.05:
                return []
            if roll < 0.10:  # wrong channel: the policy wants email
                channel = rng.choice(["portal", "phone"])
                return [(rng.uniform(8, 10) * DAY if kind == "significant"
                         else rng.uniform(30, 60) * HOUR, channel)]
            if roll < 0.22:  # late
                return [(rng.uniform(2, 6.5) * DAY if kind == "significant"
                         else rng.uniform(2, 23) * HOUR, "email")]
            return [(rng.uniform(7.5, 14) * DAY if kind == "significant"
                     else rng.uniform(25, 72) * HOUR, "email")]

        # fleet-wide events --------------------------------------------------------------
        fleet_subjects: list[tuple[str, str, float, list[tuple[float, str]]]] = []
        for _ in range(FLEET_OUTAGES):
            cause = rng.choices(["vendor", "third_party", "force_majeure"], [75, 20, 5])[0]
            downtime(clock.any_time(), _lognormal(rng, 15, 0.9, 2, 4 * 60), cause, "none", None)
        first_saturday = dt.date(2026, 1, 3)
        for week in range(FLEET_MAINTENANCE):
            day = first_saturday + dt.timedelta(days=14 * week)
            start = clock.local(day, 1)
            fact = downtime(start, rng.choice([60, 120, 180, 240, 360, 420]), "vendor", "scheduled",
                            None)
            fleet_subjects.append(("scheduled_downtime", fact["id"], start,
                                   scheduled_notice_plan()))
        for _ in range(FLEET_EMERGENCIES):
            downtime(clock.any_time(), _lognormal(rng, 90, 0.6, 20, 9 * 60), "vendor",
                     "emergency", None)
        for _ in range(n_changes):
            kind = "significant" if rng.random() < 0.7 else "high_priority"
            at = clock.working_time()
            change_id = next_id("ch")
            yield {"type": "change", "id": change_id, "kind": kind, "deployed_at": clock.iso(at)}
            emitted += 1
            self.counts["change"] += 1
            notice_kind = "significant_change" if kind == "significant" else "high_priority_update"
            fleet_subjects.append((notice_kind, change_id, at, change_notice_plan(kind)))

        # per-customer events ------------------------------------------------------------
        for _ in range(n_outages):
            customers = [rng.choice(saas)]
            if rng.random() < 0.2:  # a shard outage
                customers = sorted(set(rng.sample(saas, min(len(saas), rng.randint(2, 8)))))
            cause = rng.choices(["vendor", "customer", "third_party", "force_majeure"],
                                [60, 20, 15, 5])[0]
            downtime(clock.any_time(), _lognormal(rng, 8, 1.0, 1, 6 * 60), cause, "none",
                     customers)
        for _ in range(n_tenant_maint):
            customer = rng.choice(saas)
            day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 362))
            start = clock.local(day, rng.choice([0, 1, 2, 3, 22, 23]))
            fact = downtime(start, rng.choice([30, 60, 120, 240, 390]), "vendor", "scheduled",
                            [customer])
            for lead, channel in scheduled_notice_plan():
                notice("scheduled_downtime", fact["id"], start - lead, channel, customer)
        for _ in range(n_emergency):
            downtime(clock.any_time(), _lognormal(rng, 90, 0.7, 10, 10 * 60), "vendor",
                     "emergency", [rng.choice(saas)])

        # fleet-wide notices: broadcast, or mailed to each SaaS customer -------------------
        broadcast_notices = sum(len(plan) for *_, plan in fleet_subjects)
        budget = round(rest * SHARE_NOTICES) - len(notices) - broadcast_notices
        mailed = min(len(fleet_subjects), max(0, budget // max(1, len(saas))))
        mailed_ids = {s[1] for s in rng.sample(fleet_subjects, mailed)}
        for kind, about, at, plan in fleet_subjects:
            if about not in mailed_ids:
                for lead, channel in plan:
                    notice(kind, about, at - lead, channel, None)
                continue
            for customer in saas:
                # a mailing is one notice per customer; a few customers get it late, by
                # another channel, or not at all
                roll = rng.random()
                if roll < 0.01 or not plan:
                    continue
                lead, channel = plan[0]
                if roll < 0.04:
                    lead = lead * rng.uniform(0.1, 0.5)
                elif roll < 0.06:
                    channel = "portal"
                notice(kind, about, at - lead + rng.uniform(0, 600), channel, customer)

        for fact in downtimes:
            yield fact
        for fact in notices:
            yield fact
        emitted += len(downtimes) + len(notices)
        self.counts["downtime"] += len(downtimes)
        self.counts["notice"] += len(notices)

        # requests -----------------------------------------------------------------------
        credit_pool = production_saas or saas
        for _ in range(n_credit):
            month = rng.randint(1, 11)
            month_end = dt.datetime(2026 + (month == 12), month % 12 + 1, 1, tzinfo=NY)
            delay = rng.uniform(1, 50) if rng.random() < 0.75 else rng.uniform(55, 120)
            yield {"type": "credit_request", "customer": rng.choice(credit_pool),
                   "month": f"2026-{month:02d}",
                   "requested_at": clock.iso(month_end.timestamp() + delay * DAY)}
        for _ in range(n_update):
            yield {"type": "update_request", "id": next_id("UR"), "customer": pick_any(1)[0],
                   "requested_at": clock.iso(clock.working_time())}
        emitted += n_credit + n_update
        self.counts["credit_request"] += n_credit
        self.counts["update_request"] += n_update

        # tickets: the rest ---------------------------------------------------------------
        n_tickets = self.n_facts - emitted
        if n_tickets < 0:
            raise ValueError(f"{self.n_facts} facts are too few for {self.n_customers} customers "
                             f"(need at least {emitted}); use fewer customers")
        self.counts["ticket"] += n_tickets
        for _ in range(n_tickets):
            yield self.ticket(next_id("T"), pick_any(1)[0])

    def ticket(self, ticket_id: str, customer: str) -> dict[str, Any]:
        rng, clock = self.rng, self.clock
        opened = clock.working_time()
        fact: dict[str, Any] = {"type": "ticket", "id": ticket_id, "customer": customer,
                                "opened_at": clock.iso(opened, mixed=False)}
        roll = rng.random()
        impact: dict[str, bool] | None = None
        if roll >= 0.55:  # impact reported (alone 30%, with a severity 15%)
            r = rng.random()
            if r < 0.06:
                impact = {"loss_of_service": True, "workaround_available": False}
            elif r < 0.10:
                impact = {"critical_function": True, "workaround_available": False}
            elif r < 0.14:
                impact = {"loss_of_service": True, "workaround_available": True}
            elif r < 0.40:
                impact = {"production_degraded": True,
                          "workaround_available": rng.random() < 0.5}
            else:
                impact = {"production_degraded": False,
                          "workaround_available": rng.random() < 0.7}
            if rng.random() < 0.3:  # some reporters fill in every flag
                impact = {"loss_of_service": False, "critical_function": False,
                          "production_degraded": False, "workaround_available": False,
                          **impact}
            fact["impact"] = impact
        severity: int | None = None
        if roll < 0.70:  # assigned (alone 55%, with impact 15%)
            severity = rng.choices([1, 2, 3], [5, 25, 70])[0]
            fact["severity"] = severity
        else:
            assert impact is not None
        effective = severity or (1 if impact and (impact.get("loss_of_service")
                                                  or impact.get("critical_function"))
                                 and not impact.get("workaround_available")
                                 else 2 if impact and impact.get("production_degraded") else 3)
        unanswered = 0.5 if opened > YEAR_END - 12 * DAY else 0.015
        responded: float | None = None
        if rng.random() >= unanswered:
            # answered in working hours: from the next opening when it arrived out of hours
            start = clock.next_working(opened)
            responded = max(opened, start) + _lognormal(rng, 1.0 * HOUR, 0.9, 60, 5 * DAY)
            fact["first_response_at"] = clock.iso(responded)
        if responded is not None and rng.random() < {1: 0.97, 2: 0.92, 3: 0.80}[effective]:
            median = {1: 10 * HOUR, 2: 2 * DAY, 3: 6 * DAY}[effective]
            resolved = responded + _lognormal(rng, median, 0.9, 10 * 60, 60 * DAY)
            if resolved < YEAR_END + 5 * DAY:
                fact["resolved_at"] = clock.iso(resolved)
                if rng.random() < 0.10:
                    steps = sorted(rng.uniform(opened, resolved) for _ in range(rng.randint(1, 3)))
                    statuses = ["in_progress", "waiting_on_customer", "in_progress"]
                    fact["status_history"] = [{"at": clock.iso(t), "status": s}
                                              for t, s in zip(steps, statuses, strict=False)]
        return fact


def write(path: Path, facts: Iterator[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    yaml = path.suffix.lower() in (".yaml", ".yml")
    separators = (", ", ": ") if yaml else (",", ":")
    dumps = json.JSONEncoder(ensure_ascii=False, separators=separators).encode
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        if yaml:
            out.write("# generated by bench/generate.py\napiVersion: policyengine/v1\n"
                      "kind: FactSet\nfacts:\n")
        for fact in facts:
            out.write(f"  - {dumps(fact)}\n" if yaml else dumps(fact) + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=100_000, help="total facts (exact)")
    parser.add_argument("--customers", type=int, default=None,
                        help="customers (default: facts / 500)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help=".ndjson/.jsonl or .yaml")
    args = parser.parse_args(argv)
    customers = args.customers or default_customers(args.facts)
    generator = Generator(customers, args.facts, args.seed)
    count = write(args.out, generator.facts())
    mix = ", ".join(f"{k} {v}" for k, v in generator.counts.most_common())
    print(f"wrote {count} facts for {customers} customers to {args.out} ({mix})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
