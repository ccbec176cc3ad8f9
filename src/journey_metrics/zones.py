"""One time-zone database for every part of a command (decision 238).

A command reads time zones in three places: Python turns `--from`/`--to`/`--as-of` into
instants and writes titles, DuckDB buckets events with its ICU rules, and Spark with Java's. Each
ships its own copy of the IANA database, and the copies differ where a zone's rules changed
recently (America/Vancouver keeps UTC-7 from November 2026 in tzdata 2026 and ICU; the
machine's 2025 files and Java 17 say UTC-8): `--from 2026-11-10` then chose one midnight while
the buckets used another, and the two engines gave different rows.

So Python reads the `tzdata` package (a dependency, kept as new as DuckDB's ICU: a test
compares them) through `zone(name)`, never the machine's files; and on Spark the command's
`--tz` and the sources' zones are compared with Java's rules once per session
(engines/spark.py): where they differ, `jm_local_time(ts, tz)` and `jm_utc_instant(ts, tz)` use
this module's offsets, as SQL functions; where Java agrees they are Java's own functions.
"""

from __future__ import annotations

import zoneinfo
from bisect import bisect_right
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from itertools import pairwise

Steps = tuple[tuple[datetime, int], ...]  # (from this instant or wall-clock time, offset in s)

# Spark's function is exact for instants in these years (the offsets of each zone's
# transitions between them); outside them Java's own rules answer.
FIRST_YEAR, END_YEAR = 1970, 2100


@cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone `name` (as the database spells it) from the tzdata package. Read from the
    package's file, not through `ZoneInfo(name)`, whose search path and cache are the whole
    program's: a program that imports journey_metrics keeps its own zones (ZoneInfoNotFoundError
    for a name the package lacks)."""
    if name not in names():
        raise zoneinfo.ZoneInfoNotFoundError(f"no time zone named {name!r}")
    with resources.files("tzdata").joinpath("zoneinfo", *name.split("/")).open("rb") as file:
        return zoneinfo.ZoneInfo.from_file(file, key=name)


@cache
def names() -> frozenset[str]:
    """Every zone the tzdata package holds (its list: canonical names and links)."""
    return frozenset(resources.files("tzdata").joinpath("zones").read_text("utf-8").split())


def _offset(rules: zoneinfo.ZoneInfo, at: datetime) -> int:
    offset = at.astimezone(rules).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@cache
def transitions(name: str) -> Steps:
    """(instant, UTC offset in seconds from that instant on), from FIRST_YEAR to END_YEAR: the
    first entry is the offset at the start. Offsets are sampled daily and each change is found
    to the second by bisection (no zone changes twice within one day)."""
    rules = zone(name)
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    end = datetime(END_YEAR, 1, 1, tzinfo=UTC)
    found = [(start, _offset(rules, start))]
    day = timedelta(days=1)
    at, current = start, found[0][1]
    while at < end:
        following = at + day
        after = _offset(rules, following)
        if after != current:
            low, high = at, following  # offset(low) == current, offset(high) != current
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                if _offset(rules, middle) == current:
                    low = middle
                else:
                    high = middle
            found.append((high, _offset(rules, high)))
            current = after
        at = following
    return tuple(found)


@cache
def _starts(name: str) -> tuple[datetime, ...]:
    return tuple(at for at, _ in transitions(name))


def offset_at(name: str, at: datetime) -> int:
    """The offset `transitions` gives at `at`."""
    return transitions(name)[max(bisect_right(_starts(name), at) - 1, 0)][1]


def wall_clock_steps(name: str) -> Steps:
    """`transitions` as seen on the wall clock: (the first wall-clock time that takes the new
    offset, offset). A wall-clock time the change skips or repeats takes the offset before the
    change, as zoneinfo's fold=0 (decision 140: the earlier of two instants; a skipped time
    read with the offset before): the new offset starts at T + the larger of the two."""
    steps = transitions(name)
    shown = [(steps[0][0] + timedelta(seconds=steps[0][1]), steps[0][1])]
    for (_, before), (at, after) in pairwise(steps):
        shown.append((at + timedelta(seconds=max(before, after)), after))
    return tuple(shown)


def _offset_tree(steps: Steps, low: int, high: int) -> str:
    """SQL: the offset of steps[low:high] that `ts` falls in (ts >= steps[low]), as a balanced
    tree of comparisons: about log2 of the steps per row, not one per step."""
    if high - low == 1:
        return str(steps[low][1])
    middle = (low + high) // 2
    return (f"CASE WHEN ts < TIMESTAMP '{_literal(steps[middle][0])}' "
            f"THEN {_offset_tree(steps, low, middle)} ELSE {_offset_tree(steps, middle, high)} END")


def check_instants(name: str) -> list[datetime]:
    """Where Java's rules are compared with these (`differs_from`): each change of the zone's
    offset and the second before it, and the first of every month (a rule that differs does so
    for months: a summer time one side lacks)."""
    steps = transitions(name)
    monthly = [datetime(year, month, 1, tzinfo=UTC)
               for year in range(FIRST_YEAR, END_YEAR) for month in range(1, 13)]
    around = [moment for at, _ in steps[1:] for moment in (at - timedelta(seconds=1), at)]
    return sorted(set(monthly + around))


def differs_from(name: str, java: Mapping[datetime, int]) -> int | None:
    """The first of `transitions(name)` from which this module's offsets replace Java's, given
    Java's offsets at `check_instants(name)`; None when they agree everywhere. It is one change
    before the step in force where they first disagree, so that the wall-clock times around
    that change (skipped or repeated) are read by one set of rules."""
    for at in sorted(java):
        if java[at] != offset_at(name, at):
            return max(bisect_right(_starts(name), at) - 2, 0)
    return None


def _by_zone(zones: Mapping[str, int | None], steps_of: Callable[[str], Steps], sign: str,
             java: str) -> str:
    """CASE over the zones whose rules differ from Java's (`zones`: name -> first step, from
    `differs_from`): ts shifted by `sign` the zone's offset from that step to END_YEAR; any
    other zone or instant: Java's rules (`java`), so a zone Java agrees with costs nothing."""
    branches = []
    for name, first in sorted(zones.items()):
        if first is None or name == "UTC":
            continue
        steps = steps_of(name)[first:]
        end = datetime(END_YEAR, 1, 1, tzinfo=UTC)
        quoted = name.replace("'", "''")
        branches.append(
            f"WHEN tz = '{quoted}' AND ts >= TIMESTAMP '{_literal(steps[0][0])}'"
            f" AND ts < TIMESTAMP '{_literal(end)}'"
            f" THEN timestampadd(SECOND, {sign}({_offset_tree(steps, 0, len(steps))}), ts)")
    return f"CASE {' '.join(branches)} ELSE {java} END" if branches else java


def spark_local_time_function(zones: Mapping[str, int | None]) -> str:
    """`jm_local_time(ts, tz)`: the wall clock in `tz` of the UTC instant `ts` (what
    `from_utc_timestamp` gives), with this module's offsets where Java's differ (`zones`: as
    `_by_zone`)."""
    body = _by_zone(zones, transitions, "", "from_utc_timestamp(ts, tz)")
    return ("CREATE OR REPLACE TEMPORARY FUNCTION jm_local_time(ts TIMESTAMP, tz STRING) "
            f"RETURNS TIMESTAMP RETURN {body}")


def spark_utc_instant_function(zones: Mapping[str, int | None]) -> str:
    """`jm_utc_instant(ts, tz)`: the UTC instant of the wall-clock time `ts` in `tz` (what
    `to_utc_timestamp` gives, with fold=0), with this module's offsets where Java's differ
    (the sources' configured zones)."""
    body = _by_zone(zones, wall_clock_steps, "-", "to_utc_timestamp(ts, tz)")
    return ("CREATE OR REPLACE TEMPORARY FUNCTION jm_utc_instant(ts TIMESTAMP, tz STRING) "
            f"RETURNS TIMESTAMP RETURN {body}")


def _literal(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
