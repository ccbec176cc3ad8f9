"""Property test: the SQL funnel engine against a plain-Python reading of CONTRACT §4 "Funnel".

The reference below is written from the contract text only (not from sql/marts/funnel/):

* per person, the events matching any stage (up to as_of, inclusive) in the order
  (occurred_at, lowest stage index matched, event_id);
* an attempt starts at every stage-1 event with time in [from, to) (`best`) or only at the first
  one (`first`); from its start, the greedy chain takes for each next stage k the first event
  after the previous step that matches stage k and lies at most start + window (inclusive);
  one event fills one step;
* level = max over the attempts (only the first one with `first`); `unordered` (PostHog's, §4 as
  changed by issue 13): an attempt starts at every stage-matching event in [from, to), its level
  is the number of distinct stages with an event in [start, start + window];
* CONTRACT §7: `within` caps a step at that long after the previous step; an attempt is void when
  an exclusion event lies strictly after its step-i event and strictly before its step-j event
  (never reached j: at or before start + window); void attempts count nowhere; `first` takes the
  first non-void attempt;
* rows per group (`all`, then with by_channel one group per channel of the persons who entered,
  sorted) and stage, with the null conventions of the contract.

Contract readings this file fixes (the engine agrees with all of them):

* in_progress at stage k counts the persons whose level is k - 1 and who have a counted attempt
  (only the first one with `--entry first`) reaching k - 1 whose start + window is strictly after
  as_of; in `--order unordered` in_progress and the median are null (CONTRACT §4).
* "latest-starting attempt" breaks ties between attempts starting at the same instant by the funnel
  order (the later one in the order is the later start).
* `--order unordered`: one event may count for several stages (the start event counts too).
* `--by channel` has one group per channel that has at least one person at stage 1 (so a channel
  group never shows only zeros); the `all` group is always present.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journey_metrics.config import Framework
from journey_metrics.db import connect
from journey_metrics.metrics.funnel import FunnelQuery, compute_funnel
from journey_metrics.sql import sql_engine

Z_95 = 1.959963984540054
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
STAGE_EVENTS = ("a", "b", "c", "d")
EVENT_NAMES = (*STAGE_EVENTS, "z")  # `z` matches no stage
CHANNELS = ("(none)", "direct", "email", "paid_search")
# Few distinct instants (minutes after T0), so that ties and window edges are frequent.
OFFSETS = (0, 1, 30, 59, 60, 61, 90, 120, 150, 180, 1440)
WINDOWS = (0, 1, 30, 60, 90, 120, 1440)  # minutes (0: §3 `<int>`, steps at one instant)
FIELDS = ("group", "step", "stage", "persons", "conversion_from_previous",
          "conversion_from_start", "drop_off", "drop_off_rate", "in_progress",
          "median_hours_from_previous", "ci_low", "ci_high")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- the case: events, persons, framework and query ---------------------------------------------


@dataclass(frozen=True)
class Event:
    event_id: str
    person_id: str
    name: str
    at: datetime


@dataclass(frozen=True)
class Case:
    stages: tuple[tuple[tuple[str, ...], ...], ...]  # per stage, its rules (event names each)
    persons: tuple[tuple[str, str], ...]  # (person_id, channel)
    events: tuple[Event, ...]
    window: timedelta
    as_of: datetime
    entry: str = "best"
    order: str = "ordered"
    from_at: datetime | None = None
    to_at: datetime | None = None
    by_channel: bool = False
    # CONTRACT §7: per stage, `within` in minutes (None: none; stage 1 never has one) and
    # exclusion rules (event names, i, j)
    within: tuple[int | None, ...] = ()
    exclude: tuple[tuple[tuple[str, ...], int, int], ...] = ()

    def within_of(self, k: int) -> timedelta | None:
        minutes = self.within[k - 1] if k - 1 < len(self.within) else None
        return None if minutes is None else timedelta(minutes=minutes)

    @property
    def stage_sets(self) -> list[frozenset[str]]:
        """The event names each stage matches (any of its rules)."""
        return [frozenset(name for rule in rules for name in rule) for rules in self.stages]

    def framework(self) -> Framework:
        return Framework.model_validate({
            "name": "prop",
            "window": "1d",
            "stages": [
                {"name": f"s{k}", "match": [{"event": list(rule)} for rule in rules]}
                | ({"within": f"{self.within[k - 1]}m"}
                   if k - 1 < len(self.within) and self.within[k - 1] is not None else {})
                for k, rules in enumerate(self.stages, start=1)
            ],
            "exclude": [{"match": [{"event": list(names)}], "between": [i, j]}
                        for names, i, j in self.exclude],
        })

    def query(self) -> FunnelQuery:
        return FunnelQuery(
            framework=self.framework(), window=self.window, as_of=self.as_of,
            entry=self.entry,  # type: ignore[arg-type]
            order=self.order,  # type: ignore[arg-type]
            from_at=self.from_at, to_at=self.to_at, by_channel=self.by_channel,
        )


def simple_case(stages: list[list[str]], events: list[tuple[str, str, str, int]],
                window_minutes: int, as_of_minutes: int | None = None,
                channels: dict[str, str] | None = None, **options: Any) -> Case:
    """A hand-written case: events are (event_id, person_id, event_name, minutes after T0)."""
    person_ids = sorted({e[1] for e in events} | set(channels or {}))
    evs = tuple(Event(i, p, n, at(m)) for i, p, n, m in events)
    latest = max((e.at for e in evs), default=T0)
    return Case(
        stages=tuple((tuple(names),) for names in stages),
        persons=tuple((p, (channels or {}).get(p, "direct")) for p in person_ids),
        events=evs,
        window=timedelta(minutes=window_minutes),
        as_of=latest if as_of_minutes is None else at(as_of_minutes),
        **options,
    )


# --- reference implementation (CONTRACT §4 "Funnel") --------------------------------------------


@dataclass(frozen=True)
class Attempt:
    position: int  # of its start in the person's funnel order (breaks ties between equal starts)
    steps: tuple[Event, ...]  # the events filling stages 1..len(steps)

    @property
    def level(self) -> int:
        return len(self.steps)


@dataclass(frozen=True)
class PersonFunnel:
    level: int
    window_open: bool  # some counted attempt reaching `level` ends its window after as_of
    step_times: tuple[datetime, ...]  # of the latest-starting attempt of maximal level


def in_range(case: Case, moment: datetime) -> bool:
    return (case.from_at is None or moment >= case.from_at) and (
        case.to_at is None or moment < case.to_at)


def funnel_order(case: Case, events: list[Event]) -> list[tuple[Event, frozenset[int]]]:
    """The person's stage-matching events up to as_of, each with the stages (1-based) it matches,
    ordered by (occurred_at, lowest stage index matched, event_id)."""
    matched = []
    for event in events:
        if event.at > case.as_of:
            continue  # events after as_of are ignored
        stages = frozenset(k for k, names in enumerate(case.stage_sets, start=1)
                           if event.name in names)
        if stages:
            matched.append((event, stages))
    matched.sort(key=lambda item: (item[0].at, min(item[1]), item[0].event_id))
    return matched


def greedy_attempt(case: Case, order: list[tuple[Event, frozenset[int]]], start: int) -> Attempt:
    chain = [start]
    for k in range(2, len(case.stages) + 1):
        deadline = order[start][0].at + case.window
        within = case.within_of(k)
        if within is not None:  # CONTRACT §7: also at most `within` after the previous step
            deadline = min(deadline, order[chain[-1]][0].at + within)
        following = (j for j in range(chain[-1] + 1, len(order))
                     if k in order[j][1] and order[j][0].at <= deadline)
        step = next(following, None)
        if step is None:
            break
        chain.append(step)
    return Attempt(start, tuple(order[j][0] for j in chain))


def is_void(case: Case, events: list[Event], attempt: Attempt) -> bool:
    """CONTRACT §7: an event of an exclusion rule strictly after the step-i event and strictly
    before the step-j event (never reached j: at or before start + window)."""
    for names, i, j in case.exclude:
        if attempt.level < i:
            continue
        after = attempt.steps[i - 1].at
        for e in events:
            if e.name not in names or e.at > case.as_of or e.at <= after:
                continue
            if (e.at < attempt.steps[j - 1].at if attempt.level >= j
                    else e.at <= attempt.steps[0].at + case.window):
                return True
    return False


def unordered_level(case: Case, order: list[tuple[Event, frozenset[int]]], start: int) -> int:
    """PostHog's unordered funnel: the distinct stages with an event in [start, start + window]."""
    begin = order[start][0].at
    return sum(1 for k in range(1, len(case.stages) + 1)
               if any(k in stages and begin <= e.at <= begin + case.window
                      for e, stages in order))


def person_funnel(case: Case, events: list[Event]) -> PersonFunnel:
    order = funnel_order(case, events)
    if case.order == "unordered":
        levels = [unordered_level(case, order, i) for i, (e, _) in enumerate(order)
                  if in_range(case, e.at)]
        if case.entry == "first":
            levels = levels[:1]
        return PersonFunnel(max(levels, default=0), False, ())
    starts = [i for i, (event, stages) in enumerate(order) if 1 in stages
              and in_range(case, event.at)]
    attempts = [a for a in (greedy_attempt(case, order, s) for s in starts)
                if not is_void(case, events, a)]
    if case.entry == "first":
        attempts = attempts[:1]  # the first non-void attempt
    if not attempts:
        return PersonFunnel(0, False, ())
    level = max(a.level for a in attempts)
    best = [a for a in attempts if a.level == level]
    window_open = any(a.steps[0].at + case.window > case.as_of for a in best)
    chosen = max(best, key=lambda a: a.position)
    return PersonFunnel(level, window_open, tuple(e.at for e in chosen.steps))


def wilson(successes: int, trials: int) -> tuple[float | None, float | None]:
    if trials == 0:
        return None, None
    p = successes / trials
    z2 = Z_95**2
    center = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z_95 / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2))
    return center - half, center + half


def group_rows(case: Case, group: str, people: list[PersonFunnel]) -> list[dict[str, Any]]:
    stage_count = len(case.stages)
    reached = [sum(1 for p in people if p.level >= k) for k in range(stage_count + 1)]
    rows = []
    for k in range(1, stage_count + 1):
        row: dict[str, Any] = {"group": group, "step": k, "stage": f"s{k}",
                               "persons": reached[k]}
        if k == 1:
            rows.append(row | dict.fromkeys(FIELDS[4:]))
            continue
        previous = reached[k - 1]
        conversion = reached[k] / previous if previous else None
        ordered = case.order == "ordered"
        hours = [(p.step_times[k - 1] - p.step_times[k - 2]).total_seconds() / 3600
                 for p in people if ordered and p.level >= k]
        low, high = wilson(reached[k], previous)
        row |= {
            "conversion_from_previous": conversion,
            "conversion_from_start": reached[k] / reached[1] if reached[1] else None,
            "drop_off": previous - reached[k],
            "drop_off_rate": None if conversion is None else 1 - conversion,
            "in_progress": sum(1 for p in people if p.level == k - 1 and p.window_open)
            if ordered else None,
            "median_hours_from_previous": statistics.median(hours) if ordered and hours
            else None,
            "ci_low": low,
            "ci_high": high,
        }
        rows.append(row)
    return rows


def reference_funnel(case: Case) -> list[dict[str, Any]]:
    results = {
        person_id: person_funnel(case, [e for e in case.events if e.person_id == person_id])
        for person_id, _ in case.persons
    }
    entered = [(channel, results[pid]) for pid, channel in case.persons if results[pid].level]
    rows = group_rows(case, "all", [p for _, p in entered])
    if case.by_channel:
        for channel in sorted({c for c, _ in entered}):
            rows += group_rows(case, channel, [p for c, p in entered if c == channel])
    return rows


# --- the engine -----------------------------------------------------------------------------------


def load(con: duckdb.DuckDBPyConnection, case: Case) -> None:
    """Plain `fct_events` and `persons` tables holding exactly the case."""
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            event_id VARCHAR, source VARCHAR, event_name VARCHAR, occurred_at TIMESTAMPTZ,
            person_id VARCHAR, channel VARCHAR, campaign VARCHAR, revenue DOUBLE, properties JSON,
            person_no BIGINT)
    """)
    con.execute("CREATE OR REPLACE TABLE persons "
                "(person_id VARCHAR, channel VARCHAR, first_seen_at TIMESTAMPTZ, person_no BIGINT)")
    channel_of = dict(case.persons)
    number_of = {p: n for n, (p, _) in enumerate(sorted(case.persons), start=1)}
    if case.events:
        con.executemany(
            "INSERT INTO fct_events VALUES (?, 'web', ?, ?, ?, ?, NULL, NULL, '{}', ?)",
            [[e.event_id, e.name, e.at, e.person_id, channel_of[e.person_id],
              number_of[e.person_id]] for e in case.events],
        )
    first_seen = {p: min((e.at for e in case.events if e.person_id == p), default=T0)
                  for p, _ in case.persons}
    con.executemany("INSERT INTO persons VALUES (?, ?, ?, ?)",
                    [[p, channel, first_seen[p], number_of[p]] for p, channel in case.persons])


def engine_funnel(con: duckdb.DuckDBPyConnection, case: Case, engine: str = "duckdb"
                  ) -> list[dict[str, Any]]:
    """The funnel's rows; engine "spark": the SQL Spark gets (its .spark.sql variants and
    Spark-only files, CONTRACT §12), run by DuckDB: written in the portable subset, it runs on
    both."""
    load(con, case)
    with sql_engine(engine):
        return compute_funnel(con, case.query())


def same(got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if isinstance(got, float) or isinstance(want, float):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return bool(got == want) and type(got) is type(want)


def assert_matches_reference(con: duckdb.DuckDBPyConnection, case: Case,
                             engine: str = "duckdb") -> None:
    got = engine_funnel(con, case, engine)
    want = reference_funnel(case)
    keys = [(r["group"], r["step"]) for r in want]
    assert [(r["group"], r["step"]) for r in got] == keys, case
    for got_row, want_row in zip(got, want, strict=True):
        assert set(got_row) == set(FIELDS), got_row
        wrong = {f: (got_row[f], want_row[f]) for f in FIELDS
                 if not same(got_row[f], want_row[f])}
        where = f"{want_row['group']} step {want_row['step']}"
        assert not wrong, f"{where}: {wrong} (got, want)\n{case}"


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path_factory.mktemp("funnel_property") / "w.duckdb")
    yield connection
    connection.close()


# --- the property -------------------------------------------------------------------------------


@st.composite
def cases(draw: st.DrawFn) -> Case:
    stages = []
    for _ in range(draw(st.integers(2, 4))):
        names = draw(st.lists(st.sampled_from(STAGE_EVENTS), min_size=1, max_size=3, unique=True))
        cut = draw(st.integers(1, len(names)))  # one or two rules: the stage matches ANY rule
        stages.append((tuple(names[:cut]), tuple(names[cut:])) if names[cut:]
                      else (tuple(names),))
    persons, events = [], []
    for p in range(draw(st.integers(1, 6))):
        person_id = f"p{p}"
        persons.append((person_id, draw(st.sampled_from(CHANNELS))))
        for _ in range(draw(st.integers(0, 12))):
            # the random prefix makes the event_id order unrelated to the drawing order
            event_id = f"{draw(st.integers(0, 20)):02d}-{len(events):03d}"
            name = draw(st.sampled_from(EVENT_NAMES))
            events.append(Event(event_id, person_id, name, at(draw(st.sampled_from(OFFSETS)))))
    window = timedelta(minutes=draw(st.sampled_from(WINDOWS)))
    latest = max((e.at for e in events), default=T0)
    # as_of: the latest event, any instant, or exactly when some attempt's window would end
    window_ends = [e.at + window for e in events] or [T0]
    as_of = draw(st.one_of(st.just(latest), st.sampled_from(OFFSETS).map(at),
                           st.sampled_from(window_ends)))
    moments = st.sampled_from(OFFSETS).map(at)
    bounds = draw(st.sampled_from(["none", "none", "from", "to", "both"]))
    order = draw(st.sampled_from(["ordered", "ordered", "unordered"]))
    within: tuple[int | None, ...] = ()
    exclude: tuple[tuple[tuple[str, ...], int, int], ...] = ()
    if order == "ordered" and draw(st.booleans()):
        within = (None, *(draw(st.sampled_from([None, None, 0, 1, 30, 60, 90]))
                          for _ in stages[1:]))
        rules = []
        for _ in range(draw(st.integers(0, 2))):
            i = draw(st.integers(1, len(stages) - 1))
            j = draw(st.integers(i + 1, len(stages)))
            names = draw(st.lists(st.sampled_from(EVENT_NAMES), min_size=1, max_size=2,
                                  unique=True))
            rules.append((tuple(names), i, j))
        exclude = tuple(rules)
    return Case(
        stages=tuple(stages),
        persons=tuple(persons),
        events=tuple(events),
        window=window,
        as_of=as_of,
        entry=draw(st.sampled_from(["best", "first"])),
        order=order,
        from_at=draw(moments) if bounds in ("from", "both") else None,
        to_at=draw(moments) if bounds in ("to", "both") else None,
        by_channel=draw(st.booleans()),
        within=within,
        exclude=exclude,
    )


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_engine_matches_the_contract_reference(con: duckdb.DuckDBPyConnection, case: Case) -> None:
    assert_matches_reference(con, case)


@settings(max_examples=100, deadline=None)
@given(case=cases())
def test_spark_sql_matches_the_contract_reference(con: duckdb.DuckDBPyConnection,
                                                  case: Case) -> None:
    """Spark's funnel SQL (its steps by windows, step_tail_k.spark.sql; its levels and attempts
    without ASOF joins), on DuckDB: the Spark suites compare the engines on a few data sets,
    this compares Spark's SQL with the contract on many."""
    assert_matches_reference(con, case, engine="spark")


# --- hand-checked examples (they pin the reference down as much as the engine) -------------------


def rows_of(con: duckdb.DuckDBPyConnection, case: Case) -> list[dict[str, Any]]:
    assert_matches_reference(con, case)
    return reference_funnel(case)


def column(rows: list[dict[str, Any]], name: str, group: str = "all") -> list[Any]:
    return [r[name] for r in rows if r["group"] == group]


def test_ties_order_by_lowest_stage_then_event_id(con: duckdb.DuckDBPyConnection) -> None:
    # All at one instant: x (stages 1 and 2) sorts before y (stage 2 only) whatever the ids say,
    # so y is x's step 2; then w and v (both stage 3 only) tie and sort by event_id.
    case = simple_case([["a"], ["a", "b"], ["c"]],
                       [("9", "p", "b", 0), ("8", "p", "a", 0), ("w", "p", "c", 0),
                        ("v", "p", "c", 0)], window_minutes=1)
    rows = rows_of(con, case)
    assert column(rows, "persons") == [1, 1, 1]
    assert column(rows, "median_hours_from_previous") == [None, 0.0, 0.0]


def test_one_event_fills_one_step(con: duckdb.DuckDBPyConnection) -> None:
    # One event matching stages 1 and 2 is a start but not its own step 2; a second one is.
    case = simple_case([["a"], ["a"]],
                       [("1", "single", "a", 0), ("2", "double", "a", 0), ("3", "double", "a", 30)],
                       window_minutes=60)
    assert column(rows_of(con, case), "persons") == [2, 1]


def test_window_is_inclusive_and_in_progress_strict(con: duckdb.DuckDBPyConnection) -> None:
    # p reaches b exactly at start + window; q's window ends exactly at as_of (not in progress);
    # r's window ends after as_of (in progress).
    case = simple_case([["a"], ["b"]],
                       [("1", "p", "a", 0), ("2", "p", "b", 60), ("3", "q", "a", 30),
                        ("4", "r", "a", 31)], window_minutes=60, as_of_minutes=90)
    rows = rows_of(con, case)
    assert column(rows, "persons") == [3, 1]
    assert column(rows, "drop_off") == [None, 2]
    assert column(rows, "in_progress") == [None, 1]
    assert column(rows, "median_hours_from_previous") == [None, 1.0]


def test_timing_from_latest_starting_attempt_of_maximal_level(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Attempts at 0 and 30 both reach b (the same b at 59): the later one gives 29/60 h.
    # With --entry first only the attempt at 0 counts: 59/60 h.
    events = [("1", "p", "a", 0), ("2", "p", "a", 30), ("3", "p", "b", 59)]
    best = rows_of(con, simple_case([["a"], ["b"]], events, window_minutes=60))
    assert column(best, "median_hours_from_previous")[1] == pytest.approx(29 / 60)
    first = rows_of(con, simple_case([["a"], ["b"]], events, window_minutes=60, entry="first"))
    assert column(first, "median_hours_from_previous")[1] == pytest.approx(59 / 60)


def test_in_progress_needs_an_open_attempt_at_the_dropped_level(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # p reaches b (level 2) on the attempt at 0, whose window has ended by as_of 100; the attempt
    # at 90 is open but only at level 1, so p is not in progress before c.
    case = simple_case([["a"], ["b"], ["c"]],
                       [("1", "p", "a", 0), ("2", "p", "b", 30), ("3", "p", "a", 90)],
                       window_minutes=60, as_of_minutes=100)
    rows = rows_of(con, case)
    assert column(rows, "persons") == [1, 1, 0]
    assert column(rows, "in_progress") == [None, 0, 0]


def test_entry_first_uses_the_first_attempt_in_range(con: duckdb.DuckDBPyConnection) -> None:
    # The first visit (0) is before --from; the first attempt in range (60) does not convert
    # within 30m, the one at 120 does: best reaches 2, first stays at 1 with an open window.
    events = [("1", "p", "a", 0), ("2", "p", "b", 10), ("3", "p", "a", 60), ("4", "p", "a", 120),
              ("5", "p", "b", 121)]
    options = {"window_minutes": 30, "as_of_minutes": 85, "from_at": at(30)}
    best = rows_of(con, simple_case([["a"], ["b"]], events, **options))
    assert column(best, "persons") == [1, 0]  # as_of 85: events at 120 and 121 are ignored
    assert column(best, "in_progress") == [None, 1]
    options["as_of_minutes"] = 200
    best = rows_of(con, simple_case([["a"], ["b"]], events, **options))
    first = rows_of(con, simple_case([["a"], ["b"]], events, entry="first", **options))
    assert column(best, "persons") == [1, 1]
    assert column(first, "persons") == [1, 0]
    assert column(first, "in_progress") == [None, 0]


def test_channel_groups_add_up(con: duckdb.DuckDBPyConnection) -> None:
    # `email` has a person who never entered (no stage-1 event): no group for it.
    case = simple_case([["a"], ["b"]],
                       [("1", "p", "a", 0), ("2", "p", "b", 5), ("3", "q", "a", 0),
                        ("4", "r", "b", 0)], window_minutes=60,
                       channels={"p": "direct", "q": "(none)", "r": "email"}, by_channel=True)
    rows = rows_of(con, case)
    assert [r["group"] for r in rows] == ["all", "all", "(none)", "(none)", "direct", "direct"]
    assert column(rows, "persons", "(none)") == [1, 0]
    assert column(rows, "persons", "direct") == [1, 1]


def test_unordered_counts_one_event_for_several_stages(con: duckdb.DuckDBPyConnection) -> None:
    case = simple_case([["a"], ["a", "b"], ["c"]],
                       [("1", "p", "a", 0), ("2", "q", "c", 0), ("3", "q", "a", 600)],
                       window_minutes=1, order="unordered")
    # p: `a` is stages 1 and 2 -> 2. q: the attempt at c (0) has only stage 3 within 1 minute,
    # the one at a (600) stages 1 and 2 -> 2. Nobody has 3 stages within one window.
    rows = rows_of(con, case)
    assert column(rows, "persons") == [2, 2, 0]
    assert column(rows, "in_progress") == [None, None, None]
    assert column(rows, "ci_low")[1] == pytest.approx(wilson(2, 2)[0])


def test_nobody_entered_still_gives_one_row_per_stage(con: duckdb.DuckDBPyConnection) -> None:
    case = simple_case([["a"], ["b"]], [("1", "p", "b", 0)], window_minutes=60, by_channel=True)
    rows = rows_of(con, case)
    assert [(r["group"], r["persons"], r["drop_off"], r["conversion_from_previous"])
            for r in rows] == [("all", 0, None, None), ("all", 0, 0, None)]


def test_wilson_reference_value() -> None:
    # 3/10 with z = 1.959963984540054 (R: prop.test(3, 10, correct = FALSE)$conf.int)
    low, high = wilson(3, 10)
    assert low == pytest.approx(0.10779127, abs=1e-8)
    assert high == pytest.approx(0.60322185, abs=1e-8)


def test_reference_greedy_chain_is_not_fooled_by_a_later_start() -> None:
    # Pure reference check: the attempt at 0 takes the first b (10) then c at 20; the attempt at
    # 15 cannot reuse b at 10 (it is before its start), so it stops at level 1.
    case = simple_case([["a"], ["b"], ["c"]],
                       [("1", "p", "a", 0), ("2", "p", "b", 10), ("3", "p", "a", 15),
                        ("4", "p", "c", 20)], window_minutes=30)
    person = person_funnel(case, list(case.events))
    assert person.level == 3
    assert person.step_times == (at(0), at(10), at(20))
