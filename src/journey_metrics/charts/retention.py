"""The retention heatmap."""

from __future__ import annotations

from typing import Any

import altair as alt

from journey_metrics.charts.common import (
    WIDTH,
    data,
)
from journey_metrics.metrics.registry import Block
from journey_metrics.report.i18n import current, t


def retention_chart(rows: list[dict[str, Any]]) -> alt.LayerChart:
    values = [
        {**r, "cohort_label": f"{current().day(r['cohort'])} "
                              f"({current().number(r['cohort_size'])})",
         "cohort_iso": r["cohort"]}
        for r in rows if r["rate"] is not None
    ]
    order = [c for _, c in sorted({(v["cohort_iso"], v["cohort_label"]) for v in values})]
    base = alt.Chart(data(values)).encode(
        x=alt.X("period:O", title=t("Weeks since activation"), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cohort_label:N", sort=order, title=t("Cohort: week of activation (size)")),
        tooltip=[
            alt.Tooltip("cohort:N", title=t("Cohort week")),
            alt.Tooltip("period:O", title=t("Week")),
            alt.Tooltip("retained:Q", title=t("Came back"), format=","),
            alt.Tooltip("cohort_size:Q", title=t("Out of (cohort size)"), format=","),
            alt.Tooltip("rate:Q", title=t("Retention"), format=".1%"),
        ],
    )
    cells = base.mark_rect().encode(
        color=alt.Color("rate:Q", title=t("Retention"), scale=alt.Scale(scheme="blues",
                                                                     domain=[0, 1]),
                        legend=alt.Legend(format="%")))
    text = base.mark_text(fontSize=9).encode(
        text=alt.Text("rate:Q", format=".0%"),
        color=alt.condition("datum.rate > 0.6", alt.value("white"), alt.value("black")))
    return (cells + text).properties(
        width=WIDTH, height=max(120, 18 * len(order)),
        title=t("Retention: share of each weekly cohort active again N weeks after activation"))


def retention_blocks(rows: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    # the rows are the latest cohorts only (config/report.yaml retention.cohorts): said when
    # the page holds that many, not when fewer cohorts than that exist
    cohorts = len({r["cohort"] for r in rows})
    limit = page.get("settings", {}).get("retention_cohorts")
    shown = (current().count(cohorts, "The latest cohort is shown.",
                             "The latest {n} cohorts are shown.")
             if cohorts and cohorts == limit else "")
    return [Block("retention", t("Retention"),
                  t("Each row is the people who activated in one week; a cell is the share of "
                    "them active again that many weeks later. Blank cells have not happened "
                    "yet.") + (" " + shown if shown else ""),
                  retention_chart(rows))]
