"""Referral per period (CONTRACT §4 Referral)."""

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
from journey_metrics.metrics.segments import Segment, prepare_population
from journey_metrics.sql import load_sql

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.report.data import ReportContext

REFERRAL_COLUMNS = (
    "period", "active_persons", "referrers", "invites_sent", "signups", "referred_signups",
    "referral_rate", "invite_conversion_rate", "k_factor", "referred_share",
)


def compute_referral(
    con: duckdb.DuckDBPyConnection, *, period: str, tz: str, as_of: datetime
) -> list[dict[str, Any]]:
    """Referral rows for all persons (no group column)."""
    prepare_population(con, Segment(), as_of)
    return [{k: v for k, v in row.items() if k != "group"}
            for row in referral_rows(con, period=period, tz=tz, as_of=as_of)]


def referral_rows(
    con: duckdb.DuckDBPyConnection, *, period: str, tz: str, as_of: datetime
) -> list[dict[str, Any]]:
    """Referral rows per group of the TEMP view `population`."""
    sql = load_sql("marts/fct_referral.sql")
    params = {"as_of": as_of, "tz": tz, "period": period}
    rows = []
    for row in query_rows(con, sql, params):
        row["group"] = row.pop("group_name")
        row["referral_rate"] = ratio(row["referrers"], row["active_persons"])
        row["invite_conversion_rate"] = ratio(row["referred_signups"], row["invites_sent"])
        row["k_factor"] = ratio(row["referred_signups"], row["active_persons"])
        row["referred_share"] = ratio(row["referred_signups"], row["signups"])
        rows.append({"group": row["group"], **{c: row[c] for c in REFERRAL_COLUMNS}})
    return rows


# --- the declaration (metrics/registry.py) -------------------------------------------------------

def _columns(options: Mapping[str, Any]) -> tuple[Column, ...]:
    grouped = (Column("group", Kind.text),) if options.get("by") else ()
    return (*grouped, Column("period", Kind.date), Column("active_persons", Kind.count),
            Column("referrers", Kind.count), Column("invites_sent", Kind.count),
            Column("signups", Kind.count), Column("referred_signups", Kind.count),
            Column("referral_rate", Kind.ratio), Column("invite_conversion_rate", Kind.ratio),
            Column("k_factor", Kind.number), Column("referred_share", Kind.ratio))


def _compute(ctx: Context, **options: Any) -> Rows:
    rows = referral_rows(ctx.con, period=options.get("period") or "month", tz=ctx.tz,
                         as_of=ctx.as_of)
    return rows if ctx.segment.grouped else [
        {k: v for k, v in row.items() if k != "group"} for row in rows]


def _collect(ctx: ReportContext) -> list[dict[str, Any]]:
    return compute_referral(ctx.con, period="month", tz=ctx.tz, as_of=ctx.as_of)


REFERRAL = register(Metric(
    name="referral",
    help="Referrers, invites, referred signups and k-factor per period (CONTRACT §4 Referral).",
    columns=_columns,
    compute=_compute,
    options=(Option("period", "Calendar period.", "month", choices=("week", "month")),),
    present=lambda options, ctx, rows: Presentation(
        title=f"Referral by {options.get('period') or 'month'}"),
    sections=(Section("referral", _collect, "journey_metrics.charts.referral:referral_blocks",
                      order=50),),
    materialize=({},),
    examples=("journey-metrics referral --period week --format csv",),
))
