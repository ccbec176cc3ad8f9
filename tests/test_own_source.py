"""A team's own source, kept outside the package (JOURNEY_METRICS_SOURCES): its YAML and its
staging model are read beside the shipped ones, the staging contract checks the model, and the
loader's privacy guards (staging.GUARDS) cover what the model forgot. An audit that added a
source by the README found the package's own folders the only place for one (an installed
package edited by hand, undone by the next upgrade)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEST_KEY, query, write_csv, write_jsonl
from journey_metrics.hashing import HashKey

SOURCE_YAML = """\
name: shop
title: Shop (POS exports)
folder: shop
timezone: Europe/Berlin
files:
  - pattern: "orders*.csv"
    reader: csv
    model: stg_shop_orders
    required_columns: [order_id, customer_email, ordered_at]
    columns: [order_id, customer_email, ordered_at, total, note]
events: [order_completed]
"""

# A model that forgets the privacy macros: the address itself where its hash belongs, the note
# (free text holding an address) kept as it is.
MODEL_SQL = """\
SELECT
    record_no,
    CASE WHEN jm_parse_instant(ordered_at, $tz) IS NULL
         THEN 'unparseable ordered_at of ' || customer_email END AS reject_reason,
    true AS is_event,
    'order:' || order_id AS event_id,
    'order_completed' AS event_name,
    jm_parse_instant(ordered_at, $tz) AS occurred_at,
    NULL::VARCHAR AS anonymous_id,
    NULL::VARCHAR AS user_id,
    customer_email AS email_hash,
    NULL::VARCHAR AS crm_contact_id,
    NULL::VARCHAR AS channel,
    NULL::VARCHAR AS campaign,
    TRY_CAST(total AS DOUBLE) AS revenue,
    json_object('note', note) AS properties,
    NULL::BIGINT AS nps_score,
    NULL::VARCHAR AS utm_medium,
    NULL::VARCHAR AS utm_source,
    NULL::VARCHAR AS referrer_host,
    NULL::VARCHAR AS page_host,
    NULL::VARCHAR AS referrer_class
FROM raw_records
"""


def run(*args: str, sources: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JOURNEY_METRICS_HASH_KEY": TEST_KEY,
           "JOURNEY_METRICS_SOURCES": str(sources)}
    return subprocess.run([sys.executable, "-m", "journey_metrics", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_source_kept_outside_the_package(tmp_path: Path) -> None:
    sources = tmp_path / "my-sources"
    sources.mkdir()
    (sources / "40-shop.yaml").write_text(SOURCE_YAML)
    (sources / "stg_shop_orders.sql").write_text(MODEL_SQL)
    # a team's files never shadow the package's: the shipped web model and the macros stay
    (sources / "stg_web.sql").write_text("SELECT 1 AS broken")
    (sources / "macros.sql").write_text("CREATE OR REPLACE TEMP MACRO jm_redact(t) AS (t);")
    write_csv(tmp_path / "in" / "shop" / "orders.csv",
              ["order_id", "customer_email", "ordered_at", "total", "note"],
              [["1", " Ann@Example.com ", "2024-03-01 10:00", "20", "gift for bob@example.org"],
               ["2", "ann@example.com", "yesterday", "5", ""]])
    write_jsonl(tmp_path / "in" / "web" / "a.jsonl", [
        {"type": "identify", "messageId": "w1", "timestamp": "2024-03-01T08:00:00Z",
         "anonymousId": "a1", "traits": {"email": "ann@example.com"}}])
    db = tmp_path / "w.duckdb"
    done = run("run", "--input", str(tmp_path / "in"), "--db", str(db), "--format", "json",
               sources=sources)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    shop = next(s for s in summary["sources"] if s["source"] == "shop")
    assert (shop["records"], shop["events"], shop["quarantined"]) == (2, 1, 1)
    assert summary["persons"] == 1  # the shop's customer is the web visitor
    ann = HashKey(TEST_KEY.encode(), "test").hash_email("ann@example.com")
    assert query(db, "SELECT occurred_at, email_hash, properties::VARCHAR FROM events"
                     " WHERE source = 'shop'") == [
        (query(db, "SELECT TIMESTAMPTZ '2024-03-01 09:00:00+00'")[0][0], ann,
         '{"note":"gift for <redacted-email>"}')]
    assert query(db, "SELECT reason FROM _jm_quarantine") == [
        ("unparseable ordered_at of <redacted-email>",)]
    assert "example" not in repr(query(db, "SELECT * FROM _jm_quarantine"))
    # a folder that is not there is bad configuration, said before anything is read
    again = run("run", "--input", str(tmp_path / "in"), "--db", str(tmp_path / "x.duckdb"),
                "--format", "json", sources=tmp_path / "none")
    assert (again.returncode, again.stderr.strip()) == (
        2, f"error: JOURNEY_METRICS_SOURCES: {tmp_path / 'none'} is not a folder")
    assert not (tmp_path / "x.duckdb").exists()


def test_a_broken_model_of_an_own_source_is_named_where_it_is(tmp_path: Path) -> None:
    sources = tmp_path / "my-sources"
    sources.mkdir()
    (sources / "40-shop.yaml").write_text(SOURCE_YAML)
    (sources / "stg_shop_orders.sql").write_text(MODEL_SQL.replace(
        "NULL::VARCHAR AS referrer_class\n", "NULL::VARCHAR AS referrer_klass\n"))
    (tmp_path / "in").mkdir()
    done = run("run", "--input", str(tmp_path / "in"), "--db", str(tmp_path / "w.duckdb"),
               sources=sources)
    assert done.returncode == 2
    assert done.stderr.strip().startswith(
        f"error: shop: staging model stg_shop_orders ({sources / 'stg_shop_orders.sql'}):"
        " column referrer_class (VARCHAR) is missing")


def test_a_source_named_twice_names_both_files(tmp_path: Path) -> None:
    sources = tmp_path / "my-sources"
    sources.mkdir()
    (sources / "40-web.yaml").write_text(SOURCE_YAML.replace("name: shop", "name: web"))
    (sources / "stg_shop_orders.sql").write_text(MODEL_SQL)
    (tmp_path / "in").mkdir()
    done = run("run", "--input", str(tmp_path / "in"), "--db", str(tmp_path / "w.duckdb"),
               sources=sources)
    assert done.returncode == 2
    assert done.stderr.startswith("error: source 'web' is defined twice: in ")
    assert str(sources / "40-web.yaml") in done.stderr
    assert "10-web.yaml" in done.stderr


def test_an_own_model_keeps_only_the_traits_its_yaml_names(tmp_path: Path) -> None:
    """CONTRACT §6: only the traits a source's configuration names are kept; a source's own
    model that emits others (a phone number) has them dropped by the loader's guard."""
    sources = tmp_path / "my-sources"
    sources.mkdir()
    (sources / "40-shop.yaml").write_text(SOURCE_YAML + "traits: [plan]\n")
    (sources / "stg_shop_orders.sql").write_text(MODEL_SQL.replace(
        "NULL::VARCHAR AS referrer_class\n",
        "NULL::VARCHAR AS referrer_class,\n"
        "    [{'trait': 'plan', 'value': 'pro for ' || customer_email},"
        " {'trait': 'phone', 'value': '+1 555 0100'}]"
        "::STRUCT(trait VARCHAR, \"value\" VARCHAR)[] AS traits,\n"
        "    jm_parse_instant(ordered_at, $tz) AS traits_at\n"))
    write_csv(tmp_path / "in" / "shop" / "orders.csv",
              ["order_id", "customer_email", "ordered_at", "total", "note"],
              [["1", "ann@example.com", "2024-03-01 10:00", "20", ""]])
    db = tmp_path / "w.duckdb"
    done = run("run", "--input", str(tmp_path / "in"), "--db", str(db), sources=sources)
    assert done.returncode == 0, done.stderr
    assert query(db, "SELECT trait, value FROM _jm_traits") == [
        ("plan", "pro for <redacted-email>")]


def test_an_own_sources_folder_is_a_source_folder(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An input folder must hold some source's folder (decision 231): a team's own counts, and
    the refusal names it among the folders looked for."""
    from journey_metrics.config import load_sources
    from journey_metrics.errors import UsageError
    from journey_metrics.loader import discover

    sources = tmp_path / "my-sources"
    sources.mkdir()
    (sources / "40-shop.yaml").write_text(SOURCE_YAML)
    (sources / "stg_shop_orders.sql").write_text(MODEL_SQL)
    monkeypatch.setenv("JOURNEY_METRICS_SOURCES", str(sources))
    (tmp_path / "in" / "shop").mkdir(parents=True)
    assert discover(tmp_path / "in", load_sources())["shop"] == []
    (tmp_path / "in" / "shop").rmdir()
    with pytest.raises(UsageError, match=re.escape(
            f"no web/, email/, crm/ or shop/ folder in {tmp_path / 'in'}")):
        discover(tmp_path / "in", load_sources())
