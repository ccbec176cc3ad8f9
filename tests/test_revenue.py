"""Revenue golden cases, computed by hand (CONTRACT §10 revenue; issue 12 item 5 currency)."""

from __future__ import annotations

from typing import Any

import duckdb

from conftest import at
from handmade_events import ev, load_events, population
from journey_metrics.metrics.revenue import revenue_rows

AS_OF = "2024-03-10T00:00:00Z"
EVENTS = [
    # p1: first order 03:00Z on Feb 1 = Jan 31 22:00 in New York; second order in February
    ev("1", "p1", "order_completed", "2024-02-01T03:00:00Z", 10.0, currency="EUR"),
    ev("2", "p1", "order_completed", "2024-02-10T12:00:00Z", 20.0, currency="eur"),
    ev("3", "p1", "order_completed", "2024-03-12T12:00:00Z", 99.0, currency="EUR"),  # after as_of
    # p2: active, one order in USD (not the most common currency: excluded, still activity)
    ev("4", "p2", "page_view", "2024-02-15T11:00:00Z"),
    ev("5", "p2", "order_completed", "2024-02-15T12:00:00Z", 30.0, currency="USD"),
    # p3: CRM deals carry no currency: they count in the reporting currency
    ev("6", "p3", "deal_won", "2024-02-20T12:00:00Z", 100.0),
    ev("7", "p3", "deal_won", "2024-03-05T12:00:00Z", 50.0),
    # p4: active in January only; identify is no activity
    ev("8", "p4", "page_view", "2024-01-15T12:00:00Z"),
    ev("9", "p4", "identify", "2024-02-15T12:00:00Z"),
    # p5: an unsubscribe is no activity
    ev("10", "p5", "email_unsubscribe", "2024-02-16T12:00:00Z"),
]
CHANNELS = {"p1": "direct", "p2": "direct", "p3": "email", "p4": "(none)", "p5": "(none)"}


def row(period: str, orders: int, revenue: float, buyers: int, active: int, repeat: int,
        excluded: int, currency: str = "EUR", group: str = "all") -> dict[str, Any]:
    return {"group": group, "period": period, "orders": orders, "revenue": revenue,
            "buyers": buyers, "active_persons": active,
            "arpu": revenue / active if active else None,
            "arppu": revenue / buyers if buyers else None, "repeat_buyers": repeat,
            "repeat_purchase_rate": repeat / buyers if buyers else None,
            "excluded_orders": excluded, "currency": currency}


def revenue(con: duckdb.DuckDBPyConnection, *, tz: str = "UTC", period: str = "month",
            currency: str | None = None, by: str | None = None) -> list[dict[str, Any]]:
    load_events(con, EVENTS, channels=CHANNELS)
    population(con, at(AS_OF), by)
    return revenue_rows(con, period=period, tz=tz, as_of=at(AS_OF), currency=currency)


def test_periods_in_new_york(con: duckdb.DuckDBPyConnection) -> None:
    # EUR: 2 orders (as_of excludes the third), USD: 1 -> EUR is the reporting currency.
    # Jan (NY): p1 10, active p1 p4. Feb: p1 20 (2nd order: repeat), p3 100, p2's USD order is
    # excluded; active p1 p2 p3 (p4's identify and p5's unsubscribe are no activity).
    # Mar: p3 50, p3's second order: repeat.
    assert revenue(con, tz="America/New_York") == [
        row("2024-01-01", 1, 10.0, 1, 2, 0, 0),
        row("2024-02-01", 2, 120.0, 2, 3, 1, 1),
        row("2024-03-01", 1, 50.0, 1, 1, 1, 0),
    ]


def test_periods_in_utc(con: duckdb.DuckDBPyConnection) -> None:
    # In UTC both of p1's orders fall in February: January has p4 only (no buyer: arppu null).
    rows = revenue(con)
    assert rows == [
        row("2024-01-01", 0, 0.0, 0, 1, 0, 0),
        row("2024-02-01", 3, 130.0, 2, 3, 1, 1),
        row("2024-03-01", 1, 50.0, 1, 1, 1, 0),
    ]
    assert rows[0]["arppu"] is None
    assert rows[0]["repeat_purchase_rate"] is None


def test_chosen_currency(con: duckdb.DuckDBPyConnection) -> None:
    # --currency usd: p1's EUR orders are excluded; p2's USD order and the deals count.
    assert revenue(con, tz="America/New_York", currency="usd") == [
        row("2024-01-01", 0, 0.0, 0, 2, 0, 1, "USD"),
        row("2024-02-01", 2, 130.0, 2, 3, 0, 1, "USD"),
        row("2024-03-01", 1, 50.0, 1, 1, 1, 0, "USD"),
    ]


def test_repeat_buyer_across_weeks(con: duckdb.DuckDBPyConnection) -> None:
    # A buyer of a week is a repeat buyer when they have 2 orders up to the week's end, even if
    # the earlier one was weeks before; a second order in the same week counts too.
    load_events(con, [
        ev("1", "a", "order_completed", "2024-03-04T10:00:00Z", 5.0),   # week of 03-04
        ev("2", "a", "order_completed", "2024-03-20T10:00:00Z", 7.5),   # week of 03-18: repeat
        ev("3", "b", "order_completed", "2024-03-18T10:00:00Z", 1.0),
        ev("4", "b", "order_completed", "2024-03-24T23:59:00Z", 1.0),   # same week: repeat
        ev("5", "c", "order_completed", "2024-03-19T10:00:00Z", 2.0),   # first order: not
    ])
    population(con, at("2024-03-31T00:00:00Z"))
    rows = revenue_rows(con, period="week", tz="UTC", as_of=at("2024-03-31T00:00:00Z"))
    assert rows == [
        row("2024-03-04", 1, 5.0, 1, 1, 0, 0, None),
        row("2024-03-18", 4, 11.5, 3, 3, 2, 0, None),
    ]


def test_groups_add_up_to_all(con: duckdb.DuckDBPyConnection) -> None:
    rows = revenue(con, tz="America/New_York", by="channel")
    groups = [r for r in rows if r["group"] != "all"]
    assert [(r["group"], r["period"]) for r in groups] == [
        ("(none)", "2024-01-01"), ("direct", "2024-01-01"), ("direct", "2024-02-01"),
        ("email", "2024-02-01"), ("email", "2024-03-01")]
    for total in (r for r in rows if r["group"] == "all"):
        parts = [r for r in groups if r["period"] == total["period"]]
        for key in ("orders", "revenue", "buyers", "active_persons", "repeat_buyers",
                    "excluded_orders"):
            assert sum(p[key] for p in parts) == total[key], key


def test_money_to_twelve_places_and_as_written(con: duckdb.DuckDBPyConnection) -> None:
    # Orders were rounded to 6 places before summing: 1e-8 BTC (a satoshi) counted 0 and
    # 3 x 0.1234567 summed to 0.370371, where attribution said 0.37037011 (an audit). Money is
    # now 12 places, read from the double's shortest text: a straight cast of 4096.02 to
    # DECIMAL(38, 12) gave 4096.020000000001 (many prices from 4096 on).
    load_events(con, [
        ev("1", "a", "order_completed", "2024-03-04T10:00:00Z", 1e-8),
        *(ev(f"{n}", "a", "order_completed", "2024-03-05T10:00:00Z", 0.1234567)
          for n in (2, 3, 4)),
        ev("5", "b", "order_completed", "2024-03-06T10:00:00Z", 5678.91),
    ])
    population(con, at("2024-03-31T00:00:00Z"))
    rows = revenue_rows(con, period="month", tz="UTC", as_of=at("2024-04-30T00:00:00Z"))
    assert [r["revenue"] for r in rows] == [5679.28037011]
    for price in (4096.02, 4999.98, 8191.37, 1234.57):
        load_events(con, [ev("1", "a", "order_completed", "2024-03-04T10:00:00Z", price)])
        population(con, at("2024-03-31T00:00:00Z"))
        rows = revenue_rows(con, period="month", tz="UTC", as_of=at("2024-04-30T00:00:00Z"))
        assert [r["revenue"] for r in rows] == [price]
