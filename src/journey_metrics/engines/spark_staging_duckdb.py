"""TEMPORARY stand-in for engines/spark_staging.py (being written by another helper).

It has the same signature as the real `stage_files`, but stages the files with DuckDB's loader
code in this process (so only local files) and hands the result to Spark as DataFrames made from
Arrow. engines/spark_ingest.py imports it in exactly one place (`_stage_files`); at merge that
import becomes `from journey_metrics.engines.spark_staging import SparkInputFile, stage_files`
and this file is deleted.

Convention the orchestration relies on (to be checked against the real module at merge): a file
that cannot be read or staged at all comes back as ONE row of `rejected` with `record_no` NULL
and the reason in `reason` (it is recorded as a failed file in the manifest, not quarantined).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journey_metrics.config import FileKind, SourceConfig
from journey_metrics.hashing import HashKey
from journey_metrics.sql import split_statements


@dataclass(frozen=True)
class SparkInputFile:
    location: str  # local path or any URL Spark reads
    relative: str  # the path as the manifest records it (source folder / file name)
    file_order: int
    kind: FileKind


def stage_files(
    session: Any, source: SourceConfig, files: list[SparkInputFile], key: HashKey
) -> tuple[Any, Any]:
    """(accepted, rejected) for `files` of `source`, staged by DuckDB's loader (temporary)."""
    from journey_metrics import loader
    from journey_metrics.loader import InputFile
    from journey_metrics.staging import batch_accepted_ddl
    from journey_metrics.warehouse import open_warehouse

    with tempfile.TemporaryDirectory(prefix="jm-stage-") as tmp:
        con = open_warehouse(Path(tmp) / "stage.duckdb", key)
        try:
            con.execute(batch_accepted_ddl())
            for statement in split_statements(loader._BATCH_TABLES):
                con.execute(statement)
            failed: list[tuple[str, str]] = []
            chunk: Any = None
            chunks: list[Any] = []
            for item in files:
                location = item.location.removeprefix("file://")
                if "://" in location:
                    failed.append((item.relative, "the temporary DuckDB stager reads local files"
                                   " only"))
                    continue
                entry = InputFile(Path(location), item.relative, item.kind)
                if chunk is not None and not loader._stage_together(chunk.kind, item.kind):
                    loader._stage_chunk(con, source, chunk)
                    chunk = None
                result, ok = loader._read_into_batch(con, source, entry, item.file_order)
                if not ok:
                    failed.append((item.relative, result.reason or "cannot read file"))
                    continue
                if chunk is None:
                    chunk = loader._Chunk(item.kind)
                    chunks.append(chunk)
                loader._append_to_chunk(con, entry, item.file_order, chunk, result)
                if chunk.records >= loader.CHUNK_RECORDS:
                    loader._stage_chunk(con, source, chunk)
                    chunk = None
            if chunk is not None:
                loader._stage_chunk(con, source, chunk)
            for staged in chunks:
                for _item, _order, result in staged.files:
                    if result.status == "failed":
                        failed.append((result.file_path, result.reason or "cannot load"))
            failed_paths = [path for path, _ in failed]
            accepted = con.sql(
                "SELECT * REPLACE (properties::VARCHAR AS properties) FROM batch_accepted"
                " WHERE NOT list_contains($failed, file_path)",
                params={"failed": failed_paths},
            ).to_arrow_table()
            rejected = con.sql(
                "SELECT file_path, record_no, reason, jm_redact(raw) AS raw, raw_hash"
                " FROM batch_rejected WHERE NOT list_contains($failed, file_path)"
                " UNION ALL SELECT unnest($paths), NULL::BIGINT, unnest($reasons), NULL, NULL",
                params={"failed": failed_paths, "paths": failed_paths,
                        "reasons": [reason for _, reason in failed]},
            ).to_arrow_table()
        finally:
            con.close()
    return _frame(session, accepted), _frame(session, rejected)


def _frame(session: Any, table: Any) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    # Spark wants plain timestamps (UTC instants) and strings
    fields = []
    for field in table.schema:
        if pa.types.is_timestamp(field.type):
            fields.append(pa.field(field.name, pa.timestamp("us", tz="UTC")))
        else:
            fields.append(field)
    return session.createDataFrame(table.cast(pa.schema(fields)))
