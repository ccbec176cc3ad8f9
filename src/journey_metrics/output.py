"""Printing tidy metric rows: JSON (an array of objects), CSV, or a readable table.

How a value is printed follows its column's `Kind` (metrics/registry.py); JSON and CSV keep the
raw values, so scripts never parse formatted numbers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.registry import Column, Kind

if TYPE_CHECKING:
    from rich.console import Console


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def rows_to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(rows), indent=2, ensure_ascii=False, allow_nan=False)


def rows_to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k)) for k in columns})
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    """A value as CSV writes it: null is empty; a flag is `true`/`false` as in the JSON rows
    (Python would write `True`); a list or an object is its JSON text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def format_cell(value: Any, kind: Kind) -> str:
    """A value as the readable table shows it."""
    if value is None:
        return "-"
    if isinstance(value, bool) or kind is Kind.flag:
        return "yes" if value else "no"
    if isinstance(value, float):
        if kind is Kind.ratio:
            return f"{value:.1%}"
        if kind is Kind.number:
            return f"{value:.3f}"
        if kind is Kind.money:
            return f"{value:,.2f}"
        if kind is Kind.hours and 0 < abs(value) < 1:
            # under an hour, two significant digits: a step minutes apart read "0.0" (0.25 h
            # is 15 minutes, 0.0083 h half a minute)
            if abs(value) < 1e-4:
                return f"{value:.1e}"
            shown = f"{value:.2g}"
            return shown if "." in shown else f"{shown}.0"  # (0.999 rounds to 1)
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_rows(
    console: Console,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    output: OutputFormat,
    *,
    title: str = "",
    highlight: Callable[[dict[str, Any]], bool] | None = None,
    caption: str | None = None,
) -> None:
    if output is OutputFormat.json:
        console.file.write(rows_to_json(rows) + "\n")
        return
    if output is OutputFormat.csv:
        console.file.write(rows_to_csv(rows, [c.name for c in columns]))
        return
    cells = [[format_cell(row.get(c.name), c.kind) for c in columns] for row in rows]
    styles = ["bold red" if highlight and highlight(row) else None for row in rows]
    print_table(console, [c.name.replace("_", " ") for c in columns],
                [c.align_left for c in columns], cells, title=title, caption=caption,
                styles=styles)


def print_table(
    console: Console,
    headers: Sequence[str],
    left: Sequence[bool],
    cells: Sequence[Sequence[str]],
    *,
    title: str = "",
    caption: str | None = None,
    styles: Sequence[str | None] | None = None,
) -> None:
    """Every readable table the command line prints (metric rows, the run's summary).

    Nothing is ever cut short (rich's ellipsis made `2,…` of a count, and one name of two
    items): the widths are chosen here. A table wider than the terminal wraps its headers and
    text cells between words, a column never narrower than its longest word, a number whole on
    one line; a table that still does not fit is as wide as it needs (the terminal folds its
    lines; piped output is 200 columns wide)."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    # as Text: a value is shown as it is, never read as markup (a trait `[/]` broke the table)
    table = Table(title=Text(title, style="table.title") if title else None,
                  caption=Text(caption, style="table.caption") if caption else None)
    for header, on_left in zip(headers, left, strict=True):
        table.add_column(Text(header), justify="left" if on_left else "right")
    for index, shown in enumerate(cells):
        table.add_row(*map(Text, shown), style=styles[index] if styles else None)
    widest = [max(map(cell_len, [h, *(r[i] for r in cells)])) for i, h in enumerate(headers)]
    narrowest = [_narrowest(h, [r[i] for r in cells], whole=not on_left)
                 for i, (h, on_left) in enumerate(zip(headers, left, strict=True))]
    borders = 3 * len(headers) + 1  # a space either side of each column, the rules between
    room = console.width - borders
    if sum(widest) > room:  # rich would shrink the columns, with ellipses: set them
        widths = fit_widths(narrowest, widest, room)
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width
        table.width = sum(widths) + borders
    console.print(table, crop=False)


def _narrowest(header: str, values: list[str], *, whole: bool) -> int:
    """The least width a column may have: its longest word, or its longest value when values
    must stay whole on one line (numbers)."""
    from rich.cells import cell_len

    words = header.split() + [w for v in values for w in ([v] if whole else v.split())]
    return max(map(cell_len, words), default=1)


def fit_widths(narrowest: Sequence[int], widest: Sequence[int], room: int) -> list[int]:
    """Column widths that fit `room` if they can: the widest column still above its narrowest
    gives a character, one at a time, until the total fits or every column is at its narrowest
    (the total may then exceed `room`)."""
    widths = [max(w, n, 1) for w, n in zip(widest, narrowest, strict=True)]
    floor = [max(n, 1) for n in narrowest]
    while sum(widths) > room:
        shrinkable = [i for i, w in enumerate(widths) if w > floor[i]]
        if not shrinkable:
            break
        widest_at = max(shrinkable, key=lambda i: (widths[i], -i))
        widths[widest_at] -= 1
    return widths
