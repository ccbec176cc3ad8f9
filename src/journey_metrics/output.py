"""Printing tidy metric rows: JSON (an array of objects), CSV, or a readable table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


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
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return buffer.getvalue()


PERCENT_COLUMNS = frozenset({
    "conversion_from_previous", "conversion_from_start", "drop_off_rate", "ci_low", "ci_high",
    "rate", "referral_rate", "invite_conversion_rate", "referred_share",
})


def format_cell(value: Any, column: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if column in PERCENT_COLUMNS:
            return f"{value:.1%}"
        if column == "k_factor":
            return f"{value:.3f}"
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_rows(
    console: Console,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
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
        console.file.write(rows_to_csv(rows, columns))
        return
    table = Table(title=title or None, caption=caption)
    for column in columns:
        table.add_column(column.replace("_", " "), justify="left" if column in (
            "group", "stage", "cohort", "period") else "right")
    for row in rows:
        style = "bold red" if highlight and highlight(row) else None
        table.add_row(*(format_cell(row.get(c), c) for c in columns), style=style)
    console.print(table)
