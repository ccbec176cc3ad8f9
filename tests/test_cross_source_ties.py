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
    """The input, per person: identify, then a page view (campaign web-camp) and an email click
    (campaign mail-camp) both with id X<n> at TIE, then a signup five minutes later."""
    (root / "web").mkdir(parents=True)
    (root / "email").mkdir()
    web, email = [], []
    for n in range(persons):
        user, address = f"u{n}", f"p{n}@example.com"
        web += [
            {"type": "identify", "messageId": f"id-{n}", "timestamp": "2026-02-01T09:00:00Z",
             "anonymousId": f"a{n}", "userId": user, "traits": {"email": address}},
            {"type": "page", "messageId": f"X{n}", "timestamp": TIE, "anonymousId": f"a{n}",
             "userId": user, "properties": {"path": "/p", "url": "https://shop.example.com/p"},
             "context": {"campaign": {"source": "g", "medium": "cpc", "name": "web-camp"}}},
            {"type": "track", "messageId": f"S{n}", "timestamp": "2026-02-01T10:05:00Z",
             "anonymousId": f"a{n}", "userId": user, "event": "Signed Up"},
        ]
        email.append({"email": address, "timestamp": 1769940000, "event": "click",
                      "sg_event_id": f"X{n}", "sg_message_id": f"m{n}",
                      "url": "https://shop.example.com/x", "campaign": "mail-camp"})
    (root / "web" / "a.jsonl").write_text("".join(json.dumps(m) + "\n" for m in web))
    (root / "email" / "a.json").write_text("".join(json.dumps(m) + "\n" for m in email))
    (root / "overlap.yaml").write_text(OVERLAP)
    return root


def commands(root: Path) -> dict[str, list[str]]:
    return {
        "by_campaign": ["funnel", "--framework", "aarrr", "--by", "campaign", "--format",
                        "json"],
        "paths": ["paths", "--collapse", "none", "--format", "json"],
        "times": ["funnel", "--framework", str(root / "overlap.yaml"), "--times", "--format",
                  "json"],
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
