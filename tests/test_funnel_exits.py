"""Funnel exits (issue 11, item 3), computed by hand, and exits adding up to the drop-off.

Rule (docs/metrics.md): the last touchpoint before leaving stage k is the last event, by
(occurred_at, event_id), with time in [step-k time, attempt start + window] that is activity (or
is the step-k event itself), on the attempt the funnel uses.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey_metrics.config import Framework
from journey_metrics.db import connect
from journey_metrics.errors import UsageError
from journey_metrics.metrics.exits import compute_exits
from journey_metrics.metrics.funnel import FunnelQuery, funnel_rows
from journey_metrics.metrics.segments import Segment, prepare_population

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
FRAMEWORK = Framework.model_validate({
    "name": "shop", "window": "1d", "stages": [
        {"name": "visit", "match": [{"event": "page_view"}]},
        {"name": "signup", "match": [{"event": "signed_up"}]},
        {"name": "order", "match": [{"event": "order_completed"}]},
    ]})

# (person, hours after T0, event name, source, channel, campaign, properties)
Ev = tuple[str, float, str, str, str | None, str | None, dict[str, Any]]


def load(con: duckdb.DuckDBPyConnection, events: list[Ev],
         channels: dict[str, str] | None = None) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            person_id VARCHAR, person_no BIGINT, event_id VARCHAR, source VARCHAR,
            event_name VARCHAR, occurred_at TIMESTAMPTZ, channel VARCHAR, campaign VARCHAR,
            properties JSON)
    """)
    con.execute("CREATE OR REPLACE TABLE persons (person_id VARCHAR, channel VARCHAR, "
                "first_seen_at TIMESTAMPTZ, person_no BIGINT)")
    people = sorted({e[0] for e in events})
    rows = [[p, people.index(p) + 1, f"e{i:03d}", src, name, T0 + timedelta(hours=h), ch, camp,
             json.dumps(props)] for i, (p, h, name, src, ch, camp, props) in enumerate(events)]
    if rows:
        con.executemany("INSERT INTO fct_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    for p in people:
        con.execute("INSERT INTO persons VALUES (?, ?, ?, ?)",
                    [p, (channels or {}).get(p, "(none)"), T0, people.index(p) + 1])


def query(entry: str = "best") -> FunnelQuery:
    return FunnelQuery(framework=FRAMEWORK, window=timedelta(days=1),
                       as_of=T0 + timedelta(days=30), entry=entry)  # type: ignore[arg-type]


def exits(con: duckdb.DuckDBPyConnection, q: FunnelQuery, by: str | None = None) -> list[tuple]:
    prepare_population(con, Segment(by), q.as_of)
    return [(r["group"], r["step"], r["stage"], r["touchpoint"], r["persons"],
             r["share_of_drop_off"]) for r in compute_exits(con, q)]


def page(who: str, h: float, channel: str, campaign: str | None = None,
         path: str = "/") -> Ev:
    return (who, h, "page_view", "web", channel, campaign, {"path": path})


GOLDEN: list[Ev] = [
    page("A", 0, "paid_search", "spring_sale"),
    page("A", 1, "direct", None, "/checkout"),  # A leaves from the checkout page
    page("B", 0, "paid_search", "spring_sale"),
    ("B", 2, "email_open", "email", "email", "march_news", {}),  # B's last act: an email open
    ("B", 3, "email_delivered", "email", "email", "april_news", {}),  # not activity
    ("B", 30, "email_click", "email", "email", "may_news", {}),  # after the window
    page("C", 0, "paid_search", "spring_sale"),
    page("G", 0, "paid_search", "spring_sale"),
    page("D", 0, "direct"),
    ("D", 1, "signed_up", "web", "direct", None, {}),  # D stops at signup
    page("E", 0, "direct"),
    ("E", 1, "signed_up", "web", "direct", None, {}),
    ("E", 2, "order_completed", "web", "direct", None, {}),  # E converts: no exit
    page("F", 0, "social"),
    ("F", 5, "lifecycle_lead", "crm", None, None, {}),  # a CRM event has no channel
]


def test_exits_by_last_touchpoint(con: duckdb.DuckDBPyConnection) -> None:
    load(con, GOLDEN)
    assert exits(con, query()) == [
        ("all", 1, "visit", "web · paid_search · spring_sale", 2, 0.4),  # C, G
        ("all", 1, "visit", "crm · (none) · lifecycle_lead", 1, 0.2),
        ("all", 1, "visit", "email · email · march_news", 1, 0.2),
        ("all", 1, "visit", "web · direct · /checkout", 1, 0.2),
        ("all", 2, "signup", "web · direct · signed_up", 1, 1.0),
    ]


def test_exits_follow_the_attempt_the_funnel_uses(con: duckdb.DuckDBPyConnection) -> None:
    load(con, [page("H", 0, "paid_search", "first_try"),
               page("H", 96, "paid_search", "second_try")])
    # best: the latest-starting attempt of maximal level (day 5); first: the day-1 attempt
    assert exits(con, query()) == [("all", 1, "visit", "web · paid_search · second_try", 1, 1.0)]
    assert exits(con, query("first")) == [
        ("all", 1, "visit", "web · paid_search · first_try", 1, 1.0)]


def test_exits_per_group(con: duckdb.DuckDBPyConnection) -> None:
    load(con, GOLDEN, channels={"A": "direct", "C": "paid_search", "G": "paid_search"})
    rows = exits(con, query(), by="channel")
    assert [r for r in rows if r[0] == "paid_search"] == [
        ("paid_search", 1, "visit", "web · paid_search · spring_sale", 2, 1.0)]
    assert [r for r in rows if r[0] == "direct"] == [
        ("direct", 1, "visit", "web · direct · /checkout", 1, 1.0)]


def test_unordered_funnels_have_no_exits(con: duckdb.DuckDBPyConnection) -> None:
    load(con, GOLDEN)
    q = FunnelQuery(framework=FRAMEWORK, window=timedelta(days=1), as_of=T0, order="unordered")
    with pytest.raises(UsageError):
        compute_exits(con, q)


@pytest.fixture(scope="module")
def shared_con(tmp_path_factory: pytest.TempPathFactory) -> Any:
    connection = connect(tmp_path_factory.mktemp("exits") / "w.duckdb")
    yield connection
    connection.close()


NAMES = ("page_view", "page_view", "signed_up", "order_completed", "email_open",
         "email_delivered", "identify")


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Ev], dict[str, str], str]:
    events: list[Ev] = []
    for _ in range(draw(st.integers(0, 30))):
        name = draw(st.sampled_from(NAMES))
        events.append((draw(st.sampled_from("PQRST")), draw(st.integers(0, 80)) / 2, name,
                       "email" if name.startswith("email") else "web",
                       draw(st.sampled_from(("direct", "email", None))),
                       draw(st.sampled_from(("c1", None))), {}))
    channels = {p: draw(st.sampled_from(("direct", "email"))) for p in "PQRST"}
    return events, channels, draw(st.sampled_from(("best", "first")))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_exits_add_up_to_the_drop_off(shared_con: duckdb.DuckDBPyConnection,
                                      case: tuple[list[Ev], dict[str, str], str]) -> None:
    events, channels, entry = case
    load(shared_con, events, channels)
    q = query(entry)
    rows = exits(shared_con, q, by="channel")
    funnel = funnel_rows(shared_con, q)
    for f in funnel:
        if f["step"] == 1:
            continue
        taken = [r for r in rows if r[0] == f["group"] and r[1] == f["step"] - 1]
        assert sum(r[4] for r in taken) == f["drop_off"], (f, taken)
        if taken:
            assert abs(sum(r[5] for r in taken) - 1.0) < 1e-9


def test_exits_through_the_command_line_add_up_to_the_drop_off(
    sample_export: tuple[Path, Path],
) -> None:
    """`funnel --exits` on data/sample/: per group and step, the exits add up to the funnel's
    drop-off of the next step, and `--exits` cannot be combined with another mode."""
    from sample_outputs import cli

    db = sample_export[0]
    args = ["funnel", "--framework", "awareness_to_advocacy", "--db", str(db), "--by", "channel",
            "--format", "json"]
    funnel = json.loads(cli(*args).stdout)
    exits = json.loads(cli(*args, "--exits").stdout)
    assert exits
    drop = {(r["group"], r["step"] - 1): r["drop_off"] for r in funnel if r["step"] > 1}
    summed: dict[tuple[str, int], int] = {}
    for row in exits:
        key = (row["group"], row["step"])
        summed[key] = summed.get(key, 0) + row["persons"]
    assert summed == {k: v for k, v in drop.items() if v}
    both = cli(*args, "--exits", "--times")
    assert both.returncode == 2
    assert "only one of" in both.stderr
