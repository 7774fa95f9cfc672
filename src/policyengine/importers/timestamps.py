"""Source timestamps in many shapes → ISO 8601 with an offset, with a declared zone only.

Parsing uses pendulum (ISO 8601 and its common variants, explicit token formats, zone rules);
evaluation never sees it: the facts it writes hold ISO text that ``validation.facts`` reads with
the standard library. A naive timestamp needs the mapping's ``timezone`` and a number needs
its ``epoch`` unit: neither is ever assumed, because a guessed zone moves every deadline.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pendulum
import pendulum.parsing
from pendulum.tz.exceptions import AmbiguousTime, NonExistingTime

from policyengine.clocks.timeutil import (
    IMPORT_FORM,
    IMPORT_FORM_NO_COLON,
    import_form_problem,
    timestamp_form_problem,
)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: sources whose vendor documents offsets without a colon (Jira: 2026-10-19T10:00:00.000-0400)
OFFSET_WITHOUT_COLON = frozenset({"jira"})

# Epoch numbers are read only when they land in this range (2000-01-01 to 2100-01-01 UTC):
# a number outside it is almost always the other unit (seconds read as milliseconds land in
# January 1970) or a placeholder such as 0, and reading it would move a deadline by decades.
EPOCH_RANGE = (946_684_800, 4_102_444_800)


class TimestampError(ValueError):
    """A value that cannot be read as an instant under the mapping (message is one line)."""


class Clock:
    """Reads one source's timestamps: ``Clock(timezone, formats, epoch).instant(value)``.

    ``timezone`` is an IANA name or None (then naive text is refused); ``formats`` are
    pendulum token formats tried after ISO 8601; ``epoch`` is ``"seconds"``,
    ``"milliseconds"`` or None (then numbers are refused); ``offset_without_colon``: the
    vendor documents ``±HHMM`` offsets (Jira), read as ISO text too.

    ISO text is read in the one written form of ``clocks.timeutil`` (naive text in the
    declared zone, a decimal comma allowed): the ISO basic format (``20261014T130000Z``) and
    an offset without a colon are refused by name unless one of ``formats`` reads them, as
    the facts refuse them (attack16b G9).
    """

    def __init__(self, timezone: str | None = None, formats: tuple[str, ...] = (),
                 epoch: str | None = None, offset_without_colon: bool = False) -> None:
        from policyengine.clocks.zones import zone_problem

        problem = zone_problem(timezone) if timezone else None
        if problem:  # load_mapping refuses it first, located; this guards the library API
            raise ValueError(problem)
        self.zone = pendulum.timezone(timezone) if timezone else None
        self.zone_name = timezone
        self.formats = formats
        self.epoch = epoch
        self.form = IMPORT_FORM_NO_COLON if offset_without_colon else IMPORT_FORM
        self.offset_without_colon = offset_without_colon
        self.ambiguous = 0  # local times read in a DST fall-back hour (the earlier instant)
        self.last_ambiguous: str | None = None  # what the last instant() read twice, if any

    def instant(self, value: Any) -> str:
        """The instant ``value`` stands for, as ISO 8601 text with an offset.

        Offsets written in the value are kept; naive values take the declared zone. A local
        time the zone has twice (the fall-back hour) is read as the earlier instant and
        ``last_ambiguous`` says so (a message for a located warning; None otherwise).
        Raises :class:`TimestampError` (no zone declared, a local time that does not exist,
        an unknown shape, an epoch number outside 2000-2100 in the declared unit).
        """
        self.last_ambiguous = None
        if isinstance(value, bool):
            raise TimestampError(f"{value!r} is not a timestamp")
        if isinstance(value, Decimal) and self.epoch is not None:
            places = -int(value.as_tuple().exponent) if value.is_finite() else 0
            most = 6 if self.epoch == "seconds" else 3
            if places > most:  # finer than a microsecond: could not be kept exactly
                raise TimestampError(f"{value} as epoch {self.epoch} has {places} decimal "
                                     f"places; at most {most} (microseconds) can be kept "
                                     "exactly")
        if isinstance(value, int | float | Decimal):
            return self._epoch(float(value) if isinstance(value, Decimal) else value)
        if not isinstance(value, str) or not value.strip():
            raise TimestampError(f"{value!r} is not a timestamp")
        text = value.strip()
        if text.isdigit():
            return self._epoch(int(text))
        # the facts' rule (clocks.timeutil): no ISO week or ordinal dates, nothing finer
        # than a microsecond (pendulum reads both, and cut nanoseconds silently)
        inexact = timestamp_form_problem(text, comma=True)
        if inexact:
            raise TimestampError(inexact)
        parsed = self._parse(text)
        if parsed.tzinfo is None:
            parsed = self._localise(parsed, text)
        return _iso(parsed)

    def _parse(self, text: str) -> dt.datetime:
        parsed = None
        if self.form.fullmatch(text) or _DATE.fullmatch(text):  # else: the formats only
            try:
                parsed = pendulum.parsing.parse(text)
            except (ValueError, pendulum.parsing.ParserError, TypeError):
                parsed = None
        if isinstance(parsed, dt.datetime):
            return parsed
        if isinstance(parsed, dt.date):
            raise TimestampError(f"{text!r} is a date without a time")
        for fmt in self.formats:
            try:
                found = pendulum.from_format(text, fmt, tz="UTC")
            except ValueError:
                continue
            if _format_has_offset(fmt):
                return found
            # Wall-clock fields only: the declared zone is applied by _localise, with the
            # same rules as naive ISO text (a skipped hour is an error, a repeated one is
            # the earlier instant), never pendulum's silent shift.
            return dt.datetime(found.year, found.month, found.day, found.hour, found.minute,
                               found.second, found.microsecond)
        named = import_form_problem(text, offset_without_colon=self.offset_without_colon)
        if named:
            tried = (f" nor in the mapping's formats ({', '.join(self.formats)})"
                     if self.formats else "")
            raise TimestampError(f"{named}{tried}; write that, or declare the source's "
                                 "format under 'formats' in the mapping")
        shapes = f" or the mapping's formats ({', '.join(self.formats)})" if self.formats else ""
        raise TimestampError(f"{text!r} is not an ISO 8601 timestamp{shapes}; declare the "
                             "source's format under 'formats' in the mapping")

    def _localise(self, naive: dt.datetime, text: str) -> dt.datetime:
        if self.zone is None:
            raise TimestampError(self._naive_message(text))
        try:
            return self.zone.convert(naive, raise_on_unknown_times=True)
        except NonExistingTime:
            raise TimestampError(f"{text!r} does not exist in {self.zone_name} (the clocks "
                                 "skip that hour)") from None
        except AmbiguousTime:
            local = self.zone.convert(naive.replace(fold=0))
            later = self.zone.convert(naive.replace(fold=1))
            self.ambiguous += 1
            self.last_ambiguous = (
                f"{text!r} occurs twice in {self.zone_name} (the clocks fall back); read as "
                f"the earlier instant {_iso(local)}, not {_iso(later)}")
            return local

    def _naive_message(self, text: str) -> str:
        return (f"{text!r} has no UTC offset and the mapping declares no 'timezone' for this "
                "source; add e.g. timezone: America/New_York (never assumed)")

    def _epoch(self, number: int | float) -> str:
        if self.epoch is None:
            raise TimestampError(f"{number!r} is a number; declare 'epoch: seconds' or "
                                 "'epoch: milliseconds' in the mapping (never assumed)")
        seconds = number / 1000 if self.epoch == "milliseconds" else number
        low, high = EPOCH_RANGE
        if not low <= seconds < high:
            other = number if self.epoch == "milliseconds" else number / 1000
            hint = (f"; as epoch {'seconds' if self.epoch == 'milliseconds' else 'milliseconds'}"
                    f" it would be {_iso(pendulum.from_timestamp(other, tz='UTC'))}: check "
                    "the mapping's 'epoch'" if low <= other < high else "")
            raise TimestampError(f"{number!r} as epoch {self.epoch} is outside 2000-2100 "
                                 f"(not a plausible time for this data){hint}")
        return _iso(pendulum.from_timestamp(seconds, tz="UTC"))


def _format_has_offset(fmt: str) -> bool:
    return "Z" in fmt.replace("[Z]", "") or "zz" in fmt


def _iso(value: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM`` (``Z`` never: one spelling for every offset)."""
    plain = dt.datetime(value.year, value.month, value.day, value.hour, value.minute,
                        value.second, value.microsecond,
                        tzinfo=dt.timezone(value.utcoffset()))  # type: ignore[arg-type]
    return plain.isoformat()
