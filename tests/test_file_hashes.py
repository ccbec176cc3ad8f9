"""Input files' content hashes, computed ahead of the loader (journey_metrics/file_hashes.py)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import query, write_jsonl
from journey_metrics import file_hashes
from journey_metrics.file_hashes import HashesAhead

PAGE = {"type": "page", "anonymousId": "a", "timestamp": "2024-03-01T10:00:00Z"}


def test_hashes_ahead_are_the_files_sha256(tmp_path: Path) -> None:
    paths = []
    for name, size in (("a", 0), ("b", 5), ("c", 3 << 20)):  # empty, small, several buffers
        path = tmp_path / name
        path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
        paths.append(path)
    hashes = HashesAhead(paths[:2])  # c is not handed over: hashed when asked
    try:
        for path in reversed(paths):  # asked in another order than handed over
            assert hashes.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    finally:
        hashes.close()


def test_an_unasked_hash_is_cancelled_on_close(tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.jsonl" for i in range(50)]
    for path in paths:
        path.write_bytes(b"{}\n" * 1000)
    hashes = HashesAhead(paths)
    hashes.close()  # returns without hashing what nobody asked for; the thread has ended
    assert not any(t.name.startswith("jm-hash") for t in threading.enumerate())


def test_a_file_that_cannot_be_hashed_fails_alone(
    input_dir: Path, db_path: Path, run_pipeline: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file removed or made unreadable after discovery fails with its reason; the others load
    (the hash is the first read of a changed file)."""
    write_jsonl(input_dir / "web" / "a.jsonl", [{**PAGE, "messageId": "a-1"}])
    write_jsonl(input_dir / "web" / "b.jsonl", [{**PAGE, "messageId": "b-1"}])
    real = file_hashes.file_sha256

    def vanishing(path: Path) -> str:
        if path.name == "a.jsonl":
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path)

    monkeypatch.setattr(file_hashes, "file_sha256", vanishing)
    summary = run_pipeline(input_dir, db_path)
    assert summary["failed_files"] == [
        {"source": "web", "file": "web/a.jsonl",
         "reason": "cannot read file: No such file or directory"}
    ]
    assert query(db_path, "SELECT event_id FROM events") == [("b-1",)]
    # once the file changes, the next run reads it
    monkeypatch.setattr(file_hashes, "file_sha256", real)
    write_jsonl(input_dir / "web" / "a.jsonl",
                [{**PAGE, "messageId": "a-1"}, {**PAGE, "messageId": "a-2"}])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id FROM events ORDER BY 1") == [
        ("a-1",), ("a-2",), ("b-1",)]
