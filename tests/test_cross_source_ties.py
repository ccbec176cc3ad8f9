"""Two events of one person at the same instant with the same event id from two sources (a web
`messageId` and a SendGrid `sg_event_id` may be the same text: ids are unique per source only).
Every order of a person's events ends with `source` after `event_id` (decision 241), so the
first campaign, the paths and the funnel's steps are one answer, run after run and on both
engines (tests/spark/test_spark_metrics.py runs these commands on Spark): `email` before `web`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine_cases import invoke

TIE = "2026-02-01T10:00:00.000Z"  # SendGrid's 1769940000
NPS_AT, CSAT_AT = "2026-02-02T10:00:00Z", "2026-02-03T10:00:00Z"
OVERLAP = """\
name: overlap
window: 3d
stages:
  - {name: touch, match: [{event: [page_view, email_click]}]}
  - {name: interest, match: [{event: [page_view, signed_up]}]}
  - {name: signup, match: [{event: signed_up}]}
"""


PERSONS = 300  # enough that an order left to chance shows (one person alone may not)


def write_tie(root: Path, persons: int = PERSONS) -> Path:
    """The input, per person n: a page view (campaign web-camp) and an email click (campaign
    mail-camp) both with id X<n> at TIE, the identify that links them (after: stitching is
    retroactive, and nothing comes before the tie), a signup five minutes later; a day later
    an NPS answer on the web (10) and in the CRM (2), both `feedback:<n>`; a day after that a
    CSAT answer on the web (5) and in the CRM (1), both `feedback:<n + 100000>`."""
    (root / "web").mkdir(parents=True)
    (root / "email").mkdir()
    (root / "crm").mkdir()
    web, email = [], []
    crm = ["hs_object_id,hs_survey_type,hs_response_value,hs_submission_timestamp,contact_email"]
    for n in range(persons):
        user, address, anonymous = f"u{n}", f"p{n}@example.com", f"a{n}"
        web += [
            {"type": "page", "messageId": f"X{n}", "timestamp": TIE, "anonymousId": anonymous,
             "properties": {"path": "/p", "url": "https://shop.example.com/p"},
             "context": {"campaign": {"source": "g", "medium": "cpc", "name": "web-camp"}}},
            {"type": "identify", "messageId": f"id-{n}", "timestamp": "2026-02-01T10:01:00Z",
             "anonymousId": anonymous, "userId": user, "traits": {"email": address}},
            {"type": "track", "messageId": f"S{n}", "timestamp": "2026-02-01T10:05:00Z",
             "userId": user, "event": "Signed Up"},
            {"type": "track", "messageId": f"feedback:{n}", "timestamp": NPS_AT, "userId": user,
             "event": "Survey Answered", "properties": {"survey": "nps", "score": 10}},
            {"type": "track", "messageId": f"feedback:{n + 100000}", "timestamp": CSAT_AT,
             "userId": user, "event": "Survey Answered",
             "properties": {"survey": "csat", "score": 5}},
        ]
        email.append({"email": address, "timestamp": 1769940000, "event": "click",
                      "sg_event_id": f"X{n}", "sg_message_id": f"m{n}",
                      "url": "https://shop.example.com/x", "campaign": "mail-camp"})
        crm += [f"{n},NPS,2,{NPS_AT},{address}", f"{n + 100000},CSAT,1,{CSAT_AT},{address}"]
    (root / "web" / "a.jsonl").write_text("".join(json.dumps(m) + "\n" for m in web))
    (root / "email" / "a.json").write_text("".join(json.dumps(m) + "\n" for m in email))
    (root / "crm" / "feedback.csv").write_text("\n".join(crm) + "\n")
    (root / "overlap.yaml").write_text(OVERLAP)
    return root


def commands(root: Path) -> dict[str, list[str]]:
    return {
        "by_campaign": ["funnel", "--framework", "aarrr", "--by", "campaign", "--format",
                        "json"],
        "paths": ["paths", "--collapse", "none", "--format", "json"],
        "times": ["funnel", "--framework", str(root / "overlap.yaml"), "--times", "--format",
                  "json"],
        "by_channel": ["funnel", "--framework", "aarrr", "--by", "channel", "--format", "json"],
        "nps": ["nps", "--format", "json"],
        "satisfaction": ["satisfaction", "--format", "json"],
        "exits": ["funnel", "--framework", "aarrr", "--exits", "--format", "json"],
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = write_tie(tmp_path_factory.mktemp("tie") / "input")
    db = root.parent / "w.duckdb"
    invoke(["run", "--input", str(root), "--db", str(db)])
    return root, db


def test_the_first_campaign_is_the_email_events(warehouse: tuple[Path, Path]) -> None:
    root, db = warehouse
    rows = json.loads(invoke([*commands(root)["by_campaign"], "--db", str(db)]))
    assert {r["group"]: r["persons"] for r in rows if r["step"] == 1} == {
        "all": PERSONS, "mail-camp": PERSONS}


def test_paths_put_the_email_event_first(warehouse: tuple[Path, Path]) -> None:
    root, db = warehouse
    rows = json.loads(invoke([*commands(root)["paths"], "--db", str(db)]))
    first = [(r["source"], r["target"], r["paths"]) for r in rows if r["step"] == 1]
    assert first == [("email_click", "page_view", PERSONS)]


def test_the_funnel_steps_follow_the_same_order(warehouse: tuple[Path, Path]) -> None:
    """The click (email) is step 1 and the page view at the same instant step 2: 0 hours;
    then the signup five minutes later."""
    root, db = warehouse
    rows = json.loads(invoke([*commands(root)["times"], "--db", str(db)]))
    steps = {r["step"]: (r["persons"], r["p90_hours"]) for r in rows if r["group"] == "all"}
    assert steps[2] == (PERSONS, 0.0)
    assert steps[3] == (PERSONS, pytest.approx(5 / 60))


def test_the_first_channel_is_the_email_events(warehouse: tuple[Path, Path]) -> None:
    root, db = warehouse
    rows = json.loads(invoke([*commands(root)["by_channel"], "--db", str(db)]))
    assert {r["group"]: r["persons"] for r in rows if r["step"] == 1} == {
        "all": PERSONS, "email": PERSONS}


def test_the_latest_answer_is_the_web_one(warehouse: tuple[Path, Path]) -> None:
    """Two answers with one id at one instant: the latest is the last in the order, web
    after crm (the web's 10 and 5, not the CRM's 2 and 1)."""
    root, db = warehouse
    nps = json.loads(invoke([*commands(root)["nps"], "--db", str(db)]))
    assert [(r["respondents"], r["promoters"], r["detractors"]) for r in nps] == [
        (PERSONS, PERSONS, 0)]
    feelings = json.loads(invoke([*commands(root)["satisfaction"], "--db", str(db)]))
    assert [(r["nps"], r["csat_respondents"], r["csat"]) for r in feelings] == [
        (100.0, PERSONS, 100.0)]


def test_the_exit_touchpoint_is_the_last_event_in_the_order(
    warehouse: tuple[Path, Path],
) -> None:
    """Everybody leaves after activation; their last activity events are the two CSAT answers
    at one instant with one id: the web one is last."""
    root, db = warehouse
    rows = json.loads(invoke([*commands(root)["exits"], "--db", str(db)]))
    assert [(r["stage"], r["touchpoint"], r["persons"]) for r in rows] == [
        ("activation", "web · direct · csat_response", PERSONS)]
