"""The nightly Prefect flow: load each source (one task per source), stitch persons, build the
marts and the dashboard, and publish a markdown artifact with the headline numbers.

The flow only orchestrates: every step is a function of `journey_metrics` that the CLI calls too.
Tasks get paths, never DuckDB connections. A locked warehouse is transient and retried; bad data
is not (the load quarantines it, so there is nothing to retry).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from journey_metrics import pipeline
from journey_metrics.config import SourceConfig
from journey_metrics.errors import WarehouseLocked
from journey_metrics.hashing import load_key
from journey_metrics.loader import InputFile, SourceSummary
from journey_metrics.report import build_report

ARTIFACT_KEY = "journey-metrics-nightly"


def _retry_only_when_locked(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only when the warehouse was locked by another process (transient)."""
    try:
        state.result()
    except WarehouseLocked:
        return True
    except Exception:
        return False
    return False


@task(retries=3, retry_delay_seconds=10, retry_condition_fn=_retry_only_when_locked)
def load_source_task(
    db: Path, source: SourceConfig, files: list[InputFile], run_id: str
) -> SourceSummary:
    logger = get_run_logger()
    summary = pipeline.load_one_source(db, source, files, run_id, load_key(logger.info))
    logger.info(
        "%s: %d files, %d records, %d new events, %d duplicates, %d quarantined, %d failed files",
        source.name, summary.files, summary.records, summary.events, summary.duplicates,
        summary.quarantined, summary.failed_files,
    )
    # what must not scroll by (as `run` says on stderr, decision 188)
    for result in summary.file_results:
        if result.status == "failed":
            logger.warning("%s: cannot read %s: %s", source.name, result.file_path, result.reason)
        elif result.earlier_failure:
            logger.warning("%s: %s could not be read in an earlier run and is unchanged"
                           " (skipped): %s", source.name, result.file_path,
                           result.earlier_failure)
    if summary.quarantined:
        logger.warning("%s: %d of %d records quarantined (%s)", source.name, summary.quarantined,
                       summary.records, pipeline.quarantine_query(run_id, source.name))
    return summary


@task(retries=3, retry_delay_seconds=10, retry_condition_fn=_retry_only_when_locked)
def stitch_task(db: Path) -> tuple[int, int]:
    return pipeline.stitch_identities(db, load_key())


@task(retries=3, retry_delay_seconds=10, retry_condition_fn=_retry_only_when_locked)
def refresh_marts_task(db: Path) -> int:
    """Recompute the materialised marts, so the dashboard only draws."""
    return pipeline.refresh_marts(db, load_key())


@task(retries=2, retry_delay_seconds=10, retry_condition_fn=_retry_only_when_locked)
def report_task(db: Path, report_dir: Path) -> Path:
    """Write the dashboard from the materialised marts."""
    return build_report(db, report_dir)


def _markdown(summary: dict[str, Any], page: Path | None) -> str:
    lines = [
        "# journey-metrics nightly run",
        "",
        f"Warehouse: `{summary['warehouse']}`: **{summary['events_total']:,} events**, "
        f"**{summary['persons']:,} persons**.",
        "",
        "| source | files | records | new events | duplicates | quarantined | failed files |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s['source']} | {s['files']} | {s['records']:,} | {s['events']:,} | "
        f"{s['duplicates']:,} | {s['quarantined']:,} | {s['failed_files']} |"
        for s in summary["sources"]
    ]
    for failed in summary["failed_files"]:
        lines.append(f"- failed: `{failed['file']}`: {failed['reason']}")
    for path, reason in summary.get("unreadable_unchanged", []):
        lines.append(f"- still unreadable (unchanged, skipped): `{path}`: {reason}")
    if page is not None:
        lines += ["", f"Dashboard: `{page}`"]
    return "\n".join(lines)


@flow(name="journey-metrics-nightly", log_prints=True)
def nightly(
    input_dir: str, db: str = "journey.duckdb", report_dir: str | None = None,
    channels: str | None = None,
) -> dict[str, Any]:
    """Load new files from `input_dir` into `db`, stitch, and write the dashboard to
    `report_dir` (if given). `channels`: a channel rules file the warehouse keeps (as
    `run --channels`)."""
    input_path, db_path = Path(input_dir), Path(db)
    sources, files = pipeline.plan_run(input_path, db_path)
    key = load_key(get_run_logger().info,
                   existing=f"warehouse {db_path}" if db_path.exists() else None)
    pipeline.prepare_warehouse(db_path, key, Path(channels) if channels else None)
    summary = pipeline.RunSummary(pipeline.new_run_id(), db_path)
    # One process, one DuckDB database: the source tasks run side by side in threads.
    futures = [
        load_source_task.submit(db_path, source, files[source.name], summary.run_id)
        for source in sources
    ]
    summary.sources = [future.result() for future in futures]
    summary.events_total, summary.persons = stitch_task(db_path)
    summary.currency = pipeline.currency(db_path, key)
    refresh_marts_task(db_path)
    pipeline.record_run(db_path, key, summary, input_path, sources)
    page = report_task(db_path, Path(report_dir)) if report_dir else None
    result = summary.as_dict()
    result["report"] = str(page) if page else None
    result["unreadable_unchanged"] = [(r.file_path, r.earlier_failure)
                                      for r in summary.unreadable_unchanged]
    create_markdown_artifact(
        key=ARTIFACT_KEY, markdown=_markdown(result, page),
        description="Headline numbers of the nightly journey-metrics run",
    )
    return result


def _check_cron(spec: str) -> None:
    """Refuse a cron schedule Prefect cannot read, in one line with exit 2 (CONTRACT §5), before
    a server starts: Prefect's own check came after it, as a traceback (decision 215)."""
    import sys

    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=spec)
    except ValidationError:
        print(f"error: --cron {spec!r} is not a cron schedule (minute hour day-of-month"
              " month day-of-week, as '0 2 * * *')", file=sys.stderr)
        raise SystemExit(2) from None


def serve(argv: list[str]) -> None:
    """Serve the flow on a schedule: `python -m pipelines.nightly serve --input DIR --db FILE
    --report DIR (--cron SPEC | --interval SECONDS) [--name NAME] [--channels FILE]` (what
    `journey-metrics serve` hands over to)."""
    import argparse

    parser = argparse.ArgumentParser(prog="pipelines.nightly serve")
    parser.add_argument("--input", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--name", default="nightly")
    parser.add_argument("--cron")
    parser.add_argument("--interval", type=int)
    parser.add_argument("--channels")
    args = parser.parse_args(argv)
    if args.cron:
        _check_cron(args.cron)
    schedule: dict[str, Any] = (
        {"interval": args.interval} if args.interval else {"cron": args.cron or "0 2 * * *"}
    )
    # One run at a time: a run due while the last one still holds the warehouse is cancelled,
    # not queued. Overlapping runs would only wait on each other's warehouse lock, and when a
    # run outlasts the interval they would pile up until every one failed on the lock.
    one_at_a_time = ConcurrencyLimitConfig(
        limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
    )
    nightly.serve(
        name=args.name,
        parameters={"input_dir": args.input, "db": args.db, "report_dir": args.report,
                    "channels": args.channels},
        global_limit=one_at_a_time,
        **schedule,
    )


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2:])
    else:
        print(nightly(*sys.argv[1:4]))
