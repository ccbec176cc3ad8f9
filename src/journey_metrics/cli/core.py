"""The core commands: run, export, generate, report, serve, demo (CONTRACT §5).

Metric commands are not here: they are made from the registry (cli/metric_commands.py).
Heavy modules (the loader, pandera, Altair, Prefect) are imported inside the commands that use
them, so `--help` and the metric commands start fast.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from journey_metrics.cli.app import (
    DbOption,
    TzOption,
    announce,
    app,
    folder_or_new,
    real_console,
    stderr,
    stdout,
)
from journey_metrics.errors import NoSourceFolder, UsageError
from journey_metrics.resources import DEFAULT_DB, resource_dir

if TYPE_CHECKING:
    from journey_metrics.pipeline import RunSummary


class RunEngine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


class RunFormat(StrEnum):
    table = "table"
    json = "json"


def _run_with_progress(
    input_dir: Path, db: Path, show: bool, wait_seconds: float = 0, channels: Path | None = None
) -> RunSummary:
    from journey_metrics import pipeline

    if not show:
        return pipeline.run(
            input_dir, db, announce=announce, wait_seconds=wait_seconds, channels=channels
        )
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
    )
    with Progress(*columns, console=real_console(stderr), transient=True) as bar:
        tasks: dict[str, object] = {}

        def progress(source: str, label: str, done: int, total: int) -> None:
            if source not in tasks:
                tasks[source] = bar.add_task(source, total=max(total, 1), current="")
            bar.update(tasks[source], completed=done, current=label)  # type: ignore[arg-type]

        return pipeline.run(
            input_dir, db, progress=progress, announce=announce, wait_seconds=wait_seconds,
            channels=channels,
        )


@app.command()
def run(
    input_dir: Annotated[str, typer.Option(
        "--input", help="Folder with web/, email/, crm/ (with --engine spark: or a URL).")],
    db: DbOption = DEFAULT_DB,
    output_format: Annotated[RunFormat, typer.Option("--format")] = RunFormat.table,
    report_dir: Annotated[
        Path | None, typer.Option("--report", help="Also write the dashboard into this folder.",
                                  callback=folder_or_new)
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", min=0, help="Wait up to N seconds for a locked warehouse.")
    ] = 0,
    channels: Annotated[
        Path | None,
        typer.Option("--channels", help="Channel rules file (custom channel groups); the"
                     " warehouse (or the Spark lake) keeps them for later commands."),
    ] = None,
    engine: Annotated[
        RunEngine, typer.Option("--engine", help="duckdb (default: the warehouse) or spark"
                                " (writes the lake given by --lake).")
    ] = RunEngine.duckdb,
    lake: Annotated[
        str | None,
        typer.Option("--lake", help="--engine spark: the lake folder or URL to load into."),
    ] = None,
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="Spark master URL (default local[*]).")
    ] = None,
    spark_remote: Annotated[
        str | None, typer.Option("--spark-remote", help="Spark Connect URL sc://HOST:PORT.")
    ] = None,
) -> None:
    """Load new input files into the warehouse (incremental, idempotent), then stitch persons."""
    if engine is RunEngine.spark:
        summary = _run_on_spark(input_dir, lake, spark_master, spark_remote,
                                report_dir=report_dir, channels=channels, db=db)
        _print_run(summary, output_format)
        return
    if lake is not None:
        raise UsageError("--lake needs --engine spark (DuckDB loads the warehouse --db; "
                         "`export` writes a lake from it)")
    if spark_master or spark_remote:
        raise UsageError("--spark-master and --spark-remote need --engine spark")
    show_progress = output_format is RunFormat.table and stderr.is_terminal
    summary = _run_with_progress(Path(input_dir), db, show_progress, wait, channels)
    if output_format is RunFormat.json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        _print_run_summary(summary)
    _print_run_notes(summary)  # before the dashboard, whose writing may fail
    if report_dir is not None:
        page = _write_report(db, report_dir)
        stderr.print(f"dashboard: {page.resolve()}", highlight=False, markup=False)


def _run_on_spark(input_dir: str, lake: str | None, master: str | None, remote: str | None,
                  *, report_dir: Path | None, channels: Path | None, db: Path) -> RunSummary:
    if lake is None:
        raise UsageError("--engine spark needs --lake DIR_OR_URL (the lake to load into)")
    if master and remote:
        raise UsageError("give --spark-master or --spark-remote, not both")
    if report_dir is not None:
        raise UsageError("--report needs the DuckDB warehouse; with --engine spark run the "
                         "metric commands with --events LAKE")
    if db != DEFAULT_DB:
        raise UsageError("--db is the DuckDB warehouse; with --engine spark give --lake")
    from journey_metrics.engines.spark_ingest import run_spark

    return run_spark(input_dir, lake, master=master, remote=remote, announce=announce,
                     channels=channels)


def _print_run(summary: RunSummary, output_format: RunFormat) -> None:
    if output_format is RunFormat.json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        _print_run_summary(summary)
    _print_run_notes(summary)


def _print_run_notes(summary: RunSummary) -> None:
    """What a nightly job's operator must not miss, on stderr: files that could not be read
    (this run, or an earlier one and unchanged since: they are skipped, not read again) and
    the records this run quarantined (in the warehouse, or the lake's quarantine dataset)."""
    if any(s.failed_files for s in summary.sources):
        stderr.print("[yellow]some files could not be read; see the failed files above[/]")
    earlier = summary.unreadable_unchanged
    if earlier:
        listed = "; ".join(f"{r.file_path} ({r.earlier_failure})" for r in earlier[:5])
        stderr.print(f"note: {len(earlier)} unchanged file(s) could not be read in an earlier run"
                     f" and are skipped: {listed}{'; ...' if len(earlier) > 5 else ''}",
                     highlight=False, soft_wrap=True, markup=False)
    for cut in summary.cut_reads:
        stderr.print(
            f"warning: {cut.file_path} line {cut.cut_line}: an earlier run read this file while "
            "it was being written, and its read ended inside this line: an event that run "
            "loaded from the cut line stays as it was (an event id keeps its first version). "
            "Check that line's events, or load the input again into a new warehouse; write "
            "input files under another name and rename them when complete "
            "(docs/operations.md)",
            highlight=False, soft_wrap=True, markup=False)
    quarantined = sum(s.quarantined for s in summary.sources)
    if quarantined:
        from journey_metrics.pipeline import quarantine_query

        records = sum(s.records for s in summary.sources)
        lake = summary.location  # run --engine spark
        where = (f"{lake.rstrip('/')}/quarantine.parquet: the rows of the files of run_id"
                 f" {summary.run_id} in files.parquet" if lake else
                 quarantine_query(summary.run_id))
        stderr.print(f"note: {quarantined} of {records} records read were quarantined ({where})",
                     highlight=False, soft_wrap=True, markup=False)
        for line in _quarantine_by_file(summary):
            stderr.print(line, highlight=False, soft_wrap=True, markup=False)


_QUARANTINED_FILES_SHOWN = 5


def _quarantine_by_file(summary: RunSummary) -> list[str]:
    """The files with the most records this run quarantined, each with its count and (from the
    warehouse) its most common reason, so a nightly log says where to look without a query."""
    counted = sorted(((r.quarantined, r.file_path) for s in summary.sources
                      for r in s.file_results if r.quarantined), key=lambda c: (-c[0], c[1]))
    shown = counted[:_QUARANTINED_FILES_SHOWN]
    reasons: dict[str, str] = {}
    if shown and summary.location is None:  # the lake's quarantine is not read here
        import duckdb

        try:
            with duckdb.connect(str(summary.db_path), read_only=True) as con:
                # this run's rows only (a line quarantined before, in a file read again grown,
                # keeps the earlier run's: then no reason is given rather than an old one)
                reasons = dict(con.execute(
                    "SELECT file_path, mode(reason) FROM _jm_quarantine WHERE run_id = ?"
                    " AND file_path IN (SELECT unnest(?::VARCHAR[])) GROUP BY file_path",
                    [summary.run_id, [path for _, path in shown]]).fetchall())
        except duckdb.Error:
            pass  # the counts alone (another process holds the warehouse)
    lines = [f"  {path}: {count} quarantined"
             + (f", most often: {reasons[path]}" if path in reasons else "")
             for count, path in shown]
    if len(counted) > len(shown):
        lines.append(f"  ... and {len(counted) - len(shown)} more file(s)")
    return lines


def _print_run_summary(summary: RunSummary) -> None:
    from rich.text import Text

    from journey_metrics.output import print_table

    headers = ("source", "files", "records", "events", "duplicates", "quarantined", "failed")
    print_table(
        stdout, headers, [h == "source" for h in headers],
        [[s.source, *(str(n) for n in (s.files, s.records, s.events, s.duplicates,
                                       s.quarantined, s.failed_files))]
         for s in summary.sources],
        title=f"journey-metrics run {summary.run_id}",
    )
    for s in summary.sources:
        for r in s.file_results:
            if r.status == "failed":
                # one line whatever the terminal's width: `grep failed nightly.log` finds it all
                stdout.print(Text.assemble(("failed ", "red"), f"{r.file_path}: {r.reason}"),
                             highlight=False, soft_wrap=True)
    where = (f"lake {summary.location}" if summary.location is not None
             else f"warehouse {summary.db_path}")
    stdout.print(
        f"{where}: {summary.events_total} events, {summary.persons} persons",
        highlight=False,
    )
    excluded = summary.currency.get("excluded_orders")
    if excluded:
        stdout.print(
            f"revenue in {summary.currency.get('reporting')}: {excluded} orders in other "
            "currencies are excluded from revenue (revenue --currency CODE to choose)",
            highlight=False, markup=False,
        )


@app.command()
def export(
    out: Annotated[Path, typer.Option(
        "--out", help="Folder for the lake: events.parquet, persons.parquet and what metrics "
        "read beside them (traits, identity, quarantine, files).", callback=folder_or_new)],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write the warehouse's events and persons (and the lake's other tables) as Parquet."""
    from journey_metrics.export import export as export_parquet

    result = export_parquet(db, out)
    typer.echo(f"{result.events_path} ({result.events} events)")
    typer.echo(f"{result.persons_path} ({result.persons} persons)")


@app.command()
def generate(
    persons: Annotated[int, typer.Option("--persons", min=1, help="How many persons.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the input layout into: "
                                   "new, empty, or one generate wrote before.",
                                   callback=folder_or_new)],
    seed: Annotated[int, typer.Option("--seed")] = 42,
    days: Annotated[int, typer.Option("--days", min=1, help="Days of activity.")] = 90,
    gzip_files: Annotated[bool, typer.Option("--gzip", help="Write every file as .gz")] = False,
) -> None:
    """Write realistic synthetic input (web, email, CRM) in the input layout."""
    from journey_metrics_synth import generate as generate_input
    from journey_metrics_synth import gzip_outputs

    summary = generate_input(out, persons, seed, days=days)
    if gzip_files:
        gzip_outputs(out)
    records = ", ".join(f"{k}: {v}" for k, v in summary.records.items())
    typer.echo(f"wrote {summary.files} files for {summary.persons} persons to {out} ({records})")


def _write_report(db: Path, out: Path, tz: str = "UTC", spend: Path | None = None,
                  lang: str | None = None) -> Path:
    from journey_metrics.report import build_report

    try:
        if not stderr.is_terminal:
            return build_report(db, out, tz, spend=spend, lang=lang)
        with stderr.status("writing the dashboard") as status:
            return build_report(
                db, out, tz, progress=lambda chart: status.update(f"drawing {chart}"),
                spend=spend, lang=lang,
            )
    except OSError as exc:  # a write to an open file names none: the dashboard's folder, then
        if exc.filename or not exc.strerror:
            raise
        raise OSError(exc.errno, exc.strerror, str(out)) from exc


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="Folder for index.html and PNGs.",
                                   callback=folder_or_new)],
    db: DbOption = DEFAULT_DB,
    tz: TzOption = "UTC",
    spend: Annotated[
        Path | None,
        typer.Option("--spend", help="Spend CSV (date, channel, campaign, cost): cost, CPA and "
                     "ROAS per channel in 'Channels and money'."),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of the page: en or vi (default: lang: in "
                     "config/report.yaml, else en)."),
    ] = None,
) -> None:
    """Write the self-contained HTML dashboard (works offline) and one PNG per chart."""
    page = _write_report(db, out, tz, spend, lang)
    typer.echo(str(page.resolve()))


@app.command()
def serve(
    input_dir: Annotated[Path, typer.Option("--input", help="Folder with web/, email/, crm/.")],
    report_dir: Annotated[
        Path, typer.Option("--report", help="Dashboard folder.", callback=folder_or_new)
    ],
    db: DbOption = DEFAULT_DB,
    cron: Annotated[
        str | None, typer.Option("--cron", help="Cron schedule (default: 02:00 every night).")
    ] = None,
    interval: Annotated[
        int | None, typer.Option("--interval", min=1, help="Run every N seconds instead.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Deployment name.")] = "nightly",
    channels: Annotated[
        Path | None,
        typer.Option("--channels", help="Channel rules file (custom channel groups), as for"
                     " run: the warehouse keeps them for later commands."),
    ] = None,
) -> None:
    """Serve the nightly Prefect flow on a schedule (needs a running `prefect server start`)."""
    import os

    if cron and interval:
        raise UsageError("give either --cron or --interval, not both")
    if not os.environ.get("PREFECT_API_URL"):
        announce("PREFECT_API_URL is not set: start `prefect server start` and set "
                  "PREFECT_API_URL=http://127.0.0.1:4200/api (see README, Scheduling)")
    from journey_metrics.pipeline import plan_run

    # what a run would refuse is refused now, not at the first scheduled run, hours later: a
    # missing folder, an unknown source folder, a bad source or channel config; a folder still
    # without source folders may be waiting for its first exports, so it is a warning
    try:
        plan_run(input_dir)
    except NoSourceFolder as exc:
        announce(f"{exc}; the scheduled runs fail until one is there")
    if channels is not None:
        from journey_metrics.channels import load_rules_file

        load_rules_file(channels)
    import sys

    # The flow lives in pipelines/ (orchestration depends on the core, never the reverse): hand
    # over to its own entry point in this same process, so signals reach the server loop.
    schedule = ["--interval", str(interval)] if interval else ["--cron", cron or "0 2 * * *"]
    os.execv(sys.executable, [
        sys.executable, "-m", "pipelines.nightly", "serve", "--input", str(input_dir.resolve()),
        "--db", str(db.resolve()), "--report", str(report_dir.resolve()), "--name", name,
        *schedule, *(["--channels", str(channels.resolve())] if channels else []),
    ])


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where to put the demo warehouse.",
                                   callback=folder_or_new)] = Path(
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
