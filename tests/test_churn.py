"""Churn golden cases, computed by hand (CONTRACT §11 churn, §4 Activity)."""

from __future__ import annotations

from typing import Any

import duckdb

from conftest import at
from handmade_events import ev, load_events, population
from journey_metrics.metrics.churn import churn_rows

AS_OF = "2024-04-10T00:00:00Z"
EVENTS = [
    ev("1", "a", "page_view", "2024-01-05T10:00:00Z"),
    ev("2", "a", "page_view", "2024-02-05T10:00:00Z"),
    ev("3", "a", "page_view", "2024-03-05T10:00:00Z"),
    # b's only event in February is an unsubscribe: not active (churned), counted as unsubscribed
    ev("4", "b", "page_view", "2024-01-06T10:00:00Z"),
    ev("5", "b", "email_unsubscribe", "2024-02-06T10:00:00Z"),
    ev("6", "c", "page_view", "2024-02-07T10:00:00Z"),
    ev("7", "c", "page_view", "2024-04-07T10:00:00Z"),  # back in the open period
    ev("8", "d", "email_delivered", "2024-01-08T10:00:00Z"),  # not activity
    ev("9", "d", "page_view", "2024-03-08T10:00:00Z"),
    ev("10", "e", "page_view", "2024-01-09T10:00:00Z"),
    ev("11", "e", "deal_lost", "2024-02-09T10:00:00Z"),  # a lost deal (and activity)
    # f only leaves: a spam report and a group unsubscribe in March count once
    ev("12", "f", "email_spamreport", "2024-03-10T10:00:00Z"),
    ev("13", "f", "email_group_unsubscribe", "2024-03-11T10:00:00Z"),
    ev("14", "a", "page_view", "2024-04-11T10:00:00Z"),  # after as_of
]
CHANNELS = {"a": "direct", "b": "direct", "c": "email", "d": "email", "e": "email",
            "f": "(none)"}


def row(period: str, before: int, churned: int | None, unsubscribed: int, lost: int,
        group: str = "all") -> dict[str, Any]:
    return {"group": group, "period": period, "active_before": before, "churned": churned,
            "churn_rate": None if churned is None or not before else churned / before,
            "unsubscribed": unsubscribed, "deals_lost": lost}


def churn(con: duckdb.DuckDBPyConnection, by: str | None = None) -> list[dict[str, Any]]:
    load_events(con, EVENTS, channels=CHANNELS)
    population(con, at(AS_OF), by)
    return churn_rows(con, period="month", tz="UTC", as_of=at(AS_OF))


def test_leaving_signals_are_not_activity(con: duckdb.DuckDBPyConnection) -> None:
    names = ("email_unsubscribe", "email_group_unsubscribe", "email_spamreport", "identify",
             "email_delivered", "email_open", "page_view", "deal_lost")
    got = con.execute("SELECT list(jm_is_activity(n) ORDER BY i) FROM "
                      "(SELECT unnest($n) AS n, generate_subscripts($n, 1) AS i)",
                      {"n": list(names)}).fetchall()[0][0]
    assert got == [False, False, False, False, False, True, True, True]


def test_churn_with_the_open_period_null(con: duckdb.DuckDBPyConnection) -> None:
    # January (first period with activity): a b e. February: a c e active -> b churned.
    # March: a d active -> c and e churned; f left twice (one person). April is open.
    assert churn(con) == [
        row("2024-02-01", 3, 1, 1, 1),
        row("2024-03-01", 3, 2, 1, 0),
        row("2024-04-01", 2, None, 0, 0),
    ]


def test_groups_add_up_to_all(con: duckdb.DuckDBPyConnection) -> None:
    rows = churn(con, by="channel")
    assert rows[3:] == [
        row("2024-02-01", 0, 0, 0, 0, "(none)"),
        row("2024-03-01", 0, 0, 1, 0, "(none)"),
        row("2024-04-01", 0, None, 0, 0, "(none)"),
        row("2024-02-01", 2, 1, 1, 0, "direct"),
        row("2024-03-01", 1, 0, 0, 0, "direct"),
        row("2024-04-01", 1, None, 0, 0, "direct"),
        row("2024-02-01", 1, 0, 0, 1, "email"),
        row("2024-03-01", 2, 2, 0, 0, "email"),
        row("2024-04-01", 1, None, 0, 0, "email"),
    ]
    for total in rows[:3]:
        parts = [r for r in rows[3:] if r["period"] == total["period"]]
        for key in ("active_before", "unsubscribed", "deals_lost"):
            assert sum(p[key] for p in parts) == total[key]
        if total["churned"] is not None:
            assert sum(p["churned"] for p in parts) == total["churned"]


def test_persons_first_seen_after_as_of_form_no_group(con: duckdb.DuckDBPyConnection) -> None:
    # g's only event is after as_of: at as_of g does not exist yet (CONTRACT §4), so neither g's
    # later channel nor `(none)` (g's channel at as_of) is a group; before, `(none)` was listed
    # with empty rows that a warehouse loaded only up to as_of would not have
    events = [ev("1", "a", "page_view", "2024-01-05T10:00:00Z"),
              ev("2", "b", "page_view", "2024-01-06T10:00:00Z"),
              ev("3", "a", "page_view", "2024-02-05T10:00:00Z"),
              ev("4", "g", "page_view", "2024-04-11T10:00:00Z")]
    load_events(con, events, channels={"a": "direct", "b": "direct", "g": "paid_search"})
    population(con, at(AS_OF), "channel")
    rows = churn_rows(con, period="month", tz="UTC", as_of=at(AS_OF))
    assert {r["group"] for r in rows} == {"all", "direct"}
    assert [r for r in rows if r["group"] == "direct"] == [
        row("2024-02-01", 2, 1, 0, 0, "direct"),
        row("2024-03-01", 1, 1, 0, 0, "direct"),
        row("2024-04-01", 0, None, 0, 0, "direct"),
    ]
