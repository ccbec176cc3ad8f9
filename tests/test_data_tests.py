"""The data tests of sql/tests/ pass on a loaded warehouse and fail, by name, when a rule breaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import write_jsonl
from journey_metrics.data_tests import check, data_tests, failures
from journey_metrics.db import connect
from journey_metrics.errors import RunError


def _load(input_dir: Path, db_path: Path, run_pipeline: Any) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "page", "messageId": "m1", "timestamp": "2024-01-01T00:00:00Z",
         "anonymousId": "a1"},
        {"type": "identify", "messageId": "m2", "timestamp": "2024-01-01T00:01:00Z",
         "anonymousId": "a1", "userId": "u1"},
        {"type": "track", "event": "Signed Up", "messageId": "m3",
         "timestamp": "2024-01-01T00:02:00Z", "userId": "u1"},
    ])
    run_pipeline(input_dir, db_path)


def test_every_data_test_passes_after_a_run(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    _load(input_dir, db_path, run_pipeline)
    assert len(data_tests()) >= 5
    con = connect(db_path)
    try:
        assert failures(con) == {}
    finally:
        con.close()


def test_a_broken_rule_fails_by_name(input_dir: Path, db_path: Path, run_pipeline: Any) -> None:
    _load(input_dir, db_path, run_pipeline)
    con = connect(db_path)
    try:
        # a duplicated event and an event nobody was stitched for: two rules broken
        con.execute("INSERT INTO events SELECT * FROM events WHERE event_id = 'm3'")
        con.execute("INSERT INTO events SELECT * REPLACE ('x9' AS event_id, 'a:ghost' AS"
                    " person_key) FROM events WHERE event_id = 'm1'")
        assert set(failures(con)) == {"test_events_unique", "test_events_have_a_person"}
        with pytest.raises(RunError, match="test_events_unique \\(1 rows\\)"):
            check(con)
    finally:
        con.close()
