"""Revenue per period (CONTRACT §10 revenue): orders, revenue, buyers, ARPU, ARPPU, repeat buyers.

Orders are `order_completed` and `deal_won` events; revenue is summed in one currency only
(metrics/_money.py): orders in another currency are counted in `excluded_orders`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics._money import CURRENCY_OPTION, orders_sql, reporting_currency
from journey_metrics.metrics.common import query_rows, ratio
from journey_metrics.metrics.registry import (
    Column,
    Context,
    Kind,
    Metric,
    Option,
    Presentation,
    Rows,
    Section,
    register,
)
from journey_metrics.sql import fill_snippets

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.report.data import ReportContext

REVENUE_COLUMNS = ("group", "period", "orders", "revenue", "buyers", "active_persons", "arpu",
                   "arppu", "repeat_buyers", "repeat_purchase_rate", "excluded_orders",
                   "currency")


def revenue_rows(
    con: duckdb.DuckDBPyConnection, *, period: str, tz: str, as_of: datetime,
    currency: str | None = None,
) -> Rows:
    """Revenue rows per group of the TEMP view `population` (with the `group` column)."""
    reporting = reporting_currency(con, currency, as_of)
    sql = fill_snippets("marts/fct_revenue.sql", orders=orders_sql())
    params = {"as_of": as_of, "tz": tz, "period": period, "currency": reporting}
    rows = []
    for r in query_rows(con, sql, params):
        rows.append({
            "group": r["group_name"], "period": r["period"], "orders": r["orders"],
            "revenue": r["revenue"], "buyers": r["buyers"], "active_persons": r["active_persons"],
            "arpu": ratio(r["revenue"], r["active_persons"]),
            "arppu": ratio(r["revenue"], r["buyers"]),
            "repeat_buyers": r["repeat_buyers"],
            "repeat_purchase_rate": ratio(r["repeat_buyers"], r["buyers"]),
            "excluded_orders": r["excluded_orders"], "currency": reporting,
        })
    return rows


# --- the declaration (metrics/registry.py) -------------------------------------------------------

def _columns(options: Mapping[str, Any]) -> tuple[Column, ...]:
    grouped = (Column("group", Kind.text),) if options.get("by") else ()
    return (*grouped, Column("period", Kind.date), Column("orders", Kind.count),
            Column("revenue", Kind.money), Column("buyers", Kind.count),
            Column("active_persons", Kind.count), Column("arpu", Kind.money),
            Column("arppu", Kind.money), Column("repeat_buyers", Kind.count),
            Column("repeat_purchase_rate", Kind.ratio),
            Column("excluded_orders", Kind.count,
                   "orders in another currency than the reporting one (not in revenue)"),
            Column("currency", Kind.text, "the reporting currency"))


def _compute(ctx: Context, **options: Any) -> Rows:
    rows = revenue_rows(ctx.con, period=options.get("period") or "month", tz=ctx.tz,
                        as_of=ctx.as_of, currency=options.get("currency"))
    return rows if ctx.segment.grouped else [
        {k: v for k, v in row.items() if k != "group"} for row in rows]


def _present(options: Mapping[str, Any], ctx: Context, rows: Rows) -> Presentation:
    currency = rows[0]["currency"] if rows else None
    excluded = sum(r["excluded_orders"] for r in rows if r.get("group", "all") == "all")
    caption = f"revenue in {currency}" if currency else "no order names a currency"
    if excluded:
        caption += f"; {excluded:,} orders in other currencies excluded (--currency to choose)"
    return Presentation(title=f"Revenue by {options.get('period') or 'month'}", caption=caption)


def _collect(ctx: ReportContext) -> Rows:
    from journey_metrics.metrics.segments import Segment, prepare_population

    prepare_population(ctx.con, Segment(), ctx.as_of)
    return revenue_rows(ctx.con, period="month", tz=ctx.tz, as_of=ctx.as_of)


REVENUE = register(Metric(
    name="revenue",
    help="Orders, revenue, buyers, ARPU, ARPPU and repeat buyers per period, in one currency "
    "(CONTRACT §10).",
    columns=_columns,
    compute=_compute,
    options=(Option("period", "Calendar period.", "month", choices=("week", "month")),
             CURRENCY_OPTION),
    present=_present,
    sections=(Section("revenue", _collect, "journey_metrics.charts.money:revenue_blocks",
                      order=22),),
    examples=("journey-metrics revenue --period week --by channel",
              "journey-metrics revenue --currency USD --format csv"),
))
