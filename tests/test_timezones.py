"""Timestamps become exact UTC instants whatever the process time zone (CONTRACT §1, §4).

The tests run the pipeline with the process zone set to something other than UTC, so a
naive timestamp that silently took the machine's zone would show up as a shifted instant.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from conftest import query, write_csv, write_json_array, write_jsonl


@contextmanager
def process_tz(zone: str) -> Iterator[None]:
    """Set the process time zone (TZ + tzset) and restore it afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TZ", zone)
        time.tzset()
        try:
            yield
        finally:
            mp.undo()
            time.tzset()


@pytest.fixture
def tokyo() -> Iterator[None]:
    with process_tz("Asia/Tokyo"):
        # The process really is in Tokyo now, and so is a DuckDB connection left to its default.
        assert time.timezone == -9 * 3600
        assert _duckdb_default_zone() == "Asia/Tokyo"
        yield


def _duckdb_default_zone() -> str:
    con = duckdb.connect()
    try:
        row = con.execute("SELECT current_setting('TimeZone')").fetchone()
        assert row is not None
        return str(row[0])
    finally:
        con.close()


def _utc_text(db: Path) -> dict[str, str]:
    """event_id -> occurred_at as ISO text in UTC, formatted by DuckDB (no Python tz handling)."""
    rows = query(
        db,
        "SELECT event_id, strftime(timezone('UTC', occurred_at), '%Y-%m-%dT%H:%M:%S.%fZ')"
        " FROM events",
    )
    return {str(event_id): str(text) for event_id, text in rows}


def _epoch_us(db: Path) -> dict[str, int]:
    rows = query(db, "SELECT event_id, epoch_us(occurred_at) FROM events")
    return {str(event_id): int(us) for event_id, us in rows}


def _us(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


# --------------------------------------------------------------------------------------------
# web


WEB_CASES = {
    # event id: (timestamp as written, expected UTC instant)
    "w-z": ("2024-03-10T12:00:00Z", datetime(2024, 3, 10, 12, tzinfo=UTC)),
    "w-plus2": ("2024-03-10T14:00:00+02:00", datetime(2024, 3, 10, 12, tzinfo=UTC)),
    "w-minus5": ("2024-03-10T07:00:00-05:00", datetime(2024, 3, 10, 12, tzinfo=UTC)),
    "w-millis-z": ("2024-03-10T12:00:00.250Z", datetime(2024, 3, 10, 12, 0, 0, 250000, tzinfo=UTC)),
    "w-day-back": ("2024-07-01T23:30:00-07:00", datetime(2024, 7, 2, 6, 30, tzinfo=UTC)),
    "w-day-fwd": ("2024-07-02T01:15:00+09:00", datetime(2024, 7, 1, 16, 15, tzinfo=UTC)),
    "w-plus0530": ("2024-01-31T05:30:00+05:30", datetime(2024, 1, 31, 0, 0, tzinfo=UTC)),
    "w-naive": ("2024-03-10T12:00:00", datetime(2024, 3, 10, 12, tzinfo=UTC)),
}


def test_web_timestamps_are_exact_utc_instants(
    tokyo: None, input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    cases = WEB_CASES
    write_jsonl(
        input_dir / "web" / "a.jsonl",
        [
            {"type": "track", "event": "Clicked", "messageId": event_id, "anonymousId": "a1",
             "timestamp": text}
            for event_id, (text, _) in cases.items()
        ],
    )
    summary = run_pipeline(input_dir, db_path)
    assert summary["sources"][0]["events"] == len(cases)
    assert _epoch_us(db_path) == {k: _us(v) for k, (_, v) in cases.items()}
    texts = _utc_text(db_path)
    assert texts["w-z"] == texts["w-plus2"] == texts["w-minus5"] == "2024-03-10T12:00:00.000000Z"
    assert texts["w-day-back"] == "2024-07-02T06:30:00.000000Z"
    # Same instant in three offsets: equal values, also as Python datetimes (read in UTC).
    rows = query(
        db_path,
        "SELECT DISTINCT occurred_at FROM events WHERE event_id IN ('w-z', 'w-plus2', 'w-minus5')",
    )
    assert rows == [(datetime(2024, 3, 10, 12, tzinfo=UTC),)]




@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2024-03-10T12:00:00+0530", datetime(2024, 3, 10, 6, 30, tzinfo=UTC),
                     id="basic-offset"),
        pytest.param("2024-03-10T12:00:00+05", datetime(2024, 3, 10, 7, tzinfo=UTC),
                     id="hour-offset"),
        pytest.param("2024-03-10T12:00Z", datetime(2024, 3, 10, 12, tzinfo=UTC), id="no-seconds"),
        pytest.param("2024-03-10T12:00:00z", datetime(2024, 3, 10, 12, tzinfo=UTC),
                     id="lower-z"),
        pytest.param("2024-03-10t12:00:00Z", datetime(2024, 3, 10, 12, tzinfo=UTC),
                     id="lower-t"),
        pytest.param("2024-03-10T12:00:00,5Z", datetime(2024, 3, 10, 12, 0, 0, 500000, tzinfo=UTC),
                     id="comma-fraction"),
    ],
)
def test_other_iso_8601_spellings(
    tokyo: None, input_dir: Path, db_path: Path, run_pipeline: Any, text: str, expected: datetime
) -> None:
    write_jsonl(
        input_dir / "web" / "a.jsonl",
        [{"type": "page", "messageId": "w", "anonymousId": "a1", "timestamp": text}],
    )
    run_pipeline(input_dir, db_path)
    assert _epoch_us(db_path) == {"w": _us(expected)}


def test_words_duckdb_would_read_as_instants_are_quarantined(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    """DuckDB casts 'infinity' and 'epoch' to instants; as timestamps of an export they are
    unparseable, as on Spark (decision 98)."""
    words = ["infinity", "-infinity", "epoch", " Infinity "]
    write_jsonl(
        input_dir / "web" / "a.jsonl",
        [{"type": "page", "messageId": f"w{i}", "anonymousId": "a1", "timestamp": word}
         for i, word in enumerate(words)]
        + [{"type": "page", "messageId": "ok", "anonymousId": "a1",
            "timestamp": "2024-03-10T12:00:00Z"}],
    )
    run_pipeline(input_dir, db_path)
    assert set(_epoch_us(db_path)) == {"ok"}
    reasons = query(db_path, "SELECT reason FROM _jm_quarantine ORDER BY record_no")
    assert [r[0] for r in reasons] == [f"unparseable timestamp {w}" for w in words]


# --------------------------------------------------------------------------------------------
# CRM and SendGrid

CONTACT_HEADER = [
    "hs_object_id", "email", "createdate",
    "hs_lifecyclestage_subscriber_date", "hs_lifecyclestage_lead_date",
    "hs_lifecyclestage_marketingqualifiedlead_date", "hs_lifecyclestage_salesqualifiedlead_date",
    "hs_lifecyclestage_opportunity_date", "hs_lifecyclestage_customer_date",
    "hs_lifecyclestage_evangelist_date",
]
CONTACT_DATES = [
    "2024-03-10T14:00:00+02:00",  # subscriber: ISO with offset
    "2024-03-10T12:00:00",  # lead: naive ISO -> the source's zone (UTC by default)
    "2024-03-11",  # marketingqualifiedlead: date only -> midnight in the source's zone
    "1710072000000",  # salesqualifiedlead: Unix epoch milliseconds
    "2024-03-12T08:00:00.500Z",  # opportunity: Z with fraction
    "2024-01-15 09:15:00",  # customer: naive with a space
    "2024-07-01",  # evangelist: summer date only
]
DEAL_HEADER = ["hs_object_id", "dealname", "dealstage", "amount", "closedate",
               "associated_contact_id"]
FEEDBACK_HEADER = ["hs_object_id", "hs_survey_type", "hs_response_value",
                   "hs_submission_timestamp", "contact_email", "associated_contact_id"]


def _write_crm_and_email(input_dir: Path) -> None:
    write_csv(input_dir / "crm" / "contacts.csv", CONTACT_HEADER,
              [["c1", "c1@example.com", "2024-01-01", *CONTACT_DATES]])
    write_csv(input_dir / "crm" / "deals.csv", DEAL_HEADER,
              [["d1", "Deal", "closedwon", "100", "1710158400000", "c1"],
               ["d2", "Deal", "closedlost", "", "2024-03-11T18:00:00-06:00", "c1"]])
    write_csv(input_dir / "crm" / "feedback.csv", FEEDBACK_HEADER,
              [["f1", "NPS", "9", "2024-03-10T09:00:00-03:00", "", "c1"],
               ["f2", "NPS", "3", "2024-03-10T12:00:00", "", "c1"]])
    write_json_array(
        input_dir / "email" / "sg.json",
        [
            {"email": "c1@example.com", "timestamp": 1710072000, "event": "delivered",
             "sg_event_id": "sg-int"},
            {"email": "c1@example.com", "timestamp": "1710072061", "event": "open",
             "sg_event_id": "sg-text"},
            {"email": "c1@example.com", "timestamp": 0, "event": "open", "sg_event_id": "sg-zero"},
        ],
    )


def test_crm_and_sendgrid_timestamps_default_utc(
    tokyo: None, input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    _write_crm_and_email(input_dir)
    summary = run_pipeline(input_dir, db_path)
    assert [s["quarantined"] for s in summary["sources"]] == [0, 0, 0]
    assert _utc_text(db_path) == {
        "c1:subscriber": "2024-03-10T12:00:00.000000Z",
        "c1:lead": "2024-03-10T12:00:00.000000Z",
        "c1:marketingqualifiedlead": "2024-03-11T00:00:00.000000Z",
        "c1:salesqualifiedlead": "2024-03-10T12:00:00.000000Z",
        "c1:opportunity": "2024-03-12T08:00:00.500000Z",
        "c1:customer": "2024-01-15T09:15:00.000000Z",
        "c1:evangelist": "2024-07-01T00:00:00.000000Z",
        "deal:d1:closedwon": "2024-03-11T12:00:00.000000Z",
        "deal:d2:closedlost": "2024-03-12T00:00:00.000000Z",
        "feedback:f1": "2024-03-10T12:00:00.000000Z",
        "feedback:f2": "2024-03-10T12:00:00.000000Z",
        "sg-int": "2024-03-10T12:00:00.000000Z",
        "sg-text": "2024-03-10T12:01:01.000000Z",
        "sg-zero": "1970-01-01T00:00:00.000000Z",
    }


def test_naive_crm_dates_use_the_source_time_zone(
    tokyo: None, input_dir: Path, db_path: Path, run_pipeline: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the CRM source configured for America/New_York, only offset-less dates move."""
    from journey_metrics import pipeline
    from journey_metrics.config import load_sources

    def sources_in_new_york(folder: Path | None = None) -> list[Any]:
        return [
            s.model_copy(update={"timezone": "America/New_York"}) if s.name == "crm" else s
            for s in load_sources(folder)
        ]

    monkeypatch.setattr(pipeline, "load_sources", sources_in_new_york)
    _write_crm_and_email(input_dir)
    run_pipeline(input_dir, db_path)
    assert _utc_text(db_path) == {
        "c1:subscriber": "2024-03-10T12:00:00.000000Z",  # offset given: unchanged
        "c1:lead": "2024-03-10T16:00:00.000000Z",  # 12:00 EDT (DST began 2024-03-10 02:00)
        "c1:marketingqualifiedlead": "2024-03-11T04:00:00.000000Z",  # midnight EDT
        "c1:salesqualifiedlead": "2024-03-10T12:00:00.000000Z",  # epoch: unchanged
        "c1:opportunity": "2024-03-12T08:00:00.500000Z",
        "c1:customer": "2024-01-15T14:15:00.000000Z",  # 09:15 EST
        "c1:evangelist": "2024-07-01T04:00:00.000000Z",  # midnight EDT
        "deal:d1:closedwon": "2024-03-11T12:00:00.000000Z",
        "deal:d2:closedlost": "2024-03-12T00:00:00.000000Z",
        "feedback:f1": "2024-03-10T12:00:00.000000Z",
        "feedback:f2": "2024-03-10T16:00:00.000000Z",  # naive: New York
        "sg-int": "2024-03-10T12:00:00.000000Z",  # SendGrid Unix seconds: never shifted
        "sg-text": "2024-03-10T12:01:01.000000Z",
        "sg-zero": "1970-01-01T00:00:00.000000Z",
    }


def test_macro_parse_instant_ignores_process_zone(tokyo: None) -> None:
    from journey_metrics.db import connect

    con = connect(":memory:")
    try:
        rows = con.execute(
            "SELECT epoch_ms(jm_parse_instant(t, z)) FROM (VALUES"
            " ('2024-03-10T12:00:00', 'UTC'), ('2024-03-10T12:00:00', 'Europe/Berlin'),"
            " ('2024-03-10', 'Asia/Kolkata'), ('1710072000000', 'Europe/Berlin'),"
            " ('2024-03-10T12:00:00+01:00', 'America/Los_Angeles'), ('', 'UTC'), (NULL, 'UTC'))"
            " AS v(t, z)"
        ).fetchall()
    finally:
        con.close()
    base = 1710072000000  # 2024-03-10T12:00:00Z
    assert rows == [
        (base,),
        (base - 3600_000,),
        (base - 12 * 3600_000 - 5 * 3600_000 - 1800_000,),  # 2024-03-09T18:30Z
        (base,),
        (base - 3600_000,),
        (None,),
        (None,),
    ]


@pytest.mark.parametrize(("local", "zone", "utc"), [
    # the hour New York sets its clocks back (2024-11-03 02:00 EDT -> 01:00 EST) happens twice:
    # the earlier instant, as Python's zoneinfo (fold=0) and Spark (Java) read it
    ("2024-11-03 01:30:00", "America/New_York", "2024-11-03T05:30:00+00:00"),
    ("2024-11-03 01:00:00", "America/New_York", "2024-11-03T05:00:00+00:00"),
    ("2024-11-03 00:59:59", "America/New_York", "2024-11-03T04:59:59+00:00"),
    ("2024-11-03 02:00:00", "America/New_York", "2024-11-03T07:00:00+00:00"),
    ("2024-10-27 02:30:00", "Europe/Berlin", "2024-10-27T00:30:00+00:00"),
    ("2024-04-07 01:45:00", "Australia/Lord_Howe", "2024-04-06T14:45:00+00:00"),  # 30 minutes
    # the hour it skips (02:00 EST -> 03:00 EDT): the offset before the change
    ("2024-03-10 02:30:00", "America/New_York", "2024-03-10T07:30:00+00:00"),
    ("2024-03-10 03:00:00", "America/New_York", "2024-03-10T07:00:00+00:00"),
])
def test_a_local_time_around_a_clock_change(local: str, zone: str, utc: str, tokyo: None) -> None:
    from journey_metrics.db import connect

    con = connect(":memory:")
    try:
        found = con.execute("SELECT jm_parse_instant($t, $z)", {"t": local, "z": zone}).fetchone()
    finally:
        con.close()
    assert found is not None
    assert found[0] == datetime.fromisoformat(utc)
    # the reference: Python's reading of the same wall clock (fold=0)
    assert datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) == found[0]


# --------------------------------------------------------------------------------------------
# Exports do not depend on the process zone


def _build_and_export(base: Path, source: Path) -> tuple[bytes, bytes]:
    from journey_metrics import pipeline
    from journey_metrics.export import export

    result_db = base / "w.duckdb"
    pipeline.run(source, result_db)
    result = export(result_db, base / "out")
    assert (result.events, result.persons) == (25, 1)
    return result.events_path.read_bytes(), result.persons_path.read_bytes()


def test_exports_are_byte_identical_across_process_zones(tmp_path: Path) -> None:
    source = tmp_path / "input"
    write_jsonl(
        source / "web" / "a.jsonl",
        [
            {"type": "page", "messageId": "p1", "anonymousId": "a1",
             "timestamp": "2024-03-10T23:30:00-05:00",
             "context": {"page": {"url": "https://s.example/", "referrer": "https://t.co/x"}}},
            {"type": "identify", "messageId": "i1", "anonymousId": "a1", "userId": "u1",
             "timestamp": "2024-03-11T05:00:00+01:00", "traits": {"email": "c1@example.com"}},
            {"type": "track", "messageId": "t1", "userId": "u1", "event": "Order Completed",
             "timestamp": "2024-03-11T04:31:00", "properties": {"revenue": 12.5}},
        ],
    )
    _write_crm_and_email(source)
    write_jsonl(
        source / "web" / "b.jsonl",
        [{"type": "page", "messageId": f"b{i}", "anonymousId": "a1",
          "timestamp": f"2024-0{1 + i % 9}-1{i % 10}T0{i % 10}:00:00+0{i % 10}:00"}
         for i in range(8)],
    )
    outputs = []
    for zone in ("UTC", "America/Los_Angeles", "Asia/Tokyo"):
        with process_tz(zone):
            assert _duckdb_default_zone() in {zone, "Etc/" + zone}
            outputs.append(_build_and_export(tmp_path / zone.replace("/", "_"), source))
    assert outputs[0] == outputs[1] == outputs[2]
