"""The journey map (dashboard): the journey framework's stages, the touchpoints where each stage
happens (source · channel, by volume) and the emotion curve (NPS by the stage reached when
answering). A report-only metric: no command, but in the Python API as `jm.journey_map()`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.registry import (
    Column,
    Context,
    Kind,
    Metric,
    Rows,
    Section,
    register,
)
from journey_metrics.sql import fill_snippets, used_parameters
from journey_metrics.stages import compile_stages

if TYPE_CHECKING:
    from datetime import datetime

    import duckdb

    from journey_metrics.config import Framework
    from journey_metrics.report.data import ReportContext


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> Rows:
    result = con.execute(sql, used_parameters(sql, params))
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def touchpoints(con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime) -> Rows:
    stages = compile_stages(framework)
    stage_list = "list_filter([" + ", ".join(
        f"CASE WHEN {e} THEN {k} END" for k, e in enumerate(stages.expressions, start=1)
    ) + "], lambda x: x IS NOT NULL)"
    sql = fill_snippets("marts/fct_journey_map.sql", stage_list=stage_list)
    return _rows(con, sql, {**stages.params, "as_of": as_of})


def emotion(con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime) -> Rows:
    stages = compile_stages(framework)
    highest = "CASE " + " ".join(
        f"WHEN {e} THEN {k}" for k, e in reversed(list(enumerate(stages.expressions, start=1)))
    ) + " END"
    sql = fill_snippets("marts/fct_journey_emotion.sql", highest_stage=highest)
    rows = _rows(con, sql, {**stages.params, "as_of": as_of})
    for row in rows:
        row["mean_score"] = float(row["mean_score"]) if row["mean_score"] is not None else None
        row["nps"] = 100.0 * (row["promoters"] - row["detractors"]) / row["respondents"]
    return rows


def _collect(ctx: ReportContext) -> dict[str, Any]:
    journey = ctx.framework(ctx.settings.journey_framework)
    return {
        "framework": journey.name,
        "stages": [s.name for s in journey.stages],
        "touchpoints": touchpoints(ctx.con, journey, ctx.as_of),
        "emotion": emotion(ctx.con, journey, ctx.as_of),
    }


def _compute(ctx: Context, **options: Any) -> Rows:
    assert ctx.framework is not None
    return touchpoints(ctx.con, ctx.framework, ctx.as_of)


JOURNEY_MAP = register(Metric(
    name="journey_map",
    help="Touchpoints per stage of a framework (source · channel, events and persons).",
    columns=(Column("step", Kind.count), Column("source", Kind.text),
             Column("channel", Kind.text), Column("events", Kind.count),
             Column("persons", Kind.count)),
    compute=_compute,
    framework=True,
    segments=False,
    command=False,
    sections=(Section("journey", _collect, "journey_metrics.charts.journey_map:journey_map_blocks",
                      order=10),),
))
