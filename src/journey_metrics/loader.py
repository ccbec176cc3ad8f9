"""Loading one source folder into the warehouse: discover, read, stage, validate, dedupe, record.

A source's new files are loaded in one transaction together with their manifest rows, so a crash
leaves them either loaded or still to load. Unchanged files (same size and mtime, or same content
hash) are skipped; a changed file is re-read and only its new events load.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import Any, Literal

import duckdb
import polars as pl

from journey_metrics.config import FileKind, SourceConfig
from journey_metrics.db import drop_temp, fetch_first, rollback
from journey_metrics.errors import NoSourceFolder, UsageError
from journey_metrics.file_hashes import HashesAhead
from journey_metrics.growing_files import line_cut_by_earlier_read
from journey_metrics.hashing import pseudonymous_name, without_emails
from journey_metrics.sources.readers import (
    FileReadError,
    read_again,
    read_file,
    read_lines_together,
    reads_lines,
    system_error,
)
from journey_metrics.sql import load_sql, split_statements, used_parameters
from journey_metrics.staging import (
    EVENT_YEARS,
    EVENT_YEARS_REASON,
    STAGING_COLUMNS,
    batch_accepted_ddl,
    changed_models,
    guarded,
)
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
    # records accepted that became no event: they only link identifiers or set traits
    # (Segment alias and group, a contact without stage dates)
    identity_records: int = 0
    reason: str | None = None
    # skipped as unchanged, though an earlier run could not read it: that run's reason
    earlier_failure: str | None = None
    # read again grown, after an earlier run's read ended inside this line (growing_files.py)
    cut_line: int | None = None
    # what the manifest records about the file (set while reading)
    stat: os.stat_result | None = field(default=None, repr=False)
    sha256: str = field(default="", repr=False)


@dataclass
class SourceSummary:
    source: str
    files: int = 0
    records: int = 0
    events: int = 0
    duplicates: int = 0
    quarantined: int = 0
    identity_records: int = 0
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
        self.identity_records += result.identity_records
        self.failed_files += result.status == "failed"

    def as_row(self) -> dict[str, int | str]:
        return {
            "source": self.source,
            "files": self.files,
            "records": self.records,
            "events": self.events,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "identity_records": self.identity_records,
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
    """Files per source, in name order. Unknown folders are a usage error; a folder inside a
    source's folder is listed with its problem."""
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
        # the folder's name as the logs may keep it: no address in it (CONTRACT §1 Privacy)
        raise UsageError(f"unknown source folder {without_emails(str(input_dir / unknown[0]))}"
                         f" (known: {known})")
    check_some_source_folder(input_dir, [p.name for p in input_dir.iterdir() if p.is_dir()],
                             sources)
    found: dict[str, list[InputFile]] = {}
    for source in sources:
        folder = input_dir / source.folder
        files: list[InputFile] = []
        if folder.is_dir():
            for path in sorted(folder.iterdir(), key=lambda p: p.name):
                if path.name.startswith(".") or (path.is_dir() and path.name.startswith("_")):
                    continue
                relative = f"{source.folder}/{path.name}"
                problem = None
                if path.is_dir():  # its files would go unread, unnoticed: it fails, each run
                    relative, problem = f"{relative}/", subfolder_problem(source.folder)
                else:
                    problem = _entry_problem(path, root)
                files.append(InputFile(path, relative, source.file_kind(path.name), problem))
        found[source.name] = files
    return found


def check_some_source_folder(location: Path | str, folders: list[str],
                             sources: list[SourceConfig]) -> None:
    """An input folder must hold at least one source's folder (the built-in web/, email/,
    crm/ or a team's own): without any, the user most likely pointed at the wrong folder (at
    DIR/web itself), and a run would load nothing and report zeros with exit 0. A source
    folder that is there but empty is a quiet night and fine. `folders`: the folder names the
    input folder holds (a local folder or a lake URL)."""
    wanted = [s.folder for s in sources]
    if not wanted or set(folders) & set(wanted):
        return
    names = [f"{name}/" for name in wanted]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    raise NoSourceFolder(f"no {listed} folder in {without_emails(str(location))}: "
                     "give the folder that holds the source folders")


LINK_LOOP = "refused: a link that points back to itself (a loop)"


def _entry_problem(path: Path, root: Path) -> str | None:
    """Why a folder entry that is no folder must not be read, or None. A link that loops
    stopped the whole run (resolve's RuntimeError), and a named pipe or a device made the read
    wait forever, the warehouse locked: each fails alone instead."""
    try:
        target = path.resolve(strict=False)
    except (RuntimeError, OSError):
        return LINK_LOOP
    if not target.is_relative_to(root):
        return f"refused: links outside the input folder ({without_emails(str(target))})"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # Python 3.13's resolve() no longer raises on a loop
            return LINK_LOOP
        return None  # a dangling link: the read reports it ("cannot read file")
    if not S_ISREG(mode):
        return "refused: not a regular file (a pipe, socket or device is never read)"
    return None


def _kept_names(con: duckdb.DuckDBPyConnection, files: list[InputFile]) -> list[InputFile]:
    """The files under the names the warehouse keeps (hashing.pseudonymous_name: no email
    address in a file's name is stored), hashed with the warehouse's key."""

    def hash_email(email: str) -> str:
        return str(con.execute("SELECT jm_email_hash(?)", [email]).fetchall()[0][0])

    return [replace(f, relative=pseudonymous_name(f.relative, hash_email)) for f in files]


def subfolder_problem(folder: str) -> str:
    """Why a folder inside a source's folder fails (one name starting with '.' or '_' is
    skipped, as at the top)."""
    return f"a folder: only the files directly in {folder}/ are read"


# Records are staged in chunks of about this many (one query plan per chunk instead of per file:
# planning and starting the web model costs ~0.5 s CPU, most of it compiling its regular
# expressions once per use and thread (decision 208); a day file of 10k records costs less).
# 900k was tried at 1M: 0.97x CPU, 1.05x the peak memory (2026-12-07).
CHUNK_RECORDS = 300_000
# A source's new files are committed in batches of whole files holding at least this many
# records (the last batch: the rest). A batch lives in TEMP tables, spilled to disk beyond the
# memory limit in several copies (staged rows, candidates): one batch per source needed more than
# 40 GB of temporary disk for 30M events and grew superlinearly from 1M to 10M
# (docs/decisions.md). Dedupe, conflicts, traits and quarantine give the same rows in one batch or
# many: a later batch sees the earlier ones in the warehouse.
BATCH_RECORDS = 2_000_000
# Line-oriented files are read together, in groups of about this many bytes (on disk), so that
# DuckDB reads and copies them in parallel (one file is one thread's work): about a chunk.
GROUP_BYTES = 128 * 1024 * 1024
# A batch-unique record key: file_order * KEY_SPAN + line number (lines stay below 10^10).
KEY_SPAN = 10_000_000_000

_BATCH_TABLES = """
CREATE OR REPLACE TEMP TABLE batch_rejected (
    file_path VARCHAR, record_no BIGINT, reason VARCHAR, raw VARCHAR, raw_hash VARCHAR
);
CREATE OR REPLACE TEMP TABLE batch_files (
    file_path VARCHAR, file_order INTEGER, size_bytes BIGINT, mtime_ns BIGINT, sha256 VARCHAR,
    status VARCHAR, reason VARCHAR, records BIGINT
)
"""
_BATCH_TEMP_TABLES = ("batch_accepted", "batch_rejected", "batch_files", "candidates",
                      "batch_counts", "chunk", "new_links", "batch_nodes")


@dataclass
class _Chunk:
    """Files of one kind read into the TEMP table `chunk`, waiting to be staged together."""

    kind: FileKind
    files: list[tuple[InputFile, int, FileResult]] = field(default_factory=list)
    records: int = 0
    # line-oriented files to be read together (`_read_group`) before the chunk is staged
    group: list[tuple[InputFile, int, FileResult]] = field(default_factory=list)
    group_bytes: int = 0


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: SourceConfig,
    files: list[InputFile],
    run_id: str,
    progress: ProgressCallback | None = None,
) -> SourceSummary:
    """Read and stage every new or changed file of a source, then load them in batches.

    Files are read one by one, line-oriented ones several at a time (GROUP_BYTES; a file that
    cannot be read fails alone either way), and staged in chunks; the
    events, quarantine, identity links and manifest rows of a batch of whole files (about
    BATCH_RECORDS records) are written in one transaction, so a crash leaves each file either
    loaded or still to load, and a re-run loads the rest.
    """
    summary = SourceSummary(source.name)
    files = _kept_names(con, files)
    _new_batch(con)
    results: list[FileResult] = []
    batch_start, batch_records = 0, 0  # the current batch: files[batch_start:], its records
    chunk: _Chunk | None = None
    manifest = _manifest(con, source)
    retried = changed_models(con, source)
    hashes = HashesAhead(_changed_paths(files, manifest))
    try:
        for order, item in enumerate(files):
            if progress:
                progress(item.relative, order, len(files))
            if chunk is not None and item.kind is not None and not _stage_together(
                chunk.kind, item.kind
            ):
                batch_records += _read_group(con, chunk)
                _stage_chunk(con, source, chunk)  # files of another model: stage what we have
                chunk = None
            result, read = _read_into_batch(con, source, item, manifest, hashes, retried)
            results.append(result)
            if read is None:
                continue
            assert item.kind is not None
            if chunk is None:
                chunk = _Chunk(item.kind)
            if read == "together":
                chunk.group.append((item, order, result))
                chunk.group_bytes += result.stat.st_size if result.stat else 0
                if chunk.group_bytes < GROUP_BYTES:
                    continue
                batch_records += _read_group(con, chunk)
            else:
                _append_to_chunk(con, item, order, chunk, result)
                batch_records += result.records
            if chunk.records >= CHUNK_RECORDS:
                batch_records += _read_group(con, chunk)
                _stage_chunk(con, source, chunk)
                chunk = None
                if batch_records >= BATCH_RECORDS:
                    _commit_files(con, source, run_id, files, results, batch_start)
                    _new_batch(con)
                    batch_start, batch_records = len(results), 0
        if chunk is not None:
            _read_group(con, chunk)
            _stage_chunk(con, source, chunk)
        if progress:
            progress(source.name, len(files), len(files))
        _commit_files(con, source, run_id, files, results, batch_start)
    finally:
        hashes.close()
        drop_temp(con, *_BATCH_TEMP_TABLES, *_FILE_TEMP_TABLES)
    for result in results:
        summary.add(result)
    return summary


_FILE_TEMP_TABLES = ("raw_records", "raw_lines", "raw_elements", "raw_rows", "stg", "rejected",
                     "raw_group_records", "raw_line_groups")


def _stage_together(a: FileKind, b: FileKind) -> bool:
    """Whether files of two kinds can share a chunk: the same staging model over raw records
    of the same shape (SendGrid's `*.json` and `*.jsonl` alternate by day: staging them apart
    planned the model once per file)."""
    if a is b:
        return True
    if a.model != b.model or (a.reader == "csv") != (b.reader == "csv"):
        return False
    return a.reader != "csv" or a.columns == b.columns


def _manifest(con: duckdb.DuckDBPyConnection, source: SourceConfig) -> dict[str, tuple[Any, ...]]:
    """What the manifest last recorded of each of the source's files: (size, mtime, sha256,
    status, reason)."""
    return {str(row[0]): tuple(row[1:]) for row in con.execute(
        "SELECT file_path, size_bytes, mtime_ns, sha256, status, reason FROM _jm_files"
        " WHERE source = ?"
        " QUALIFY row_number() OVER (PARTITION BY file_path ORDER BY loaded_at DESC) = 1",
        [source.name],
    ).fetchall()}


def _changed_paths(files: list[InputFile], manifest: dict[str, tuple[Any, ...]]) -> list[Path]:
    """The files whose content hash `_read_into_batch` will ask for: readable, and new or with
    another size or mtime than the manifest's (in the order they are read)."""
    changed = []
    for item in files:
        if item.problem:
            continue
        try:
            stat = item.path.stat()
        except OSError:
            continue  # _read_into_batch reports it
        if not _unchanged(manifest.get(item.relative), stat):
            changed.append(item.path)
    return changed


def _unchanged(previous: tuple[Any, ...] | None, stat: os.stat_result) -> bool:
    """The manifest's size and mtime are the file's: skipped without reading (not even a hash)."""
    return previous is not None and previous[:2] == (stat.st_size, stat.st_mtime_ns)


def _read_into_batch(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, item: InputFile,
    manifest: dict[str, tuple[Any, ...]], hashes: HashesAhead,
    retried: AbstractSet[str] = frozenset(),
) -> tuple[FileResult, Literal["alone", "together"] | None]:
    """Skip an unchanged file, or read it: (result, how). "alone": read into TEMP
    `raw_records`; "together": a line-oriented file, to be read with the next ones of its chunk
    (`_read_group`); None: not read (skipped or failed). An unchanged file that failed is read
    again when its model is one of `retried` (changed since the last run)."""
    if item.problem:  # refused before anything of the file is read (not even its hash)
        result = FileResult(source.name, item.relative, "failed", reason=item.problem)
        result.stat, result.sha256 = item.path.lstat(), ""
        return result, None
    try:
        stat = item.path.stat()
    except OSError as exc:  # a dangling link, a file removed meanwhile: that file fails alone
        result = FileResult(source.name, item.relative, "failed",
                            reason=system_error(exc))
        result.stat, result.sha256 = item.path.lstat(), ""
        return result, None
    previous = manifest.get(item.relative)
    result = FileResult(source.name, item.relative, "skipped")
    result.stat, result.sha256 = stat, ""
    # an unreadable file skipped as unchanged: its earlier reason is said again
    earlier = previous[4] if previous and previous[3] == "failed" else None
    retry = earlier is not None and item.kind is not None and (
        item.kind.model in retried or read_again(earlier))
    if _unchanged(previous, stat) and not retry:
        result.earlier_failure = earlier
        return result, None
    try:
        result.sha256 = hashes.sha256(item.path)
    except OSError as exc:  # removed or unreadable since: it fails alone (read once it changes)
        result.status, result.reason = "failed", system_error(exc)
        return result, None
    if previous and previous[2] == result.sha256 and not retry:
        con.execute(
            "UPDATE _jm_files SET mtime_ns = ? WHERE source = ? AND file_path = ? AND sha256 = ?",
            [stat.st_mtime_ns, source.name, item.relative, result.sha256],
        )
        result.earlier_failure = earlier
        return result, None
    problem = _problem_before_reading(source, item)
    if problem:
        result.status, result.reason = "failed", problem
        return result, None
    assert item.kind is not None
    result.status = "loaded"  # its records are counted as they are copied into the chunk
    if previous and previous[3] != "failed":
        result.cut_line = line_cut_by_earlier_read(item.path, previous[0], previous[2])
    if reads_lines(item.path, item.kind):
        return result, "together"
    return result, "alone" if _read_alone(con, item, result) else None


def _read_alone(con: duckdb.DuckDBPyConnection, item: InputFile, result: FileResult) -> bool:
    """Read one file into TEMP `raw_records`; False (the result says why) when it cannot be."""
    try:
        read_file(con, item.path, item.kind)  # type: ignore[arg-type]
    except FileReadError as exc:
        # the reason names the file by its path in the input folder, not where it sits on disk
        result.status = "failed"
        result.reason = str(exc).replace(str(item.path), item.relative)
        return False
    return True


def _problem_before_reading(source: SourceConfig, item: InputFile) -> str | None:
    if item.problem:
        return item.problem
    if item.kind is None:
        patterns = ", ".join(k.pattern + "[.gz]" for k in source.files)
        return f"file name matches none of {patterns}"
    return None


def _append_to_chunk(
    con: duckdb.DuckDBPyConnection, item: InputFile, order: int, chunk: _Chunk,
    result: FileResult,
) -> None:
    select = (
        "SELECT ? AS file_path, ?::INTEGER AS file_order, record_no AS line_no,"
        " ?::BIGINT * ? + record_no AS record_key, * EXCLUDE (record_no) FROM raw_records"
    )
    # a line-oriented file with lines that are not UTF-8 brings its reader's quarantine reasons
    # (`read_problem`, as CSV rows have) into a chunk of files that had none
    if chunk.files and "read_problem" in _columns(con, "raw_records") \
            and "read_problem" not in _columns(con, "chunk"):
        con.execute("ALTER TABLE chunk ADD COLUMN read_problem VARCHAR")
    # the copy's row count is the file's record count: the lines view is read once (its
    # blank-line test is a regular expression over every line)
    result.records = _copy_into_chunk(con, chunk, select, [item.relative, order, order, KEY_SPAN])
    drop_temp(con, "raw_records", "raw_lines")  # a reader's table, or its view and lines
    chunk.files.append((item, order, result))
    chunk.records += result.records


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [column[0] for column in con.execute(f"SELECT * FROM {table} LIMIT 0").description]


def _copy_into_chunk(
    con: duckdb.DuckDBPyConnection, chunk: _Chunk, select: str, params: Any
) -> int:
    """Copy `select`'s records into TEMP `chunk` (its first copy creates it); how many."""
    statement = (f"INSERT INTO chunk BY NAME {select}" if chunk.files
                 else f"CREATE OR REPLACE TEMP TABLE chunk AS {select}")
    return int(con.execute(statement, params).fetchall()[0][0])


def _read_group(con: duckdb.DuckDBPyConnection, chunk: _Chunk) -> int:
    """Read the chunk's waiting line-oriented files in one statement and copy their records
    into it; return how many. If they cannot be read together (one of them cannot be read),
    each is read alone, and the one that cannot be read fails alone."""
    group, chunk.group, chunk.group_bytes = chunk.group, [], 0
    if not group:
        return 0
    before = chunk.records
    if len(group) > 1 and read_lines_together(con, [item.path for item, _, _ in group]):
        orders = [order for _, order, _ in group]
        select = (
            "SELECT $paths[file_index] AS file_path, $orders[file_index]::INTEGER AS file_order,"
            " record_no AS line_no, $orders[file_index]::BIGINT * $span + record_no AS record_key,"
            " raw FROM raw_group_records"
        )
        params = {"paths": [item.relative for item, _, _ in group], "orders": orders,
                  "span": KEY_SPAN}
        _copy_into_chunk(con, chunk, select, params)
        counts = dict(con.execute(
            "SELECT file_order, count(*) FROM chunk WHERE list_contains($orders, file_order)"
            " GROUP BY file_order", {"orders": orders}).fetchall())
        drop_temp(con, "raw_group_records", "raw_line_groups")
        for item, order, result in group:
            result.records = int(counts.get(order, 0))
            chunk.files.append((item, order, result))
            chunk.records += result.records
        return chunk.records - before
    for item, order, result in group:
        if _read_alone(con, item, result):
            _append_to_chunk(con, item, order, chunk, result)
    return chunk.records - before


def _stage_chunk(con: duckdb.DuckDBPyConnection, source: SourceConfig, chunk: _Chunk) -> None:
    """Stage and validate a chunk into the batch tables. If the staging SQL fails on it, stage
    its files one by one so only the file that defeats it fails."""
    if not chunk.files:  # every file of its group failed to read: there is no chunk table
        return
    try:
        _stage(con, source, chunk, None)
    except duckdb.Error:
        for _item, order, result in chunk.files:
            try:
                _stage(con, source, chunk, order)
            except duckdb.Error as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                # the model is named: on a new source the fault is as likely its as the file's
                result.status, result.reason = (  # DuckDB's words may quote a value
                    "failed", f"cannot load with model {chunk.kind.model}: "
                              f"{without_emails(first)}")
                result.records = 0
    finally:
        drop_temp(con, "chunk", *_FILE_TEMP_TABLES)


def _stage(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, chunk: _Chunk, only_order: int | None
) -> None:
    """Run the kind's staging model on the chunk (or one file of it) and keep the outcome."""
    where = "" if only_order is None else f" WHERE file_order = {int(only_order)}"
    drop_temp(con, "raw_records", "stg", "rejected")
    con.execute(
        "CREATE TEMP VIEW raw_records AS SELECT record_key AS record_no,"
        f" * EXCLUDE (record_key, file_path, file_order, line_no) FROM chunk{where}"
    )
    staging_sql = load_sql(f"staging/{chunk.kind.model}.sql")
    con.execute(
        f"CREATE TEMP TABLE stg AS {staging_sql}",
        used_parameters(staging_sql, {"tz": source.timezone, "traits": source.traits}),
    )
    # a record the reader found broken (a CSV row with its values shifted, a line that is not
    # UTF-8) fails for that, whatever the model made of it
    read_problems = (" UNION ALL SELECT record_no, NULL, read_problem FROM raw_records"
                     " WHERE read_problem IS NOT NULL"
                     if "read_problem" in _columns(con, "chunk") else "")
    con.execute(
        "CREATE TEMP TABLE rejected AS"
        " SELECT record_no, coalesce(min(read_problem), min(reject_reason)) AS reason FROM ("
        " SELECT record_no, reject_reason, NULL::VARCHAR AS read_problem FROM stg"
        f" WHERE reject_reason IS NOT NULL{read_problems}) GROUP BY record_no"
    )
    _reject_invalid_rows(con)
    # A record's file and line come from its key (file_order * KEY_SPAN + line) and the chunk's
    # short list of files: joining the chunk's rows to find them cost a third of this copy.
    # the privacy guards of a source's own model (staging.GUARDS; none for the shipped ones)
    staged = set(_columns(con, "stg"))
    guards = ", ".join(f"{g} AS {c.name}" for c in STAGING_COLUMNS if c.name in staged and (
        g := guarded(c, "duckdb", "s." + c.name, chunk.kind.model, source.traits))
        != "s." + c.name)
    con.execute(
        "INSERT INTO batch_accepted BY NAME"
        " SELECT f.file_path, f.file_order, s.record_no % $span AS record_no,"
        " s.* EXCLUDE (record_no, reject_reason)" + (f" REPLACE ({guards})" if guards else "") +
        " FROM stg AS s"
        " JOIN (SELECT unnest($orders) AS file_order, unnest($paths) AS file_path) AS f"
        " ON f.file_order = s.record_no // $span"
        " WHERE s.record_no NOT IN (SELECT record_no FROM rejected)",
        {"span": KEY_SPAN, "orders": [order for _, order, _ in chunk.files],
         "paths": [item.relative for item, _, _ in chunk.files]},
    )
    con.execute(
        # a reason may quote the record (a source's own model: 'bad date for ' || email)
        "INSERT INTO batch_rejected"
        " SELECT k.file_path, k.line_no, jm_redact(r.reason), k.raw, md5(k.raw)"
        " FROM rejected AS r JOIN chunk AS k ON k.record_key = r.record_no"
    )


def _new_batch(con: duckdb.DuckDBPyConnection) -> None:
    """Empty batch tables (created, or replaced after a commit)."""
    con.execute(batch_accepted_ddl())
    for statement in split_statements(_BATCH_TABLES):
        con.execute(statement)


def _commit_files(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, run_id: str,
    files: list[InputFile], results: list[FileResult], start: int,
) -> None:
    """Commit the batch of files[start:] (those read so far), if any was not skipped."""
    batch = results[start:]
    if any(r.status != "skipped" for r in batch):
        _record_files(con, files[start:len(results)], batch, start)
        _commit_batch(con, source, run_id, batch)


def _record_files(
    con: duckdb.DuckDBPyConnection, files: list[InputFile], results: list[FileResult],
    first_order: int,
) -> None:
    for order, (item, result) in enumerate(zip(files, results, strict=True), start=first_order):
        if result.status == "skipped":
            continue
        assert result.stat is not None
        con.execute(
            "INSERT INTO batch_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [item.relative, order, result.stat.st_size, result.stat.st_mtime_ns,
             result.sha256, result.status, result.reason, result.records],
        )


# One batch commit at a time in this process. The nightly flow loads its sources side by side
# in threads, and every commit numbers the new identity nodes from the stored ones (max + 1):
# two commits in flight both saw an email unknown and both stored it, with one number each (or
# gave two nodes one number). DuckDB's optimistic concurrency sees no conflict in two inserts.
# Reading and staging, the costly part, stay parallel; other processes are kept out by the
# warehouse file's lock.
_COMMIT_LOCK = threading.Lock()


def _commit_batch(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, run_id: str,
    results: list[FileResult],
) -> None:
    """Write the staged batch (events, conflicts, links, quarantine, manifest) atomically."""
    params = {"source": source.name, "run_id": run_id}
    with _COMMIT_LOCK:
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in split_statements(load_sql("intermediate/int_load_batch.sql")):
                con.execute(statement, used_parameters(statement, params))
            counts = {
                row[0]: row[1:]
                for row in con.execute(
                    "SELECT file_path, events, duplicates, quarantined, identity_records"
                    " FROM batch_counts"
                ).fetchall()
            }
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise
    for result in results:
        if result.file_path in counts:
            (result.events, result.duplicates, result.quarantined,
             result.identity_records) = (int(v) for v in counts[result.file_path])


# The instants an event may carry (staging.EVENT_YEARS): [first, end)
FIRST_INSTANT = datetime(EVENT_YEARS[0], 1, 1, tzinfo=UTC)
END_INSTANT = datetime(EVENT_YEARS[1] + 1, 1, 1, tzinfo=UTC)
VALIDATE_BATCH_ROWS = 250_000  # rows per pandera call: bounds the memory of a huge file


def _reject_invalid_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Run the pandera checks on the rows staging accepted, in batches; add failing records to
    `rejected`. A record is checked whole: its rows never straddle two batches."""
    # An instant outside EVENT_YEARS: a placeholder date, or one past the years 1-9999 (epoch
    # microseconds read as milliseconds) that DuckDB parses but no Python datetime holds, so
    # pandera could not even report it. Checked here, before pandera sees the rows.
    con.execute(
        "INSERT INTO rejected SELECT record_no, $reason FROM stg"
        " WHERE is_event AND NOT (occurred_at >= $first AND occurred_at < $end)"
        " AND record_no NOT IN (SELECT record_no FROM rejected) GROUP BY record_no",
        {"reason": EVENT_YEARS_REASON, "first": FIRST_INSTANT, "end": END_INSTANT},
    )
    bounds = fetch_first(con.execute(
        "SELECT min(record_no), max(record_no), count(*) FROM stg"
    ))
    if not bounds or not bounds[2]:
        return
    low, high, rows = (int(v) for v in bounds)
    slices = max(1, -(-rows // VALIDATE_BATCH_ROWS))
    step = -(-(high - low + 1) // slices)
    for start in range(low, high + 1, step):
        _validate_slice(con, start, start + step)


def _validate_slice(con: duckdb.DuckDBPyConnection, start: int, stop: int) -> None:
    staged = con.sql(
        "SELECT record_no, is_event, event_id, event_name, occurred_at, nps_score,"
        " anonymous_id, user_id, email_hash, crm_contact_id"
        " FROM stg WHERE record_no >= $start AND record_no < $stop"
        " AND record_no NOT IN (SELECT record_no FROM rejected)",  # any order: reasons per record
        params={"start": start, "stop": stop},
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
    row = fetch_first(con.execute(query))
    return int(row[0]) if row and row[0] is not None else 0


def warehouse_totals(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    return (
        _scalar(con, "SELECT count(*) FROM events"),
        _scalar(con, "SELECT count(*) FROM persons"),
    )

