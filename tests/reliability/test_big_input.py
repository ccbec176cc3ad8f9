"""Big input in bounded memory (issue 7, property 7).

A ~2 GiB web JSONL file of realistic Segment page and track messages (unique messageIds, the
usual context: campaign, page, userAgent, library, ip) is written by DuckDB (no Python loop over
lines), then loaded by `journey-metrics run` with `JOURNEY_METRICS_MEMORY_LIMIT=1GB` under
`/usr/bin/time`: the run succeeds, every line becomes an event, and the process's peak resident
set stays under 2 GiB.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from conftest import TEST_KEY

pytestmark = pytest.mark.slow

JM = str(Path(sys.executable).with_name("journey-metrics"))
TIME = "/usr/bin/time"
TARGET_BYTES = 2 * 1024**3
MAX_RSS_KB = 2 * 1024 * 1024
TIMEOUT = 3600

# One Segment message per row i: three page views, then a track call carrying a userId (which
# stitches two anonymous ids into one user), spread over 30 days.
MESSAGE_SQL = r"""
WITH base AS (
    SELECT
        i,
        'anon-' || lpad((i % 400000)::VARCHAR, 7, '0') AS anon,
        'user-' || lpad((i % 200000)::VARCHAR, 7, '0') AS usr,
        (i * 7919) % 5000 AS product,
        strftime(TIMESTAMP '2026-01-01' + to_seconds((i * 37) % 2592000), '%Y-%m-%dT%H:%M:%S')
            AS ts,
        ['google', 'newsletter', 'facebook', 'partner'][(i % 4) + 1] AS utm_source,
        ['cpc', 'email', 'social', 'referral'][(i % 4) + 1] AS utm_medium,
        ['https://www.google.com/search?q=shoes', 'https://www.bing.com/', '',
         'https://blog.example.org/review'][((i // 4) % 4) + 1] AS referrer
    FROM range(?) AS t(i)
)
SELECT CASE WHEN i % 4 = 3 THEN printf(
    '{"type":"track","messageId":"msg-%012d","timestamp":"%s.%03dZ","anonymousId":"%s",'
    '"userId":"%s","event":"%s","properties":{"product_id":"sku-%05d","price":%d.99,'
    '"currency":"EUR","category":"shoes"},"context":{"campaign":{"source":"%s","medium":"%s",'
    '"name":"winter-sale"},"page":{"url":"https://shop.example.com/p/sku-%05d",'
    '"path":"/p/sku-%05d","referrer":"%s"},"ip":"203.0.113.%d","locale":"de-DE",'
    '"library":{"name":"analytics.js","version":"4.1.0"},"userAgent":"Mozilla/5.0 (X11; Linux'
    ' x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"},'
    '"sentAt":"%s.%03dZ"}',
    i, ts, i % 1000, anon, usr, ['Product Viewed', 'Product Added', 'Signed Up'][(i % 3) + 1],
    product, 10 + product % 90, utm_source, utm_medium, product, product, referrer, i % 256,
    ts, i % 1000)
ELSE printf(
    '{"type":"page","messageId":"msg-%012d","timestamp":"%s.%03dZ","anonymousId":"%s",'
    '"name":"Product","properties":{"url":"https://shop.example.com/p/sku-%05d",'
    '"path":"/p/sku-%05d","referrer":"%s","title":"Sneaker sku-%05d | Example Shop"},'
    '"context":{"campaign":{"source":"%s","medium":"%s","name":"winter-sale"},'
    '"page":{"url":"https://shop.example.com/p/sku-%05d","path":"/p/sku-%05d","referrer":"%s"},'
    '"ip":"203.0.113.%d","locale":"de-DE","library":{"name":"analytics.js","version":"4.1.0"},'
    '"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)'
    ' Chrome/120.0.0.0 Safari/537.36"},"sentAt":"%s.%03dZ"}',
    i, ts, i % 1000, anon, product, product, referrer, product, utm_source, utm_medium,
    product, product, referrer, i % 256, ts, i % 1000)
END AS line
FROM base
"""


def write_big_jsonl(path: Path, target_bytes: int) -> int:
    """Write about `target_bytes` of messages to `path`; return the number of lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        sample = con.execute(
            f"SELECT avg(strlen(line) + 1) FROM ({MESSAGE_SQL})", [10_000]
        ).fetchone()
        assert sample is not None
        lines = int(target_bytes / float(sample[0])) + 1
        con.execute(
            f"COPY ({MESSAGE_SQL}) TO '{path}'"
            " (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x1f')",
            [lines],
        )
    finally:
        con.close()
    return lines


@pytest.mark.skipif(not Path(TIME).exists(), reason=f"{TIME} (GNU time) is not installed")
def test_two_gigabyte_jsonl_loads_under_two_gigabytes_rss(tmp_path: Path) -> None:
    input_dir = tmp_path / "input"
    big = input_dir / "web" / "events-big.jsonl"
    db = tmp_path / "big.duckdb"
    try:
        start = time.monotonic()
        lines = write_big_jsonl(big, TARGET_BYTES)
        size = big.stat().st_size
        print(f"\nwrote {size / 1024**3:.2f} GiB, {lines} lines in {time.monotonic() - start:.1f}s")
        with big.open("rb") as handle:  # spot-check: valid messages, unique ids
            first = [json.loads(next(handle)) for _ in range(8)]
        assert len({m["messageId"] for m in first}) == 8
        assert {m["type"] for m in first} == {"page", "track"}

        env = {
            **os.environ,
            "JOURNEY_METRICS_HASH_KEY": TEST_KEY,
            "JOURNEY_METRICS_MEMORY_LIMIT": "1GB",
        }
        start = time.monotonic()
        done = subprocess.run(
            [TIME, "-f", "maxrss_kb=%M", JM, "run", "--input", str(input_dir), "--db", str(db),
             "--format", "json"],
            capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False,
        )
        seconds = time.monotonic() - start
        rss_lines = [ln for ln in done.stderr.splitlines() if ln.startswith("maxrss_kb=")]
        assert rss_lines, done.stderr
        max_rss_kb = int(rss_lines[-1].removeprefix("maxrss_kb="))
        print(f"run: {seconds:.1f}s, max RSS {max_rss_kb / 1024:.0f} MiB, exit {done.returncode}")
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        web = next(s for s in summary["sources"] if s["source"] == "web")
        assert summary["failed_files"] == [], summary["failed_files"]
        assert (web["records"], web["events"], web["quarantined"]) == (lines, lines, 0), web
        assert summary["events_total"] == lines
        assert max_rss_kb < MAX_RSS_KB, f"peak RSS {max_rss_kb} KB >= {MAX_RSS_KB} KB"
    finally:
        big.unlink(missing_ok=True)
        for leftover in (db, db.with_name(db.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(db.with_name(db.name + ".tmp"), ignore_errors=True)
