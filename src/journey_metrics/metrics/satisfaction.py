"""Satisfaction per period (CONTRACT §11 satisfaction): NPS, CSAT and CES side by side.

Each person's latest answer per survey in the period counts: `nps` as in §4 (promoters 9-10 minus
detractors 0-6, in % of respondents), `csat` = 100 x share of CSAT answers of 4-5 (of 1-5),
`ces` = mean CES score (1-7). A survey without respondents in a period has a null score.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from journey_metrics.sql import load_sql

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.report.data import ReportContext

SATISFACTION_COLUMNS = ("group", "period", "nps_respondents", "nps", "csat_respondents", "csat",
                        "ces_respondents", "ces")


def _share(part: int, whole: int, scale: float = 100.0) -> float | None:
    return scale * part / whole if whole else None


def satisfaction_rows(
    con: duckdb.DuckDBPyConnection, *, period: str, tz: str, as_of: datetime
) -> Rows:
    """Satisfaction rows per group of the TEMP view `population` (with the `group` column)."""
    sql = load_sql("marts/fct_satisfaction.sql")
    params = {"as_of": as_of, "tz": tz, "period": period}
    rows = []
    for r in query_rows(con, sql, params):
        rows.append({
            "group": r["group_name"], "period": r["period"],
            "nps_respondents": r["nps_respondents"],
            "nps": _share(r["nps_promoters"] - r["nps_detractors"], r["nps_respondents"]),
            "csat_respondents": r["csat_respondents"],
            "csat": _share(r["csat_satisfied"], r["csat_respondents"]),
            "ces_respondents": r["ces_respondents"],
            "ces": _share(r["ces_total"], r["ces_respondents"], 1.0),
        })
    return rows


# --- the declaration (metrics/registry.py) -------------------------------------------------------

def _columns(options: Mapping[str, Any]) -> tuple[Column, ...]:
    grouped = (Column("group", Kind.text),) if options.get("by") else ()
    return (*grouped, Column("period", Kind.date),
            Column("nps_respondents", Kind.count), Column("nps", Kind.score, "-100..100"),
            Column("csat_respondents", Kind.count),
            Column("csat", Kind.score, "% of CSAT answers of 4-5"),
            Column("ces_respondents", Kind.count), Column("ces", Kind.score, "mean CES, 1..7"))


def _compute(ctx: Context, **options: Any) -> Rows:
    rows = satisfaction_rows(ctx.con, period=options.get("period") or "month", tz=ctx.tz,
                             as_of=ctx.as_of)
    return rows if ctx.segment.grouped else [
        {k: v for k, v in row.items() if k != "group"} for row in rows]


def _collect(ctx: ReportContext) -> Rows:
    """Dashboard: per month, everybody ('all') and per first-touch channel."""
    from journey_metrics.metrics.segments import Segment, prepare_population

    prepare_population(ctx.con, Segment("channel"), ctx.as_of)
    return satisfaction_rows(ctx.con, period="month", tz=ctx.tz, as_of=ctx.as_of)


SATISFACTION = register(Metric(
    name="satisfaction",
    help="NPS, CSAT and CES per period, from each person's latest answer per survey "
    "(CONTRACT §11).",
    columns=_columns,
    compute=_compute,
    options=(Option("period", "Calendar period.", "month", choices=("week", "month")),),
    present=lambda options, ctx, rows: Presentation(
        title=f"Satisfaction by {options.get('period') or 'month'}",
        caption="NPS -100..100; CSAT % of answers 4-5; CES mean score 1..7"),
    sections=(Section("satisfaction", _collect,
                      "journey_metrics.charts.experience:satisfaction_blocks", order=61),),
    examples=("journey-metrics satisfaction --by channel",),
))
