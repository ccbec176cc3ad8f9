"""funnel --trend, --times and --correlate (CONTRACT §7): hand-computed golden cases and property
tests against plain-Python references built on test_funnel_property.py's reading of §4/§7."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import write_jsonl
from journey_metrics.db import connect
from journey_metrics.errors import UsageError
from journey_metrics.metrics import funnel as funnel_module
from journey_metrics.metrics.funnel import (
    FunnelQuery,
    correlate_rows,
    times_rows,
    trend_rows,
)
from journey_metrics.metrics.segments import Segment, prepare_population
from journey_metrics.metrics.statistics import benjamini_hochberg, fisher_exact, odds_ratio
from test_funnel_property import (
    Case,
    cases,
    funnel_order,
    greedy_attempt,
    in_range,
    is_void,
    load,
    person_funnel,
    same,
    simple_case,
    unordered_level,
)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path_factory.mktemp("funnel_modes") / "w.duckdb")
    yield connection
    connection.close()


Rows = list[dict[str, Any]]


def run(con: duckdb.DuckDBPyConnection, case: Case,
        compute: Callable[[duckdb.DuckDBPyConnection, FunnelQuery], Rows], **query: Any) -> Rows:
    load(con, case)
    prepare_population(con, Segment("channel" if case.by_channel else None), case.as_of)
    return compute(con, replace(case.query(), **query))


# --- references ---------------------------------------------------------------------------------


def counted_attempts(case: Case, events: list[Any]) -> list[tuple[datetime, int]]:
    """(start time, level) of a person's counted attempts in funnel order: non-void ordered
    attempts, or the unordered ones (CONTRACT §4, §7)."""
    order = funnel_order(case, events)
    if case.order == "unordered":
        return [(e.at, unordered_level(case, order, i)) for i, (e, _) in enumerate(order)
                if in_range(case, e.at)]
    starts = [i for i, (e, stages) in enumerate(order) if 1 in stages and in_range(case, e.at)]
    attempts = [a for a in (greedy_attempt(case, order, s) for s in starts)
                if not is_void(case, events, a)]
    return [(a.steps[0].at, a.level) for a in attempts]


def period_start(moment: datetime, period: str) -> date:
    day = moment.astimezone(UTC).date()
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def period_end(start: date, period: str) -> datetime:
    if period == "day":
        end = start + timedelta(days=1)
    elif period == "week":
        end = start + timedelta(days=7)
    else:
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(end.year, end.month, end.day, tzinfo=UTC)


def reference_trend(case: Case, period: str) -> Rows:
    levels: dict[tuple[str, date], list[int]] = {}
    channel_of = dict(case.persons)
    for person_id, _ in case.persons:
        by_period: dict[date, list[int]] = {}
        for start, level in counted_attempts(
                case, [e for e in case.events if e.person_id == person_id]):
            by_period.setdefault(period_start(start, period), []).append(level)
        for p, found in by_period.items():
            level = found[0] if case.entry == "first" else max(found)
            groups = ["all"] + ([channel_of[person_id]] if case.by_channel else [])
            for g in groups:
                levels.setdefault((g, p), []).append(level)
    rows = []
    for (group, p) in sorted(levels, key=lambda gp: (gp[0] != "all", gp[0], gp[1])):
        found = levels[(group, p)]
        first = sum(1 for v in found if v >= 1)
        for k in range(1, len(case.stages) + 1):
            n = sum(1 for v in found if v >= k)
            rows.append({"group": group, "period": p.isoformat(), "step": k, "stage": f"s{k}",
                         "persons": n,
                         "conversion_from_start": None if k == 1 else n / first,
                         "complete": period_end(p, period) + case.window <= case.as_of})
    return rows


def linear_quantile(values: list[float], p: float) -> float:
    xs = sorted(values)
    h = (len(xs) - 1) * p
    low = math.floor(h)
    high = min(low + 1, len(xs) - 1)
    return xs[low] + (h - low) * (xs[high] - xs[low])


def reference_times(case: Case) -> Rows:
    results = {pid: person_funnel(case, [e for e in case.events if e.person_id == pid])
               for pid, _ in case.persons}
    entered = [(c, results[pid]) for pid, c in case.persons if results[pid].level]
    groups = [("all", [p for _, p in entered])]
    if case.by_channel:
        groups += [(c, [p for cc, p in entered if cc == c])
                   for c in sorted({c for c, _ in entered})]
    rows = []
    for group, people in groups:
        for k in range(2, len(case.stages) + 1):
            done = [p for p in people if p.level >= k]
            step = [(p.step_times[k - 1] - p.step_times[k - 2]).total_seconds() / 3600
                    for p in done]
            start = [(p.step_times[k - 1] - p.step_times[0]).total_seconds() / 3600 for p in done]
            row: dict[str, Any] = {"group": group, "step": k, "stage": f"s{k}",
                                   "persons": len(done)}
            for name, q in zip(funnel_module.TIME_COLUMNS, (0.1, 0.25, 0.5, 0.75, 0.9),
                               strict=True):
                row[name] = linear_quantile(step, q) if step else None
            row["median_hours_from_start"] = linear_quantile(start, 0.5) if start else None
            rows.append(row)
    return rows


def assert_same_rows(got: Rows, want: Rows, case: Case) -> None:
    assert len(got) == len(want), f"{got}\n{want}\n{case}"
    for g, w in zip(got, want, strict=True):
        assert list(g) == list(w), (g, w)
        wrong = {f: (g[f], w[f]) for f in w if not same(g[f], w[f])}
        assert not wrong, f"{w}: {wrong} (got, want)\n{case}"


# --- property tests -----------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(case=cases(), period=st.sampled_from(["day", "week", "month"]))
def test_trend_matches_reference(con: duckdb.DuckDBPyConnection, case: Case, period: str) -> None:
    # spread the events over several days so periods differ
    spread = replace(case, events=tuple(
        replace(e, at=e.at + timedelta(days=(int(e.event_id[:2]) % 5) * 3))
        for e in case.events), as_of=case.as_of + timedelta(days=15 * (len(case.events) % 2)))
    got = run(con, spread, trend_rows, trend=period)
    assert_same_rows(got, reference_trend(spread, period), spread)


@settings(max_examples=80, deadline=None)
@given(case=cases(), period=st.sampled_from(["day", "week"]), entry=st.sampled_from(["best",
                                                                                    "first"]))
def test_trend_of_overlapping_ordered_stages_matches_reference(
    con: duckdb.DuckDBPyConnection, case: Case, period: str, entry: str,
) -> None:
    # Ordered, no per-step windows or exclusions, stages 1 and 2 sharing a name no event has: the
    # numbered trend that starts only the attempts it can choose (attempt_1_trend.sql).
    stages = list(case.stages)
    stages[0] += (("never_sent",),)
    stages[1] += (("never_sent",),)
    ordered = replace(case, stages=tuple(stages), order="ordered", within=(), exclude=(),
                     entry=entry)
    assert not funnel_module.by_time(ordered.query().framework)
    got = run(con, ordered, trend_rows, trend=period)
    assert_same_rows(got, reference_trend(ordered, period), ordered)


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_times_match_reference(con: duckdb.DuckDBPyConnection, case: Case) -> None:
    case = replace(case, order="ordered")
    got = run(con, case, times_rows)
    assert_same_rows(got, reference_times(case), case)


# --- golden: trend ------------------------------------------------------------------------------


def test_trend_counts_a_person_in_each_period_of_their_attempts(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # T0 = Fri 2024-03-01 09:00 UTC. p: a Friday (no b), a Monday 03-04 + b 10 minutes later.
    # q: a on 03-04 only. Weekly: week of 02-26 has p at level 1; week of 03-04 has p (2), q (1).
    day = 24 * 60
    case = simple_case([["a"], ["b"]],
                       [("1", "p", "a", 0), ("2", "p", "a", 3 * day), ("3", "p", "b", 3 * day + 10),
                        ("4", "q", "a", 3 * day + 60)], window_minutes=60,
                       as_of_minutes=10 * day)
    rows = run(con, case, trend_rows, trend="week")
    assert [(r["period"], r["step"], r["persons"], r["conversion_from_start"], r["complete"])
            for r in rows] == [
        ("2024-02-26", 1, 1, None, True), ("2024-02-26", 2, 0, 0.0, True),
        ("2024-03-04", 1, 2, None, True), ("2024-03-04", 2, 1, 0.5, True),
    ]
    assert rows == reference_trend(case, "week")


@pytest.mark.parametrize("entry", ["best", "first"])
def test_trend_chooses_per_period_among_a_persons_attempts(
    con: duckdb.DuckDBPyConnection, entry: str,
) -> None:
    # Monday 2024-03-04 (M), window 60 minutes, stages a, b, c (disjoint: found by time).
    # p: a M+0 (its b at M+100 is too late: level 1), a M+90, b M+100, c M+110 (level 3), a M+120
    # (nothing after: level 1). Best: level 3 (neither the first nor the latest start); first:
    # the M+0 attempt, level 1. q: a M+0, b M+30 (level 2 either way).
    monday = 3 * 24 * 60
    case = simple_case([["a"], ["b"], ["c"]],
                       [("1", "p", "a", monday), ("2", "p", "a", monday + 90),
                        ("3", "p", "b", monday + 100), ("4", "p", "c", monday + 110),
                        ("5", "p", "a", monday + 120), ("6", "q", "a", monday),
                        ("7", "q", "b", monday + 30)], window_minutes=60, entry=entry)
    assert funnel_module.by_time(case.query().framework)
    rows = run(con, case, trend_rows, trend="week")
    expected = [2, 2, 1] if entry == "best" else [2, 1, 0]
    assert [(r["period"], r["persons"]) for r in rows] == [
        ("2024-03-04", n) for n in expected]
    assert rows == reference_trend(case, "week")


@pytest.mark.parametrize("entry", ["best", "first"])
def test_trend_of_overlapping_stages_chooses_the_same_attempts(
    con: duckdb.DuckDBPyConnection, entry: str,
) -> None:
    # The case above with stages that share an event name (z, never sent): not found by time,
    # so DuckDB keeps only the starts that can be chosen (attempt_1_trend.sql). p's starts at
    # M+0 and M+90 share their first b (M+100): the later one is kept (level 3), the earlier
    # one (level 1) would hide it; with --entry first only M+0 counts.
    monday = 3 * 24 * 60
    case = simple_case([["a", "z"], ["b", "z"], ["c"]],
                       [("1", "p", "a", monday), ("2", "p", "a", monday + 90),
                        ("3", "p", "b", monday + 100), ("4", "p", "c", monday + 110),
                        ("5", "p", "a", monday + 120), ("6", "q", "a", monday),
                        ("7", "q", "b", monday + 30)], window_minutes=60, entry=entry)
    assert not funnel_module.by_time(case.query().framework)
    rows = run(con, case, trend_rows, trend="week")
    expected = [2, 2, 1] if entry == "best" else [2, 1, 0]
    assert [(r["period"], r["persons"]) for r in rows] == [
        ("2024-03-04", n) for n in expected]
    assert rows == reference_trend(case, "week")


def test_trend_complete_is_false_when_period_end_plus_window_is_after_as_of(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Day 2024-03-01 ends at 03-02 00:00; + 60 minutes = 01:00. as_of 01:00 -> complete,
    # as_of 00:59 -> not.
    end = 15 * 60  # minutes from T0 (09:00) to 03-02 00:00
    events = [("1", "p", "a", 0)]
    complete = run(con, simple_case([["a"], ["b"]], events, 60, as_of_minutes=end + 60),
                   trend_rows, trend="day")
    assert [r["complete"] for r in complete] == [True, True]
    not_yet = run(con, simple_case([["a"], ["b"]], events, 60, as_of_minutes=end + 59),
                  trend_rows, trend="day")
    assert [r["complete"] for r in not_yet] == [False, False]


def test_trend_uses_the_time_zone(con: duckdb.DuckDBPyConnection) -> None:
    # 2024-03-01 09:00 UTC is still 2024-03-01 in Tokyo; 20:00 UTC is already 03-02 there.
    case = simple_case([["a"], ["b"]], [("1", "p", "a", 0), ("2", "q", "a", 11 * 60)], 60)
    rows = run(con, case, trend_rows, trend="day", tz="Asia/Tokyo")
    assert [(r["period"], r["persons"]) for r in rows if r["step"] == 1] == [
        ("2024-03-01", 1), ("2024-03-02", 1)]


# --- golden: times ------------------------------------------------------------------------------


def test_times_percentiles_by_hand(con: duckdb.DuckDBPyConnection) -> None:
    # Five persons reach b 1, 2, 3, 4, 10 hours after a; two of them reach c 1 hour after b.
    events = []
    for n, hours in enumerate((1, 2, 3, 4, 10)):
        events += [(f"a{n}", f"p{n}", "a", 0), (f"b{n}", f"p{n}", "b", hours * 60)]
    events += [("c0", "p0", "c", 120), ("c4", "p4", "c", 660)]
    case = simple_case([["a"], ["b"], ["c"]], events, window_minutes=24 * 60)
    rows = run(con, case, times_rows)
    # linear interpolation over 1, 2, 3, 4, 10: p10 = 1.4, p25 = 2, median 3, p75 = 4, p90 = 7.6
    assert rows[0] == {"group": "all", "step": 2, "stage": "s2", "persons": 5,
                       "p10_hours": pytest.approx(1.4), "p25_hours": 2.0, "median_hours": 3.0,
                       "p75_hours": 4.0, "p90_hours": pytest.approx(7.6),
                       "median_hours_from_start": 3.0}
    assert rows[1]["persons"] == 2
    assert rows[1]["median_hours"] == 1.0
    assert rows[1]["median_hours_from_start"] == 6.5  # (2 + 11) / 2


def test_mode_usage_errors_and_cli_output(tmp_path: Path) -> None:
    case = simple_case([["a"], ["b"]], [("1", "p", "a", 0)], 60, order="unordered")
    connection = connect(tmp_path / "u.duckdb")
    with pytest.raises(UsageError, match="--times"):
        run(connection, case, times_rows)
    exact = replace(case, within=(None, 30))
    with pytest.raises(UsageError, match="unordered"):
        run(connection, exact, funnel_module.funnel_rows)
    connection.close()
    write_jsonl(tmp_path / "in" / "web" / "a.jsonl", [
        {"type": "page", "messageId": "m1", "timestamp": "2024-03-01T10:00:00Z",
         "anonymousId": "x"}])
    base = [sys.executable, "-m", "journey_metrics"]
    db = str(tmp_path / "w.duckdb")
    made = subprocess.run([*base, "run", "--input", str(tmp_path / "in"), "--db", db],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    done = subprocess.run([*base, "funnel", "--db", db, "--framework", "aarrr", "--times",
                           "--trend", "week"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "only one of --trend, --times, --correlate" in done.stderr
    # each mode prints JSON rows with its own columns (dates as YYYY-MM-DD)
    for mode, first_row in [
        (["--trend", "week"], {"group": "all", "period": "2024-02-26", "step": 1,
                               "stage": "acquisition", "persons": 1,
                               "conversion_from_start": None, "complete": True}),
        (["--times"], {"group": "all", "step": 2, "stage": "activation", "persons": 0,
                       "p10_hours": None, "p25_hours": None, "median_hours": None,
                       "p75_hours": None, "p90_hours": None, "median_hours_from_start": None}),
    ]:
        done = subprocess.run([*base, "funnel", "--db", db, "--framework", "aarrr", *mode,
                               "--format", "json", "--as-of", "2024-06-01T00:00:00Z"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)[0] == first_row
    done = subprocess.run([*base, "funnel", "--db", db, "--framework", "aarrr", "--correlate",
                           "--format", "csv"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "group,item,converters,non_converters,odds_ratio,p_value,q_value"]


# --- golden: correlate --------------------------------------------------------------------------


def test_fisher_exact_on_known_tables() -> None:
    # Fisher's tea tasting [[3, 1], [1, 3]]: tables 0..4 have probabilities 1, 16, 36, 16, 1 / 70;
    # two-sided p = (1 + 16 + 16 + 1) / 70.
    assert fisher_exact(3, 1, 1, 3) == pytest.approx(34 / 70, rel=1e-12)
    # [[1, 9], [11, 3]] (margins 10, 14; 12): P(a) = C(10,a) C(14,12-a) / C(24,12), a = 0..10,
    # numerators 91, 3640, 45045, ... symmetric; P(a=1) = 3640 / 2704156. As or less probable:
    # a = 0, 1, 9, 10 -> p = 2 (91 + 3640) / 2704156 = 0.0027594... (R: fisher.test gives 0.002759)
    assert fisher_exact(1, 9, 11, 3) == pytest.approx(7462 / 2704156, rel=1e-12)
    assert fisher_exact(5, 0, 0, 0) == 1.0


def test_odds_ratio_and_bh_by_hand() -> None:
    # s=30 of S=40 converters, f=20 of F=160 others: (31 * 141) / (11 * 21)
    assert odds_ratio(30, 20, 40, 160) == pytest.approx(31 * 141 / (11 * 21))
    # BH: p sorted 0.01, 0.04, 0.03 -> 0.01*3/1, min(0.03*3/2, 0.04*3/3) = 0.04, 0.04
    assert benjamini_hochberg([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.04, 0.04])
    assert benjamini_hochberg([]) == []


def test_correlate_items_and_traits_by_hand(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 60 entrants: 20 convert (a then b). 25 persons did `z` (no rule names it): 15 converters,
    # 10 others. `y` (24 persons) is below the 25-entrant floor. Traits from a hand-made table:
    # plan=pro for the 20 converters and 10 others; plan=free for 30 others (all non-converters).
    events, traits = [], []
    for n in range(60):
        pid = f"p{n:02d}"
        events.append((f"a{n}", pid, "a", 0))
        if n < 20:
            events.append((f"b{n}", pid, "b", 5))
        if n < 15 or 20 <= n < 30:
            events.append((f"z{n}", pid, "z", 1))
        if n < 24:
            events.append((f"y{n}", pid, "y", 1))
        traits.append((pid, "plan", "pro" if n < 30 else "free"))
    case = simple_case([["a"], ["b"]], events, window_minutes=60)
    con.execute("CREATE OR REPLACE TABLE hand_traits (person_id VARCHAR, trait VARCHAR,"
                " value VARCHAR)")
    con.executemany("INSERT INTO hand_traits VALUES (?, ?, ?)", traits)
    monkeypatch.setattr(funnel_module, "traits_sql",
                        lambda: "SELECT person_id, NULL::BIGINT AS person_no, trait, value"
                                " FROM hand_traits")
    rows = run(con, case, correlate_rows)
    by_item = {r["item"]: r for r in rows}
    assert set(by_item) == {"z", "trait:plan=pro", "trait:plan=free"}
    z, pro, free = by_item["z"], by_item["trait:plan=pro"], by_item["trait:plan=free"]
    assert (z["converters"], z["non_converters"]) == (15, 10)
    assert z["odds_ratio"] == pytest.approx(16 * 31 / (6 * 11))
    assert z["p_value"] == pytest.approx(fisher_exact(15, 10, 5, 30))
    assert (pro["converters"], pro["non_converters"]) == (20, 10)
    assert pro["odds_ratio"] == pytest.approx(21 * 31 / (1 * 11))
    assert (free["converters"], free["non_converters"]) == (0, 30)
    assert free["odds_ratio"] == pytest.approx(1 * 11 / (21 * 31))
    assert [r["item"] for r in rows] == ["trait:plan=pro", "z", "trait:plan=free"]
    qs = benjamini_hochberg([r["p_value"] for r in rows])
    assert [r["q_value"] for r in rows] == pytest.approx(qs)


# --- property: correlate ------------------------------------------------------------------------


def fisher_reference(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher exact p with exact fractions (independent of the engine's log-gamma)."""
    from fractions import Fraction

    row1, row2, col1 = a + b, c + d, a + c
    total = math.comb(row1 + row2, col1)
    probability = {x: Fraction(math.comb(row1, x) * math.comb(row2, col1 - x), total)
                   for x in range(max(0, col1 - row2), min(row1, col1) + 1)}
    return float(sum(p for p in probability.values() if p <= probability[a]))


def reference_correlate(case: Case) -> Rows:
    stage_names = {n for names in case.stage_sets for n in names}
    results = {pid: person_funnel(case, [e for e in case.events if e.person_id == pid])
               for pid, _ in case.persons}
    entrants = {pid: r.level == len(case.stages) for pid, r in results.items() if r.level}
    converters = sum(entrants.values())
    rest = len(entrants) - converters
    had: dict[str, set[str]] = {}
    for e in case.events:
        if (e.person_id in entrants and e.at <= case.as_of and e.name not in stage_names
                and e.name != "identify"):  # identify is not activity (CONTRACT §4)
            had.setdefault(e.name, set()).add(e.person_id)
    rows = []
    for item, people in had.items():
        if len(people) < 25:
            continue
        s = sum(1 for p in people if entrants[p])
        f = len(people) - s
        rows.append({"group": "all", "item": item, "converters": s, "non_converters": f,
                     "odds_ratio": (s + 1) * (rest - f + 1) / ((converters - s + 1) * (f + 1)),
                     "p_value": fisher_reference(s, f, converters - s, rest - f)})
    # Benjamini-Hochberg by its definition: q_(i) = min over j >= i of p_(j) m / j
    ps = sorted(r["p_value"] for r in rows)
    for r in rows:
        i = ps.index(r["p_value"]) + 1
        r["q_value"] = min(min(ps[j - 1] * len(ps) / j for j in range(i, len(ps) + 1)), 1.0)
    return sorted(rows, key=lambda r: (-r["odds_ratio"], r["item"]))


@st.composite
def crowd_cases(draw: st.DrawFn) -> Case:
    """Stages a -> b; 25-45 persons who may also do y, z or identify (not activity)."""
    events = []
    for n in range(draw(st.integers(25, 45))):
        for name, chance in (("a", 0.9), ("b", 0.5), ("y", 0.8), ("z", 0.6), ("identify", 0.9)):
            if draw(st.floats(0, 1)) < chance:
                events.append((f"{name}{n}", f"p{n:02d}", name, draw(st.sampled_from((0, 5, 90)))))
    return simple_case([["a"], ["b"]], events, window_minutes=60,
                       as_of_minutes=draw(st.sampled_from((60, 120))))


@settings(max_examples=40, deadline=None)
@given(case=crowd_cases())
def test_correlate_matches_reference(con: duckdb.DuckDBPyConnection, case: Case) -> None:
    con.execute("CREATE OR REPLACE TABLE no_traits (person_id VARCHAR, person_no BIGINT,"
                " trait VARCHAR, value VARCHAR)")
    original = funnel_module.traits_sql
    funnel_module.traits_sql = lambda: "SELECT * FROM no_traits"  # type: ignore[assignment]
    try:
        got = run(con, case, correlate_rows)
    finally:
        funnel_module.traits_sql = original  # type: ignore[assignment]
    want = reference_correlate(case)
    assert [r["item"] for r in got] == [r["item"] for r in want]
    for g, w in zip(got, want, strict=True):
        assert g["converters"] == w["converters"]
        assert g["non_converters"] == w["non_converters"]
        for field in ("odds_ratio", "p_value", "q_value"):
            assert g[field] == pytest.approx(w[field], rel=1e-9, abs=1e-300), field
