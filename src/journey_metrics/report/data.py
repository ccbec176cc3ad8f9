"""Everything the dashboard shows, as plain rows computed in DuckDB (aggregated first).

`collect(db)` opens the warehouse read-only once and returns a `ReportData`; it is saved next to
the page as `data.json`, so charts are built from mart rows only and can be rebuilt without the
warehouse.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from journey_metrics.config import BUILT_IN_FRAMEWORKS, Framework, load_framework
from journey_metrics.db import fetch_first
from journey_metrics.metrics.common import resolve_as_of, zone
from journey_metrics.metrics.funnel import FunnelQuery, compute_funnel, shared_stage_events
from journey_metrics.metrics.nps import compute_nps
from journey_metrics.metrics.referral import compute_referral
from journey_metrics.metrics.retention import RetentionQuery, compute_retention
from journey_metrics.sql import fill_snippets, load_sql, used_parameters
from journey_metrics.stages import compile_stages
from journey_metrics.warehouse import open_for_reading

JOURNEY_FRAMEWORK = "awareness_to_advocacy"  # the backbone: journey map and conversion trend
RETENTION_FRAMEWORK, RETENTION_START = "aarrr", "activation"
TREND_WEEKS = 12


@dataclass
class FrameworkFunnel:
    name: str
    title: str
    window: str
    stages: list[str]
    rows: list[dict[str, Any]]  # all + per channel


@dataclass
class ReportData:
    as_of: str
    first_event_at: str | None
    persons: int
    sources: list[dict[str, Any]]
    failed_files: list[dict[str, Any]]
    funnels: list[FrameworkFunnel]
    trend: list[dict[str, Any]]
    retention: list[dict[str, Any]]
    referral: list[dict[str, Any]]
    nps_by_month: list[dict[str, Any]]
    journey_stages: list[str]
    touchpoints: list[dict[str, Any]]
    emotion: list[dict[str, Any]]
    settings: dict[str, str] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1, default=str), encoding="utf-8")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = con.execute(sql, used_parameters(sql, params))
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def collect(db_path: Path, tz: str = "UTC") -> ReportData:
    con = open_for_reading(db_path)
    try:
        return _collect(con, tz)
    finally:
        con.close()


def _collect(con: duckdb.DuckDBPyConnection, tz: str) -> ReportData:
    as_of = resolve_as_of(con, None, zone(tz))
    sources = _rows(con, load_sql("marts/fct_report_header.sql"), {})
    first_at = min((s["first_at"] for s in sources if s["first_at"]), default=None)
    for source in sources:
        source["first_at"], source["last_at"] = _iso(source["first_at"]), _iso(source["last_at"])
    persons_row = fetch_first(con.execute("SELECT count(*) FROM persons"))
    frameworks = [load_framework(name) for name in BUILT_IN_FRAMEWORKS]
    funnels = [
        FrameworkFunnel(
            f.name, f.label, f.window, [s.name for s in f.stages],
            compute_funnel(con, FunnelQuery(f, f.window_delta, as_of, by_channel=True)),
        )
        for f in frameworks
    ]
    journey = next(f for f in frameworks if f.name == JOURNEY_FRAMEWORK)
    retention_framework = next(f for f in frameworks if f.name == RETENTION_FRAMEWORK)
    return ReportData(
        as_of=_iso(as_of) or "",
        first_event_at=_iso(first_at),
        persons=int(persons_row[0]) if persons_row else 0,
        sources=sources,
        failed_files=_rows(con, load_sql("marts/fct_failed_files.sql"), {}),
        funnels=funnels,
        trend=_trend(con, journey, as_of, first_at),
        retention=compute_retention(con, RetentionQuery(
            retention_framework, RETENTION_START, "any", "week", tz, as_of)),
        referral=compute_referral(con, period="month", tz=tz, as_of=as_of),
        nps_by_month=compute_nps(con, period="month", tz=tz, as_of=as_of, by_channel=True),
        journey_stages=[s.name for s in journey.stages],
        touchpoints=_touchpoints(con, journey, as_of),
        emotion=_emotion(con, journey, as_of),
        settings={"journey_framework": journey.name, "journey_window": journey.window,
                  "retention": f"{RETENTION_FRAMEWORK}: weekly cohorts from {RETENTION_START}",
                  "tz": tz},
    )


def _trend(
    con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime,
    first_at: datetime | None,
) -> list[dict[str, Any]]:
    """Step conversion of the journey funnel by entry week (the funnel with --from/--to a week)."""
    if first_at is None:
        return []
    last_week = (as_of - timedelta(days=as_of.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0)
    first_week = (first_at - timedelta(days=first_at.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0)
    weeks = []
    week = max(first_week, last_week - timedelta(weeks=TREND_WEEKS - 1))
    while week <= last_week:
        weeks.append(week)
        week += timedelta(weeks=1)
    rows = []
    with shared_stage_events(con, framework, as_of):
        for start in weeks:
            query = FunnelQuery(framework, framework.window_delta, as_of,
                                from_at=start, to_at=start + timedelta(weeks=1))
            for row in compute_funnel(con, query, shared=True):
                if row["step"] > 1:
                    rows.append({"week": start.date().isoformat(), **row})
    return rows


def _touchpoints(
    con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime
) -> list[dict[str, Any]]:
    stages = compile_stages(framework)
    stage_list = "list_filter([" + ", ".join(
        f"CASE WHEN {e} THEN {k} END" for k, e in enumerate(stages.expressions, start=1)
    ) + "], lambda x: x IS NOT NULL)"
    sql = fill_snippets("marts/fct_journey_map.sql", stage_list=stage_list)
    return _rows(con, sql, {**stages.params, "as_of": as_of})


def _emotion(
    con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime
) -> list[dict[str, Any]]:
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
