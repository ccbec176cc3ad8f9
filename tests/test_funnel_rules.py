"""Funnel rules of CONTRACT §7 (per-step windows, exclusions) and the unordered funnel of §4 as
PostHog computes it: hand-computed golden cases, run through the engine.

Each case also runs through the plain-Python reference of test_funnel_property.py, so a wrong
hand value and a wrong reference cannot agree by accident.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from journey_metrics.config import load_framework
from journey_metrics.db import connect
from journey_metrics.errors import UsageError
from test_funnel_property import (
    T0,
    Case,
    Event,
    engine_funnel,
    reference_funnel,
    simple_case,
)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path_factory.mktemp("funnel_rules") / "w.duckdb")
    yield connection
    connection.close()


def persons(con: duckdb.DuckDBPyConnection, case: Case, field: str = "persons") -> list[Any]:
    got = engine_funnel(con, case)
    assert [r[field] for r in got] == [r[field] for r in reference_funnel(case)]
    return [r[field] for r in got if r["group"] == "all"]


def seconds_case(events: list[tuple[str, str, str, int]], **options: Any) -> Case:
    """Stages a, b; events (event_id, person, name, SECONDS after T0); window 1 day."""
    evs = tuple(Event(i, p, n, T0 + timedelta(seconds=s)) for i, p, n, s in events)
    base = simple_case([["a"], ["b"]], [], window_minutes=1440)
    people = tuple(sorted({(e.person_id, "direct") for e in evs}))
    return Case(stages=base.stages, persons=people, events=evs, window=base.window,
                as_of=max(e.at for e in evs), **options)


# --- within -------------------------------------------------------------------------------------


def test_within_holds_at_the_limit_and_not_one_second_past(con: duckdb.DuckDBPyConnection) -> None:
    # b within 60m of a: p's b is exactly 60m after a (kept), q's 60m 1s after (too late).
    case = seconds_case([("1", "p", "a", 0), ("2", "p", "b", 3600),
                         ("3", "q", "a", 0), ("4", "q", "b", 3601)], within=(None, 60))
    assert persons(con, case) == [2, 1]
    assert persons(con, case, "median_hours_from_previous") == [None, 1.0]


def test_within_measures_from_the_previous_step_not_the_start(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # a@0, b@100m, c@130m; c within 30m of b: kept although 130m after the start (window 1d).
    case = simple_case([["a"], ["b"], ["c"]],
                       [("1", "p", "a", 0), ("2", "p", "b", 100), ("3", "p", "c", 130)],
                       window_minutes=1440, within=(None, None, 30))
    assert persons(con, case) == [1, 1, 1]
    case = simple_case([["a"], ["b"], ["c"]],
                       [("1", "p", "a", 0), ("2", "p", "b", 100), ("3", "p", "c", 131)],
                       window_minutes=1440, within=(None, None, 30))
    assert persons(con, case) == [1, 1, 0]


def test_within_does_not_skip_to_a_later_match(con: duckdb.DuckDBPyConnection) -> None:
    # The first b after a (at 90m) is past `within 60m`: the attempt stops at a; the attempt
    # starting at the second a (100m) reaches b at 120m.
    case = simple_case([["a"], ["b"]],
                       [("1", "p", "a", 0), ("2", "p", "b", 90), ("3", "p", "a", 100),
                        ("4", "p", "b", 120)], window_minutes=1440, within=(None, 60))
    assert persons(con, case) == [1, 1]
    assert persons(con, case, "median_hours_from_previous") == [None, pytest.approx(1 / 3)]



def test_a_zero_window_keeps_only_steps_at_the_same_instant(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # §3/§7: a window is `<int>(m|h|d)`, and 0 is one. p's b is at a's instant (kept: ties go to
    # the lower stage), q's one second later (out), as a window or as b's `within`.
    events = [("1", "p", "a", 0), ("2", "p", "b", 0), ("3", "q", "a", 0), ("4", "q", "b", 1)]
    whole = seconds_case(events)
    assert persons(con, replace(whole, window=timedelta(0))) == [2, 1]
    assert persons(con, seconds_case(events, within=(None, 0))) == [2, 1]
    assert persons(con, seconds_case(events, within=(None, 0)),
                   "median_hours_from_previous") == [None, 0.0]

# --- exclusions ---------------------------------------------------------------------------------

EXCLUDE_X = ((("x",), 1, 2),)


def test_exclusion_voids_one_attempt_while_a_later_one_counts(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Attempt at 0 reaches b at 20 but x at 10 lies between: void. Attempt at 30 reaches b at 40
    # with no x between: counts, and its 10 minutes are the step time.
    case = simple_case([["a"], ["b"]],
                       [("1", "p", "a", 0), ("2", "p", "x", 10), ("3", "p", "b", 20),
                        ("4", "p", "a", 30), ("5", "p", "b", 40)],
                       window_minutes=60, exclude=EXCLUDE_X)
    assert persons(con, case) == [1, 1]
    assert persons(con, case, "median_hours_from_previous") == [None, pytest.approx(1 / 6)]


def test_exclusion_at_exactly_the_step_times_does_not_void(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # x at the very instant of step 1 (p) or of step 2 (q): not strictly between.
    case = simple_case([["a"], ["b"]],
                       [("1", "p", "a", 0), ("2", "p", "x", 0), ("3", "p", "b", 10),
                        ("4", "q", "a", 0), ("5", "q", "x", 10), ("6", "q", "b", 10)],
                       window_minutes=60, exclude=EXCLUDE_X)
    assert persons(con, case) == [2, 2]


def test_all_attempts_void_counts_at_no_step(con: duckdb.DuckDBPyConnection) -> None:
    # p never reaches b; x at 60 = exactly its window end (start 0 + 60m): void, so p counts
    # nowhere. q's x at 61 is after its window end: q stays at level 1.
    case = simple_case([["a"], ["b"]],
                       [("1", "p", "a", 0), ("2", "p", "x", 60),
                        ("3", "q", "a", 0), ("4", "q", "x", 61)],
                       window_minutes=60, exclude=EXCLUDE_X)
    assert persons(con, case) == [1, 0]
    case = simple_case([["a"], ["b"]], [("1", "p", "a", 0), ("2", "p", "x", 60)],
                       window_minutes=60, exclude=EXCLUDE_X)
    assert persons(con, case) == [0, 0]


def test_entry_first_takes_the_first_non_void_attempt(con: duckdb.DuckDBPyConnection) -> None:
    # Attempt at 0 is void (x at 5 before b at 10); the attempt at 100 is the first non-void one
    # and stays at level 1 (the next b, at 210, is past its window); the attempt at 200 converts.
    events = [("1", "p", "a", 0), ("2", "p", "x", 5), ("3", "p", "b", 10),
              ("4", "p", "a", 100), ("5", "p", "a", 200), ("6", "p", "b", 210)]
    best = simple_case([["a"], ["b"]], events, window_minutes=60, exclude=EXCLUDE_X)
    first = simple_case([["a"], ["b"]], events, window_minutes=60, exclude=EXCLUDE_X,
                        entry="first")
    assert persons(con, best) == [1, 1]
    assert persons(con, first) == [1, 0]


def test_exclusion_between_later_steps(con: duckdb.DuckDBPyConnection) -> None:
    # between [2, 3]: x between a and b does not matter, x between b and c voids.
    stages = [["a"], ["b"], ["c"]]
    rule = ((("x",), 2, 3),)
    fine = simple_case(stages, [("1", "p", "a", 0), ("2", "p", "x", 5), ("3", "p", "b", 10),
                                ("4", "p", "c", 20)], window_minutes=60, exclude=rule)
    assert persons(con, fine) == [1, 1, 1]
    void = simple_case(stages, [("1", "p", "a", 0), ("2", "p", "b", 10), ("3", "p", "x", 15),
                                ("4", "p", "c", 20)], window_minutes=60, exclude=rule)
    assert persons(con, void) == [0, 0, 0]


# --- unordered: PostHog's own test cases ---------------------------------------------------------


def test_posthog_big_multi_step_unordered_funnel(con: duckdb.DuckDBPyConnection) -> None:
    # PostHog test_funnel_unordered.py::test_big_multi_step_unordered_funnel: all events at one
    # instant; steps signed_up, pageview, insight, crying -> 8 / 5 / 3 / 1.
    journeys = {
        "p1": ["signed_up"],
        "p2": ["pageview", "crying"],
        "p3": ["signed_up", "pageview", "blah", "insight"],
        "p4": ["insight", "crying", "signed_up"],
        "p5": ["pageview", "signed_up", "crying", "insight"],
        "p6": ["blah", "insight"],
        "p7": ["pageview", "blah"],
        "p8": ["insight", "pageview"],
    }
    events = [(f"{p}-{n}", p, name, 0) for p, names in journeys.items()
              for n, name in enumerate(names)]
    case = simple_case([["signed_up"], ["pageview"], ["insight"], ["crying"]], events,
                       window_minutes=14 * 1440, order="unordered")
    assert persons(con, case) == [8, 5, 3, 1]
    # The ordered funnel of the same events needs signed_up first: p1, p3, p4, p5 enter.
    ordered = simple_case([["signed_up"], ["pageview"], ["insight"], ["crying"]], events,
                          window_minutes=14 * 1440)
    assert persons(con, ordered)[0] == 4


def test_posthog_unordered_conversion_times_counts(con: duckdb.DuckDBPyConnection) -> None:
    # PostHog test_basic_unordered_funnel_conversion_times (1-day window): 3 / 2 / 1.
    h = 60
    events = [
        ("1", "p1", "signed_up", 24 * h),
        ("2", "p2", "pageview", 24 * h), ("3", "p2", "signed_up", 25 * h),
        ("4", "p3", "insight", 24 * h), ("5", "p3", "signed_up", 26 * h),
        ("6", "p3", "pageview", 28 * h), ("7", "p3", "pageview", 48 * h),
        ("8", "p3", "insight", 51 * h), ("9", "p3", "signed_up", 54 * h),
    ]
    case = simple_case([["signed_up"], ["pageview"], ["insight"]], events,
                       window_minutes=1440, order="unordered")
    assert persons(con, case) == [3, 2, 1]
    assert persons(con, case, "median_hours_from_previous") == [None, None, None]
    assert persons(con, case, "in_progress") == [None, None, None]


def test_unordered_window_and_entry_first(con: duckdb.DuckDBPyConnection) -> None:
    # c@0 then a@100, b@110 (window 30m): the first attempt (c) has one stage, the one at a two.
    events = [("1", "p", "c", 0), ("2", "p", "a", 100), ("3", "p", "b", 110)]
    stages = [["a"], ["b"], ["c"]]
    best = simple_case(stages, events, window_minutes=30, order="unordered")
    first = simple_case(stages, events, window_minutes=30, order="unordered", entry="first")
    assert persons(con, best) == [1, 1, 0]
    assert persons(con, first) == [1, 0, 0]


# --- validation when the framework loads ---------------------------------------------------------

GOOD = """
name: t
window: 1d
stages:
  - {name: a, match: [{event: page_view}]}
  - {name: b, match: [{event: signed_up}], within: 2h}
  - {name: c, match: [{event: order_completed}]}
exclude:
  - {match: [{event: email_unsubscribe}], between: [1, 3]}
"""


@pytest.mark.parametrize(("change", "message"), [
    (("within: 2h", "within: 2x"),
     "line 6, column 44: stages[2] (b).within: window '2x' must look like"),
    (("within: 2h", "within: 1.5h"),
     "line 6, column 44: stages[2] (b).within: window '1.5h' must look like"),
    (("between: [1, 3]", "between: [2, 2]"),
     "line 9, column 43: exclude[1].between: between [2, 2]: need 1 <= i < j"),
    (("between: [1, 3]", "between: [3, 1]"), "exclude[1].between: between [3, 1]: need"),
    (("between: [1, 3]", "between: [0, 2]"), "exclude[1].between: between [0, 2]: need"),
    (("between: [1, 3]", "between: [1, 4]"),
     "line 9, column 43: exclude[1].between: stage 4 does not exist"),
    (("between: [1, 3]", "between: 2"), "exclude[1].between: between must be two stage"),
    (("{name: a, match: [{event: page_view}]}",
      "{name: a, match: [{event: page_view}], within: 1h}"),
     "line 5, column 44: stages[1] (a).within: within on the first stage"),
])
def test_bad_rules_fail_when_the_framework_loads(
    tmp_path: Path, change: tuple[str, str], message: str,
) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(UsageError) as raised:
        load_framework(str(path))
    assert str(raised.value).startswith(f"{path}, line ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_good_rules_load(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(GOOD)
    framework = load_framework(str(path))
    assert framework.stages[1].within_delta == timedelta(hours=2)
    assert framework.exclude[0].between == (1, 3)
    assert framework.exact_rules


def test_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(GOOD.replace("between: [1, 3]", "between: [1, 9]"))
    done = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "funnel", "--db", str(tmp_path / "w.duckdb"),
         "--framework", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "line 9, column 43: exclude[1].between: stage 9 does not exist" in lines[0]
    assert str(path) in lines[0]
