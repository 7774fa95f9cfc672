"""Which time-zone names a policy, a calendar or an import mapping may use.

One rule for every place a zone is named: an IANA name that the time-zone database gives the
same meaning on every machine. ``zoneinfo`` also finds names that are no place: ``localtime``
(a link to whatever zone the host is set to, so the same policy and facts would give other
months, due times and credits on another machine), ``Factory`` (tzdata's placeholder whose
local time is "-00", no time at all), ``posixrules`` (a host's default rules) and the
``posix/`` and ``right/`` copies of the database (``right/`` counts leap seconds, which no
other part of the engine does). They are refused with a did-you-mean.
"""

from __future__ import annotations

import difflib
import functools

# zoneinfo names that depend on the host or are no place (see the module docstring)
HOST_DEPENDENT = {
    "localtime": "the host's own time zone, which differs from machine to machine",
    "Factory": "tzdata's placeholder zone, whose local time is '-00' (no time at all)",
    "posixrules": "the host's default daylight-saving rules",
}
_PREFIXES = ("posix/", "right/")


@functools.cache
def known_zones() -> frozenset[str]:
    """IANA names accepted anywhere a zone is named: ``zoneinfo.available_timezones()``
    without the host-dependent names of :data:`HOST_DEPENDENT` and ``posix/``/``right/``."""
    import zoneinfo

    return frozenset(name for name in zoneinfo.available_timezones()
                     if name not in HOST_DEPENDENT and not name.startswith(_PREFIXES))


def zone_problem(name: object) -> str | None:
    """Why ``name`` cannot be used as a time zone (one line, with a did-you-mean), or None.

    Used by the policy checks (``spec.timezone``, a calendar's ``timezone``), the JSON Schema
    format ``iana-timezone`` (import mappings) and the importers' clock.
    """
    if isinstance(name, str) and name in known_zones():
        return None
    shown = repr(name) if len(repr(name)) <= 62 else repr(name)[:60] + "...'"
    if isinstance(name, str) and (name in HOST_DEPENDENT or name.startswith(_PREFIXES)):
        why = HOST_DEPENDENT.get(name, "a copy of the database that depends on the host"
                                 if name.startswith("posix/") else
                                 "the database variant that counts leap seconds")
        tail = name.split("/", 1)[1] if name.startswith(_PREFIXES) else ""
        hint = (f"use {tail!r}" if tail in known_zones() else
                "name the zone, e.g. America/New_York or UTC")
        return f"time zone {shown} is {why}, not a place a policy or mapping can name ({hint})"
    close = difflib.get_close_matches(str(name), sorted(known_zones()), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as America/New_York"
    return f"unknown timezone {shown} ({hint})"
