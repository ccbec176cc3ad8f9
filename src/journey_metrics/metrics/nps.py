"""NPS per period and group (CONTRACT §4 NPS)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.common import query_rows
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

NPS_COLUMNS = ("group", "period", "respondents", "promoters", "passives", "detractors", "nps")


def compute_nps(
    con: duckdb.DuckDBPyConnection, *, period: str, tz: str, as_of: datetime, by_channel: bool
) -> list[dict[str, Any]]:
    prepare_population(con, Segment("channel" if by_channel else None), as_of)
    return nps_rows(con, period=period, tz=tz, as_of=as_of)


def nps_rows(
    con: duckdb.DuckDBPyConnection, *, period: str, tz: str, as_of: datetime
) -> list[dict[str, Any]]:
    """NPS rows per group of the TEMP view `population`."""
    sql = load_sql("marts/fct_nps.sql")
    params = {"as_of": as_of, "tz": tz, "period": period}
    rows = []
    for row in query_rows(con, sql, params):
        row["group"] = row.pop("group_name")
        respondents = row["respondents"]
        row["nps"] = 100.0 * (row["promoters"] - row["detractors"]) / respondents
        rows.append({c: row[c] for c in NPS_COLUMNS})
    return rows


# --- the declaration (metrics/registry.py) -------------------------------------------------------

def _compute(ctx: Context, **options: Any) -> Rows:
    return nps_rows(ctx.con, period=options.get("period") or "month", tz=ctx.tz, as_of=ctx.as_of)


def _collect(ctx: ReportContext) -> list[dict[str, Any]]:
    return compute_nps(ctx.con, period="month", tz=ctx.tz, as_of=ctx.as_of, by_channel=True)


NPS = register(Metric(
    name="nps",
    help="Net Promoter Score per period, from each person's latest answer (CONTRACT §4 NPS).",
    columns=(Column("group", Kind.text), Column("period", Kind.date),
             Column("respondents", Kind.count), Column("promoters", Kind.count),
             Column("passives", Kind.count), Column("detractors", Kind.count),
             Column("nps", Kind.score)),
    compute=_compute,
    options=(Option("period", "Calendar period.", "month", choices=("week", "month")),),
    present=lambda options, ctx, rows: Presentation(
        title=f"NPS by {options.get('period') or 'month'}"),
    sections=(Section("nps_by_month", _collect, "journey_metrics.charts.nps:nps_blocks",
                      order=60),),
    materialize=({},),
    examples=("journey-metrics nps --by channel --period week",),
))
