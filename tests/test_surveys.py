"""Survey answers (CONTRACT §1 crm feedback and web `Survey Answered`): NPS 0-10, CSAT 1-5,
CES 1-7 -> nps_response / csat_response / ces_response with property `score`; anything else is
quarantined with a reason naming the survey and the value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import query, write_csv, write_jsonl

FEEDBACK_HEADER = ["hs_object_id", "hs_survey_type", "hs_response_value",
                   "hs_submission_timestamp", "contact_email", "associated_contact_id"]
WHEN = "2024-03-05T10:00:00Z"

# (survey type, value as written, event name or None, quarantine reason or None)
CASES = [
    ("CSAT", "0", None, "CSAT score outside 1-5: 0"),
    ("CSAT", "1", "csat_response", None),
    ("csat", "5", "csat_response", None),  # any case
    ("CSAT", "6", None, "CSAT score outside 1-5: 6"),
    ("CES", "0", None, "CES score outside 1-7: 0"),
    ("CES", "1", "ces_response", None),
    ("CES", "7", "ces_response", None),
    ("CES", "7.0", "ces_response", None),  # a whole number written with a decimal point
    ("CES", "8", None, "CES score outside 1-7: 8"),
    ("CES", "7.5", None, "CES score is not a whole number: 7.5"),
    ("CSAT", "great", None, "CSAT score is not a whole number: great"),
    ("CSAT", "", None, "missing CSAT score"),
    ("NPS", "0", "nps_response", None),
    ("NPS", "10", "nps_response", None),
    ("NPS", "11", None, "NPS score outside 0-10: 11"),
    ("", "9", "nps_response", None),  # no survey type: an NPS export
    ("CSI", "3", None, "unknown survey type CSI"),
]


def expected(first_record_no: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    events, rejected = [], []
    for n, (_survey, value, name, reason) in enumerate(CASES):
        record_no = first_record_no + n
        if name:
            events.append((record_no, name, int(float(value))))
        else:
            rejected.append((record_no, reason))
    return events, rejected


def test_crm_survey_boundaries(input_dir: Path, db_path: Path, run_pipeline: Any) -> None:
    write_csv(input_dir / "crm" / "feedback.csv", FEEDBACK_HEADER, [
        [f"f{n}", survey, value, WHEN, "", "101"]
        for n, (survey, value, _name, _reason) in enumerate(CASES)
    ])
    summary = run_pipeline(input_dir, db_path)
    events, rejected = expected(2)  # CSV: the header is line 1
    assert query(
        db_path, "SELECT record_no, event_name, (properties->>'$.score')::INTEGER FROM events"
        " ORDER BY record_no",
    ) == events
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine ORDER BY 1") == rejected
    # event ids are feedback:<hs_object_id>; the survey type is kept as written
    assert query(db_path, "SELECT event_id, properties::VARCHAR FROM events"
                          " WHERE event_id = 'feedback:f1'") == [
        ("feedback:f1", '{"score":1,"survey_type":"CSAT"}')]
    crm = summary["sources"][2]
    assert (crm["records"], crm["events"], crm["quarantined"]) == (
        len(CASES), len(events), len(rejected))


def test_web_survey_answered_is_checked_the_same_way(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    def answer(n: int, survey: str, value: str) -> dict[str, Any]:
        props: dict[str, Any] = {"survey": survey or "nps"}  # (as written, any case)
        if value:
            props["score"] = value
        return {"type": "track", "event": "Survey Answered", "messageId": f"w{n}",
                "timestamp": WHEN, "userId": "u-1", "properties": props}

    write_jsonl(input_dir / "web" / "a.jsonl", [
        answer(n, survey, value) for n, (survey, value, _n, _r) in enumerate(CASES)
    ])
    summary = run_pipeline(input_dir, db_path)
    events, rejected = expected(1)  # JSONL: the line number
    assert query(
        db_path, "SELECT record_no, event_name, (properties->>'$.score')::INTEGER FROM events"
        " ORDER BY record_no",
    ) == events
    # the score is stored as the whole number it was checked to be
    assert query(db_path, "SELECT properties::VARCHAR FROM events WHERE event_id = 'w7'") == [
        ('{"survey":"CES","score":7}',)]
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine ORDER BY 1") == rejected
    web = summary["sources"][0]
    assert web["records"] == web["events"] + web["quarantined"] == len(CASES)


@pytest.mark.parametrize(("props", "reason"), [
    ({"score": 3}, "unknown survey type (none)"),
    ({"survey": "", "score": 3}, "unknown survey type (none)"),
    ({"survey": "csat"}, "missing CSAT score"),
    ({"survey": "ces", "score": 2.5}, "CES score is not a whole number: 2.5"),
])
def test_web_survey_without_a_type_or_score(
    input_dir: Path, db_path: Path, run_pipeline: Any, props: dict[str, Any], reason: str
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "track", "event": "Survey Answered", "messageId": "w1", "timestamp": WHEN,
         "anonymousId": "a", "properties": props},
    ])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine") == [(1, reason)]


def test_web_csat_and_ces_response_tracks(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    # a track named after the survey's event is an answer to that survey
    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "track", "event": "CSAT Response", "messageId": "c1", "timestamp": WHEN,
         "anonymousId": "a", "properties": {"score": 4}},
        {"type": "track", "event": "CES Response", "messageId": "c2", "timestamp": WHEN,
         "anonymousId": "a", "properties": {"score": 9}},
    ])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, event_name FROM events") == [("c1", "csat_response")]
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine") == [
        (2, "CES score outside 1-7: 9")]
