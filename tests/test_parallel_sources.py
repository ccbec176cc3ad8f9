"""Sources loaded side by side in threads of one process (as the nightly flow loads them) store
each identity node once: their commits take turns (loader._COMMIT_LOCK)."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import query, write_jsonl
from journey_metrics import loader, pipeline
from journey_metrics.hashing import load_key


def test_two_sources_committing_at_once_store_a_shared_email_once(
    input_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "identify", "messageId": "m1", "timestamp": "2024-03-01T10:01:00Z",
         "anonymousId": "a1", "userId": "u1", "traits": {"email": "a@example.com"}},
    ])
    write_jsonl(input_dir / "email" / "a.jsonl", [
        {"email": "A@example.com", "timestamp": 1709290000, "event": "open", "sg_event_id": "e1"},
    ])
    # each commit waits (up to 3 s) at its first statement for the other to be in flight too:
    # without the lock both are, and both number the email as a new node
    both_in_flight = threading.Barrier(2)
    started = threading.local()
    real = loader.used_parameters

    def meet(statement: str, params: dict[str, Any]) -> dict[str, Any]:
        if not getattr(started, "done", False):
            started.done = True
            # broken after 3 s: the other commit waits for this one (the lock works)
            with contextlib.suppress(threading.BrokenBarrierError):
                both_in_flight.wait(timeout=3)
        return real(statement, params)

    monkeypatch.setattr(loader, "used_parameters", meet)
    db = tmp_path / "w.duckdb"
    sources, files = pipeline.plan_run(input_dir)
    key = load_key()
    pipeline.prepare_warehouse(db, key)
    errors: list[BaseException] = []

    def load(index: int) -> None:
        try:
            pipeline.load_one_source(db, sources[index], files[sources[index].name], "r1", key)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(len(sources))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert query(db, "SELECT node, count(*) FROM _jm_nodes GROUP BY 1 HAVING count(*) > 1") == []
    assert query(db, "SELECT node_no FROM _jm_nodes GROUP BY 1 HAVING count(*) > 1") == []
    assert pipeline.stitch_identities(db, key) == (2, 1)
