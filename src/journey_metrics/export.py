"""`export`: the warehouse's events and persons as Parquet (CONTRACT §5)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from journey_metrics.db import fetch_first
from journey_metrics.sql import load_sql
from journey_metrics.warehouse import open_for_reading


@dataclass(frozen=True)
class ExportResult:
    events_path: Path
    persons_path: Path
    events: int
    persons: int


def export(db_path: Path, out_dir: Path) -> ExportResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    con = open_for_reading(db_path)
    try:
        events = con.sql(load_sql("marts/export_events.sql"))
        persons = con.sql(load_sql("marts/export_persons.sql"))
        events_path, persons_path = out_dir / "events.parquet", out_dir / "persons.parquet"
        events.write_parquet(str(events_path))
        persons.write_parquet(str(persons_path))
        counts = fetch_first(con.execute(
            "SELECT (SELECT count(*) FROM fct_events), (SELECT count(*) FROM persons)"
        ))
        assert counts is not None
        return ExportResult(events_path, persons_path, int(counts[0]), int(counts[1]))
    finally:
        con.close()
