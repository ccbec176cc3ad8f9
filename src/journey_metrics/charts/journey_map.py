"""The journey map: stages across; below each stage the touchpoints through which people reached
it (reach, conversion to the next stage, pain points outlined), the top exits (where the persons
who stopped there left from) and how customers feel (NPS, CSAT and CES, each on its own scale,
"no answers" where nobody answered at that stage)."""

from __future__ import annotations

from typing import Any

import altair as alt

from journey_metrics.charts.common import (
    data,
    framework_title,
    label,
)
from journey_metrics.metrics.journey_map import MIN_PAIN_HOURS
from journey_metrics.metrics.registry import Block
from journey_metrics.report.i18n import current, t

COLUMN = 190  # pixels per stage
PAIN = "#d55e00"  # Okabe-Ito vermillion: the pain-point outline

# (key, respondents key, title, domain, format)
FEELINGS = (
    ("nps", "nps_respondents", "NPS (-100 to 100)", (-100, 100), ".0f"),
    ("csat", "csat_respondents", "CSAT (% answering 4-5)", (0, 100), ".0f"),
    ("ces", "ces_respondents", "CES (mean effort 1-7, lower is easier)", (1, 7), ".1f"),
)


def _short(text: str, size: int = 30) -> str:
    """A touchpoint (`source · channel · campaign-or-page`) that fits its cell and stays
    told apart from its neighbours: a channel that repeats the source is written once
    (`email · email · x`), and a long last part loses its middle, not its end: cutting the end
    made five cells read "email · email · newsletter-20…" (a dashboard audit)."""
    parts = text.split(" · ")
    if len(parts) == 3 and parts[0] == parts[1]:
        parts = [parts[0], parts[2]]
    text = " · ".join(parts)
    if len(text) <= size:
        return text
    head = " · ".join(parts[:-1]) + " · " if len(parts) > 1 else ""
    tail, room = parts[-1], size - len(head) - 1  # the ellipsis takes one
    if room < 8:  # a long source or channel: the middle of the whole text goes
        head, tail, room = "", text, size - 1
    return head + tail[: (room + 1) // 2] + "…" + tail[len(tail) - room // 2:]


def _stage_under_an_hour(reason: dict[str, Any]) -> bool:
    """A time reason whose ratio is taken against an hour (MIN_PAIN_HOURS), not against the
    stage's median of minutes or seconds: no ratio to that median is claimed."""
    return (reason.get("stage_hours") or 0) < MIN_PAIN_HOURS


def pain_sentences(cells: list[dict[str, Any]]) -> list[str]:
    """The marked cells' reasons in words, worst first."""
    lang = current()
    found = sorted((c for c in cells if c["pain_point"]),
                   key=lambda c: (-c.get("pain_score", 0), c["step"], c["touchpoint"]))
    sentences = []
    for c in found:
        parts = []
        for reason in c["pain_reasons"]:
            if reason["kind"] == "drop":
                parts.append(t("{rate} leave after {touchpoint}, {ratio}\u00d7 the stage average",
                               rate=lang.percent(reason["rate"], 0), touchpoint=c["touchpoint"],
                               ratio=lang.number(reason["ratio"], 1)))
            elif reason["kind"] == "time" and _stage_under_an_hour(reason):
                parts.append(t("the next stage takes {hours} h (median), where the stage's median "
                               "is under an hour", hours=lang.number(reason["hours"])))
            elif reason["kind"] == "time":
                parts.append(t("the next stage takes {hours} h (median), {ratio}\u00d7 the stage "
                               "median", hours=lang.number(reason["hours"]),
                               ratio=lang.number(reason["ratio"], 1)))
            else:
                parts.append(t("NPS at this stage {nps} ({answers})",
                               nps=lang.number(reason["nps"]),
                               answers=lang.count(reason["respondents"], "{n} answer",
                                                  "{n} answers")))
        sentences.append(t("{stage}: {reasons} ({persons} reached the stage here).",
                           stage=label(c["stage"]), reasons="; ".join(parts),
                           persons=lang.persons(c["persons"])))
    return sentences


def journey_map_chart(journey: dict[str, Any], funnel: dict[str, Any]) -> alt.VConcatChart:
    stages = journey["stages"]
    lang = current()
    names = {k: f"{k}. {label(s)}" for k, s in enumerate(stages, start=1)}
    order = list(names.values())
    width = COLUMN * len(order)
    x = alt.X("stage:N", sort=order, scale=alt.Scale(domain=order), title=None,
              axis=alt.Axis(labelAngle=0, orient="top", labelFontWeight="bold",
                            labelFontSize=12))
    reached = {r["step"]: r["persons"] for r in funnel["rows"] if r["group"] == "all"}

    cells = [{**c, "stage": names[c["step"]],
              "touchpoint": t(c["touchpoint"]) if c["touchpoint"] == "(other)"
              else c["touchpoint"],
              "text": _short(t(c["touchpoint"]) if c["touchpoint"] == "(other)"
                             else c["touchpoint"]) + "\n"
                      + t("{persons} reached", persons=lang.number(c["persons"]))
                      + (" · " + t("{rate} go on", rate=lang.percent(c["conversion"], 0))
                         if c["conversion"] is not None else ""),
              "why": "; ".join(
                  t("{rate} leave, {ratio}\u00d7 stage", rate=lang.percent(r["rate"], 0),
                    ratio=lang.number(r["ratio"], 1)) if r["kind"] == "drop"
                  else t("{hours} h to next, stage under 1 h", hours=lang.number(r["hours"]))
                  if r["kind"] == "time" and _stage_under_an_hour(r)
                  else t("{hours} h to next, {ratio}\u00d7 stage", hours=lang.number(r["hours"]),
                         ratio=lang.number(r["ratio"], 1))
                  if r["kind"] == "time" else "NPS " + lang.number(r["nps"])
                  for r in c["pain_reasons"]) or "-"}
             for c in journey["cells"]]
    rank = alt.Y("rank:O", title=t("Touchpoints"), axis=alt.Axis(labels=False, ticks=False))
    touch_tip = [alt.Tooltip("stage:N", title=t("Stage")),
                 alt.Tooltip("touchpoint:N", title=t("Touchpoint")),
                 alt.Tooltip("persons:Q", title=t("Reached the stage here"), format=","),
                 alt.Tooltip("stage_persons:Q", title=t("Out of (stage)"), format=","),
                 alt.Tooltip("conversion:Q", title=t("Went on to the next stage"), format=".1%"),
                 alt.Tooltip("stage_drop_off_rate:Q", title=t("Stage drop-off"), format=".1%"),
                 alt.Tooltip("median_hours_to_next:Q", title=t("Median hours to next"),
                             format=".1f"),
                 alt.Tooltip("why:N", title=t("Pain point"))]
    base = alt.Chart(data(cells)).encode(x=x, y=rank, tooltip=touch_tip)
    rects = base.mark_rect(cornerRadius=3).encode(
        color=alt.Color("conversion:Q", title=t("Go on to the next stage"),
                        scale=alt.Scale(scheme="blues", domain=[0, 1]),
                        legend=alt.Legend(format="%", orient="right")),
        stroke=alt.condition("datum.pain_point", alt.value(PAIN), alt.value("white")),
        strokeWidth=alt.condition("datum.pain_point", alt.value(4), alt.value(1)),
    )
    texts = base.mark_text(fontSize=10, lineBreak="\n").encode(
        text="text:N",
        color=alt.condition("datum.conversion > 0.6", alt.value("white"), alt.value("black")))
    rows = max([c["rank"] for c in cells], default=1)
    touch = (rects + texts).properties(
        width=width, height=38 * rows,
        title=t("Touchpoints: where people reached each stage (outlined: pain point)"))

    exits = [{**e, "stage": names[e["step"]],
              "text": _short(e["touchpoint"]) + "\n"
                      + t("{persons} left ({share} of leavers)",
                          persons=lang.number(e["persons"]),
                          share=lang.percent(e["share_of_drop_off"], 0))}
             for e in journey["exits"]]
    exit_base = alt.Chart(data(exits)).encode(
        x=alt.X("stage:N", sort=order, scale=alt.Scale(domain=order), title=None,
                axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("rank:O", title=t("Top exits"), axis=alt.Axis(labels=False, ticks=False)),
        tooltip=[alt.Tooltip("stage:N", title=t("Stopped at")),
                 alt.Tooltip("touchpoint:N", title=t("Last touchpoint")),
                 alt.Tooltip("persons:Q", title=t("Persons"), format=","),
                 alt.Tooltip("share_of_drop_off:Q", title=t("Share of those who stopped"),
                             format=".1%")])
    exit_chart = (exit_base.mark_rect(cornerRadius=3).encode(
        color=alt.Color("share_of_drop_off:Q", title=t("Share of leavers"),
                        scale=alt.Scale(scheme="oranges", domain=[0, 1]),
                        legend=alt.Legend(format="%", orient="right")))
        + exit_base.mark_text(fontSize=10, lineBreak="\n").encode(text="text:N")).properties(
        width=width, height=38 * max([e["rank"] for e in exits], default=1),
        title=t("Exits: the last touchpoint of those who stopped at each stage"))

    panels: list[Any] = [touch, exit_chart]
    for key, respondents, title_key, domain, fmt in FEELINGS:
        title = t(title_key)
        values = [{"stage": names[f["step"]], "value": f[key], "respondents": f[respondents],
                   "note": t("no answers") if f[key] is None else ""}
                  for f in journey["feelings"] if f["step"] in names]
        mid = (domain[0] + domain[1]) / 2
        fbase = alt.Chart(data(values)).encode(
            x=alt.X("stage:N", sort=order, scale=alt.Scale(domain=order), title=None,
                    axis=alt.Axis(labels=False, ticks=False)),
            tooltip=[alt.Tooltip("stage:N", title=t("Stage")),
                     alt.Tooltip("value:Q", title=title, format=fmt),
                     alt.Tooltip("respondents:Q", title=t("Answers"), format=",")])
        line = fbase.transform_filter("datum.value != null").mark_line(
            point=alt.OverlayMarkDef(size=70), color="#0072b2").encode(
            y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=list(domain))))
        none = fbase.transform_filter("datum.value == null").mark_text(
            color="#777", fontStyle="italic").encode(y=alt.datum(mid), text="note:N")
        panels.append(alt.layer(line, none).properties(width=width, height=90, title=title))
    return alt.vconcat(*panels, spacing=12).resolve_scale(color="independent").properties(
        title=alt.TitleParams(
            t("Journey map: {title}", title=framework_title(funnel["name"], funnel["title"])),
            subtitle=t("Persons per stage") + ": " + ", ".join(
                f"{label(s)} {lang.number(reached.get(k, 0))}"
                for k, s in enumerate(stages, start=1))))


def journey_map_blocks(journey: dict[str, Any], page: dict[str, Any]) -> list[Block]:
    funnel = next(f for f in page["funnels"] if f["name"] == journey["framework"])
    return [Block("journey_map", t("Journey map"),
                  t("Stages run left to right. Top: the touchpoints through which people "
                    "reached each stage (darker = more of them went on; outlined = pain point). "
                    "Middle: the last touchpoint of the people who stopped there. Bottom: how "
                    "customers who answered a survey at that stage feel, each survey on its own "
                    "scale."),
                  journey_map_chart(journey, funnel),
                  notes=tuple(pain_sentences(journey["cells"])))]
