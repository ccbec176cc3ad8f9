"""Line-oriented files are read several at a time (loader.GROUP_BYTES): the rows, record numbers,
quarantine and per-file counts are those of reading each file alone."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import query, write_jsonl
from journey_metrics import loader
from journey_metrics.config import FileKind
from journey_metrics.sources import readers


def _page(message_id: str, anonymous_id: str, minute: int) -> dict[str, Any]:
    return {"type": "page", "messageId": message_id, "anonymousId": anonymous_id,
            "timestamp": f"2024-03-01T10:{minute:02d}:00Z",
            "properties": {"url": "https://shop.example.com/p", "path": "/p"}}


def _write_input(folder: Path) -> None:
    write_jsonl(folder / "web" / "day1.jsonl", [
        _page("a1", "anon-a", 1), "", "not json", _page("a2", "anon-a", 2), "   ",
        _page("a3", "anon-a", 3)])
    plain = write_jsonl(folder / "day2.tmp", [
        "", "", _page("b1", "anon-b", 4), {"type": "teleport", "messageId": "b2"},
        _page("a1", "anon-a", 1)])  # a duplicate of day1's first event
    (folder / "web" / "day2.jsonl.gz").write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    write_jsonl(folder / "web" / "day3.jsonl", ["", "[1, 2]", _page("c1", "anon-c", 5)])
    (folder / "web" / "day4.jsonl").write_text("\n\n  \n", encoding="utf-8")  # no records


def _loaded(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "events": query(db, "SELECT event_id, file_path, record_no FROM events ORDER BY ALL"),
        "quarantine": query(db, "SELECT file_path, record_no, reason, raw FROM _jm_quarantine"
                                " ORDER BY ALL"),
        "files": query(db, "SELECT file_path, status, records, events, duplicates, quarantined"
                           " FROM _jm_files ORDER BY ALL"),
    }


def test_files_read_together_load_as_files_read_alone(
    tmp_path: Path, run_pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_input(tmp_path / "input")
    groups: list[int] = []
    real = readers.read_lines_together

    def spy(con: Any, paths: list[Path]) -> bool:
        groups.append(len(paths))
        return real(con, paths)

    monkeypatch.setattr(loader, "read_lines_together", spy)
    run_pipeline(tmp_path / "input", tmp_path / "together.duckdb")
    assert groups == [3]  # the three files with lines in one read (day4 is blank: no read)
    monkeypatch.setattr(loader, "GROUP_BYTES", 0)  # each file read as soon as it is reached
    run_pipeline(tmp_path / "input", tmp_path / "alone.duckdb")
    assert groups == [3]

    together, alone = _loaded(tmp_path / "together.duckdb"), _loaded(tmp_path / "alone.duckdb")
    assert together == alone
    assert together["events"] == [
        ("a1", "web/day1.jsonl", 1), ("a2", "web/day1.jsonl", 4), ("a3", "web/day1.jsonl", 6),
        ("b1", "web/day2.jsonl.gz", 3), ("c1", "web/day3.jsonl", 3)]
    assert [row[:3] for row in together["quarantine"]] == [
        ("web/day1.jsonl", 3, "not valid JSON"),
        ("web/day2.jsonl.gz", 4, "unknown message type teleport"),
        ("web/day3.jsonl", 2, "not a JSON object")]
    assert together["files"] == [
        ("web/day1.jsonl", "loaded", 4, 3, 0, 1), ("web/day2.jsonl.gz", "loaded", 3, 1, 1, 1),
        ("web/day3.jsonl", "loaded", 2, 1, 0, 1), ("web/day4.jsonl", "loaded", 0, 0, 0, 0)]


# bytes no text holds: control bytes beside bytes that are no UTF-8 (a binary file)
BINARY = bytes(range(14, 20)) + bytes(range(128, 256))


def test_a_file_that_cannot_be_read_fails_alone_in_a_group(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [_page("a1", "anon-a", 1)])
    (input_dir / "web" / "b.jsonl").write_bytes(b'{"type": "page"}\n' + BINARY)
    write_jsonl(input_dir / "web" / "c.jsonl", [_page("c1", "anon-c", 2)])
    summary = run_pipeline(input_dir, db_path)
    failed = {f["file"]: f["reason"] for f in summary["failed_files"]}
    assert list(failed) == ["web/b.jsonl"]
    assert "UTF-8" in failed["web/b.jsonl"]
    assert query(db_path, "SELECT event_id, file_path, record_no FROM events ORDER BY 1") == [
        ("a1", "web/a.jsonl", 1), ("c1", "web/c.jsonl", 1)]


def test_a_source_whose_line_files_all_fail_loads_nothing_else_lost(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    (input_dir / "web").mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        (input_dir / "web" / name).write_bytes(b'{"type": "page"}\n' + BINARY)
    write_jsonl(input_dir / "email" / "e.jsonl", [{
        "event": "open", "email": "a@example.com", "timestamp": 1709287200,
        "sg_event_id": "e1"}])
    summary = run_pipeline(input_dir, db_path)
    assert sorted(f["file"] for f in summary["failed_files"]) == ["web/a.jsonl", "web/b.jsonl"]
    assert query(db_path, "SELECT source, count(*) FROM events GROUP BY 1") == [("email", 1)]


def test_a_record_after_nul_padding_is_quarantined_not_lost(
    tmp_path: Path, run_pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that crashed mid-append leaves NUL bytes, and its next write continues that line
    (`\\0\\0{...}`). Such a line, and a line of NULs alone, is a record: quarantined as not JSON
    with its line number, read together or alone (lines were split at NUL, so both read as
    blank and vanished uncounted)."""
    lines = [json.dumps(_page(f"n{i}", f"anon-{i}", i)) for i in range(4)]
    text = "\n".join([lines[0], "\0\0" + lines[1], lines[2], "\0\0\0", "", lines[3]]) + "\n"
    (tmp_path / "input" / "web").mkdir(parents=True)
    (tmp_path / "input" / "web" / "a.jsonl").write_bytes(text.encode())
    write_jsonl(tmp_path / "input" / "web" / "b.jsonl", [_page("b1", "anon-b", 9)])
    run_pipeline(tmp_path / "input", tmp_path / "together.duckdb")
    monkeypatch.setattr(loader, "GROUP_BYTES", 0)
    run_pipeline(tmp_path / "input", tmp_path / "alone.duckdb")
    together, alone = _loaded(tmp_path / "together.duckdb"), _loaded(tmp_path / "alone.duckdb")
    assert together == alone
    assert [row[:2] for row in together["events"]] == [
        ("b1", "web/b.jsonl"), ("n0", "web/a.jsonl"), ("n2", "web/a.jsonl"), ("n3", "web/a.jsonl")]
    assert [(row[1], row[2], row[3][:3]) for row in together["quarantine"]] == [
        (2, "not valid JSON", "\0\0{"), (4, "not valid JSON", "\0\0\0")]
    assert together["files"][0] == ("web/a.jsonl", "loaded", 5, 3, 0, 2)


# --- a line that is not UTF-8 (decision 146): every record keeps its line number ----------------

@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(["good", "good", "bad", "blank", "empty"]), min_size=1,
                      max_size=40),
       final_newline=st.booleans(), crlf=st.booleans())
def test_lines_that_are_not_utf8_keep_every_line_number(
    tmp_path: Path, kinds: list[str], final_newline: bool, crlf: bool
) -> None:
    """Against a plain-Python reference (split on LF, strip a CR, decode): each good line is read
    with its own number and text, each bad line is a record with the reader's problem and its
    Latin-1 text; when bad lines outnumber good ones, the file fails whole. (A file whose line
    ends change from LF to CRLF is numbered off by DuckDB's reader, bad bytes or not: decision
    84; each file here keeps one kind of line end.)"""
    lines = [{"good": f'{{"n": {i}, "t": "é"}}'.encode(),
              "bad": f'{{"n": {i}, "t": "\xe9"}}'.encode("latin-1"),
              "blank": b"  ", "empty": b""}[kind] for i, kind in enumerate(kinds)]
    path = tmp_path / f"f{len(list(tmp_path.iterdir()))}.jsonl"
    end = b"\r\n" if crlf else b"\n"
    path.write_bytes(end.join(lines) + (end if final_newline else b""))
    expected = []
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip(b"\r")
        if not text.strip():
            continue
        try:
            expected.append((number, text.decode("utf-8"), None))
        except UnicodeDecodeError:
            expected.append((number, text.decode("latin-1"), readers.NOT_UTF8_LINE))
    con = duckdb.connect()
    kind = FileKind(pattern="*.jsonl", reader="jsonl", model="stg_web")
    bad = sum(1 for _, _, problem in expected if problem)
    if bad > len(expected) - bad:
        with pytest.raises(readers.FileReadError, match="not UTF-8"):
            readers.read_file(con, path, kind)
        return
    readers.read_file(con, path, kind)
    columns = "record_no, raw, read_problem" if bad else "record_no, raw, NULL"
    assert con.execute(f"SELECT {columns} FROM raw_records ORDER BY 1").fetchall() == expected
