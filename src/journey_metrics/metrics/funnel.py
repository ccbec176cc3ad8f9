"""The funnel (CONTRACT §4): persons per stage with conversion, drop-off, in-progress persons,
median step times and Wilson intervals, for all persons and per first-touch channel.

The SQL lives in sql/marts/funnel/; this module only stitches its sections together for the
framework's number of stages and shapes the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from journey_metrics.config import Framework
from journey_metrics.errors import UsageError
from journey_metrics.metrics.common import ratio, wilson_interval
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
from journey_metrics.sql import fill_snippets, used_parameters
from journey_metrics.stages import compile_stages

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.report.data import ReportContext

Entry = Literal["best", "first"]
Order = Literal["ordered", "unordered"]
FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class FunnelQuery:
    framework: Framework
    window: timedelta
    as_of: datetime
    entry: Entry = "best"
    order: Order = "ordered"
    from_at: datetime | None = None
    to_at: datetime | None = None
    by_channel: bool = False


def stage_events_sql(flags: list[str]) -> str:
    """Each person's stage-matching events in funnel order (flags: one expression per stage)."""
    ks = range(1, len(flags) + 1)
    return fill_snippets(
        "marts/funnel/stage_events.sql",
        flags=", ".join(f"{expr} AS m{k}" for k, expr in zip(ks, flags, strict=True)),
        stage_columns=", ".join(f"m{k}" for k in ks),
        lowest_stage="CASE " + " ".join(f"WHEN m{k} THEN {k}" for k in ks) + " END",
        any_stage=" OR ".join(f"m{k}" for k in ks),
    )


def funnel_sql(
    stage_count: int, entry: Entry, order: Order, flags: list[str],
    *, shared_stage_events: bool = False,
) -> str:
    """The whole funnel statement for `stage_count` stages (flags: one match expression each).

    With `shared_stage_events`, the events come from a TEMP table `stage_events` made once by
    `shared_stage_events()` (the report runs many funnels of one framework on it)."""
    ks = range(1, stage_count + 1)
    ctes = [] if shared_stage_events else [
        f"stage_events AS MATERIALIZED ({stage_events_sql(flags)})"
    ]
    if order == "ordered":
        first_only = (
            "QUALIFY pos = min(pos) OVER (PARTITION BY person_no)" if entry == "first" else ""
        )
        ctes.append("level_1 AS MATERIALIZED ("
                    + fill_snippets("marts/funnel/level_1.sql", first_only=first_only) + ")")
        ctes += [fill_snippets("marts/funnel/level_k.sql", k=k, prev=k - 1) for k in ks[1:]]
        levels = " UNION ALL ".join(
            f"SELECT person_no, {k} AS level, max(start_pos) AS start_pos,"
            f" max(start_at) AS start_at FROM level_{k} GROUP BY person_no"
            for k in ks
        )
        ctes.append("person_levels AS MATERIALIZED ("
                    + fill_snippets("marts/funnel/person_levels.sql", levels=levels) + ")")
        ctes.append("chain_1 AS (SELECT person_no, level, start_at, start_pos AS pos_1,"
                    " start_at AS t_1 FROM person_levels)")
        ctes += [fill_snippets("marts/funnel/step_k.sql", k=k, prev=k - 1) for k in ks[1:]]
        ctes.append(f"chain AS (SELECT * FROM chain_{stage_count})")
        aggregates = [f"count(*) FILTER (WHERE level >= {k}) AS persons_{k}" for k in ks]
        aggregates += [
            f"count(*) FILTER (WHERE level = {k - 1} AND start_at + $window > $as_of)"
            f" AS in_progress_{k}" for k in ks[1:]
        ]
        aggregates += [
            f"quantile_cont(epoch(t_{k} - t_{k - 1}) / 3600.0, 0.5) FILTER (WHERE level >= {k})"
            f" AS median_hours_{k}" for k in ks[1:]
        ]
    else:
        ctes.append("chain AS (" + fill_snippets(
            "marts/funnel/unordered.sql",
            has_stage=", ".join(f"bool_or(m{k}) AS h{k}" for k in ks),
            level_case=_highest(stage_count),
        ) + ")")
        aggregates = [f"count(*) FILTER (WHERE level >= {k}) AS persons_{k}" for k in ks]
    summary = fill_snippets("marts/funnel/summary.sql", aggregates=", ".join(aggregates))
    return ("WITH " + ",\n".join(ctes) + "\n" if ctes else "") + summary


def _highest(stage_count: int) -> str:
    """CASE giving the highest k such that the person has stages 1..k (h1..hk)."""
    whens = [
        f"WHEN {' AND '.join(f'h{j}' for j in range(1, k + 1))} THEN {k}"
        for k in range(stage_count, 0, -1)
    ]
    return "CASE " + " ".join(whens) + " ELSE 0 END"


@contextmanager
def shared_stage_events(
    con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime
) -> Iterator[None]:
    """Materialise one framework's stage events (the sort every funnel starts with) as TEMP
    table `stage_events`, for several `compute_funnel(..., shared=True)` calls."""
    stages = compile_stages(framework)
    sql = stage_events_sql(stages.expressions)
    con.execute(f"CREATE OR REPLACE TEMP TABLE stage_events AS {sql}",
                used_parameters(sql, {**stages.params, "as_of": as_of}))
    try:
        yield
    finally:
        con.execute("DROP TABLE IF EXISTS stage_events")


def compute_funnel(
    con: duckdb.DuckDBPyConnection, q: FunnelQuery, *, shared: bool = False
) -> list[dict[str, Any]]:
    """Funnel rows for all persons (and per channel with `q.by_channel`); `shared`: read the
    TEMP table of `shared_stage_events` (same framework and as_of as `q`)."""
    prepare_population(con, Segment("channel" if q.by_channel else None), q.as_of)
    return funnel_rows(con, q, shared=shared)


def funnel_rows(
    con: duckdb.DuckDBPyConnection, q: FunnelQuery, *, shared: bool = False
) -> list[dict[str, Any]]:
    """Funnel rows per group of the TEMP table `population` (metrics/segments.py)."""
    stages = compile_stages(q.framework)
    sql = funnel_sql(len(q.framework.stages), q.entry, q.order, stages.expressions,
                     shared_stage_events=shared)
    params: dict[str, Any] = {
        **stages.params,
        "as_of": q.as_of,
        "window": q.window,
        "from_at": q.from_at or FAR_PAST,
        "to_at": q.to_at or FAR_FUTURE,
    }
    result = con.execute(sql, used_parameters(sql, params))
    columns = [d[0] for d in result.description]
    groups = [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
    if not any(g["group_name"] == "all" for g in groups):
        groups.insert(0, {"group_name": "all"})  # nobody entered: still one row per stage
    return [row for group in groups for row in _shape_group(group, q)]


def _shape_group(group: dict[str, Any], q: FunnelQuery) -> list[dict[str, Any]]:
    rows = []
    ordered = q.order == "ordered"
    first = int(group.get("persons_1") or 0)
    previous = first
    for k, stage in enumerate(q.framework.stages, start=1):
        persons = int(group.get(f"persons_{k}") or 0)
        row: dict[str, Any] = {"group": group["group_name"], "step": k, "stage": stage.name}
        row["persons"] = persons
        if k == 1:
            row.update(conversion_from_previous=None, conversion_from_start=None, drop_off=None,
                       drop_off_rate=None, in_progress=None, median_hours_from_previous=None,
                       ci_low=None, ci_high=None)
        else:
            conversion = ratio(persons, previous)
            low, high = wilson_interval(persons, previous)
            median = group.get(f"median_hours_{k}") if ordered else None
            row.update(
                conversion_from_previous=conversion,
                conversion_from_start=ratio(persons, first),
                drop_off=previous - persons,
                drop_off_rate=None if conversion is None else 1 - conversion,
                in_progress=int(group.get(f"in_progress_{k}") or 0) if ordered else None,
                median_hours_from_previous=None if median is None else float(median),
                ci_low=low,
                ci_high=high,
            )
        rows.append(row)
        previous = persons
    return rows


# --- the declaration (metrics/registry.py) -------------------------------------------------------

FUNNEL_COLUMNS = (
    Column("group", Kind.text),
    Column("step", Kind.count),
    Column("stage", Kind.text),
    Column("persons", Kind.count),
    Column("conversion_from_previous", Kind.ratio),
    Column("conversion_from_start", Kind.ratio),
    Column("drop_off", Kind.count),
    Column("drop_off_rate", Kind.ratio),
    Column("in_progress", Kind.count),
    Column("median_hours_from_previous", Kind.hours),
    Column("ci_low", Kind.ratio),
    Column("ci_high", Kind.ratio),
)


def funnel_query(ctx: Context, **options: Any) -> FunnelQuery:
    """The FunnelQuery of a command's options (checked: a bad value is a UsageError)."""
    from journey_metrics.config import parse_window
    from journey_metrics.metrics.common import parse_instant

    assert ctx.framework is not None
    window = options.get("window")
    try:
        window_delta = parse_window(window) if window else ctx.framework.window_delta
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from None
    from_, to = options.get("from_"), options.get("to")
    return FunnelQuery(
        framework=ctx.framework,
        window=window_delta,
        as_of=ctx.as_of,
        entry=options.get("entry") or "best",
        order=options.get("order") or "ordered",
        from_at=parse_instant(from_, ctx.zone, "--from") if from_ else None,
        to_at=parse_instant(to, ctx.zone, "--to") if to else None,
    )


def _compute(ctx: Context, **options: Any) -> list[dict[str, Any]]:
    return funnel_rows(ctx.con, funnel_query(ctx, **options))


def _present(options: Mapping[str, Any], ctx: Context, rows: Rows) -> Presentation:
    assert ctx.framework is not None
    worst = max(
        (r for r in rows if r["group"] == "all" and r["drop_off_rate"] is not None),
        key=lambda r: r["drop_off_rate"],
        default=None,
    )
    window = options.get("window") or ctx.framework.window
    return Presentation(
        title=f"{ctx.framework.label} funnel, window {window}, "
        f"as of {ctx.as_of:%Y-%m-%d %H:%M} UTC",
        highlight=lambda r: r is worst,
        caption=(f"biggest drop-off: before {worst['stage']} ({worst['drop_off_rate']:.1%})"
                 if worst else None),
    )


def _collect_funnels(ctx: ReportContext) -> list[dict[str, Any]]:
    """Every framework's funnel, all persons and per first-touch channel."""
    return [
        {"name": f.name, "title": f.label, "window": f.window,
         "stages": [s.name for s in f.stages],
         "rows": compute_funnel(ctx.con, FunnelQuery(f, f.window_delta, ctx.as_of,
                                                      by_channel=True))}
        for f in ctx.frameworks
    ]


def _collect_trend(ctx: ReportContext) -> list[dict[str, Any]]:
    """Step conversion of the journey funnel by entry week (the funnel with --from/--to a week),
    for the last `trend_weeks` weeks."""
    if ctx.first_event_at is None:
        return []
    framework = ctx.framework(ctx.settings.journey_framework)

    def monday(at: datetime) -> datetime:
        return (at - timedelta(days=at.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0)

    last_week, first_week = monday(ctx.as_of), monday(ctx.first_event_at)
    week = max(first_week, last_week - timedelta(weeks=ctx.settings.trend_weeks - 1))
    rows = []
    prepare_population(ctx.con, Segment(), ctx.as_of)
    with shared_stage_events(ctx.con, framework, ctx.as_of):
        while week <= last_week:
            query = FunnelQuery(framework, framework.window_delta, ctx.as_of,
                                from_at=week, to_at=week + timedelta(weeks=1))
            for row in funnel_rows(ctx.con, query, shared=True):
                if row["step"] > 1:
                    rows.append({"week": week.date().isoformat(), **row})
            week += timedelta(weeks=1)
    return rows


FUNNEL = register(Metric(
    name="funnel",
    help="Persons per stage of a framework, with conversion and drop-off (CONTRACT §4 Funnel).",
    columns=FUNNEL_COLUMNS,
    compute=_compute,
    framework=True,
    options=(
        Option("window", "Conversion window, e.g. 7d (default: the framework's)."),
        Option("entry", "Which attempt counts: the best or the first.", "best",
               choices=("best", "first")),
        Option("order", "Steps in order, or in any order (PostHog's unordered funnel).",
               "ordered", choices=("ordered", "unordered")),
        Option("from_", "Entries from this date or instant.", flag="--from"),
        Option("to", "Entries before this date or instant."),
    ),
    present=_present,
    sections=(
        Section("funnels", _collect_funnels, "journey_metrics.charts.funnel:funnel_blocks",
                order=20),
        Section("trend", _collect_trend, "journey_metrics.charts.funnel:trend_blocks", order=30),
    ),
    materialize=({"framework": "*"},),
    examples=(
        "journey-metrics funnel --framework aarrr",
        "journey-metrics funnel --framework five_a --window 7d --by channel --format csv",
    ),
))
