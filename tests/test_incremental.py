"""Dedupe within a file, across files and across runs; incremental and idempotent runs."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from conftest import query, write_jsonl


def page(message_id: str, ts: str = "2024-03-01T10:00:00Z", anon: str = "anon-1") -> dict:
    return {"type": "page", "messageId": message_id, "timestamp": ts, "anonymousId": anon}


def web_counts(summary: dict) -> tuple[int, int, int, int, int]:
    web = summary["sources"][0]
    return web["files"], web["records"], web["events"], web["duplicates"], web["quarantined"]


def test_duplicates_within_and_across_files(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [page("m1"), page("m2"), page("m1")])
    write_jsonl(input_dir / "web" / "b.jsonl", [page("m2"), page("m3")])
    summary = run_pipeline(input_dir, db_path)
    assert web_counts(summary) == (2, 5, 3, 2, 0)
    assert query(db_path, "SELECT event_id, file_path, record_no FROM events ORDER BY 1") == [
        ("m1", "web/a.jsonl", 1),
        ("m2", "web/a.jsonl", 2),
        ("m3", "web/b.jsonl", 2),
    ]


def test_second_run_loads_nothing(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [page("m1"), page("m2")])
    first = run_pipeline(input_dir, db_path)
    second = run_pipeline(input_dir, db_path)
    assert web_counts(first) == (1, 2, 2, 0, 0)
    assert web_counts(second) == (0, 0, 0, 0, 0)
    assert second["sources"][0]["skipped_files"] == 1
    assert (second["events_total"], second["persons"]) == (2, 1)


def test_touched_but_unchanged_file_is_skipped(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    path = write_jsonl(input_dir / "web" / "a.jsonl", [page("m1")])
    run_pipeline(input_dir, db_path)
    os.utime(path, ns=(1, 1))  # new mtime, same content
    again = run_pipeline(input_dir, db_path)
    assert web_counts(again) == (0, 0, 0, 0, 0)


def test_a_file_the_system_would_not_let_be_read_is_read_again_unchanged(
    input_dir: Path, db_path: Path, run_pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that could not be opened (permissions, an unmounted share) was skipped as
    unchanged by every later run: its fix, a chmod, does not change the file, so it never
    loaded (an operations audit). Such a file is read again by every run (decision 227); a
    file whose content fails (a broken gzip) is still skipped until it changes."""
    from journey_metrics.file_hashes import HashesAhead

    write_jsonl(input_dir / "web" / "a.jsonl", [page("m1")])
    (input_dir / "web" / "z.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00not gzip")

    def denied(self: object, path: Path) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    with monkeypatch.context() as patch:
        patch.setattr(HashesAhead, "sha256", denied)
        first = run_pipeline(input_dir, db_path)
    assert [(f["file"], f["reason"]) for f in first["failed_files"]] == [
        ("web/a.jsonl", "cannot read file: Permission denied"),
        ("web/z.jsonl.gz", "cannot read file: Permission denied")]
    second = run_pipeline(input_dir, db_path)  # nothing changed on disk: both read again
    assert second["events_total"] == 1
    assert [f["file"] for f in second["failed_files"]] == ["web/z.jsonl.gz"]
    third = run_pipeline(input_dir, db_path)  # the broken gzip, unchanged, is skipped
    assert (third["failed_files"], third["sources"][0]["skipped_files"]) == ([], 2)
    assert [(f["file"], f["reason"][:25]) for f in third["failed_earlier"]] == [
        ("web/z.jsonl.gz", "cannot read file: Compres")]


def test_changed_file_loads_only_new_events(input_dir: Path, db_path: Path, run_pipeline) -> None:
    path = write_jsonl(input_dir / "web" / "a.jsonl", [page("m1"), "bad line"])
    run_pipeline(input_dir, db_path)
    write_jsonl(path, [page("m1"), "bad line", page("m2")])
    again = run_pipeline(input_dir, db_path)
    assert web_counts(again) == (1, 3, 1, 1, 1)
    assert query(db_path, "SELECT count(*) FROM events") == [(2,)]
    # the bad line is quarantined once, not once per read
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine") == [
        (2, "not valid JSON")
    ]


def test_new_file_with_old_events_loads_zero(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [page("m1"), page("m2")])
    run_pipeline(input_dir, db_path)
    write_jsonl(input_dir / "web" / "b.jsonl", [page("m2"), page("m1")])
    again = run_pipeline(input_dir, db_path)
    assert web_counts(again) == (1, 2, 0, 2, 0)


def test_same_id_different_payload_keeps_first_and_records_conflict(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [page("m1", "2024-03-01T10:00:00Z")])
    run_pipeline(input_dir, db_path)
    write_jsonl(input_dir / "web" / "b.jsonl", [page("m1", "2024-03-09T10:00:00Z")])
    again = run_pipeline(input_dir, db_path)
    assert web_counts(again) == (1, 1, 0, 1, 0)
    assert query(db_path, "SELECT occurred_at::VARCHAR FROM events") == [
        ("2024-03-01 10:00:00+00",)
    ]
    assert query(db_path, "SELECT event_id, file_path, record_no FROM _jm_conflicts") == [
        ("m1", "web/b.jsonl", 1)
    ]


def test_event_ids_are_per_source(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [page("x1")])
    write_jsonl(
        input_dir / "email" / "a.jsonl",
        [{"email": "a@example.com", "timestamp": 1, "event": "open", "sg_event_id": "x1"}],
    )
    summary = run_pipeline(input_dir, db_path)
    assert summary["events_total"] == 2


def test_counts_reconcile_per_source(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [page("m1"), page("m1"), "{", page("m3")])
    summary = run_pipeline(input_dir, db_path)
    web = summary["sources"][0]
    assert web["records"] == web["events"] + web["duplicates"] + web["quarantined"] == 4
    files = query(db_path, "SELECT records, events, duplicates, quarantined FROM _jm_files")
    assert files == [(4, 2, 1, 1)]


def _warehouse_rows(db: Path) -> dict[str, list[tuple]]:
    """Every base table's rows, sorted, without the columns naming the run or the load time.
    A node number (given in load order, so batching changes it) is shown as the node it names."""
    tables = [r[0] for r in query(db, "SELECT table_name FROM information_schema.tables"
                                      " WHERE table_schema = 'main' AND table_type = 'BASE TABLE'")]
    found = {}
    for table in tables:
        if table == "_jm_runs":  # the run log: times and the warehouse path
            continue
        columns = [r[0] for r in query(db, "SELECT column_name FROM information_schema.columns"
                                           " WHERE table_name = ? AND table_schema = 'main'"
                                           " ORDER BY ordinal_position", [table])]
        kept = [c for c in columns if c not in ("run_id", "loaded_at")]
        listed = ", ".join(
            "(SELECT n.node FROM _jm_nodes AS n WHERE n.node_no = t.node_no)" if c == "node_no"
            else f't."{c}"' for c in kept)
        found[table] = sorted(query(db, f'SELECT {listed} FROM "{table}" AS t'), key=repr)
    return found


def test_many_small_batches_give_the_one_batch_warehouse(
    tmp_path: Path, run_pipeline, monkeypatch
) -> None:
    """The sample committed in batches of a few files (dedupe and conflicts across batches,
    traits, quarantine, links, manifest) gives the rows and the summary of one batch per
    source."""
    from journey_metrics import loader
    from sample_outputs import SAMPLE

    one = run_pipeline(SAMPLE, tmp_path / "one.duckdb")
    monkeypatch.setattr(loader, "CHUNK_RECORDS", 2_000)
    monkeypatch.setattr(loader, "BATCH_RECORDS", 3_000)
    monkeypatch.setattr(loader, "GROUP_BYTES", 40_000)  # a few files read together (gzipped)
    batches = []
    commit = loader._commit_batch
    monkeypatch.setattr(loader, "_commit_batch",
                        lambda con, source, *a: (batches.append(source.name),
                                                 commit(con, source, *a)))
    many = run_pipeline(SAMPLE, tmp_path / "many.duckdb")
    assert batches.count("web") > 3
    assert batches.count("email") > 1
    for summary in (one, many):
        summary.pop("warehouse")
    assert many == one
    assert sum(s["duplicates"] for s in one["sources"]) > 0
    assert _warehouse_rows(tmp_path / "many.duckdb") == _warehouse_rows(tmp_path / "one.duckdb")


def test_a_line_cut_by_an_earlier_read_is_named(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    # the writer had written two lines and half of the third when the first run read the file
    whole = json.dumps(page("m3"))
    path = input_dir / "web" / "a.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(f"{json.dumps(page('m1'))}\n{json.dumps(page('m2'))}\n{whole[:20]}")
    first = run_pipeline(input_dir, db_path)
    assert web_counts(first) == (1, 3, 2, 0, 1)
    assert first["cut_lines"] == []
    with path.open("a") as handle:
        handle.write(whole[20:] + "\n" + json.dumps(page("m4")) + "\n")
    again = run_pipeline(input_dir, db_path)
    assert again["cut_lines"] == [{"source": "web", "file": "web/a.jsonl", "line": 3}]
    assert web_counts(again) == (1, 4, 2, 2, 0)
    # line 3 loads now; the quarantine keeps what the earlier read found (decision 205)
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine") == [
        (3, "not valid JSON")]
    assert query(db_path, "SELECT event_id FROM events ORDER BY 1") == [
        ("m1",), ("m2",), ("m3",), ("m4",)]
    assert run_pipeline(input_dir, db_path)["cut_lines"] == []  # said once, when read again


def test_a_csv_row_cut_by_an_earlier_read_keeps_its_first_version_and_is_named(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    deals = input_dir / "crm" / "deals.csv"
    deals.parent.mkdir(parents=True)
    deals.write_text("hs_object_id,dealname,dealstage,closedate,associated_contact_id,amount\n"
                     "20000004,Order,closedwon,2026-01-16T09:00:41Z,10000017,28")
    run_pipeline(input_dir, db_path)
    with deals.open("a") as handle:
        handle.write("50.00\n")
    again = run_pipeline(input_dir, db_path)
    assert again["cut_lines"] == [{"source": "crm", "file": "crm/deals.csv", "line": 2}]
    # the first version stays (decision 194), the whole row is a recorded conflict
    assert query(db_path, "SELECT revenue FROM events") == [(28.0,)]
    assert query(db_path, "SELECT count(*) FROM _jm_conflicts") == [(1,)]


@pytest.mark.parametrize(("before", "after", "line"), [
    (b"a\nb", b"a\nbc\n", 2),         # cut inside line 2
    (b"a\rb\rc", b"a\rb\rcd\r", 3),   # lone CRs (a Mac spreadsheet's CSV)
    (b"a\nb\n", b"a\nb\nc\n", None),  # read ended at a line end
    (b"a\r\nb\r\n", b"a\r\nb\r\nc", None),
    (b"a\nb", b"a\nb\nc\n", None),    # the line was whole, only its line end came later
    (b"a\nb", b"a\nb", None),         # not grown
    (b"a\nb", b"x\nbc\n", None),       # rewritten, not appended to: a re-export, no cut
    (b"", b"a\n", None),
])
def test_line_cut_by_earlier_read(tmp_path: Path, before: bytes, after: bytes,
                                  line: int | None) -> None:
    from journey_metrics.growing_files import line_cut_by_earlier_read

    sha = hashlib.sha256(before).hexdigest()
    path = tmp_path / "a.jsonl"
    path.write_bytes(after)
    assert line_cut_by_earlier_read(path, len(before), sha) == line
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(after)
    assert line_cut_by_earlier_read(gz, len(before), sha) is None  # grows by gzip members
