"""Churn per period (CONTRACT §11 churn): who was active in the previous period and is not now.

Activity excludes the signals of leaving (unsubscribe, group unsubscribe, spam report: §4), which
are counted apart in `unsubscribed`; lost CRM deals in `deals_lost`. The period containing as_of
has not ended, so its `churned` and `churn_rate` are null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
from journey_metrics.sql import load_sql

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.report.data import ReportContext


def churn_rows(con: duckdb.DuckDBPyConnection, *, period: str, tz: str, as_of: datetime) -> Rows:
    """Churn rows per group of the TEMP view `population` (with the `group` column)."""
    sql = load_sql("marts/fct_churn.sql")
    params = {"as_of": as_of, "tz": tz, "period": period}
    rows = []
    for r in query_rows(con, sql, params):
        churned = r["churned"]
        rows.append({
            "group": r["group_name"], "period": r["period"], "active_before": r["active_before"],
            "churned": churned,
            "churn_rate": None if churned is None else ratio(churned, r["active_before"]),
            "unsubscribed": r["unsubscribed"], "deals_lost": r["deals_lost"],
        })
    return rows


# --- the declaration (metrics/registry.py) -------------------------------------------------------

def _columns(options: Mapping[str, Any]) -> tuple[Column, ...]:
    grouped = (Column("group", Kind.text),) if options.get("by") else ()
    return (*grouped, Column("period", Kind.date), Column("active_before", Kind.count),
            Column("churned", Kind.count), Column("churn_rate", Kind.ratio),
            Column("unsubscribed", Kind.count), Column("deals_lost", Kind.count))


def _compute(ctx: Context, **options: Any) -> Rows:
    rows = churn_rows(ctx.con, period=options.get("period") or "month", tz=ctx.tz,
                      as_of=ctx.as_of)
    return rows if ctx.segment.grouped else [
        {k: v for k, v in row.items() if k != "group"} for row in rows]


def _collect(ctx: ReportContext) -> Rows:
    from journey_metrics.metrics.segments import Segment, prepare_population

    prepare_population(ctx.con, Segment(), ctx.as_of)
    return churn_rows(ctx.con, period="month", tz=ctx.tz, as_of=ctx.as_of)


CHURN = register(Metric(
    name="churn",
    help="Persons active in the previous period and not in this one, unsubscribes and lost "
    "deals per period (CONTRACT §11).",
    columns=_columns,
    compute=_compute,
    options=(Option("period", "Calendar period.", "month", choices=("week", "month")),),
    present=lambda options, ctx, rows: Presentation(
        title=f"Churn by {options.get('period') or 'month'}",
        caption="the period containing as_of has not ended: churned is blank (-)"),
    sections=(Section("churn", _collect, "journey_metrics.charts.experience:churn_blocks",
                      order=63),),
    examples=("journey-metrics churn --period week --by channel",),
))
