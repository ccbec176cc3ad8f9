"""One time-zone database (decision 238): Python's zones are the tzdata package's and agree
with DuckDB's ICU rules; the offsets Spark is given are Python's."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journey_metrics import zones


def test_python_reads_the_package_not_the_machine() -> None:
    vancouver = zones.zone("America/Vancouver")
    # tzdata 2026: British Columbia keeps UTC-7 from November 2026 (the machine's 2025 files
    # and Java 17 say UTC-8)
    assert datetime(2026, 12, 1, tzinfo=UTC).astimezone(vancouver).utcoffset() == \
        timedelta(hours=-7)
    with pytest.raises(zoneinfo.ZoneInfoNotFoundError):
        zones.zone("localtime")


def test_a_program_importing_journey_metrics_keeps_its_own_zones() -> None:
    """The zones are read from the package's files, not by changing zoneinfo's search path or
    cache, which are the whole program's (a zone made before and after the import must stay
    one zone: arithmetic across two objects is UTC arithmetic)."""
    import subprocess
    import sys

    script = (
        "from zoneinfo import ZoneInfo, TZPATH; from datetime import datetime\n"
        "a = datetime(2026, 3, 28, 12, tzinfo=ZoneInfo('Europe/London'))\n"
        "before = TZPATH\n"
        "import journey_metrics, journey_metrics.cli, journey_metrics.zones as z\n"
        "z.zone('Europe/London'); z.transitions('Europe/London')\n"
        "import zoneinfo\n"
        "b = datetime(2026, 3, 29, 12, tzinfo=ZoneInfo('Europe/London'))\n"
        "print(a.tzinfo is b.tzinfo, b - a, zoneinfo.TZPATH == before)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["True", "1", "day,", "0:00:00", "True"]


def test_python_and_duckdb_agree_on_every_zone() -> None:
    """Every zone both know, at noon UTC of every day of 2024-2028 (a rule change shows there:
    zones change their offsets for months, not hours)."""
    con = duckdb.connect()
    known = {name for (name,) in con.sql("SELECT name FROM pg_timezone_names()").fetchall()}
    names = sorted(known & zones.names())
    assert len(names) > 400
    days = [datetime(2024, 1, 1, 12, tzinfo=UTC) + timedelta(days=d) for d in range(5 * 365)]
    rows = []
    for name in names:
        zone = zones.zone(name)
        rows += [(name, at, int(at.astimezone(zone).utcoffset().total_seconds()))
                 for at in days]
    python = pl.DataFrame(rows, schema=["name", "moment", "offset_s"], orient="row")
    con.register("python", python.to_arrow())
    differ = con.sql("""
        SELECT name, min(moment) AS first_moment, count(*) AS days
        FROM python
        WHERE epoch(timezone(name, moment)::TIMESTAMP) - epoch(moment) <> offset_s
        GROUP BY name ORDER BY name""").fetchall()
    assert differ == []


@pytest.mark.parametrize("name", ["America/Vancouver", "Europe/London", "Asia/Kolkata",
                                  "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Tehran"])
def test_transitions_give_pythons_offsets(name: str) -> None:
    zone = zones.zone(name)
    steps = zones.transitions(name)
    for at, offset in steps[1:]:
        assert offset == int(at.astimezone(zone).utcoffset().total_seconds())
        # the change is found to the second: a second before, the offset was another
        assert offset != int((at - timedelta(seconds=1)).astimezone(zone).utcoffset()
                             .total_seconds())
        for moment in (at - timedelta(seconds=1), at, at + timedelta(hours=12)):
            expected = int(moment.astimezone(zone).utcoffset().total_seconds())
            assert zones.offset_at(name, moment) == expected, (name, moment)


@settings(max_examples=300, deadline=None)
@given(seconds=st.integers(0, (datetime(2099, 12, 31, tzinfo=UTC)
                               - datetime(1970, 1, 1, tzinfo=UTC)).days * 86400),
       name=st.sampled_from(["America/Vancouver", "Europe/Chisinau", "America/Havana",
                             "Africa/Casablanca", "Australia/Lord_Howe", "Pacific/Apia"]))
def test_offsets_match_python_anywhere(seconds: int, name: str) -> None:
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    expected = int(at.astimezone(zones.zone(name)).utcoffset().total_seconds())
    assert zones.offset_at(name, at) == expected


def test_the_spark_function_is_a_balanced_tree() -> None:
    body = zones.spark_local_time_function({"Europe/London": 0})
    depth = max(body[:i].count("CASE") - body[:i].count("END") for i in range(len(body)))
    assert depth <= 11  # ~250 transitions: log2 + the outer CASE
    assert "from_utc_timestamp(ts, tz)" in body
    # a zone Java agrees with, and UTC, cost nothing: Java's own function
    for agreed in ({"Europe/London": None}, {"UTC": 0}, {}):
        assert zones.spark_local_time_function(agreed).endswith(
            "RETURN from_utc_timestamp(ts, tz)")
    assert zones.spark_utc_instant_function({}).endswith("RETURN to_utc_timestamp(ts, tz)")


def test_java_is_replaced_from_the_change_before_the_first_difference() -> None:
    """Java 17 keeps Vancouver's winter time from November 2026 (UTC-8); the tzdata package
    does not: this module's offsets take over one change before the step in force then
    (2026-03-08), from 2025-11-02, and the function holds only the steps from there."""
    name = "America/Vancouver"
    instants = zones.check_instants(name)
    agreed = {at: zones.offset_at(name, at) for at in instants}
    assert zones.differs_from(name, agreed) is None
    change = datetime(2026, 11, 1, 9, tzinfo=UTC)
    java = {at: (-8 * 3600 if at >= change and at.month not in range(4, 11) else offset)
            for at, offset in agreed.items()}
    first = zones.differs_from(name, java)
    assert first is not None
    steps = zones.transitions(name)
    assert [at for at, _ in steps[first:]] == [datetime(2025, 11, 2, 9, tzinfo=UTC),
                                               datetime(2026, 3, 8, 10, tzinfo=UTC)]
    body = zones.spark_local_time_function({name: first})
    assert "ts >= TIMESTAMP '2025-11-02 09:00:00'" in body
    assert body.count("CASE") == 2  # the zone's branch and one comparison


@settings(max_examples=400, deadline=None)
@given(seconds=st.integers(0, (datetime(2099, 12, 31, tzinfo=UTC)
                               - datetime(1970, 1, 2, tzinfo=UTC)).days * 86400),
       name=st.sampled_from(["America/Vancouver", "America/New_York", "Europe/London",
                             "Australia/Lord_Howe", "Africa/Casablanca", "America/Havana"]),
       near_change=st.booleans(), shift=st.integers(-7200, 7200))
def test_wall_clock_offsets_read_as_zoneinfo_fold_0(
    seconds: int, name: str, near_change: bool, shift: int,
) -> None:
    """The wall clock's steps give each local time the instant Python gives it with fold=0:
    a repeated time is the earlier instant, a skipped one takes the offset before the change
    (decision 140), which Spark's jm_utc_instant computes."""
    from bisect import bisect_right

    steps = zones.wall_clock_steps(name)
    wall = datetime(1970, 1, 2, tzinfo=UTC) + timedelta(seconds=seconds)
    if near_change:  # within two hours of a change, where the rules matter
        wall = steps[1 + seconds % (len(steps) - 1)][0] + timedelta(seconds=shift)
    index = bisect_right([t for t, _ in steps], wall) - 1
    expected = wall.replace(tzinfo=None).replace(tzinfo=zones.zone(name)).astimezone(UTC)
    assert wall - timedelta(seconds=steps[index][1]) == expected
