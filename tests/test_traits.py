"""Person traits (CONTRACT §6): kept from Segment identify and group traits and CRM contact
columns, only the names a source's configuration lists, history kept in `_jm_traits`, the value at
an instant read by sql/intermediate/int_person_traits.sql."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import TEST_KEY, query, write_csv, write_jsonl
from journey_metrics.config import SourceConfig, load_source
from journey_metrics.errors import UsageError
from journey_metrics.hashing import HashKey
from journey_metrics.sql import load_sql
from journey_metrics.warehouse import open_for_reading

KEY = HashKey(TEST_KEY.encode(), "test")
CONTACT_HEADER = ["hs_object_id", "email", "createdate", "lifecyclestage",
                  "hs_lifecyclestage_lead_date", "hs_lifecyclestage_customer_date", "Country",
                  "industry", "firstname", "phone"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def identify(message_id: str, ts: str, user: str, **traits: Any) -> dict[str, Any]:
    return {"type": "identify", "messageId": message_id, "timestamp": ts, "userId": user,
            "traits": traits}


def traits_at(db: Path, as_of: datetime) -> dict[str, dict[str, str]]:
    """{person_id: {trait: value}} from int_person_traits at `as_of`."""
    con = open_for_reading(db)
    try:
        rows = con.execute(load_sql("intermediate/int_person_traits.sql"),
                           {"as_of": as_of}).fetchall()
    finally:
        con.close()
    found: dict[str, dict[str, str]] = {}
    for person_id, _person_no, trait, value in rows:
        found.setdefault(person_id, {})[trait] = value
    return found


def only_person(found: dict[str, dict[str, str]]) -> dict[str, str]:
    assert len(found) == 1, found
    return next(iter(found.values()))


def test_latest_value_at_or_before_as_of(input_dir: Path, db_path: Path, run_pipeline: Any) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        identify("i1", "2024-03-01T10:00:00Z", "u-1", plan="free", Country="FR",
                 firstName="Ann", email="ann@example.com", role=""),
        identify("i2", "2024-03-10T10:00:00Z", "u-1", plan="pro", role="buyer"),
        identify("i3", "2024-03-20T10:00:00Z", "u-1", plan="", role=" "),  # empty: no value
    ])
    run_pipeline(input_dir, db_path)
    # history kept, keys in snake_case, only configured names (not firstName, not email)
    assert query(db_path, "SELECT trait, value, set_at FROM fct_traits ORDER BY set_at, trait") == [
        ("country", "FR", utc(2024, 3, 1, 10)),
        ("plan", "free", utc(2024, 3, 1, 10)),
        ("plan", "pro", utc(2024, 3, 10, 10)),
        ("role", "buyer", utc(2024, 3, 10, 10)),
    ]
    assert traits_at(db_path, utc(2024, 2, 1)) == {}
    assert only_person(traits_at(db_path, utc(2024, 3, 1, 10))) == {"country": "FR",
                                                                     "plan": "free"}
    assert only_person(traits_at(db_path, utc(2024, 3, 10, 9, 59, 59))) == {"country": "FR",
                                                                             "plan": "free"}
    at_change = {"country": "FR", "plan": "pro", "role": "buyer"}
    assert only_person(traits_at(db_path, utc(2024, 3, 10, 10))) == at_change
    # the empty values of 03-20 do not hide the latest non-empty ones
    assert only_person(traits_at(db_path, utc(2024, 4, 1))) == at_change


def test_a_trait_set_twice_at_the_same_instant(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        identify("i1", "2024-03-01T10:00:00Z", "u-1", plan="pro"),
        identify("i2", "2024-03-01T12:00:00+02:00", "u-1", plan="basic"),  # the same instant
    ])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT count(*) FROM fct_traits") == [(2,)]
    # equal times: the value that sorts last, whatever the order in the file
    assert only_person(traits_at(db_path, utc(2024, 3, 2))) == {"plan": "pro"}


def test_group_traits_and_stitching(input_dir: Path, db_path: Path, run_pipeline: Any) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        # traits set on an anonymous device, before the device is linked to the user
        {"type": "group", "messageId": "g1", "timestamp": "2024-03-01T10:00:00Z",
         "anonymousId": "dev-1", "groupId": "acme",
         "traits": {"plan": "enterprise", "Industry": "Retail", "name": "Acme Inc"}},
        identify("i1", "2024-03-02T10:00:00Z", "u-1", plan="pro"),
        {"type": "track", "event": "Signed In", "messageId": "t1",
         "timestamp": "2024-03-03T10:00:00Z", "anonymousId": "dev-1", "userId": "u-1"},
    ])
    run_pipeline(input_dir, db_path)
    assert only_person(traits_at(db_path, utc(2024, 4, 1))) == {
        "group_id": "acme", "group_plan": "enterprise", "group_industry": "Retail",
        "plan": "pro",
    }


def test_crm_contact_traits_at_the_latest_date_of_the_row(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_csv(input_dir / "crm" / "contacts.csv", CONTACT_HEADER, [
        ["101", "ann@example.com", "2024-01-01", "lead", "2024-01-05", "", "DE", "retail",
         "Ann", "+49 30 1234567"],
    ])
    write_jsonl(input_dir / "web" / "a.jsonl", [
        identify("i1", "2024-01-02T00:00:00Z", "u-1", email="ann@example.com", country="FR"),
    ])
    run_pipeline(input_dir, db_path)
    ann = KEY.hash_email("ann@example.com")
    assert query(db_path, "SELECT node, trait, value, set_at, source, record_no FROM _jm_traits"
                          " WHERE source = 'crm' ORDER BY trait") == [
        (f"e:{ann}", "country", "DE", utc(2024, 1, 5), "crm", 2),
        (f"e:{ann}", "industry", "retail", utc(2024, 1, 5), "crm", 2),
        (f"e:{ann}", "lifecyclestage", "lead", utc(2024, 1, 5), "crm", 2),
    ]
    # web (identify on 01-02) and CRM (row dated 01-05) traits meet on one person
    assert only_person(traits_at(db_path, utc(2024, 1, 3))) == {"country": "FR"}
    assert only_person(traits_at(db_path, utc(2024, 1, 6))) == {
        "country": "DE", "industry": "retail", "lifecyclestage": "lead"}
    # a re-export a month later, the contact now a customer: a new value, history kept
    write_csv(input_dir / "crm" / "contacts-2.csv", CONTACT_HEADER, [
        ["101", "ann@example.com", "2024-01-01", "customer", "2024-01-05", "2024-02-01", "DE",
         "retail", "Ann", "+49 30 1234567"],
    ])
    run_pipeline(input_dir, db_path)
    assert only_person(traits_at(db_path, utc(2024, 1, 6)))["lifecyclestage"] == "lead"
    assert only_person(traits_at(db_path, utc(2024, 2, 1)))["lifecyclestage"] == "customer"
    assert query(db_path, "SELECT count(*) FROM _jm_traits WHERE source = 'crm'") == [(6,)]


def test_loading_the_same_records_again_adds_nothing(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    records = [identify("i1", "2024-03-01T10:00:00Z", "u-1", plan="pro", country="FR")]
    write_jsonl(input_dir / "web" / "a.jsonl", records)
    write_csv(input_dir / "crm" / "contacts.csv", [*CONTACT_HEADER[:5], "country"], [
        ["101", "b@example.com", "2024-01-01", "lead", "2024-01-05", "SE"]])
    run_pipeline(input_dir, db_path)
    before = query(db_path, "SELECT * FROM _jm_traits ORDER BY ALL")
    assert len(before) == 4
    # the same records under other names (a re-delivered file, a re-export)
    write_jsonl(input_dir / "web" / "b.jsonl", records)
    write_csv(input_dir / "crm" / "contacts-again.csv", [*CONTACT_HEADER[:5], "country"], [
        ["101", "b@example.com", "2024-01-01", "lead", "2024-01-05", "SE"]])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT * FROM _jm_traits ORDER BY ALL") == before


@pytest.mark.parametrize("name", ["email", "phone", "first_name", "lastname", "full_name",
                                  "home_address", "mobilephone", "group_name", "work_email"])
def test_personal_data_is_never_a_configured_trait(tmp_path: Path, name: str) -> None:
    config = {"name": "web", "title": "Web", "folder": "web",
              "files": [{"pattern": "*.jsonl", "reader": "jsonl", "model": "stg_web"}],
              "traits": ["plan", name]}
    with pytest.raises(ValueError, match="looks like personal data"):
        SourceConfig.model_validate(config)
    path = tmp_path / "10-web.yaml"
    path.write_text(
        "name: web\ntitle: Web\nfolder: web\n"
        "files: [{pattern: '*.jsonl', reader: jsonl, model: stg_web}]\n"
        f"traits: [plan, {name}]\n"
    )
    with pytest.raises(UsageError, match=r"10-web.yaml, line 5, column 1: traits: trait .* looks"
                                         " like personal data"):
        load_source(path)


@pytest.mark.parametrize("name", ["plan", "country", "company", "industry", "role", "group_id",
                                  "group_plan", "group_industry", "lifecyclestage",
                                  "hs_analytics_source"])
def test_the_default_traits_are_allowed(name: str) -> None:
    config = {"name": "web", "title": "Web", "folder": "web",
              "files": [{"pattern": "*.jsonl", "reader": "jsonl", "model": "stg_web"}],
              "traits": [name]}
    assert SourceConfig.model_validate(config).traits == [name]
