"""The flow diagram of `journey-metrics paths` (CONTRACT §8): a Sankey-style chart from its rows.

Vega-Lite has no Sankey transform, so the geometry is computed here with polars: one column per
step, one node per (step, item) sized by the paths that pass through it, nodes stacked by size
(largest on top); each edge is a ribbon from its source node to its target node in the next
column, as wide as its paths; an `(end)` edge is a short ribbon leaving to the right, coloured as
"leaves here". Altair only draws the marks (areas, rectangles, text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from journey_metrics.metrics.paths import END, GAP, OTHER
from journey_metrics.metrics.registry import Block

if TYPE_CHECKING:
    import altair as alt
    import polars as pl

NODE_WIDTH = 0.08  # in step units
LEAVE_LENGTH = 0.35  # how far an (end) ribbon reaches to the right, in step units
PAD_SHARE = 0.05  # vertical gap between nodes of a column, as a share of all paths
SAMPLES = 24  # points per ribbon edge


def flow_geometry(rows: Sequence[dict[str, Any]],
                  cut_at: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Nodes (step, item, paths, x0, x1, y0, y1) and ribbon outlines (ribbon, source, target,
    kind, paths, share, x, y_top, y_bottom) in chart units (x: steps, y: paths from the top).
    `cut_at`: the paths were cut after this many items (`--steps` without `--end`), so their
    `(end)` edges there say "not shown further", not "left": they are not drawn."""
    import polars as pl

    edges = pl.DataFrame(
        [{k: r[k] for k in ("step", "source", "target", "paths", "share")} for r in rows
         if not (r["target"] == END and r["step"] == cut_at)],
        schema={"step": pl.Int64, "source": pl.Utf8, "target": pl.Utf8, "paths": pl.Int64,
                "share": pl.Float64},
    )
    outgoing = edges.group_by("step", "source").agg(pl.col("paths").sum().alias("out"))
    incoming = (edges.filter(pl.col("target") != END)
                .group_by((pl.col("step") + 1).alias("step"), pl.col("target").alias("source"))
                .agg(pl.col("paths").sum().alias("in")))
    total = int(edges.filter(pl.col("step") == 1)["paths"].sum() or 0)
    pad = max(total, 1) * PAD_SHARE
    nodes = (
        outgoing.join(incoming, on=["step", "source"], how="full", coalesce=True)
        .with_columns(pl.max_horizontal(pl.col("out").fill_null(0), pl.col("in").fill_null(0))
                      .alias("paths"))
        .rename({"source": "item"})
        .sort(["step", "paths", "item"], descending=[False, True, False])
        .with_columns(
            (pl.col("paths").cum_sum().over("step") - pl.col("paths")
             + pl.int_range(pl.len()).over("step") * pad).alias("y0"),
            (pl.col("step") - NODE_WIDTH / 2).alias("x0"),
            (pl.col("step") + NODE_WIDTH / 2).alias("x1"),
        )
        .with_columns((pl.col("y0") + pl.col("paths")).alias("y1"))
        .select("step", "item", "paths", "x0", "x1", "y0", "y1")
    )
    positions = nodes.select("step", "item", "y0")
    # where each ribbon leaves its source (edges ordered by their target's height, (end) last)
    ribbons = (
        edges.join(positions.rename({"item": "source", "y0": "source_y"}),
                   on=["step", "source"], how="left")
        .join(positions.rename({"item": "target", "y0": "target_y"})
              .with_columns(pl.col("step") - 1), on=["step", "target"], how="left")
        .with_columns(pl.col("target_y").fill_null(float("inf")).alias("target_order"))
        .sort(["step", "source", "target_order", "target"])
        .with_columns((pl.col("source_y") + pl.col("paths").cum_sum().over("step", "source")
                       - pl.col("paths")).alias("out_y"))
        .sort(["step", "target", "source_y", "source"])
        .with_columns(pl.when(pl.col("target") == END).then(pl.col("out_y"))
                      .otherwise(pl.col("target_y")
                                 + pl.col("paths").cum_sum().over("step", "target")
                                 - pl.col("paths")).alias("in_y"))
        .with_columns(
            pl.concat_str(pl.col("step"), pl.lit("|"), pl.col("source"), pl.lit("→"),
                          pl.col("target")).alias("ribbon"),
            pl.when(pl.col("target") == END).then(pl.lit("leaves here"))
            .otherwise(pl.lit("continues")).alias("kind"),
            (pl.col("step") + NODE_WIDTH / 2).alias("x_from"),
            pl.when(pl.col("target") == END).then(pl.col("step") + NODE_WIDTH / 2 + LEAVE_LENGTH)
            .otherwise(pl.col("step") + 1 - NODE_WIDTH / 2).alias("x_to"),
        )
    )
    t = pl.DataFrame({"t": [i / (SAMPLES - 1) for i in range(SAMPLES)]})
    smooth = 3 * pl.col("t") ** 2 - 2 * pl.col("t") ** 3
    outline = (
        ribbons.join(t, how="cross")
        .with_columns(
            (pl.col("x_from") + (pl.col("x_to") - pl.col("x_from")) * pl.col("t")).alias("x"),
            (pl.col("out_y") + (pl.col("in_y") - pl.col("out_y")) * smooth).alias("y_top"),
        )
        .with_columns((pl.col("y_top") + pl.col("paths")).alias("y_bottom"))
        .sort(["step", "ribbon", "t"])
        .select("ribbon", "step", "source", "target", "kind", "paths", "share", "x", "y_top",
                "y_bottom")
    )
    return nodes, outline


def draw_flow(rows: Sequence[dict[str, Any]], title: str = "Paths",
              names: dict[str, str] | None = None, cut_at: int | None = None,
              goal: str | None = None) -> alt.LayerChart:
    """A Sankey-style flow diagram of paths rows (columns = steps, ribbons = edges); `names`
    shows items under other names (e.g. stage titles in the page's language); `cut_at` as in
    `flow_geometry`. `goal`: paths anchored at their end (`paths --end`) end at the goal, so
    their ending ribbons are that goal reached (green, so named), not people leaving."""
    import altair as alt
    import polars as pl

    from journey_metrics.report.i18n import current, t

    if not rows:
        empty = alt.Chart(pl.DataFrame({"text": [t("no paths in this selection")]}))
        blank = alt.LayerChart(layer=[empty.mark_text(size=14).encode(text="text:N")])
        return blank.properties(title=title, width=600, height=80)
    nodes, outline = flow_geometry(rows, cut_at)
    steps = int(nodes["step"].max() or 1)  # type: ignore[arg-type]
    height_units = float(nodes["y1"].max() or 1)  # type: ignore[arg-type]
    x_scale = alt.Scale(domain=[0.6, steps + 0.4 + LEAVE_LENGTH], nice=False, zero=False)
    y_scale = alt.Scale(domain=[0, height_units], reverse=True, nice=False, zero=False)
    nodes = nodes.with_columns(
        pl.when(pl.col("item") == OTHER).then(pl.lit("other"))
        .when(pl.col("item") == GAP).then(pl.lit("gap")).otherwise(pl.lit("item")).alias("role"),
        ((pl.col("y0") + pl.col("y1")) / 2).alias("y_mid"),
        (pl.col("item").replace({OTHER: t(OTHER), **(names or {})}) + " ("
         + pl.col("paths").map_elements(current().number, return_dtype=pl.Utf8)
         + ")").alias("label"),
    )
    ending, ending_color = (goal, "#009e73") if goal else (t("leaves here"), "#d55e00")
    outline = outline.with_columns(pl.col("kind").replace(
        {"continues": t("continues"), "leaves here": ending}))
    ribbon_colors = alt.Scale(domain=[t("continues"), ending], range=["#0072b2", ending_color])
    ribbons = alt.Chart(outline).mark_area(opacity=0.35, interpolate="monotone").encode(
        x=alt.X("x:Q", scale=x_scale, axis=None),
        y=alt.Y("y_top:Q", scale=y_scale, axis=None, stack=None),
        y2="y_bottom:Q",
        detail="ribbon:N",
        color=alt.Color("kind:N", scale=ribbon_colors, title=None,
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("source:N"), alt.Tooltip("target:N"),
                 alt.Tooltip("paths:Q", format=","), alt.Tooltip("share:Q", format=".1%")],
    )
    node_colors = alt.Scale(domain=["item", "other", "gap"],
                            range=["#1f3b5c", "#9aa5b1", "#c8ced6"])
    boxes = alt.Chart(nodes).mark_rect().encode(
        x=alt.X("x0:Q", scale=x_scale, axis=None), x2="x1:Q",
        y=alt.Y("y0:Q", scale=y_scale, axis=None), y2="y1:Q",
        color=alt.Color("role:N", scale=node_colors, legend=None),
        tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("item:N"),
                 alt.Tooltip("paths:Q", format=",")],
    )
    labels = alt.Chart(nodes).mark_text(align="left", dx=4, fontSize=11).encode(
        x=alt.X("x1:Q", scale=x_scale, axis=None),
        y=alt.Y("y_mid:Q", scale=y_scale, axis=None),
        text="label:N",
    )
    headers = alt.Chart(pl.DataFrame({"step": list(range(1, steps + 1))}).with_columns(
        (t("step") + " " + pl.col("step").cast(pl.Utf8)).alias("text"))
    ).mark_text(baseline="bottom", dy=-6, fontWeight="bold", fontSize=11).encode(
        x=alt.X("step:Q", scale=x_scale, axis=None),
        y=alt.value(0),
        text="text:N",
    )
    chart = alt.LayerChart(layer=[ribbons, boxes, labels, headers])
    return cast("alt.LayerChart", chart.properties(
        title=title, width=max(480, 170 * steps), height=360,
        view=alt.ViewBackground(stroke=None),
    ).resolve_scale(color="independent"))


def paths_blocks(paths: dict[str, Any], page: dict[str, Any]) -> list[Block]:
    """The two default flows of the journey framework (metrics/paths.py _collect)."""
    from journey_metrics.charts.common import label
    from journey_metrics.report.i18n import t

    start, end = label(paths["start"]), label(paths["end"])
    names = {r[k]: label(r[k]) for key in ("from_start", "to_conversion") for r in paths[key]
             for k in ("source", "target") if r[k] not in (END, GAP, OTHER)}

    def box(item: str) -> str:  # the table names the chart's boxes as the chart does
        return names.get(item) or (t(item) if item in (END, OTHER) else item)

    def table(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
        return tuple({**r, "source": box(r["source"]), "target": box(r["target"])}
                     for r in rows)

    cut_at = paths.get("steps")  # page data stored before it was kept: drawn as before
    shown = (" " + t("Each path is shown up to step {steps}; who goes on after it is not drawn.",
                     steps=cut_at)) if cut_at else ""
    return [
        Block("paths_start", t("Paths from {stage}", stage=start),
              t("Each column is a step of the journey after {stage}; boxes are stages (sized "
                "by the people on them), blue ribbons the people who went on to the next box, "
                "vermillion ribbons the people whose path ends there.", stage=start) + shown,
              draw_flow(paths["from_start"], title=t("Where people go after {stage}",
                                                     stage=start), names=names, cut_at=cut_at),
              table=table(paths["from_start"])),
        Block("paths_end", t("Paths to {stage}", stage=end),
              t("The paths of the people who reached {stage}, read left to right: the stages "
                "they went through just before it.", stage=end),
              draw_flow(paths["to_conversion"], title=t("How people get to {stage}",
                                                        stage=end), names=names,
                        goal=t("reaches {stage}", stage=end)),
              table=table(paths["to_conversion"])),
    ]
