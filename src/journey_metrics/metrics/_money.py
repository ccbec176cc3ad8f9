"""Shared by `revenue` and `ltv` (CONTRACT §10): orders and the reporting currency.

Money is summed within one currency only (issue 12 item 5): the reporting currency is `--currency`
or, by default, the most common `properties.currency` among all orders; orders in another currency
are counted as excluded and never added. Orders without a currency (CRM deals) count in the
reporting currency.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.registry import Option
from journey_metrics.sql import load_sql, used_parameters

if TYPE_CHECKING:
    import duckdb

ORDER_EVENTS = ("order_completed", "deal_won")

CURRENCY_OPTION = Option(
    "currency",
    "Reporting currency (e.g. EUR); orders in other currencies are counted as excluded, never "
    "added. Default: the most common currency of the orders.",
)


def reporting_currency(
    con: duckdb.DuckDBPyConnection, given: str | None, as_of: datetime
) -> str | None:
    """The currency revenue is reported in (None when no order names one)."""
    from journey_metrics.db import fetch_first

    sql = load_sql("intermediate/int_reporting_currency.sql")
    row = fetch_first(con.execute(sql, used_parameters(sql, {"as_of": as_of,
                                                             "currency": given})))
    return None if row is None else row[0]


def orders_sql() -> str:
    """The int_orders relation (parameters: as_of, tz, period, currency)."""
    return load_sql("intermediate/int_orders.sql")


def excluded_orders(
    con: duckdb.DuckDBPyConnection, currency: str | None, as_of: datetime
) -> int:
    """Orders at or before as_of in another currency than `currency` (all persons)."""
    from journey_metrics.db import fetch_first
    from journey_metrics.sql import fill_snippets

    sql = fill_snippets("marts/fct_excluded_orders.sql", orders=orders_sql())
    params = {"as_of": as_of, "tz": "UTC", "period": "month", "currency": currency}
    row = fetch_first(con.execute(sql, used_parameters(sql, params)))
    return int(row[0]) if row else 0


def currency_summary(con: duckdb.DuckDBPyConnection, as_of: datetime) -> dict[str, Any]:
    """The reporting currency (the most common one) and how many orders another currency left
    out: the run summary and the dashboard header say it (issue 12: never silently mixed)."""
    currency = reporting_currency(con, None, as_of)
    return {"reporting": currency, "excluded_orders": excluded_orders(con, currency, as_of)}
