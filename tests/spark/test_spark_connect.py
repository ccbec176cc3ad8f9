"""CONTRACT §12 through Spark Connect: `--spark-remote sc://localhost:PORT` gives the DuckDB rows.

A Spark Connect server (pyspark's own `SparkConnectServer`, started with `spark-submit` from the
pip package, `local[2]`, UTC) runs beside the tests for this module; the commands run in this
process as the Connect client (only gRPC here, the work in the server's JVM). A few metrics, each
with a different kind of mart (funnel windows, retention periods, NPS, revenue, attribution),
against `--db` on the same sample: the full list runs on a classic session in
test_spark_metrics.py.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine_cases import as_json, invocations, invoke
from engine_compare import NEEDS_SPARK, first_difference, free_port, listening

CONNECT_CLIENT = ("grpc", "grpc_status", "google.rpc", "zstandard", "pandas", "pyarrow")


def _absent_client() -> list[str]:
    found = []
    for module in CONNECT_CLIENT:
        try:
            present = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a dotted name whose parent is missing
            present = False
        if not present:
            found.append(f"{module} is not installed (pip install -e '.[spark]')")
    return found


_absent = _absent_client()
pytestmark = [
    pytest.mark.spark, pytest.mark.slow, NEEDS_SPARK,
    pytest.mark.skipif(bool(_absent), reason="Spark Connect client: " + "; ".join(_absent)),
]

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
CASES = ("funnel_rules_json", "retention_week_json", "nps_by_channel_week", "revenue_json",
         "attribution_example_2")
START_SECONDS = 120


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server on a free port, stopped (its process group) after the module."""
    from pyspark.find_spark_home import _find_spark_home

    home = _find_spark_home()
    port = free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    env = {**os.environ, "SPARK_HOME": home, "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    env.pop("SPARK_REMOTE", None)
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(Path(home) / "bin" / "spark-submit"),
             "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--name", "journey-metrics-test-connect", "--master", "local[2]",
             "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", "spark.ui.enabled=false",
             "--conf", "spark.sql.shuffle.partitions=8",
             "--conf", "spark.sql.session.timeZone=UTC",
             "--conf", "spark.driver.extraJavaOptions=-Duser.timezone=UTC"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"the Spark Connect server did not start (exit {server.poll()}):\n"
                            f"{tail}")
            time.sleep(0.5)
        yield f"sc://localhost:{port}"
    finally:
        # the client first: at exit it would release its session, retrying a stopped server
        # for minutes
        from pyspark.sql.connect.session import SparkSession as ConnectSession

        client = ConnectSession.getActiveSession() or ConnectSession._get_default_session()
        if client is not None:
            client.stop()
        os.killpg(server.pid, 15)  # the server's own group (start_new_session)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


@pytest.fixture(scope="module")
def exported(sample_export: tuple[Path, Path]) -> tuple[Path, Path]:
    return sample_export


@pytest.mark.parametrize("name", CASES)
def test_connect_gives_the_duckdb_rows(connect_url: str, exported: tuple[Path, Path],
                                       name: str) -> None:
    db, lake = exported
    args = as_json(invocations()[name])
    on_connect = invoke([*args, "--engine", "spark", "--events", str(lake),
                         "--spark-remote", connect_url])
    on_duckdb = invoke([*args, "--db", str(db)])
    assert first_difference(on_connect, on_duckdb) is None


def test_a_commands_own_process_releases_its_session(connect_url: str,
                                                    exported: tuple[Path, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The `journey-metrics` process of a metric command ends its Connect session on the server
    when it is done (one call, where dropping each view was one call each), with DuckDB's rows;
    twice, so the second finds the server well after the first's release. A connection opened
    by a program using the package keeps its session: the program may go on using it."""
    import journey_metrics
    from journey_metrics.engines import open_engine

    db, lake = exported
    args = as_json(invocations()["nps_by_channel_week"])
    expected = invoke([*args, "--db", str(db)])
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "journey_metrics", *args, "--engine", "spark", "--events",
             str(lake), "--spark-remote", connect_url],
            capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        assert first_difference(done.stdout, expected) is None
    kept = open_engine("spark", db, events=str(lake), spark_remote=connect_url)
    kept.close()
    assert not kept.session.is_stopped
    monkeypatch.setattr(journey_metrics, "command_line_process", True)
    released = open_engine("spark", db, events=str(lake), spark_remote=connect_url)
    released.close()
    assert released.session.is_stopped


def test_connect_leaves_classic_sessions_possible(connect_url: str) -> None:
    """pyspark's `SparkSession.builder.remote()` marks the process Connect-only (an environment
    variable), after which `--spark-master` could not start a classic session in it."""
    from journey_metrics.engines.spark import spark_session

    session = spark_session(remote=connect_url)
    assert type(session).__module__.startswith("pyspark.sql.connect")
    assert session.sql("SELECT current_timezone() AS tz").collect()[0][0] == "UTC"
    assert "SPARK_CONNECT_MODE_ENABLED" not in os.environ
    assert "SPARK_REMOTE" not in os.environ


def test_unreachable_connect_fails_fast() -> None:
    """A wrong port is a one-line error at once (the client itself retries for 10 minutes)."""
    from journey_metrics.engines.spark import spark_session
    from journey_metrics.errors import RunError, UsageError

    started = time.monotonic()
    with pytest.raises(RunError, match="cannot reach Spark Connect at localhost"):
        spark_session(remote=f"sc://localhost:{free_port()}")
    assert time.monotonic() - started < 15
    with pytest.raises(UsageError, match="not a Spark Connect URL"):
        spark_session(remote="localhost:15002")


def test_connect_cuts_lineage_into_the_run_folder(connect_url: str, tmp_path: Path) -> None:
    """engines.spark.cut_lineage inside `checkpoints()` (what `run --engine spark` does) writes
    Parquet through the server into the folder, reads it back, and the folder goes at the end."""
    import shutil

    from journey_metrics.engines.spark import (
        CHECKPOINT_CONF,
        checkpoints,
        copy_location,
        cut_lineage,
        spark_session,
    )

    session = spark_session(remote=connect_url)
    folder = tmp_path / "checkpoints"
    query = ("SELECT id, CAST(id AS STRING) AS s, TIMESTAMP'2026-01-01 00:00:00' + make_interval("
             "0, 0, 0, 0, 0, 0, id) AS t FROM range(3)")
    with checkpoints(session, str(folder), lambda: shutil.rmtree(folder, ignore_errors=True)):
        cut = cut_lineage(session.sql(query), "numbers")
        assert list(folder.glob("*-numbers/*.parquet"))
        # the copy's folder, which `run` moves into the lake instead of writing the rows again
        location = copy_location(cut)
        assert location is not None
        assert location.endswith("-numbers")
        assert copy_location(session.sql(query)) is None
        assert copy_location(cut.select("id")) is None  # another frame: not the copy
        assert sorted(cut.collect()) == sorted(session.sql(query).collect())
        assert [(f.name, f.dataType) for f in cut.schema.fields] == [
            (f.name, f.dataType) for f in session.sql(query).schema.fields]
    assert not folder.exists()
    assert session.conf.get(CHECKPOINT_CONF, None) is None
    assert copy_location(cut) is None  # forgotten when the block ends


def test_ingest_through_connect_writes_the_duckdb_lake(
        connect_url: str, exported: tuple[Path, Path], tmp_path: Path) -> None:
    """`run --engine spark --spark-remote` (a folder lake): the events DuckDB's export holds.
    The staging used pyspark's classic column functions, which assert a local SparkContext:
    every Connect ingest failed (decision 223)."""
    import json

    import duckdb

    _db, lake = exported
    spark_lake = tmp_path / "lake"
    summary = json.loads(invoke(["run", "--engine", "spark", "--input", str(SAMPLE), "--lake",
                                 str(spark_lake), "--spark-remote", connect_url,
                                 "--format", "json"]))
    con = duckdb.connect()
    try:
        def events(where: Path) -> list[tuple[object, ...]]:
            path = where / "events.parquet"
            files = str(path / "*.parquet") if path.is_dir() else str(path)
            return sorted(con.sql(f"SELECT event_id, source, event_name, occurred_at, person_id,"
                                  f" channel, revenue FROM read_parquet('{files}')").fetchall(),
                          key=repr)

        assert summary["events_total"] == len(events(lake)) > 30_000
        assert events(spark_lake) == events(lake)
    finally:
        con.close()
