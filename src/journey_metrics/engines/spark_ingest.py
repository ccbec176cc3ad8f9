"""Ingest on Spark (issue 16, CONTRACT §5 `run`, §12): `run --engine spark --input --lake`.

The orchestration half: discover the input files (the same sources and kinds as
loader.discover), skip what the lake's manifest already holds, stage the rest
(`stage_files`, imported once below), dedupe by (source, event id) within the batch and against
the lake, stitch identities (connected components by iterative joins, retroactive), and write the
lake (engines/lake.py's layout) crash-safely. The SQL is in sql/spark_ingest/*.spark.sql (Spark's
dialect; the DuckDB originals are sql/intermediate/int_load_batch.sql, int_identity_*.sql,
int_persons.sql and sql/marts/export_*.sql); the driver loops only over files and rounds.

The lake holds, beside the public datasets, the state the next run needs (`_jm_state/`: events
with their identifiers and content hashes, identity links, trait history with its nodes,
conflicts) and a marker `_jm_lake.json` (layout version, the email key's fingerprint, the
channel rules `run --channels` gave and the fingerprint of the rules the lake's channels follow).
The state keeps web events' built-in channel and the channel inputs; the public events and persons
get the current rules' channels (CONTRACT §2), so new rules re-derive them on the next run. Every
dataset is rewritten by every run that loads something (a merge of two persons changes the
person_id of old events): new datasets are written under `_jm_pending/<run>/`, a commit file is
written, then each is swapped in by rename; a run that finds a pending folder finishes its swaps
(committed) or deletes it (not committed), so a killed run leaves the previous lake readable and
the next run converges.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from journey_metrics.channels import BUILT_IN, ChannelRules, kept_origin, spark_function
from journey_metrics.config import FileKind, SourceConfig
from journey_metrics.engines.lake import dataset_name
from journey_metrics.engines.spark import (
    checkpoints,
    copy_location,
    cut_lineage,
    spark_functions,
    union_all,
)
from journey_metrics.engines.spark_staging import (
    REJECTED_COLUMNS,
    STAGE_VIEWS,
    SparkInputFile,
    accepted_columns,
    install_functions,
    stage_files,
)
from journey_metrics.errors import RunError, UsageError
from journey_metrics.hashing import HashKey
from journey_metrics.loader import FileResult, SourceSummary, subfolder_problem
from journey_metrics.pipeline import RunSummary, new_run_id
from journey_metrics.sources.readers import file_content_problem, read_again, system_error
from journey_metrics.sql import load_sql_exact, split_statements

LAKE_MARKER = "_jm_lake.json"
LAKE_VERSION = 1
STATE = "_jm_state"
PENDING = "_jm_pending"
COMMITTED = "_COMMITTED.json"
CHECKPOINTS = "checkpoints"  # _jm_pending/<run>/checkpoints/: the run's cut_lineage copies
MAX_ROUNDS = 200

# The state datasets (under _jm_state/) and their columns, in the warehouse's types.
STATE_COLUMNS: dict[str, str] = {
    "events": (
        "event_id STRING, source STRING, event_name STRING, occurred_at TIMESTAMP,"
        " anonymous_id STRING, user_id STRING, email_hash STRING, crm_contact_id STRING,"
        " person_key STRING, channel STRING, campaign STRING, revenue DOUBLE,"
        " properties STRING, content_hash STRING, file_path STRING, record_no BIGINT,"
        " run_id STRING, utm_medium STRING, utm_source STRING, referrer_host STRING,"
        " page_host STRING, referrer_class STRING"
    ),
    "links": "node_a STRING, node_b STRING",
    "traits": (
        "node STRING, trait STRING, value STRING, set_at TIMESTAMP, source STRING,"
        " file_path STRING, record_no BIGINT, run_id STRING"
    ),
    "conflicts": (
        "source STRING, event_id STRING, kept_hash STRING, rejected_hash STRING,"
        " file_path STRING, record_no BIGINT, run_id STRING"
    ),
}
# Public datasets that are also state (read back by the next run).
PUBLIC_STATE_COLUMNS: dict[str, str] = {
    "quarantine": (
        "source STRING, file_path STRING, record_no BIGINT, reason STRING, raw STRING,"
        " raw_hash STRING, run_id STRING"
    ),
    "files": (
        "source STRING, file_path STRING, size_bytes BIGINT, mtime_ns BIGINT, sha256 STRING,"
        " status STRING, reason STRING, records BIGINT, events BIGINT, duplicates BIGINT,"
        " quarantined BIGINT, run_id STRING, loaded_at TIMESTAMP"
    ),
}
_CREATE_VIEW = re.compile(r"^CREATE\s+OR\s+REPLACE\s+TEMP\s+VIEW\s+([a-z_]+)\s+AS\s+(.*)$",
                          re.IGNORECASE | re.DOTALL)


# --- file systems --------------------------------------------------------------------------------

def is_url(location: str) -> bool:
    return "://" in location


def _join(*parts: str) -> str:
    return "/".join(p.rstrip("/") for p in parts)


class LakeFS:
    """The few file operations the lake needs: a local folder (os) or a URL (Hadoop FileSystem
    through the classic session's JVM)."""

    def __init__(self, session: Any, root: str, *, hadoop: bool = False) -> None:
        self.root = root.rstrip("/") or "/"
        self._local = not hadoop and (not is_url(root) or root.startswith("file://"))
        self._jvm: Any = None
        if self._local:
            self._base = root[len("file://"):] if root.startswith("file://") else root
        else:
            try:
                jvm = session.sparkContext._jvm
            except Exception:  # Spark Connect has no JVM on this side
                jvm = None
            if jvm is None:
                raise UsageError("--lake: a URL lake needs --spark-master (the driver renames"
                                 " its files); with --spark-remote give a folder")
            self._jvm = jvm
            self._conf = session.sparkContext._jsc.hadoopConfiguration()

    def local_path(self) -> Path | None:
        """The lake's folder when it is on this machine's file system."""
        return Path(self._base) if self._local else None

    def url(self, *parts: str) -> str:
        """What Spark reads or writes."""
        return _join(self.root, *parts) if parts else self.root

    def _local_path(self, *parts: str) -> Path:
        return Path(self._base, *parts)

    def _hpath(self, *parts: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(self.url(*parts))

    def _hfs(self) -> Any:
        return self._hpath().getFileSystem(self._conf)

    def exists(self, *parts: str) -> bool:
        if self._local:
            return self._local_path(*parts).exists()
        return bool(self._hfs().exists(self._hpath(*parts)))

    def mkdirs(self, *parts: str) -> None:
        if self._local:
            self._local_path(*parts).mkdir(parents=True, exist_ok=True)
        else:
            self._hfs().mkdirs(self._hpath(*parts))

    def rename(self, source: tuple[str, ...], target: tuple[str, ...]) -> None:
        if self._local:
            os.replace(self._local_path(*source), self._local_path(*target))
        elif not self._hfs().rename(self._hpath(*source), self._hpath(*target)):
            raise RunError(f"--lake: cannot rename {self.url(*source)}")

    def delete(self, *parts: str) -> None:
        if self._local:
            path = self._local_path(*parts)
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        else:
            self._hfs().delete(self._hpath(*parts), True)

    def listdir(self, *parts: str) -> list[str]:
        if self._local:
            path = self._local_path(*parts)
            return sorted(p.name for p in path.iterdir()) if path.is_dir() else []
        if not self.exists(*parts):
            return []
        statuses = self._hfs().listStatus(self._hpath(*parts))
        return sorted(str(s.getPath().getName()) for s in statuses)

    def folders(self, *parts: str) -> list[str]:
        """The names of the folders in a folder, by name (one listing)."""
        if self._local:
            folder = self._local_path(*parts)
            return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        if not self.exists(*parts):
            return []
        return sorted(str(s.getPath().getName())
                      for s in self._hfs().listStatus(self._hpath(*parts)) if s.isDirectory())

    def files(self, *parts: str) -> list[tuple[str, int, int]]:
        """(name, size, modification time in ns) of the plain files in a folder, by name."""
        if self._local:
            folder = self._local_path(*parts)
            if not folder.is_dir():
                return []
            return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                          for p in folder.iterdir() if p.is_file())
        if not self.exists(*parts):
            return []
        return sorted(
            (str(s.getPath().getName()), int(s.getLen()), int(s.getModificationTime()) * 1_000_000)
            for s in self._hfs().listStatus(self._hpath(*parts)) if s.isFile()
        )

    def read_text(self, *parts: str) -> str | None:
        if self._local:
            path = self._local_path(*parts)
            return path.read_text(encoding="utf-8") if path.exists() else None
        if not self.exists(*parts):
            return None
        stream = self._hfs().open(self._hpath(*parts))
        try:
            reader = self._jvm.java.io.BufferedReader(
                self._jvm.java.io.InputStreamReader(stream, "UTF-8"))
            lines = []
            while (line := reader.readLine()) is not None:
                lines.append(str(line))
            return "\n".join(lines)
        finally:
            stream.close()

    def write_text(self, text: str, *parts: str) -> None:
        """Written beside and renamed: a reader sees the old or the new text."""
        partial = (*parts[:-1], parts[-1] + ".partial")
        if self._local:
            self._local_path(*partial).parent.mkdir(parents=True, exist_ok=True)
            self._local_path(*partial).write_text(text, encoding="utf-8")
        else:
            stream = self._hfs().create(self._hpath(*partial), True)
            try:
                stream.write(bytearray(text.encode("utf-8")))
            finally:
                stream.close()
            if self.exists(*parts):
                self.delete(*parts)
        self.rename(partial, parts)


# --- the lake's commit protocol ------------------------------------------------------------------

def recover(fs: LakeFS) -> None:
    """Finish the swaps of a committed run that was killed, or drop an uncommitted one."""
    for run_id in fs.listdir(PENDING):
        text = fs.read_text(PENDING, run_id, COMMITTED)
        if text is not None:
            _swap_in(fs, run_id, json.loads(text)["datasets"])
        fs.delete(PENDING, run_id)
    if fs.exists(PENDING) and not fs.listdir(PENDING):
        fs.delete(PENDING)


def _remove_checkpoints(fs: LakeFS, run_id: str) -> None:
    """The run's checkpoints (engines.spark.cut_lineage) once it ends, committed or not; the
    run's pending folder stays only when it holds more (a commit to finish, or to drop)."""
    fs.delete(PENDING, run_id, CHECKPOINTS)
    for parts in ((PENDING, run_id), (PENDING,)):
        if fs.exists(*parts) and not fs.listdir(*parts):
            fs.delete(*parts)


def _final(name: str) -> tuple[str, ...]:
    return tuple(name.split("/"))


def _swap_in(fs: LakeFS, run_id: str, names: list[str],
             between: Callable[[str], None] | None = None) -> None:
    for name in names:
        new = (PENDING, run_id, "new", *name.split("/"))
        if not fs.exists(*new):
            continue  # swapped already
        old = (PENDING, run_id, "old", *name.split("/"))
        if fs.exists(*_final(name)):
            fs.mkdirs(*old[:-1])
            fs.rename(_final(name), old)
        fs.mkdirs(*_final(name)[:-1]) if len(_final(name)) > 1 else None
        fs.rename(new, _final(name))
        if between is not None:
            between(name)


# --- the run -------------------------------------------------------------------------------------

@dataclass
class _Planned:
    source: SourceConfig
    results: list[FileResult]
    to_read: list[SparkInputFile]
    manifest_rows: dict[str, tuple[int, int, str]]  # relative -> (size, mtime_ns, sha256)


def run_spark(
    input_location: str,
    lake: str,
    *,
    master: str | None = None,
    remote: str | None = None,
    announce: Callable[[str], None] | None = None,
    channels: Path | None = None,
    fail_after: Callable[[str], None] | None = None,
) -> RunSummary:
    """Load the new files of `input_location` into the lake at `lake` on Spark.

    `channels` (`run --channels`): channel rules the lake keeps for later runs. The rules used
    are DuckDB's (channels.prepare_for_writing): these, else config/channels.yaml, else the
    lake's kept ones, else the built-in rules; when they differ from the ones the lake's
    channels follow, every channel is derived again even if no file is new.
    `fail_after` (tests): called after each dataset is written and after each swap, with its
    name, so a test can simulate a killed run.
    """
    from journey_metrics.channels import configured_rules, load_rules_file
    from journey_metrics.config import load_sources
    from journey_metrics.engines.spark import spark_session
    from journey_metrics.hashing import load_key, pseudonymous_name
    from journey_metrics.staging import check_models

    sources = load_sources()
    check_models(sources)
    explicit = load_rules_file(channels) if channels is not None else None
    configured = configured_rules()
    found = _discover(input_location, sources)
    session = spark_session(master, remote)
    session.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    if found is None:
        found = _discover(input_location, sources, session)
        assert found is not None
    fs = LakeFS(session, lake)
    key = load_key(announce, existing=f"lake {fs.url()}"
                   if fs.read_text(LAKE_MARKER) is not None else None)
    # the names kept in the lake (no email address: as loader._kept_names on DuckDB)
    found = {name: [replace(f, relative=pseudonymous_name(f.relative, key.hash_email))
                    for f in listed] for name, listed in found.items()}
    recover(fs)
    marker = _check_marker(fs, key)
    # ids keep the form the lake was written with (HashKey.exact_ids, decision 195)
    key = replace(key, exact_ids=not marker or marker.get("id_hashing") == "exact")
    kept = explicit or _kept_rules(marker)
    rules = explicit or configured or kept or BUILT_IN
    rules_changed = (fs.exists(dataset_name("events"))
                     and marker.get("channel_rules_fingerprint", BUILT_IN.fingerprint)
                     != rules.fingerprint)
    written = _marker(key, kept, rules)
    summary = RunSummary(new_run_id(), Path(lake), location=lake)
    try:
        with checkpoints(session, fs.url(PENDING, summary.run_id, CHECKPOINTS),
                         lambda: _remove_checkpoints(fs, summary.run_id)):
            _load_state(session, fs)
            planned = [_plan_source(session, source, found[source.name]) for source in sources]
            if rules_changed or any(p.to_read or any(r.status == "failed" for r in p.results)
                                    for p in planned):
                _load(session, fs, key, rules, planned, summary.run_id, written, fail_after)
            elif any(p.manifest_rows for p in planned):
                _touch_manifest(session, fs, planned, summary.run_id, written, fail_after)
    finally:
        _drop_views(session)
    for plan in planned:
        source_summary = SourceSummary(plan.source.name)
        for result in plan.results:
            source_summary.add(result)
        summary.sources.append(source_summary)
    summary.events_total, summary.persons, summary.currency = _totals(session, fs, master,
                                                                      remote)
    return summary


@dataclass(frozen=True)
class RemoteFile:
    """An input file behind a URL, as the cluster's file system lists it."""

    location: str
    relative: str
    kind: FileKind | None
    size: int
    mtime_ns: int
    problem: str | None = None


def _discover(input_location: str, sources: list[SourceConfig], session: Any = None
              ) -> dict[str, list[Any]] | None:
    """Per source, the files in name order: a folder by loader.discover (InputFile); a URL by
    the Hadoop file system of the session (RemoteFile: size and modification time, no content
    hash). None: a URL, to be listed once the session runs."""
    from journey_metrics.loader import check_some_source_folder, discover

    if not is_url(input_location):
        return dict(discover(Path(input_location), sources))
    if session is None:
        return None
    fs = LakeFS(session, input_location, hadoop=True)
    if not fs.exists():
        raise UsageError(f"input folder {input_location} does not exist")
    by_folder = {s.folder: s for s in sources}
    present = fs.folders()
    unknown = [name for name in present if not name.startswith((".", "_"))
               and name not in by_folder]
    if unknown:
        known = ", ".join(sorted(by_folder))
        from journey_metrics.hashing import without_emails

        raise UsageError(f"unknown source folder {without_emails(fs.url(unknown[0]))}"
                         f" (known: {known})")
    # an object store holds no empty folder: a night without exports lists nothing at all,
    # which is a quiet night; files there but no source folder is the wrong folder
    if present or fs.listdir():
        check_some_source_folder(input_location, present, sources)
    found: dict[str, list[Any]] = {}
    for source in sources:
        listed = [
            RemoteFile(fs.url(source.folder, name), f"{source.folder}/{name}",
                       source.file_kind(name), size, mtime_ns)
            for name, size, mtime_ns in fs.files(source.folder) if not name.startswith(".")
        ]
        listed += [  # as loader.discover
            RemoteFile(fs.url(source.folder, name), f"{source.folder}/{name}/", None, 0, 0,
                       subfolder_problem(source.folder))
            for name in fs.folders(source.folder) if not name.startswith((".", "_"))
        ]
        found[source.name] = sorted(listed, key=lambda f: f.relative.rstrip("/"))
    return found


def _check_marker(fs: LakeFS, key: HashKey) -> dict[str, Any]:
    """The lake's marker ({} for a new lake), after checking its layout version and key."""
    text = fs.read_text(LAKE_MARKER)
    if text is None:
        if fs.exists(dataset_name("events")):
            raise UsageError(f"--lake: {fs.url()} holds events.parquet but was not written by "
                             "`run --engine spark` (no _jm_lake.json): use an empty folder")
        return {}
    marker: dict[str, Any] = json.loads(text)
    if marker.get("version") != LAKE_VERSION:
        raise UsageError(f"--lake: {fs.url()} has lake layout version {marker.get('version')},"
                         f" this journey-metrics writes {LAKE_VERSION}")
    if marker.get("email_hash_key_fingerprint") != key.fingerprint:
        raise UsageError(f"lake {fs.url()} was built with a different email hashing key than the "
                         f"one from {key.origin}; use the original key or a new lake")
    return marker


def _kept_rules(marker: Mapping[str, Any]) -> ChannelRules | None:
    """The channel rules an earlier `run --channels` left in the lake's marker (the file as it
    is now while it exists, as for a warehouse)."""
    from journey_metrics.channels import kept_rules

    return kept_rules(marker.get("channel_rules"), marker.get("channel_rules_origin", "the lake"))


def _empty(session: Any, schema: str) -> Any:
    return session.createDataFrame([], schema)


def _read_or_empty(session: Any, fs: LakeFS, parts: tuple[str, ...], schema: str) -> Any:
    if fs.exists(*parts):
        frame = session.read.parquet(fs.url(*parts))
        names = [column.split()[0] for column in schema.split(",")]
        return frame.select(*names)
    return _empty(session, schema)


def _load_state(session: Any, fs: LakeFS) -> None:
    for table, schema in STATE_COLUMNS.items():
        _view(_read_or_empty(session, fs, (STATE, dataset_name(table)), schema),
              f"jm_lake_{table}")
    for table, schema in PUBLIC_STATE_COLUMNS.items():
        _view(_read_or_empty(session, fs, (dataset_name(table),), schema), f"jm_lake_{table}")


def _plan_source(session: Any, source: SourceConfig, files: list[Any]) -> _Planned:
    """Which files to read: unchanged ones (same size and mtime, or same content) are skipped
    (loader._read_into_batch's rules, against the lake's manifest)."""
    from journey_metrics.file_hashes import file_sha256
    from journey_metrics.growing_files import line_cut_by_earlier_read

    previous = {
        str(row[0]): (int(row[1]), int(row[2]), str(row[3]),
                      row[5] if row[4] == "failed" else None)
        for row in session.sql(
            "SELECT file_path, max_by(size_bytes, loaded_at), max_by(mtime_ns, loaded_at),"
            " max_by(sha256, loaded_at), max_by(status, loaded_at), max_by(reason, loaded_at)"
            " FROM jm_lake_files WHERE source = :source"
            " GROUP BY file_path", args={"source": source.name}).collect()
    }
    plan = _Planned(source, [], [], {})
    for order, item in enumerate(files):
        result = FileResult(source.name, item.relative, "skipped")
        plan.results.append(result)
        if isinstance(item, RemoteFile):
            size, mtime_ns, location = item.size, item.mtime_ns, item.location
        else:
            location = str(item.path)
            try:
                stat = item.path.stat() if not item.problem else item.path.lstat()
            except OSError as exc:
                item_stat = item.path.lstat()
                result.status, result.reason = "failed", system_error(exc)
                plan.manifest_rows[item.relative] = (item_stat.st_size, item_stat.st_mtime_ns, "")
                continue
            size, mtime_ns = stat.st_size, stat.st_mtime_ns
        if item.problem:
            result.status, result.reason = "failed", item.problem
            plan.manifest_rows[item.relative] = (size, mtime_ns, "")
            continue
        known = previous.get(item.relative)
        if known and known[0] == size and known[1] == mtime_ns and not read_again(known[3]):
            result.earlier_failure = known[3]  # an unreadable file, unchanged: said again
            continue
        # a local file's content hash (a URL: size and modification time only)
        try:
            sha = "" if isinstance(item, RemoteFile) else file_sha256(item.path)
        except OSError as exc:  # unreadable (permissions): it fails alone, read again next run
            result.status, result.reason = "failed", system_error(exc)
            plan.manifest_rows[item.relative] = (size, mtime_ns, "")
            continue
        if known and sha and known[2] == sha and not read_again(known[3]):
            plan.manifest_rows[item.relative] = (size, mtime_ns, sha)  # touch
            result.earlier_failure = known[3]
            continue
        plan.manifest_rows[item.relative] = (size, mtime_ns, sha)
        if item.kind is None:
            patterns = ", ".join(k.pattern + "[.gz]" for k in source.files)
            result.status, result.reason = "failed", f"file name matches none of {patterns}"
            continue
        problem = None if isinstance(item, RemoteFile) else file_content_problem(item.path)
        if problem:  # as the loader's reader (UTF-16, gzip without .gz)
            result.status, result.reason = "failed", problem
            continue
        result.status = "loaded"
        if known and known[3] is None and not isinstance(item, RemoteFile):
            result.cut_line = line_cut_by_earlier_read(item.path, known[0], known[2])
        plan.to_read.append(SparkInputFile(location, item.relative, order, item.kind))
    return plan


def _statements(path: str) -> dict[str, str]:
    found = {}
    for statement in split_statements(load_sql_exact(path)):
        match = _CREATE_VIEW.match(statement.strip())
        if match is None:
            raise RuntimeError(f"sql/{path}: not a CREATE OR REPLACE TEMP VIEW")  # pragma: no cover
        found[match.group(1)] = match.group(2)
    return found


def _sql(session: Any, query: str, params: dict[str, Any]) -> Any:
    used = {k: v for k, v in params.items() if re.search(rf":{k}\b", query)}
    return session.sql(query, args=used or None)


_VIEWS: list[str] = []


def _view(frame: Any, name: str) -> Any:
    frame.createOrReplaceTempView(name)
    _VIEWS.append(name)
    return frame


def _drop_views(session: Any) -> None:
    for name in dict.fromkeys([*_VIEWS, *STAGE_VIEWS]):
        session.catalog.dropTempView(name)
    _VIEWS.clear()
    STAGE_VIEWS.clear()


def _staged(session: Any, key: HashKey, planned: list[_Planned]) -> tuple[Any, Any]:
    """Every source's staged records, with a `source` column (accepted, rejected)."""
    F = spark_functions(session)

    from journey_metrics.engines.spark import translate

    accepted_parts, rejected_parts = [], []
    for plan in planned:
        if not plan.to_read:
            continue
        failures: dict[str, str] = {}
        accepted, rejected = stage_files(session, plan.source, plan.to_read, key, failures)
        if failures:  # a file the stager could not read at all: a NULL record number (failed)
            rejected = rejected.unionByName(session.createDataFrame(
                [(path, None, reason, None, None) for path, reason in sorted(failures.items())],
                ", ".join(f"{name} {type_}" for name, type_ in REJECTED_COLUMNS)))
        accepted_parts.append(accepted.withColumn("source", F.lit(plan.source.name)))
        rejected_parts.append(rejected.select(F.lit(plan.source.name).alias("source"), "*"))
    accepted_all = union_all(session, accepted_parts, [*accepted_columns(), ("source", "STRING")])
    rejected_all = union_all(session, rejected_parts, [("source", "STRING"), *REJECTED_COLUMNS])
    accepted_all = cut_lineage(accepted_all, "batch_accepted")
    rejected_all = cut_lineage(rejected_all, "batch_rejected")
    _view(accepted_all, "jm_batch_staged")
    # the built-in channel of web events (for the content hash), from sql/macros.sql
    with_builtin = session.sql(translate(
        "SELECT *, jm_builtin_channel(utm_medium, referrer_class) AS builtin_channel"
        " FROM jm_batch_staged"))
    _view(with_builtin, "batch_accepted")
    _view(rejected_all, "batch_rejected")
    return with_builtin, rejected_all


def _load(session: Any, fs: LakeFS, key: HashKey, rules: ChannelRules, planned: list[_Planned],
          run_id: str, marker: str, fail_after: Callable[[str], None] | None) -> None:
    F = spark_functions(session)

    install_functions(session, key)  # also when no file is staged (new rules, failed files)
    session.sql(spark_function(rules, "jm_lake_channel"))  # lake_tables.spark.sql's channels
    _, rejected = _staged(session, key, planned)
    # whole files the stager could not read (record_no NULL): failed, not quarantined
    for row in rejected.where(F.col("record_no").isNull()).select(
            "source", "file_path", "reason").collect():
        for plan in planned:
            for result in plan.results:
                if result.source == row[0] and result.file_path == row[1]:
                    result.status, result.reason = "failed", row[2]
    _batch_files(session, planned)
    params = {"run_id": run_id}
    views: dict[str, Any] = {}  # the views by name (a copied one is the copy's own frame)
    for name, query in _statements("spark_ingest/load_batch.spark.sql").items():
        frame = _sql(session, query, params)
        if name in ("jm_contested", "jm_candidates", "jm_all_links"):
            frame = cut_lineage(frame, name)
        views[name] = _view(frame, name)
    counts = {
        (str(r[0]), str(r[1])): (int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]))
        for r in session.sql("SELECT * FROM jm_batch_counts").collect()
    }
    for plan in planned:
        for result in plan.results:
            if result.status == "loaded":
                (result.records, result.events, result.duplicates, result.quarantined,
                 result.identity_records) = counts.get((result.source, result.file_path),
                                                       (0, 0, 0, 0, 0))
    all_events = session.table("jm_lake_events").unionByName(session.table("jm_new_events"))
    views["jm_all_events"] = _view(cut_lineage(all_events, "jm_all_events"), "jm_all_events")
    all_traits = session.table("jm_lake_traits").unionByName(session.table("jm_new_traits"))
    _view(all_traits, "jm_all_traits")
    _stitch(session)
    for name, query in _statements("spark_ingest/lake_tables.spark.sql").items():
        frame = _sql(session, query, params)
        if name in ("jm_out_persons", "jm_out_events"):  # read by the data tests and written
            frame = cut_lineage(frame, name)
        views[name] = _view(frame, name)
    check_data(session)
    manifest = _manifest(session, planned, run_id, counts)
    datasets: dict[str, Any] = {
        f"{STATE}/{dataset_name('events')}": views["jm_all_events"],
        f"{STATE}/{dataset_name('links')}": views["jm_all_links"],
        f"{STATE}/{dataset_name('traits')}": session.table("jm_all_traits"),
        f"{STATE}/{dataset_name('conflicts')}": session.table("jm_lake_conflicts").unionByName(
            session.table("jm_new_conflicts")),
        dataset_name("events"): views["jm_out_events"],
        dataset_name("persons"): views["jm_out_persons"],
        dataset_name("traits"): session.table("jm_out_traits"),
        dataset_name("identity"): session.table("jm_out_identity"),
        dataset_name("quarantine"): session.table("jm_lake_quarantine").unionByName(
            session.table("jm_new_quarantine")),
        dataset_name("files"): manifest,
    }
    _commit(fs, run_id, datasets, marker, fail_after)


# The warehouse's names the data tests of sql/tests/ read, and the run's views that hold them.
_DATA_TEST_VIEWS = {"events": "jm_all_events", "_jm_person_map": "jm_person_map",
                    "persons": "jm_out_persons", "fct_events": "jm_out_events"}


def check_data(session: Any) -> None:
    """The data tests `run` runs on the warehouse, on the stitched lake before it is written:
    a failing row is a bug, and the run fails naming the test, the lake unchanged."""
    from journey_metrics import data_tests
    from journey_metrics.engines.spark import SparkConnection

    for name, view in _DATA_TEST_VIEWS.items():
        _view(session.table(view), name)
    data_tests.check(SparkConnection(session))


def _batch_files(session: Any, planned: list[_Planned]) -> None:
    rows = [
        (plan.source.name, result.file_path)
        for plan in planned for result in plan.results if result.status == "loaded"
    ]
    _view(session.createDataFrame(rows, "source STRING, file_path STRING"), "batch_files")


def _manifest(session: Any, planned: list[_Planned], run_id: str,
              counts: Mapping[tuple[str, str], tuple[int, ...]]) -> Any:
    """The lake's manifest with this run's rows: a file read (loaded or failed) gets a row; an
    unchanged file found under a new modification time gets its time updated (as on DuckDB)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    new_rows, touched = [], []
    for plan in planned:
        for result in plan.results:
            if result.file_path not in plan.manifest_rows:
                continue
            size, mtime, sha = plan.manifest_rows[result.file_path]
            if result.status == "skipped":
                touched.append((plan.source.name, result.file_path, sha, mtime))
                continue
            records, events, duplicates, quarantined, _ = counts.get(
                (plan.source.name, result.file_path), (0, 0, 0, 0, 0))
            if result.status == "failed":
                records = events = duplicates = quarantined = 0
                result.records = 0
            new_rows.append((plan.source.name, result.file_path, size, mtime, sha, result.status,
                             result.reason, records, events, duplicates, quarantined, run_id,
                             now))
    schema = PUBLIC_STATE_COLUMNS["files"]
    new = session.createDataFrame(new_rows, schema)
    _view(session.createDataFrame(
        touched, "source STRING, file_path STRING, sha256 STRING, new_mtime BIGINT"),
        "jm_touched_files")
    kept = session.sql(
        "SELECT f.source, f.file_path, f.size_bytes,"
        " coalesce(t.new_mtime, f.mtime_ns) AS mtime_ns, f.sha256, f.status, f.reason,"
        " f.records, f.events, f.duplicates, f.quarantined, f.run_id, f.loaded_at"
        " FROM jm_lake_files AS f LEFT JOIN jm_touched_files AS t"
        " ON t.source = f.source AND t.file_path = f.file_path AND t.sha256 = f.sha256")
    return kept.unionByName(new)


def _touch_manifest(session: Any, fs: LakeFS, planned: list[_Planned], run_id: str,
                    marker: str, fail_after: Callable[[str], None] | None) -> None:
    """Nothing to load, but files with new modification times: only the manifest changes."""
    manifest = _manifest(session, planned, run_id, {})
    _commit(fs, run_id, {dataset_name("files"): manifest}, marker, fail_after)


def _stitch(session: Any) -> int:
    """Label propagation until no label changes; each round checkpointed (short lineage)."""
    queries = _statements("spark_ingest/stitch.spark.sql")
    _view(cut_lineage(session.sql(queries["jm_edges"]), "jm_edges"), "jm_edges")
    _view(cut_lineage(session.sql(queries["jm_labels_init"]), "jm_labels"), "jm_labels")
    rounds = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        labels_next = cut_lineage(session.sql(queries["jm_labels_step"]), f"jm_labels_{rounds}")
        _view(labels_next, "jm_labels_next")
        changed = int(session.sql(queries["jm_labels_changed"]).collect()[0][0])
        _view(labels_next, "jm_labels")
        if changed == 0:
            return rounds
    raise RunError(f"identity stitching did not settle in {MAX_ROUNDS} rounds")


def _marker(key: HashKey, kept: ChannelRules | None, rules: ChannelRules) -> str:
    marker = {"version": LAKE_VERSION, "email_hash_key_fingerprint": key.fingerprint,
              **({"id_hashing": "exact"} if key.exact_ids else {}),
              "writer": "journey-metrics run --engine spark",
              "channel_rules_fingerprint": rules.fingerprint}
    if kept is not None:
        marker.update(channel_rules=kept.to_json(), channel_rules_origin=kept_origin(kept))
    return json.dumps(marker, indent=2)


def _commit(fs: LakeFS, run_id: str, datasets: dict[str, Any], marker: str,
            fail_after: Callable[[str], None] | None) -> None:
    """Write every dataset and the marker under _jm_pending/<run>/new/, then the commit file,
    then swap (the marker last: it names the channel rules the swapped datasets follow)."""
    # a dataset that is already one of the run's Parquet copies (engines.spark.cut_lineage) is
    # moved, not written again; after the writes, which may still read it
    moves = {name: copy_location(frame) for name, frame in datasets.items()}
    for name, frame in datasets.items():
        if moves[name] is None:
            frame.write.mode("overwrite").parquet(fs.url(PENDING, run_id, "new", name))
            if fail_after is not None:
                fail_after(f"write:{name}")
    for name, location in moves.items():
        if location is not None:
            fs.mkdirs(PENDING, run_id, "new", *_final(name)[:-1])
            fs.rename((PENDING, run_id, CHECKPOINTS, location.rstrip("/").rsplit("/", 1)[-1]),
                      (PENDING, run_id, "new", *_final(name)))
            if fail_after is not None:
                fail_after(f"write:{name}")
    fs.write_text(marker, PENDING, run_id, "new", LAKE_MARKER)
    names = [*datasets, LAKE_MARKER]
    fs.write_text(json.dumps({"run_id": run_id, "datasets": names}), PENDING, run_id, COMMITTED)
    if fail_after is not None:
        fail_after("commit")
    _swap_in(fs, run_id, names,
             (lambda name: fail_after(f"swap:{name}")) if fail_after is not None else None)
    fs.delete(PENDING, run_id)
    if not fs.listdir(PENDING):
        fs.delete(PENDING)


def _totals(session: Any, fs: LakeFS, master: str | None, remote: str | None
            ) -> tuple[int, int, dict[str, object]]:
    """The lake's event and person totals and the reporting currency (as the run summary): read
    back from the lake, by an in-memory DuckDB for a folder (both engines give the same rows,
    CONTRACT §12; DuckDB answers these small queries in a fraction of Spark's time), else Spark."""
    if not fs.exists(dataset_name("events")):
        return 0, 0, {"reporting": None, "excluded_orders": 0}
    from journey_metrics.metrics._money import currency_summary
    from journey_metrics.metrics.common import resolve_as_of, zone

    con: Any
    if fs.local_path() is not None:
        from journey_metrics.engines.duckdb import open_lake

        con = open_lake(fs.local_path())  # type: ignore[arg-type]
    else:
        from journey_metrics.engines.spark import open_spark_lake

        con = open_spark_lake(fs.url(), master=master, remote=remote)
    try:
        from journey_metrics.sql import sql_engine

        with sql_engine("spark" if fs.local_path() is None else "duckdb"):
            events = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
            persons = int(con.execute("SELECT count(*) FROM persons").fetchall()[0][0])
            currency: dict[str, object] = (
                currency_summary(con, resolve_as_of(con, None, zone("UTC")))
                if events else {"reporting": None, "excluded_orders": 0})
    finally:
        con.close()
    return events, persons, currency
