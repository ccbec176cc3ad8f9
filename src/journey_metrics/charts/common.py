"""What every chart shares: labels, inline data, the palette and the pain-point rule.

Chart builders take mart rows only (lists of dicts) and return Altair charts. Every mark has a
tooltip with exact numbers and their denominators; titles and axes use plain words.
"""

from __future__ import annotations

import json
import re
from typing import Any

import altair as alt

from journey_metrics.report.i18n import current, t

CONTINUED, IN_WINDOW, DROPPED = "continued", "dropped, still in window", "dropped"
# Okabe-Ito (colour-blind safe): blue, yellow, vermillion
SEGMENT_RANGE = ["#0072b2", "#f0e442", "#d55e00"]
WIDTH = 520


def segment_colors() -> alt.Scale:
    return alt.Scale(domain=[t(CONTINUED), t(IN_WINDOW), t(DROPPED)], range=SEGMENT_RANGE)


def label(name: str) -> str:
    """A stage's title in the page's language (the framework YAML's `title`)."""
    return current().stage_title(name)


def framework_title(name: str, fallback: str | None = None) -> str:
    return current().framework_title(name, fallback)


LABEL_PIXELS = 6.5  # a label character's width at the default 11-pixel axis font, roughly


def band_axis(labels: list[str], width: float, **options: Any) -> alt.Axis:
    """An axis of names side by side: level while the longest fits its band, slanted (and cut
    at 140 pixels) when it does not: sixteen channel names of up to 30 letters printed over
    each other on the attribution chart, and the three phases on a 170-pixel panel."""
    longest = max((len(str(x)) for x in labels), default=0) * LABEL_PIXELS
    level = longest <= width / max(1, len(labels)) - 6
    return alt.Axis(labelAngle=0 if level else -40, labelLimit=140, **options)


def date_axis(**options: Any) -> alt.Axis:
    """An axis of ISO dates ('YYYY-MM-DD', ordinal) shown in the page's date format.

    Labels that would overlap are thinned out (greedy: every second, fourth... period keeps
    its label): a year of months on a 200-pixel panel printed twelve dates over each other,
    since Vega-Lite leaves ordinal axes' labels alone by default."""
    options.setdefault("labelOverlap", "greedy")
    expr = current().date_label_expr()
    return alt.Axis(labelExpr=expr, **options) if expr else alt.Axis(**options)


def text_expr(key: str, **expressions: str) -> alt.ExprRef:
    """A translated text whose {placeholders} are Vega expressions: a title that names what a
    drop-down picked (the PNG, drawn without the drop-down, said "one segment" and not which)."""
    text = t(key, **{name: f"\0{name}\0" for name in expressions})
    parts = re.split("\0(\\w+)\0", text)  # literal, name, literal, name, ..., literal
    pieces = [f"({expressions[part]})" if odd else json.dumps(part)
              for odd, part in ((i % 2 == 1, part) for i, part in enumerate(parts))
              if odd or part]
    return alt.ExprRef(expr=" + ".join(pieces) or '""')


def every_period(starts: list[str], period: str) -> list[str]:
    """Every calendar period (`day`, `week` or `month`, as `YYYY-MM-DD` starts) from the first
    of `starts` to the last: a metric has no row for a period without data, and an axis of
    its rows alone would draw two periods with a gap between them side by side."""
    from datetime import date, timedelta

    if not starts:
        return []
    first, last = date.fromisoformat(min(starts)), date.fromisoformat(max(starts))
    out, at = [], first
    while at <= last:
        out.append(at.isoformat())
        if period == "month":
            at = date(at.year + at.month // 12, at.month % 12 + 1, 1)
        else:
            at += timedelta(days=7 if period == "week" else 1)
    return out


def data(rows: list[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=rows)


MIN_ENTERED = 30  # the pain point looks at steps at least this many persons could take


def biggest_drop(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The pain point: the step with the highest drop-off rate (all persons) among those whose
    previous stage at least MIN_ENTERED persons reached (among all steps when none did): 96% of
    48 persons lost before referral is no pain point beside 2,400 lost before activation. The
    funnel charts and the summary's sentence name the same step."""
    candidates = [r for r in rows if r["group"] == "all" and r["drop_off_rate"] is not None]
    reached = {r["step"]: r["persons"] for r in rows if r["group"] == "all"}
    big = [r for r in candidates if reached.get(r["step"] - 1, 0) >= MIN_ENTERED]
    return max(big or candidates, key=lambda r: (r["drop_off_rate"], -r["step"]), default=None)
