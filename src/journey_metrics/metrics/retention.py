"""Retention cohorts (CONTRACT §4 Retention): cohort, period, cohort_size, retained, rate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from journey_metrics.errors import UsageError
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
from journey_metrics.sql import fill_snippets
from journey_metrics.stages import compile_stages

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.config import Framework
    from journey_metrics.report.data import ReportContext

Period = Literal["day", "week", "month"]
RETENTION_COLUMNS = ("cohort", "period", "cohort_size", "retained", "rate")


@dataclass(frozen=True)
class RetentionQuery:
    framework: Framework
    start_stage: str
    return_rule: str  # "any" or a stage name
    period: Period
    tz: str
    as_of: datetime
    cumulative: bool = False


def stage_index(framework: Framework, name: str, option: str) -> int:
    names = [s.name for s in framework.stages]
    if name not in names:
        raise UsageError(
            f"{option}: {name!r} is not a stage of {framework.name} ({', '.join(names)})"
        )
    return names.index(name)


def compute_retention(con: duckdb.DuckDBPyConnection, q: RetentionQuery) -> list[dict[str, Any]]:
    """Retention rows for all persons (no group column)."""
    prepare_population(con, Segment(), q.as_of)
    return [{k: v for k, v in row.items() if k != "group"} for row in retention_rows(con, q)]


def cohorts_sql(start_match: str) -> str:
    """The cohort CTEs retention and ltv share (sql/intermediate/int_cohorts.sql): starts,
    cohorts and grid, for the start stage's match expression."""
    return fill_snippets("intermediate/int_cohorts.sql", start_match=start_match)


def retention_rows(con: duckdb.DuckDBPyConnection, q: RetentionQuery) -> list[dict[str, Any]]:
    """Retention rows per group of the TEMP view `population`."""
    stages = compile_stages(q.framework)
    start = stages.expressions[stage_index(q.framework, q.start_stage, "--start")]
    if q.return_rule == "any":
        returning = "jm_is_activity(event_name)"
    else:
        # leaving never counts as a return (CONTRACT §4), whatever the stage matches
        stage = stages.expressions[stage_index(q.framework, q.return_rule, "--return")]
        returning = f"({stage}) AND NOT jm_is_leaving(event_name)"
    sql = fill_snippets("marts/fct_retention.sql", cohorts=cohorts_sql(start),
                        return_match=returning)
    params = {**stages.params, "as_of": q.as_of, "tz": q.tz, "period": q.period,
              "cumulative": q.cumulative}
    rows = []
    for row in query_rows(con, sql, params):
        retained = row["retained"]
        rows.append({
            "group": row["group_name"], "cohort": row["cohort"], "period": row["period"],
            "cohort_size": row["cohort_size"], "retained": retained,
            "rate": None if retained is None else ratio(retained, row["cohort_size"]),
        })
    return rows


# --- the declaration (metrics/registry.py) -------------------------------------------------------

def _columns(options: Mapping[str, Any]) -> tuple[Column, ...]:
    grouped = (Column("group", Kind.text),) if options.get("by") else ()
    return (*grouped, Column("cohort", Kind.date), Column("period", Kind.count),
            Column("cohort_size", Kind.count), Column("retained", Kind.count),
            Column("rate", Kind.ratio))


def _compute(ctx: Context, **options: Any) -> Rows:
    assert ctx.framework is not None
    rows = retention_rows(ctx.con, RetentionQuery(
        framework=ctx.framework, start_stage=options["start"],
        return_rule=options.get("return_rule") or "any", period=options.get("period") or "week",
        tz=ctx.tz, as_of=ctx.as_of, cumulative=bool(options.get("cumulative"))))
    return rows if ctx.segment.grouped else [
        {k: v for k, v in row.items() if k != "group"} for row in rows]


def _present(options: Mapping[str, Any], ctx: Context, rows: Rows) -> Presentation:
    assert ctx.framework is not None
    if (options.get("return_rule") or "any") == "any" and any(
            stage.name == "any" for stage in ctx.framework.stages):
        # a stage may be named `any` (a funnel reads it fine), but --return cannot name it
        ctx.announce("--return any means any activity, not the stage named any: rename the"
                     " stage to count returns to it")
    return Presentation(
        title=f"Retention: {ctx.framework.label}, cohorts by {options.get('period') or 'week'} of "
        f"first {options['start']}, return "
        f"{'on or after' if options.get('cumulative') else 'on'} period n: "
        f"{options.get('return_rule') or 'any'}",
        caption="the period containing as_of has not ended: retained is blank (-)",
    )


def _collect(ctx: ReportContext) -> list[dict[str, Any]]:
    """The command's rows of the latest `cohorts` cohorts (config/report.yaml)."""
    view = ctx.settings.retention
    rows = compute_retention(ctx.con, RetentionQuery(
        ctx.framework(view.framework), view.start, "any", view.period, ctx.tz, ctx.as_of))
    shown = set(sorted({str(r["cohort"]) for r in rows})[-view.cohorts:])
    return [r for r in rows if str(r["cohort"]) in shown]


RETENTION = register(Metric(
    name="retention",
    help="Cohorts by the period of their first start-stage event, and who comes back "
    "(CONTRACT §4).",
    columns=_columns,
    compute=_compute,
    framework=True,
    options=(
        Option("start", "Stage that puts a person in a cohort.", required=True),
        Option("return_rule", "`any` activity, or a stage name.", "any", flag="--return"),
        Option("period", "Cohort and return period.", "week", choices=("day", "week", "month")),
        Option("cumulative", "Retained = returned in period n or later.", False, kind=bool),
    ),
    present=_present,
    sections=(Section("retention", _collect, "journey_metrics.charts.retention:retention_blocks",
                      order=40),),
    examples=("journey-metrics retention --framework aarrr --start activation --period month",),
))
