"""The journey map (dashboard): the journey framework's stages, the touchpoints where each stage
happens (source · channel, by volume) and the emotion curve (NPS by the stage reached when
answering). A report-only metric: no command, but in the Python API as `jm.journey_map()`."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.common import query_rows
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
    from journey_metrics.person_rows import Kept
    from journey_metrics.report.data import ReportContext


def touchpoints(con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime,
                *, kept: bool = False) -> Rows:
    """Events and persons per stage, source and channel; `kept`: added up from the rows `run`
    keeps (`kept_touchpoints` of `framework`, current)."""
    if kept:
        rows = ("SELECT person_no, step, source, channel, events FROM _jm_journey_touchpoints"
                " WHERE framework = $framework_name")
        params: dict[str, Any] = {"framework_name": framework.name}
    else:
        rows, params = _person_touchpoints(framework, as_of, "fct_events")
    sql = fill_snippets("marts/fct_journey_map.sql", person_touchpoints=rows)
    return query_rows(con, sql, used_parameters(sql, params))


def kept_touchpoints(framework: Framework) -> Kept:
    """Each person's touchpoint counts per stage of `framework`, which `run` keeps for the
    dashboard's journey map (person_rows.py, `_jm_journey_touchpoints`), as of the latest
    event."""
    from journey_metrics.metrics.funnel import FAR_FUTURE
    from journey_metrics.person_rows import Kept

    return Kept("_jm_journey_touchpoints", framework.name, framework.model_dump_json(),
                partial(_person_touchpoints, framework, FAR_FUTURE))


def _person_touchpoints(framework: Framework, as_of: datetime,
                        events: str) -> tuple[str, dict[str, Any]]:
    stages = compile_stages(framework)
    stage_list = "list_filter([" + ", ".join(
        f"CASE WHEN {e} THEN {k} END" for k, e in enumerate(stages.expressions, start=1)
    ) + "], lambda x: x IS NOT NULL)"
    sql = fill_snippets("marts/journey_person_touchpoints.sql", stage_list=stage_list,
                        events=events)
    return sql, used_parameters(sql, {**stages.params, "as_of": as_of})


def emotion(con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime) -> Rows:
    """The emotion line: NPS answers by the stage reached when answering (steps with answers)."""
    return emotion_rows(answers_by_stage(con, framework, as_of))


def emotion_rows(found: dict[int, dict[str, Any]]) -> Rows:
    """The emotion line from `answers_by_stage`: per step with NPS answers, their count, mean
    score, promoters, detractors and NPS."""
    rows = []
    for step in sorted(found):
        r = found[step]
        respondents = int(r["nps_respondents"])
        if not respondents:
            continue
        promoters, detractors = int(r["nps_promoters"]), int(r["nps_detractors"])
        rows.append({"step": step, "respondents": respondents,
                     "mean_score": int(r["nps_total"]) / respondents,
                     "promoters": promoters, "detractors": detractors,
                     "nps": 100.0 * (promoters - detractors) / respondents})
    return rows


TOP_TOUCHPOINTS = 5  # per stage on the map; the rest is "(other)"
TOP_EXITS = 3  # per stage
MIN_PAIN_PERSONS = 30  # cells with fewer persons are never marked as pain points
PAIN_DROP_RATIO = 1.2  # drop-off rate at least this many times the stage's
PAIN_TIME_RATIO = 1.5  # median time to the next stage at least this many times the stage's
# Times are compared in hours of at least this: a stage whose median is minutes would make any
# slower touchpoint look thousands of times slower, and a touchpoint faster than this is no pain.
MIN_PAIN_HOURS = 1.0
OTHER = "(other)"


def stage_touchpoints(con: duckdb.DuckDBPyConnection, framework: Framework,
                      as_of: datetime, *, stored_chain: bool = False, kept: bool = False) -> Rows:
    """Per stage x touchpoint (the touchpoint through which persons reached the stage): persons,
    converted to the next stage, median hours to it; touchpoint None = the whole stage.
    Groups of the TEMP view `population` (sql/marts/fct_journey_touchpoints.sql).
    `stored_chain`: the chains `run` keeps may be read (see exits.chain_ctes); `kept`: count the
    touches `run` keeps (`kept_stage_touches` of `framework`, current) instead."""
    from journey_metrics.metrics.exits import chain_ctes, chain_params
    from journey_metrics.metrics.funnel import FunnelQuery

    stages = compile_stages(framework)
    q = FunnelQuery(framework, framework.window_delta, as_of, stored_chain=stored_chain)
    if kept:
        touched = ("touched AS (SELECT person_no, step, level, hours, touchpoint"
                   " FROM _jm_stage_touches WHERE framework = $framework_name)")
    else:
        touched = ",\n".join([*chain_ctes(q, stages.expressions),
                               stage_touches_ctes(stages.expressions)])
    sql = "WITH " + touched + "\n" + fill_snippets("marts/fct_journey_touchpoints.sql",
                                                   last_step=len(stages.expressions))
    rows = query_rows(con, sql, chain_params(q, stages.params))
    for row in rows:
        row["group"] = row.pop("group_name")
        if row["median_hours_to_next"] is not None:
            row["median_hours_to_next"] = float(row["median_hours_to_next"])
    return rows


def stage_touches_ctes(flags: list[str], events: str = "fct_events") -> str:
    """The CTEs after the chain's, up to `touched` (person_no, step, level, hours, touchpoint),
    over the events of `events` (sql/marts/journey_stage_touches.sql)."""
    ks = range(1, len(flags) + 1)
    return fill_snippets(
        "marts/journey_stage_touches.sql",
        reached_at="CASE step " + " ".join(f"WHEN {k} THEN t_{k}" for k in ks) + " END",
        next_at="CASE step " + " ".join(f"WHEN {k} THEN t_{k + 1}" for k in ks[:-1])
        + " END" if len(flags) > 1 else "NULL::TIMESTAMPTZ",
        stage_match="CASE x.step " + " ".join(
            f"WHEN {k} THEN {expr}" for k, expr in zip(ks, flags, strict=True)) + " END",
        events=events,
    )


def kept_stage_touches(framework: Framework) -> Kept:
    """Each person's touchpoint at every stage of `framework`'s default funnel they reached,
    which `run` keeps for the dashboard's journey map (person_rows.py, `_jm_stage_touches`):
    from the chains it keeps (kept_chains, refreshed first), as of the latest event."""
    from journey_metrics.person_rows import Kept

    return Kept("_jm_stage_touches", framework.name, framework.model_dump_json(),
                partial(_kept_touches_select, framework))


def _kept_touches_select(framework: Framework, events: str) -> tuple[str, dict[str, Any]]:
    from journey_metrics.metrics.exits import from_kept_chains

    flags = compile_stages(framework).expressions
    return from_kept_chains(framework, stage_touches_ctes(flags, events),
                            "SELECT person_no, step, level, hours, touchpoint FROM touched")


def map_touchpoints(rows: Rows, names: list[str], top: int = TOP_TOUCHPOINTS) -> Rows:
    """The map's cells (group 'all'): the top touchpoints per stage by persons plus (other), with
    reach, conversion to the next stage, drop-off rate, median hours and the pain-point score
    (CONTRACT-silent reading in docs/decisions.md)."""
    whole = {r["step"]: r for r in rows if r["group"] == "all" and r["touchpoint"] is None}
    cells: Rows = []
    for step in sorted(whole):
        stage = whole[step]
        ranked = [r for r in rows if r["group"] == "all" and r["step"] == step
                  and r["touchpoint"] is not None]
        ranked.sort(key=lambda r: (-r["persons"], r["touchpoint"]))
        shown, rest = ranked[:top], ranked[top:]
        if rest:
            converted = (None if stage["converted"] is None
                         else sum(r["converted"] for r in rest))
            shown.append({"touchpoint": OTHER, "persons": sum(r["persons"] for r in rest),
                          "converted": converted, "median_hours_to_next": None,
                          "touchpoints": len(rest)})
        stage_rate = _ratio(stage["converted"], stage["persons"])
        stage_drop = None if stage_rate is None else 1 - stage_rate
        for rank, r in enumerate(shown, start=1):
            rate = _ratio(r["converted"], r["persons"])
            drop = None if rate is None else 1 - rate
            cell = {
                "step": step, "stage": names[step - 1], "rank": rank,
                "touchpoint": r["touchpoint"], "persons": r["persons"],
                "converted": r["converted"], "conversion": rate, "drop_off_rate": drop,
                "stage_persons": stage["persons"], "stage_drop_off_rate": stage_drop,
                "median_hours_to_next": r["median_hours_to_next"],
                "stage_median_hours": stage["median_hours_to_next"],
                "drop_ratio": (drop / stage_drop if drop is not None and stage_drop else None),
                "time_ratio": _time_ratio(r["median_hours_to_next"],
                                          stage["median_hours_to_next"]),
                "pain_point": False, "pain_reasons": [],
            }
            cells.append(cell)
    return cells


def score_pain_points(cells: Rows, emotion_rows: Rows) -> None:
    """Mark the cells that hurt: >= MIN_PAIN_PERSONS persons (never "(other)") and a drop-off
    rate >= PAIN_DROP_RATIO x the stage's, or a median time to the next stage >=
    PAIN_TIME_RATIO x the stage's; the stage's satisfaction (answers given at that stage) is
    added to the reason where answers exist. Reasons are numbers in words (language-neutral
    keys + values, worded by the page)."""
    feelings = {e["step"]: e for e in emotion_rows}
    for cell in cells:
        if cell["persons"] < MIN_PAIN_PERSONS or cell["touchpoint"] == OTHER:
            continue
        reasons = []
        if cell["drop_ratio"] is not None and cell["drop_ratio"] >= PAIN_DROP_RATIO:
            reasons.append({"kind": "drop", "rate": cell["drop_off_rate"],
                            "ratio": cell["drop_ratio"]})
        if cell["time_ratio"] is not None and cell["time_ratio"] >= PAIN_TIME_RATIO:
            reasons.append({"kind": "time", "hours": cell["median_hours_to_next"],
                            "ratio": cell["time_ratio"],
                            "stage_hours": cell["stage_median_hours"]})
        if reasons:
            feeling = feelings.get(cell["step"]) or {}
            if feeling.get("nps") is not None:
                reasons.append({"kind": "nps", "nps": feeling["nps"],
                                "respondents": feeling["nps_respondents"]})
            cell["pain_point"] = True
            cell["pain_reasons"] = reasons
            cell["pain_score"] = max(cell["drop_ratio"] or 0, cell["time_ratio"] or 0)


def _time_ratio(hours: float | None, stage_hours: float | None) -> float | None:
    """A touchpoint's median time to the next stage against the stage's, both floored at
    MIN_PAIN_HOURS; None when the touchpoint's time is below it (or unknown)."""
    if hours is None or stage_hours is None or hours < MIN_PAIN_HOURS:
        return None
    return hours / max(stage_hours, MIN_PAIN_HOURS)


def _ratio(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else part / whole


def answers_by_stage(con: duckdb.DuckDBPyConnection, framework: Framework,
                     as_of: datetime) -> dict[int, dict[str, Any]]:
    """fct_journey_feelings.sql: per step reached, the counts of the survey answers given there
    (steps without answers are absent). Both the feelings and the emotion line read it."""
    stages = compile_stages(framework)
    highest = "CASE " + " ".join(
        f"WHEN {e} THEN {k}" for k, e in reversed(list(enumerate(stages.expressions, start=1)))
    ) + " END"
    sql = fill_snippets("marts/fct_journey_feelings.sql", highest_stage=highest)
    return {r["step"]: r for r in query_rows(con, sql, {**stages.params, "as_of": as_of})}


def feelings(con: duckdb.DuckDBPyConnection, framework: Framework, as_of: datetime) -> Rows:
    """NPS, CSAT and CES at every stage (answers by the stage reached when answering); a stage
    without answers has respondents 0 and the score None ("no answers")."""
    return feelings_rows(framework, answers_by_stage(con, framework, as_of))


def feelings_rows(framework: Framework, found: dict[int, dict[str, Any]]) -> Rows:
    rows = []
    for step, stage in enumerate(framework.stages, start=1):
        r = found.get(step) or {}
        n_nps, n_csat, n_ces = (int(r.get(k) or 0) for k in
                                ("nps_respondents", "csat_respondents", "ces_respondents"))
        promoters, detractors = int(r.get("nps_promoters") or 0), int(
            r.get("nps_detractors") or 0)
        satisfied, ces_total = int(r.get("csat_satisfied") or 0), int(r.get("ces_total") or 0)
        rows.append({
            "step": step, "stage": stage.name,
            "nps_respondents": n_nps, "nps_promoters": promoters,
            "nps_detractors": detractors,
            "nps": 100.0 * (promoters - detractors) / n_nps if n_nps else None,
            "csat_respondents": n_csat, "csat_satisfied": satisfied,
            "csat": 100.0 * satisfied / n_csat if n_csat else None,
            "ces_respondents": n_ces, "ces_total": ces_total,
            "ces": ces_total / n_ces if n_ces else None,
        })
    return rows


def _collect(ctx: ReportContext) -> dict[str, Any]:
    from journey_metrics.metrics.exits import compute_exits
    from journey_metrics.metrics.funnel import FunnelQuery
    from journey_metrics.metrics.segments import Segment, prepare_population

    journey = ctx.framework(ctx.settings.journey_framework)
    names = [s.name for s in journey.stages]
    stored = ctx.chains_stored(journey)
    kept_exit_rows = kept_map = kept_touches = False
    if stored:
        from journey_metrics.metrics.exits import kept_exits
        from journey_metrics.person_rows import holds

        kept_exit_rows = holds(ctx.con, kept_exits(journey))
        kept_map = holds(ctx.con, kept_touchpoints(journey))
        kept_touches = holds(ctx.con, kept_stage_touches(journey))
    prepare_population(ctx.con, Segment(), ctx.as_of)
    cells = map_touchpoints(stage_touchpoints(ctx.con, journey, ctx.as_of,
                                              stored_chain=stored, kept=kept_touches), names)
    answers = answers_by_stage(ctx.con, journey, ctx.as_of)
    feeling_rows = feelings_rows(journey, answers)
    score_pain_points(cells, feeling_rows)
    exits = [r for r in compute_exits(ctx.con, FunnelQuery(journey, journey.window_delta,
                                                           ctx.as_of, stored_chain=stored),
                                      kept=kept_exit_rows)
             if r["group"] == "all"]
    top_exits = []
    for step in sorted({r["step"] for r in exits}):
        of_step = [r for r in exits if r["step"] == step][:TOP_EXITS]
        top_exits += [{**r, "rank": rank} for rank, r in enumerate(of_step, start=1)]
    return {
        "framework": journey.name,
        "stages": names,
        "touchpoints": touchpoints(ctx.con, journey, ctx.as_of, kept=kept_map),
        "emotion": emotion_rows(answers),
        "cells": cells,
        "exits": top_exits,
        "feelings": feeling_rows,
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
