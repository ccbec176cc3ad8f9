"""Paths (CONTRACT §8): where people go, as edges between the items of consecutive steps.

The SQL lives in sql/marts/paths/ (set-based: no per-person Python); this module picks the
snippets for the options (item, scope, collapse, anchors) and shapes the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from journey_metrics.errors import UsageError
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
from journey_metrics.sql import fill_snippets, load_sql, used_parameters

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.config import Framework
    from journey_metrics.report.data import ReportContext

Item = Literal["event", "page", "stage"]
Scope = Literal["person", "session"]
Collapse = Literal["consecutive", "none"]

GAP = "…"  # the elided middle of a path with both anchors
OTHER = "(other)"  # items outside a step's top K
END = "(end)"  # the target of a path's last edge
FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)

PATHS_COLUMNS = ("step", "source", "target", "paths", "persons", "share", "median_hours")

# A page_view's URL path (jm_page_path, sql/macros.sql); other events (and a page_view carrying
# neither a path nor a URL) keep their event name.
_PAGE_ITEM = ("CASE WHEN event_name = 'page_view' THEN coalesce(jm_page_path(properties), "
              "event_name) ELSE event_name END")


@dataclass(frozen=True)
class PathsQuery:
    as_of: datetime
    item: Item = "event"
    scope: Scope = "person"
    framework: Framework | None = None
    start: str | None = None
    end: str | None = None
    steps: int = 5
    top: int = 6
    collapse: Collapse = "consecutive"
    from_at: datetime | None = None
    to_at: datetime | None = None


def _params(q: PathsQuery) -> dict[str, Any]:
    params: dict[str, Any] = {
        "as_of": q.as_of,
        "from_at": q.from_at or FAR_PAST,
        "to_at": q.to_at or FAR_FUTURE,
        "steps": q.steps,
        "top": q.top,
        "head_items": q.steps // 2,  # ceil((N-1)/2)
        "tail_items": (q.steps - 1) // 2,  # floor((N-1)/2)
        "gap_label": GAP,
        "other_label": OTHER,
        "end_label": END,
        "start_item": q.start,
        "end_item": q.end,
    }
    if q.item == "stage":
        from journey_metrics.stages import compile_stages

        assert q.framework is not None
        params.update(compile_stages(q.framework).params)
        params["stage_names"] = [s.name for s in q.framework.stages]
    return params


def runs_sql(q: PathsQuery) -> str:
    """The numbered items of every path (sql/marts/paths/runs.sql) for q's item, scope, collapse
    and period: what edges.sql reads; the anchors (start, end) do not change them."""
    if q.item == "stage":
        from journey_metrics.stages import compile_stages

        assert q.framework is not None
        lowest = "CASE " + " ".join(
            f"WHEN {expr} THEN {k}"
            for k, expr in enumerate(compile_stages(q.framework).expressions, start=1)
        ) + " END"
        # typed: sqlglot moves a list index to Spark's 0-based one only for a known integer
        item, item_name = lowest, "$stage_names[item::INTEGER]"
    elif q.item == "page":
        item, item_name = _PAGE_ITEM, "item"
    else:
        item, item_name = "event_name", "item"
    events = load_sql("marts/paths/events_session.sql" if q.scope == "session"
                      else "marts/paths/events_person.sql")
    return fill_snippets(
        "marts/paths/runs.sql",
        events=events,
        item=item,
        item_name=item_name,
        keep_run=("previous_item IS DISTINCT FROM item" if q.collapse == "consecutive"
                  else "true"),
    )


@contextmanager
def shared_runs(con: duckdb.DuckDBPyConnection, q: PathsQuery) -> Iterator[str]:
    """Compute q's runs once into a TEMP table, for several anchors' `paths_sql(..., runs=)`
    (the dashboard's two flows: the items and the sorts over every event are the larger half
    of each query)."""
    sql = runs_sql(q)
    con.execute(f"CREATE OR REPLACE TEMP TABLE path_runs AS {sql}",
                used_parameters(sql, _params(q)))
    try:
        yield "SELECT * FROM path_runs"
    finally:
        con.execute("DROP TABLE IF EXISTS path_runs")


def paths_sql(q: PathsQuery, runs: str | None = None) -> tuple[str, dict[str, Any]]:
    """The edges statement for these options, and its parameters. `runs`: a relation holding
    runs_sql(q)'s rows (shared_runs), read instead of computing them."""
    params = _params(q)
    if q.end is None:
        end_pos, lo, hi = "s.last_pos", "start_pos", "least(last_pos, start_pos + $steps - 1)"
    else:
        after = ">" if q.start is not None else ">="
        end_pos = f"min(r.pos) FILTER (WHERE r.item = $end_item AND r.pos {after} s.start_pos)"
        if q.start is None:
            lo, hi = "greatest(1, end_pos - $steps + 1)", "end_pos"
        else:
            lo, hi = "start_pos", "end_pos"
    elided = ("end_pos - start_pos + 1 > $steps"
              if q.start is not None and q.end is not None else "false")
    sql = fill_snippets(
        "marts/paths/edges.sql",
        runs=runs_sql(q) if runs is None else runs,
        start_pos=("min(pos) FILTER (WHERE item = $start_item)" if q.start is not None
                   else "1::BIGINT"),
        end_pos=end_pos,
        lo=lo,
        hi=hi,
        elided=elided,
    )
    return sql, used_parameters(sql, params)


def paths_rows(con: duckdb.DuckDBPyConnection, q: PathsQuery, runs: str | None = None) -> Rows:
    """One row per edge, in order (step, paths descending, source, target); `runs`: see
    paths_sql."""
    sql, params = paths_sql(q, runs)
    rows = []
    for row in query_rows(con, sql, params):
        rows.append({
            "step": int(row["step"]),
            "source": row["source"],
            "target": row["target"],
            "paths": int(row["paths"]),
            "persons": int(row["persons"]),
            "share": float(row["share"]),
            "median_hours": None if row["median_hours"] is None else float(row["median_hours"]),
        })
    return rows


# --- the declaration (metrics/registry.py) -------------------------------------------------------


def paths_query(ctx: Context, **options: Any) -> PathsQuery:
    """The PathsQuery of a command's options (a bad value is a UsageError)."""
    from journey_metrics.metrics.common import parse_range

    item: Item = options.get("item") or "event"
    steps_value, top_value = options.get("steps"), options.get("top")
    steps = 5 if steps_value is None else int(steps_value)
    top = 6 if top_value is None else int(top_value)
    if steps < 1:
        raise UsageError(f"--steps: {steps} must be at least 1")
    if top < 1:
        raise UsageError(f"--top: {top} must be at least 1")
    framework = None
    framework_name = options.get("framework_")
    if item == "stage":
        if not framework_name:
            raise UsageError("paths: --item stage needs --framework NAME|FILE")
        from journey_metrics.config import load_framework
        from journey_metrics.metrics.retention import stage_index

        framework = load_framework(framework_name, warn=ctx.announce)
        for flag in ("start", "end"):  # a stage the framework lacks would match no path
            if options.get(flag):
                stage_index(framework, options[flag], f"--{flag}")
    span = parse_range(options.get("from_"), options.get("to"), ctx.zone)
    return PathsQuery(
        as_of=ctx.as_of,
        item=item,
        scope=options.get("scope") or "person",
        framework=framework,
        start=options.get("start") or None,
        end=options.get("end") or None,
        steps=steps,
        top=top,
        collapse=options.get("collapse") or "consecutive",
        from_at=span[0],
        to_at=span[1],
    )


def _compute(ctx: Context, **options: Any) -> Rows:
    return paths_rows(ctx.con, paths_query(ctx, **options))


def _present(options: Mapping[str, Any], ctx: Context, rows: Rows) -> Presentation:
    total = sum(r["paths"] for r in rows if r["step"] == 1)
    item = options.get("item") or "event"
    scope = options.get("scope") or "person"
    anchors = "".join(
        f", {word} {options[key]}" for word, key in (("from", "start"), ("to", "end"))
        if options.get(key)
    )
    return Presentation(
        title=f"Paths of {item}s per {scope}{anchors}: {total:,} paths, "
        f"as of {ctx.as_of:%Y-%m-%d %H:%M} UTC",
        caption="share = paths taking the edge / all paths; (end): the path stops there",
    )


def _collect(ctx: ReportContext) -> dict[str, Any]:
    """Dashboard flows on the journey framework (item = stage): the paths from the first stage,
    and the paths that end in the conversion stage."""
    journey = ctx.framework(ctx.settings.journey_framework)
    names = [s.name for s in journey.stages]
    conversion = ctx.settings.conversion_stage
    if conversion not in names:
        conversion = names[min(2, len(names) - 1)]
    from_start = PathsQuery(ctx.as_of, item="stage", framework=journey, start=names[0])
    to_conversion = PathsQuery(ctx.as_of, item="stage", framework=journey, end=conversion)
    with shared_runs(ctx.con, from_start) as runs:
        return {
            "framework": journey.name,
            "start": names[0],
            "end": conversion,
            "from_start": paths_rows(ctx.con, from_start, runs),
            "to_conversion": paths_rows(ctx.con, to_conversion, runs),
        }


PATHS = register(Metric(
    name="paths",
    help="Where people go: the edges between consecutive items of their paths (CONTRACT §8).",
    columns=(
        Column("step", Kind.count, "Position of the source item (1-based)."),
        Column("source", Kind.text),
        Column("target", Kind.text, "The next item, or (end)."),
        Column("paths", Kind.count),
        Column("persons", Kind.count),
        Column("share", Kind.ratio, "paths / all paths"),
        Column("median_hours", Kind.hours),
    ),
    compute=_compute,
    segments=False,
    options=(
        Option("item", "What a step is: the event name, the page path or the stage.", "event",
               choices=("event", "page", "stage")),
        # optional here (only --item stage needs it), so not the registry's required flag
        Option("framework_", "Framework for --item stage: built-in name or YAML file.",
               flag="--framework"),
        Option("scope", "One path per person, or per web session.", "person",
               choices=("person", "session")),
        Option("start", "Paths begin at their first occurrence of this item.",
               names_event=("item", "event")),
        Option("end", "Paths end at the first occurrence of this item after the start.",
               names_event=("item", "event")),
        Option("steps", "Items kept per path.", 5, kind=int),
        Option("top", "Items per step that keep their name; the rest are (other).", 6, kind=int),
        Option("collapse", "Merge runs of the same item into one.", "consecutive",
               choices=("consecutive", "none")),
        Option("from_", "Events from this date or instant.", flag="--from"),
        Option("to", "Events before this date or instant."),
    ),
    present=_present,
    sections=(Section("paths", _collect, "journey_metrics.charts.paths:paths_blocks",
                      order=15),),
    examples=(
        "journey-metrics paths",
        "journey-metrics paths --item stage --framework aarrr --end activation",
        "journey-metrics paths --item page --scope session --start /pricing --steps 4",
    ),
))
