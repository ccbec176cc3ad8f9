"""Identity stitching (CONTRACT §1 Identity): merges across sources, devices and email forms."""

from __future__ import annotations

from pathlib import Path

from conftest import query, write_csv, write_jsonl


def person_of(db: Path, event_id: str) -> str:
    rows = query(db, "SELECT person_id FROM fct_events WHERE event_id = ?", [event_id])
    assert len(rows) == 1, event_id
    return str(rows[0][0])


def msg(kind: str, message_id: str, ts: str, **fields: object) -> dict:
    return {"type": kind, "messageId": message_id, "timestamp": ts, **fields}


def test_anonymous_to_user_to_email_to_crm(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        msg("page", "w1", "2024-03-01T10:00:00Z", anonymousId="dev-1"),
        msg("track", "w2", "2024-03-01T10:01:00Z", anonymousId="dev-1", userId="u-1",
            event="Signed Up"),
        msg("identify", "w3", "2024-03-01T10:02:00Z", userId="u-1",
            traits={"email": "  Ann@Example.COM"}),
    ])
    write_jsonl(input_dir / "email" / "a.jsonl", [
        {"email": "ann@example.com", "timestamp": 1709300000, "event": "open",
         "sg_event_id": "e1"},
    ])
    write_csv(input_dir / "crm" / "contacts.csv",
              ["hs_object_id", "email", "hs_lifecyclestage_lead_date"],
              [["501", "ANN@example.com ", "2024-03-02T00:00:00Z"]])
    write_csv(input_dir / "crm" / "deals.csv",
              ["hs_object_id", "dealname", "dealstage", "amount", "closedate",
               "associated_contact_id"],
              [["77", "d", "closedwon", "10", "2024-03-03T00:00:00Z", "501"]])
    summary = run_pipeline(input_dir, db_path)
    events = ["w1", "w2", "w3", "e1", "501:lead", "deal:77:closedwon"]
    people = {person_of(db_path, e) for e in events}
    assert len(people) == 1
    assert summary["persons"] == 1


def test_two_devices_one_user(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        msg("page", "p1", "2024-03-01T10:00:00Z", anonymousId="laptop"),
        msg("page", "p2", "2024-03-02T10:00:00Z", anonymousId="phone"),
        msg("track", "t1", "2024-03-03T10:00:00Z", anonymousId="laptop", userId="u-9",
            event="Signed In"),
        msg("track", "t2", "2024-03-04T10:00:00Z", anonymousId="phone", userId="u-9",
            event="Signed In"),
        msg("page", "p3", "2024-03-05T10:00:00Z", anonymousId="stranger"),
    ])
    summary = run_pipeline(input_dir, db_path)
    assert person_of(db_path, "p1") == person_of(db_path, "p2") == person_of(db_path, "t2")
    assert person_of(db_path, "p3") != person_of(db_path, "p1")
    assert summary["persons"] == 2


def test_retroactive_stitching_in_a_later_run(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_jsonl(input_dir / "web" / "1.jsonl", [
        msg("page", "p1", "2024-03-01T10:00:00Z", anonymousId="dev-a"),
    ])
    write_jsonl(input_dir / "email" / "1.jsonl", [
        {"email": "zed@example.com", "timestamp": 1709300000, "event": "click",
         "sg_event_id": "e1"},
    ])
    assert run_pipeline(input_dir, db_path)["persons"] == 2
    write_jsonl(input_dir / "web" / "2.jsonl", [
        msg("identify", "i1", "2024-03-05T10:00:00Z", anonymousId="dev-a", userId="u-z",
            traits={"email": "Zed@example.com"}),
    ])
    assert run_pipeline(input_dir, db_path)["persons"] == 1
    assert person_of(db_path, "p1") == person_of(db_path, "e1")


def test_person_ids_are_deterministic(tmp_path: Path, input_dir: Path, run_pipeline) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        msg("page", "p1", "2024-03-01T10:00:00Z", anonymousId="dev-1"),
        msg("page", "p2", "2024-03-01T10:00:00Z", anonymousId="dev-2", userId="u2"),
    ])
    first, second = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    run_pipeline(input_dir, first)
    run_pipeline(input_dir, second)
    ids = "SELECT node, person_id FROM _jm_person_map ORDER BY node"
    assert query(first, ids) == query(second, ids)
    assert all(pid.startswith("p_") and len(pid) == 18 for _, pid in query(first, ids))


def test_long_chain_merges(input_dir: Path, db_path: Path, run_pipeline) -> None:
    # dev-0 - u-0 - dev-1 - u-1 - ... : one person, whatever the order of the links
    records = []
    for i in range(30):
        records.append(msg("page", f"a{i}", "2024-03-01T10:00:00Z", anonymousId=f"dev-{i}",
                           userId=f"u-{i}"))
        records.append(msg("page", f"b{i}", "2024-03-01T10:00:00Z", anonymousId=f"dev-{i + 1}",
                           userId=f"u-{i}"))
    write_jsonl(input_dir / "web" / "a.jsonl", list(reversed(records)))
    assert run_pipeline(input_dir, db_path)["persons"] == 1


def test_incremental_stitching_equals_a_full_rebuild(tmp_path: Path, run_pipeline) -> None:
    """Three nights that merge, extend and add persons give the same persons as one load."""
    nights = [
        [msg("page", "n1a", "2024-03-01T10:00:00Z", anonymousId="dev-1"),
         msg("page", "n1b", "2024-03-01T11:00:00Z", anonymousId="dev-2",
             context={"campaign": {"medium": "cpc"}}),
         msg("identify", "n1c", "2024-03-01T12:00:00Z", anonymousId="dev-3", userId="u-3",
             traits={"email": "c@example.com"})],
        [msg("track", "n2a", "2024-02-20T09:00:00Z", anonymousId="dev-2", userId="u-1",
             event="Signed In"),   # late event: dev-2 becomes u-1, and is now earlier
         msg("track", "n2b", "2024-03-02T10:00:00Z", anonymousId="dev-1", userId="u-1",
             event="Signed In")],  # merges dev-1 and dev-2
        [msg("identify", "n3a", "2024-03-03T10:00:00Z", userId="u-1",
             traits={"email": "C@example.com "}),  # merges with dev-3 / u-3 by email
         msg("page", "n3b", "2024-03-03T11:00:00Z", anonymousId="dev-9")],
    ]
    nightly_input, full_input = tmp_path / "nightly", tmp_path / "full"
    nightly_db, full_db = tmp_path / "nightly.duckdb", tmp_path / "full.duckdb"
    persons_after = []
    for night, records in enumerate(nights):
        write_jsonl(nightly_input / "web" / f"{night}.jsonl", records)
        write_jsonl(full_input / "web" / f"{night}.jsonl", records)
        persons_after.append(run_pipeline(nightly_input, nightly_db)["persons"])
    run_pipeline(full_input, full_db)
    assert persons_after == [3, 2, 2]
    same = [
        "SELECT node, person_id FROM _jm_person_map ORDER BY node",
        "SELECT person_id, channel, first_seen_at FROM persons ORDER BY person_id",
        "SELECT event_id, person_id FROM fct_events ORDER BY event_id",
        "SELECT count(DISTINCT person_no), count(*) FROM persons",
    ]
    for sql in same:
        assert query(nightly_db, sql) == query(full_db, sql), sql
    assert query(nightly_db, "SELECT count(*) FROM _jm_pending_nodes") == [(0,)]
