"""What every metric command shares: as_of, time zones, date/instant parsing, running a mart's
statement, Wilson intervals."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from journey_metrics import zones
from journey_metrics.errors import UsageError
from journey_metrics.sql import used_parameters

if TYPE_CHECKING:
    import duckdb

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


def zone(name: str) -> ZoneInfo:
    from journey_metrics.config import check_timezone

    try:
        return zones.zone(check_timezone(name))
    except ValueError as exc:
        raise UsageError(f"--tz: {exc}") from None


def as_of_label(as_of: datetime, tz: ZoneInfo) -> str:
    """"as of <time>" for a title, in the command's --tz: `as of 2026-04-05 06:40
    Asia/Ho_Chi_Minh (UTC+07:00)`, or `as of 2026-04-04 23:40 UTC`."""
    local = as_of.astimezone(tz)
    if tz.key == "UTC":
        return f"as of {local:%Y-%m-%d %H:%M} UTC"
    offset = local.utcoffset() or timedelta(0)
    sign, minutes = ("-" if offset < timedelta(0) else "+"), abs(offset) // timedelta(minutes=1)
    return (f"as of {local:%Y-%m-%d %H:%M} {tz.key} "
            f"(UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})")


def parse_instant(text: str, tz: ZoneInfo, option: str) -> datetime:
    """A date (midnight in `tz`) or an ISO 8601 instant (naive instants are in `tz`), as UTC."""
    value = _midnight_at_24(text.strip())
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tz).astimezone(UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option}: {text!r} is not a date (YYYY-MM-DD) or ISO 8601 instant"
        ) from None
    except OverflowError:  # e.g. 9999-12-31 in a zone behind UTC
        raise UsageError(f"{option}: {text!r} is out of range") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise UsageError(f"{option}: {text!r} is out of range") from None


_HOUR_24 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})([Tt ])24:00(?::00(?:[.,]0+)?)?(\s*(?:[Zz]|[+-]\d.*)?)$")


def _midnight_at_24(value: str) -> str:
    """ISO 8601's `24:00` (the end of a day) as the next day's midnight, as event times read it
    (decision 193): `2026-03-25T24:00Z` is `2026-03-26T00:00Z`."""
    match = _HOUR_24.match(value)
    if match is None:
        return value
    try:
        following = date.fromisoformat(match[1]) + timedelta(days=1)
    except (ValueError, OverflowError):
        return value  # not a date: refused below, with the text as given
    return f"{following.isoformat()}{match[2]}00:00:00{match[3]}"


def parse_range(from_: str | None, to: str | None,
                tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """--from and --to as UTC instants; a window [from, to) that holds nothing is bad usage
    (a reversed range is a typo, not a question)."""
    from_at = parse_instant(from_, tz, "--from") if from_ else None
    to_at = parse_instant(to, tz, "--to") if to else None
    if from_at is not None and to_at is not None and from_at >= to_at:
        raise UsageError(f"--from {from_} is not before --to {to}")
    return from_at, to_at


def resolve_as_of(con: duckdb.DuckDBPyConnection, as_of: str | None, tz: ZoneInfo) -> datetime:
    """The given --as-of, else the latest occurred_at in the warehouse."""
    if as_of:
        return parse_instant(as_of, tz, "--as-of")
    from journey_metrics.db import fetch_first

    row = fetch_first(con.execute("SELECT max(occurred_at) FROM events"))
    if row is None or row[0] is None:
        raise UsageError("the warehouse has no events yet: run `journey-metrics run` first")
    latest: datetime = row[0]
    return latest.astimezone(UTC)


def query_rows(con: duckdb.DuckDBPyConnection, sql: str,
               params: Mapping[str, object]) -> list[dict[str, Any]]:
    """Run one statement with those of `params` it names (`$name`); its rows as dicts keyed by
    column name, in the statement's order. Every metric reads its mart through here."""
    result = con.execute(sql, used_parameters(sql, params))
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def micros(duration: timedelta) -> int:
    """A window as whole microseconds: the `$window_us`-style parameters of `jm_within`
    (sql/macros.sql), which compares instants as integers rather than by calendar arithmetic."""
    return duration // timedelta(microseconds=1)


def wilson_interval(successes: int, trials: int) -> tuple[float | None, float | None]:
    """Wilson score 95% interval for successes/trials; (None, None) when trials is 0."""
    if trials <= 0:
        return None, None
    p = successes / trials
    z2 = Z_95 * Z_95
    denominator = 1 + z2 / trials
    center = (p + z2 / (2 * trials)) / denominator
    half = Z_95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # at 0 or all successes the bound is exactly 0 or 1 (center and half are then equal, but
    # rounded apart: 0 of 3 gave 5.6e-17)
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes >= trials else min(1.0, center + half)
    return low, high


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def next_period(start: date, period: str) -> date:
    """The first day of the calendar period (day, week or month) after the one starting on
    `start`."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)
