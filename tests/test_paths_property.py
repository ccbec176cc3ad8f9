"""Property test: the paths engine against a plain-Python reading of CONTRACT §8.

The reference below is written from the contract text (and docs/decisions.md), not from
sql/marts/paths/:

* a path: the activity events (jm_is_activity) of one person, or of one web session, in
  [from, to) and at or before as_of, ordered by (occurred_at, event_id);
* sessions are cut over all of a person's web events up to as_of (gap > 30 min: new session),
  before the activity and from/to filters, as the `sessions` view cuts them;
* items: event name; page path (properties.path, else the URL's path) for page_view; the lowest
  matching stage (no stage: the event is dropped, before collapsing);
* `--end` with `--start` ends at the first END strictly after the START position;
* the gap `…` is not ranked for top K and keeps its name.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey_metrics.config import Framework
from journey_metrics.db import connect
from journey_metrics.metrics.paths import END, GAP, OTHER, PathsQuery, paths_rows

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
NOT_ACTIVITY = frozenset({"identify", "email_processed", "email_dropped", "email_delivered",
                          "email_deferred", "email_bounce"})
NAMES = ("page_view", "page_view", "signed_up", "order_completed", "identify", "email_open",
         "email_delivered", "lifecycle_lead")
SOURCES = {"email_open": "email", "email_delivered": "email", "lifecycle_lead": "crm"}
PAGES = ({"path": "/a"}, {"path": "/b", "url": "https://s.io/b"}, {"url": "https://s.io/c?x=1"},
         {"url": "https://s.io?x=1"}, {"url": "https://s.io"}, {})
FRAMEWORK = Framework.model_validate({
    "name": "shop", "stages": [
        {"name": "visit", "match": [{"event": ["page_view", "signed_up"]}]},
        {"name": "signup", "match": [{"event": "signed_up"}, {"event": "email_open"}]},
        {"name": "buy", "match": [{"event": "order_completed"}]},
    ]})
STAGE_EVENTS = [("visit", {"page_view", "signed_up"}), ("signup", {"signed_up", "email_open"}),
                ("buy", {"order_completed"})]
ANCHORS = (None, None, "page_view", "signed_up", "/a", "/c", "visit", "signup", "buy")


@dataclass(frozen=True)
class Event:
    event_id: str
    person_no: int
    name: str
    source: str
    at: datetime
    properties: dict[str, Any]


def item_of(e: Event, item: str) -> str | None:
    if item == "event":
        return e.name
    if item == "page":
        if e.name != "page_view":
            return e.name
        if e.properties.get("path"):
            return str(e.properties["path"])
        url = e.properties.get("url")
        if url and "//" in url:  # absolute: a URL without a path is the root
            return urlsplit(url).path or "/"
        return e.name
    for name, events in STAGE_EVENTS:  # lowest stage first
        if e.name in events:
            return name
    return None


def reference(events: list[Event], q: PathsQuery) -> list[tuple[Any, ...]]:
    from_at = q.from_at or datetime.min.replace(tzinfo=UTC)
    to_at = q.to_at or datetime.max.replace(tzinfo=UTC)
    seen = sorted((e for e in events if e.at <= q.as_of), key=lambda e: (e.at, e.event_id))
    keyed: list[tuple[tuple[int, int], Event]] = []
    if q.scope == "session":
        last: dict[int, datetime] = {}
        number: dict[int, int] = defaultdict(int)
        for e in seen:
            if e.source != "web":
                continue
            if e.person_no not in last or e.at - last[e.person_no] > timedelta(minutes=30):
                number[e.person_no] += 1
            last[e.person_no] = e.at
            keyed.append(((e.person_no, number[e.person_no]), e))
    else:
        keyed = [((e.person_no, 0), e) for e in seen]
    raw: dict[tuple[int, int], list[tuple[str, datetime]]] = defaultdict(list)
    for key, e in keyed:
        if e.name in NOT_ACTIVITY or not (from_at <= e.at < to_at):
            continue
        name = item_of(e, q.item)
        if name is not None:
            raw[key].append((name, e.at))
    paths: dict[tuple[int, int], list[tuple[str, datetime | None, bool]]] = {}
    for key, items in raw.items():
        if q.collapse == "consecutive":
            items = [x for i, x in enumerate(items) if i == 0 or items[i - 1][0] != x[0]]
        names = [n for n, _ in items]
        s = 0
        if q.start is not None:
            if q.start not in names:
                continue
            s = names.index(q.start)
        n = q.steps
        if q.end is None:
            kept = [(a, b, False) for a, b in items[s:s + n]]
        else:
            first = s + 1 if q.start is not None else s
            if q.end not in names[first:]:
                continue
            e_pos = names.index(q.end, first)
            if q.start is None:
                kept = [(a, b, False) for a, b in items[max(0, e_pos - n + 1):e_pos + 1]]
            else:
                span = items[s:e_pos + 1]
                if len(span) > n:
                    head, tail = math.ceil((n - 1) / 2), (n - 1) // 2
                    kept = ([(a, b, False) for a, b in span[:head]] + [(GAP, None, True)]
                            + [(a, b, False) for a, b in span[len(span) - tail:]])
                else:
                    kept = [(a, b, False) for a, b in span]
        paths[key] = kept
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for kept in paths.values():
        for step, (name, _, gap) in enumerate(kept, start=1):
            if not gap:
                counts[step][name] += 1
    keep = {step: {n for n, _ in sorted(c.items(), key=lambda x: (-x[1], x[0]))[:q.top]}
            for step, c in counts.items()}
    edges: dict[tuple[int, str, str], list[tuple[int, float | None]]] = defaultdict(list)
    for (person, _), kept in paths.items():
        labels = [n if gap or n in keep[step] else OTHER
                  for step, (n, _, gap) in enumerate(kept, start=1)]
        for i, (_, at, _) in enumerate(kept):
            if i + 1 < len(kept):
                target, next_at = labels[i + 1], kept[i + 1][1]
                hours = ((next_at - at).total_seconds() / 3600
                         if at is not None and next_at is not None else None)
            else:
                target, hours = END, None
            edges[(i + 1, labels[i], target)].append((person, hours))
    total = len(paths)
    rows = []
    for (step, source, target), taken in edges.items():
        hours = [h for _, h in taken if h is not None]
        rows.append((step, source, target, len(taken), len({p for p, _ in taken}),
                     len(taken) / total, statistics.median(hours) if hours else None))
    return sorted(rows, key=lambda r: (r[0], -r[3], r[1], r[2]))


@st.composite
def logs(draw: st.DrawFn) -> tuple[list[Event], PathsQuery]:
    count = draw(st.integers(0, 40))
    events = []
    for i in range(count):
        name = draw(st.sampled_from(NAMES))
        # a 15-minute grid, sometimes one second late: gaps of exactly 30 min and 30 min + 1 s
        at = T0 + timedelta(minutes=15 * draw(st.integers(0, 24)),
                            seconds=draw(st.sampled_from((0, 0, 1))))
        props = draw(st.sampled_from(PAGES)) if name == "page_view" else {}
        events.append(Event(f"{draw(st.integers(0, 99)):02d}-{i}", draw(st.integers(1, 4)),
                            name, SOURCES.get(name, "web"), at, props))
    item = draw(st.sampled_from(("event", "page", "stage")))
    bound = st.one_of(st.none(), st.integers(0, 24).map(lambda k: T0 + timedelta(minutes=15 * k)))
    q = PathsQuery(
        as_of=draw(st.integers(0, 26).map(lambda k: T0 + timedelta(minutes=15 * k))),
        item=item,
        scope=draw(st.sampled_from(("person", "session"))),
        framework=FRAMEWORK if item == "stage" else None,
        start=draw(st.sampled_from(ANCHORS)),
        end=draw(st.sampled_from(ANCHORS)),
        steps=draw(st.integers(1, 6)),
        top=draw(st.integers(1, 4)),
        collapse=draw(st.sampled_from(("consecutive", "none"))),
        from_at=draw(bound),
        to_at=draw(bound),
    )
    return events, q


def load(con: duckdb.DuckDBPyConnection, events: list[Event]) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            person_id VARCHAR, person_no BIGINT, event_id VARCHAR, source VARCHAR,
            event_name VARCHAR, occurred_at TIMESTAMPTZ, channel VARCHAR, campaign VARCHAR,
            revenue DOUBLE, properties JSON)
    """)
    if events:
        con.executemany(
            "INSERT INTO fct_events VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?)",
            [[f"p{e.person_no}", e.person_no, e.event_id, e.source, e.name, e.at,
              json.dumps(e.properties)] for e in events])


def same(engine: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> bool:
    if len(engine) != len(expected):
        return False
    for a, b in zip(engine, expected, strict=True):
        if a[:5] != b[:5] or not math.isclose(a[5], b[5], rel_tol=1e-12):
            return False
        if (a[6] is None) != (b[6] is None):
            return False
        if a[6] is not None and not math.isclose(a[6], b[6], rel_tol=1e-9, abs_tol=1e-9):
            return False
    return True


@pytest.fixture(scope="module")
def shared_con(tmp_path_factory: pytest.TempPathFactory) -> Any:
    connection = connect(tmp_path_factory.mktemp("paths") / "w.duckdb")
    yield connection
    connection.close()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=logs())
def test_paths_match_the_reference(shared_con: duckdb.DuckDBPyConnection,
                                   case: tuple[list[Event], PathsQuery]) -> None:
    events, q = case
    load(shared_con, events)
    rows = [(r["step"], r["source"], r["target"], r["paths"], r["persons"], r["share"],
             r["median_hours"]) for r in paths_rows(shared_con, q)]
    expected = reference(events, q)
    assert same(rows, expected), (rows, expected)
    # edges leaving step k add up to the paths with at least k items
    paths_at = defaultdict(int)
    for r in rows:
        paths_at[r[0]] += r[3]
    steps = sorted(paths_at)
    assert steps == list(range(1, len(steps) + 1))
    assert all(paths_at[k] >= paths_at[k + 1] for k in steps[:-1])
    ended = defaultdict(int)
    for r in rows:
        if r[2] == END:
            ended[r[0]] += r[3]
    for k in steps:
        assert paths_at[k] - ended[k] == paths_at.get(k + 1, 0)
