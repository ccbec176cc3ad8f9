"""The nightly Prefect flow: load each source (one task per source), then stitch persons.

The flow only orchestrates: every step is a function of `journey_metrics.pipeline` that the CLI
calls too. Tasks get paths, never DuckDB connections. A locked warehouse is transient and retried;
bad data is not (it is quarantined by the load itself, so there is nothing to retry).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from journey_metrics import pipeline
from journey_metrics.config import SourceConfig
from journey_metrics.errors import RunError
from journey_metrics.hashing import load_key
from journey_metrics.loader import InputFile, SourceSummary


@task(retries=3, retry_delay_seconds=10)
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
    return summary


@task(retries=3, retry_delay_seconds=10)
def stitch_task(db: Path) -> tuple[int, int]:
    return pipeline.stitch_identities(db, load_key())


def _retry_only_when_locked(task: object, task_run: object, state: object) -> bool:
    """Retry a task only when it failed because the warehouse was locked (transient)."""
    try:
        state.result()  # type: ignore[attr-defined]
    except RunError as exc:
        return "locked" in str(exc)
    except Exception:
        return False
    return False


load_source_task = load_source_task.with_options(retry_condition_fn=_retry_only_when_locked)
stitch_task = stitch_task.with_options(retry_condition_fn=_retry_only_when_locked)


@flow(name="journey-metrics-nightly", log_prints=True)
def nightly(input_dir: str, db: str = "journey.duckdb") -> dict[str, object]:
    """Load new files from `input_dir` into the warehouse `db`, then stitch persons."""
    input_path, db_path = Path(input_dir), Path(db)
    sources, files = pipeline.plan_run(input_path)
    summary = pipeline.RunSummary(pipeline.new_run_id(), db_path)
    # DuckDB allows one writer process; sources load one after another within this process.
    for source in sources:
        summary.sources.append(
            load_source_task(db_path, source, files[source.name], summary.run_id)
        )
    summary.events_total, summary.persons = stitch_task(db_path)
    pipeline.record_run(db_path, load_key(), summary, input_path)
    return summary.as_dict()


if __name__ == "__main__":
    import sys

    print(nightly(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "journey.duckdb"))
