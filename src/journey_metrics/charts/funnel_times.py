"""Time to convert per funnel step (rows of `funnel --times`, CONTRACT §7).

Per step: a bar from p25 to p75 hours (the middle half of the persons), a thin rule from p10 to
p90, and a tick at the median, on a log-like symlog axis because step times span minutes to weeks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.registry import Block
from journey_metrics.report.i18n import t


def label(name: str) -> str:
    from journey_metrics.charts.common import label as stage_label

    return stage_label(name)

if TYPE_CHECKING:
    import altair as alt

TICK_HOURS = (1, 6, 24, 72, 168, 720, 2160, 8760)  # an hour, 6 hours, a day, 3 days, a week...


def draw_times(rows: list[dict[str, Any]], group: str = "all",
               title: str = "Hours to convert, per step") -> alt.LayerChart | alt.FacetChart:
    """A chart of `funnel --times` rows of one group (steps without converters are left out)."""
    import altair as alt

    values = [
        {**row, "label": f"{row['step']}. {label(row['stage'])}"}
        for row in rows
        if row.get("group", "all") == group and row.get("median_hours") is not None
    ]
    order = [v["label"] for v in sorted(values, key=lambda v: v["step"])]
    hours = alt.Scale(type="symlog")
    # the scale's own ticks ran together at its compressed end ("150200"): an hour, a day, a
    # week... up to the longest time shown
    longest = max((v.get("p90_hours") or 0 for v in values), default=0)
    ticks = [0, *(h for h in TICK_HOURS if h <= longest)]
    axis = alt.Axis(values=ticks) if longest >= 6 else alt.Axis()  # minutes: the scale's own
    data = alt.Data(values=values)
    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=order, title=None),
        tooltip=[
            alt.Tooltip("stage:N"),
            alt.Tooltip("persons:Q", format=","),
            alt.Tooltip("p10_hours:Q", format=".1f", title=t("p10 (h)")),
            alt.Tooltip("p25_hours:Q", format=".1f", title=t("p25 (h)")),
            alt.Tooltip("median_hours:Q", format=".1f", title=t("median (h)")),
            alt.Tooltip("p75_hours:Q", format=".1f", title=t("p75 (h)")),
            alt.Tooltip("p90_hours:Q", format=".1f", title=t("p90 (h)")),
            alt.Tooltip("median_hours_from_start:Q", format=".1f",
                        title=t("median from start (h)")),
        ],
    )
    whiskers = base.mark_rule(color="#888").encode(
        x=alt.X("p10_hours:Q", scale=hours, title=t("hours from the previous step"),
                axis=axis),
        x2="p90_hours:Q")
    box = base.mark_bar(size=14, color="#4c78a8").encode(
        x=alt.X("p25_hours:Q", scale=hours), x2="p75_hours:Q")
    median = base.mark_tick(color="black", thickness=2, size=18).encode(
        x=alt.X("median_hours:Q", scale=hours))
    return alt.layer(whiskers, box, median).properties(title=title, width=420)


def times_blocks(sections: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    """One time-to-convert chart per framework."""
    from journey_metrics.charts.common import framework_title

    return [Block(f"times_{s['name']}", t("{title}: time to convert",
                                          title=framework_title(s["name"], s["title"])),
                  t("Per stage, the hours people took from the previous stage: the bar holds "
                    "the middle half of them, the line 80%, the tick is the median."),
                  draw_times(s["rows"], title=t("{title}: hours to convert, per step",
                                                title=framework_title(s["name"], s["title"]))))
            for s in sections]
