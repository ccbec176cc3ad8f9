"""One real Prefect flow run of the nightly load (temporary Prefect server, ~10-20 s)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import query, write_jsonl
from journey_metrics import pipeline

# Run by `make test-slow`: it keeps the two CI suites, run side by side, about equal.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    """A temporary Prefect server that stops inside the test session (not at interpreter exit,
    when pytest has already closed the streams Prefect logs to)."""
    from prefect.testing.utilities import prefect_test_harness

    # Prefect waits 30 s for its server by default; on a slow or busy machine (CI runs both
    # suites side by side) starting it took longer, and the test errored before it began
    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_nightly_flow_loads_like_the_cli(input_dir: Path, tmp_path: Path) -> None:
    from pipelines.nightly import nightly

    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "page", "messageId": "m1", "timestamp": "2024-03-01T10:00:00Z",
         "anonymousId": "a1"},
        {"type": "identify", "messageId": "m2", "timestamp": "2024-03-01T10:01:00Z",
         "anonymousId": "a1", "userId": "u1", "traits": {"email": "a@example.com"}},
        "broken",
    ])
    write_jsonl(input_dir / "email" / "a.jsonl", [
        {"email": "A@example.com", "timestamp": 1709290000, "event": "open", "sg_event_id": "e1"},
    ])
    (input_dir / "web" / "z.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00not gzip")
    flow_db, cli_db = tmp_path / "flow.duckdb", tmp_path / "cli.duckdb"
    result = nightly(str(input_dir), str(flow_db), str(tmp_path / "report"))
    expected = pipeline.run(input_dir, cli_db).as_dict()
    assert result["sources"] == expected["sources"]
    assert (result["events_total"], result["persons"]) == (3, 1)
    same = "SELECT event_id, person_key FROM events ORDER BY event_id"
    assert query(flow_db, same) == query(cli_db, same)
    assert query(flow_db, "SELECT count(*) FROM _jm_runs") == [(1,)]
    # the next night skips the unchanged broken file and says so again (decision 188)
    again = nightly(str(input_dir), str(flow_db))
    assert [path for path, _ in again["unreadable_unchanged"]] == ["web/z.jsonl.gz"]
    assert result["unreadable_unchanged"] == []


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_nightly_flow_takes_channel_rules_like_run(input_dir: Path, tmp_path: Path) -> None:
    from pipelines.nightly import nightly

    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "page", "messageId": "m1", "timestamp": "2024-03-01T10:00:00Z",
         "anonymousId": "a1", "properties": {"url": "https://shop.example.com/"}},
        {"type": "page", "messageId": "m2", "timestamp": "2024-03-01T10:00:00Z",
         "anonymousId": "a2", "context": {"campaign": {"source": "facebook"}}},
    ])
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {channel: Facebook Ads, source: face}\n"
                     "- {channel: Typed, referrer: none}\n", encoding="utf-8")
    flow_db, cli_db = tmp_path / "flow.duckdb", tmp_path / "cli.duckdb"
    nightly(str(input_dir), str(flow_db), None, str(rules))
    pipeline.run(input_dir, cli_db, channels=rules)
    channels = "SELECT person_id, channel FROM persons ORDER BY 1"
    assert query(flow_db, channels) == query(cli_db, channels)
    assert sorted(c for _, c in query(flow_db, channels)) == ["Facebook Ads", "Typed"]

