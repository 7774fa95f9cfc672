"""Support-hour ("business") clocks and elapsed clocks for SLA tickets.

Every instant is a float of epoch seconds (UTC). A :class:`BusinessCalendar` turns a weekly
schedule of local wall-clock opening hours, a holiday calendar and explicit closures into a
sorted index of opening intervals in UTC epoch seconds, built lazily per local calendar year
and searched with :mod:`bisect`. Each local wall time is converted to UTC individually with
:mod:`zoneinfo` (never ``aware + timedelta`` in local time), so days around DST changes keep
their real length: a 09:00-18:00 day is nine real hours on both 2026-03-08 and 2026-11-01 in
New York.

Conventions shared by every clock:

* opening intervals are half-open: a 09:00-18:00 day is open at 09:00 and closed at 18:00;
* ``add(epoch, seconds)`` is the earliest instant ``t >= epoch`` such that the open, unpaused
  time in ``[epoch, t]`` equals ``seconds``; hence a due time that lands exactly on closing
  stays at closing, a clock started outside hours effectively starts at the next opening, and
  ``add(epoch, 0)`` is ``epoch`` itself (even when the calendar is closed at ``epoch``);
* pauses are ``(start, end)`` intervals during which the clock does not run; overlapping or
  touching pauses are merged.
"""

from __future__ import annotations

import datetime
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = ["MAX_YEAR", "MIN_YEAR", "WEEKDAYS", "BusinessCalendar", "Clock", "ElapsedClock"]

#: Local calendar years a :class:`BusinessCalendar` can index (inclusive).
MIN_YEAR = 1970
MAX_YEAR = 2200

#: Keys accepted in ``weekly_hours``, in ``date.weekday()`` order.
WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

_AVG_YEAR_SECONDS = 31_556_952.0  # 365.2425 days, only used as a first guess
_ONE_DAY = datetime.timedelta(days=1)

Pauses = Sequence[tuple[float, float]]
_WallTime = tuple[int, int, int]  # (hour, minute, second); (24, 0, 0) means next midnight


@runtime_checkable
class Clock(Protocol):
    """Anything that can compute SLA due times and consumed time."""

    def add(self, epoch: float, seconds: float, pauses: Pauses = ()) -> float:
        """Earliest instant at which ``seconds`` of running time have elapsed since ``epoch``."""
        ...

    def measure(self, start: float, end: float, pauses: Pauses = ()) -> float:
        """Running seconds in ``[start, end)`` excluding pauses."""
        ...


def _check_seconds(seconds: float) -> None:
    if not math.isfinite(seconds):
        raise ValueError(f"seconds must be finite, got {seconds!r}")
    if seconds < 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")


def _merge_pauses(pauses: Pauses) -> list[tuple[float, float]]:
    """Sorted, disjoint pauses; empty pauses dropped, touching/overlapping ones merged."""
    if not pauses:
        return []
    items: list[tuple[float, float]] = []
    for start, end in pauses:
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"pause bounds must be finite, got ({start!r}, {end!r})")
        if end < start:
            raise ValueError(f"pause ends before it starts: ({start!r}, {end!r})")
        if end > start:
            items.append((start, end))
    items.sort()
    merged: list[tuple[float, float]] = []
    for start, end in items:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


class _PausableClock:
    """Pause handling shared by every clock.

    Subclasses provide ``_open(a, b)`` (running seconds in ``[a, b)``, ``a <= b``) and
    ``_advance(a, n)`` (earliest ``t >= a`` with ``_open(a, t) == n``, for ``n > 0``).
    """

    def _open(self, a: float, b: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _advance(self, a: float, n: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def add(self, epoch: float, seconds: float, pauses: Pauses = ()) -> float:
        """Earliest instant ``t >= epoch`` such that the running time in ``[epoch, t]``,
        excluding ``pauses``, equals ``seconds``.

        ``add(epoch, 0)`` returns ``epoch`` unchanged, even when the clock is not running at
        ``epoch`` (closed or paused). Negative or non-finite ``seconds`` raise ``ValueError``.
        """
        _check_seconds(seconds)
        if seconds == 0:
            return epoch
        cur = epoch
        remaining = seconds
        for p_start, p_end in _merge_pauses(pauses):
            if p_end <= cur:
                continue
            if p_start > cur:
                available = self._open(cur, p_start)
                if remaining <= available:
                    return self._advance(cur, remaining)
                remaining -= available
            cur = p_end
        return self._advance(cur, remaining)

    def measure(self, start: float, end: float, pauses: Pauses = ()) -> float:
        """Running seconds in ``[start, end)`` minus the running seconds covered by ``pauses``.

        Returns ``0.0`` when ``end <= start``.
        """
        if end <= start:
            return 0.0
        total = self._open(start, end)
        for p_start, p_end in _merge_pauses(pauses):
            lo = p_start if p_start > start else start
            hi = p_end if p_end < end else end
            if hi > lo:
                total -= self._open(lo, hi)
        return total if total > 0.0 else 0.0


class ElapsedClock(_PausableClock):
    """A 24/7 clock: plain elapsed (real) time, minus pauses."""

    def is_open(self, epoch: float) -> bool:
        """Always ``True``."""
        return True

    def next_opening(self, epoch: float) -> float:
        """``epoch`` itself: an elapsed clock is always running."""
        return epoch

    def _open(self, a: float, b: float) -> float:
        return b - a

    def _advance(self, a: float, n: float) -> float:
        return a + n

    def __repr__(self) -> str:
        return "ElapsedClock()"


class _YearIndex:
    """Opening intervals of one local calendar year, as parallel sorted lists.

    ``cum[i]`` is the open time of intervals ``0 .. i-1``; ``cum[-1]`` is the year's total.
    """

    __slots__ = ("starts", "ends", "cum")

    def __init__(self, intervals: list[tuple[float, float]]) -> None:
        self.starts = [s for s, _ in intervals]
        self.ends = [e for _, e in intervals]
        cum = [0.0]
        acc = 0.0
        for s, e in intervals:
            acc += e - s
            cum.append(acc)
        self.cum = cum

    @property
    def total(self) -> float:
        return self.cum[-1]

    def open_before(self, t: float) -> float:
        """Open seconds of this year's intervals that lie before ``t``."""
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return 0.0
        end = self.ends[i]
        return self.cum[i] + ((t if t < end else end) - self.starts[i])

    def instant_at(self, target: float) -> float:
        """Earliest instant whose :meth:`open_before` is ``target`` (``0 < target <= total``)."""
        i = bisect_left(self.cum, target) - 1
        return self.starts[i] + (target - self.cum[i])


def _parse_wall_time(text: str, *, allow_24: bool) -> _WallTime:
    parts = str(text).strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"invalid time {text!r}: expected 'HH:MM' or 'HH:MM:SS'")
    hour, minute = int(parts[0]), int(parts[1])
    second = int(parts[2]) if len(parts) == 3 else 0
    if hour == 24 and minute == 0 and second == 0:
        if not allow_24:
            raise ValueError(f"invalid time {text!r}: '24:00' is only allowed as an end")
        return (24, 0, 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"invalid time {text!r}")
    return (hour, minute, second)


def _as_date(value: object) -> datetime.date:
    if isinstance(value, datetime.datetime):
        raise TypeError(f"closure must be a date, not a datetime: {value!r}")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    raise TypeError(f"closure must be a date or an ISO 'YYYY-MM-DD' string: {value!r}")


class BusinessCalendar(_PausableClock):
    """Support hours: a weekly schedule in a time zone, minus holidays and closures.

    ``weekly_hours`` maps ``"monday"`` .. ``"sunday"`` to lists of ``(start, end)`` local
    wall times (``"HH:MM"``; ``"24:00"`` is allowed as an end; several intervals per day are
    allowed and overlapping ones merged); a missing day is closed. A local date is closed all
    day when it is a holiday of ``holiday_country`` (for the given subdivision and
    categories; with ``holiday_observed`` the weekday a weekend holiday is observed on is
    closed too) or in ``added_closures``, unless it is in ``removed_closures``.
    Holiday membership is decided on the local date in ``timezone``.

    Wall times that do not exist on a DST spring-forward day resolve with the pre-transition
    offset (02:30 becomes 03:30 in New York); ambiguous fall-back times take their first
    occurrence. Intervals that become empty this way are dropped.

    Supported instants are those whose local year lies in ``MIN_YEAR .. MAX_YEAR``; other
    instants raise ``ValueError``. Year indexes are built on first use and cached.
    """

    def __init__(
        self,
        *,
        timezone: str,
        weekly_hours: Mapping[str, Sequence[tuple[str, str]]],
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
        holiday_categories: Sequence[str] = ("public",),
        holiday_observed: bool = True,
        added_closures: Iterable[datetime.date] = (),
        removed_closures: Iterable[datetime.date] = (),
    ) -> None:
        from policyengine.clocks.zones import zone_problem

        problem = zone_problem(timezone)
        if problem:
            raise ValueError(problem)
        try:
            self._tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {timezone!r}") from exc
        self.timezone = timezone

        hours: list[list[tuple[_WallTime, _WallTime]]] = [[] for _ in WEEKDAYS]
        for key, intervals in weekly_hours.items():
            day = str(key).strip().lower()
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {key!r}: expected one of {', '.join(WEEKDAYS)}")
            for interval in intervals:
                start_text, end_text = interval
                start = _parse_wall_time(start_text, allow_24=False)
                end = _parse_wall_time(end_text, allow_24=True)
                if end <= start:
                    raise ValueError(
                        f"{day}: opening interval ({start_text!r}, {end_text!r}) is empty"
                    )
                hours[WEEKDAYS.index(day)].append((start, end))
        for day_hours in hours:
            day_hours.sort()
        self._hours = hours
        self._never_open = not any(hours)

        self.holiday_country = holiday_country
        self.holiday_subdivision = holiday_subdivision
        self.holiday_categories = tuple(holiday_categories)
        self.holiday_observed = bool(holiday_observed)
        if holiday_country is None and holiday_subdivision is not None:
            raise ValueError("holiday_subdivision needs holiday_country")
        if holiday_country is not None:
            self._holiday_source(())  # validate country/subdivision/categories eagerly

        self.added_closures = frozenset(_as_date(d) for d in added_closures)
        self.removed_closures = frozenset(_as_date(d) for d in removed_closures)
        both = self.added_closures & self.removed_closures
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates both added and removed as closures: {listed}")

        self._years: dict[int, _YearIndex] = {}
        self._year_starts: dict[int, float] = {}
        self._closed: dict[int, frozenset[datetime.date]] = {}

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(timezone={self.timezone!r}, "
            f"holiday_country={self.holiday_country!r}, "
            f"holiday_subdivision={self.holiday_subdivision!r})"
        )

    # -- holidays ---------------------------------------------------------------------------

    def _holiday_source(self, years: Iterable[int]) -> holidays.HolidayBase:
        try:
            return holidays.country_holidays(
                self.holiday_country,
                subdiv=self.holiday_subdivision,
                categories=self.holiday_categories,
                observed=self.holiday_observed,
                years=list(years),
                expand=False,
            )
        except (NotImplementedError, ValueError, KeyError) as exc:
            raise ValueError(f"holiday calendar: {exc}") from exc

    def _closed_dates(self, year: int) -> frozenset[datetime.date]:
        closed = self._closed.get(year)
        if closed is None:
            dates: set[datetime.date] = set()
            if self.holiday_country is not None:
                # Neighbouring years too: an observed date may fall in the adjacent year.
                source = self._holiday_source((year - 1, year, year + 1))
                dates.update(d for d in source if d.year == year)
            dates.update(d for d in self.added_closures if d.year == year)
            dates.difference_update(self.removed_closures)
            closed = frozenset(dates)
            self._closed[year] = closed
        return closed

    def is_holiday(self, day: datetime.date) -> bool:
        """Whether the local date ``day`` is closed all day by the holiday calendar or an
        added closure (and not re-opened by a removed closure).

        Weekly closed days (e.g. Saturday) are not holidays. ``datetime`` values are rejected:
        convert an instant to its local date in the calendar's time zone first.
        """
        day = _as_date(day)
        return day in self._closed_dates(day.year)

    # -- index ------------------------------------------------------------------------------

    def _wall_epoch(self, day: datetime.date, wall: _WallTime) -> float:
        hour, minute, second = wall
        if hour == 24:
            day = day + _ONE_DAY
            hour = 0
        return datetime.datetime(
            day.year, day.month, day.day, hour, minute, second, tzinfo=self._tz
        ).timestamp()

    def _year_start(self, year: int) -> float:
        start = self._year_starts.get(year)
        if start is None:
            start = datetime.datetime(year, 1, 1, tzinfo=self._tz).timestamp()
            self._year_starts[year] = start
        return start

    def _year_of(self, epoch: float) -> int:
        """Local calendar year containing ``epoch``."""
        if not math.isfinite(epoch):
            raise ValueError(f"epoch must be finite, got {epoch!r}")
        year = 1970 + int(epoch // _AVG_YEAR_SECONDS)
        if year < MIN_YEAR - 1 or year > MAX_YEAR + 1:
            raise ValueError(f"epoch {epoch!r} is outside years {MIN_YEAR}..{MAX_YEAR}")
        while epoch < self._year_start(year):
            year -= 1
        while epoch >= self._year_start(year + 1):
            year += 1
        if year < MIN_YEAR or year > MAX_YEAR:
            raise ValueError(f"epoch {epoch!r} is outside years {MIN_YEAR}..{MAX_YEAR}")
        return year

    def _index(self, year: int) -> _YearIndex:
        index = self._years.get(year)
        if index is None:
            if year < MIN_YEAR or year > MAX_YEAR:
                raise ValueError(f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}")
            index = _YearIndex(self._build_intervals(year))
            self._years[year] = index
        return index

    def _build_intervals(self, year: int) -> list[tuple[float, float]]:
        closed = self._closed_dates(year)
        raw: list[tuple[float, float]] = []
        day = datetime.date(year, 1, 1)
        while day.year == year:
            day_hours = self._hours[day.weekday()]
            if day_hours and day not in closed:
                for start, end in day_hours:
                    s = self._wall_epoch(day, start)
                    e = self._wall_epoch(day, end)
                    if e > s:
                        raw.append((s, e))
            day += _ONE_DAY
        raw.sort()
        merged: list[tuple[float, float]] = []
        for s, e in raw:
            if merged and s <= merged[-1][1]:
                if e > merged[-1][1]:
                    merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        return merged

    def intervals(self, year: int) -> list[tuple[float, float]]:
        """Opening intervals ``[start, end)`` (UTC epoch seconds) of local year ``year``."""
        index = self._index(year)
        return list(zip(index.starts, index.ends, strict=True))

    # -- queries ----------------------------------------------------------------------------

    def is_open(self, epoch: float) -> bool:
        """Whether support hours are running at ``epoch`` (opening is open, closing is not)."""
        index = self._index(self._year_of(epoch))
        i = bisect_right(index.starts, epoch) - 1
        return i >= 0 and epoch < index.ends[i]

    def next_opening(self, epoch: float) -> float:
        """``epoch`` itself when open, else the start of the next opening interval.

        Raises ``ValueError`` when the calendar never opens again before ``MAX_YEAR`` ends.
        """
        year = self._year_of(epoch)
        index = self._index(year)
        i = bisect_right(index.starts, epoch) - 1
        if i >= 0 and epoch < index.ends[i]:
            return epoch
        i += 1
        while i >= len(index.starts):
            if self._never_open or year >= MAX_YEAR:
                raise ValueError("the calendar never opens after this instant")
            year += 1
            index = self._index(year)
            i = 0
        return index.starts[i]

    def _open(self, a: float, b: float) -> float:
        year_a = self._year_of(a)
        year_b = self._year_of(b)
        index_a = self._index(year_a)
        if year_a == year_b:
            return index_a.open_before(b) - index_a.open_before(a)
        total = index_a.total - index_a.open_before(a)
        for year in range(year_a + 1, year_b):
            total += self._index(year).total
        return total + self._index(year_b).open_before(b)

    def _advance(self, a: float, n: float) -> float:
        if self._never_open:
            raise ValueError("the calendar has no opening hours")
        year = self._year_of(a)
        index = self._index(year)
        j = bisect_right(index.ends, a)  # first interval that ends after ``a``
        rest = n
        if j < len(index.ends):
            start = index.starts[j]
            position = start if start > a else a
            room = index.ends[j] - position
            if rest <= room:
                return position + rest
            rest -= room
            base = index.cum[j + 1]
        else:
            base = index.total
        # ``base`` (open time of this year already behind us) and ``rest`` are kept apart so a
        # tiny ``rest`` is never lost by rounding ``base + rest``.
        while rest > index.total - base:
            rest -= index.total - base
            if year >= MAX_YEAR:
                raise ValueError(f"due time is after year {MAX_YEAR}")
            year += 1
            index = self._index(year)
            base = 0.0
        return index.instant_at(base + rest)
