"""Hand-built warehouses for the attribution tests: plain `fct_events` and `persons` tables plus
the warehouse's own `sessions` view (taken from sql/warehouse.sql, so sessions are cut exactly as
in production)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from journey_metrics.metrics.attribution import AttributionQuery, attribution_rows
from journey_metrics.sql import load_sql, split_statements

T = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)  # the conversion time most tests use


@dataclass(frozen=True)
class Ev:
    event_id: str
    person_id: str
    at: datetime
    name: str = "page_view"
    source: str = "web"
    channel: str | None = None
    campaign: str | None = None
    revenue: float | None = None


def web(event_id: str, person: str, at: datetime, channel: str,
        campaign: str | None = None) -> Ev:
    return Ev(event_id, person, at, "page_view", "web", channel, campaign)


def click(event_id: str, person: str, at: datetime, campaign: str | None = None) -> Ev:
    return Ev(event_id, person, at, "email_click", "email", "email", campaign)


def order(event_id: str, person: str, at: datetime, revenue: float | None = 100.0) -> Ev:
    # a web order joins the session it happens in; direct is what its own page would say
    return Ev(event_id, person, at, "order_completed", "crm", None, None, revenue)


def sessions_view_sql() -> str:
    found = [s for s in split_statements(load_sql("warehouse.sql"))
             if s.startswith("CREATE OR REPLACE VIEW sessions")]
    assert len(found) == 1
    return found[0]


def load(con: duckdb.DuckDBPyConnection, events: list[Ev]) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE fct_events (
            person_id VARCHAR, person_no BIGINT, event_id VARCHAR, source VARCHAR,
            event_name VARCHAR, occurred_at TIMESTAMPTZ, channel VARCHAR, campaign VARCHAR,
            revenue DOUBLE, properties JSON)
    """)
    con.execute(sessions_view_sql())
    if events:
        con.execute(
            "INSERT INTO fct_events SELECT unnest($p), NULL, unnest($i), unnest($s), unnest($n),"
            " unnest($t), unnest($c), unnest($k), unnest($r), '{}'",
            {"p": [e.person_id for e in events], "i": [e.event_id for e in events],
             "s": [e.source for e in events], "n": [e.name for e in events],
             "t": [e.at for e in events], "c": [e.channel for e in events],
             "k": [e.campaign for e in events], "r": [e.revenue for e in events]},
        )


def attribute(con: duckdb.DuckDBPyConnection, events: list[Ev], *,
              as_of: datetime = T + timedelta(days=1), **query: object) -> list[dict[str, object]]:
    load(con, events)
    options: dict[str, object] = {"conversion_event": "order_completed", **query}
    return attribution_rows(con, AttributionQuery(as_of=as_of, **options))  # type: ignore[arg-type]


def credits(rows: list[dict[str, object]], model: str) -> dict[str, object]:
    """{group: conversions} of one model."""
    return {str(r["group"]): r["conversions"] for r in rows if r["model"] == model}
