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
    from rich.table import Table

    table = Table(title=title or None, caption=caption)
    for column in columns:
        table.add_column(column.name.replace("_", " "),
                         justify="left" if column.align_left else "right")
    for row in rows:
        style = "bold red" if highlight and highlight(row) else None
        table.add_row(*(format_cell(row.get(c.name), c.kind) for c in columns), style=style)
    console.print(table)
