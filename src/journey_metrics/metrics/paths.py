"""Paths (CONTRACT §8): where people go, as edges between the items of consecutive steps.

The SQL lives in sql/marts/paths/ (set-based: no per-person Python); this module picks the
snippets for the options (item, scope, collapse, anchors) and shapes the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
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
from journey_metrics.sql import fill_snippets, used_parameters

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.config import Framework
    from journey_metrics.person_rows import Kept
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


def runs_sql(q: PathsQuery, events: str = "fct_events") -> str:
    """The numbered items of every path (sql/marts/paths/runs.sql) for q's item, scope, collapse
    and period: what path_items.sql reads; the anchors (start, end) do not change them.
    `events`: the relation to read, fct_events or the events of some persons."""
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
    scope_events = fill_snippets("marts/paths/events_session.sql" if q.scope == "session"
                                 else "marts/paths/events_person.sql", source=events)
    return fill_snippets(
        "marts/paths/runs.sql",
        events=scope_events,
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


def path_items_ctes(q: PathsQuery, runs: str) -> str:
    """The CTEs up to `path_items` (sql/marts/paths/path_items.sql): each path's kept items for
    q's anchors and steps, from `runs` (runs_sql's rows)."""
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
    return fill_snippets(
        "marts/paths/path_items.sql",
        runs=runs,
        start_pos=("min(pos) FILTER (WHERE item = $start_item)" if q.start is not None
                   else "1::BIGINT"),
        end_pos=end_pos,
        lo=lo,
        hi=hi,
        elided=elided,
    )


def kept_items_sql(flows: dict[str, PathsQuery], events: str) -> tuple[str, dict[str, Any]]:
    """Each path's kept items in every flow (person_no, flow, session_no, step, item, is_gap,
    occurred_at) of the persons whose events `events` holds, and the parameters: what `run`
    keeps for the dashboard (person_rows.py, `_jm_path_items`). The flows share their items
    (one runs_sql), as the dashboard's do (shared_runs)."""
    first = next(iter(flows.values()))
    assert all(flow.isidentifier() for flow in flows)  # written into the SQL as a literal
    assert all(replace(q, start=None, end=None) == replace(first, start=None, end=None)
               for q in flows.values()), "flows of different items"
    parts = [f"SELECT person_no, '{flow}' AS flow, session_no, step, item, is_gap, occurred_at"
             f" FROM (WITH {path_items_ctes(q, 'SELECT * FROM kept_runs')}"
             " SELECT * FROM path_items)" for flow, q in flows.items()]
    sql = (f"WITH kept_runs AS MATERIALIZED ({runs_sql(first, events)})\n"
           + "\nUNION ALL\n".join(parts))
    # one statement, so one value per parameter: the flows differ in their anchors only, and
    # a flow names only the anchors it has ($start_item, $end_item)
    params = _params(first)
    for anchor, values in (("start_item", {q.start for q in flows.values()} - {None}),
                           ("end_item", {q.end for q in flows.values()} - {None})):
        assert len(values) <= 1, f"flows with different {anchor}s"
        params[anchor] = next(iter(values), None)
    return sql, used_parameters(sql, params)


def paths_sql(q: PathsQuery, runs: str | None = None,
              kept: str | None = None) -> tuple[str, dict[str, Any]]:
    """The edges statement for these options, and its parameters. `runs`: a relation holding
    runs_sql(q)'s rows (shared_runs), read instead of computing them; `kept`: the flow whose
    items `run` keeps in `_jm_path_items`, read instead of both."""
    params = _params(q)
    if kept is not None:
        assert q.framework is not None
        items = ("path_items AS (SELECT person_no, session_no, step, item, is_gap, occurred_at"
                 " FROM _jm_path_items WHERE framework = $kept_framework AND flow = $flow)")
        params.update(kept_framework=q.framework.name, flow=kept)
    else:
        items = path_items_ctes(q, runs_sql(q) if runs is None else runs)
    sql = "WITH " + items + ",\n" + fill_snippets("marts/paths/edges.sql")
    return sql, used_parameters(sql, params)


def paths_rows(con: duckdb.DuckDBPyConnection, q: PathsQuery, runs: str | None = None,
               kept: str | None = None) -> Rows:
    """One row per edge, in order (step, paths descending, source, target); `runs`, `kept`:
    see paths_sql."""
    sql, params = paths_sql(q, runs, kept)
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
    for flag in ("start", "end"):  # an empty anchor is a mistake, not "no anchor"
        if options.get(flag) is not None and not str(options[flag]).strip():
            raise UsageError(f"paths: --{flag} is empty: name an item, or leave --{flag} out")
    framework = None
    framework_name = options.get("framework_")
    if item != "stage" and framework_name:
        # read, so that a wrong name or file is refused as everywhere (exit 2), but unused: a
        # note says so (it was silently ignored, decision 215)
        from journey_metrics.config import load_framework

        load_framework(framework_name, warn=ctx.announce)
        ctx.announce(f"--framework is read only with --item stage; these are paths of"
                     f" {item}s")
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
        title=f"Paths of {item}s per {scope}{anchors}: {total:,} paths",
        caption="share = paths taking the edge / all paths; (end): the path stops there",
    )


def dashboard_flows(journey: Framework, conversion_stage: str,
                    as_of: datetime) -> dict[str, PathsQuery]:
    """The dashboard's two flows on the journey framework (item = stage): the paths from the
    first stage, and the paths that end in the conversion stage (else the third stage)."""
    names = [s.name for s in journey.stages]
    conversion = (conversion_stage if conversion_stage in names
                  else names[min(2, len(names) - 1)])
    return {"from_start": PathsQuery(as_of, item="stage", framework=journey, start=names[0]),
            "to_conversion": PathsQuery(as_of, item="stage", framework=journey, end=conversion)}


def kept_flows(journey: Framework, conversion_stage: str) -> Kept:
    """The flows' items per person that `run` keeps (person_rows.py): as of the latest event,
    the dashboard's as_of."""
    from journey_metrics.person_rows import Kept

    flows = dashboard_flows(journey, conversion_stage, FAR_FUTURE)
    # not as_of (see person_rows.py); the framework once, by name in each query
    defines = journey.model_dump_json() + repr(
        [replace(q, as_of=FAR_FUTURE, framework=None) for q in flows.values()])
    return Kept("_jm_path_items", journey.name, defines, partial(kept_items_sql, flows))


def _collect(ctx: ReportContext) -> dict[str, Any]:
    """Dashboard flows on the journey framework: read from the items `run` keeps when they are
    current (a refresh), else computed (both flows from one table of runs)."""
    journey = ctx.framework(ctx.settings.journey_framework)
    flows = dashboard_flows(journey, ctx.settings.conversion_stage, ctx.as_of)
    # steps: the first flow's paths are cut after that many items (the chart draws no leaving
    # ribbons there: charts/paths.py)
    head = {"framework": journey.name, "start": flows["from_start"].start,
            "end": flows["to_conversion"].end, "steps": flows["from_start"].steps}
    if ctx.stored_chains:
        from journey_metrics.person_rows import holds

        if holds(ctx.con, kept_flows(journey, ctx.settings.conversion_stage)):
            return {**head, **{flow: paths_rows(ctx.con, q, kept=flow)
                               for flow, q in flows.items()}}
    with shared_runs(ctx.con, flows["from_start"]) as runs:
        return {**head, **{flow: paths_rows(ctx.con, q, runs) for flow, q in flows.items()}}


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
