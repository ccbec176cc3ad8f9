"""Lifetime value per cohort (CONTRACT §10 ltv): revenue per cohort member by period since the
cohort's start stage, cumulative; the period containing as_of is null.

Cohorts are made as in retention; orders and the reporting currency as in `revenue`
(metrics/_money.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics._money import (
    CURRENCY_OPTION,
    excluded_orders,
    orders_sql,
    reporting_currency,
)
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
from journey_metrics.metrics.retention import cohorts_sql, stage_index
from journey_metrics.sql import fill_snippets
from journey_metrics.stages import compile_stages

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.config import Framework
    from journey_metrics.report.data import ReportContext

LTV_COLUMNS = ("group", "cohort", "period", "cohort_size", "revenue",
               "cumulative_revenue_per_person")


@dataclass(frozen=True)
class LtvQuery:
    framework: Framework
    start_stage: str
    period: str
    tz: str
    as_of: datetime
    currency: str | None = None


def ltv_rows(con: duckdb.DuckDBPyConnection, q: LtvQuery) -> Rows:
    """LTV rows per group of the TEMP view `population` (with the `group` column)."""
    stages = compile_stages(q.framework)
    start = stages.expressions[stage_index(q.framework, q.start_stage, "--start")]
    currency = reporting_currency(con, q.currency, q.as_of)
    sql = fill_snippets("marts/fct_ltv.sql", cohorts=cohorts_sql(start), orders=orders_sql())
    params = {**stages.params, "as_of": q.as_of, "tz": q.tz, "period": q.period,
              "currency": currency}
    rows = []
    for r in query_rows(con, sql, params):
        r["group"] = r.pop("group_name")
        rows.append({c: r[c] for c in LTV_COLUMNS})
    return rows


# --- the declaration (metrics/registry.py) -------------------------------------------------------

def _columns(options: Mapping[str, Any]) -> tuple[Column, ...]:
    grouped = (Column("group", Kind.text),) if options.get("by") else ()
    return (*grouped, Column("cohort", Kind.date), Column("period", Kind.count),
            Column("cohort_size", Kind.count), Column("revenue", Kind.money),
            Column("cumulative_revenue_per_person", Kind.money))


def _compute(ctx: Context, **options: Any) -> Rows:
    assert ctx.framework is not None
    query = LtvQuery(framework=ctx.framework, start_stage=options["start"],
                     period=options.get("period") or "month", tz=ctx.tz, as_of=ctx.as_of,
                     currency=options.get("currency"))
    rows = ltv_rows(ctx.con, query)
    currency = reporting_currency(ctx.con, query.currency, ctx.as_of)
    excluded = excluded_orders(ctx.con, currency, ctx.as_of)
    if excluded:
        ctx.announce(f"ltv: revenue in {currency}; {excluded:,} orders in other currencies "
                     "are excluded (--currency to choose)")
    return rows if ctx.segment.grouped else [
        {k: v for k, v in row.items() if k != "group"} for row in rows]


def _present(options: Mapping[str, Any], ctx: Context, rows: Rows) -> Presentation:
    assert ctx.framework is not None
    return Presentation(
        title=f"Lifetime value: {ctx.framework.label}, cohorts by "
        f"{options.get('period') or 'month'} of first {options['start']}",
        caption="the period containing as_of has not ended: its revenue is blank (-)",
    )


def _collect(ctx: ReportContext) -> dict[str, Any]:
    """Dashboard: monthly cohorts of the journey framework's conversion stage."""
    from journey_metrics.metrics.segments import Segment, prepare_population

    journey = ctx.framework(ctx.settings.journey_framework)
    names = [s.name for s in journey.stages]
    stage = ctx.settings.conversion_stage
    if stage not in names:
        stage = names[min(2, len(names) - 1)]
    prepare_population(ctx.con, Segment(), ctx.as_of)
    rows = ltv_rows(ctx.con, LtvQuery(journey, stage, "month", ctx.tz, ctx.as_of))
    return {"framework": journey.name, "stage": stage, "rows": rows}


LTV = register(Metric(
    name="ltv",
    help="Revenue per cohort member by period since the cohort's start stage, cumulative "
    "(CONTRACT §10).",
    columns=_columns,
    compute=_compute,
    framework=True,
    options=(
        Option("start", "Stage that puts a person in a cohort.", required=True),
        Option("period", "Cohort and revenue period.", "month", choices=("day", "week", "month")),
        CURRENCY_OPTION,
    ),
    present=_present,
    sections=(Section("ltv", _collect, "journey_metrics.charts.money:ltv_blocks", order=23),),
    examples=("journey-metrics ltv --framework aarrr --start activation",),
))
