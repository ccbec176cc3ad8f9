"""Retention cohorts (CONTRACT §4 Retention): cohort, period, cohort_size, retained, rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb

from journey_metrics.config import Framework
from journey_metrics.errors import UsageError
from journey_metrics.metrics.common import ratio
from journey_metrics.sql import fill_snippets, used_parameters
from journey_metrics.stages import compile_stages

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


def _stage_index(framework: Framework, name: str, option: str) -> int:
    names = [s.name for s in framework.stages]
    if name not in names:
        raise UsageError(
            f"{option}: {name!r} is not a stage of {framework.name} ({', '.join(names)})"
        )
    return names.index(name)


def compute_retention(con: duckdb.DuckDBPyConnection, q: RetentionQuery) -> list[dict[str, Any]]:
    stages = compile_stages(q.framework)
    start = stages.expressions[_stage_index(q.framework, q.start_stage, "--start")]
    if q.return_rule == "any":
        returning = "jm_is_activity(event_name)"
    else:
        returning = stages.expressions[_stage_index(q.framework, q.return_rule, "--return")]
    sql = fill_snippets("marts/fct_retention.sql", start_match=start, return_match=returning)
    params = {**stages.params, "as_of": q.as_of, "tz": q.tz, "period": q.period,
              "cumulative": q.cumulative}
    result = con.execute(sql, used_parameters(sql, params))
    columns = [d[0] for d in result.description]
    rows = [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
    for row in rows:
        retained = row["retained"]
        row["rate"] = None if retained is None else ratio(retained, row["cohort_size"])
    return rows
