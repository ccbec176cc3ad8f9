"""Frameworks whose stages are disjoint (no event matches two stages) have their ordered funnel
found by time (sql/marts/funnel/*_by_time.sql: ASOF joins on occurred_at, no per-person
numbering). Property: on such frameworks, with many same-instant ties, the by-time SQL gives
exactly the rows of the by-position SQL for the funnel, --times and --trend (both entries, with
and without --by channel), and the funnel matches the plain-Python reference of CONTRACT §4."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journey_metrics.config import Framework
from journey_metrics.db import connect
from journey_metrics.metrics import funnel as funnel_module
from journey_metrics.metrics.funnel import funnel_rows, times_rows, trend_rows
from journey_metrics.metrics.segments import Segment, prepare_population
from test_funnel_property import (
    CHANNELS,
    EVENT_NAMES,
    OFFSETS,
    WINDOWS,
    Case,
    Event,
    assert_matches_reference,
    at,
)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path_factory.mktemp("funnel_by_time") / "w.duckdb")
    yield connection
    connection.close()


@st.composite
def disjoint_cases(draw: st.DrawFn) -> Case:
    """Two to four stages over disjoint event names (one or two rules each), events at few
    instants (ties are frequent), ordered, no per-step windows or exclusions."""
    names = draw(st.permutations(["a", "b", "c", "d"]))
    cuts = sorted(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True)))
    groups = [names[i:j] for i, j in zip([0, *cuts], [*cuts, draw(st.integers(cuts[-1] + 1, 4))],
                                         strict=True)]
    stages = tuple((tuple(g[:1]), tuple(g[1:])) if len(g) > 1 and draw(st.booleans())
                   else (tuple(g),) for g in groups)
    persons, events = [], []
    for p in range(draw(st.integers(1, 5))):
        person_id = f"p{p}"
        persons.append((person_id, draw(st.sampled_from(CHANNELS))))
        for _ in range(draw(st.integers(0, 12))):
            event_id = f"{draw(st.integers(0, 20)):02d}-{len(events):03d}"
            events.append(Event(event_id, person_id, draw(st.sampled_from(EVENT_NAMES)),
                                at(draw(st.sampled_from(OFFSETS)))))
    window = timedelta(minutes=draw(st.sampled_from(WINDOWS)))
    latest = max((e.at for e in events), default=at(0))
    return Case(stages=stages, persons=tuple(persons), events=tuple(events), window=window,
                as_of=draw(st.one_of(st.just(latest), st.sampled_from(OFFSETS).map(at))),
                entry=draw(st.sampled_from(["best", "first"])),
                by_channel=draw(st.booleans()))


def by_position(framework: Framework) -> bool:
    return False


@settings(max_examples=80, deadline=None)
@given(case=disjoint_cases())
def test_by_time_equals_by_position(con: duckdb.DuckDBPyConnection, case: Case) -> None:
    q = case.query()
    assert funnel_module.stages_disjoint(q.framework)
    assert funnel_module.by_time(q.framework)
    assert_matches_reference(con, case)  # loads the case; the by-time SQL
    prepare_population(con, Segment("channel" if case.by_channel else None), q.as_of)
    trend_q = replace(q, trend="day")
    fast = (funnel_rows(con, q), times_rows(con, q), trend_rows(con, trend_q))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(funnel_module, "by_time", by_position)
        slow = (funnel_rows(con, q), times_rows(con, q), trend_rows(con, trend_q))
    assert fast == slow, case


def test_overlapping_stages_are_not_by_time() -> None:
    def framework(stages: list[list[str]]) -> Framework:
        return Framework.model_validate({"name": "f", "window": "1d", "stages": [
            {"name": f"s{k}", "match": [{"event": names}]} for k, names in enumerate(stages, 1)]})

    assert funnel_module.stages_disjoint(framework([["a"], ["b", "c"]]))
    assert not funnel_module.stages_disjoint(framework([["a"], ["b", "a"]]))
    no_names = Framework.model_validate({"name": "f", "window": "1d", "stages": [
        {"name": "s1", "match": [{"event": ["a"]}]}, {"name": "s2", "match": [{"source": "web"}]}]})
    assert not funnel_module.stages_disjoint(no_names)

