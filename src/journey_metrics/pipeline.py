"""The `run` use case, as one list of steps: load each source, stitch persons, run the data tests
(sql/tests/), refresh the materialised marts, record the run. The CLI runs them on one
connection; the Prefect flow (pipelines/nightly.py) wraps each step in a task and calls these
same functions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from journey_metrics import data_tests
from journey_metrics.channels import configured_rules, load_rules_file
from journey_metrics.config import SourceConfig, load_sources
from journey_metrics.db import rollback
from journey_metrics.hashing import HashKey, load_key, without_emails
from journey_metrics.identity import stitch
from journey_metrics.loader import (
    FileResult,
    InputFile,
    ProgressCallback,
    SourceSummary,
    discover,
    load_source,
    warehouse_totals,
)
from journey_metrics.staging import check_keys, check_models, store_checks, stored_checks
from journey_metrics.warehouse import open_warehouse


@dataclass
class RunSummary:
    run_id: str
    db_path: Path
    sources: list[SourceSummary] = field(default_factory=list)
    events_total: int = 0
    persons: int = 0
    # revenue is summed in one currency: which, and the orders another currency left out
    currency: dict[str, object] = field(default_factory=dict)
    # run --engine spark: the lake (a folder or URL) written instead of a warehouse file
    location: str | None = None
    # when the run began (_jm_runs.started_at; finished_at is when its row is written)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def unreadable_unchanged(self) -> list[FileResult]:
        """The files skipped as unchanged that an earlier run could not read (said again)."""
        return [r for s in self.sources for r in s.file_results if r.earlier_failure]

    @property
    def cut_reads(self) -> list[FileResult]:
        """The files read again grown after an earlier run's read ended inside a line."""
        return [r for s in self.sources for r in s.file_results if r.cut_line]

    def as_dict(self) -> dict[str, object]:
        return {
            "sources": [s.as_row() for s in self.sources],
            "events_total": self.events_total,
            "persons": self.persons,
            "currency": self.currency,
            "failed_files": [
                {"source": r.source, "file": r.file_path, "reason": r.reason}
                for s in self.sources
                for r in s.file_results
                if r.status == "failed"
            ],
            # skipped as unchanged though an earlier run could not read them: still failing
            "failed_earlier": [
                {"source": r.source, "file": r.file_path, "reason": r.earlier_failure}
                for r in self.unreadable_unchanged
            ],
            # files an earlier run read while they were being written (growing_files.py)
            "cut_lines": [
                {"source": r.source, "file": r.file_path, "line": r.cut_line}
                for r in self.cut_reads
            ],
            "warehouse": self.location if self.location is not None else str(self.db_path),
        }


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def plan_run(
    input_dir: Path, db_path: Path | None = None
) -> tuple[list[SourceConfig], dict[str, list[InputFile]]]:
    """Sources and the files each will read; raises UsageError for a bad folder or config
    (including a staging model that breaks the staging contract or bad channel rules) before any
    file is read. `db_path`: the warehouse to load, whose last run's models need no new check."""
    sources = load_sources()
    check_models(sources, stored_checks(db_path) if db_path is not None else ())
    configured_rules()  # config/channels.yaml, validated now rather than mid-run
    return sources, discover(input_dir, sources)


def prepare_warehouse(db_path: Path, key: HashKey, channels: Path | None = None) -> None:
    """Create the schema (and check the key) once, before sources load side by side.
    `channels`: a channel rules file that becomes the warehouse's (as `run --channels`)."""
    rules = load_rules_file(channels) if channels is not None else None
    open_warehouse(db_path, key, channels=rules).close()


def load_one_source(
    db_path: Path,
    source: SourceConfig,
    files: list[InputFile],
    run_id: str,
    key: HashKey,
    progress: ProgressCallback | None = None,
) -> SourceSummary:
    con = open_warehouse(db_path, key)
    try:
        return load_source(con, source, files, run_id, progress)
    finally:
        con.close()


def stitch_identities(db_path: Path, key: HashKey) -> tuple[int, int]:
    """Rebuild persons and sessions; return (events_total, persons)."""
    con = open_warehouse(db_path, key)
    try:
        stitch(con)
        data_tests.check(con)
        return warehouse_totals(con)
    finally:
        con.close()


def currency(db_path: Path, key: HashKey) -> dict[str, object]:
    """The reporting currency and the orders left out (for the run summary)."""
    con = open_warehouse(db_path, key)
    try:
        return currency_on(con)
    finally:
        con.close()


def currency_on(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    from journey_metrics.metrics._money import currency_summary
    from journey_metrics.metrics.common import resolve_as_of, zone

    has_events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    if not has_events:
        return {"reporting": None, "excluded_orders": 0}
    return currency_summary(con, resolve_as_of(con, None, zone("UTC")))


def refresh_marts(db_path: Path, key: HashKey) -> int:
    """Recompute the materialised marts (the dashboard's rows, the default metric commands)."""
    con = open_warehouse(db_path, key)
    try:
        return refresh_marts_on(con)
    finally:
        con.close()


def refresh_marts_on(con: duckdb.DuckDBPyConnection) -> int:
    from journey_metrics import marts

    con.execute("BEGIN TRANSACTION")
    try:
        stored = marts.refresh(con)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return stored


def record_run(db_path: Path, key: HashKey, summary: RunSummary, input_dir: Path,
               sources: list[SourceConfig]) -> None:
    con = open_warehouse(db_path, key)
    try:
        _insert_run(con, summary, input_dir, sources)
        con.execute("CHECKPOINT")  # as the CLI's run ends: the WAL folded into the file
    finally:
        con.close()


def quarantine_query(run_id: str, source: str | None = None) -> str:
    """The query an operator is told for the rows a run quarantined: those of the files it read.
    A line quarantined before, in a file read again (it grew), is counted again by the run but
    keeps the run that first quarantined it; a rewritten file's earlier rows come along."""
    of_source = f" AND source = '{source}'" if source else ""
    return ("SELECT * FROM _jm_quarantine WHERE file_path IN (SELECT file_path FROM _jm_files"
            f" WHERE run_id = '{run_id}'){of_source}")


def _insert_run(con: duckdb.DuckDBPyConnection, summary: RunSummary, input_dir: Path,
                sources: list[SourceConfig]) -> None:
    store_checks(con, check_keys(sources))  # the models this run loaded with passed the check
    # the paths kept without addresses (the run prints them as the user gave them)
    kept = summary.as_dict()
    kept["warehouse"] = without_emails(str(kept["warehouse"]))
    con.execute(
        "INSERT INTO _jm_runs VALUES (?, ?, now(), ?, ?)",
        [summary.run_id, summary.started_at, without_emails(str(input_dir)), json.dumps(kept)],
    )


def run(
    input_dir: Path,
    db_path: Path,
    *,
    progress: Callable[[str, str, int, int], None] | None = None,
    announce: Callable[[str], None] | None = None,
    wait_seconds: float = 0,
    refresh: bool = True,
    channels: Path | None = None,
) -> RunSummary:
    """Load all sources from `input_dir` into `db_path` incrementally, stitch persons and
    refresh the materialised marts (`refresh=False` skips that: the marts are then recomputed
    when read).

    One connection holds the warehouse for the whole run, so no other process can write between
    the sources and the stitching. `channels`: a channel rules file that becomes the warehouse's
    rules (CONTRACT §2).
    """
    rules = load_rules_file(channels) if channels is not None else None
    sources, files = plan_run(input_dir, db_path)
    key = load_key(announce, existing=f"warehouse {db_path}" if db_path.exists() else None)
    summary = RunSummary(new_run_id(), db_path)
    con = open_warehouse(db_path, key, wait_seconds, channels=rules)
    try:
        for source in sources:

            def report(label: str, done: int, total: int, name: str = source.name) -> None:
                if progress:
                    progress(name, label, done, total)

            summary.sources.append(
                load_source(con, source, files[source.name], summary.run_id, report)
            )
        stitch(con)
        data_tests.check(con)
        summary.events_total, summary.persons = warehouse_totals(con)
        summary.currency = currency_on(con)
        if refresh:
            refresh_marts_on(con)
        _insert_run(con, summary, input_dir, sources)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return summary
