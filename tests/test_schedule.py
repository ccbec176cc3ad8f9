"""The nightly flow on a real schedule: a `prefect server start` on a free loopback port,
`journey-metrics serve` with a 5-second interval, until one scheduled run has completed."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import httpx
import pytest

from journey_metrics_synth import generate

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check, timeout: float, what: str, log: Path | None = None):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    lines = [] if log is None else log.read_text(errors="replace").splitlines()[-40:]
    message = "\n".join([f"timed out after {timeout} s waiting for {what}", *lines])
    raise AssertionError(message)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.prefect
@pytest.mark.slow
def test_served_flow_runs_on_schedule(tmp_path: Path) -> None:
    inputs, report, db = tmp_path / "input", tmp_path / "report", tmp_path / "w.duckdb"
    generate(inputs, 150, seed=5, days=14)
    rules = tmp_path / "rules.yaml"  # every person typed in the address: one channel
    rules.write_text("- {channel: Everyone}\n", encoding="utf-8")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "JOURNEY_METRICS_HASH_KEY": "schedule-test-key-0123456789",
    }
    server_log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
        stdout=server_log, stderr=subprocess.STDOUT,
    )
    serve = None
    try:
        wait_for(lambda: _healthy(api), 120, "the Prefect server to be healthy")
        serve_log = (tmp_path / "serve.log").open("wb")
        serve = subprocess.Popen(
            [str(BIN / "journey-metrics"), "serve", "--input", str(inputs), "--db", str(db),
             "--report", str(report), "--interval", "5", "--name", "test-nightly",
             "--channels", str(rules)],
            env=env, stdout=serve_log, stderr=subprocess.STDOUT,
        )
        # generous: on a slow machine running both suites side by side, a run took minutes
        runs = wait_for(lambda: _completed_runs(api), 480, "a completed scheduled flow run",
                        log=tmp_path / "serve.log")
        assert runs[0]["name"]
        assert (report / "index.html").stat().st_size > 100_000
        # stop serving first: every 5 s another run starts, and with the other suite beside it
        # the server once took over 60 s to answer (CI); its artifacts outlive the runs
        stop(serve, signal.SIGINT)
        serve = None
        # one run at a time: a run due while another holds the warehouse is cancelled
        spans = sorted(
            (datetime.fromisoformat(r["start_time"]), datetime.fromisoformat(r["end_time"]))
            for r in _completed_runs(api)
        )
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans)), spans
        # the served runs took the rules file (serve --channels, handed to the flow)
        channels = wait_for(lambda: _person_channels(db), 120, "the warehouse to be free")
        assert channels == [("Everyone",)]
        nightly = wait_for(lambda: _nightly_artifacts(api), 240, "the nightly run's artifact")
        assert "persons" in nightly[0]["data"]
        assert str(report / "index.html") in nightly[0]["data"]
    finally:
        if serve is not None:
            stop(serve, signal.SIGINT)
        stop(server)
        server_log.close()
    assert server.returncode is not None


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _nightly_artifacts(api: str) -> list[dict[str, object]]:
    body = {"artifacts": {"key": {"any_": ["journey-metrics-nightly"]}}}
    try:
        response = httpx.post(f"{api}/artifacts/filter", json=body, timeout=30)
    except httpx.TimeoutException:
        return []  # the server is busy: ask again
    response.raise_for_status()
    artifacts: list[dict[str, object]] = response.json()
    return artifacts


def _completed_runs(api: str) -> list[dict[str, object]]:
    body = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    try:
        response = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=30)
    except httpx.TimeoutException:
        return []  # the server is busy (the flow run shares the machine): ask again
    response.raise_for_status()
    runs: list[dict[str, object]] = response.json()
    return runs


def _person_channels(db: Path) -> list[tuple[str]]:
    try:
        with duckdb.connect(str(db), read_only=True) as con:
            rows: list[tuple[str]] = con.execute(
                "SELECT DISTINCT channel FROM persons").fetchall()
            return rows
    except duckdb.IOException:
        return []  # a run still holds the warehouse: ask again



def test_a_bad_cron_schedule_is_refused_in_one_line(tmp_path: Path) -> None:
    """`serve --cron` with no cron schedule: exit 2 with one line, before any Prefect server
    starts (it was a pydantic traceback after an ephemeral server came up, decision 215)."""
    inputs = tmp_path / "input"
    inputs.mkdir()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "serve", "--input", str(inputs), "--report",
         str(tmp_path / "report"), "--db", str(tmp_path / "w.duckdb"), "--cron", "bad cron"],
        capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --cron 'bad cron' is not a cron schedule"), done.stderr
    assert "Traceback" not in done.stderr
