"""What every chart shares: labels, inline data, the palette and the pain-point rule.

Chart builders take mart rows only (lists of dicts) and return Altair charts. Every mark has a
tooltip with exact numbers and their denominators; titles and axes use plain words.
"""

from __future__ import annotations

from typing import Any

import altair as alt

CONTINUED, IN_WINDOW, DROPPED = "continued", "dropped, still in window", "dropped"
SEGMENT_COLORS = alt.Scale(domain=[CONTINUED, IN_WINDOW, DROPPED],
                           range=["#4c78a8", "#f2cf5b", "#e45756"])
WIDTH = 520


def label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def data(rows: list[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=rows)


def biggest_drop(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The pain point: the stage with the highest drop-off rate (all persons)."""
    candidates = [r for r in rows if r["group"] == "all" and r["drop_off_rate"] is not None]
    return max(candidates, key=lambda r: (r["drop_off_rate"], -r["step"]), default=None)
