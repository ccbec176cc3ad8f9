"""Email (SendGrid event webhook): JSON arrays and JSONL, golden rows and quarantine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from conftest import TEST_KEY, query, write_json_array, write_jsonl
from journey_metrics.hashing import HashKey

KEY = HashKey(TEST_KEY.encode(), "test")

OPEN = {
    "email": "Bob@Example.com",
    "timestamp": 1709287200,
    "event": "open",
    "sg_event_id": "sg-1",
    "sg_message_id": "msg-1",
    "category": ["newsletter", "spring"],
    "campaign": "spring-sale",
}
CLICK = {
    "email": "bob@example.com ",
    "timestamp": "1709287260",
    "event": "click",
    "sg_event_id": "sg-2",
    "sg_message_id": "msg-1",
    "url": "https://shop.example.com/sale",
    "category": "newsletter",
}


def test_golden_rows_from_array_and_lines(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_json_array(input_dir / "email" / "a.json", [OPEN])
    write_jsonl(input_dir / "email" / "b.jsonl", [CLICK])
    summary = run_pipeline(input_dir, db_path)
    rows = query(
        db_path,
        "SELECT event_id, event_name, occurred_at, email_hash, channel, campaign,"
        " properties::VARCHAR, file_path, record_no FROM events ORDER BY event_id",
    )
    bob = KEY.hash_email("bob@example.com")
    assert rows == [
        ("sg-1", "email_open", datetime(2024, 3, 1, 10, 0, tzinfo=UTC), bob, "email",
         "spring-sale", '{"sg_message_id":"msg-1","category":["newsletter","spring"]}',
         "email/a.json", 1),
        ("sg-2", "email_click", datetime(2024, 3, 1, 10, 1, tzinfo=UTC), bob, "email", None,
         '{"sg_message_id":"msg-1","url":"https://shop.example.com/sale","category":"newsletter"}',
         "email/b.jsonl", 1),
    ]
    email = summary["sources"][1]
    assert (email["source"], email["files"], email["records"], email["events"]) == (
        "email", 2, 2, 2,
    )
    assert summary["persons"] == 1  # same address after trim + lower-case


def test_every_sendgrid_event_type(input_dir: Path, db_path: Path, run_pipeline) -> None:
    kinds = ["processed", "dropped", "delivered", "deferred", "bounce", "open", "click",
             "spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe"]
    records = [{**OPEN, "event": k, "sg_event_id": f"sg-{k}"} for k in kinds]
    write_json_array(input_dir / "email" / "all.json", records)
    run_pipeline(input_dir, db_path)
    names = [r[0] for r in query(db_path, "SELECT event_name FROM events ORDER BY event_name")]
    assert names == sorted(f"email_{k}" for k in kinds)


def test_quarantine(input_dir: Path, db_path: Path, run_pipeline) -> None:
    records = [
        OPEN,
        {**OPEN, "sg_event_id": "sg-x1", "event": "teleported"},
        {k: v for k, v in OPEN.items() if k != "email"} | {"sg_event_id": "sg-x2"},
        {**OPEN, "sg_event_id": "sg-x3", "timestamp": "noon"},
        {k: v for k, v in OPEN.items() if k != "sg_event_id"},
        "just a string",
        # milliseconds where SendGrid writes seconds: the year 57983, which no reader can hold
        {**OPEN, "sg_event_id": "sg-x4", "timestamp": 1767616533000},
    ]
    write_json_array(input_dir / "email" / "a.json", records)
    summary = run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine ORDER BY 1") == [
        (2, "unknown SendGrid event teleported"),
        (3, "no identifier (anonymous id, user id, email or CRM contact id)"),
        (4, "unparseable timestamp noon"),
        (5, "missing event id"),
        (6, "not a JSON object"),
        (7, "timestamp outside the years 1900-2199"),
    ]
    email = summary["sources"][1]
    assert (email["records"], email["events"], email["quarantined"]) == (7, 1, 6)


def test_malformed_array_fails_the_file(input_dir: Path, db_path: Path, run_pipeline) -> None:
    (input_dir / "email").mkdir()
    (input_dir / "email" / "bad.json").write_text('[{"email": "a@example.com", "event": ')
    write_json_array(input_dir / "email" / "good.json", [OPEN])
    summary = run_pipeline(input_dir, db_path)
    assert [f["file"] for f in summary["failed_files"]] == ["email/bad.json"]
    assert summary["events_total"] == 1


def test_a_broken_element_of_an_array_written_by_lines_costs_only_itself(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """SendGrid writes a batch one element per line: one broken element made the array
    unparseable and the file failed, its good events lost (a contract audit). Its lines are
    now its elements: the broken one is quarantined with its element number, the others load.
    An array written across lines (a pretty-printed one) still fails as a whole."""
    (input_dir / "email").mkdir()
    (input_dir / "email" / "batch.json").write_text(
        "[\n" + json.dumps({**OPEN, "sg_event_id": "k1"}) + ",\n{broken},\n\n"
        + json.dumps({**OPEN, "sg_event_id": "k3"}) + "]\n")
    pretty = json.dumps([{**OPEN, "sg_event_id": "k4"}], indent=2).replace('"open"', '"open",,')
    (input_dir / "email" / "pretty.json").write_text(pretty)
    summary = run_pipeline(input_dir, db_path)
    assert [f["file"] for f in summary["failed_files"]] == ["email/pretty.json"]
    assert query(db_path, "SELECT event_id, record_no FROM events ORDER BY 1") == [
        ("k1", 1), ("k3", 3)]
    assert query(db_path, "SELECT file_path, record_no, reason, raw FROM _jm_quarantine") == [
        ("email/batch.json", 2, "not valid JSON", "{broken}")]


def test_arrays_one_after_another_are_their_elements(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """Webhook bodies saved as they came, one array per line (or each written across lines):
    the file was read as one broken array, and a line of two events was one record quarantined
    as not valid JSON, both events lost (an input audit; on Spark every array after the first
    was lost without a word). Each array's elements are records, numbered through the file; an
    array that is not the file's only value with something else after it still fails."""
    (input_dir / "email").mkdir()
    lines = [[{**OPEN, "sg_event_id": "a1"}, {**CLICK, "sg_event_id": "a2"}],
             [], [{**OPEN, "sg_event_id": "a3"}, "oops"]]
    (input_dir / "email" / "bodies.jsonl").write_text(
        "\n".join(json.dumps(line) for line in lines) + "\n\n")
    (input_dir / "email" / "pretty.json").write_text(
        json.dumps([{**OPEN, "sg_event_id": "b1"}], indent=2) + "\n"
        + json.dumps([{**OPEN, "sg_event_id": "b2"}], indent=2))
    (input_dir / "email" / "tail.json").write_text(
        json.dumps([{**OPEN, "sg_event_id": "c1"}]) + " trailing words\n")
    summary = run_pipeline(input_dir, db_path)
    email = summary["sources"][1]
    assert (email["records"], email["events"], email["quarantined"]) == (6, 5, 1)
    assert [f["file"] for f in summary["failed_files"]] == ["email/tail.json"]
    assert query(db_path, "SELECT event_id, file_path, record_no FROM events ORDER BY 1") == [
        ("a1", "email/bodies.jsonl", 1), ("a2", "email/bodies.jsonl", 2),
        ("a3", "email/bodies.jsonl", 3), ("b1", "email/pretty.json", 1),
        ("b2", "email/pretty.json", 2)]
    assert query(db_path, "SELECT file_path, record_no, reason, raw FROM _jm_quarantine") == [
        ("email/bodies.jsonl", 4, "not a JSON object", '"oops"')]


def test_marketing_campaigns_name_their_campaign(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """SendGrid's Marketing Campaigns send their events with `marketing_campaign_name` (and a
    Single Send's `singlesend_name`), not the custom `campaign` argument the contract names:
    such events had no campaign (an input audit). The custom argument wins when both are
    there; the names stay in properties (decision 233)."""
    base = {k: v for k, v in OPEN.items() if k != "campaign"}
    write_jsonl(input_dir / "email" / "mc.jsonl", [
        {**base, "sg_event_id": "c1", "marketing_campaign_name": "Spring sale"},
        {**base, "sg_event_id": "c2", "singlesend_name": "Welcome", "campaign": " "},
        {**base, "sg_event_id": "c3", "marketing_campaign_name": "Spring sale",
         "campaign": "custom"},
        {**base, "sg_event_id": "c4"},
    ])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, campaign FROM events ORDER BY 1") == [
        ("c1", "Spring sale"), ("c2", "Welcome"), ("c3", "custom"), ("c4", None)]
    assert query(db_path, "SELECT properties->>'marketing_campaign_name' FROM events"
                          " WHERE event_id = 'c1'") == [("Spring sale",)]


def test_objects_written_across_lines_are_records(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """A .json file holding one pretty-printed event (`json.dumps(event, indent=2)`), or several
    one after another, is one record per object, numbered as an array's elements; before, each
    of its lines was a record quarantined as not valid JSON. Objects that do not parse are
    still read by lines, each line quarantined."""
    (input_dir / "email").mkdir()
    (input_dir / "email" / "one.json").write_text(
        json.dumps({**OPEN, "sg_event_id": "p1"}, indent=2) + "\n")
    (input_dir / "email" / "two.json").write_text(
        json.dumps({**OPEN, "sg_event_id": "p2"}, indent=2) + "\n\n"
        + json.dumps({**OPEN, "sg_event_id": "p3", "event": "click"}, indent=4) + "\r\n")
    (input_dir / "email" / "broken.json").write_text('{\n  "event": "open"\n  "x": 1\n}\n')
    summary = run_pipeline(input_dir, db_path)
    email = summary["sources"][1]
    assert (email["records"], email["events"], email["quarantined"]) == (7, 3, 4)
    assert query(db_path, "SELECT event_id, event_name, file_path, record_no FROM events"
                          " ORDER BY 1") == [
        ("p1", "email_open", "email/one.json", 1),
        ("p2", "email_open", "email/two.json", 1),
        ("p3", "email_click", "email/two.json", 2)]
    assert query(db_path, "SELECT DISTINCT file_path, reason FROM _jm_quarantine") == [
        ("email/broken.json", "not valid JSON")]


def test_unknown_fields_are_kept_in_properties(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    write_jsonl(input_dir / "email" / "a.jsonl", [
        {**OPEN, "ip": "10.0.0.1", "user_segment": "vip", "reason": "Mail to a@b.example.com"},
    ])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT properties::VARCHAR FROM events") == [
        ('{"sg_message_id":"msg-1","category":["newsletter","spring"],"ip":"10.0.0.1",'
         '"user_segment":"vip","reason":"Mail to <redacted-email>"}',)
    ]


def test_a_time_no_timestamp_holds_is_quarantined_alone(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """Unix seconds beyond what a timestamp holds stopped the whole file (to_timestamp's
    conversion error); such a record is now quarantined, the others load. A CRM date in epoch
    milliseconds likewise."""
    def open_at(event_id: str, at: object) -> dict:
        return {"email": "a@example.com", "timestamp": at, "event": "open",
                "sg_event_id": event_id}

    write_jsonl(input_dir / "email" / "a.jsonl", [
        open_at("y1", 1767616500), open_at("y2", 99999999999999),
        open_at("y3", -99999999999999), open_at("y4", 9223372036854775807)])
    deals = input_dir / "crm" / "deals.csv"
    deals.parent.mkdir(parents=True)
    deals.write_text("hs_object_id,dealname,dealstage,closedate,associated_contact_id,amount\n"
                     "1,a,closedwon,9999999999999999,7,1\n2,b,closedwon,1767616500000,7,1\n")
    summary = run_pipeline(input_dir, db_path)
    counts = {s["source"]: (s["events"], s["quarantined"], s["failed_files"])
              for s in summary["sources"]}
    assert counts["email"] == (1, 3, 0)
    assert counts["crm"] == (1, 1, 0)
    assert query(db_path, "SELECT file_path, record_no, reason FROM _jm_quarantine"
                          " ORDER BY ALL") == [
        ("crm/deals.csv", 2, "unparseable closedate 9999999999999999"),
        ("email/a.jsonl", 2, "unparseable timestamp 99999999999999"),
        ("email/a.jsonl", 3, "unparseable timestamp -99999999999999"),
        ("email/a.jsonl", 4, "unparseable timestamp 9223372036854775807")]


def test_bytes_no_utf8_in_a_sendgrid_file_cost_their_record(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """A Windows-1252 dash (byte 0x96) in one element failed the whole array on DuckDB, while
    Spark loaded it with U+FFFD in place of the dash (decision 209). The element is now
    quarantined as not UTF-8 text, its text kept with U+FFFD (and its address redacted), the
    others load; an array mostly of such elements fails whole, as a JSON-lines file does. In a
    .json file of objects one per line, the line is quarantined, its text read as Latin-1."""
    def opened(event_id: str, subject: str) -> dict:
        return {**OPEN, "sg_event_id": event_id, "subject": subject}

    def encoded(value: object) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode().replace(
            "\u2013".encode(), b"\x96")

    email = input_dir / "email"
    email.mkdir()
    (email / "array.json").write_bytes(encoded([opened("a1", "Giá \u2013 tốt"),
                                                opened("a2", "Giá tốt")]))
    (email / "mostly.json").write_bytes(encoded([opened("b1", "\u2013"), opened("b2", "\u2013"),
                                                 opened("b3", "ok")]))
    (email / "lines.json").write_bytes(b"\n".join(
        encoded(opened(f"c{i}", subject)) for i, subject in enumerate(["ok", "Ren\u00e9e \u2013"])))
    summary = run_pipeline(input_dir, db_path)
    assert [(f["file"], f["reason"]) for f in summary["failed_files"]] == [
        ("email/mostly.json", "not UTF-8 text (binary or wrongly encoded file)")]
    assert query(db_path, "SELECT event_id FROM events ORDER BY 1") == [("a2",), ("c0",)]
    rows = query(db_path, "SELECT file_path, record_no, reason, raw FROM _jm_quarantine"
                          " ORDER BY 1")
    assert [row[:3] for row in rows] == [
        ("email/array.json", 1, "not UTF-8 text (a byte sequence that is no character)"),
        ("email/lines.json", 2, "not UTF-8 text (a byte sequence that is no character)")]
    assert "Giá \ufffd tốt" in rows[0][3]
    assert "RenÃ©e \x96" in rows[1][3]  # the line's bytes read as Latin-1
    assert "example.com" not in rows[0][3] + rows[1][3]


def test_bytes_no_utf8_in_other_layouts_and_inside_an_address(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """Decision 209 in the other layouts SendGrid files come in: an array written one element
    per line with a broken element too (the broken one "not valid JSON", the one with the byte
    not UTF-8, whichever comes first), objects written across lines; an escaped `\\ufffd` is
    marked as the byte is (Spark's parser writes it out so); an address holding the byte, or
    letters of a line read as Latin-1, is redacted whole."""
    def opened(event_id: str, subject: str, email: str = "a@example.com") -> dict:
        return {**OPEN, "email": email, "sg_event_id": event_id, "subject": subject}

    def encoded(value: object, **options: object) -> bytes:
        return json.dumps(value, ensure_ascii=False, **options).encode().replace(
            "\u2013".encode(), b"\x96")

    email = input_dir / "email"
    email.mkdir()
    (email / "by_lines.json").write_bytes(b"[\n" + b",\n".join([
        encoded(opened("l1", "\u2013")), encoded(opened("l2", "ok")), b'{"event": ',
        encoded(opened("l4", "ok"))]) + b"\n]\n")
    (email / "pretty.json").write_bytes(b"\n".join(
        encoded(opened(f"p{i}", "\u2013" if i == 1 else "ok"), indent=2) for i in (1, 2, 3)))
    (email / "broken_first.json").write_bytes(b"[\n" + b",\n".join([
        b'{"event": ', encoded(opened("b2", "ok")), encoded(opened("b3", "\u2013")),
        encoded(opened("b4", "ok"))]) + b"\n]\n")
    (email / "latin1_line.json").write_bytes(b"\n".join([
        encoded(opened("m1", "ok")), encoded(opened("m2", "\u2013 jos\u00e9@corp.example",
                                                    email="m\u00fcller.\u00e9@corp.example"))]))
    (email / "address.json").write_bytes(encoded([
        opened("q1", "ok", email="ann@co\u2013rp.example"), opened("q2", "ok"),
        opened("q3", "ok"), opened("q4", "ESC")]).replace(b"ESC", b"\\ufffd"))
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id FROM events ORDER BY 1") == [
        ("b2",), ("b4",), ("l2",), ("l4",), ("m1",), ("p2",), ("p3",), ("q2",), ("q3",)]
    rows = query(db_path, "SELECT file_path, record_no, reason, raw FROM _jm_quarantine"
                          " ORDER BY 1, 2")
    not_utf8 = "not UTF-8 text (a byte sequence that is no character)"
    assert [row[:3] for row in rows] == [
        ("email/address.json", 1, not_utf8), ("email/address.json", 4, not_utf8),
        ("email/broken_first.json", 1, "not valid JSON"), ("email/broken_first.json", 3, not_utf8),
        ("email/by_lines.json", 1, not_utf8), ("email/by_lines.json", 3, "not valid JSON"),
        ("email/latin1_line.json", 2, not_utf8), ("email/pretty.json", 1, not_utf8)]
    # addresses holding the byte, or letters read as Latin-1 (`jos\u00c3\u00a9@`), redacted
    assert not any("corp.example" in row[3] or "@" in row[3] for row in rows)
