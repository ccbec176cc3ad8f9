"""The readable table (output.print_table): nothing is cut short at any width, numbers are
right-aligned, titles give as_of in the command's --tz (decision 231)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from engine_cases import invoke
from journey_metrics.metrics.registry import Column, Kind
from journey_metrics.output import OutputFormat, fit_widths, print_rows

COLUMNS = (Column("group", Kind.text), Column("step", Kind.count), Column("stage", Kind.text),
           Column("persons", Kind.count), Column("conversion_from_previous", Kind.ratio),
           Column("conversion_from_start", Kind.ratio), Column("drop_off", Kind.count),
           Column("drop_off_rate", Kind.ratio), Column("in_progress", Kind.count),
           Column("median_hours_from_previous", Kind.hours), Column("revenue", Kind.money),
           Column("period", Kind.date), Column("item", Kind.text))
ROWS = [
    {"group": "all", "step": 1, "stage": "acquisition", "persons": 2_345_678,
     "conversion_from_previous": 0.1923, "conversion_from_start": 0.1923, "drop_off": 19_000,
     "drop_off_rate": 0.8077, "in_progress": 161, "median_hours_from_previous": 43.4,
     "revenue": 5_290_612.25, "period": "2026-03-01",
     "item": "trait:hs_analytics_source=ORGANIC_SEARCH"},
    {"group": "all", "step": 2, "stage": "activation", "persons": 91,
     "conversion_from_previous": None, "conversion_from_start": 1.0, "drop_off": 0,
     "drop_off_rate": 0.0, "in_progress": 0, "median_hours_from_previous": 0.0216,
     "revenue": 0.0, "period": "2026-04-01",
     "item": "trait:hs_analytics_source=ORGANIC_SOCIAL [beta]"},
]


def printed(width: int, rows: list[dict] | None = None,
            columns: tuple[Column, ...] = COLUMNS) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    print_rows(console, rows if rows is not None else ROWS, columns, OutputFormat.table,
               title="AARRR funnel, window 30d, as of 2026-04-04 23:40 UTC",
               caption="biggest drop-off: before revenue (82.6%)")
    return out.getvalue()


def cells(text: str) -> list[str]:
    """Every cell's text on every line of the table body, stripped."""
    return [c.strip() for line in text.splitlines() if line.startswith("│")
            for c in line.strip("│").split("│")]


@pytest.mark.parametrize("width", [40, 80, 100, 200])
def test_no_value_or_name_is_ever_cut(width: int) -> None:
    """At 80 columns the funnel printed `2,…`, `19.…`, stage `acq…`, headers `gro…`; two items
    read the same `trait:hs_analytics_sourc…`. Every value is whole on one line, names too."""
    text = printed(width)
    assert "…" not in text
    shown = cells(text)
    for value in ("2,345,678", "19.2%", "80.8%", "19,000", "43.4", "0.022", "5,290,612.25",
                  "2026-03-01", "acquisition", "trait:hs_analytics_source=ORGANIC_SEARCH",
                  "trait:hs_analytics_source=ORGANIC_SOCIAL"):
        assert value in shown, (value, text)
    assert "[beta]" in text  # a value is never read as markup
    heads = " ".join(line for line in text.splitlines() if line.startswith("┃"))
    for word in ("group", "conversion", "previous", "median", "hours", "progress"):
        assert re.search(rf"\b{word}\b", heads), (word, text)


def test_a_table_that_fits_is_not_widened_and_one_that_cannot_is_as_wide_as_it_needs() -> None:
    lines = printed(200).splitlines()
    assert max(len(line) for line in lines) <= 200
    narrow = printed(40).splitlines()
    table = [line for line in narrow if line[:1] in "┏┃┡│└"]
    assert len({len(line) for line in table}) == 1  # whole lines, none cropped
    assert len(table[0]) > 40


@pytest.mark.parametrize("width", [20, 40, 80])
def test_a_table_with_nothing_to_wrap_is_whole_at_any_width(width: int) -> None:
    """One word per header and cell (the run's summary): nothing can wrap, so nothing may be
    cut either (`so…`, `qu…` at 40 columns)."""
    from journey_metrics.output import print_table

    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    headers = ["source", "files", "records", "events", "duplicates", "quarantined", "failed"]
    print_table(console, headers, [True] + [False] * 6,
                [["web", "90", "5565", "5518", "4", "6", "0"],
                 ["email", "90", "885", "880", "4", "1", "0"]], title="journey-metrics run x")
    text = out.getvalue()
    assert "…" not in text
    assert cells(text) == ["web", "90", "5565", "5518", "4", "6", "0",
                           "email", "90", "885", "880", "4", "1", "0"]
    assert all(h in text for h in headers)


def test_fit_widths_shrinks_the_widest_first_and_never_below_a_minimum() -> None:
    assert fit_widths([3, 5], [10, 6], 20) == [10, 6]
    assert fit_widths([3, 5], [10, 6], 12) == [6, 6]
    assert fit_widths([3, 5], [10, 6], 9) == [4, 5]
    assert fit_widths([3, 5], [10, 6], 1) == [3, 5]


def test_integers_are_right_aligned_even_a_period_number() -> None:
    """Retention's (and LTV's) `period` number was left-aligned, unlike every other count."""
    from journey_metrics.metrics.registry import built_in

    for name in ("retention", "ltv"):
        metric = built_in(name)
        assert metric is not None
        period = next(c for c in metric.columns_for(metric.defaults()) if c.name == "period")
        assert period.kind is Kind.count
        assert not period.align_left
    assert not Column("n", Kind.count, left=True).align_left
    assert Column("cohort", Kind.date).align_left
    text = printed(80, [{"period": 0}, {"period": 12}], (Column("period", Kind.count),))
    assert "│      0 │" in text
    assert "│     12 │" in text


def test_as_of_is_shown_in_the_commands_time_zone() -> None:
    from journey_metrics.metrics.common import as_of_label

    at = datetime(2026, 4, 4, 23, 40, tzinfo=UTC)
    assert as_of_label(at, ZoneInfo("UTC")) == "as of 2026-04-04 23:40 UTC"
    assert as_of_label(at, ZoneInfo("Asia/Ho_Chi_Minh")) == (
        "as of 2026-04-05 06:40 Asia/Ho_Chi_Minh (UTC+07:00)")
    assert as_of_label(at, ZoneInfo("America/St_Johns")) == (
        "as of 2026-04-04 21:10 America/St_Johns (UTC-02:30)")


def test_titles_of_funnel_and_paths_follow_tz(sample_export: tuple[Path, Path]) -> None:
    db = str(sample_export[0])
    utc = invoke(["funnel", "--db", db, "--framework", "aarrr"]).splitlines()[0]
    local = invoke(["funnel", "--db", db, "--framework", "aarrr",
                    "--tz", "Asia/Ho_Chi_Minh"]).splitlines()[0]
    when = re.search(r"as of (\S+ \S+) UTC", utc)
    assert when is not None, utc
    shifted = (datetime.fromisoformat(when.group(1)).replace(tzinfo=UTC)
               .astimezone(ZoneInfo("Asia/Ho_Chi_Minh")))
    assert f"as of {shifted:%Y-%m-%d %H:%M} Asia/Ho_Chi_Minh (UTC+07:00)" in local
    paths = invoke(["paths", "--db", db, "--tz", "Asia/Ho_Chi_Minh"]).splitlines()[0]
    assert f"as of {shifted:%Y-%m-%d %H:%M} Asia/Ho_Chi_Minh (UTC+07:00)" in paths
