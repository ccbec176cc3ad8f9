"""Late and repeated data (issue 7, property 4).

A new file holding events from weeks ago loads and moves exactly the metrics of those weeks
(funnel entries in those weeks, the retention cells of their cohort) and nothing else; the same
events delivered again in another new file load 0 events; the same event id with a different
payload keeps the first copy and records the conflict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli_driver import call_cli

from conftest import query, write_jsonl


def msg(kind: str, message_id: str, anon: str, ts: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "page" if kind == "page" else "track",
                              "messageId": message_id, "anonymousId": anon, "timestamp": ts}
    if kind != "page":
        record["event"] = kind
    return record | extra


# Loaded first: three persons who arrive in the week of Monday 2024-03-25; as_of is 2024-04-09.
CURRENT = [
    msg("page", "p1-pv", "p1", "2024-03-25T09:00:00Z"),
    msg("Signed Up", "p1-su", "p1", "2024-03-25T09:10:00Z"),
    msg("Signed In", "p1-si", "p1", "2024-04-02T10:00:00Z"),
    msg("page", "p1-pv2", "p1", "2024-04-09T10:00:00Z"),
    msg("page", "p2-pv", "p2", "2024-03-26T12:00:00Z"),
    msg("Signed Up", "p2-su", "p2", "2024-03-26T12:30:00Z"),
    msg("page", "p3-pv", "p3", "2024-03-27T08:00:00Z"),
]
# Delivered weeks late: three other persons active in the weeks of 2024-03-04 .. 2024-03-18.
LATE = [
    msg("page", "q1-pv", "q1", "2024-03-04T10:00:00Z"),
    msg("Signed Up", "q1-su", "q1", "2024-03-04T10:05:00Z"),
    msg("page", "q1-pv2", "q1", "2024-03-12T10:00:00Z"),
    msg("page", "q2-pv", "q2", "2024-03-05T11:00:00Z"),
    msg("Signed Up", "q2-su", "q2", "2024-03-06T09:00:00Z"),
    msg("Signed In", "q2-si", "q2", "2024-03-19T09:00:00Z"),
    msg("Order Completed", "q2-oc", "q2", "2024-03-20T09:00:00Z", properties={"revenue": 10}),
    msg("page", "q3-pv", "q3", "2024-03-07T15:00:00Z"),
]
LATE_WEEKS = ("--from", "2024-03-04", "--to", "2024-03-18")
CURRENT_WEEKS = ("--from", "2024-03-25", "--to", "2024-04-15")


def cli(*args: str) -> Any:
    """A metric command through the real CLI entry point (in-process: it is quick)."""
    code, out, err = call_cli(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def funnel_persons(db: Path, *window: str) -> list[int]:
    rows = cli("funnel", "--db", str(db), "--framework", "aarrr", *window)
    assert [r["group"] for r in rows] == ["all"] * 5
    return [r["persons"] for r in rows]


def retention(db: Path) -> list[tuple[str, int, int, int | None, float | None]]:
    rows = cli("retention", "--db", str(db), "--framework", "aarrr", "--start", "activation",
               "--period", "week")
    return [(r["cohort"], r["period"], r["cohort_size"], r["retained"], r["rate"]) for r in rows]


def web(summary: dict[str, Any]) -> tuple[int, int, int, int, int]:
    s = summary["sources"][0]
    assert s["source"] == "web"
    return s["files"], s["records"], s["events"], s["duplicates"], s["quarantined"]


CURRENT_RETENTION = [
    ("2024-03-25", 0, 2, 2, 1.0),
    ("2024-03-25", 1, 2, 1, 0.5),  # p1 signed in on 2024-04-02
    ("2024-03-25", 2, 2, None, None),  # the week of as_of has not ended
]
LATE_RETENTION = [
    ("2024-03-04", 0, 2, 2, 1.0),  # q1 and q2 signed up that week
    ("2024-03-04", 1, 2, 1, 0.5),  # q1 page view on 03-12
    ("2024-03-04", 2, 2, 1, 0.5),  # q2 signed in and ordered on 03-19/20
    ("2024-03-04", 3, 2, 0, 0.0),
    ("2024-03-04", 4, 2, 0, 0.0),
    ("2024-03-04", 5, 2, None, None),
]


def test_late_file_changes_the_metrics_of_its_weeks_only(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(input_dir / "web" / "2024-04-10.jsonl", CURRENT)
    first = run_pipeline(input_dir, db_path)
    assert web(first) == (1, 7, 7, 0, 0)
    assert funnel_persons(db_path, *LATE_WEEKS) == [0, 0, 0, 0, 0]
    assert funnel_persons(db_path, *CURRENT_WEEKS) == [3, 2, 1, 0, 0]
    assert retention(db_path) == CURRENT_RETENTION

    # a new file (its name sorts *before* the loaded one) with events from weeks ago
    write_jsonl(input_dir / "web" / "2024-03-late.jsonl", LATE)
    late = run_pipeline(input_dir, db_path)
    assert web(late) == (1, 8, 8, 0, 0)
    assert late["sources"][0]["skipped_files"] == 1
    assert (late["events_total"], late["persons"]) == (15, 6)
    # the late weeks: q1, q2, q3 entered; q1 and q2 signed up; q2 signed in and ordered
    assert funnel_persons(db_path, *LATE_WEEKS) == [3, 2, 1, 1, 0]
    # one week only: q1's second visit (03-12) is the only entry in the week of 03-11
    assert funnel_persons(db_path, "--from", "2024-03-11", "--to", "2024-03-18") == [1, 0, 0, 0, 0]
    # the weeks that were already there are unchanged (as_of is unchanged too)
    assert funnel_persons(db_path, *CURRENT_WEEKS) == [3, 2, 1, 0, 0]
    assert retention(db_path) == LATE_RETENTION + CURRENT_RETENTION

    # the same events again, in another new file: 0 events, all duplicates, metrics unchanged
    write_jsonl(input_dir / "web" / "2024-04-11-resent.jsonl", [*LATE, *CURRENT])
    again = run_pipeline(input_dir, db_path)
    assert web(again) == (1, 15, 0, 15, 0)
    assert again["events_total"] == 15
    assert query(db_path, "SELECT count(*) FROM _jm_conflicts") == [(0,)]
    assert query(
        db_path, "SELECT file_path, count(*) FROM events GROUP BY 1 ORDER BY 1"
    ) == [("web/2024-03-late.jsonl", 8), ("web/2024-04-10.jsonl", 7)]
    assert funnel_persons(db_path, *LATE_WEEKS) == [3, 2, 1, 1, 0]
    assert retention(db_path) == LATE_RETENTION + CURRENT_RETENTION


def test_same_id_different_payload_keeps_first_and_records_conflict(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(input_dir / "web" / "2024-03-late.jsonl", LATE)
    run_pipeline(input_dir, db_path)
    kept = query(db_path, "SELECT event_id, occurred_at::VARCHAR, content_hash FROM events"
                 " WHERE event_id IN ('q2-su', 'q3-pv') ORDER BY 1")
    # a later file re-sends q2's signup a week later (would move q2 out of its cohort) and
    # q3's page view with other properties; within the same run, two files disagree about a
    # new id "n1": the first in file name order wins.
    write_jsonl(input_dir / "web" / "2024-04-a.jsonl", [
        msg("Signed Up", "q2-su", "q2", "2024-03-13T09:00:00Z"),
        msg("page", "q3-pv", "q3", "2024-03-07T15:00:00Z", properties={"path": "/other"}),
        msg("page", "n1", "q3", "2024-03-08T15:00:00Z"),
    ])
    write_jsonl(input_dir / "web" / "2024-04-b.jsonl", [
        msg("page", "n1", "q3", "2024-03-09T15:00:00Z"),
        msg("page", "n1", "q3", "2024-03-08T15:00:00Z"),  # a true duplicate: no conflict
    ])
    summary = run_pipeline(input_dir, db_path)
    assert web(summary) == (2, 5, 1, 4, 0)
    assert query(db_path, "SELECT event_id, occurred_at::VARCHAR, content_hash FROM events"
                 " WHERE event_id IN ('q2-su', 'q3-pv') ORDER BY 1") == kept
    assert query(db_path, "SELECT occurred_at::VARCHAR, file_path FROM events"
                 " WHERE event_id = 'n1'") == [("2024-03-08 15:00:00+00", "web/2024-04-a.jsonl")]
    conflicts = query(
        db_path, "SELECT c.source, c.event_id, c.file_path, c.record_no,"
        " c.kept_hash = e.content_hash, c.rejected_hash <> e.content_hash"
        " FROM _jm_conflicts AS c JOIN events AS e USING (source, event_id)"
        " ORDER BY c.file_path, c.record_no",
    )
    assert conflicts == [
        ("web", "q2-su", "web/2024-04-a.jsonl", 1, True, True),
        ("web", "q3-pv", "web/2024-04-a.jsonl", 2, True, True),
        ("web", "n1", "web/2024-04-b.jsonl", 1, True, True),
    ]
    # the metrics still see the first copies: q2 is in the cohort of 2024-03-04
    assert retention(db_path)[0] == ("2024-03-04", 0, 2, 2, 1.0)


def test_rereading_a_changed_file_does_not_record_its_conflict_twice(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [msg("page", "n1", "q3", "2024-03-08T15:00:00Z")])
    run_pipeline(input_dir, db_path)
    path = write_jsonl(input_dir / "web" / "b.jsonl",
                       [msg("page", "n1", "q3", "2024-03-09T15:00:00Z")])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, file_path, record_no FROM _jm_conflicts") == [
        ("n1", "web/b.jsonl", 1)
    ]
    # the file changes (one more line) and is re-read in full (decision 9): its first record is
    # the same conflict at the same position with the same content, like a quarantined record
    # that is not quarantined twice
    write_jsonl(path, [msg("page", "n1", "q3", "2024-03-09T15:00:00Z"),
                       msg("page", "n2", "q3", "2024-03-09T16:00:00Z")])
    again = run_pipeline(input_dir, db_path)
    assert web(again) == (1, 2, 1, 1, 0)
    assert query(db_path, "SELECT event_id, file_path, record_no FROM _jm_conflicts") == [
        ("n1", "web/b.jsonl", 1)
    ]
