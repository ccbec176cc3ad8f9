"""A toy metric, registered from the test suite (JOURNEY_METRICS_METRICS=toy_metric): it must
appear in the CLI, the report and the suites that iterate the registry with no other edit."""

from __future__ import annotations

from typing import Any

from journey_metrics.metrics.registry import (
    Block,
    Column,
    Context,
    Kind,
    Metric,
    Option,
    Section,
    register,
)


def _compute(ctx: Context, **options: Any) -> list[dict[str, Any]]:
    rows = ctx.con.execute(
        "SELECT p.group_name, count(DISTINCT e.person_id), count(*) FROM fct_events AS e"
        " JOIN population AS p USING (person_id) WHERE e.occurred_at <= ?"
        " AND e.source = coalesce(?, e.source) GROUP BY p.group_name"
        " ORDER BY p.group_name <> 'all', p.group_name",
        [ctx.as_of, options.get("source")],
    ).fetchall()
    return [{"group": g, "persons": n, "events": e, "events_per_person": e / n if n else None}
            for g, n, e in rows]


def _collect(ctx: Any) -> list[dict[str, Any]]:
    return [{"persons": ctx.con.execute("SELECT count(*) FROM persons").fetchall()[0][0]}]


def draw(rows: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    import altair as alt

    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(x="persons:Q")
    return [Block("toy", "Toy", "One bar: how many persons there are.", chart)]


register(Metric(
    name="toy",
    help="Events per person (a toy metric from the test suite).",
    columns=(Column("group", Kind.text), Column("persons", Kind.count),
             Column("events", Kind.count), Column("events_per_person", Kind.number)),
    compute=_compute,
    options=(Option("source", "Only this source."),),
    sections=(Section("toy", _collect, "toy_metric:draw", order=99),),
    examples=("journey-metrics toy --by channel",),
))
