"""Funnel charts: where people drop out, by channel, and the conversion trend."""

from __future__ import annotations

from typing import Any

import altair as alt

from journey_metrics.charts.common import (
    CONTINUED,
    DROPPED,
    IN_WINDOW,
    SEGMENT_COLORS,
    WIDTH,
    biggest_drop,
    data,
    label,
)
from journey_metrics.metrics.registry import Block


def funnel_chart(funnel: dict[str, Any]) -> alt.HConcatChart:
    rows = [r for r in funnel["rows"] if r["group"] == "all"]
    worst = biggest_drop(rows)
    segments: list[dict[str, Any]] = []
    previous = None
    for r in rows:
        stage = f"{r['step']}. {label(r['stage'])}"
        entered = previous if previous is not None else r["persons"]
        common = {"stage": stage, "step": r["step"], "entered": entered,
                  "reached": r["persons"], "pain_point": worst is not None and r is worst}
        in_window = r["in_progress"] or 0
        dropped = (r["drop_off"] or 0) - in_window
        for segment, count in ((CONTINUED, r["persons"]), (IN_WINDOW, in_window),
                               (DROPPED, dropped)):
            segments.append({**common, "segment": segment, "count": count,
                             "share": count / entered if entered else None})
        previous = r["persons"]
    order = [s for s in dict.fromkeys(x["stage"] for x in segments)]
    bars = alt.Chart(data(segments)).mark_bar().encode(
        y=alt.Y("stage:N", sort=order, title=None),
        x=alt.X("count:Q", stack="zero", title="Persons who reached the previous stage"),
        color=alt.Color("segment:N", scale=SEGMENT_COLORS, title=None,
                        legend=alt.Legend(orient="bottom")),
        order=alt.Order("segment_order:Q"),
        stroke=alt.condition("datum.pain_point", alt.value("black"), alt.value(None)),
        strokeWidth=alt.condition("datum.pain_point", alt.value(2), alt.value(0)),
        tooltip=[
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("segment:N", title="Group"),
            alt.Tooltip("count:Q", title="Persons", format=","),
            alt.Tooltip("entered:Q", title="Out of (previous stage)", format=","),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
        ],
    ).transform_calculate(
        segment_order=f"indexof(['{CONTINUED}', '{IN_WINDOW}', '{DROPPED}'], datum.segment)"
    ).properties(width=WIDTH - 180, height=32 * len(order),
                 title="Who continued and who dropped, stage by stage")
    rates = [
        {"stage": f"{r['step']}. {label(r['stage'])}", "rate": r["conversion_from_previous"],
         "low": r["ci_low"], "high": r["ci_high"], "reached": r["persons"],
         "entered": r["persons"] + (r["drop_off"] or 0),
         "from_start": r["conversion_from_start"]}
        for r in rows if r["conversion_from_previous"] is not None
    ]
    tooltip = [
        alt.Tooltip("stage:N", title="Stage"),
        alt.Tooltip("rate:Q", title="Conversion from previous", format=".1%"),
        alt.Tooltip("low:Q", title="95% interval from", format=".1%"),
        alt.Tooltip("high:Q", title="95% interval to", format=".1%"),
        alt.Tooltip("reached:Q", title="Reached", format=","),
        alt.Tooltip("entered:Q", title="Out of", format=","),
        alt.Tooltip("from_start:Q", title="Conversion from start", format=".1%"),
    ]
    base = alt.Chart(data(rates)).encode(y=alt.Y("stage:N", sort=order, title=None,
                                                  axis=alt.Axis(labels=False)))
    interval = base.mark_rule(color="#555").encode(
        x=alt.X("low:Q", title="Conversion from previous stage (95% interval)",
                axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        x2="high:Q", tooltip=tooltip)
    point = base.mark_point(filled=True, size=70, color="#4c78a8").encode(
        x="rate:Q", tooltip=tooltip)
    return alt.hconcat(
        bars, (interval + point).properties(width=170, height=32 * len(order), title="Conversion")
    ).properties(title=alt.TitleParams(
        f"{funnel['title']}: where people drop out (window {funnel['window']})",
        subtitle=(f"Pain point: before {label(worst['stage'])}, "
                  f"{worst['drop_off_rate']:.0%} of those who reached the previous stage left"
                  if worst else "Nobody entered the funnel yet"),
    ))


def channel_chart(funnel: dict[str, Any]) -> alt.Chart:
    rows = [
        {"stage": f"{r['step']}. {label(r['stage'])}", "step": r["step"], "channel": r["group"],
         "rate": r["conversion_from_start"] if r["step"] > 1 else 1.0,
         "reached": r["persons"]}
        for r in funnel["rows"]
    ]
    starts = {r["channel"]: r["reached"] for r in rows if r["step"] == 1}
    for r in rows:
        r["entered"] = starts.get(r["channel"], 0)
    order = list(dict.fromkeys(r["stage"] for r in rows))
    return alt.Chart(data(rows)).mark_line(point=True).encode(
        x=alt.X("stage:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("rate:Q", title="Share of entrants still in the journey",
                axis=alt.Axis(format="%")),
        color=alt.Color("channel:N", title="First-touch channel"),
        strokeDash=alt.condition("datum.channel == 'all'", alt.value([5, 3]), alt.value([1, 0])),
        tooltip=[
            alt.Tooltip("channel:N", title="Channel"),
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("reached:Q", title="Persons who reached it", format=","),
            alt.Tooltip("entered:Q", title="Out of (entered)", format=","),
            alt.Tooltip("rate:Q", title="Conversion from start", format=".1%"),
        ],
    ).properties(width=WIDTH, height=260,
                 title=f"{funnel['title']}: the same funnel by first-touch channel")


def trend_chart(rows: list[dict[str, Any]], title: str) -> alt.Chart:
    values = [
        {"week": r["week"], "step": f"{r['step']}. {label(r['stage'])}",
         "rate": r["conversion_from_previous"], "reached": r["persons"],
         "entered": r["persons"] + (r["drop_off"] or 0), "in_progress": r["in_progress"]}
        for r in rows if r["group"] == "all"
    ]
    # ordinal weeks ('YYYY-MM-DD'): a temporal axis would be drawn in the viewer's time zone
    return alt.Chart(data(values)).mark_line(point=True).encode(
        x=alt.X("week:O", title="Week people entered (starting Monday)",
                axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("rate:Q", title="Conversion from previous stage", axis=alt.Axis(format="%")),
        color=alt.Color("step:N", title="Step into"),
        tooltip=[
            alt.Tooltip("week:N", title="Entry week"),
            alt.Tooltip("step:N", title="Step into"),
            alt.Tooltip("rate:Q", title="Conversion", format=".1%"),
            alt.Tooltip("reached:Q", title="Reached", format=","),
            alt.Tooltip("entered:Q", title="Out of", format=","),
            alt.Tooltip("in_progress:Q", title="Dropped but still in window", format=","),
        ],
    ).properties(width=WIDTH, height=260, title=f"{title}: step conversion by entry week")


def funnel_blocks(funnels: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    """Two blocks per framework: the funnel, and the same funnel by first-touch channel."""
    blocks = []
    for funnel in funnels:
        blocks.append(Block(
            f"funnel_{funnel['name']}", funnel["title"],
            "Each bar is everybody who reached the previous stage: blue went on, yellow dropped "
            "out but may still continue (their window is open), red dropped out. The outlined "
            "bar is the biggest drop-off. Right: conversion with its 95% interval.",
            funnel_chart(funnel)))
        blocks.append(Block(
            f"channels_{funnel['name']}", f"{funnel['title']} by channel",
            "Each line is the people who first came through one channel: the share of them "
            "still in the journey at each stage. The dashed line is everybody.",
            channel_chart(funnel)))
    return blocks


def trend_blocks(trend: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    journey = next((f for f in page["funnels"]
                    if f["name"] == page["settings"]["journey_framework"]), None)
    title = journey["title"] if journey else page["settings"]["journey_framework"]
    return [Block("trend", "Conversion trend",
                  "Each line is one step of the journey; a point is the share of people who "
                  "entered that week and made the step. Recent weeks are still maturing.",
                  trend_chart(trend, title))]
