"""Support-hour and elapsed clocks: hand-computed instants and properties.

Every expected instant below was computed by hand from the shipped support hours
(Monday-Friday 09:00-18:00 America/New_York, US federal holidays with observed dates).
New York is UTC-4 (EDT) from 2026-03-08 to 2026-11-01 and UTC-5 (EST) otherwise.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine.clocks.calendar import BusinessCalendar, Clock, ElapsedClock

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
HOUR = 3600.0
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def ny(*args: int) -> float:
    """Epoch of a New York wall time (unambiguous wall times only)."""
    return dt.datetime(*args, tzinfo=NY).timestamp()


def utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=UTC).timestamp()


def iso(epoch: float) -> str:
    """Readable failure messages."""
    return dt.datetime.fromtimestamp(epoch, NY).isoformat()


def support_hours(**overrides: object) -> BusinessCalendar:
    kwargs: dict[str, object] = {
        "timezone": "America/New_York",
        "weekly_hours": {day: [("09:00", "18:00")] for day in WEEKDAYS},
        "holiday_country": "US",
    }
    kwargs.update(overrides)
    return BusinessCalendar(**kwargs)  # type: ignore[arg-type]


CAL = support_hours()
ALWAYS = BusinessCalendar(
    timezone="America/New_York",
    weekly_hours={day: [("00:00", "24:00")] for day in (*WEEKDAYS, "saturday", "sunday")},
)
ELAPSED = ElapsedClock()


# -- due times (add) ------------------------------------------------------------------------

ADD_CASES = [
    pytest.param(
        ny(2026, 10, 16, 19), 4, ny(2026, 10, 19, 13), id="friday-after-closing-to-monday"
    ),
    pytest.param(ny(2026, 10, 19, 18), 4, ny(2026, 10, 20, 13), id="arrival-exactly-18h-is-closed"),
    pytest.param(ny(2026, 10, 19, 9), 4, ny(2026, 10, 19, 13), id="arrival-exactly-09h-is-open"),
    pytest.param(ny(2026, 10, 18, 3), 4, ny(2026, 10, 19, 13), id="arrival-on-sunday"),
    # Thanksgiving Thu 2026-11-26 is closed: the clock starts Fri 09:00.
    pytest.param(ny(2026, 11, 26, 10), 4, ny(2026, 11, 27, 13), id="arrival-on-federal-holiday"),
    # Independence Day 2026 is a Saturday, observed Fri 2026-07-03: closed until Mon 07-06.
    pytest.param(ny(2026, 7, 3, 10), 4, ny(2026, 7, 6, 13), id="arrival-on-observed-holiday"),
    pytest.param(ny(2026, 10, 19, 14), 4, ny(2026, 10, 19, 18), id="due-lands-exactly-on-closing"),
    pytest.param(
        ny(2026, 10, 19, 14, 1), 4, ny(2026, 10, 20, 9, 1), id="due-one-minute-past-closing"
    ),
    # Mon 11-23 10:00-18:00 = 8h (8), Tue 11-24 9h (17), Wed 11-25 9h (26),
    # Thu 11-26 Thanksgiving closed, Fri 11-27 9h (35), Sat/Sun closed, Mon 11-30 9h (44),
    # Tue 12-01 needs the remaining 4h: 09:00 + 4h = 13:00 EST.
    pytest.param(ny(2026, 11, 23, 10), 48, ny(2026, 12, 1, 13), id="48h-across-thanksgiving-week"),
    # Spring forward Sun 2026-03-08: Fri 03-06 17:00-18:00 EST (1h), Mon 03-09 09:00 EDT + 3h.
    pytest.param(ny(2026, 3, 6, 17), 4, ny(2026, 3, 9, 12), id="business-days-spring-forward"),
    # Fall back Sun 2026-11-01: Fri 10-30 17:00-18:00 EDT (1h), Mon 11-02 09:00 EST + 3h.
    pytest.param(ny(2026, 10, 30, 17), 4, ny(2026, 11, 2, 12), id="business-days-fall-back"),
    # Thu 2026-12-31 17:00-18:00 (1h); Fri 2027-01-01 New Year closed; Mon 01-04 09:00 + 3h.
    pytest.param(ny(2026, 12, 31, 17), 4, ny(2027, 1, 4, 12), id="across-new-year-into-holiday"),
    # New Year 2028 is a Saturday, observed Fri 2027-12-31 (in the previous year).
    pytest.param(
        ny(2027, 12, 30, 17), 4, ny(2028, 1, 3, 12), id="observed-holiday-in-previous-year"
    ),
]


@pytest.mark.parametrize(("start", "hours", "expected"), ADD_CASES)
def test_add_support_hours(start: float, hours: float, expected: float) -> None:
    due = CAL.add(start, hours * HOUR)
    assert due == expected, iso(due)
    assert CAL.measure(start, due) == hours * HOUR


def test_spelled_out_utc_instants() -> None:
    # Same cases, written against UTC so a wrong offset cannot cancel out.
    assert CAL.add(utc(2026, 10, 16, 23), 4 * HOUR) == utc(2026, 10, 19, 17)  # 19:00 EDT
    assert CAL.add(utc(2026, 11, 23, 15), 48 * HOUR) == utc(2026, 12, 1, 18)  # 10:00 EST
    assert ELAPSED.add(utc(2026, 3, 7, 17), 24 * HOUR) == utc(2026, 3, 8, 17)


def test_add_zero_returns_epoch_unchanged() -> None:
    friday_evening = ny(2026, 10, 16, 19)
    assert CAL.add(friday_evening, 0) == friday_evening
    assert CAL.add(friday_evening, 0.0, pauses=[(friday_evening - 1, friday_evening + 1)]) == (
        friday_evening
    )
    assert ELAPSED.add(friday_evening, 0) == friday_evening


@pytest.mark.parametrize("clock", [CAL, ELAPSED], ids=["business", "elapsed"])
@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")], ids=["neg", "nan", "inf"])
def test_add_rejects_bad_seconds(clock: Clock, seconds: float) -> None:
    with pytest.raises(ValueError):
        clock.add(ny(2026, 10, 19, 10), seconds)


# -- is_open / next_opening -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        pytest.param(ny(2026, 10, 19, 9), True, id="opening-instant-open"),
        pytest.param(ny(2026, 10, 19, 8, 59, 59), False, id="just-before-opening"),
        pytest.param(ny(2026, 10, 19, 17, 59, 59), True, id="just-before-closing"),
        pytest.param(ny(2026, 10, 19, 18), False, id="closing-instant-closed"),
        pytest.param(ny(2026, 10, 17, 12), False, id="saturday"),
        pytest.param(ny(2026, 11, 26, 12), False, id="thanksgiving"),
        pytest.param(ny(2026, 7, 3, 12), False, id="observed-independence-day"),
        pytest.param(ny(2026, 7, 2, 12), True, id="day-before-observed-holiday"),
        pytest.param(ny(2026, 12, 25, 12), False, id="christmas"),
        pytest.param(ny(2026, 3, 9, 9), True, id="monday-after-spring-forward"),
    ],
)
def test_is_open(epoch: float, expected: bool) -> None:
    assert CAL.is_open(epoch) is expected


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        pytest.param(ny(2026, 10, 19, 10), ny(2026, 10, 19, 10), id="open-returns-itself"),
        pytest.param(ny(2026, 10, 19, 9), ny(2026, 10, 19, 9), id="at-opening"),
        pytest.param(ny(2026, 10, 19, 18), ny(2026, 10, 20, 9), id="at-closing"),
        pytest.param(ny(2026, 10, 16, 19), ny(2026, 10, 19, 9), id="friday-evening"),
        pytest.param(ny(2026, 11, 25, 20), ny(2026, 11, 27, 9), id="eve-of-thanksgiving"),
        pytest.param(ny(2026, 12, 31, 18), ny(2027, 1, 4, 9), id="across-year-boundary"),
    ],
)
def test_next_opening(epoch: float, expected: float) -> None:
    assert CAL.next_opening(epoch) == expected, iso(CAL.next_opening(epoch))


def test_holiday_is_decided_on_local_date() -> None:
    # 2026-07-03T02:00Z is Thu 2026-07-02 22:00 in New York: not the observed holiday.
    assert ALWAYS.is_open(utc(2026, 7, 3, 2)) is True
    assert CAL.is_open(utc(2026, 7, 3, 2)) is False  # after 18:00, not because of a holiday
    # 2026-07-04T02:00Z is Fri 2026-07-03 22:00 in New York: the observed holiday.
    us_always = BusinessCalendar(
        timezone="America/New_York",
        weekly_hours={d: [("00:00", "24:00")] for d in (*WEEKDAYS, "saturday", "sunday")},
        holiday_country="US",
    )
    assert us_always.is_open(utc(2026, 7, 3, 2)) is True
    assert us_always.is_open(utc(2026, 7, 4, 2)) is False
    # Sat 07-04 is the actual holiday, Sun 07-05 is not: it opens at local midnight (04:00Z).
    assert us_always.next_opening(utc(2026, 7, 4, 2)) == ny(2026, 7, 5, 0) == utc(2026, 7, 5, 4)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(dt.date(2026, 7, 3), True, id="observed-independence-day"),
        pytest.param(dt.date(2026, 7, 4), True, id="independence-day-saturday"),
        pytest.param(dt.date(2026, 7, 2), False, id="ordinary-thursday"),
        pytest.param(dt.date(2026, 11, 26), True, id="thanksgiving"),
        pytest.param(dt.date(2026, 12, 25), True, id="christmas"),
        pytest.param(dt.date(2027, 12, 31), True, id="new-year-2028-observed-in-2027"),
        pytest.param(dt.date(2026, 10, 17), False, id="weekend-is-not-a-holiday"),
    ],
)
def test_is_holiday(day: dt.date, expected: bool) -> None:
    assert CAL.is_holiday(day) is expected


def test_is_holiday_rejects_datetime() -> None:
    with pytest.raises(TypeError):
        CAL.is_holiday(dt.datetime(2026, 7, 3, 12))  # type: ignore[arg-type]


# -- DST ------------------------------------------------------------------------------------


def test_elapsed_24h_across_spring_forward() -> None:
    # Sat 2026-03-07 12:00 EST + 24 real hours = Sun 2026-03-08 13:00 EDT (the wall clock
    # jumped 02:00 -> 03:00 overnight).
    due = ELAPSED.add(ny(2026, 3, 7, 12), 24 * HOUR)
    assert due == ny(2026, 3, 8, 13), iso(due)
    assert ELAPSED.measure(ny(2026, 3, 7, 12), due) == 24 * HOUR


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        pytest.param(dt.date(2026, 3, 6), 9, id="friday-before-spring-forward"),
        pytest.param(dt.date(2026, 3, 9), 9, id="monday-after-spring-forward"),
        pytest.param(dt.date(2026, 10, 30), 9, id="friday-before-fall-back"),
        pytest.param(dt.date(2026, 11, 2), 9, id="monday-after-fall-back"),
    ],
)
def test_business_day_is_nine_real_hours_around_dst(day: dt.date, hours: int) -> None:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=NY).timestamp()
    nxt = day + dt.timedelta(days=1)
    end = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=NY).timestamp()
    assert CAL.measure(start, end) == hours * HOUR


def test_dst_sundays_keep_their_real_length() -> None:
    sunday_hours = BusinessCalendar(
        timezone="America/New_York", weekly_hours={"sunday": [("09:00", "18:00")]}
    )
    # The 09:00-18:00 window is 9 real hours on both DST Sundays.
    assert sunday_hours.intervals(2026)[9] == (ny(2026, 3, 8, 9), ny(2026, 3, 8, 9) + 9 * HOUR)
    assert sunday_hours.measure(ny(2026, 3, 8, 0), ny(2026, 3, 9, 0)) == 9 * HOUR
    assert sunday_hours.measure(ny(2026, 11, 1, 0), ny(2026, 11, 2, 0)) == 9 * HOUR
    # Whole local days: 23h on spring-forward day, 25h on fall-back day.
    assert ALWAYS.measure(ny(2026, 3, 8, 0), ny(2026, 3, 9, 0)) == 23 * HOUR
    assert ALWAYS.measure(ny(2026, 11, 1, 0), ny(2026, 11, 2, 0)) == 25 * HOUR


def test_nonexistent_wall_time_resolves_forward() -> None:
    # 02:30 does not exist on 2026-03-08 in New York; it resolves to 03:30 EDT (07:30Z).
    cal = BusinessCalendar(
        timezone="America/New_York", weekly_hours={"sunday": [("02:30", "05:00")]}
    )
    assert cal.next_opening(ny(2026, 3, 8, 0)) == utc(2026, 3, 8, 7, 30)
    assert cal.measure(ny(2026, 3, 8, 0), ny(2026, 3, 9, 0)) == 1.5 * HOUR


# -- schedules and closures -----------------------------------------------------------------

LUNCH = BusinessCalendar(
    timezone="America/New_York",
    weekly_hours={day: [("13:00", "17:00"), ("09:00", "12:00")] for day in WEEKDAYS},
    holiday_country="US",
)


@pytest.mark.parametrize(
    ("start", "seconds", "expected"),
    [
        pytest.param(ny(2026, 10, 19, 11), 2 * HOUR, ny(2026, 10, 19, 14), id="over-lunch"),
        pytest.param(ny(2026, 10, 19, 11), HOUR, ny(2026, 10, 19, 12), id="due-at-lunch-start"),
        pytest.param(ny(2026, 10, 19, 12, 30), HOUR, ny(2026, 10, 19, 14), id="during-lunch"),
        pytest.param(ny(2026, 10, 19, 11), 5 * HOUR, ny(2026, 10, 19, 17), id="due-at-17h"),
        pytest.param(
            ny(2026, 10, 19, 11), 5 * HOUR + 1, ny(2026, 10, 20, 9, 0, 1), id="one-second-late"
        ),
    ],
)
def test_several_intervals_per_day(start: float, seconds: float, expected: float) -> None:
    assert LUNCH.add(start, seconds) == expected, iso(LUNCH.add(start, seconds))
    assert LUNCH.is_open(ny(2026, 10, 19, 12, 30)) is False
    assert LUNCH.measure(ny(2026, 10, 19, 0), ny(2026, 10, 20, 0)) == 7 * HOUR


def test_overlapping_intervals_and_midnight_are_merged() -> None:
    cal = BusinessCalendar(
        timezone="America/New_York",
        weekly_hours={
            "monday": [("09:00", "12:00"), ("11:00", "14:00"), ("20:00", "24:00")],
            "tuesday": [("00:00", "02:00")],
        },
    )
    assert cal.measure(ny(2026, 10, 19, 0), ny(2026, 10, 21, 0)) == (5 + 4 + 2) * HOUR
    assert cal.is_open(ny(2026, 10, 20, 0)) is True  # 24:00 Monday == 00:00 Tuesday
    assert cal.add(ny(2026, 10, 19, 23), 2 * HOUR) == ny(2026, 10, 20, 1)


def test_added_closure() -> None:
    cal = support_hours(added_closures=[dt.date(2026, 10, 19)])
    # Fri 10-16 17:00-18:00 (1h); Mon 10-19 closed; Tue 10-20 09:00 + 3h.
    assert cal.add(ny(2026, 10, 16, 17), 4 * HOUR) == ny(2026, 10, 20, 12)
    assert cal.is_holiday(dt.date(2026, 10, 19)) is True
    assert cal.is_open(ny(2026, 10, 19, 12)) is False


def test_removed_closure_reopens_holiday() -> None:
    cal = support_hours(removed_closures=[dt.date(2026, 11, 26), "2026-07-03"])
    assert cal.add(ny(2026, 11, 26, 10), 4 * HOUR) == ny(2026, 11, 26, 14)
    assert cal.is_holiday(dt.date(2026, 11, 26)) is False
    assert cal.is_open(ny(2026, 7, 3, 12)) is True
    # Removing a closure does not open a weekly closed day (Sat 2026-07-04 stays closed).
    assert cal.add(ny(2026, 7, 3, 17), 2 * HOUR) == ny(2026, 7, 6, 10)


def test_no_holiday_country_means_no_holidays() -> None:
    cal = support_hours(holiday_country=None)
    assert cal.is_open(ny(2026, 11, 26, 12)) is True
    assert cal.is_holiday(dt.date(2026, 11, 26)) is False


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"timezone": "Mars/Olympus"}, id="unknown-timezone"),
        pytest.param({"weekly_hours": {"funday": [("09:00", "18:00")]}}, id="unknown-weekday"),
        pytest.param({"weekly_hours": {"monday": [("24:00", "24:00")]}}, id="24h-start"),
        pytest.param({"weekly_hours": {"monday": [("18:00", "09:00")]}}, id="inverted"),
        pytest.param({"weekly_hours": {"monday": [("9:00", "18:00")]}}, id="bad-format"),
        pytest.param({"weekly_hours": {"monday": [("09:00", "24:30")]}}, id="past-midnight"),
        pytest.param({"holiday_country": "XX"}, id="unknown-country"),
        pytest.param({"holiday_subdivision": "ZZ"}, id="unknown-subdivision"),
        pytest.param(
            {
                "added_closures": [dt.date(2026, 1, 2)],
                "removed_closures": [dt.date(2026, 1, 2)],
            },
            id="added-and-removed",
        ),
    ],
)
def test_invalid_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        support_hours(**kwargs)


def test_out_of_range_years() -> None:
    with pytest.raises(ValueError):
        CAL.is_open(utc(2201, 6, 1))
    with pytest.raises(ValueError):
        CAL.measure(utc(1969, 6, 1), utc(1970, 6, 1))
    never = BusinessCalendar(timezone="UTC", weekly_hours={})
    with pytest.raises(ValueError):
        never.add(utc(2026, 1, 1), 1)
    with pytest.raises(ValueError):
        never.next_opening(utc(2026, 1, 1))


# -- pauses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "pauses", "expected"),
    [
        # 10:00-11:00 (1h), paused 11:00-12:00, 12:00 + 3h = 15:00.
        pytest.param(
            ny(2026, 10, 19, 10),
            [(ny(2026, 10, 19, 11), ny(2026, 10, 19, 12))],
            ny(2026, 10, 19, 15),
            id="pause-inside-hours",
        ),
        # Overlapping pauses merge to 11:00-12:30: 1h, then 12:30 + 3h = 15:30.
        pytest.param(
            ny(2026, 10, 19, 10),
            [
                (ny(2026, 10, 19, 11, 30), ny(2026, 10, 19, 12, 30)),
                (ny(2026, 10, 19, 11), ny(2026, 10, 19, 12)),
            ],
            ny(2026, 10, 19, 15, 30),
            id="overlapping-pauses-merged",
        ),
        # 16:00-17:00 (1h), paused until Tue 10:00, then 3h = Tue 13:00.
        pytest.param(
            ny(2026, 10, 19, 16),
            [(ny(2026, 10, 19, 17), ny(2026, 10, 20, 10))],
            ny(2026, 10, 20, 13),
            id="pause-across-closing",
        ),
        # A pause in closed time changes nothing.
        pytest.param(
            ny(2026, 10, 16, 19),
            [(ny(2026, 10, 17, 0), ny(2026, 10, 18, 0))],
            ny(2026, 10, 19, 13),
            id="pause-on-weekend",
        ),
        # Paused since before the start: the clock starts at the end of the pause.
        pytest.param(
            ny(2026, 10, 19, 10),
            [(ny(2026, 10, 19, 8), ny(2026, 10, 19, 11))],
            ny(2026, 10, 19, 15),
            id="pause-covering-start",
        ),
        # Due exactly when the pause starts: stays there.
        pytest.param(
            ny(2026, 10, 19, 10),
            [(ny(2026, 10, 19, 14), ny(2026, 10, 19, 16))],
            ny(2026, 10, 19, 14),
            id="due-at-pause-start",
        ),
        pytest.param(
            ny(2026, 10, 19, 10),
            [(ny(2026, 10, 19, 12), ny(2026, 10, 19, 12))],
            ny(2026, 10, 19, 14),
            id="empty-pause-ignored",
        ),
    ],
)
def test_pauses(start: float, pauses: list[tuple[float, float]], expected: float) -> None:
    due = CAL.add(start, 4 * HOUR, pauses)
    assert due == expected, iso(due)
    assert CAL.measure(start, due, pauses) == 4 * HOUR


def test_measure_with_pauses() -> None:
    day = (ny(2026, 10, 19, 9), ny(2026, 10, 19, 18))
    pauses = [
        (ny(2026, 10, 19, 11), ny(2026, 10, 19, 12)),
        (ny(2026, 10, 19, 11, 30), ny(2026, 10, 19, 12, 30)),
        (ny(2026, 10, 19, 17), ny(2026, 10, 20, 12)),
    ]
    assert CAL.measure(*day, pauses) == (9 - 1.5 - 1) * HOUR
    assert CAL.measure(*day) == 9 * HOUR
    assert CAL.measure(day[1], day[0]) == 0.0
    assert CAL.measure(ny(2026, 10, 16, 18), ny(2026, 10, 19, 9)) == 0.0  # weekend


def test_elapsed_pauses() -> None:
    t = utc(2026, 1, 1)
    assert ELAPSED.add(t, HOUR, [(t + 600, t + 1200)]) == t + HOUR + 600
    assert ELAPSED.add(t, HOUR, [(t - 600, t + 600)]) == t + HOUR + 600
    assert ELAPSED.measure(t, t + HOUR, [(t + 600, t + 1200), (t + 900, t + 1500)]) == 2700
    assert ELAPSED.is_open(t) and ELAPSED.next_opening(t) == t
    with pytest.raises(ValueError):
        ELAPSED.add(t, HOUR, [(t + 10, t)])


def test_clock_protocol() -> None:
    assert isinstance(CAL, Clock)
    assert isinstance(ELAPSED, Clock)


# -- properties -----------------------------------------------------------------------------

PROPS = settings(max_examples=200, deadline=None)
starts = st.floats(min_value=utc(2025, 1, 1), max_value=utc(2028, 12, 31))
int_starts = st.integers(min_value=int(utc(2025, 1, 1)), max_value=int(utc(2028, 12, 31)))
amounts = st.floats(min_value=0, max_value=500 * HOUR)
pause_lists = st.lists(
    st.tuples(
        st.floats(min_value=-30 * 24 * HOUR, max_value=60 * 24 * HOUR),
        st.floats(min_value=0, max_value=5 * 24 * HOUR),
    ),
    max_size=4,
)


@PROPS
@given(start=starts, seconds=amounts)
def test_measure_inverts_add(start: float, seconds: float) -> None:
    due = CAL.add(start, seconds)
    assert due >= start
    assert CAL.measure(start, due) == pytest.approx(seconds, abs=1e-6)


@PROPS
@given(start=starts, seconds=amounts, offsets=pause_lists)
def test_measure_inverts_add_with_pauses(
    start: float, seconds: float, offsets: list[tuple[float, float]]
) -> None:
    pauses = [(start + a, start + a + length) for a, length in offsets]
    for clock in (CAL, ELAPSED):
        due = clock.add(start, seconds, pauses)
        assert due >= start
        assert clock.measure(start, due, pauses) == pytest.approx(seconds, abs=1e-6)


@PROPS
@given(start=int_starts, seconds=st.integers(min_value=1, max_value=500 * 3600))
def test_add_is_earliest(start: int, seconds: int) -> None:
    due = CAL.add(start, seconds)
    assert CAL.measure(start, due - 0.5) < seconds
    assert CAL.is_open(due - 0.5)  # a due time is always reached while open


@PROPS
@given(start=starts, a=amounts, b=amounts)
def test_add_is_monotone(start: float, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert CAL.add(start, low) <= CAL.add(start, high)


@PROPS
@given(start=starts, seconds=amounts)
def test_elapsed_add_is_plain_elapsed_time(start: float, seconds: float) -> None:
    assert ELAPSED.add(start, seconds) == start + seconds
    assert ELAPSED.measure(start, start + seconds) == pytest.approx(seconds, abs=1e-6)


@PROPS
@given(points=st.lists(starts, min_size=3, max_size=3), offsets=pause_lists)
def test_measure_is_additive(points: list[float], offsets: list[tuple[float, float]]) -> None:
    a, b, c = sorted(points)
    pauses = [(a + x, a + x + length) for x, length in offsets]
    for clock in (CAL, ELAPSED):
        whole = clock.measure(a, c, pauses)
        split = clock.measure(a, b, pauses) + clock.measure(b, c, pauses)
        assert whole == pytest.approx(split, abs=1e-6)


@PROPS
@given(start=starts)
def test_next_opening_is_open(start: float) -> None:
    opening = CAL.next_opening(start)
    assert opening >= start
    assert CAL.is_open(opening)
    assert CAL.measure(start, opening) == 0.0
