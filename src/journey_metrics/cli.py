"""The `journey-metrics` command line (CONTRACT §5). Thin: parse, call, print."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from journey_metrics import pipeline
from journey_metrics.db import DEFAULT_DB
from journey_metrics.errors import JourneyMetricsError, UsageError
from journey_metrics.output import OutputFormat, print_rows
from journey_metrics.resources import resource_dir

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Turn raw web, email and CRM events into customer-journey metrics.",
)
# Piped output (a file, `less`) gets a wide fixed width so tables are not squeezed to 80 columns.
stdout = Console(width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True)


class RunFormat(StrEnum):
    table = "table"
    json = "json"


DbOption = Annotated[Path, typer.Option("--db", help="DuckDB warehouse file.")]


def _announce(message: str) -> None:
    stderr.print(Text.assemble(("note: ", "yellow"), message), highlight=False)


def _run_with_progress(
    input_dir: Path, db: Path, show: bool, wait_seconds: float = 0, channels: Path | None = None
) -> pipeline.RunSummary:
    if not show:
        return pipeline.run(
            input_dir, db, announce=_announce, wait_seconds=wait_seconds, channels=channels
        )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
    )
    with Progress(*columns, console=stderr, transient=True) as bar:
        tasks: dict[str, object] = {}

        def progress(source: str, label: str, done: int, total: int) -> None:
            if source not in tasks:
                tasks[source] = bar.add_task(source, total=max(total, 1), current="")
            bar.update(tasks[source], completed=done, current=label)  # type: ignore[arg-type]

        return pipeline.run(
            input_dir, db, progress=progress, announce=_announce, wait_seconds=wait_seconds,
            channels=channels,
        )


@app.command()
def run(
    input_dir: Annotated[Path, typer.Option("--input", help="Folder with web/, email/, crm/.")],
    db: DbOption = DEFAULT_DB,
    output_format: Annotated[RunFormat, typer.Option("--format")] = RunFormat.table,
    report_dir: Annotated[
        Path | None, typer.Option("--report", help="Also write the dashboard into this folder.")
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", min=0, help="Wait up to N seconds for a locked warehouse.")
    ] = 0,
    channels: Annotated[
        Path | None,
        typer.Option("--channels", help="Channel rules file (custom channel groups); the"
                     " warehouse keeps them for later commands."),
    ] = None,
) -> None:
    """Load new input files into the warehouse (incremental, idempotent), then stitch persons."""
    show_progress = output_format is RunFormat.table and stderr.is_terminal
    summary = _run_with_progress(input_dir, db, show_progress, wait, channels)
    if output_format is RunFormat.json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        _print_run_summary(summary)
    if report_dir is not None:
        page = _write_report(db, report_dir)
        stderr.print(f"dashboard: {page.resolve()}", highlight=False, markup=False)
    if any(s.failed_files for s in summary.sources):
        stderr.print("[yellow]some files could not be read; see the failed files above[/]")


def _print_run_summary(summary: pipeline.RunSummary) -> None:
    table = Table(title=f"journey-metrics run {summary.run_id}")
    for column in ("source", "files", "records", "events", "duplicates", "quarantined", "failed"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for s in summary.sources:
        table.add_row(
            s.source, str(s.files), str(s.records), str(s.events), str(s.duplicates),
            str(s.quarantined), str(s.failed_files),
        )
    stdout.print(table)
    for s in summary.sources:
        for r in s.file_results:
            if r.status == "failed":
                stdout.print(Text.assemble(("failed ", "red"), f"{r.file_path}: {r.reason}"),
                             highlight=False)
    stdout.print(
        f"warehouse {summary.db_path}: {summary.events_total} events, {summary.persons} persons",
        highlight=False,
    )


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder for events.parquet, persons.parquet")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write the warehouse's events and persons as Parquet files."""
    from journey_metrics.export import export as export_parquet

    result = export_parquet(db, out)
    typer.echo(f"{result.events_path} ({result.events} events)")
    typer.echo(f"{result.persons_path} ({result.persons} persons)")


@app.command()
def generate(
    persons: Annotated[int, typer.Option("--persons", min=1, help="How many persons.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the input layout into.")],
    seed: Annotated[int, typer.Option("--seed")] = 42,
    days: Annotated[int, typer.Option("--days", min=1, help="Days of activity.")] = 90,
    gzip_files: Annotated[bool, typer.Option("--gzip", help="Write every file as .gz")] = False,
) -> None:
    """Write realistic synthetic input (web, email, CRM) in the input layout."""
    import gzip
    import shutil

    from journey_metrics.generate import generate as generate_input

    summary = generate_input(out, persons, seed, days=days)
    if gzip_files:
        for path in sorted(p for p in out.glob("*/*") if p.suffix != ".gz"):
            # mtime=0 keeps the compressed bytes reproducible for the same seed
            with path.open("rb") as src, gzip.GzipFile(
                path.with_name(path.name + ".gz"), "wb", mtime=0
            ) as dst:
                shutil.copyfileobj(src, dst)
            path.unlink()
    records = ", ".join(f"{k}: {v}" for k, v in summary.records.items())
    typer.echo(f"wrote {summary.files} files for {summary.persons} persons to {out} ({records})")


def _write_report(db: Path, out: Path, tz: str = "UTC") -> Path:
    from journey_metrics.report import build_report

    if not stderr.is_terminal:
        return build_report(db, out, tz)
    with stderr.status("writing the dashboard") as status:
        return build_report(
            db, out, tz, progress=lambda chart: status.update(f"drawing {chart}")
        )


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="Folder for index.html and PNGs.")],
    db: DbOption = DEFAULT_DB,
    tz: TzOption = "UTC",
) -> None:
    """Write the self-contained HTML dashboard (works offline) and one PNG per chart."""
    page = _write_report(db, out, tz)
    typer.echo(str(page.resolve()))


@app.command()
def serve(
    input_dir: Annotated[Path, typer.Option("--input", help="Folder with web/, email/, crm/.")],
    report_dir: Annotated[Path, typer.Option("--report", help="Dashboard folder.")],
    db: DbOption = DEFAULT_DB,
    cron: Annotated[
        str | None, typer.Option("--cron", help="Cron schedule (default: 02:00 every night).")
    ] = None,
    interval: Annotated[
        int | None, typer.Option("--interval", min=1, help="Run every N seconds instead.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Deployment name.")] = "nightly",
) -> None:
    """Serve the nightly Prefect flow on a schedule (needs a running `prefect server start`)."""
    import os

    if cron and interval:
        raise UsageError("give either --cron or --interval, not both")
    if not os.environ.get("PREFECT_API_URL"):
        _announce("PREFECT_API_URL is not set: start `prefect server start` and set "
                  "PREFECT_API_URL=http://127.0.0.1:4200/api (see README, Scheduling)")
    if not input_dir.is_dir():
        raise UsageError(f"input folder {input_dir} does not exist or is not a folder")
    from pipelines.nightly import nightly

    schedule: dict[str, object] = (
        {"interval": interval} if interval else {"cron": cron or "0 2 * * *"}
    )
    nightly.serve(
        name=name,
        parameters={"input_dir": str(input_dir.resolve()), "db": str(db.resolve()),
                    "report_dir": str(report_dir.resolve())},
        **schedule,  # type: ignore[arg-type]
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where to put the demo warehouse.")] = Path(
        "out/demo"
    ),
) -> None:
    """Run the whole pipeline on the bundled sample data and write the dashboard."""
    sample = resource_dir("data/sample")
    db = out / "journey.duckdb"
    out.mkdir(parents=True, exist_ok=True)
    summary = _run_with_progress(sample, db, stderr.is_terminal)
    _print_run_summary(summary)
    page = _write_report(db, out / "report")
    typer.echo(f"warehouse: {db.resolve()}")
    typer.echo(f"dashboard: {page.resolve()}")


FUNNEL_COLUMNS = (
    "group", "step", "stage", "persons", "conversion_from_previous", "conversion_from_start",
    "drop_off", "drop_off_rate", "in_progress", "median_hours_from_previous", "ci_low", "ci_high",
)


class Entry(StrEnum):
    best = "best"
    first = "first"


class Order(StrEnum):
    ordered = "ordered"
    unordered = "unordered"


class ByGroup(StrEnum):
    channel = "channel"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="table (default), json or csv")
]
TzOption = Annotated[str, typer.Option("--tz", help="Time zone for dates and calendar periods.")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="ISO 8601 instant; default: the latest event.")
]


T = TypeVar("T")


def _query_warehouse(
    db: Path, tz: str, as_of: str | None,
    compute: Callable[[duckdb.DuckDBPyConnection, datetime, ZoneInfo], T],
) -> T:
    """Open the warehouse read-only, resolve --tz and --as-of, run `compute`, close."""
    from journey_metrics.metrics.common import resolve_as_of, zone
    from journey_metrics.warehouse import open_for_reading

    zone_info = zone(tz)
    con = open_for_reading(db)
    try:
        return compute(con, resolve_as_of(con, as_of, zone_info), zone_info)
    finally:
        con.close()


@app.command()
def funnel(
    framework: Annotated[str, typer.Option("--framework", help="Built-in name or YAML file.")],
    db: DbOption = DEFAULT_DB,
    window: Annotated[
        str | None, typer.Option("--window", help="Conversion window, e.g. 7d.")
    ] = None,
    entry: Annotated[Entry, typer.Option("--entry")] = Entry.best,
    order: Annotated[Order, typer.Option("--order")] = Order.ordered,
    from_: Annotated[str | None, typer.Option("--from", help="Entries from this date.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Entries before this date.")] = None,
    by: Annotated[ByGroup | None, typer.Option("--by", help="Split by channel.")] = None,
    as_of: AsOfOption = None,
    tz: TzOption = "UTC",
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Persons per stage of a framework, with conversion and drop-off (CONTRACT §4 Funnel)."""
    from journey_metrics.config import load_framework, parse_window
    from journey_metrics.metrics.common import parse_instant
    from journey_metrics.metrics.funnel import FunnelQuery, compute_funnel

    spec = load_framework(framework, warn=_announce)
    try:
        window_delta = parse_window(window) if window else spec.window_delta
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from None

    def compute(
        con: duckdb.DuckDBPyConnection, as_of_at: datetime, zone_info: ZoneInfo
    ) -> tuple[FunnelQuery, list[dict[str, Any]]]:
        query = FunnelQuery(
            framework=spec,
            window=window_delta,
            as_of=as_of_at,
            entry=entry.value,
            order=order.value,
            from_at=parse_instant(from_, zone_info, "--from") if from_ else None,
            to_at=parse_instant(to, zone_info, "--to") if to else None,
            by_channel=by is ByGroup.channel,
        )
        return query, compute_funnel(con, query)

    query, rows = _query_warehouse(db, tz, as_of, compute)
    worst = max(
        (r for r in rows if r["group"] == "all" and r["drop_off_rate"] is not None),
        key=lambda r: r["drop_off_rate"],
        default=None,
    )
    print_rows(
        stdout, rows, FUNNEL_COLUMNS, output_format,
        title=f"{spec.label} funnel, window {window or spec.window}, "
        f"as of {query.as_of:%Y-%m-%d %H:%M} UTC",
        highlight=lambda r: r is worst,
        caption=(f"biggest drop-off: before {worst['stage']} ({worst['drop_off_rate']:.1%})"
                 if worst else None),
    )


class RetentionPeriod(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class Period(StrEnum):
    week = "week"
    month = "month"


@app.command()
def retention(
    framework: Annotated[str, typer.Option("--framework", help="Built-in name or YAML file.")],
    start: Annotated[str, typer.Option("--start", help="Stage that puts a person in a cohort.")],
    db: DbOption = DEFAULT_DB,
    return_rule: Annotated[
        str, typer.Option("--return", help="`any` activity, or a stage name.")
    ] = "any",
    period: Annotated[RetentionPeriod, typer.Option("--period")] = RetentionPeriod.week,
    cumulative: Annotated[
        bool, typer.Option("--cumulative", help="Retained = returned in period n or later.")
    ] = False,
    tz: TzOption = "UTC",
    as_of: AsOfOption = None,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Cohorts by the period of their first start-stage event, and who comes back (CONTRACT §4)."""
    from journey_metrics.config import load_framework
    from journey_metrics.metrics.retention import (
        RETENTION_COLUMNS,
        RetentionQuery,
        compute_retention,
    )

    spec = load_framework(framework, warn=_announce)
    rows = _query_warehouse(db, tz, as_of, lambda con, as_of_at, _zone: compute_retention(
        con, RetentionQuery(framework=spec, start_stage=start, return_rule=return_rule,
                            period=period.value, tz=tz, as_of=as_of_at, cumulative=cumulative),
    ))
    print_rows(
        stdout, rows, RETENTION_COLUMNS, output_format,
        title=f"Retention: {spec.label}, cohorts by {period.value} of first {start}, "
        f"return {'on or after' if cumulative else 'on'} period n: {return_rule}",
        caption="the period containing as_of has not ended: retained is blank (-)",
    )


@app.command()
def referral(
    db: DbOption = DEFAULT_DB,
    period: Annotated[Period, typer.Option("--period")] = Period.month,
    tz: TzOption = "UTC",
    as_of: AsOfOption = None,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Referrers, invites, referred signups and k-factor per period (CONTRACT §4 Referral)."""
    from journey_metrics.metrics.referral import REFERRAL_COLUMNS, compute_referral

    rows = _query_warehouse(db, tz, as_of, lambda con, as_of_at, _zone: compute_referral(
        con, period=period.value, tz=tz, as_of=as_of_at))
    print_rows(stdout, rows, REFERRAL_COLUMNS, output_format, title=f"Referral by {period.value}")


@app.command()
def nps(
    db: DbOption = DEFAULT_DB,
    period: Annotated[Period, typer.Option("--period")] = Period.month,
    by: Annotated[ByGroup | None, typer.Option("--by", help="Split by channel.")] = None,
    tz: TzOption = "UTC",
    as_of: AsOfOption = None,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Net Promoter Score per period, from each person's latest answer (CONTRACT §4 NPS)."""
    from journey_metrics.metrics.nps import NPS_COLUMNS, compute_nps

    rows = _query_warehouse(db, tz, as_of, lambda con, as_of_at, _zone: compute_nps(
        con, period=period.value, tz=tz, as_of=as_of_at, by_channel=by is ByGroup.channel))
    print_rows(stdout, rows, NPS_COLUMNS, output_format, title=f"NPS by {period.value}")


def main() -> None:
    """Entry point: one-line errors with exit 2 (usage, config) or 1 (failed run)."""
    try:
        app()
    except JourneyMetricsError as exc:
        # markup=False: messages quote user input (names, paths) that may contain [brackets]
        stderr.print(f"error: {exc}", highlight=False, soft_wrap=True, markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, traceback only on request
        if os.environ.get("JOURNEY_METRICS_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        stderr.print(
            f"error: unexpected {type(exc).__name__}: {first} (set JOURNEY_METRICS_DEBUG=1 "
            "for a traceback)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        sys.exit(1)
