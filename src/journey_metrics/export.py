"""`export`: the warehouse as a lake folder of Parquet files (CONTRACT §5, §12).

`events.parquet` and `persons.parquet` carry CONTRACT §5's columns first, then what the metrics
need (person_no, campaign, the channel inputs); beside them `traits`, `identity`, `quarantine` and
`files` (engines/lake.py). `--events DIR` reads the folder back on either engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from journey_metrics.db import fetch_first
from journey_metrics.engines.lake import EXPORTED, dataset_name
from journey_metrics.sql import load_sql
from journey_metrics.warehouse import open_for_reading


@dataclass(frozen=True)
class ExportResult:
    events_path: Path
    persons_path: Path
    events: int
    persons: int
    paths: dict[str, Path] = field(default_factory=dict)  # every dataset written, by table


def export(db_path: Path, out_dir: Path) -> ExportResult:
    con = open_for_reading(db_path)  # a missing warehouse is refused before anything is made
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {}
        for table in EXPORTED:
            path = out_dir / dataset_name(table)
            # written beside, then renamed: a reader never sees half a file
            partial = path.with_name(path.name + ".partial")
            con.sql(load_sql(f"marts/export_{table}.sql")).write_parquet(str(partial))
            partial.replace(path)
            paths[table] = path
        counts = fetch_first(con.execute(
            "SELECT (SELECT count(*) FROM fct_events), (SELECT count(*) FROM persons)"
        ))
        assert counts is not None
        return ExportResult(paths["events"], paths["persons"], int(counts[0]), int(counts[1]),
                            paths)
    finally:
        con.close()
