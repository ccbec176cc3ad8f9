"""Staging on Spark (issue 16, "Ingest on Spark"): `engines.spark_staging.stage_files` gives the
rows the DuckDB loader stages for the same files: the same accepted rows (batch_accepted) and the
same quarantine rows (file, record number, reason, redacted raw record, raw hash).

The DuckDB side is the real loader: `load_source` on a fresh warehouse, with the step that
commits the batch replaced by one that copies the batch tables out. Properties are compared as
parsed JSON (Spark re-serialises JSON: key order and spacing may differ); timestamps as instants.
One Spark session (local[2]) serves the module.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from engine_compare import NEEDS_SPARK
from journey_metrics import loader
from journey_metrics.config import SourceConfig, load_sources
from journey_metrics.hashing import EMAIL_BLANKS, HashKey, spark_hmac_sql
from journey_metrics.loader import InputFile, discover, load_source
from journey_metrics.sources.readers import NOT_UTF8_FILE, NOT_UTF8_LINE
from journey_metrics.warehouse import open_warehouse

pytestmark = [pytest.mark.spark, pytest.mark.slow, NEEDS_SPARK]

MASTER = "local[2]"
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
KEY = HashKey(b"spark-staging-test-key-0123456789", "test")


@pytest.fixture(scope="module")
def session() -> Any:
    from journey_metrics.engines.spark import spark_session

    return spark_session(MASTER)


# --- the DuckDB reference -----------------------------------------------------------------------

Staged = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, str]]


def duckdb_staged(tmp: Path, source: SourceConfig, files: list[InputFile]) -> Staged:
    """(accepted rows, quarantine rows, failed files) of DuckDB's loader for `files`."""
    captured: dict[str, Any] = {}

    def capture(con: Any, source: SourceConfig, run_id: str, results: Any) -> None:
        accepted = con.sql("SELECT * FROM batch_accepted")
        captured["accepted"] = [dict(zip(accepted.columns, row, strict=True))
                                for row in accepted.fetchall()]
        captured["rejected"] = con.execute(
            "SELECT file_path, record_no, reason, jm_redact(raw), raw_hash FROM batch_rejected"
        ).fetchall()

    con = open_warehouse(tmp / f"{source.name}.duckdb", KEY)
    try:
        with mock.patch.object(loader, "_commit_batch", capture):
            summary = load_source(con, source, files, "test-run")
    finally:
        con.close()
    failed = {r.file_path: r.reason or "" for r in summary.file_results if r.status == "failed"}
    return ([_normal(row) for row in captured.get("accepted", [])],
            sorted(captured.get("rejected", [])), failed)


def spark_staged(session: Any, source: SourceConfig, files: list[InputFile]) -> Staged:
    from journey_metrics.engines.spark_staging import SparkInputFile, stage_files

    inputs = [SparkInputFile(str(f.path), f.relative, order, f.kind)
              for order, f in enumerate(files) if f.kind is not None]
    failures: dict[str, str] = {}
    accepted, rejected = stage_files(session, source, inputs, KEY, failures)
    rows = [_normal(row.asDict(recursive=True)) for row in accepted.collect()]
    return rows, sorted(tuple(r) for r in rejected.collect()), failures


def _normal(row: dict[str, Any]) -> tuple[Any, ...]:
    """A staged row in one comparable form: instants in UTC, properties parsed, traits as
    (trait, value) pairs in order."""
    out = []
    for name in sorted(row):
        value = row[name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC)  # Spark: naive local time; DuckDB: aware
        elif name == "properties" and value is not None:
            value = json.dumps(json.loads(value), sort_keys=True)
        elif name == "traits" and value is not None:
            value = tuple((t["trait"], t["value"]) for t in value)
        out.append((name, value))
    return tuple(out)


def _quarantine(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Quarantine rows (file, record, reason, raw) with the raw record parsed when it is JSON:
    Spark re-serialises the elements of a JSON array (DuckDB keeps their text)."""
    out = []
    for file_path, record_no, reason, raw, _hash in rows:
        try:
            parsed = json.dumps(json.loads(raw), sort_keys=True)
        except (TypeError, ValueError):
            parsed = raw
        out.append((file_path, record_no, reason, parsed))
    return out


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


def assert_same(tmp: Path, session: Any, source: SourceConfig, files: list[InputFile]) -> Staged:
    expected = duckdb_staged(tmp, source, files)
    actual = spark_staged(session, source, files)
    assert _quarantine(actual[1]) == _quarantine(expected[1])
    for got, want in zip(actual[1], expected[1], strict=True):
        if got[3] == want[3]:  # the same raw text: the same hash
            assert got[4] == want[4]
    want, got = Counter(expected[0]), Counter(actual[0])
    missing, extra = _sorted(list(want - got)), _sorted(list(got - want))
    assert (missing[:3], extra[:3]) == ([], [])
    assert len(actual[0]) == len(expected[0])
    assert sorted(actual[2]) == sorted(expected[2])  # the same files fail as a whole
    return expected


def _source(name: str) -> SourceConfig:
    return next(s for s in load_sources() if s.name == name)


# --- the key: HMAC in Spark SQL -----------------------------------------------------------------

@pytest.mark.parametrize("secret", [b"spark-staging-test-key-0123456789",
                                    b"k" * 64, ("\u00e9t\u00e9-" * 40).encode()])
def test_spark_hmac_equals_python_hmac(session: Any, secret: bytes) -> None:
    """Short, block-sized and longer-than-a-block (pre-hashed) keys; unicode, padding, case."""
    key = HashKey(secret, "test")
    emails = ["Ana@Example.com", "  \tana@example.com\r\n", "\u00fcml\u00e4ut@b\u00fccher.de",
              # Java's lower (and Python's) make İ two letters and a final Σ ς; DuckDB's not
              "\u0130nci@example.com", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u0391\u03a3@x.gr",
              "\u7528\u6237@\u4f8b\u5b50.\u4e2d\u56fd", "", "   ", None,
              "\u00a0ana@example.com\u200b\u3000", "\ufeff\u00a0"]
    frame = session.createDataFrame([(e,) for e in emails], "email STRING")
    frame.createOrReplaceTempView("jm_test_emails")
    rows = session.sql(f"SELECT email, {spark_hmac_sql(key, 'email')} AS h"
                       " FROM jm_test_emails").collect()
    for row in rows:
        if row.email is None or not row.email.strip(EMAIL_BLANKS):
            assert row.h is None
        else:
            assert row.h == key.hash_email(row.email)
            normal = row.email.strip(EMAIL_BLANKS).lower().encode()
            if not {"\u0130", "\u03a3"} & set(row.email):  # (Python's special casing)
                assert row.h == hmac.new(secret, normal, hashlib.sha256).hexdigest()


def test_email_hash_lower_cases_as_duckdb(session: Any, tmp_path: Path) -> None:
    """The same address is the same person on both engines: DuckDB's jm_email_hash, Spark's
    and HashKey.hash_email agree on addresses whose letters Java and Python lower-case with
    Unicode's special casing (İ, a final Σ; found by a parity audit)."""
    emails = ["\u0130nci@example.com", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u0391\u03a3@x.gr",
              "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03b1\u03c2@x.gr", "I\u0131@x.tr"]
    con = open_warehouse(tmp_path / "h.duckdb", KEY)
    try:
        duck = [con.execute("SELECT jm_email_hash(?)", [e]).fetchall()[0][0] for e in emails]
    finally:
        con.close()
    frame = session.createDataFrame([(e,) for e in emails], "email STRING")
    frame.createOrReplaceTempView("jm_test_emails")
    spark = [r.h for r in session.sql(f"SELECT {spark_hmac_sql(KEY, 'email')} AS h"
                                      " FROM jm_test_emails").collect()]
    assert spark == duck == [KEY.hash_email(e) for e in emails]


def test_channel_rule_regexes_match_as_on_duckdb(session: Any, tmp_path: Path) -> None:
    """Java's (?iu) matched `istanbul` in İSTANBUL and in \u0131stanbul, RE2's case folding does not
    (a parity audit): Spark's rules give DuckDB's channels."""
    from journey_metrics.channels import install, parse_rules, spark_function
    from journey_metrics.engines.spark_staging import install_functions

    rules = parse_rules([{"channel": "Turkish", "campaign": "istanbul"},
                         {"channel": "Accents", "campaign": "\u00e9cole"},
                         {"channel": "Letters", "campaign": "^\\p{L}+$"}], "test")
    values = ["\u0130STANBUL Days", "\u0131stanbul nights", "Istanbul", "ISTANBUL", "\u0131", "I",
              "\u0130stanbul", "\u00c9COLE", "ecole", None]
    con = open_warehouse(tmp_path / "c.duckdb", KEY)
    try:
        install(con, rules)
        duck = [con.execute("SELECT jm_rules_channel(NULL, NULL, ?, NULL)", [v]).fetchall()[0][0]
                for v in values]
    finally:
        con.close()
    install_functions(session, KEY)
    session.sql(spark_function(rules, "jm_test_channel"))
    frame = session.createDataFrame([(v,) for v in values], "v STRING")
    frame.createOrReplaceTempView("jm_test_campaigns")
    spark = [r.c for r in session.sql("SELECT jm_test_channel(CAST(NULL AS STRING),"
                                      " CAST(NULL AS STRING), v, CAST(NULL AS STRING)) AS c"
                                      " FROM jm_test_campaigns").collect()]
    assert spark == duck
    assert duck == ["direct", "direct", "Turkish", "Turkish", "Letters", "Letters", "Letters",
                    "Accents", "Letters", "direct"]


# --- data/sample/ and hand-written bad records, staged together (one Spark plan per source) ----

CASES = Path(__file__).resolve().parent / "staging_cases"


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cases folder, with some files gzipped (Spark and DuckDB read .gz alike)."""
    root = tmp_path_factory.mktemp("staging_cases")
    shutil.copytree(CASES, root, dirs_exist_ok=True)
    for plain in (root / "web" / "b-more.jsonl", root / "crm" / "contacts-b-labels.csv"):
        with gzip.open(plain.with_name(plain.name + ".gz"), "wb") as out:
            out.write(plain.read_bytes())
        plain.unlink()
    # a truncated gzip: that file fails alone (Spark stages the others again without it)
    whole = gzip.compress("\n".join(str(i) for i in range(20000)).encode())
    (root / "web" / "d-truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    return root


@pytest.mark.parametrize("name", ["web", "email", "crm"])
def test_both_engines_stage_the_same_rows(
    tmp_path: Path, session: Any, cases: Path, name: str
) -> None:
    """data/sample/ and the cases (invalid JSON, non-objects, unknown types, bad timestamps,
    missing ids, survey ranges, label headers, BOM, blank lines, CRLF, gzip, a line that is not
    UTF-8, a file that fails as a whole...) in one batch: the same accepted rows, quarantine
    rows and failed files."""
    source = _source(name)
    sources = load_sources()
    sample = discover(SAMPLE, sources)[name]
    bad = [InputFile(f.path, f"cases-{f.relative}", f.kind, f.problem)
           for f in discover(cases, sources)[name]]
    accepted, rejected, failed = assert_same(tmp_path, session, source, [*sample, *bad])
    assert any(row[0].startswith("cases-") for row in rejected)
    assert len(accepted) > 1000
    assert failed  # a truncated gzip, a broken JSON array, a CSV file without a required column
    if name == "email":  # bytes that are no UTF-8 (decision 209): the element or line alone
        bad = sorted((row[0], row[1], row[2]) for row in rejected
                     if "1252" in row[0] and row[2] == NOT_UTF8_LINE)
        assert bad == [("cases-email/k-array-1252.json", 1, NOT_UTF8_LINE),
                       ("cases-email/l-lines-1252.json", 1, NOT_UTF8_LINE),
                       ("cases-email/n-lines-broken-1252.json", 1, NOT_UTF8_LINE),
                       ("cases-email/o-pretty-1252.json", 1, NOT_UTF8_LINE),
                       ("cases-email/p-escaped-1252.json", 1, NOT_UTF8_LINE),
                       ("cases-email/p-escaped-1252.json", 4, NOT_UTF8_LINE),
                       ("cases-email/q-address-1252.json", 1, NOT_UTF8_LINE),
                       ("cases-email/q-address-1252.json", 3, NOT_UTF8_LINE),
                       ("cases-email/r-broken-first-1252.json", 3, NOT_UTF8_LINE),
                       ("cases-email/s-lines-address-1252.json", 2, NOT_UTF8_LINE)]
        assert failed["cases-email/m-mostly-1252.json"] == NOT_UTF8_FILE
        # an address holding the byte is redacted whole
        assert not any("corp.example" in str(row[3]) for row in rejected)
    if name == "web":  # a Latin-1 line: its line number, its text as Latin-1, its email redacted
        latin = [row for row in rejected if row[0].endswith("e-latin1.jsonl")]
        assert [(row[1], row[2]) for row in latin] == [(2, NOT_UTF8_LINE)]
        assert "Renée" in latin[0][3]
        assert "example.com" not in latin[0][3]
        # most lines not UTF-8: binary or wholly in another encoding, the file fails whole
        assert failed["cases-web/f-mostly-latin1.jsonl"] == NOT_UTF8_FILE
        # an address URL-encoded twice or three times is redacted on both engines
        # ids holding an address differ by case, an id that is an address does not (decision
        # 195): four events, three users, on both engines
        ids = [dict(row) for row in accepted if "https://x.io/" in str(dict(row)["properties"])]
        assert (len({r["event_id"] for r in ids}), len({r["user_id"] for r in ids})) == (4, 3)
        # disguised addresses (full-width @ and dots, %2E, Latin-1 letters, zero-width spaces
        # inside) on both engines
        disguised = [str(dict(row)["properties"]) for row in accepted
                     if str(dict(row)["event_id"]).startswith("dz")]
        assert len(disguised) == 7
        assert all("corp" not in p and "\uff45\uff58" not in p for p in disguised)
        # a quarantined line as Python's json writes it: its full-width @ JSON-escaped
        escaped = [row for row in rejected if row[0].endswith("k-disguised.jsonl")]
        assert len(escaped) == 1
        assert "<redacted-email>" in escaped[0][3]
        assert "corp" not in escaped[0][3]
        # NaN and Infinity as Python's json writes them (decision 212): the line is read, the
        # values are null, on both engines (Spark's reader refused the line, DuckDB's kept NaN)
        nan = {str(dict(row)["event_id"]): json.loads(str(dict(row)["properties"]))
               for row in accepted if str(dict(row)["event_id"]) in ("nanA", "nanB", "nanC")}
        assert sorted(nan) == ["nanA", "nanB", "nanC"]
        assert nan["nanA"]["revenue"] is None
        assert nan["nanA"]["NaN"] == 1
        assert nan["nanA"]["note"] == 'NaN "quoted" Infinity \\'
        assert nan["nanB"]["list"] == [None, None, 1]
        # an invite code holding an address is keyed-hashed, not redacted (decision 214)
        codes = {str(dict(row)["event_id"]): json.loads(str(dict(row)["properties"]))
                 for row in accepted if str(dict(row)["event_id"]).startswith("inv")}
        assert len({c["invite_code"] for c in codes.values()}) == 6  # (two keys redact alike)
        assert codes["inv5"]["invite_code"].startswith("h:")  # sent at the top level
        assert codes["inv3"]["invite_code"] == "PLAIN-CODE-7"
        assert all(c["note"] == "from <redacted-email>" for c in codes.values())
        twice = [dict(row) for row in accepted if ("event_id", "h2540") in row]
        assert len(twice) == 1
        assert "<redacted-email>" in str(twice[0]["properties"])
        assert "wes" not in str(twice)
        assert "xu%25" not in str(twice)


def test_the_privacy_guards_of_a_sources_own_model_agree(
    tmp_path: Path, session: Any, cases: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loader's privacy guards (staging.GUARDS, decision 222) run on the rows of a model that
    is not shipped: with the shipped web model taken for one, both engines give the same rows
    (the guards are written once per engine), and the guards change nothing it did right."""
    from journey_metrics import staging

    source = _source("web")
    sources = load_sources()
    files = [*discover(SAMPLE, sources)["web"],
             *(InputFile(f.path, f"cases-{f.relative}", f.kind, f.problem)
               for f in discover(cases, sources)["web"])]
    (tmp_path / "plain").mkdir()
    plain = duckdb_staged(tmp_path / "plain", source, files)
    monkeypatch.setattr(staging, "SHIPPED_MODELS", frozenset())
    guarded = assert_same(tmp_path, session, source, files)
    assert Counter(guarded[0]) == Counter(plain[0])


@pytest.mark.parametrize(("zone", "rows", "expected"), [
    # New York: a wall-clock time of the hour the clock is set back happens twice and is the
    # earlier instant on both engines (decision 140); one of the skipped hour is read with the
    # offset before the change
    ("America/New_York",
     ["1,a@example.com,2024-11-03 01:30:00,customer,2024-11-03 01:00,2024-03-10 02:30"],
     ["2024-03-10T07:30:00+00:00", "2024-11-03T05:00:00+00:00"]),
    # Vancouver keeps UTC-7 from November 2026 in DuckDB's zone database and not in Java 17's:
    # Spark read the same wall-clock times an hour apart from DuckDB (decision 240); around
    # the last clock change (2026-03-08) both rules agree
    ("America/Vancouver",
     ["1,a@example.com,2026-11-20 10:00:00,customer,2026-11-20 10:00,2026-03-08 02:30",
      "2,b@example.com,2026-12-24 23:30:00,lead,2027-07-01 00:00,"],
     ["2026-03-08T10:30:00+00:00", "2026-11-20T17:00:00+00:00",
      "2027-07-01T07:00:00+00:00"]),
])
def test_a_sources_local_times_are_read_alike(
    tmp_path: Path, session: Any, zone: str, rows: list[str], expected: list[str]
) -> None:
    """A CRM source in `zone`: its dates without an offset give the same instants on both
    engines."""
    source = _source("crm").model_copy(update={"timezone": zone})
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "contacts.csv").write_text(
        "hs_object_id,email,createdate,lifecyclestage,hs_lifecyclestage_lead_date,"
        "hs_lifecyclestage_customer_date\n" + "".join(row + "\n" for row in rows))
    files = discover(tmp_path, load_sources())["crm"]
    accepted, _, _ = assert_same(tmp_path, session, source, files)
    instants = sorted(value.isoformat() for row in accepted for name, value in row
                      if name == "occurred_at" and value is not None)
    assert instants == expected
