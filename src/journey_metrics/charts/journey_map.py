"""The journey map: stages across, touchpoints, the emotion curve and the pain point."""

from __future__ import annotations

from typing import Any

import altair as alt

from journey_metrics.charts.common import (
    WIDTH,
    biggest_drop,
    data,
    label,
)
from journey_metrics.metrics.registry import Block


def journey_map_chart(
    stages: list[str], touchpoints: list[dict[str, Any]], emotion: list[dict[str, Any]],
    funnel: dict[str, Any],
) -> alt.VConcatChart:
    names = {k: f"{k}. {label(s)}" for k, s in enumerate(stages, start=1)}
    order = list(names.values())
    reached = {r["step"]: r["persons"] for r in funnel["rows"] if r["group"] == "all"}
    points = [
        {**t, "stage": names[t["step"]], "touchpoint": f"{t['source']} · {t['channel']}",
         "stage_persons": reached.get(t["step"], 0)}
        for t in touchpoints
    ]
    bubbles = alt.Chart(data(points)).mark_circle(opacity=0.8).encode(
        x=alt.X("stage:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("touchpoint:N", title="Touchpoint (source · channel)"),
        size=alt.Size("events:Q", title="Events", scale=alt.Scale(range=[20, 1200])),
        color=alt.Color("source:N", title="Source"),
        tooltip=[alt.Tooltip("stage:N", title="Stage"),
                 alt.Tooltip("touchpoint:N", title="Touchpoint"),
                 alt.Tooltip("events:Q", title="Events", format=","),
                 alt.Tooltip("persons:Q", title="Persons", format=",")],
    ).properties(width=WIDTH, height=max(160, 22 * len({p["touchpoint"] for p in points})),
                 title="Touchpoints: where each stage happens")
    worst = biggest_drop(funnel["rows"])
    feelings = [
        {"stage": names[e["step"]], "nps": e["nps"], "respondents": e["respondents"],
         "mean_score": e["mean_score"], "promoters": e["promoters"],
         "detractors": e["detractors"]}
        for e in emotion if e["step"] in names
    ]
    line = alt.Chart(data(feelings)).mark_line(point=alt.OverlayMarkDef(size=80),
                                                interpolate="monotone").encode(
        x=alt.X("stage:N", sort=order, title=None, scale=alt.Scale(domain=order),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("nps:Q", title="How they feel (NPS of answers given at this stage)",
                scale=alt.Scale(domain=[-100, 100])),
        tooltip=[alt.Tooltip("stage:N", title="Stage"),
                 alt.Tooltip("nps:Q", title="NPS", format=".0f"),
                 alt.Tooltip("mean_score:Q", title="Mean score", format=".1f"),
                 alt.Tooltip("promoters:Q", title="Promoters", format=","),
                 alt.Tooltip("detractors:Q", title="Detractors", format=","),
                 alt.Tooltip("respondents:Q", title="Out of (answers)", format=",")],
    )
    zero = alt.Chart(data([{"y": 0}])).mark_rule(color="#999", strokeDash=[3, 3]).encode(
        y="y:Q")
    layers: list[alt.Chart] = [zero, line]
    if worst is not None:
        pain = [{"stage": names[worst["step"]], "label": f"pain point: "
                 f"{worst['drop_off_rate']:.0%} leave before this stage",
                 "drop_off": worst["drop_off"]}]
        layers.append(alt.Chart(data(pain)).mark_rule(color="#e45756", strokeWidth=3).encode(
            x=alt.X("stage:N", sort=order, scale=alt.Scale(domain=order)),
            tooltip=[alt.Tooltip("label:N", title="Pain point"),
                     alt.Tooltip("drop_off:Q", title="Persons lost", format=",")]))
        layers.append(alt.Chart(data(pain)).mark_text(
            color="#e45756", dy=-95, fontWeight="bold").encode(
            x=alt.X("stage:N", sort=order, scale=alt.Scale(domain=order)), text="label:N"))
    emotion_chart = alt.layer(*layers).properties(width=WIDTH, height=200,
                                                  title="Emotion curve")
    return alt.vconcat(bubbles, emotion_chart).properties(
        title=alt.TitleParams(f"Journey map: {funnel['title']}",
                              subtitle="Stages across; touchpoints and how customers feel below"))


def journey_map_blocks(journey: dict[str, Any], page: dict[str, Any]) -> list[Block]:
    funnel = next(f for f in page["funnels"] if f["name"] == journey["framework"])
    return [Block("journey_map", "Journey map",
                  "Stages run left to right. Bubbles show where each stage happens (bigger = more "
                  "events); the line below shows how people who answered the NPS survey at that "
                  "stage feel. The red line marks the stage most people fail to reach.",
                  journey_map_chart(journey["stages"], journey["touchpoints"],
                                    journey["emotion"], funnel))]
