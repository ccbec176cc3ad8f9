"""Funnel exits (issue 11, item 3): where the persons who stop at each stage leave from.

Not a registered metric: `funnel --exits` calls `compute_exits(con, q)` (the lead wires it).
For each stage k before the last, the persons whose funnel level is k (they reached k but not
k + 1, on the attempt the funnel uses) are split by their last touchpoint before leaving
(sql/marts/funnel_exits.sql states the exact rule). Per group and step, the exits add up to the
funnel's `drop_off` of step k + 1.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from journey_metrics.errors import UsageError
from journey_metrics.metrics.common import micros
from journey_metrics.metrics.funnel import (
    FAR_FUTURE,
    FAR_PAST,
    FunnelQuery,
    fast_chain_ctes,
    stage_events_sql,
    stored_chain_cte,
)
from journey_metrics.sql import fill_snippets, used_parameters
from journey_metrics.stages import compile_stages

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.config import Framework
    from journey_metrics.person_rows import Kept

EXITS_COLUMNS = ("group", "step", "stage", "touchpoint", "persons", "share_of_drop_off")


def exits_sql(q: FunnelQuery, flags: list[str], *, kept: bool = False) -> str:
    """The funnel's ordered chain (the same CTEs funnel.funnel_sql uses), then the exits of
    sql/marts/funnel_exit_touches.sql and funnel_exits.sql; `kept`: the last touches `run`
    keeps (`kept_exits`) instead of the first two."""
    if kept:
        touches = ("last_touch AS (SELECT person_no, step, touchpoint FROM _jm_exit_touches"
                   " WHERE framework = $framework_name)")
    else:
        touches = ",\n".join([*chain_ctes(q, flags), exit_touches_ctes(flags)])
    return "WITH " + touches + "\n" + fill_snippets("marts/funnel_exits.sql")


def exit_touches_ctes(flags: list[str], events: str = "fct_events") -> str:
    """The CTEs after the chain's, up to `last_touch` (person_no, step, touchpoint), over the
    events of `events`."""
    ks = range(1, len(flags) + 1)
    return fill_snippets(
        "marts/funnel_exit_touches.sql",
        reached_at="CASE level " + " ".join(f"WHEN {k} THEN t_{k}" for k in ks) + " END",
        stage_match="CASE x.step " + " ".join(
            f"WHEN {k} THEN {expr}" for k, expr in zip(ks, flags, strict=True)) + " END",
        last_step=len(flags),
        events=events,
    )


def kept_exits(framework: Framework) -> Kept:
    """Each leaving person's last touchpoint on `framework`'s default funnel, which `run` keeps
    for the dashboard's journey map (person_rows.py, `_jm_exit_touches`): from the chains it
    keeps (kept_chains, refreshed first), as of the latest event."""
    from journey_metrics.person_rows import Kept

    return Kept("_jm_exit_touches", framework.name, framework.model_dump_json(),
                partial(_kept_select, framework))


def _kept_select(framework: Framework, events: str) -> tuple[str, dict[str, Any]]:
    flags = compile_stages(framework).expressions
    return from_kept_chains(framework, exit_touches_ctes(flags, events),
                            "SELECT person_no, step, touchpoint FROM last_touch")


def from_kept_chains(framework: Framework, ctes: str, select: str) -> tuple[str, dict[str, Any]]:
    """A statement over the chains `run` keeps for `framework` (kept_chains, refreshed first), as
    of the latest event: the chain's CTE, then `ctes`, then `select`; and its parameters. The
    journey map's rows kept per person start from it (kept_exits, kept_stage_touches)."""
    stages = compile_stages(framework)
    q = FunnelQuery(framework, framework.window_delta, FAR_FUTURE, stored_chain=True)
    sql = "WITH " + ",\n".join([*chain_ctes(q, stages.expressions), ctes]) + "\n" + select
    return sql, used_parameters(sql, chain_params(q, stages.params))


def chain_params(q: FunnelQuery, stage_params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of `q`'s chain CTEs (chain_ctes) and the statements after them."""
    return {**stage_params, "as_of": q.as_of, "window": q.window,
            "window_us": micros(q.window), "from_at": q.from_at or FAR_PAST,
            "to_at": q.to_at or FAR_FUTURE, "framework_name": q.framework.name}


def chain_ctes(q: FunnelQuery, flags: list[str]) -> list[str]:
    """The CTEs of the funnel's ordered chain, ending in `chain` (person_no, level, start_at,
    t_1 .. t_n: the step times of the attempt the funnel uses): the funnel's own CTEs, or the
    chains `run` keeps when the query may read them (`q.stored_chain`; parameter
    $framework_name). The journey map and the exits at 10M events spent most of their time
    finding the chains again (docs/benchmarks.md)."""
    if q.stored_chain and q.chains_storable:
        return [stored_chain_cte(len(flags))]
    return [f"stage_events AS MATERIALIZED ({stage_events_sql(flags)})",
            *fast_chain_ctes(len(flags), q.entry)]


def compute_exits(con: duckdb.DuckDBPyConnection, q: FunnelQuery,
                  *, kept: bool = False) -> list[dict[str, Any]]:
    """Exit rows per group of the TEMP view `population` (metrics/segments.py): `group`,
    `step` (the stage the persons reached), `stage`, `touchpoint`, `persons`,
    `share_of_drop_off`; ordered by group ('all' first), step, persons descending, touchpoint.
    `kept`: count the last touches `run` keeps (`kept_exits` of q's framework, current)."""
    if q.order != "ordered":
        raise UsageError("--exits needs --order ordered (an unordered funnel has no last step)")
    stages = compile_stages(q.framework)
    sql = exits_sql(q, stages.expressions, kept=kept)
    result = con.execute(sql, used_parameters(sql, chain_params(q, stages.params)))
    names = [s.name for s in q.framework.stages]
    return [
        {
            "group": group,
            "step": int(step),
            "stage": names[int(step) - 1],
            "touchpoint": touchpoint,
            "persons": int(persons),
            "share_of_drop_off": float(share),
        }
        for group, step, touchpoint, persons, share in result.fetchall()
    ]
