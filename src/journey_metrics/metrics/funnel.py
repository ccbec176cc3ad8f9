"""The funnel (CONTRACT §4, §7): persons per stage with conversion, drop-off, in-progress
persons, median step times and Wilson intervals, per group of the population; per-step windows
and exclusions; and three other outputs: `--trend` (per entry period), `--times` (time to convert
percentiles) and `--correlate` (what converters did differently).

The SQL lives in sql/marts/funnel/; this module only stitches its sections together for the
framework's number of stages and shapes the rows. Three engines make the CTE `chain` (one row per
person who entered: level, the chosen attempt's start and step times t_1..t_K):
- fast (ordered, no within/exclude): one ASOF join per level over events (level_k.sql);
- exact (within/exclude, and --trend): every attempt's chain (attempt_k.sql), void attempts
  removed (attempt_void.sql);
- unordered (PostHog's): per attempt, which stages have an event in its window (unordered_k.sql).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from journey_metrics.errors import UsageError
from journey_metrics.marts import REPORT_TZ
from journey_metrics.metrics.common import (
    micros,
    next_period,
    query_rows,
    ratio,
    wilson_interval,
)
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
from journey_metrics.metrics.segments import (
    Segment,
    population_from,
    prepare_population,
    shown_group,
)
from journey_metrics.sql import _ENGINE, fill_snippets, load_sql, used_parameters
from journey_metrics.stages import compile_exclusions, compile_stages, named_events

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.config import Framework
    from journey_metrics.person_rows import Kept
    from journey_metrics.report.data import ReportContext

Entry = Literal["best", "first"]
Order = Literal["ordered", "unordered"]
Mode = Literal["funnel", "trend", "times", "correlate", "exits"]
Period = Literal["day", "week", "month"]
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
    tz: str = "UTC"  # calendar periods of --trend
    trend: Period | None = None
    # read the persons' chains kept by person_rows.py (only for `chains_storable` queries)
    stored_chain: bool = False

    @property
    def chains_storable(self) -> bool:
        """The default funnel whose per-person chains `run` keeps: best entry, ordered, every
        entry, no per-step windows or exclusions."""
        return (self.entry == "best" and self.order == "ordered" and self.from_at is None
                and self.to_at is None and not self.framework.exact_rules)

    @property
    def trend_storable(self) -> bool:
        """The dashboard's `--trend week` whose per-person rows `run` keeps (from a start that
        the caller checks against `--from`, person_rows.holds)."""
        return (self.trend == "week" and self.tz == REPORT_TZ and self.to_at is None
                and self.entry == "best" and self.order == "ordered"
                and self.window == self.framework.window_delta
                and not self.framework.exact_rules)


def stage_events_sql(flags: list[str], events: str = "fct_events", *,
                     by_time: bool = False) -> str:
    """Each person's stage-matching events in funnel order (flags: one expression per stage;
    `events`: the relation to read, fct_events or a subset of persons' events). `by_time`
    (frameworks of disjoint stages, see `by_time()`): without the per-person position `pos`,
    the steps are then found on occurred_at (stage_events_by_time.sql)."""
    ks = range(1, len(flags) + 1)
    snippets = {
        "events": events,
        "flags": ", ".join(f"{expr} AS m{k}" for k, expr in zip(ks, flags, strict=True)),
        "stage_columns": ", ".join(f"m{k}" for k in ks),
        "any_stage": " OR ".join(f"m{k}" for k in ks),
    }
    if by_time:
        return fill_snippets("marts/funnel/stage_events_by_time.sql", **snippets)
    return fill_snippets(
        "marts/funnel/stage_events.sql", **snippets,
        lowest_stage="CASE " + " ".join(f"WHEN m{k} THEN {k}" for k in ks) + " END")


def funnel_sql(
    stage_count: int, entry: Entry, order: Order, flags: list[str],
    *, shared_stage_events: bool = False, framework: Framework | None = None,
    mode: Mode = "funnel", stored_chain: bool = False,
) -> str:
    """The whole funnel statement for `stage_count` stages (flags: one match expression each).

    With `shared_stage_events`, the events come from a TEMP table `stage_events` made once by
    `shared_stage_events()` (the report runs many funnels of one framework on it). `framework`
    is needed for per-step windows and exclusions (CONTRACT §7); `mode` picks the final summary.
    `stored_chain`: read each person's chain from `_jm_funnel_chains` (kept by person_rows.py
    for the default ordered funnel) instead of computing it."""
    if stored_chain and mode == "trend":
        return ("WITH " + stored_trend_cte() + "\n"
                + fill_snippets("marts/funnel/trend_summary.sql",
                                aggregates=_trend_aggregates(stage_count)))
    if stored_chain:
        if mode == "correlate":
            return ("WITH " + stored_chain_cte(stage_count) + ",\n"
                    + load_sql("marts/funnel/correlate.sql"))
        return "WITH " + stored_chain_cte(stage_count) + "\n" + _summary(stage_count, order, mode)
    exact = framework is not None and framework.exact_rules
    # the fast ordered funnel of disjoint stages finds its steps by time (decision 91)
    timed = (not shared_stage_events and order == "ordered" and not exact
             and framework is not None and by_time(framework))
    ctes = [] if shared_stage_events else [
        f"stage_events AS MATERIALIZED ({stage_events_sql(flags, by_time=timed)})"
    ]
    if mode == "trend":
        ctes += _trend_chosen(framework, stage_count, entry, order, by_time=timed)
        return ("WITH " + ",\n".join(ctes) + "\n"
                + fill_snippets("marts/funnel/trend_summary.sql",
                                aggregates=_trend_aggregates(stage_count)))
    if order == "unordered" or exact:
        ctes += _attempts(framework, stage_count, order)
        choose = "level DESC, start_pos DESC" if entry == "best" else "start_pos"
        ctes.append("chain AS MATERIALIZED (SELECT * FROM attempts QUALIFY row_number() OVER"
                    f" (PARTITION BY person_no ORDER BY {choose}) = 1)")
    else:
        ctes += fast_chain_ctes(stage_count, entry, by_time=timed)
    if mode == "correlate":
        return "WITH " + ",\n".join(ctes) + ",\n" + load_sql("marts/funnel/correlate.sql")
    return "WITH " + ",\n".join(ctes) + "\n" + _summary(stage_count, order, mode)


def _summary(stage_count: int, order: Order, mode: Mode) -> str:
    return fill_snippets("marts/funnel/summary.sql",
                         aggregates=", ".join(_aggregates(stage_count, order, mode)))


def _attempts(framework: Framework | None, stage_count: int, order: Order) -> list[str]:
    """CTE `attempts`: every attempt of the unordered funnel, or the exact engine's chains."""
    if order == "unordered":
        return _unordered_attempts(stage_count)
    assert framework is not None
    return _exact_attempts(framework)


def _trend_chosen(framework: Framework | None, stage_count: int, entry: Entry, order: Order,
                  *, by_time: bool) -> list[str]:
    """--trend's CTEs up to `chosen` (person_no, period, level), over the CTE `stage_events`."""
    if by_time:
        return _trend_attempts_by_time(stage_count, entry)
    return _trend_attempts(framework, stage_count, entry, order)


def trend_chosen_sql(framework: Framework, flags: list[str], events: str) -> str:
    """Each person's level per entry period of the default ordered funnel's `--trend` (best
    entry), for the persons whose events `events` holds, over the attempts starting from
    $from_at (person_rows.py stores them for the dashboard's trend)."""
    timed = by_time(framework)
    ctes = [f"stage_events AS MATERIALIZED ({stage_events_sql(flags, events, by_time=timed)})",
            *_trend_chosen(framework, len(flags), "best", "ordered", by_time=timed)]
    return "WITH " + ",\n".join(ctes) + "\nSELECT person_no, period, level FROM chosen"


def kept_chains(framework: Framework) -> Kept:
    """Each person's chain of `framework`'s default funnel, which `run` keeps
    (person_rows.py, `_jm_funnel_chains`; read by `stored_chain_cte`)."""
    from journey_metrics.person_rows import Kept

    return Kept("_jm_funnel_chains", framework.name, framework.model_dump_json(),
                partial(_kept_select, framework, None))


def kept_trend(framework: Framework, since: datetime) -> Kept:
    """Each person's level per entry week of `framework`'s `--trend week` in UTC over the
    attempts from `since` on, which `run` keeps for the dashboard (person_rows.py,
    `_jm_funnel_trend`; read by `stored_trend_cte`)."""
    from journey_metrics.person_rows import Kept

    return Kept("_jm_funnel_trend", framework.name, framework.model_dump_json(),
                partial(_kept_select, framework, since), bound=since)


def _kept_select(framework: Framework, since: datetime | None,
                 events: str) -> tuple[str, dict[str, Any]]:
    """The chains (`since` None) or the trend rows of the persons whose events `events` holds,
    as of the latest event, and the statement's parameters."""
    stages = compile_stages(framework)
    if since is None:
        sql = chain_sql(len(framework.stages), stages.expressions, events, framework=framework)
    else:
        sql = trend_chosen_sql(framework, stages.expressions, events)
    params = {**stages.params, "as_of": FAR_FUTURE, "window": framework.window_delta,
              "window_us": micros(framework.window_delta), "from_at": since or FAR_PAST,
              "to_at": FAR_FUTURE, "tz": REPORT_TZ, "period": "week"}
    return sql, used_parameters(sql, params)


def stored_trend_cte() -> str:
    """The CTE `chosen` read from the rows `run` keeps in `_jm_funnel_trend` (person_rows.py)
    for framework $framework_name: what `trend_chosen_sql` computes."""
    return ("chosen AS (SELECT person_no, period, level FROM _jm_funnel_trend"
            " WHERE framework = $framework_name)")


def _trend_attempts(framework: Framework | None, stage_count: int, entry: Entry,
                    order: Order) -> list[str]:
    """--trend's CTE `chosen` (person_no, period, level: one row per person and entry period)
    over every attempt: unordered, or the exact engine's greedy chains."""
    if order == "ordered" and framework is not None and not framework.exact_rules \
            and stage_count > 1 and _ENGINE.get() == "duckdb":
        pick, per = ("max", "period, next_2") if entry == "best" else ("min", "period")
        ctes = _exact_attempts(framework, fill_snippets("marts/funnel/attempt_1_trend.sql",
                                                        pick=pick, per=per))
    else:
        ctes = _attempts(framework, stage_count, order)
    choose = "level DESC, start_pos DESC" if entry == "best" else "start_pos"
    period = "jm_period_start(start_at, $tz, $period)"
    ctes.append(f"chosen AS (SELECT person_no, {period} AS period, level FROM attempts"
                f" QUALIFY row_number() OVER (PARTITION BY person_no, {period}"
                f" ORDER BY {choose}) = 1)")
    return ctes


def _trend_attempts_by_time(stage_count: int, entry: Entry) -> list[str]:
    """--trend's CTE `chosen` for `by_time` frameworks: only the attempts that can be chosen
    (attempt_1_by_time.sql), each carried to its last step; per person and period the first
    start's attempt (the only one kept) or, for the best, the highest level. An attempt that
    stopped at step k is only in attempt_2..attempt_k, so `chosen` reads them all."""
    ctes = [fill_snippets("marts/funnel/attempt_1_by_time.sql",
                          entry_best="true" if entry == "best" else "false")]
    ctes += [fill_snippets("marts/funnel/attempt_k_by_time.sql", k=k, prev=k - 1)
             for k in range(3, stage_count + 1)]
    steps = " UNION ALL ".join(f"SELECT person_no, period, level FROM attempt_{k}"
                               for k in range(2, stage_count + 1))
    ctes.append(f"chosen AS (SELECT person_no, period, max(level) AS level FROM ({steps})"
                " GROUP BY person_no, period)")
    return ctes


def chain_sql(stage_count: int, flags: list[str], events: str,
              framework: Framework | None = None) -> str:
    """Each person's chain of the default ordered funnel (best entry, no per-step windows or
    exclusions): person_no, level, start_at and the step times as a list, for the persons whose
    events `events` holds (person_rows.py stores them). With `framework` given and its stages
    disjoint, the chain is found by time (`by_time`)."""
    timed = framework is not None and by_time(framework)
    ctes = [f"stage_events AS MATERIALIZED ({stage_events_sql(flags, events, by_time=timed)})",
            *fast_chain_ctes(stage_count, "best", by_time=timed)]
    steps = ", ".join(f"t_{k}" for k in range(1, stage_count + 1))
    return ("WITH " + ",\n".join(ctes)
            + f"\nSELECT person_no, level, start_at, [{steps}] AS steps FROM chain")


def _trend_aggregates(stage_count: int) -> str:
    return ", ".join(f"count(*) FILTER (WHERE level >= {k}) AS persons_{k}"
                     for k in range(1, stage_count + 1))


def _aggregates(stage_count: int, order: Order, mode: Mode) -> list[str]:
    ks = range(1, stage_count + 1)
    aggregates = [f"count(*) FILTER (WHERE level >= {k}) AS persons_{k}" for k in ks]
    if mode == "times":
        aggregates += [
            f"quantile_cont(jm_hours_between(t_{k - 1}, t_{k}), [0.1, 0.25, 0.5, 0.75, 0.9])"
            f" FILTER (WHERE level >= {k}) AS quantiles_{k}" for k in ks[1:]
        ]
        aggregates += [
            f"quantile_cont(jm_hours_between(t_1, t_{k}), 0.5) FILTER (WHERE level >= {k})"
            f" AS from_start_{k}" for k in ks[1:]
        ]
    elif order == "ordered":
        aggregates += [
            # start + window > as_of, with the constant on one side (no per-row calendar sum)
            f"count(*) FILTER (WHERE level = {k - 1} AND start_at > $as_of - $window)"
            f" AS in_progress_{k}" for k in ks[1:]
        ]
        aggregates += [
            f"quantile_cont(jm_hours_between(t_{k - 1}, t_{k}), 0.5) FILTER (WHERE level >= {k})"
            f" AS median_hours_{k}" for k in ks[1:]
        ]
    return aggregates


def stored_chain_cte(stage_count: int) -> str:
    """The CTE `chain` (person_no, level, start_at, t_1 .. t_n) read from the chains `run` keeps
    in `_jm_funnel_chains` (person_rows.py) for framework $framework_name: what
    `fast_chain_ctes(..., "best")` computes, for a `chains_storable` query."""
    steps = ", ".join(f"c.steps[{k}] AS t_{k}" for k in range(1, stage_count + 1))
    return ("chain AS (SELECT c.person_no, c.level, c.start_at, " + steps
            + " FROM _jm_funnel_chains AS c WHERE c.framework = $framework_name)")


def fast_chain_ctes(stage_count: int, entry: Entry, *, by_time: bool = False) -> list[str]:
    """Ordered funnel without per-step windows or exclusions: one ASOF join per level over
    events (not attempts), then the chosen attempt's steps (CTE `chain`). The steps follow the
    funnel order by the events' per-person position `pos`, or, with `by_time` (stage events of
    `stage_events_sql(..., by_time=True)`), by occurred_at (the `*_by_time.sql` variants, which
    carry no positions)."""
    ks = range(1, stage_count + 1)
    key, variant = ("occurred_at", "_by_time") if by_time else ("pos", "")
    first_only = (f"QUALIFY {key} = min({key}) OVER (PARTITION BY person_no)"
                  if entry == "first" else "")
    start_pos = "" if by_time else " max(start_pos) AS start_pos,"
    ctes = ["level_1 AS MATERIALIZED (" + fill_snippets(
        f"marts/funnel/level_1{variant}.sql", first_only=first_only) + ")"]
    ctes += [fill_snippets(f"marts/funnel/level_k{variant}.sql", k=k, prev=k - 1)
             for k in ks[1:]]
    levels = " UNION ALL ".join(
        f"SELECT person_no, {k} AS level,{start_pos} max(start_at) AS start_at FROM level_{k}"
        " GROUP BY person_no" for k in ks
    )
    ctes.append("person_levels AS MATERIALIZED (" + fill_snippets(
        f"marts/funnel/person_levels{variant}.sql", levels=levels) + ")")
    pos_1 = "" if by_time else " start_pos AS pos_1,"
    ctes.append(f"chain_1 AS (SELECT person_no, level, start_at,{pos_1} start_at AS t_1"
                " FROM person_levels)")
    if _ENGINE.get() == "spark" and not by_time:
        ctes += _spark_steps(stage_count)
    else:
        ctes += [fill_snippets(f"marts/funnel/step_k{variant}.sql", k=k, prev=k - 1)
                 for k in ks[1:]]
    ctes.append(f"chain AS (SELECT * FROM chain_{stage_count})")
    return ctes


def _spark_steps(stage_count: int) -> list[str]:
    """The chain's steps 2..n on Spark, which has no ASOF join: every stage event's later steps
    by stacked windows over one sort (step_tail_k.spark.sql, from the last stage back), then one
    join at each chain's first step (steps.spark.sql)."""
    if stage_count < 2:
        return []
    later = ("OVER (PARTITION BY person_no ORDER BY pos DESC"
             " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)")
    ctes = []
    for k in range(stage_count, 1, -1):
        columns = [f"min(CASE WHEN m{k} THEN occurred_at END) {later} AS after_{k}_{k}"]
        columns += [f"min(CASE WHEN m{k} THEN after_{k + 1}_{j} END) {later} AS after_{k}_{j}"
                    for j in range(k + 1, stage_count + 1)]
        source = "stage_events" if k == stage_count else f"tail_{k + 1}"
        ctes.append(fill_snippets("marts/funnel/step_tail_k.spark.sql", k=k, prev=k - 1,
                                  columns=", ".join(columns), source=source))
    steps = ", ".join(f"t.after_2_{j} AS t_{j}" for j in range(2, stage_count + 1))
    ctes.append(fill_snippets("marts/funnel/steps.spark.sql", last=stage_count, steps=steps))
    return ctes


def stages_disjoint(framework: Framework) -> bool:
    """True when no event can match two of the framework's stages: every match rule names its
    events, and no event name belongs to two stages (other conditions only narrow a rule)."""
    seen: set[str] = set()
    for stage in framework.stages:
        names: set[str] = set()
        for rule in stage.match:
            if rule.event is None:
                return False
            names.update(rule.event)
        if names & seen:
            return False
        seen |= names
    return True


def by_time(framework: Framework) -> bool:
    """Whether the fast ordered funnel can find its steps by time alone (the DuckDB SQL of
    stage_events_by_time.sql: no per-person numbering of the stage events): disjoint stages."""
    return _ENGINE.get() == "duckdb" and stages_disjoint(framework)


def _exact_attempts(framework: Framework, first: str | None = None) -> list[str]:
    """Every attempt with its greedy steps, per-step windows and exclusions (CONTRACT §7):
    CTE `attempts` (person_no, start_pos, start_at, level, pos_k, t_k), void attempts removed.
    `first`: the CTE `attempt_1` (default: one attempt per stage-1 event)."""
    stage_count = len(framework.stages)
    ctes = [first or load_sql("marts/funnel/attempt_1.sql")]
    for k in range(2, stage_count + 1):
        within = (f"AND jm_within(s.occurred_at, a.t_{k - 1}, $within_{k}_us)"
                  if framework.stages[k - 1].within is not None else "")
        ctes.append(fill_snippets("marts/funnel/attempt_k.sql", k=k, prev=k - 1, within=within))
    level = ("CASE " + " ".join(f"WHEN pos_{k} IS NOT NULL THEN {k}"
                                for k in range(stage_count, 1, -1)) + " ELSE 1 END")
    ctes.append(f"leveled AS (SELECT *, {level} AS level FROM attempt_{stage_count})")
    if not framework.exclude:
        ctes.append("attempts AS (SELECT * FROM leveled)")
        return ctes
    rules = compile_exclusions(framework).expressions
    xs = range(1, len(rules) + 1)
    ctes.append(fill_snippets(
        "marts/funnel/exclusion_events.sql",
        flags=", ".join(f"{expr} AS x{r}" for r, expr in zip(xs, rules, strict=True)),
        any_rule=" OR ".join(f"x{r}" for r in xs),
    ))
    previous = "leveled"
    for r, rule in zip(xs, framework.exclude, strict=True):
        ctes.append(fill_snippets("marts/funnel/attempt_void.sql", r=r, i=rule.between[0],
                                  j=rule.between[1], previous=previous))
        previous = f"void_{r}"
    voids = ", ".join(f"void_{r}" for r in xs)
    ctes.append(f"attempts AS MATERIALIZED (SELECT * EXCLUDE ({voids}) FROM {previous}"
                f" WHERE NOT ({' OR '.join(f'void_{r}' for r in xs)}))")
    return ctes


def _unordered_attempts(stage_count: int) -> list[str]:
    """PostHog's unordered funnel (CONTRACT §4): CTE `attempts` (person_no, start_pos, start_at,
    level = the number of distinct stages with an event in [start, start + window])."""
    ks = range(1, stage_count + 1)
    ctes = [load_sql("marts/funnel/unordered.sql")]
    ctes += [fill_snippets("marts/funnel/unordered_k.sql", k=k, prev=k - 1) for k in ks]
    level = " + ".join(f"h{k}::INTEGER" for k in ks)
    ctes.append(f"attempts AS (SELECT person_no, start_pos, start_at, {level} AS level"
                f" FROM unordered_{stage_count})")
    return ctes


def _params(q: FunnelQuery) -> dict[str, Any]:
    stages = compile_stages(q.framework)
    params: dict[str, Any] = {
        **stages.params,
        **compile_exclusions(q.framework).params,
        "as_of": q.as_of,
        "window": q.window,
        "window_us": micros(q.window),
        "from_at": q.from_at or FAR_PAST,
        "to_at": q.to_at or FAR_FUTURE,
        "tz": q.tz,
        "period": q.trend,
        "named_events": sorted(named_events(q.framework)),
        "stage_count": len(q.framework.stages),
        "framework_name": q.framework.name,
    }
    for k, stage in enumerate(q.framework.stages, start=1):
        if stage.within_delta is not None:
            params[f"within_{k}"] = stage.within_delta
            params[f"within_{k}_us"] = micros(stage.within_delta)
    return params


def _run(con: duckdb.DuckDBPyConnection, q: FunnelQuery, mode: Mode,
         shared: bool = False) -> list[dict[str, Any]]:
    _check_query(q, mode)
    stages = compile_stages(q.framework)
    stored = q.stored_chain and (
        (q.chains_storable and mode in ("funnel", "times", "correlate"))
        or (q.trend_storable and mode == "trend"))
    sql = funnel_sql(len(q.framework.stages), q.entry, q.order, stages.expressions,
                     shared_stage_events=shared, framework=q.framework, mode=mode,
                     stored_chain=stored)
    return query_rows(con, sql, _params(q))


def _check_query(q: FunnelQuery, mode: Mode) -> None:
    if q.order == "unordered" and q.framework.exact_rules:
        raise UsageError(f"--order unordered: framework {q.framework.name!r} has per-step"
                         " windows (within) or exclusions, which apply to ordered funnels only")
    if q.order == "unordered" and mode == "times":
        raise UsageError("--times: an unordered funnel has no steps in order to time")


@contextmanager
def shared_stage_events(
    con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime
) -> Iterator[None]:
    """Materialise one framework's stage events (the sort every funnel starts with) as TEMP
    table `stage_events`, for several `compute_funnel(..., shared=True)` calls."""
    stages = compile_stages(framework)
    sql = stage_events_sql(stages.expressions)
    # every event up to as_of: the funnels read with it may each have their own --from
    con.execute(f"CREATE OR REPLACE TEMP TABLE stage_events AS {sql}",
                used_parameters(sql, {**stages.params, "as_of": as_of, "from_at": FAR_PAST}))
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
    """Funnel rows per group of the TEMP view `population` (metrics/segments.py)."""
    groups = _run(con, q, "funnel", shared)
    if not any(g["group_name"] == "all" for g in groups):
        groups.insert(0, {"group_name": "all"})  # nobody entered: still one row per stage
    return [row for group in groups for row in _shape_group(group, q)]


def trend_rows(con: duckdb.DuckDBPyConnection, q: FunnelQuery) -> list[dict[str, Any]]:
    """funnel --trend (CONTRACT §7): per group, entry period and step."""
    from journey_metrics.zones import zone as zone_named

    assert q.trend is not None
    zone = zone_named(q.tz)
    rows = []
    for group in _run(con, q, "trend"):
        period: date = group["period"]
        end = datetime.combine(next_period(period, q.trend), time(), zone).astimezone(UTC)
        first = int(group["persons_1"])
        for k, stage in enumerate(q.framework.stages, start=1):
            persons = int(group[f"persons_{k}"])
            rows.append({
                "group": group["group_name"], "period": period.isoformat(), "step": k,
                "stage": stage.name,
                "persons": persons,
                "conversion_from_start": None if k == 1 else ratio(persons, first),
                "complete": end + q.window <= q.as_of,
            })
    return rows


def times_rows(con: duckdb.DuckDBPyConnection, q: FunnelQuery) -> list[dict[str, Any]]:
    """funnel --times (CONTRACT §7): time-to-convert percentiles per group and step k >= 2."""
    groups = _run(con, q, "times")
    if not any(g["group_name"] == "all" for g in groups):
        groups.insert(0, {"group_name": "all"})
    rows = []
    for group in groups:
        for k, stage in enumerate(q.framework.stages[1:], start=2):
            quantiles = group.get(f"quantiles_{k}") or [None] * 5
            from_start = group.get(f"from_start_{k}")
            row: dict[str, Any] = {"group": group["group_name"], "step": k, "stage": stage.name,
                                   "persons": int(group.get(f"persons_{k}") or 0)}
            for name, value in zip(TIME_COLUMNS, quantiles, strict=True):
                row[name] = None if value is None else float(value)
            row["median_hours_from_start"] = None if from_start is None else float(from_start)
            rows.append(row)
    return rows


TIME_COLUMNS = ("p10_hours", "p25_hours", "median_hours", "p75_hours", "p90_hours")
MIN_CORRELATE_ENTRANTS = 25  # sql/marts/funnel/correlate.sql keeps items this many entrants had


def traits_sql() -> str:
    """The persons' traits as of $as_of (person_id, person_no, trait, value); tests replace it."""
    return load_sql("intermediate/int_person_traits.sql")


def correlate_rows(con: duckdb.DuckDBPyConnection, q: FunnelQuery) -> list[dict[str, Any]]:
    """funnel --correlate (CONTRACT §7): what converters had more or less often than the rest."""
    from journey_metrics.metrics.statistics import benjamini_hochberg, fisher_exact, odds_ratio

    sql = traits_sql()
    con.execute(f"CREATE OR REPLACE TEMP TABLE correlate_traits AS {sql}",
                used_parameters(sql, {"as_of": q.as_of}))
    found = _run(con, q, "correlate")
    totals = {g["group_name"]: (int(g["converters"]), int(g["non_converters"]))
              for g in found if g["item"] is None}
    rows = []
    for group in sorted(totals, key=lambda g: (g != "all", g)):
        converters, rest = totals[group]
        items = []
        for g in found:
            if g["group_name"] != group or g["item"] is None:
                continue
            s, f = int(g["converters"]), int(g["non_converters"])
            items.append({
                "group": group, "item": g["item"], "converters": s, "non_converters": f,
                "odds_ratio": odds_ratio(s, f, converters, rest),
                "p_value": fisher_exact(s, f, converters - s, rest - f),
            })
        for item, q_value in zip(items, benjamini_hochberg([i["p_value"] for i in items]),
                                 strict=True):
            item["q_value"] = q_value
        rows += sorted(items, key=lambda r: (-r["odds_ratio"], r["item"]))
    return rows


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
TREND_COLUMNS = (
    Column("group", Kind.text),
    Column("period", Kind.date),
    Column("step", Kind.count),
    Column("stage", Kind.text),
    Column("persons", Kind.count),
    Column("conversion_from_start", Kind.ratio),
    Column("complete", Kind.flag),
)
TIMES_COLUMNS = (
    Column("group", Kind.text),
    Column("step", Kind.count),
    Column("stage", Kind.text),
    Column("persons", Kind.count),
    *(Column(name, Kind.hours) for name in TIME_COLUMNS),
    Column("median_hours_from_start", Kind.hours),
)
CORRELATE_COLUMNS = (
    Column("group", Kind.text),
    Column("item", Kind.text),
    Column("converters", Kind.count),
    Column("non_converters", Kind.count),
    Column("odds_ratio", Kind.number),
    Column("p_value", Kind.number),
    Column("q_value", Kind.number),
)


def mode_of(options: Mapping[str, Any]) -> Mode:
    """Which output the options ask for (at most one of --trend, --times, --correlate,
    --exits)."""
    chosen: list[Mode] = []
    if options.get("trend"):
        chosen.append("trend")
    if options.get("times"):
        chosen.append("times")
    if options.get("correlate"):
        chosen.append("correlate")
    if options.get("exits"):
        chosen.append("exits")
    if len(chosen) > 1:
        raise UsageError("use only one of --trend, --times, --correlate, --exits")
    return chosen[0] if chosen else "funnel"


def _columns(options: Mapping[str, Any]) -> tuple[Column, ...]:
    return {"funnel": FUNNEL_COLUMNS, "trend": TREND_COLUMNS, "times": TIMES_COLUMNS,
            "correlate": CORRELATE_COLUMNS, "exits": EXITS_COLUMNS}[mode_of(options)]


EXITS_COLUMNS = (
    Column("group", Kind.text),
    Column("step", Kind.count),
    Column("stage", Kind.text),
    Column("touchpoint", Kind.text),
    Column("persons", Kind.count),
    Column("share_of_drop_off", Kind.ratio),
)


def exits_rows(con: duckdb.DuckDBPyConnection, q: FunnelQuery) -> list[dict[str, Any]]:
    """funnel --exits (issue 11): the persons who stopped at each stage, by last touchpoint."""
    from journey_metrics.metrics.exits import compute_exits

    if q.framework.exclude or any(s.within for s in q.framework.stages):
        raise UsageError("--exits: frameworks with `within` or `exclude` rules are not supported"
                         " yet (the exits follow the plain ordered funnel)")
    return compute_exits(con, q)


def funnel_query(ctx: Context, **options: Any) -> FunnelQuery:
    """The FunnelQuery of a command's options (checked: a bad value is a UsageError)."""
    from journey_metrics.config import parse_window
    from journey_metrics.metrics.common import parse_range

    assert ctx.framework is not None
    window = options.get("window")
    try:
        window_delta = parse_window(window) if window else ctx.framework.window_delta
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from None
    span = parse_range(options.get("from_"), options.get("to"), ctx.zone)
    return FunnelQuery(
        framework=ctx.framework,
        window=window_delta,
        as_of=ctx.as_of,
        entry=options.get("entry") or "best",
        order=options.get("order") or "ordered",
        from_at=span[0],
        to_at=span[1],
        tz=ctx.tz,
        trend=options.get("trend") or None,
    )


def _compute(ctx: Context, **options: Any) -> list[dict[str, Any]]:
    mode = mode_of(options)
    q = funnel_query(ctx, **options)
    compute = {"funnel": funnel_rows, "trend": trend_rows, "times": times_rows,
               "correlate": correlate_rows, "exits": exits_rows}[mode]
    return compute(ctx.con, q)


def _present(options: Mapping[str, Any], ctx: Context, rows: Rows) -> Presentation:
    assert ctx.framework is not None
    mode = mode_of(options)
    window = options.get("window") or ctx.framework.window
    if mode == "trend":
        return Presentation(
            title=f"{ctx.framework.label} funnel by {options['trend']} of entry, window {window}",
            caption="complete = false: the period's end + window is after as_of (still filling)",
        )
    if mode == "times":
        return Presentation(
            title=f"{ctx.framework.label}: hours to convert per step, window {window}")
    if mode == "exits":
        return Presentation(
            title=f"{ctx.framework.label}: where people leave, window {window}",
            caption="touchpoint = source · channel · campaign-or-page of the last activity event"
            " before leaving; shares add up to each stage's drop-off",
        )
    if mode == "correlate":
        return Presentation(
            title=f"{ctx.framework.label}: what converters did differently, window {window}",
            caption=f"items at least {MIN_CORRELATE_ENTRANTS} entrants had; odds ratio > 1:"
            " more common among converters; q: Benjamini-Hochberg",
        )
    worst = max(
        (r for r in rows if r["group"] == "all" and r["drop_off_rate"] is not None),
        key=lambda r: r["drop_off_rate"],
        default=None,
    )
    return Presentation(
        title=f"{ctx.framework.label} funnel, window {window}",
        highlight=lambda r: r is worst,
        caption=(f"biggest drop-off: before {worst['stage']} ({worst['drop_off_rate']:.1%})"
                 if worst else None),
    )


def _collect_funnels(ctx: ReportContext) -> list[dict[str, Any]]:
    """Every framework's funnel, all persons and per first-touch channel."""
    return [
        {"name": f.name, "title": f.label, "window": f.window,
         "stages": [s.name for s in f.stages],
         "rows": compute_funnel(ctx.con, FunnelQuery(
             f, f.window_delta, ctx.as_of, by_channel=True,
             stored_chain=ctx.stored_chains))}
        for f in ctx.frameworks
    ]


def _collect_trend(ctx: ReportContext) -> list[dict[str, Any]]:
    """`funnel --trend week` on the journey framework (all persons), the last `trend_weeks`
    entry weeks; `complete` is False while a week's entrants may still convert.

    Only the attempts that start in the last `trend_weeks` calendar weeks are computed when each
    of those weeks has entrants (then they are the last entry weeks): a long history does not
    make the section slower. Otherwise (a shorter history, or weeks without entrants) every week
    is computed and the last entry weeks kept. A week's rows are the same either way: an
    attempt's later steps are searched in all events, only its start is limited."""
    framework = ctx.framework(ctx.settings.journey_framework)
    prepare_population(ctx.con, Segment(), ctx.as_of)
    count = ctx.settings.trend_weeks
    query = FunnelQuery(framework, framework.window_delta, ctx.as_of, tz=ctx.tz, trend="week")
    from journey_metrics.zones import zone

    local = zone(ctx.tz)
    first_week = _first_shown_week(ctx, count, local)
    rows: list[dict[str, Any]] = []
    if first_week is not None:
        since = trend_since(first_week, local)
        recent = replace(query, from_at=since)
        if ctx.chains_stored(framework):
            from journey_metrics.person_rows import holds

            recent = replace(recent, stored_chain=holds(ctx.con, kept_trend(framework, since)))
        rows = [r for r in trend_rows(ctx.con, recent)
                if r["group"] == "all" and r["period"] >= first_week.isoformat()]
    if first_week is None or len({r["period"] for r in rows}) < count:
        rows = [r for r in trend_rows(ctx.con, query) if r["group"] == "all"]
    weeks = sorted({r["period"] for r in rows})[-count:]
    return [r for r in rows if r["period"] in weeks]


def _first_shown_week(ctx: ReportContext, count: int, local: tzinfo) -> date | None:
    """`first_shown_week` of the latest event up to as_of; None without events."""
    if ctx.last_event_at is None:
        return None
    return first_shown_week(min(ctx.last_event_at, ctx.as_of), count, local)


def first_shown_week(latest_at: datetime, count: int, local: tzinfo) -> date | None:
    """The Monday `count - 1` weeks before the week (in zone `local`) of `latest_at`, the
    latest event up to as_of."""
    if count < 1:
        return None
    latest = latest_at.astimezone(local).date()
    return latest - timedelta(days=latest.weekday(), weeks=count - 1)


def trend_since(first_week: date, local: tzinfo) -> datetime:
    """Where the dashboard trend's attempts are computed from: the day before the first shown
    week's local midnight, so a DST change cannot move the bound into the week (that day's
    entries make a partial week, not shown)."""
    return datetime.combine(first_week - timedelta(days=1), time(), local)


def _collect_times(ctx: ReportContext) -> list[dict[str, Any]]:
    """`funnel --times` of every framework (all persons)."""
    prepare_population(ctx.con, Segment(), ctx.as_of)
    return [{"name": f.name, "title": f.label,
             "rows": [r for r in times_rows(ctx.con, FunnelQuery(
                 f, f.window_delta, ctx.as_of, stored_chain=ctx.stored_chains))
                      if r["group"] == "all"]}
            for f in ctx.frameworks]


NO_TRAIT = "(none)"  # the group of persons without the trait: not offered as a segment
TOP_DRIVERS = 6  # items that raise / lower conversion on the dashboard, each


def _collect_drivers(ctx: ReportContext) -> dict[str, Any]:
    """`funnel --correlate` on the journey framework: the items that go most with converting
    and with not converting, among items at least MIN_CORRELATE_ENTRANTS persons had."""
    framework = ctx.framework(ctx.settings.journey_framework)
    prepare_population(ctx.con, Segment(), ctx.as_of)
    stored = ctx.chains_stored(framework)
    rows = [r for r in correlate_rows(ctx.con, FunnelQuery(framework, framework.window_delta,
                                                           ctx.as_of, stored_chain=stored))
            if r["group"] == "all"
            and r["converters"] + r["non_converters"] >= MIN_CORRELATE_ENTRANTS]
    raise_ = sorted((r for r in rows if r["odds_ratio"] > 1),
                    key=lambda r: (-r["odds_ratio"], r["item"]))[:TOP_DRIVERS]
    lower = sorted((r for r in rows if r["odds_ratio"] < 1),
                   key=lambda r: (r["odds_ratio"], r["item"]))[:TOP_DRIVERS]
    return {"framework": framework.name,
            "rows": [{**r, "direction": "raises"} for r in raise_]
            + [{**r, "direction": "lowers"} for r in lower]}


def _collect_segments(ctx: ReportContext) -> list[dict[str, Any]]:
    """Funnel rows (step, persons, conversion from start) of every framework for the top values
    of each persona trait (config/report.yaml persona_traits), so the page can re-draw the
    funnels per segment offline. The segment '' is everybody.

    One population holds every segment at once (a person is in 'all' and in one group per
    trait whose value is among the top ones), so each framework's funnel is read once, not once
    per trait."""
    con = ctx.con
    prepare_population(con, Segment(), ctx.as_of)
    con.execute("CREATE OR REPLACE TEMP TABLE segment_population AS FROM population")
    chosen: list[tuple[str, list[str]]] = []  # (trait, its top values), in settings order
    for i, trait in enumerate(ctx.settings.persona_traits):
        # every trait's values come from one person_traits table (0.7 s each at 10M events)
        prepare_population(con, Segment(f"trait:{trait}"), ctx.as_of, traits_ready=i > 0)
        top = [v for (v,) in con.execute(
            "SELECT group_name FROM population WHERE group_name NOT IN ('all', $none)"
            " GROUP BY group_name ORDER BY count(*) DESC, group_name LIMIT $n",
            {"n": ctx.settings.segment_values, "none": NO_TRAIT}).fetchall()]
        if top:
            chosen.append((trait, top))
            con.execute("INSERT INTO segment_population BY NAME SELECT * REPLACE"
                        " ($trait || $sep || group_name AS group_name) FROM population"
                        " WHERE list_contains($top, group_name)",
                        {"trait": trait, "sep": _SEGMENT_SEP, "top": top})
    population_from(con, "segment_population")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (framework, group) -> rows
    for f in ctx.frameworks:
        for r in funnel_rows(con, FunnelQuery(f, f.window_delta, ctx.as_of,
                                              stored_chain=ctx.stored_chains)):
            groups.setdefault((f.name, r["group"]), []).append(r)
    prepare_population(con, Segment(), ctx.as_of)  # as the other sections expect it
    con.execute("DROP TABLE segment_population")

    def keep(segment: str, trait: str | None, value: str | None,
             framework: Framework, group: str) -> list[dict[str, Any]]:
        return [{"segment": segment, "trait": trait, "value": value,
                 "framework": framework.name, "step": r["step"], "stage": r["stage"],
                 "persons": r["persons"], "conversion_from_start": r["conversion_from_start"]}
                for r in groups.get((framework.name, group), [])]

    out = [row for f in ctx.frameworks for row in keep("", None, None, f, "all")]
    for trait, top in chosen:
        for f in ctx.frameworks:
            for value in top:
                shown = str(shown_group(value))
                out += keep(f"{trait} = {shown}", trait, shown, f,
                            f"{trait}{_SEGMENT_SEP}{value}")
    return out


# joins trait and value in a segment's group name: trait names are identifiers, so the first
# separator ends the trait whatever the value holds
_SEGMENT_SEP = "\x1f"


FUNNEL = register(Metric(
    name="funnel",
    help="Persons per stage of a framework, with conversion and drop-off (CONTRACT §4 Funnel).",
    columns=_columns,
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
        Option("trend", "Rows per entry period instead (CONTRACT §7).",
               choices=("day", "week", "month")),
        Option("times", "Hours to convert per step: p10, p25, median, p75, p90.", kind=bool),
        Option("correlate", "Events and traits that go with converting (odds ratio, Fisher p,"
               " BH q).", kind=bool),
        Option("exits", "Per stage, where the persons who stopped there left from (last"
               " touchpoint).", kind=bool),
    ),
    present=_present,
    sections=(
        Section("funnels", _collect_funnels, "journey_metrics.charts.funnel:funnel_blocks",
                order=30),
        Section("segments", _collect_segments,
                "journey_metrics.charts.funnel:segment_blocks", order=31),
        Section("trend", _collect_trend, "journey_metrics.charts.funnel:trend_blocks", order=32),
        Section("times", _collect_times, "journey_metrics.charts.funnel_times:times_blocks",
                order=33),
        Section("drivers", _collect_drivers, "journey_metrics.charts.funnel:driver_blocks",
                order=34),
    ),
    materialize=({"framework": "*"},),
    examples=(
        "journey-metrics funnel --framework aarrr",
        "journey-metrics funnel --framework five_a --window 7d --by channel --format csv",
        "journey-metrics funnel --framework aarrr --trend week",
        "journey-metrics funnel --framework aarrr --times",
        "journey-metrics funnel --framework aarrr --correlate",
        "journey-metrics funnel --framework awareness_to_advocacy --exits --by channel",
    ),
))
