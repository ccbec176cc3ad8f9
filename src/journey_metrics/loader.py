"""Loading one source folder into the warehouse: discover, read, stage, validate, dedupe, record.

Each file is loaded in one transaction together with its manifest row, so a crash leaves either
the whole file or none of it. Unchanged files (same size and mtime, or same content hash) are
skipped; a changed file is re-read and only its new events load.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from journey_metrics.config import FileKind, SourceConfig
from journey_metrics.errors import UsageError
from journey_metrics.sources.readers import FileReadError, read_file
from journey_metrics.sql import render_sql, split_statements, used_parameters
from journey_metrics.validate import EVENT_SCHEMA, IDENTITY_SCHEMA, failing_rows

ProgressCallback = Callable[[str, int, int], None]  # (file label, files done, files total)


@dataclass
class FileResult:
    source: str
    file_path: str
    status: str  # loaded | skipped | failed
    records: int = 0
    events: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reason: str | None = None


@dataclass
class SourceSummary:
    source: str
    files: int = 0
    records: int = 0
    events: int = 0
    duplicates: int = 0
    quarantined: int = 0
    failed_files: int = 0
    skipped_files: int = 0
    file_results: list[FileResult] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        self.file_results.append(result)
        if result.status == "skipped":
            self.skipped_files += 1
            return
        self.files += 1
        self.records += result.records
        self.events += result.events
        self.duplicates += result.duplicates
        self.quarantined += result.quarantined
        self.failed_files += result.status == "failed"

    def as_row(self) -> dict[str, int | str]:
        return {
            "source": self.source,
            "files": self.files,
            "records": self.records,
            "events": self.events,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "failed_files": self.failed_files,
            "skipped_files": self.skipped_files,
        }


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: str  # path relative to the input folder, with forward slashes
    kind: FileKind | None  # None: the file name matches no kind of the source
    problem: str | None = None  # set when the file must not be read (e.g. a link outside)


def discover(input_dir: Path, sources: list[SourceConfig]) -> dict[str, list[InputFile]]:
    """Files per source, in name order. Unknown folders are a usage error."""
    if not input_dir.is_dir():
        raise UsageError(f"input folder {input_dir} does not exist or is not a folder")
    root = input_dir.resolve()
    by_folder = {s.folder: s for s in sources}
    unknown = sorted(
        p.name for p in input_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
        and p.name not in by_folder
    )
    if unknown:
        known = ", ".join(sorted(by_folder))
        raise UsageError(f"unknown source folder {input_dir / unknown[0]} (known: {known})")
    found: dict[str, list[InputFile]] = {}
    for source in sources:
        folder = input_dir / source.folder
        files: list[InputFile] = []
        if folder.is_dir():
            for path in sorted(folder.iterdir(), key=lambda p: p.name):
                if path.name.startswith(".") or path.is_dir():
                    continue
                relative = f"{source.folder}/{path.name}"
                problem = None
                if not path.resolve().is_relative_to(root):
                    problem = f"refused: links outside the input folder ({path.resolve()})"
                files.append(InputFile(path, relative, source.file_kind(path.name), problem))
        found[source.name] = files
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: SourceConfig,
    files: list[InputFile],
    run_id: str,
    progress: ProgressCallback | None = None,
) -> SourceSummary:
    summary = SourceSummary(source.name)
    for done, item in enumerate(files):
        if progress:
            progress(item.relative, done, len(files))
        summary.add(load_file(con, source, item, run_id))
    if progress:
        progress(source.name, len(files), len(files))
    return summary


def load_file(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, item: InputFile, run_id: str
) -> FileResult:
    stat = item.path.stat()
    previous = con.execute(
        "SELECT size_bytes, mtime_ns, sha256, status FROM _jm_files"
        " WHERE source = ? AND file_path = ? ORDER BY loaded_at DESC LIMIT 1",
        [source.name, item.relative],
    ).fetchone()
    if previous and previous[0] == stat.st_size and previous[1] == stat.st_mtime_ns:
        return FileResult(source.name, item.relative, "skipped")
    sha = file_sha256(item.path)
    if previous and previous[2] == sha:
        con.execute(
            "UPDATE _jm_files SET mtime_ns = ? WHERE source = ? AND file_path = ? AND sha256 = ?",
            [stat.st_mtime_ns, source.name, item.relative, sha],
        )
        return FileResult(source.name, item.relative, "skipped")

    result = _failure_before_reading(source, item)
    if result is None:
        try:
            # Reading only fills TEMP tables, so it happens before the transaction: a failed
            # read (and the Latin-1 retry after it) cannot abort the file's transaction.
            read_file(con, item.path, item.kind)  # type: ignore[arg-type]
        except FileReadError as exc:
            result = FileResult(source.name, item.relative, "failed", reason=str(exc))
    if result is None:
        con.execute("BEGIN TRANSACTION")
        try:
            result = _stage_and_insert(con, source, item, run_id)
            _record_manifest(con, item, stat, sha, result, run_id)
            con.execute("COMMIT")
        except duckdb.Error as exc:
            # Input that defeats a staging model must not stop the other files.
            con.execute("ROLLBACK")
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            result = FileResult(
                source.name, item.relative, "failed", reason=f"cannot load: {first}"
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            for table in ("raw_records", "stg", "rejected", "candidates"):
                con.execute(f"DROP TABLE IF EXISTS {table}")
    if result.status == "failed":
        _record_manifest(con, item, stat, sha, result, run_id)
    return result


def _failure_before_reading(source: SourceConfig, item: InputFile) -> FileResult | None:
    if item.problem:
        return FileResult(source.name, item.relative, "failed", reason=item.problem)
    if item.kind is None:
        patterns = ", ".join(k.pattern + "[.gz]" for k in source.files)
        return FileResult(
            source.name, item.relative, "failed", reason=f"file name matches none of {patterns}"
        )
    return None


def _record_manifest(
    con: duckdb.DuckDBPyConnection,
    item: InputFile,
    stat: os.stat_result,
    sha: str,
    result: FileResult,
    run_id: str,
) -> None:
    con.execute(
        "INSERT INTO _jm_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [
            result.source, item.relative, stat.st_size, stat.st_mtime_ns, sha, result.status,
            result.reason, result.records, result.events, result.duplicates, result.quarantined,
            run_id,
        ],
    )


def _stage_and_insert(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, item: InputFile, run_id: str
) -> FileResult:
    assert item.kind is not None
    records = _scalar(con, "SELECT count(*) FROM raw_records")
    staging_sql = render_sql(f"staging/{item.kind.model}.sql")
    con.execute(
        f"CREATE TEMP TABLE stg AS {staging_sql}",
        used_parameters(staging_sql, {"tz": source.timezone}),
    )
    con.execute(
        "CREATE TEMP TABLE rejected AS SELECT record_no, min(reject_reason) AS reason"
        " FROM stg WHERE reject_reason IS NOT NULL GROUP BY record_no"
    )
    _reject_invalid_rows(con)
    params = {"source": source.name, "file_path": item.relative, "run_id": run_id}
    for statement in split_statements(render_sql("intermediate/int_load_file.sql")):
        con.execute(statement, used_parameters(statement, params))
    new_events = _scalar(con, "SELECT count(*) FROM candidates WHERE is_new")
    all_events = _scalar(con, "SELECT count(*) FROM candidates")
    quarantined = _scalar(con, "SELECT count(*) FROM rejected")
    return FileResult(
        source.name, item.relative, "loaded", records=records, events=new_events,
        duplicates=all_events - new_events, quarantined=quarantined,
    )


def _reject_invalid_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Run the pandera checks on the rows staging accepted; add failing records to `rejected`."""
    staged = con.sql(
        "SELECT record_no, is_event, event_id, event_name, occurred_at, nps_score,"
        " anonymous_id, user_id, email_hash, crm_contact_id"
        " FROM stg WHERE record_no NOT IN (SELECT record_no FROM rejected)"
        " ORDER BY record_no, event_id"
    ).pl()
    if staged.height == 0:
        return
    staged = staged.with_columns(pl.col("nps_score").cast(pl.Int64))
    identity_failures = failing_rows(staged, IDENTITY_SCHEMA)
    events = staged.filter(pl.col("is_event"))
    event_failures = failing_rows(events, EVENT_SCHEMA)
    failures = pl.concat(
        [
            staged[identity_failures["row_index"]]
            .select("record_no")
            .with_columns(identity_failures["reason"]),
            events[event_failures["row_index"]].select("record_no").with_columns(
                event_failures["reason"]
            ),
        ]
    )
    if failures.height:
        per_record = failures.group_by("record_no").agg(pl.col("reason").min())
        con.register("pandera_failures", per_record)
        con.execute("INSERT INTO rejected SELECT record_no, reason FROM pandera_failures")
        con.unregister("pandera_failures")


def _scalar(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def warehouse_totals(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    return (
        _scalar(con, "SELECT count(*) FROM events"),
        _scalar(con, "SELECT count(*) FROM persons"),
    )

