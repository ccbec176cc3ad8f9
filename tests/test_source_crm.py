"""CRM (HubSpot-style CSV exports): contacts, deals, feedback; BOM, dates, quarantine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from conftest import TEST_KEY, query, write_csv
from journey_metrics.hashing import HashKey

KEY = HashKey(TEST_KEY.encode(), "test")
CONTACT_HEADER = [
    "hs_object_id", "email", "createdate", "lifecyclestage", "hs_analytics_source",
    "hs_lifecyclestage_subscriber_date", "hs_lifecyclestage_lead_date",
    "hs_lifecyclestage_customer_date",
]
DEAL_HEADER = ["hs_object_id", "dealname", "dealstage", "amount", "closedate",
               "associated_contact_id"]
FEEDBACK_HEADER = ["hs_object_id", "hs_survey_type", "hs_response_value",
                   "hs_submission_timestamp", "contact_email", "associated_contact_id"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_contacts_golden(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_csv(input_dir / "crm" / "contacts.csv", CONTACT_HEADER, [
        ["101", "Carol@Example.com", "2024-01-01", "customer", "ORGANIC_SEARCH",
         "2024-01-01T08:00:00Z", "2024-01-02 09:30:00", "1704412800000"],
        ["102", "dave@example.com", "2024-01-03", "subscriber", "", "2024-01-03", "", ""],
        ["103", "erin@example.com", "2024-01-03", "", "", "", "", ""],
    ], bom=True)
    summary = run_pipeline(input_dir, db_path)
    rows = query(
        db_path,
        "SELECT event_id, event_name, occurred_at, crm_contact_id, email_hash, channel,"
        " properties::VARCHAR, record_no FROM events ORDER BY event_id",
    )
    carol, dave = KEY.hash_email("carol@example.com"), KEY.hash_email("dave@example.com")
    props = '{"lifecyclestage":"customer","hs_analytics_source":"ORGANIC_SEARCH"}'
    assert rows == [
        ("101:customer", "lifecycle_customer", utc(2024, 1, 5), "101", carol, None, props, 2),
        ("101:lead", "lifecycle_lead", utc(2024, 1, 2, 9, 30), "101", carol, None, props, 2),
        ("101:subscriber", "lifecycle_subscriber", utc(2024, 1, 1, 8), "101", carol, None,
         props, 2),
        ("102:subscriber", "lifecycle_subscriber", utc(2024, 1, 3), "102", dave, None,
         '{"lifecyclestage":"subscriber"}', 3),
    ]
    crm = summary["sources"][2]
    assert (crm["records"], crm["events"], crm["quarantined"]) == (3, 4, 0)
    # the contact without stage dates is linked (id + email) but has no events
    assert query(db_path, "SELECT count(*) FROM _jm_person_map WHERE node = 'c:103'") == [(1,)]


def test_reexport_yields_same_events(input_dir: Path, db_path: Path, run_pipeline) -> None:
    row = ["101", "carol@example.com", "2024-01-01", "lead", "", "2024-01-01T08:00:00Z",
           "2024-01-02T00:00:00Z", ""]
    write_csv(input_dir / "crm" / "contacts-1.csv", CONTACT_HEADER, [row])
    write_csv(input_dir / "crm" / "contacts-2.csv", CONTACT_HEADER, [row])
    summary = run_pipeline(input_dir, db_path)
    crm = summary["sources"][2]
    assert (crm["records"], crm["events"], crm["duplicates"]) == (2, 2, 2)


def test_deals_golden(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_csv(input_dir / "crm" / "deals.csv", DEAL_HEADER, [
        ["9001", "Big order", "closedwon", "1200.50", "2024-02-01T10:00:00+01:00", "101"],
        ["9002", "Lost one", "closedlost", "", "2024-02-02", "101"],
        ["9003", "Pending", "appointmentscheduled", "300", "2024-02-03T00:00:00Z", "102"],
        ["9004", "Orphan", "closedwon", "5", "2024-02-03T00:00:00Z", ""],
        ["9005", "Bad amount", "closedwon", "lots", "2024-02-03T00:00:00Z", "102"],
        # a double that is no amount: it would poison every sum (the run stopped at a cast)
        ["9006", "Not a number", "closedwon", "NaN", "2024-02-03T00:00:00Z", "102"],
        ["9007", "Too big", "closedwon", "1e999", "2024-02-03T00:00:00Z", "102"],
        ["9008", "No stage", "", "5", "2024-02-03T00:00:00Z", "102"],  # was "missing event id"
        ["9009", "Far too big", "closedwon", "1e26", "2024-02-03T00:00:00Z", "102"],
    ])
    summary = run_pipeline(input_dir, db_path)
    assert query(
        db_path,
        "SELECT event_id, event_name, occurred_at, crm_contact_id, revenue FROM events"
        " ORDER BY event_id",
    ) == [
        ("deal:9001:closedwon", "deal_won", utc(2024, 2, 1, 9), "101", 1200.5),
        ("deal:9002:closedlost", "deal_lost", utc(2024, 2, 2), "101", None),
        ("deal:9003:appointmentscheduled", "deal_appointmentscheduled", utc(2024, 2, 3),
         "102", 300.0),
    ]
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine ORDER BY 1") == [
        (5, "no identifier (anonymous id, user id, email or CRM contact id)"),
        (6, "amount is not a number: lots"),
        (7, "amount is not a number: NaN"),
        (8, "amount is not a number: 1e999"),
        (9, "missing dealstage"),
        (10, "amount out of range (1e15 or more, either sign): 1e26"),
    ]
    assert summary["sources"][2]["quarantined"] == 6


def test_amounts_with_thousands_separators(input_dir: Path, db_path: Path, run_pipeline) -> None:
    """A separator is read where the amount cannot mean anything else (decision 149): comma
    groups before a decimal point or two of them, dot groups before a decimal comma or two of
    them. One group without a decimal part could be either (`1,500`: 1.5 or 1500) and is
    quarantined; `1.500` stays the plain decimal 1.5. A currency sign before or after the
    amount, as a spreadsheet's currency format writes it, is no part of it, and with one a
    single group of three is thousands (`250.000 ₫`); a decimal comma with one or two decimals
    is read (decision 229). A sign alone, two signs or a currency code are not numbers."""
    amounts = ["1,500.00", "1,234,567", "-2,000.5", "1.500,25", "1.234.567", " 12,345.6 ",
               "1,500", "1.500", "1,50.00", "1.500.00", "1,500.000,00", "$1,500.00",
               "-$5", "1.000,50 €", "₫ 250000", "$", "$$5", "5 USD", "$5€",
               "250.000 ₫", "$1,500", "+$1,500.00", "5\u00a0€", "1\u202f234,50 €", "25,50"]
    write_csv(input_dir / "crm" / "deals.csv", DEAL_HEADER, [  # quoted as spreadsheets do
        [str(9000 + i), "d", "closedwon", f'"{amount}"', "2024-02-01", "101"]
        for i, amount in enumerate(amounts)])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, revenue FROM events ORDER BY event_id") == [
        ("deal:9000:closedwon", 1500.0), ("deal:9001:closedwon", 1234567.0),
        ("deal:9002:closedwon", -2000.5), ("deal:9003:closedwon", 1500.25),
        ("deal:9004:closedwon", 1234567.0), ("deal:9005:closedwon", 12345.6),
        ("deal:9007:closedwon", 1.5), ("deal:9011:closedwon", 1500.0),
        ("deal:9012:closedwon", -5.0), ("deal:9013:closedwon", 1000.5),
        ("deal:9014:closedwon", 250000.0), ("deal:9019:closedwon", 250000.0),
        ("deal:9020:closedwon", 1500.0), ("deal:9021:closedwon", 1500.0),
        ("deal:9022:closedwon", 5.0), ("deal:9023:closedwon", 1234.5),
        ("deal:9024:closedwon", 25.5)]
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine ORDER BY 1") == [
        (8, "amount is not a number: 1,500"), (10, "amount is not a number: 1,50.00"),
        (11, "amount is not a number: 1.500.00"), (12, "amount is not a number: 1,500.000,00"),
        (17, "amount is not a number: $"), (18, "amount is not a number: $$5"),
        (19, "amount is not a number: 5 USD"), (20, "amount is not a number: $5€")]


def test_a_missing_id_or_date_is_named(input_dir: Path, db_path: Path, run_pipeline) -> None:
    """A deal without its id or its close date was quarantined "missing event id" or "missing
    timestamp", which names no column of the export (an input audit): the reason names the
    column, by its internal name and HubSpot's label (decision 234)."""
    write_csv(input_dir / "crm" / "deals.csv", DEAL_HEADER, [
        ["", "d", "closedwon", "10", "2024-02-01", "101"],
        ["9002", "d", "closedwon", "20", "", "101"],
    ])
    write_csv(input_dir / "crm" / "feedback.csv", FEEDBACK_HEADER, [
        ["", "NPS", "9", "2024-03-05T10:00:00Z", "", "101"],
        ["7", "NPS", "9", "", "", "101"],
    ])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT file_path, record_no, reason FROM _jm_quarantine"
                          " ORDER BY 1, 2") == [
        ("crm/deals.csv", 2, "missing hs_object_id (Record ID)"),
        ("crm/deals.csv", 3, "missing closedate (Close Date)"),
        ("crm/feedback.csv", 2, "missing hs_object_id (Record ID)"),
        ("crm/feedback.csv", 3, "missing hs_submission_timestamp (Submission Timestamp)")]


def test_rows_of_empty_fields_are_no_records(input_dir: Path, db_path: Path, run_pipeline) -> None:
    """Spreadsheets and HubSpot write rows of empty fields below the data (`,,,,,`): each was
    quarantined as a deal without an id (or a contact without one, an answer without a score),
    swelling the quarantine with noise (an input audit). Such a row is no record, as a blank
    line is not (decision 229); the rows after it keep their numbers, and a row with one
    field more than the header is still quarantined."""
    write_csv(input_dir / "crm" / "deals.csv", DEAL_HEADER, [
        ["9001", "d", "closedwon", "10", "2024-02-01", "101"],
        ["", "", "", "", "", ""],
        [" ", "\t", "  ", "", "", ""],
        ["", ""],
        ["9002", "d", "closedwon", "20", "2024-02-02", "101"],
        ["", "", "", "", "", "", ""],
    ])
    summary = run_pipeline(input_dir, db_path)
    crm = summary["sources"][2]
    assert (crm["records"], crm["events"], crm["quarantined"]) == (3, 2, 1)
    assert query(db_path, "SELECT event_id, record_no FROM events ORDER BY 1") == [
        ("deal:9001:closedwon", 2), ("deal:9002:closedwon", 6)]
    assert [r[0] for r in query(db_path, "SELECT record_no FROM _jm_quarantine")] == [7]


def test_feedback_golden_and_invalid_scores(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_csv(input_dir / "crm" / "feedback.csv", FEEDBACK_HEADER, [
        ["1", "NPS", "10", "2024-03-05T10:00:00Z", "", "101"],
        ["2", "NPS", "0", "1709632800000", "Frank@Example.com", ""],
        ["3", "NPS", "11", "2024-03-05T10:00:00Z", "", "101"],
        ["4", "NPS", "-1", "2024-03-05T10:00:00Z", "", "101"],
        ["5", "NPS", "7.5", "2024-03-05T10:00:00Z", "", "101"],
        ["6", "CSAT", "4", "2024-03-05T10:00:00Z", "", "101"],
        ["7", "NPS", "", "2024-03-05T10:00:00Z", "", "101"],
    ])
    summary = run_pipeline(input_dir, db_path)
    assert query(
        db_path,
        "SELECT event_id, event_name, occurred_at, crm_contact_id, email_hash,"
        " properties->>'$.score' FROM events ORDER BY event_id",
    ) == [
        ("feedback:1", "nps_response", utc(2024, 3, 5, 10), "101", None, "10"),
        ("feedback:2", "nps_response", utc(2024, 3, 5, 10), None,
         KEY.hash_email("frank@example.com"), "0"),
        ("feedback:6", "csat_response", utc(2024, 3, 5, 10), "101", None, "4"),
    ]
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine ORDER BY 1") == [
        (4, "NPS score outside 0-10: 11"),
        (5, "NPS score outside 0-10: -1"),
        (6, "NPS score is not a whole number: 7.5"),
        (8, "missing NPS score"),
    ]
    assert summary["sources"][2]["quarantined"] == 4


def test_missing_required_column_fails_file(input_dir: Path, db_path: Path, run_pipeline) -> None:
    write_csv(input_dir / "crm" / "deals.csv", ["hs_object_id", "dealname"], [["1", "x"]])
    write_csv(input_dir / "crm" / "contacts.csv", ["hs_object_id", "email"], [])  # header only
    summary = run_pipeline(input_dir, db_path)
    assert summary["failed_files"] == [
        {"source": "crm", "file": "crm/deals.csv",
         "reason": "missing required column(s): dealstage, closedate; expected the internal"
                   " names hs_object_id, dealstage, closedate or the labels Record ID, Deal Stage,"
                   " Close Date"},
    ]
    assert summary["sources"][2]["records"] == 0


def test_a_header_of_one_column_names_its_separator(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """A spreadsheet's ';' export reads as one column: the failure says why."""
    (input_dir / "crm").mkdir(parents=True, exist_ok=True)
    (input_dir / "crm" / "deals.csv").write_text(
        "hs_object_id;dealname;dealstage;amount;closedate\n1;x;closedwon;5;2024-01-01\n")
    (input_dir / "crm" / "contacts.csv").write_text("hs_object_id\temail\n1\ta@b.io\n")
    reasons = {f["file"]: f["reason"] for f in run_pipeline(input_dir, db_path)["failed_files"]}
    assert reasons["crm/deals.csv"].endswith(
        "(the header reads as one column: separated by ';'? save it with commas)")
    assert reasons["crm/contacts.csv"].endswith(
        "(the header reads as one column: separated by tab? save it with commas)")


def test_utf16_and_unnamed_gzip_files_fail_with_their_reason(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """A "Unicode" (UTF-16) export fails as such, with or without its byte-order mark, gzipped
    too; read as UTF-8 it gave a header of one garbled column, or lines of NULs. A gzip file
    without the .gz suffix says so (it read as binary junk)."""
    import gzip

    text = "hs_object_id,email\n1,a@b.io\n"
    crm, web = input_dir / "crm", input_dir / "web"
    crm.mkdir(parents=True, exist_ok=True)
    web.mkdir(parents=True, exist_ok=True)
    (crm / "contacts-a.csv").write_bytes(text.encode("utf-16"))  # with its mark
    (crm / "contacts-b.csv").write_bytes(text.encode("utf-16-le"))  # without
    (crm / "contacts-c.csv.gz").write_bytes(gzip.compress(text.encode("utf-16-be")))
    (crm / "contacts-d.csv").write_text(text)  # UTF-8: loads
    (crm / "contacts-e.csv").write_bytes(gzip.compress(text.encode()))  # gzip without .gz
    line = '{"type":"page","messageId":"m1","timestamp":"2024-01-01T00:00:00Z","anonymousId":"a"}'
    (web / "a.jsonl").write_bytes((line + "\n").encode("utf-16-le"))
    (web / "b.jsonl").write_text(line + "\n")
    summary = run_pipeline(input_dir, db_path)
    reasons = {f["file"]: f["reason"] for f in summary["failed_files"]}
    assert reasons == {name: "UTF-16 text: save the file as UTF-8" for name in
                       ("crm/contacts-a.csv", "crm/contacts-b.csv", "crm/contacts-c.csv.gz",
                        "web/a.jsonl")} | {
        "crm/contacts-e.csv": "gzip data without the .gz suffix: name it contacts-e.csv.gz"}
    assert query(db_path, "SELECT count(*) FROM events") == [(1,)]


def test_a_row_with_more_fields_than_the_header_is_quarantined(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """An unquoted comma shifts the row's values into the next columns (here a customer date
    into the evangelist one, an empty evangelist date past the header): the row is quarantined,
    even past DuckDB's sniffing sample, even when the surplus field is empty. A short row reads
    as one with empty fields."""
    header = ("hs_object_id,email,createdate,lifecyclestage,company,"
              "hs_lifecyclestage_customer_date,hs_lifecyclestage_evangelist_date\n")
    rows = [f"{i},p{i}@example.com,2024-04-01,customer,Acme Inc,2024-04-01,\n"
            for i in range(1, 30_001)]
    rows[2] = "3,p3@example.com,2024-04-01,customer,Acme, Inc,2024-04-02,\n"  # shifted
    rows[3] = "4,p4@example.com,2024-04-01,customer,Solo,2024-04-03,2024-04-04,x\n"
    rows[4] = "5,p5@example.com,2024-04-01,customer,Short,2024-04-05\n"  # short
    rows[5] = '6,p6@example.com,2024-04-01,customer,"Beta, Ltd","2024-04-06",""\n'  # quoted
    rows.append("30001,q@example.com,2024-04-01,customer,Late, Ltd,2024-04-07,\n")  # shifted
    (input_dir / "crm").mkdir(parents=True, exist_ok=True)
    (input_dir / "crm" / "contacts.csv").write_text(header + "".join(rows))
    summary = run_pipeline(input_dir, db_path)
    assert summary["failed_files"] == []
    reason = "row has more fields than the header (7): a comma in an unquoted field?"
    assert query(db_path, "SELECT record_no, reason, raw::JSON->>'company' FROM _jm_quarantine"
                          " ORDER BY 1") == [(4, reason, "Acme"), (5, reason, "Solo"),
                                             (30_002, reason, "Late")]
    assert query(db_path, "SELECT event_id, occurred_at FROM events WHERE event_id IN"
                          " ('5:customer', '6:customer') OR event_id LIKE '%evangelist'"
                          " ORDER BY 1") == [("5:customer", utc(2024, 4, 5)),
                                             ("6:customer", utc(2024, 4, 6))]
    assert query(db_path, "SELECT count(*) FROM events") == [(29_998,)]


def test_a_quote_never_closed_quarantines_its_row_and_keeps_the_rows_before(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """A field's quote opened and never closed runs to the end of the file, as in every CSV
    reader (DuckDB's sniffer gave up on the file: every row was lost). The rows before it load;
    its row, holding the rest of the file, is quarantined with its line and a reason naming the
    quote; a quoted comma before it is no problem (the feedback file: the quote on its last row)."""
    (input_dir / "crm").mkdir(parents=True, exist_ok=True)
    (input_dir / "crm" / "deals.csv").write_text(
        "hs_object_id,dealname,dealstage,amount,closedate,associated_contact_id\n"
        '1,"Good, with a comma",closedwon,5,2024-03-01,101\n'
        "2,Good2,closedwon,5,2024-03-01,101\n"
        '3,"Oops,closedwon,5,2024-03-01,101\n'
        "4,Swallowed,closedwon,5,2024-03-02,101\n")
    (input_dir / "crm" / "feedback.csv").write_text(
        "hs_object_id,hs_survey_type,hs_response_value,hs_submission_timestamp,contact_email\n"
        "7,NPS,9,2024-03-01,a@example.com\n"
        '8,NPS,"10,2024-03-01,b@example.com\n')
    summary = run_pipeline(input_dir, db_path)
    assert summary["failed_files"] == []
    assert query(db_path, "SELECT event_id FROM events ORDER BY 1") == [
        ("deal:1:closedwon",), ("deal:2:closedwon",), ("feedback:7",)]
    reason = ("a quote opened in this row is never closed: the rest of the file reads as one"
              " field (rows after it included)")
    assert query(db_path, "SELECT file_path, record_no, reason, raw::JSON->>'hs_object_id'"
                          " FROM _jm_quarantine ORDER BY 1") == [
        ("crm/deals.csv", 4, reason, "3"), ("crm/feedback.csv", 3, reason, "8")]
    assert "b@example.com" not in str(query(db_path, "SELECT raw FROM _jm_quarantine"))


def test_a_stray_quote_inside_a_field_is_text(input_dir: Path, db_path: Path, run_pipeline) -> None:
    """An inch mark in an unquoted field (`27" monitor`) is read as text by every CSV reader: the
    file's quotes are odd, but its last row is whole, so nothing is quarantined (a review
    caught the first version of the open-quote check quarantining that last row)."""
    (input_dir / "crm").mkdir(parents=True, exist_ok=True)
    (input_dir / "crm" / "deals.csv").write_text(
        "hs_object_id,dealname,dealstage,amount,closedate,associated_contact_id\n"
        '1,27" monitor,closedwon,5,2024-03-01,101\n3,Last,closedwon,5,2024-03-02,101\n')
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT count(*) FROM _jm_quarantine") == [(0,)]
    assert query(db_path, "SELECT event_id, properties->>'dealname' FROM events ORDER BY 1") == [
        ("deal:1:closedwon", '27" monitor'), ("deal:3:closedwon", "Last")]


def test_a_header_ending_in_a_comma_names_no_property(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """Rows and header both end in a comma: the blank column is read, and kept nowhere."""
    (input_dir / "crm").mkdir(parents=True, exist_ok=True)
    (input_dir / "crm" / "deals.csv").write_text(
        "hs_object_id,dealname,dealstage,amount,closedate,associated_contact_id,\n"
        "1,a,closedwon,5,2024-01-01,11,\n2,b,closedwon,6,2024-01-02,12,x\n")
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, properties::VARCHAR FROM events ORDER BY 1") == [
        ("deal:1:closedwon", '{"dealname":"a","dealstage":"closedwon","amount":"5"}'),
        ("deal:2:closedwon", '{"dealname":"b","dealstage":"closedwon","amount":"6"}')]


def test_a_file_of_carriage_returns_reads(input_dir: Path, db_path: Path, run_pipeline) -> None:
    """Old Mac spreadsheets end lines with \\r alone: the header is its first such line (its
    fields are counted for the surplus test: a crash in a first version of it)."""
    (input_dir / "crm").mkdir(parents=True, exist_ok=True)
    (input_dir / "crm" / "deals.csv").write_bytes(
        b"hs_object_id,dealname,dealstage,amount,closedate,associated_contact_id\r"
        b"1,a,closedwon,5,2024-01-01,11\r2,b,closedwon,6,2024-01-02,12,x\r")
    summary = run_pipeline(input_dir, db_path)
    assert summary["failed_files"] == []
    assert query(db_path, "SELECT event_id FROM events") == [("deal:1:closedwon",)]
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine") == [
        (3, "row has more fields than the header (6): a comma in an unquoted field?")]


def test_a_lone_carriage_return_in_a_windows_file_is_text(
    input_dir: Path, db_path: Path, run_pipeline
) -> None:
    """A CR that ends no CRLF in a file whose first line ends in CRLF: DuckDB's reader ended the
    row there and dropped the next character, so deal 1025 loaded as deal 025, silently
    (decision 213). Read as Spark reads it: the CR is text, and a row that then holds more
    fields than the header is quarantined; a CR inside a quoted field is kept."""
    (input_dir / "crm").mkdir(parents=True, exist_ok=True)
    (input_dir / "crm" / "deals.csv").write_bytes(
        b"hs_object_id,dealname,dealstage,amount,closedate,associated_contact_id\r\n"
        b"1001,A,closedwon,100,2024-03-01,101\r1025,B,closedwon,200,2024-03-02,101\r\n"
        b'1003,"C\rstill C",closedwon,300,2024-03-03,101\r\n'
        b"1004,D,closedwon,400,2024-03-04,101\r")
    summary = run_pipeline(input_dir, db_path)
    assert summary["failed_files"] == []
    assert query(db_path, "SELECT event_id FROM events ORDER BY 1") == [
        ("deal:1003:closedwon",), ("deal:1004:closedwon",)]
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine") == [
        (2, "row has more fields than the header (6): a comma in an unquoted field?")]
    assert query(db_path, "SELECT properties->>'$.dealname' FROM events"
                          " WHERE event_id = 'deal:1003:closedwon'") == [("C\rstill C",)]


def test_naive_dates_use_source_time_zone(input_dir: Path, db_path: Path, run_pipeline,
                                         tmp_path: Path, monkeypatch) -> None:
    import shutil

    from journey_metrics import resources

    config = tmp_path / "config"
    shutil.copytree(resources.resource_dir("config"), config)
    crm_yaml = config / "sources" / "30-crm.yaml"
    crm_yaml.write_text(crm_yaml.read_text().replace("timezone: UTC", "timezone: Europe/Berlin"))
    monkeypatch.setattr(
        "journey_metrics.config.resource_dir", lambda name: config if name == "config" else None
    )
    write_csv(input_dir / "crm" / "contacts.csv", CONTACT_HEADER, [
        ["101", "c@example.com", "", "", "", "2024-07-01 12:00:00", "2024-07-01T12:00:00Z", ""],
    ])
    run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, occurred_at FROM events ORDER BY 1") == [
        ("101:lead", utc(2024, 7, 1, 12)),
        ("101:subscriber", utc(2024, 7, 1, 10)),  # 12:00 in Berlin (CEST) = 10:00 UTC
    ]


def test_validation_in_small_batches_gives_the_same_result(
    input_dir: Path, db_path: Path, run_pipeline, monkeypatch
) -> None:
    """Huge files are validated in slices of records; a record's rows stay together."""
    monkeypatch.setattr("journey_metrics.loader.VALIDATE_BATCH_ROWS", 2)
    write_csv(input_dir / "crm" / "contacts.csv", CONTACT_HEADER, [
        ["101", "a@example.com", "", "", "", "2024-01-01", "2024-01-02", "2024-01-03"],
        ["", "", "", "", "", "2024-01-01", "", ""],          # no identifier at all
        ["103", "c@example.com", "", "", "", "2024-01-01", "2024-01-02", ""],
        ["104", "", "", "", "", "", "", "2024-01-05"],
    ])
    write_csv(input_dir / "crm" / "feedback.csv", FEEDBACK_HEADER, [
        [str(i), "NPS", str(score), "2024-03-05T10:00:00Z", "", "101"]
        for i, score in enumerate([10, 11, 3, -2, 9], start=1)
    ])
    summary = run_pipeline(input_dir, db_path)
    quarantine = "SELECT file_path, record_no, reason FROM _jm_quarantine ORDER BY 1, 2"
    assert query(db_path, quarantine) == [
        ("crm/contacts.csv", 3, "missing hs_object_id (Record ID)"),  # names it (decision 234)
        ("crm/feedback.csv", 3, "NPS score outside 0-10: 11"),
        ("crm/feedback.csv", 5, "NPS score outside 0-10: -2"),
    ]
    assert summary["sources"][2]["events"] == 3 + 2 + 1 + 3


def test_quoted_line_breaks_are_read(input_dir: Path, db_path: Path, run_pipeline) -> None:
    """A quoted field holding a line break (a deal name or a survey comment typed on several
    lines) is one field of one record: DuckDB's parallel CSV reader refuses it with its
    null padding, so such a file is read again without parallelism, not failed."""
    write_csv(input_dir / "crm" / "deals.csv", DEAL_HEADER, [
        ["501", "\"Big\ndeal\"", "closedwon", "10", "2026-01-05 10:00", "101"],
        ["502", "Other", "closedwon", "20", "2026-01-05 11:00", "101"],
        ["503", "Bad", "closedwon", "20", "2026-01-05 11:00 PST", "101"],
    ])
    summary = run_pipeline(input_dir, db_path)
    assert query(db_path, "SELECT event_id, revenue FROM events ORDER BY 1") == [
        ("deal:501:closedwon", 10.0), ("deal:502:closedwon", 20.0)]
    # a CSV record's number is its row's (header = 1): the third data row, though its line is 5
    assert query(db_path, "SELECT record_no, reason FROM _jm_quarantine") == [
        (4, "unparseable closedate 2026-01-05 11:00 PST")]
    crm = summary["sources"][2]
    assert (crm["records"], crm["events"], crm["quarantined"]) == (3, 2, 1)
