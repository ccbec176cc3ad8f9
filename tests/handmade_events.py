"""Hand-built `fct_events` / `persons` tables for the money and experience metrics' tests.

An event is (event_id, person_id, event_name, ISO 8601 instant or aware datetime, revenue or None,
properties dict). Persons get the channel in `channels` (default `(none)`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from journey_metrics.metrics.segments import Segment, prepare_population

HandEvent = tuple[str, str, str, "str | datetime", "float | None", "dict[str, Any]"]


def ev(event_id: str, person_id: str, name: str, when: str | datetime,
       revenue: float | None = None, **properties: Any) -> HandEvent:
    return (event_id, person_id, name, when, revenue, properties)


def load_events(
    con: duckdb.DuckDBPyConnection, events: Sequence[HandEvent], *,
    channels: dict[str, str] | None = None, persons: Sequence[str] = (),
) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            person_id VARCHAR, event_id VARCHAR, source VARCHAR, event_name VARCHAR,
            occurred_at TIMESTAMPTZ, channel VARCHAR, campaign VARCHAR, revenue DOUBLE,
            properties JSON)
    """)
    con.execute("CREATE OR REPLACE TABLE persons "
                "(person_id VARCHAR, channel VARCHAR, first_seen_at TIMESTAMPTZ)")
    rows = [[p, i, n, datetime.fromisoformat(t) if isinstance(t, str) else t, r, json.dumps(props)]
            for i, p, n, t, r, props in events]
    if rows:
        con.executemany(
            "INSERT INTO fct_events VALUES (?, ?, 'web', ?, ?, NULL, NULL, ?, ?)",
            [[p, i, n, t, r, j] for p, i, n, t, r, j in rows])
    con.execute("INSERT INTO persons SELECT person_id, '(none)', min(occurred_at) "
                "FROM fct_events GROUP BY person_id")
    for person_id in persons:
        con.execute("INSERT INTO persons SELECT ?, '(none)', TIMESTAMPTZ '2000-01-01 00:00:00Z' "
                    "WHERE ? NOT IN (SELECT person_id FROM persons)", [person_id, person_id])
    # a person's channel is their earliest channelled event's (CONTRACT §2): every event of a
    # person given a channel carries it, so the channel at an earlier as_of is the same, and a
    # person without events keeps `(none)`, as a real warehouse would have them
    for person_id, channel in (channels or {}).items():
        con.execute("UPDATE persons SET channel = ? WHERE person_id = ? "
                    "AND person_id IN (SELECT person_id FROM fct_events)", [channel, person_id])
        con.execute("UPDATE fct_events SET channel = ? WHERE person_id = ?", [channel, person_id])


def population(con: duckdb.DuckDBPyConnection, as_of: datetime, by: str | None = None) -> None:
    prepare_population(con, Segment(by), as_of)


def without_group(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "group"} for r in rows]
