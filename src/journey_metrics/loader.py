"""Loading one source folder into the warehouse: discover, read, stage, validate, dedupe, record.

Each file is loaded in one transaction together with its manifest row, so a crash leaves either
the whole file or none of it. Unchanged files (same size and mtime, or same content hash) are
skipped; a changed file is re-read and only its new events load.
"""

from __future__ import annotations

import hashlib
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


_BATCH_TABLES = """
CREATE OR REPLACE TEMP TABLE batch_accepted (
    file_path VARCHAR, file_order INTEGER, record_no BIGINT, is_event BOOLEAN,
    event_id VARCHAR, event_name VARCHAR, occurred_at TIMESTAMPTZ, anonymous_id VARCHAR,
    user_id VARCHAR, email_hash VARCHAR, crm_contact_id VARCHAR, channel VARCHAR,
    campaign VARCHAR, revenue DOUBLE, properties JSON, nps_score BIGINT
);
CREATE OR REPLACE TEMP TABLE batch_rejected (
    file_path VARCHAR, record_no BIGINT, reason VARCHAR, raw VARCHAR, raw_hash VARCHAR
);
CREATE OR REPLACE TEMP TABLE batch_files (
    file_path VARCHAR, file_order INTEGER, size_bytes BIGINT, mtime_ns BIGINT, sha256 VARCHAR,
    status VARCHAR, reason VARCHAR, records BIGINT
)
"""
_TEMP_TABLES = ("raw_records", "raw_lines", "raw_elements", "raw_rows", "stg", "rejected")
_BATCH_TEMP_TABLES = ("batch_accepted", "batch_rejected", "batch_files", "candidates",
                      "batch_counts")


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: SourceConfig,
    files: list[InputFile],
    run_id: str,
    progress: ProgressCallback | None = None,
) -> SourceSummary:
    """Stage every new or changed file of a source, then load them in one transaction.

    Reading and staging happen file by file in TEMP tables (a file that cannot be read or staged
    fails alone); the events, quarantine, identity links and manifest rows of all files are then
    written in a single transaction, so a crash leaves the source's files either all loaded or
    all still to load, and duplicates are checked against the warehouse once per run.
    """
    summary = SourceSummary(source.name)
    for statement in split_statements(_BATCH_TABLES):
        con.execute(statement)
    results: list[FileResult] = []
    try:
        for order, item in enumerate(files):
            if progress:
                progress(item.relative, order, len(files))
            results.append(_stage_file(con, source, item, order))
        if progress:
            progress(source.name, len(files), len(files))
        if any(r.status != "skipped" for r in results):
            _commit_batch(con, source, run_id, results)
    finally:
        for table in _BATCH_TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    for result in results:
        summary.add(result)
    return summary


def _stage_file(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, item: InputFile, order: int
) -> FileResult:
    """Read, stage and validate one file into the batch tables; return its (partial) result."""
    stat = item.path.stat()
    previous = con.execute(
        "SELECT size_bytes, mtime_ns, sha256 FROM _jm_files"
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
            read_file(con, item.path, item.kind)  # type: ignore[arg-type]
            result = _stage(con, source, item, order)
        except FileReadError as exc:
            result = FileResult(source.name, item.relative, "failed", reason=str(exc))
        except duckdb.Error as exc:
            # Input that defeats a staging model must not stop the other files.
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            result = FileResult(
                source.name, item.relative, "failed", reason=f"cannot load: {first}"
            )
            con.execute("DELETE FROM batch_accepted WHERE file_path = ?", [item.relative])
            con.execute("DELETE FROM batch_rejected WHERE file_path = ?", [item.relative])
        finally:
            for table in _TEMP_TABLES:
                con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(
        "INSERT INTO batch_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [item.relative, order, stat.st_size, stat.st_mtime_ns, sha, result.status,
         result.reason, result.records],
    )
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


def _stage(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, item: InputFile, order: int
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
    con.execute(
        "INSERT INTO batch_accepted BY NAME SELECT ? AS file_path, ? AS file_order,"
        " * EXCLUDE (reject_reason) FROM stg"
        " WHERE record_no NOT IN (SELECT record_no FROM rejected)",
        [item.relative, order],
    )
    con.execute(
        "INSERT INTO batch_rejected SELECT ?, r.record_no, r.reason, w.raw, md5(w.raw)"
        " FROM rejected AS r JOIN raw_records AS w USING (record_no)",
        [item.relative],
    )
    return FileResult(source.name, item.relative, "loaded", records=records)


def _commit_batch(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, run_id: str,
    results: list[FileResult],
) -> None:
    params = {"source": source.name, "run_id": run_id}
    con.execute("BEGIN TRANSACTION")
    try:
        for statement in split_statements(render_sql("intermediate/int_load_batch.sql")):
            con.execute(statement, used_parameters(statement, params))
        counts = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT file_path, events, duplicates, quarantined FROM batch_counts"
            ).fetchall()
        }
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for result in results:
        if result.file_path in counts:
            result.events, result.duplicates, result.quarantined = (
                int(v) for v in counts[result.file_path]
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

