"""Referral counts and rates."""

from __future__ import annotations

from typing import Any

import altair as alt

from journey_metrics.charts.common import (
    data,
    date_axis,
)
from journey_metrics.metrics.registry import Block
from journey_metrics.report.i18n import current, t


def referral_chart(rows: list[dict[str, Any]]) -> alt.HConcatChart:
    counts = [
        {"period": r["period"], "what": t(what), "count": r[key],
         "active": r["active_persons"]}
        for r in rows
        for what, key in (("Invites sent", "invites_sent"),
                          ("Referred signups", "referred_signups"))
    ]
    lang = current()
    rates = [
        {"period": r["period"], "what": t(what), "key": key, "value": r[key],
         # the k-factor is signups per person, the others shares: each as it is read
         "shown": lang.number(r[key], 3) if key == "k_factor" else lang.percent(r[key]),
         "numerator": r[num],
         "denominator": r[den], "numerator_label": t(num_label),
         "denominator_label": t(den_label)}
        for r in rows
        for what, key, num, den, num_label, den_label in (
            ("Referral rate", "referral_rate", "referrers", "active_persons", "referrers",
             "active persons"),
            ("k-factor", "k_factor", "referred_signups", "active_persons", "referred signups",
             "active persons"),
            ("Referred share of signups", "referred_share", "referred_signups", "signups",
             "referred signups", "signups"),
        )
        if r[key] is not None
    ]
    bars = alt.Chart(data(counts)).mark_bar().encode(
        x=alt.X("period:O", title=t("Month"), axis=date_axis(labelAngle=0)),
        xOffset="what:N",
        y=alt.Y("count:Q", title=t("Count")),
        color=alt.Color("what:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("period:N", title=t("Month")), alt.Tooltip("what:N", title=t("What")),
                 alt.Tooltip("count:Q", title=t("Count"), format=","),
                 alt.Tooltip("active:Q", title=t("Active persons that month"), format=",")],
    ).properties(width=220, height=220, title=t("Invites and referred signups"))
    def line(what: tuple[str, ...], axis: alt.Axis, y_title: str, title: str) -> alt.Chart:
        # shares on a percentage axis; the k-factor (signups per person, which may pass 1) on
        # a plain one of its own: on the shares' axis 0.05 read as 5%
        return alt.Chart(data([r for r in rates if r["key"] in what])).mark_line(
            point=True).encode(
            x=alt.X("period:O", title=t("Month"), axis=date_axis(labelAngle=0)),
            y=alt.Y("value:Q", title=t(y_title), axis=axis),
            color=alt.Color("what:N", title=None, legend=alt.Legend(orient="bottom")
                            if len(what) > 1 else None),
            tooltip=[alt.Tooltip("period:N", title=t("Month")),
                     alt.Tooltip("what:N", title=t("Measure")),
                     alt.Tooltip("shown:N", title=t("Value")),
                     alt.Tooltip("numerator:Q", title=t("Numerator"), format=","),
                     alt.Tooltip("numerator_label:N", title=t("counts")),
                     alt.Tooltip("denominator:Q", title=t("Denominator"), format=","),
                     alt.Tooltip("denominator_label:N", title=t("out of"))],
        ).properties(width=220, height=220, title=t(title))

    shares = line(("referral_rate", "referred_share"), alt.Axis(format="%"), "Rate",
                  "Referral rate and referred share")
    k_factor = line(("k_factor",), alt.Axis(format="~r"), "Referred signups per active person",
                    "k-factor")
    return alt.hconcat(bars, shares, k_factor).resolve_scale(color="independent").properties(
        title=t("Referral: who brings others, by month"))


def referral_blocks(rows: list[dict[str, Any]], page: dict[str, Any]) -> list[Block]:
    return [Block("referral", t("Referral"),
                  t("Left: invites sent and sign-ups that came from an invite. Middle: the share "
                    "of active people who invite (referral rate) and the share of sign-ups that "
                    "were referred. Right: referred sign-ups per active person (k-factor)."),
                  referral_chart(rows), table=tuple(rows))]  # invites and rates alike
