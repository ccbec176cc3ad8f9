"""LTV golden cases, computed by hand (CONTRACT §10 ltv; cohorts as in §4 Retention)."""

from __future__ import annotations

from typing import Any

import duckdb

from conftest import at
from handmade_events import ev, load_events, population
from journey_metrics.config import Framework
from journey_metrics.metrics.ltv import LtvQuery, ltv_rows

FRAMEWORK = Framework.model_validate({
    "name": "golden", "window": "30d",
    "stages": [{"name": "visit", "match": [{"event": "page_view"}]},
               {"name": "signup", "match": [{"event": "signed_up"}]}],
})
AS_OF = "2024-03-15T00:00:00Z"
EVENTS = [
    ev("1", "a", "order_completed", "2024-01-05T10:00:00Z", 10.0, currency="EUR"),  # period 0
    ev("2", "a", "signed_up", "2024-01-10T10:00:00Z"),
    ev("3", "a", "order_completed", "2024-02-20T10:00:00Z", 20.0, currency="EUR"),
    ev("4", "a", "order_completed", "2024-03-05T10:00:00Z", 5.0, currency="EUR"),  # open period
    ev("5", "b", "signed_up", "2024-01-20T10:00:00Z"),
    ev("6", "b", "signed_up", "2024-02-20T10:00:00Z"),  # a later start does not move the cohort
    ev("7", "b", "order_completed", "2024-01-25T10:00:00Z", 30.0, currency="EUR"),
    ev("8", "b", "order_completed", "2024-02-10T10:00:00Z", 100.0, currency="USD"),  # excluded
    ev("9", "c", "signed_up", "2024-02-03T10:00:00Z"),
    ev("10", "c", "deal_won", "2024-02-04T10:00:00Z", 40.0),  # no currency: counts
    ev("11", "d", "page_view", "2024-02-01T10:00:00Z"),  # never signs up: in no cohort
    ev("12", "d", "order_completed", "2024-02-01T11:00:00Z", 1000.0, currency="EUR"),
    ev("13", "e", "order_completed", "2023-12-20T10:00:00Z", 7.0),  # before e's cohort
    ev("14", "e", "signed_up", "2024-02-10T10:00:00Z"),
    ev("15", "e", "order_completed", "2024-03-20T10:00:00Z", 9.0),  # after as_of
]
CHANNELS = {"a": "direct", "b": "direct", "c": "email", "e": "(none)"}


def cohort(start: str, size: int, revenue: list[float | None],
           group: str = "all") -> list[dict[str, Any]]:
    rows, total = [], 0.0
    for n, r in enumerate(revenue):
        total += r or 0.0
        rows.append({"group": group, "cohort": start, "period": n, "cohort_size": size,
                     "revenue": r, "cumulative_revenue_per_person": None if r is None
                     else total / size})
    return rows


def ltv(con: duckdb.DuckDBPyConnection, *, by: str | None = None, period: str = "month",
        currency: str | None = None, as_of: str = AS_OF) -> list[dict[str, Any]]:
    load_events(con, EVENTS, channels=CHANNELS)
    population(con, at(as_of), by)
    return ltv_rows(con, LtvQuery(FRAMEWORK, "signup", period, "UTC", at(as_of), currency))


def test_cohorts_and_open_period(con: duckdb.DuckDBPyConnection) -> None:
    # January cohort a, b: period 0 = 10 + 30 (a's order before signing up is in period 0),
    # period 1 = a's 20 (b's USD order is excluded: EUR is the most common currency), period 2
    # (March, contains as_of) is open. February cohort c, e: period 0 = c's deal (e's December
    # order is before the cohort), period 1 open.
    assert ltv(con) == [*cohort("2024-01-01", 2, [40.0, 20.0, None]),
                        *cohort("2024-02-01", 2, [40.0, None])]
    rows = ltv(con)
    assert [r["cumulative_revenue_per_person"] for r in rows] == [20.0, 30.0, None, 20.0, None]


def test_chosen_currency(con: duckdb.DuckDBPyConnection) -> None:
    # --currency USD: only b's USD order and the currency-less orders count.
    assert ltv(con, currency="USD") == [*cohort("2024-01-01", 2, [0.0, 100.0, None]),
                                        *cohort("2024-02-01", 2, [40.0, None])]


def test_period_zero_open(con: duckdb.DuckDBPyConnection) -> None:
    # as_of in the cohort's own period: period 0 is open, so null (unlike retention's size).
    assert ltv(con, as_of="2024-01-31T23:59:59Z") == cohort("2024-01-01", 2, [None])


def test_groups_add_up_to_all(con: duckdb.DuckDBPyConnection) -> None:
    rows = ltv(con, by="channel")
    assert rows == [
        *cohort("2024-01-01", 2, [40.0, 20.0, None]),
        *cohort("2024-02-01", 2, [40.0, None]),
        *cohort("2024-02-01", 1, [0.0, None], "(none)"),
        *cohort("2024-01-01", 2, [40.0, 20.0, None], "direct"),
        *cohort("2024-02-01", 1, [40.0, None], "email"),
    ]
