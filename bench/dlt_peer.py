"""The dlt peer: what a data engineer would write instead of journey-metrics' ingest.

    /work/venv-bench/bin/python bench/dlt_peer.py INPUT_FOLDER WORK_DIR

(install: `python -m venv venv-bench && venv-bench/bin/pip install -r bench/requirements.txt`;
dlt is never a dependency of journey-metrics). One dlt pipeline merge-loads the input folder's
web (Segment JSONL), email (SendGrid JSON/JSONL) and CRM (HubSpot CSV) files into a DuckDB file,
merging on the event ids (messageId, sg_event_id, the HubSpot object ids), so a re-run does not
duplicate. Its load packages are Parquet (`loader_file_format="parquet"`, dlt's `parquet` extra):
the DuckDB destination's default, `insert_values`, loads through SQL INSERT statements and was
6x slower on data/sample (41.5 s against 6.7 s; jsonl 10.8 s), and a data engineer who times a
load picks the fast format. A line that is not valid JSON is skipped (dlt has no quarantine).
It does not hash emails, validate, classify channels or stitch persons: it is a plain load.
Prints one JSON line: {"seconds", "records"}.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dlt


def _open(path: Path):  # type: ignore[no-untyped-def]
    return gzip.open(path, "rt", encoding="utf-8-sig") if path.suffix == ".gz" else path.open(
        encoding="utf-8-sig")


def _json_records(paths: list[Path]) -> Iterator[dict[str, object]]:
    for path in paths:
        with _open(path) as handle:
            text = handle.read()
        if text.lstrip().startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                continue
            yield from (item for item in items if isinstance(item, dict))
            continue
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(item, dict):
                yield item


def _csv_records(paths: list[Path]) -> Iterator[dict[str, str]]:
    for path in paths:
        with _open(path) as handle:
            yield from csv.DictReader(handle)


def source(folder: Path):  # type: ignore[no-untyped-def]
    files = lambda sub, pattern: sorted((folder / sub).glob(pattern))  # noqa: E731

    @dlt.resource(name="web_events", primary_key="messageId", write_disposition="merge")
    def web() -> Iterator[dict[str, object]]:
        yield from (r for r in _json_records(files("web", "*.json*")) if r.get("messageId"))

    @dlt.resource(name="email_events", primary_key="sg_event_id", write_disposition="merge")
    def email() -> Iterator[dict[str, object]]:
        yield from (r for r in _json_records(files("email", "*.json*")) if r.get("sg_event_id"))

    resources = [web, email]
    for kind in ("contacts", "deals", "feedback"):
        @dlt.resource(name=f"crm_{kind}", primary_key="hs_object_id", write_disposition="merge")
        def crm(kind: str = kind) -> Iterator[dict[str, str]]:
            yield from _csv_records(files("crm", f"{kind}*.csv*"))

        resources.append(crm)
    return resources


def main() -> None:
    folder, work = Path(sys.argv[1]), Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name="journey_peer", pipelines_dir=str(work / "dlt"),
        destination=dlt.destinations.duckdb(str(work / "dlt_peer.duckdb")),
        dataset_name="raw",
    )
    pipeline.run(source(folder), loader_file_format="parquet")
    seconds = time.perf_counter() - started
    import duckdb

    con = duckdb.connect(str(work / "dlt_peer.duckdb"), read_only=True)
    records = sum(
        con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]  # type: ignore[index]
        for table in ("web_events", "email_events")
    )
    print(json.dumps({"seconds": seconds, "records": records}))


if __name__ == "__main__":
    main()
