"""CONTRACT §1: HubSpot exports from the app's own screens (property labels, display values) load
exactly like the internal-name form: the same records in both forms give identical events."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import TEST_KEY, query
from journey_metrics.hashing import HashKey

KEY = HashKey(TEST_KEY.encode(), "test")

CONTACTS_INTERNAL = [
    "hs_object_id", "email", "createdate", "lifecyclestage", "hs_analytics_source",
    "hs_lifecyclestage_subscriber_date", "hs_lifecyclestage_lead_date",
    "hs_lifecyclestage_marketingqualifiedlead_date", "hs_lifecyclestage_salesqualifiedlead_date",
    "hs_lifecyclestage_opportunity_date", "hs_lifecyclestage_customer_date",
    "hs_lifecyclestage_evangelist_date",
]
CONTACTS_LABELS = [
    "Record ID", "Email", "Create Date", "Lifecycle Stage", "Original Source",
    "Became a Subscriber Date", "Became a Lead Date", "Became a Marketing Qualified Lead Date",
    "Became a Sales Qualified Lead Date", "Became an Opportunity Date", "Became a Customer Date",
    "Became an Evangelist Date",
]
# (internal form row, label form row): the same records, with display values in the label form
CONTACT_ROWS = [
    (["101", "carol@example.com", "2024-01-01 08:00", "marketingqualifiedlead", "ORGANIC_SEARCH",
      "2024-01-01 08:00", "2024-01-02 09:30", "2024-01-03 10:15", "", "", "", ""],
     ["101", "carol@example.com", "2024-01-01 08:00", "Marketing Qualified Lead", "ORGANIC_SEARCH",
      "2024-01-01 08:00", "2024-01-02 09:30", "2024-01-03 10:15", "", "", "", ""]),
    (["102", "Dave@Example.com", "2024-02-01 00:00", "evangelist", "",
      "", "", "", "2024-02-01 12:00", "2024-02-02 13:00", "2024-02-03 14:00", "2024-02-04 15:45"],
     ["102", "Dave@Example.com", "2024-02-01 00:00", "Evangelist", "",
      "", "", "", "2024-02-01 12:00", "2024-02-02 13:00", "2024-02-03 14:00", "2024-02-04 15:45"]),
]

DEALS_INTERNAL = ["hs_object_id", "dealname", "dealstage", "amount", "closedate",
                  "associated_contact_id"]
DEALS_LABELS = ["Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date",
                "Associated Contact IDs"]
DEAL_ROWS = [
    (["501", "Big deal", "closedwon", "1200.50", "2024-03-10 14:05", "101;102"],
     ["501", "Big deal", "Closed Won", "1200.50", "2024-03-10 14:05", "101;102"]),
    # a list written with commas (a spreadsheet edit) reads as one with semicolons
    (["502", "Lost one", "closedlost", "", "2024-03-11 09:00", "102, 101"],
     ["502", "Lost one", "Closed Lost", "", "2024-03-11 09:00", "102, 101"]),
    (["503", "Meeting", "appointmentscheduled", "10", "2024-03-12 16:30", " ; 102 ;101"],
     ["503", "Meeting", "Appointment Scheduled", "10", "2024-03-12 16:30", " ; 102 ;101"]),
]

FEEDBACK_INTERNAL = ["hs_object_id", "hs_survey_type", "hs_response_value",
                     "hs_submission_timestamp", "contact_email", "associated_contact_id"]
FEEDBACK_LABELS = ["Record ID", "Survey Type", "Response Value", "Submission Timestamp",
                   "Contact Email", "Associated Contact IDs"]
FEEDBACK_ROWS = [
    (["901", "NPS", "9", "2024-04-01 10:00", "carol@example.com", ""],
     ["901", "NPS", "9", "2024-04-01 10:00", "carol@example.com", ""]),
    (["902", "NPS", "3", "2024-04-02 11:30", "", "102;101"],
     ["902", "NPS", "3", "2024-04-02 11:30", "", "102;101"]),
]

EVENT_COLUMNS = (
    "event_id, source, event_name, occurred_at, anonymous_id, user_id, email_hash,"
    " crm_contact_id, person_key, channel, campaign, revenue, properties::VARCHAR, content_hash,"
    " file_path, record_no"
)


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def load_form(tmp_path: Path, form: int, run_pipeline: Any) -> tuple[Path, dict[str, Any]]:
    """Load all three CRM files in one header form (0: internal names, 1: labels)."""
    folder = tmp_path / f"form{form}"
    crm = folder / "input" / "crm"
    for name, headers, rows in (
        ("contacts.csv", (CONTACTS_INTERNAL, CONTACTS_LABELS), CONTACT_ROWS),
        ("deals.csv", (DEALS_INTERNAL, DEALS_LABELS), DEAL_ROWS),
        ("feedback.csv", (FEEDBACK_INTERNAL, FEEDBACK_LABELS), FEEDBACK_ROWS),
    ):
        write_rows(crm / name, headers[form], [pair[form] for pair in rows])
    db = folder / "w.duckdb"
    return db, run_pipeline(folder / "input", db)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_both_header_forms_give_identical_events(tmp_path: Path, run_pipeline: Any) -> None:
    internal_db, internal = load_form(tmp_path, 0, run_pipeline)
    labels_db, labels = load_form(tmp_path, 1, run_pipeline)
    sql = f"SELECT {EVENT_COLUMNS} FROM events ORDER BY source, event_id"
    assert query(labels_db, sql) == query(internal_db, sql)
    assert labels["sources"] == internal["sources"]
    # identity too: the same links (contact id <-> email hash) and persons
    links = "SELECT node_a, node_b FROM _jm_identity_links ORDER BY ALL"
    assert query(labels_db, links) == query(internal_db, links)
    persons = "SELECT person_id, channel, first_seen_at FROM persons ORDER BY ALL"
    assert query(labels_db, persons) == query(internal_db, persons)


def test_label_form_golden(tmp_path: Path, run_pipeline: Any) -> None:
    """Hand-computed: display values, `YYYY-MM-DD HH:MM` dates (UTC source), first listed id."""
    db, summary = load_form(tmp_path, 1, run_pipeline)
    crm = summary["sources"][2]
    assert (crm["records"], crm["events"], crm["quarantined"], crm["failed_files"]) == (7, 12, 0, 0)
    rows = query(db, "SELECT event_id, event_name, occurred_at, crm_contact_id, revenue"
                     " FROM events ORDER BY event_id")
    assert rows == [
        ("101:lead", "lifecycle_lead", utc(2024, 1, 2, 9, 30), "101", None),
        ("101:marketingqualifiedlead", "lifecycle_marketingqualifiedlead",
         utc(2024, 1, 3, 10, 15), "101", None),
        ("101:subscriber", "lifecycle_subscriber", utc(2024, 1, 1, 8), "101", None),
        ("102:customer", "lifecycle_customer", utc(2024, 2, 3, 14), "102", None),
        ("102:evangelist", "lifecycle_evangelist", utc(2024, 2, 4, 15, 45), "102", None),
        ("102:opportunity", "lifecycle_opportunity", utc(2024, 2, 2, 13), "102", None),
        ("102:salesqualifiedlead", "lifecycle_salesqualifiedlead", utc(2024, 2, 1, 12), "102",
         None),
        # a deal belongs to the first contact its "Associated Contact IDs" lists
        ("deal:501:closedwon", "deal_won", utc(2024, 3, 10, 14, 5), "101", 1200.5),
        ("deal:502:closedlost", "deal_lost", utc(2024, 3, 11, 9), "102", None),
        ("deal:503:appointmentscheduled", "deal_appointmentscheduled", utc(2024, 3, 12, 16, 30),
         "102", 10.0),
        ("feedback:901", "nps_response", utc(2024, 4, 1, 10), None, None),
        ("feedback:902", "nps_response", utc(2024, 4, 2, 11, 30), "102", None),
    ]
    props = query(db, "SELECT properties::VARCHAR FROM events WHERE event_id = '101:lead'")
    assert props == [('{"lifecyclestage":"marketingqualifiedlead",'
                      '"hs_analytics_source":"ORGANIC_SEARCH"}',)]
    # feedback 901 reaches Carol through the email, 902 Dave through the first listed id
    owners = query(db, "SELECT event_id, person_id FROM fct_events"
                       " WHERE event_id IN ('feedback:901', '101:lead', 'feedback:902',"
                       " '102:customer') ORDER BY event_id")
    assert owners[0][1] == owners[2][1]  # 101:lead and feedback:901
    assert owners[1][1] == owners[3][1]  # 102:customer and feedback:902
    assert owners[0][1] != owners[1][1]  # the two contacts stay two persons


def test_headers_match_in_any_case_with_padding(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    write_rows(input_dir / "crm" / "deals.csv",
               [" record id", "DEAL STAGE ", "close date", "Associated Contact IDs"],
               [["7", "Closed  Won", "2024-05-01 08:00", "55"]])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, event_name, crm_contact_id FROM events") == [
        ("deal:7:closedwon", "deal_won", "55"),
    ]


def test_display_values_under_internal_names_are_mapped_too(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    """CONTRACT §1: "A display value is mapped to the internal one by lower-casing and removing
    spaces", in either header form (decision 178). Mapped only under labels (decision 24
    before), `Closed Won` in an export with internal names became `deal_closed_won`: the deal
    was no order and its amount left revenue, LTV and attribution (a contract audit)."""
    write_rows(input_dir / "crm" / "deals.csv", DEALS_INTERNAL,
               [["8", "x", "Contract Sent", "", "2024-05-01 08:00", "55"],
                ["9", "y", "Closed Won", "100", "2024-05-02 08:00", "55"],
                ["10", "z", "closedlost", "", "2024-05-03 08:00", "55"]])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, event_name, revenue FROM events ORDER BY 1") == [
        ("deal:10:closedlost", "deal_lost", None),
        ("deal:8:contractsent", "deal_contractsent", None),
        ("deal:9:closedwon", "deal_won", 100.0)]


@pytest.mark.parametrize(("name", "header", "expected"), [
    ("contacts.csv", ["Email Address", "Name"],
     "missing required column(s): hs_object_id, email; expected the internal names"
     " hs_object_id, email or the labels Record ID, Email"),
    ("deals.csv", ["Record ID", "Stage", "Close Date"],
     "missing required column(s): dealstage; expected the internal names hs_object_id,"
     " dealstage, closedate or the labels Record ID, Deal Stage, Close Date"),
    ("feedback.csv", ["hs_object_id", "Score"],
     "missing required column(s): hs_response_value, hs_submission_timestamp; expected the"
     " internal names hs_object_id, hs_response_value, hs_submission_timestamp or the labels"
     " Record ID, Response Value, Submission Timestamp"),
])
def test_neither_form_fails_with_both_forms_listed(
    input_dir: Path, db_path: Path, run_pipeline: Any, name: str, header: list[str],
    expected: str,
) -> None:
    write_rows(input_dir / "crm" / name, header, [["1"] * len(header)])
    summary = run_pipeline(input_dir, db_path)
    assert summary["failed_files"] == [{"source": "crm", "file": f"crm/{name}",
                                        "reason": expected}]


def test_custom_property_label_from_yaml_only(tmp_path: Path) -> None:
    """A label added in a source's YAML names a custom property's key: no code involved."""
    import duckdb

    from journey_metrics.config import FileKind
    from journey_metrics.sources.readers import read_file

    kind = FileKind.model_validate({
        "pattern": "x*.csv", "reader": "csv", "model": "stg_crm_deals",
        "required_columns": ["hs_object_id"], "columns": ["hs_object_id", "dealstage"],
        "labels": {"hs_object_id": "Record ID", "dealstage": "Deal Stage",
                   "plan_tier": "Plan Tier"},
        "display_values": ["dealstage"],
    })
    path = tmp_path / "x.csv"
    write_rows(path, ["Record ID", "Deal Stage", "Plan Tier", "Other Thing"],
               [["1", "Closed Won", "Gold", "x"]])
    con = duckdb.connect(":memory:")
    read_file(con, path, kind)
    rows = con.execute("SELECT hs_object_id, dealstage, extra_fields::VARCHAR"
                       " FROM raw_records").fetchall()
    assert rows == [("1", "closedwon", '{"plan_tier":"Gold","Other Thing":"x"}')]


def test_label_dates_in_source_time_zone(
    input_dir: Path, db_path: Path, run_pipeline: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`YYYY-MM-DD HH:MM` (a screen export's dates) is a time in the source's zone."""
    import shutil

    from journey_metrics import resources

    config = tmp_path / "config"
    shutil.copytree(resources.resource_dir("config"), config)
    crm_yaml = config / "sources" / "30-crm.yaml"
    crm_yaml.write_text(crm_yaml.read_text().replace("timezone: UTC", "timezone: Europe/Berlin"))
    monkeypatch.setattr(
        "journey_metrics.config.resource_dir", lambda name: config if name == "config" else None
    )
    write_rows(input_dir / "crm" / "deals.csv", DEALS_LABELS,
               [["1", "w", "Closed Won", "5", "2024-01-15 09:30", "7"],
                ["2", "s", "Closed Won", "5", "2024-07-15 09:30", "7"]])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, occurred_at FROM events ORDER BY 1") == [
        ("deal:1:closedwon", utc(2024, 1, 15, 8, 30)),  # CET: UTC+1
        ("deal:2:closedwon", utc(2024, 7, 15, 7, 30)),  # CEST: UTC+2
    ]
