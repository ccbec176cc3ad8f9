"""Broken files (issue 7, property 3): one input folder holding every kind of bad file.

Truncated gzip, binary junk, an empty file, a header-only CSV, a CSV with a BOM, a Latin-1 CSV, a
10 MB JSON line, unknown extra fields and a CSV without a required column sit next to good files.
The other files load; the run summary and `_jm_files` record every failed file with its reason;
`_jm_quarantine` holds every quarantined record; counts reconcile per source.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from conftest import TEST_KEY, query, write_csv, write_json_array, write_jsonl
from journey_metrics.hashing import HashKey

KEY = HashKey(TEST_KEY.encode(), "test")
BIG = 10 * 1024 * 1024  # the 10 MB string inside one JSON line

CONTACT_HEADER = ["hs_object_id", "email", "createdate", "lifecyclestage",
                  "hs_lifecyclestage_subscriber_date", "hs_lifecyclestage_lead_date"]
FEEDBACK_HEADER = ["hs_object_id", "hs_survey_type", "hs_response_value",
                   "hs_submission_timestamp", "contact_email", "associated_contact_id"]


def page(message_id: str, anon: str = "anon-1", **extra: Any) -> dict[str, Any]:
    return {"type": "page", "messageId": message_id, "timestamp": "2024-03-01T10:00:00Z",
            "anonymousId": anon, **extra}


def sendgrid(event_id: str, event: str = "open", **extra: Any) -> dict[str, Any]:
    return {"email": "reader@example.com", "timestamp": 1709287200, "event": event,
            "sg_event_id": event_id, **extra}


def _build_input(root: Path) -> None:
    web = root / "web"
    # good web file: 4 records -> 2 events, 1 duplicate, 1 quarantined (line 3)
    write_jsonl(web / "a-good.jsonl", [
        page("w1", experiment="variant-b", properties={"path": "/"}),  # unknown top-level field
        page("w2"),
        "{not json",
        page("w1", experiment="variant-b", properties={"path": "/"}),
    ])
    whole = gzip.compress("\n".join(json.dumps(page(f"t{i}")) for i in range(5000)).encode())
    (web / "b-truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (web / "c-junk.jsonl").write_bytes(bytes(range(256)) * 64)
    (web / "d-empty.jsonl").write_bytes(b"")
    # one line of ~10 MB: a valid Segment track message, plus a normal line after it
    big = {"type": "track", "event": "Document Uploaded", "messageId": "w-big",
           "timestamp": "2024-03-01T11:00:00Z", "anonymousId": "anon-2",
           "properties": {"blob": "x" * BIG, "size": BIG}}
    write_jsonl(web / "e-big.jsonl", [big, page("w3", anon="anon-2")])

    email = root / "email"
    # 3 records -> 2 events, 0 duplicates, 1 quarantined (unknown SendGrid event)
    write_json_array(email / "sg-1.json", [
        sendgrid("e1", custom_arg="kept", sg_message_id="msg-1"),
        sendgrid("e2", event="click", url="https://shop.example.com/x"),
        sendgrid("e3", event="teleported"),
    ])
    # gzip, object per line; e1 again -> duplicate
    lines = "\n".join(json.dumps(r) for r in [sendgrid("e1", custom_arg="kept",
                                                           sg_message_id="msg-1"),
                                              sendgrid("e4", event="delivered")])
    (email / "sg-2.jsonl.gz").write_bytes(gzip.compress((lines + "\n").encode()))

    crm = root / "crm"
    # BOM + an unknown extra column (a contact column no source config names: not kept)
    write_csv(crm / "contacts-a-bom.csv", [*CONTACT_HEADER, "favourite_colour"], [
        ["101", "carol@example.com", "2024-01-01", "lead", "2024-01-01T08:00:00Z",
         "2024-01-02T08:00:00Z", "teal"],
        ["102", "dave@example.com", "2024-01-03", "subscriber", "not a date", "", "red"],
    ], bom=True)
    # Latin-1: é is the single byte 0xE9 (not valid UTF-8)
    latin = (
        ",".join([*CONTACT_HEADER, "firstname"]) + "\n"
        + ",".join(["103", "rene@example.com", "2024-01-04", "évangéliste",
                    "2024-01-04T09:00:00Z", "", "René"]) + "\n"
    ).encode("latin-1")
    assert b"\xe9" in latin
    (crm / "contacts-b-latin1.csv").write_bytes(latin)
    write_csv(crm / "contacts-c-header-only.csv", CONTACT_HEADER, [])
    write_csv(crm / "deals-missing-column.csv", ["hs_object_id", "dealname", "amount"],
              [["9001", "Big", "10"]])
    write_csv(crm / "feedback.csv", FEEDBACK_HEADER, [
        ["f1", "NPS", "10", "2024-03-05T10:00:00Z", "", "101"],
        ["f2", "NPS", "11", "2024-03-05T10:00:00Z", "", "101"],
    ])


EXPECTED_FAILED = {
    "web/b-truncated.jsonl.gz",
    "web/c-junk.jsonl",
    "crm/deals-missing-column.csv",
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("broken")
    root = base / "input"
    _build_input(root)
    db = base / "w.duckdb"
    env = {**os.environ, "JOURNEY_METRICS_HASH_KEY": TEST_KEY}
    result = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "run", "--input", str(root), "--db", str(db),
         "--format", "json"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    exported = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "export", "--db", str(db), "--out",
         str(base / "export")],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert exported.returncode == 0, exported.stderr
    return {"summary": json.loads(result.stdout), "db": db, "export": base / "export",
            "stderr": result.stderr}


def test_failed_files_are_recorded_with_reasons(loaded: dict[str, Any]) -> None:
    summary, db = loaded["summary"], loaded["db"]
    failed = {f["file"]: (f["source"], f["reason"]) for f in summary["failed_files"]}
    assert set(failed) == EXPECTED_FAILED
    assert failed["crm/deals-missing-column.csv"] == (
        "crm", "missing required column(s): dealstage, closedate; expected the internal names"
        " hs_object_id, dealstage, closedate or the labels Record ID, Deal Stage, Close Date"
    )
    assert failed["web/c-junk.jsonl"][0] == "web"
    assert "UTF-8" in failed["web/c-junk.jsonl"][1]
    assert "gzip" in failed["web/b-truncated.jsonl.gz"][1].lower()
    manifest = {
        path: (status, reason)
        for path, status, reason in query(db, "SELECT file_path, status, reason FROM _jm_files")
    }
    # every file of the folder has exactly one manifest row; the failed ones carry the reason
    assert set(manifest) == {
        "web/a-good.jsonl", "web/b-truncated.jsonl.gz", "web/c-junk.jsonl", "web/d-empty.jsonl",
        "web/e-big.jsonl", "email/sg-1.json", "email/sg-2.jsonl.gz", "crm/contacts-a-bom.csv",
        "crm/contacts-b-latin1.csv", "crm/contacts-c-header-only.csv",
        "crm/deals-missing-column.csv", "crm/feedback.csv",
    }
    assert len(query(db, "SELECT file_path FROM _jm_files")) == len(manifest)
    assert {p for p, (s, _) in manifest.items() if s == "failed"} == EXPECTED_FAILED
    for path in EXPECTED_FAILED:
        assert manifest[path][1] == failed[path][1]
    assert all(r is None for p, (s, r) in manifest.items() if s == "loaded")
    per_source = {s["source"]: s["failed_files"] for s in summary["sources"]}
    assert per_source == {"web": 2, "email": 0, "crm": 1}


def test_the_other_files_load(loaded: dict[str, Any]) -> None:
    db = loaded["db"]
    assert query(db, "SELECT source, event_id FROM events ORDER BY source, event_id") == [
        ("crm", "101:lead"),
        ("crm", "101:subscriber"),
        ("crm", "103:subscriber"),
        ("crm", "feedback:f1"),
        ("email", "e1"),
        ("email", "e2"),
        ("email", "e4"),
        ("web", "w-big"),
        ("web", "w1"),
        ("web", "w2"),
        ("web", "w3"),
    ]
    # the empty and the header-only file are loaded with zero records
    assert query(
        db, "SELECT file_path, records, events FROM _jm_files"
        " WHERE file_path IN ('web/d-empty.jsonl', 'crm/contacts-c-header-only.csv')"
        " ORDER BY 1",
    ) == [("crm/contacts-c-header-only.csv", 0, 0), ("web/d-empty.jsonl", 0, 0)]


def test_ten_megabyte_line_loads_whole(loaded: dict[str, Any]) -> None:
    rows = query(
        loaded["db"],
        "SELECT event_name, length(properties->>'$.blob'), (properties->>'$.size')::BIGINT,"
        " record_no FROM events WHERE event_id = 'w-big'",
    )
    assert rows == [("document_uploaded", BIG, BIG, 1)]


def test_bom_and_latin1_csv_are_decoded(loaded: dict[str, Any]) -> None:
    db = loaded["db"]
    props = dict(query(
        db, "SELECT event_id, properties::VARCHAR FROM events WHERE source = 'crm'"
        " AND event_id LIKE '10%'",
    ))
    # BOM: the first column is still found (events have the contact id), no BOM anywhere
    assert json.loads(props["101:lead"]) == {"lifecyclestage": "lead"}
    # Latin-1: 0xE9 became "é" (in the properties and in the trait history)
    assert json.loads(props["103:subscriber"]) == {"lifecyclestage": "évangéliste"}
    assert query(db, "SELECT value FROM _jm_traits WHERE node = 'e:' || ? AND trait ="
                 " 'lifecyclestage'", [KEY.hash_email("rene@example.com")]) == [("évangéliste",)]
    assert query(db, "SELECT DISTINCT crm_contact_id FROM events WHERE source = 'crm'"
                 " ORDER BY 1") == [("101",), ("103",)]
    texts = " ".join(str(r[0]) for r in query(db, "SELECT properties::VARCHAR FROM events"))
    assert "\ufeff" not in texts
    assert "\ufffd" not in texts  # no replacement characters: decoded, not mangled


def test_unknown_extra_fields_are_kept_in_properties(loaded: dict[str, Any]) -> None:
    events = pl.read_parquet(loaded["export"] / "events.parquet")
    props = {
        row["event_id"]: json.loads(row["properties"])
        for row in events.select("event_id", "properties").to_dicts()
    }
    assert props["w1"] == {"experiment": "variant-b", "path": "/"}  # web: top-level field
    assert props["e1"] == {"custom_arg": "kept", "sg_message_id": "msg-1"}  # email
    # CRM contact columns are person traits, not event properties: only the configured traits
    # are kept (CONTRACT §6), so neither favourite_colour nor firstname is
    assert props["101:subscriber"] == {"lifecyclestage": "lead"}
    assert props["103:subscriber"] == {"lifecyclestage": "évangéliste"}


def test_every_quarantined_record_is_in_the_quarantine_table(loaded: dict[str, Any]) -> None:
    summary, db = loaded["summary"], loaded["db"]
    rows = query(
        db, "SELECT source, file_path, record_no, reason FROM _jm_quarantine ORDER BY 2, 3"
    )
    assert rows == [
        ("crm", "crm/contacts-a-bom.csv", 3,
         "unparseable date in hs_lifecyclestage_subscriber_date: not a date"),
        ("crm", "crm/feedback.csv", 3, "NPS score outside 0-10: 11"),
        ("email", "email/sg-1.json", 3, "unknown SendGrid event teleported"),
        ("web", "web/a-good.jsonl", 3, "not valid JSON"),
    ]
    by_source = {s["source"]: s["quarantined"] for s in summary["sources"]}
    for source, count in by_source.items():
        assert sum(1 for r in rows if r[0] == source) == count
    raw = query(db, "SELECT raw FROM _jm_quarantine WHERE source = 'web'")
    assert raw == [("{not json",)]


def test_counts_reconcile_per_source(loaded: dict[str, Any]) -> None:
    summary, db = loaded["summary"], loaded["db"]
    sources = {s["source"]: s for s in summary["sources"]}
    # web and email: one record is one event, so every record is new, a duplicate or rejected
    for name in ("web", "email"):
        s = sources[name]
        assert s["records"] == s["events"] + s["duplicates"] + s["quarantined"], s
    assert {k: (v["files"], v["records"], v["events"], v["duplicates"], v["quarantined"])
            for k, v in sources.items()} == {
        "web": (5, 6, 4, 1, 1),  # a-good 4 records, e-big 2, d-empty 0, failed files 0
        "email": (2, 5, 3, 1, 1),
        "crm": (5, 5, 4, 0, 2),  # contacts 2 + 1 + 0 records, feedback 2; deals failed
    }
    # the manifest says the same, file by file and in total
    per_file = query(
        db, "SELECT source, sum(records), sum(events), sum(duplicates), sum(quarantined),"
        " count(*) FROM _jm_files GROUP BY source",
    )
    assert {r[0]: tuple(int(v) for v in r[1:]) for r in per_file} == {
        k: (v["records"], v["events"], v["duplicates"], v["quarantined"], v["files"])
        for k, v in sources.items()
    }
    for source, loaded_events in query(db, "SELECT source, count(*) FROM events GROUP BY 1"):
        assert sources[source]["events"] == loaded_events
    assert query(db, "SELECT count(*) FROM _jm_files WHERE status = 'failed'"
                 " AND (records, events, duplicates, quarantined) <> (0, 0, 0, 0)") == [(0,)]
    assert summary["events_total"] == sum(s["events"] for s in sources.values())


def test_second_run_changes_nothing(loaded: dict[str, Any]) -> None:
    """Running again over the same broken folder loads nothing and quarantines nothing twice."""
    from journey_metrics import pipeline

    db = loaded["db"]
    counts = (
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM _jm_quarantine),"
        " (SELECT count(*) FROM _jm_files)"
    )
    before = query(db, counts)
    again = pipeline.run(db.parent / "input", db).as_dict()
    assert sum(s["events"] for s in again["sources"]) == 0  # type: ignore[union-attr]
    assert query(db, counts) == before


def test_the_operator_is_told_on_stderr(loaded: dict[str, Any]) -> None:
    """The first run says some files could not be read and how many records it quarantined; a
    later run over the same folder skips the unchanged broken files but names them again with
    their reasons (they were silent there: a nightly job's log must keep saying it)."""
    stderr = " ".join(loaded["stderr"].split())
    assert "some files could not be read" in stderr
    said = re.search(r"note: (\d+) of \d+ records read were quarantined \((SELECT .*?\))\)",
                     stderr)
    assert said is not None, stderr
    db = loaded["db"]
    # the query it gives finds that run's quarantined rows
    assert query(db, f"SELECT count(*) FROM ({said.group(2)})") == [(int(said.group(1)),)]
    env = {**os.environ, "JOURNEY_METRICS_HASH_KEY": TEST_KEY}
    again = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "run", "--input", str(db.parent / "input"),
         "--db", str(db), "--format", "json"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert again.returncode == 0, again.stderr
    notes = " ".join(again.stderr.split())
    assert notes.startswith("note: 3 unchanged file(s) could not be read in an earlier run and"
                            " are skipped: "), notes
    for path in EXPECTED_FAILED:
        assert path in notes
    assert "quarantined" not in notes  # nothing new was read


def test_the_note_finds_a_grown_files_bad_lines_again(tmp_path: Path) -> None:
    """A file read again because it grew counts its bad line again in that run's note; the
    query the note gives finds it, though the row keeps the run that first quarantined it."""
    web = tmp_path / "input" / "web"
    web.mkdir(parents=True)
    good = {"type": "track", "timestamp": "2026-01-01T10:00:00Z", "event": "Signed Up"}
    (web / "a.jsonl").write_text(json.dumps({**good, "messageId": "q1", "anonymousId": "Q1"})
                                 + "\nnot json\n")
    db = tmp_path / "w.duckdb"
    env = {**os.environ, "JOURNEY_METRICS_HASH_KEY": TEST_KEY}
    command = [sys.executable, "-m", "journey_metrics", "run", "--input", str(tmp_path / "input"),
               "--db", str(db), "--format", "json"]
    subprocess.run(command, env=env, capture_output=True, check=True)
    with (web / "a.jsonl").open("a") as grown:
        grown.write(json.dumps({**good, "messageId": "q2", "anonymousId": "Q2"}) + "\n")
    second = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    said = re.search(r"note: 1 of 3 records read were quarantined \((SELECT .*?\))\)",
                     " ".join(second.stderr.split()))
    assert said is not None, second.stderr
    assert query(db, f"SELECT record_no, reason FROM ({said.group(1)})") == [
        (2, "not valid JSON")]
    # each run's row says when it began and when it ended
    assert query(db, "SELECT count(*) FROM _jm_runs WHERE started_at < finished_at") == [(2,)]


def test_windows_1252_bytes_cost_a_line_or_nothing(tmp_path: Path) -> None:
    """Bytes 0x80-0x9F (a spreadsheet's "smart quotes", dashes and euro sign) are no Latin-1
    text to DuckDB: one such line failed a whole JSON-lines file, one such cell a whole CSV.
    The line is quarantined alone (its text read as Latin-1, as Spark reads it); the CSV is
    read as Windows-1252, as it was written."""
    from journey_metrics import pipeline

    folder = tmp_path / "input"
    (folder / "web").mkdir(parents=True)
    page = {"type": "page", "timestamp": "2026-01-05T10:00:00Z", "anonymousId": "a1"}
    title = "\u201cSale\u201d ann@x.io"  # in Windows-1252 the quotes are 0x93, 0x94
    line = json.dumps({**page, "messageId": "m2", "properties": {"title": title}},
                      ensure_ascii=False).encode("cp1252")
    (folder / "web" / "a.jsonl").write_bytes(
        json.dumps({**page, "messageId": "m1"}).encode() + b"\n" + line + b"\n"
        + json.dumps({**page, "messageId": "m3"}).encode() + b"\n")
    (folder / "crm").mkdir()
    (folder / "crm" / "deals.csv").write_bytes(
        b"hs_object_id,dealname,dealstage,closedate,associated_contact_id\n"
        b"1,\x93Big\x94 deal \x96 \x80 caf\xe9,closedwon,2026-01-05T10:00:00Z,7\n"
        # a mostly UTF-8 export: its UTF-8 text stays as written
        + "2,Nguy\u1ec5n \u2013 \u201c\u0110\u00e3 ch\u1ed1t\u201d,closedwon,"
          "2026-01-05T10:00:00Z,7\n".encode())
    db = tmp_path / "w.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEY_METRICS_HASH_KEY", TEST_KEY)
        summary = pipeline.run(folder, db, refresh=False).as_dict()
    counts = {s["source"]: (s["events"], s["quarantined"], s["failed_files"])
              for s in summary["sources"]}
    assert counts["web"] == (2, 1, 0)
    assert counts["crm"] == (2, 0, 0)
    assert query(db, "SELECT record_no, reason, raw FROM _jm_quarantine") == [
        (2, "not UTF-8 text (a byte sequence that is no character)",
         line.decode("latin-1").replace("ann@x.io", "<redacted-email>"))]
    assert query(db, "SELECT properties->>'dealname' FROM events WHERE source = 'crm'"
                 " ORDER BY event_id") == [
        ("\u201cBig\u201d deal \u2013 \u20ac caf\u00e9",),
        ("Nguy\u1ec5n \u2013 \u201c\u0110\u00e3 ch\u1ed1t\u201d",)]
