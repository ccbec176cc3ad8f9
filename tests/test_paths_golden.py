"""Paths golden cases, computed by hand (CONTRACT §8), one per rule.

Events are built directly in `fct_events` (the view the metric reads). Times are minutes after
T0 = 2024-03-01 10:00 UTC unless given as text. Rows are compared whole, in the metric's order
(step, paths descending, source, target).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest

from journey_metrics.config import Framework
from journey_metrics.metrics.paths import PathsQuery, paths_rows

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
FAR = datetime(2030, 1, 1, tzinfo=UTC)

# (person, minutes after T0 or ISO text, event name[, source[, properties]])
Ev = tuple[Any, ...]


def load(con: duckdb.DuckDBPyConnection, events: list[Ev]) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            person_id VARCHAR, person_no BIGINT, event_id VARCHAR, source VARCHAR,
            event_name VARCHAR, occurred_at TIMESTAMPTZ, channel VARCHAR, campaign VARCHAR,
            revenue DOUBLE, properties JSON)
    """)
    persons = sorted({e[0] for e in events})
    rows = []
    for i, e in enumerate(events):
        person, when, name = e[0], e[1], e[2]
        source = e[3] if len(e) > 3 else "web"
        props = e[4] if len(e) > 4 else {}
        moment = (datetime.fromisoformat(when) if isinstance(when, str)
                  else T0 + timedelta(minutes=when))
        rows.append([person, persons.index(person) + 1, f"e{i:03d}", source, name, moment,
                     None, None, None, json.dumps(props)])
    con.executemany("INSERT INTO fct_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def run(con: duckdb.DuckDBPyConnection, events: list[Ev], **options: Any) -> list[tuple[Any, ...]]:
    load(con, events)
    q = PathsQuery(as_of=options.pop("as_of", FAR), **options)
    rows = paths_rows(con, q)
    return [(r["step"], r["source"], r["target"], r["paths"], r["persons"], r["share"],
             r["median_hours"]) for r in rows]


def test_collapse_consecutive_merges_runs_and_keeps_the_first_time(
    con: duckdb.DuckDBPyConnection,
) -> None:
    events = [("A", 0, "a"), ("A", 60, "a"), ("A", 120, "b"), ("A", 180, "a"),
              ("B", 0, "a"), ("B", 30, "b")]
    # A: a(0) b(120) a(180); B: a(0) b(30)
    assert run(con, events) == [
        (1, "a", "b", 2, 2, 1.0, 1.25),  # 2 h and 0.5 h: the merged run counts from minute 0
        (2, "b", "(end)", 1, 1, 0.5, None),
        (2, "b", "a", 1, 1, 0.5, 1.0),
        (3, "a", "(end)", 1, 1, 0.5, None),
    ]
    assert run(con, events, collapse="none") == [
        (1, "a", "a", 1, 1, 0.5, 1.0),
        (1, "a", "b", 1, 1, 0.5, 0.5),
        (2, "a", "b", 1, 1, 0.5, 1.0),
        (2, "b", "(end)", 1, 1, 0.5, None),
        (3, "b", "a", 1, 1, 0.5, 1.0),
        (4, "a", "(end)", 1, 1, 0.5, None),
    ]


def test_non_activity_is_ignored_before_collapsing(con: duckdb.DuckDBPyConnection) -> None:
    events = [("A", 0, "page_view"), ("A", 1, "identify"), ("A", 2, "email_delivered", "email"),
              ("A", 3, "page_view"), ("B", 0, "identify"), ("B", 5, "email_bounce", "email")]
    # B has no activity: no path at all
    assert run(con, events) == [(1, "page_view", "(end)", 1, 1, 1.0, None)]
    assert run(con, events, collapse="none") == [
        (1, "page_view", "page_view", 1, 1, 1.0, 0.05),
        (2, "page_view", "(end)", 1, 1, 1.0, None),
    ]


def test_from_to_and_as_of(con: duckdb.DuckDBPyConnection) -> None:
    events = [("A", "2024-03-01T09:59:59+00:00", "x"),   # before from
              ("A", "2024-03-01T10:00:00+00:00", "a"),   # at from: in
              ("A", "2024-03-01T11:30:00+00:00", "b"),   # at as_of: in
              ("A", "2024-03-01T11:30:01+00:00", "c"),   # after as_of
              ("A", "2024-03-01T12:00:00+00:00", "d")]   # at to: out
    rows = run(con, events, from_at=T0, to_at=T0 + timedelta(hours=2),
               as_of=T0 + timedelta(minutes=90))
    assert rows == [(1, "a", "b", 1, 1, 1.0, 1.5), (2, "b", "(end)", 1, 1, 1.0, None)]


def test_start_anchor_and_steps(con: duckdb.DuckDBPyConnection) -> None:
    events = [("A", 0, "x"), ("A", 10, "a"), ("A", 20, "y"), ("A", 30, "a"), ("A", 40, "z"),
              ("B", 0, "x"), ("B", 10, "y")]  # B never does a: dropped
    assert run(con, events, start="a", steps=3) == [
        (1, "a", "y", 1, 1, 1.0, 10 / 60),
        (2, "y", "a", 1, 1, 1.0, 10 / 60),
        (3, "a", "(end)", 1, 1, 1.0, None),  # the path keeps its first 3 items
    ]


def test_end_anchor_keeps_the_last_items_up_to_the_first_end(
    con: duckdb.DuckDBPyConnection,
) -> None:
    events = [("A", i * 10, name) for i, name in enumerate("abcdefEgE")]
    events += [("B", 0, "E"), ("B", 10, "a"),  # END first: a path of one item
               ("C", 0, "a"), ("C", 10, "b")]  # no END: dropped
    assert run(con, events, end="E", steps=3) == [
        (1, "E", "(end)", 1, 1, 0.5, None),
        (1, "e", "f", 1, 1, 0.5, 10 / 60),
        (2, "f", "E", 1, 1, 0.5, 10 / 60),
        (3, "E", "(end)", 1, 1, 0.5, None),
    ]


def test_both_anchors_without_elision(con: duckdb.DuckDBPyConnection) -> None:
    events = [("A", 0, "x"), ("A", 10, "S"), ("A", 20, "m"), ("A", 30, "E"), ("A", 40, "z"),
              ("B", 0, "E"), ("B", 10, "S"),  # no E after S: dropped
              ("C", 0, "S"), ("C", 60, "E")]
    assert run(con, events, start="S", end="E") == [
        (1, "S", "E", 1, 1, 0.5, 1.0),
        (1, "S", "m", 1, 1, 0.5, 10 / 60),
        (2, "E", "(end)", 1, 1, 0.5, None),
        (2, "m", "E", 1, 1, 0.5, 10 / 60),
        (3, "E", "(end)", 1, 1, 0.5, None),
    ]


def test_same_item_as_start_and_end_ends_at_its_next_occurrence(
    con: duckdb.DuckDBPyConnection,
) -> None:
    events = [("A", 0, "a"), ("A", 10, "b"), ("A", 20, "a"), ("A", 30, "c"),
              ("B", 0, "a")]  # no second a: dropped
    assert run(con, events, start="a", end="a") == [
        (1, "a", "b", 1, 1, 1.0, 10 / 60),
        (2, "b", "a", 1, 1, 1.0, 10 / 60),
        (3, "a", "(end)", 1, 1, 1.0, None),
    ]


def test_both_anchors_with_elision(con: duckdb.DuckDBPyConnection) -> None:
    events = [("A", i * 10, name) for i, name in enumerate(["S", "a", "b", "c", "d", "e", "E"])]
    # 7 items > 5: first ceil(4/2) = 2, "…", last floor(4/2) = 2
    assert run(con, events, start="S", end="E", steps=5) == [
        (1, "S", "a", 1, 1, 1.0, 10 / 60),
        (2, "a", "…", 1, 1, 1.0, None),
        (3, "…", "e", 1, 1, 1.0, None),
        (4, "e", "E", 1, 1, 1.0, 10 / 60),
        (5, "E", "(end)", 1, 1, 1.0, None),
    ]
    # N = 4: first ceil(3/2) = 2, "…", last floor(3/2) = 1
    assert run(con, events, start="S", end="E", steps=4) == [
        (1, "S", "a", 1, 1, 1.0, 10 / 60),
        (2, "a", "…", 1, 1, 1.0, None),
        (3, "…", "E", 1, 1, 1.0, None),
        (4, "E", "(end)", 1, 1, 1.0, None),
    ]
    # exactly N items: nothing elided
    assert [r[:3] for r in run(con, events, start="S", end="E", steps=7)] == [
        (1, "S", "a"), (2, "a", "b"), (3, "b", "c"), (4, "c", "d"), (5, "d", "e"), (6, "e", "E"),
        (7, "E", "(end)")]


def test_top_k_ties_by_name_and_the_gap_keeps_its_name(con: duckdb.DuckDBPyConnection) -> None:
    starts = ["a", "a", "a", "c", "c", "b", "b", "d"]  # a 3; b and c 2 (tie: b first); d 1
    events = [(f"p{i}", 0, name) for i, name in enumerate(starts)]
    assert run(con, events, top=2) == [
        (1, "(other)", "(end)", 3, 3, 3 / 8, None),  # c, c, d
        (1, "a", "(end)", 3, 3, 3 / 8, None),
        (1, "b", "(end)", 2, 2, 2 / 8, None),
    ]
    # top 1 at the gap position: the gap keeps "…", the one real item there ranks alone
    events = [("A", i, n) for i, n in enumerate(["S", "x", "y", "z", "E"])]  # elided
    events += [("B", i, n) for i, n in enumerate(["S", "q", "E"])]  # E at step 3
    events += [("C", i, n) for i, n in enumerate(["S", "r", "E"])]
    rows = run(con, events, start="S", end="E", steps=3, top=1)
    # steps 3: first 1, "…", last 1. Step 2 items: "…" (A), q (B), r (C): q keeps, r -> (other)
    assert rows == [
        (1, "S", "(other)", 1, 1, 1 / 3, 1 / 60),
        (1, "S", "q", 1, 1, 1 / 3, 1 / 60),
        (1, "S", "…", 1, 1, 1 / 3, None),
        (2, "(other)", "E", 1, 1, 1 / 3, 1 / 60),
        (2, "q", "E", 1, 1, 1 / 3, 1 / 60),
        (2, "…", "E", 1, 1, 1 / 3, None),
        (3, "E", "(end)", 3, 3, 1.0, None),
    ]


def test_session_split_at_exactly_30_minutes_and_30_minutes_and_a_second(
    con: duckdb.DuckDBPyConnection,
) -> None:
    events = [("A", "2024-03-01T10:00:00+00:00", "a"),
              ("A", "2024-03-01T10:30:00+00:00", "b"),  # gap exactly 30 min: same session
              ("A", "2024-03-01T10:45:00+00:00", "email_open", "email"),  # not web
              ("A", "2024-03-01T11:00:01+00:00", "c")]  # gap 30 min 1 s: new session
    assert run(con, events, scope="session") == [
        (1, "a", "b", 1, 1, 0.5, 0.5),
        (1, "c", "(end)", 1, 1, 0.5, None),
        (2, "b", "(end)", 1, 1, 0.5, None),
    ]
    # person scope: one path with every activity event
    assert [r[:4] for r in run(con, events)] == [
        (1, "a", "b", 1), (2, "b", "email_open", 1), (3, "email_open", "c", 1),
        (4, "c", "(end)", 1)]


def test_item_stage_uses_the_lowest_stage_and_drops_unmatched_events(
    con: duckdb.DuckDBPyConnection,
) -> None:
    framework = Framework.model_validate({
        "name": "shop", "stages": [
            {"name": "visit", "match": [{"event": ["page_view", "signed_up"]}]},
            {"name": "signup", "match": [{"event": "signed_up"}]},
            {"name": "buy", "match": [{"event": "order_completed"}]},
        ]})
    events = [("A", 0, "page_view"), ("A", 10, "email_open", "email"),  # matches no stage
              ("A", 20, "page_view"), ("A", 30, "signed_up"),  # lowest stage: visit
              ("A", 40, "order_completed")]
    assert run(con, events, item="stage", framework=framework) == [
        (1, "visit", "buy", 1, 1, 1.0, 40 / 60),
        (2, "buy", "(end)", 1, 1, 1.0, None),
    ]


def test_item_page_uses_the_url_path(con: duckdb.DuckDBPyConnection) -> None:
    events = [("A", 0, "page_view", "web", {"path": "/pricing", "url": "https://x.io/pricing"}),
              ("A", 10, "page_view", "web", {"url": "https://x.io/checkout?step=1"}),
              ("A", 20, "order_completed")]
    assert [r[:3] for r in run(con, events, item="page")] == [
        (1, "/pricing", "/checkout"), (2, "/checkout", "order_completed"),
        (3, "order_completed", "(end)")]


def test_item_page_of_a_url_without_a_path_is_the_root(con: duckdb.DuckDBPyConnection) -> None:
    # a URL that ends at its host (or its query or fragment) is the site's root, as a browser
    # shows it; a page_view naming neither a path nor a URL keeps its event name
    events = [("A", 0, "page_view", "web", {"url": "https://x.io"}),
              ("A", 10, "page_view", "web", {"url": "https://x.io/docs"}),
              ("A", 20, "page_view", "web", {"url": "https://x.io?utm_source=a"}),
              ("A", 30, "page_view", "web", {"url": "//x.io#top"}),
              ("A", 40, "page_view", "web", {"url": "x.io/not-absolute"}),
              ("A", 50, "page_view", "web", {"title": "no url"}),
              ("A", 60, "page_view", "web", {"url": "  https://x.io/spaced  "})]
    assert [r[:3] for r in run(con, events, item="page", steps=7)] == [
        (1, "/", "/docs"), (2, "/docs", "/"), (3, "/", "page_view"),
        (4, "page_view", "/spaced"), (5, "/spaced", "(end)")]


def test_item_page_falls_back_to_context_page(tmp_path: Any, run_pipeline: Any) -> None:
    """CONTRACT §1 reads context.page.{url,path}: a page whose properties name neither its path
    nor its URL takes context.page's path, else the path of its URL (emails redacted); a
    property path or URL keeps precedence (decision 116)."""
    from conftest import write_jsonl
    from journey_metrics.db import connect
    from journey_metrics.metrics.common import resolve_as_of, zone

    def page(i: int, properties: dict[str, Any] | None, context_page: dict[str, str]) -> Any:
        m = {"type": "page", "messageId": f"m{i}", "anonymousId": "a",
             "timestamp": f"2024-03-01T10:0{i}:00Z", "context": {"page": context_page}}
        return m if properties is None else {**m, "properties": properties}

    write_jsonl(tmp_path / "in" / "web" / "a.jsonl", [
        page(1, {"title": "x"}, {"path": "/thanks", "url": "https://x.io/ignored"}),
        page(2, None, {"url": "https://x.io/u/jo.doe@example.com?q=1"}),
        page(3, {"url": "https://x.io/own"}, {"path": "/ctx"}),
        page(4, {"path": " "}, {"path": "/blank"}),
        page(5, {"path": "/kept"}, {"path": "/ctx"}),
        page(6, {"url": "  "}, {"path": "/ws"})])  # a blank URL names nothing, as on Spark
    db = tmp_path / "w.duckdb"
    run_pipeline(tmp_path / "in", db)
    con = connect(db, read_only=True)
    assert [json.loads(p) for (p,) in con.execute(
        "SELECT properties FROM events ORDER BY occurred_at").fetchall()] == [
        {"title": "x", "path": "/thanks"}, {"url": "https://x.io/u/<redacted-email>?q=1"},
        {"url": "https://x.io/own"}, {"path": "/blank"}, {"path": "/kept"},
        {"url": "  ", "path": "/ws"}]
    q = PathsQuery(as_of=resolve_as_of(con, None, zone("UTC")), item="page", steps=6)
    assert [(r["source"], r["target"]) for r in paths_rows(con, q)] == [
        ("/thanks", "/u/<redacted-email>"), ("/u/<redacted-email>", "/own"),
        ("/own", "/blank"), ("/blank", "/kept"), ("/kept", "/ws"), ("/ws", "(end)")]


def test_persons_count_distinct_persons_per_edge(con: duckdb.DuckDBPyConnection) -> None:
    events = [("A", 0, "a"), ("A", 10, "b"), ("A", 100, "a"), ("A", 110, "b"),
              ("B", 0, "a"), ("B", 20, "b")]
    rows = run(con, events, scope="session")
    assert rows[0] == (1, "a", "b", 3, 2, 1.0, 10 / 60)


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_edges_leaving_step_k_add_up_to_paths_with_k_items(
    con: duckdb.DuckDBPyConnection, steps: int,
) -> None:
    events = [("A", i, n) for i, n in enumerate("abcab")] + [("B", 0, "a")]
    rows = run(con, events, steps=steps)
    lengths = {"A": min(5, steps), "B": 1}
    for k in range(1, steps + 1):
        assert sum(r[3] for r in rows if r[0] == k) == sum(n >= k for n in lengths.values())


# --- through the command line (CONTRACT §5 formats, §8 options) ---------------------------------


def test_cli_json_csv_and_usage_errors(tmp_path: Any) -> None:
    import subprocess
    import sys

    from conftest import write_jsonl

    def message(i: int, minute: int, kind: str, event: str | None = None) -> dict[str, Any]:
        m: dict[str, Any] = {"type": kind, "messageId": f"m{i}", "anonymousId": "anon-1",
                             "timestamp": f"2024-03-01T10:{minute:02d}:00Z"}
        if event:
            m["event"] = event
        if kind == "page":
            m["properties"] = {"path": f"/p{i}"}
        return m

    write_jsonl(tmp_path / "in" / "web" / "a.jsonl", [
        message(1, 0, "page"), message(2, 10, "page"), message(3, 20, "track", "Signed Up"),
        message(4, 51, "page")])  # a 31-minute gap: a second session
    db = tmp_path / "w.duckdb"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "journey_metrics", *args],
                              capture_output=True, text=True, timeout=120)

    assert cli("run", "--input", str(tmp_path / "in"), "--db", str(db)).returncode == 0
    result = cli("paths", "--db", str(db), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"step": 1, "source": "page_view", "target": "signed_up", "paths": 1, "persons": 1,
         "share": 1.0, "median_hours": 20 / 60},
        {"step": 2, "source": "signed_up", "target": "page_view", "paths": 1, "persons": 1,
         "share": 1.0, "median_hours": 31 / 60},
        {"step": 3, "source": "page_view", "target": "(end)", "paths": 1, "persons": 1,
         "share": 1.0, "median_hours": None},
    ]
    result = cli("paths", "--db", str(db), "--item", "page", "--scope", "session",
                 "--steps", "2", "--from", "2024-03-01", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "step,source,target,paths,persons,share,median_hours"
    assert len(result.stdout.splitlines()) == 4  # /p1 -> /p2, /p4 -> (end), /p2 -> (end)
    result = cli("paths", "--db", str(db), "--item", "stage", "--framework", "aarrr")
    assert result.returncode == 0, result.stderr
    result = cli("paths", "--db", str(db), "--item", "stage")
    assert result.returncode == 2
    assert "--framework" in result.stderr
    assert cli("paths", "--db", str(db), "--steps", "0").returncode == 2
    empty = cli("paths", "--db", str(db), "--start", " ")  # not "no anchor"
    assert (empty.returncode, empty.stderr) == (
        2, "error: --start is empty: give a value, or leave --start out\n")
    assert cli("paths", "--db", str(db), "--by", "channel").returncode == 2  # §6: no --by
