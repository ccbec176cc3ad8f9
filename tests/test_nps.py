"""NPS golden cases, computed by hand (CONTRACT §4 "All times..." and "NPS").

Ties: when a person answers several times at the same instant in a period, the engine keeps the
answer with the larger event_id, compared as text (fct_nps.sql: ORDER BY occurred_at DESC,
event_id DESC), so "9" beats "10".
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from conftest import at
from journey_metrics.metrics.nps import compute_nps

# (event_id, person_id, ISO 8601 instant, score); every event is an nps_response
Answer = tuple[str, str, str, int]


def nps(con: duckdb.DuckDBPyConnection, answers: list[Answer], *, as_of: str,
        channels: dict[str, str] | None = None, period: str = "month", tz: str = "UTC",
        by_channel: bool = False) -> list[dict[str, Any]]:
    """Load the answers (events carry no channel; persons get `channels`, else '(none)')."""
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            person_id VARCHAR, event_id VARCHAR, source VARCHAR, event_name VARCHAR,
            occurred_at TIMESTAMPTZ, channel VARCHAR, properties JSON)
    """)
    con.execute("CREATE OR REPLACE TABLE persons "
                "(person_id VARCHAR, channel VARCHAR, first_seen_at TIMESTAMPTZ)")
    con.executemany(
        "INSERT INTO fct_events VALUES (?, ?, 'crm', 'nps_response', ?, NULL, ?)",
        [[p, i, at(t), json.dumps({"score": s})] for i, p, t, s in answers],
    )
    con.execute("INSERT INTO persons SELECT person_id, '(none)', min(occurred_at) "
                "FROM fct_events GROUP BY person_id")
    for person_id, channel in (channels or {}).items():
        con.execute("UPDATE persons SET channel = ? WHERE person_id = ?", [channel, person_id])
    return compute_nps(con, period=period, tz=tz, as_of=at(as_of), by_channel=by_channel)


def row(group: str, period: str, promoters: int, passives: int,
        detractors: int) -> dict[str, Any]:
    respondents = promoters + passives + detractors
    return {"group": group, "period": period, "respondents": respondents,
            "promoters": promoters, "passives": passives, "detractors": detractors,
            "nps": 100.0 * (promoters - detractors) / respondents}


def test_latest_answer_per_person_and_period(con: duckdb.DuckDBPyConnection) -> None:
    rows = nps(con, [
        ("1", "p", "2024-03-01T10:00:00Z", 3),
        ("2", "p", "2024-03-05T10:00:00Z", 10),  # p's latest in March: promoter
        ("3", "p", "2024-04-02T10:00:00Z", 8),  # April is another period: passive
        ("4", "p", "2024-04-20T10:00:00Z", 0),  # after as_of: ignored
        ("a", "q", "2024-03-02T10:00:00Z", 9),
        ("b", "q", "2024-03-02T10:00:00Z", 2),  # same instant, larger event_id: detractor
        ("10", "r", "2024-03-03T10:00:00Z", 0),
        ("9", "r", "2024-03-03T10:00:00Z", 10),  # "9" > "10" as text: promoter
    ], as_of="2024-04-15T00:00:00Z")
    assert rows == [row("all", "2024-03-01", 2, 0, 1), row("all", "2024-04-01", 0, 1, 0)]
    assert rows[0]["nps"] == 100 / 3


def test_category_boundaries(con: duckdb.DuckDBPyConnection) -> None:
    # 0 and 6 detractors, 7 and 8 passives, 9 and 10 promoters
    scores = [0, 6, 6, 7, 8, 9, 10, 10]
    rows = nps(con, [(str(i), f"p{i}", "2024-03-01T10:00:00Z", s) for i, s in enumerate(scores)],
               as_of="2024-03-31T00:00:00Z")
    assert rows == [row("all", "2024-03-01", 3, 2, 3)]
    assert rows[0]["nps"] == 0.0
    rows = nps(con, [(str(i), f"p{i}", "2024-03-01T10:00:00Z", s)
                     for i, s in enumerate([6, 7, 8, 9, 9])], as_of="2024-03-31T00:00:00Z")
    assert rows == [{"group": "all", "period": "2024-03-01", "respondents": 5, "promoters": 2,
                     "passives": 2, "detractors": 1, "nps": 20.0}]


ANSWERS = [
    ("1", "p1", "2024-03-03T10:00:00Z", 10),
    ("2", "p1", "2024-04-03T10:00:00Z", 5),
    ("3", "p2", "2024-03-04T10:00:00Z", 8),
    ("4", "p3", "2024-03-05T10:00:00Z", 0),
    ("5", "p4", "2024-04-05T10:00:00Z", 9),
    ("6", "p6", "2024-04-06T10:00:00Z", 9),
]
CHANNELS = {"p1": "direct", "p2": "direct", "p3": "email", "p4": "(none)", "p6": "email"}


def test_by_channel_groups(con: duckdb.DuckDBPyConnection) -> None:
    # Channel groups follow `all` (sorted by name); a group has rows only for periods in which
    # it has respondents. The person's channel decides (the events carry none).
    rows = nps(con, ANSWERS, as_of="2024-04-30T00:00:00Z", channels=CHANNELS, by_channel=True)
    assert rows == [
        row("all", "2024-03-01", 1, 1, 1),
        row("all", "2024-04-01", 2, 0, 1),
        row("(none)", "2024-04-01", 1, 0, 0),
        row("direct", "2024-03-01", 1, 1, 0),
        row("direct", "2024-04-01", 0, 0, 1),
        row("email", "2024-03-01", 0, 0, 1),
        row("email", "2024-04-01", 1, 0, 0),
    ]
    assert [r["nps"] for r in rows] == [0.0, 100 / 3, 100.0, 50.0, -100.0, -100.0, 100.0]
    without = nps(con, ANSWERS, as_of="2024-04-30T00:00:00Z", channels=CHANNELS)
    assert without == rows[:2]


def test_week_periods_in_a_time_zone(con: duckdb.DuckDBPyConnection) -> None:
    # Berlin switches to CEST (UTC+2) at 2024-03-31T01:00Z. 21:30Z is Sunday 23:30 (week of
    # 03-25), 22:30Z is Monday 2024-04-01 00:30 (week of 04-01). In UTC both are Sunday, so
    # only the later answer counts.
    answers = [("1", "p", "2024-03-31T21:30:00Z", 0), ("2", "p", "2024-03-31T22:30:00Z", 10)]
    rows = nps(con, answers, as_of="2024-04-10T00:00:00Z", period="week", tz="Europe/Berlin")
    assert rows == [row("all", "2024-03-25", 0, 0, 1), row("all", "2024-04-01", 1, 0, 0)]
    rows = nps(con, answers, as_of="2024-04-10T00:00:00Z", period="week")
    assert rows == [row("all", "2024-03-25", 1, 0, 0)]


def test_no_answers_no_rows(con: duckdb.DuckDBPyConnection) -> None:
    assert nps(con, [("1", "p", "2024-03-01T10:00:00Z", 9)], as_of="2024-02-01T00:00:00Z",
               by_channel=True) == []
