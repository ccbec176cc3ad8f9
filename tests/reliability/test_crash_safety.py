"""Crash safety (issue 7, property 1): `kill -9` of `run` at any moment.

A clean run of a generated input is the reference: the funnel, retention, referral and NPS JSON
outputs, the Parquet export and the file manifest. Then `run` is started over and over on a fresh
warehouse and killed with SIGKILL at chosen moments: at fractions of the measured clean run time
(while importing, while reading, between sources), while the first source's batch is being
written to the WAL, during the closing checkpoint (the database file starts to grow), twice in a
row (a partially loaded warehouse killed again), and during an incremental run over a warehouse
that already holds data. After every kill the warehouse must open read-only and its manifest must
claim no event that is missing; `run` is then repeated until it exits 0 and every output must
equal the reference exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest
from cli_driver import run_commands
from polars.testing import assert_frame_equal

from conftest import TEST_KEY
from journey_metrics.metrics.registry import example_commands

pytestmark = pytest.mark.slow

JM = str(Path(sys.executable).with_name("journey-metrics"))
TIMEOUT = 180
HEADER_BYTES = 12288  # a new DuckDB file: main header + two database headers

OUTPUT_COMMANDS: dict[str, list[str]] = {
    "funnel": ["funnel", "--framework", "aarrr", "--by", "channel", "--format", "json"],
    "retention": ["retention", "--framework", "aarrr", "--start", "activation",
                  "--format", "json"],
    "referral": ["referral", "--format", "json"],
    "nps": ["nps", "--format", "json"],
    # every registered metric's examples: a new metric joins this suite by itself
    **{name: [*args, "--format", "json"] for name, args in example_commands().items()},
}

MANIFEST_SQL = """
SELECT source, file_path, status, records, events, duplicates, quarantined
FROM _jm_files ORDER BY source, file_path, loaded_at
"""

# Files the manifest marks as loaded whose events are not all there, and events whose file the
# manifest does not know: either means the manifest and the data were not written together.
MANIFEST_MISMATCH_SQL = """
WITH claimed AS (
    SELECT source, file_path, sum(events) AS claimed
    FROM _jm_files WHERE status = 'loaded' GROUP BY source, file_path
),
present AS (
    SELECT source, file_path, count(*) AS present FROM events GROUP BY source, file_path
)
SELECT source, file_path, coalesce(c.claimed, 0) AS claimed, coalesce(p.present, 0) AS present
FROM claimed AS c FULL JOIN present AS p USING (source, file_path)
WHERE coalesce(c.claimed, 0) <> coalesce(p.present, 0)
ORDER BY ALL
"""

QUARANTINE_MISMATCH_SQL = """
WITH claimed AS (
    SELECT source, file_path, sum(quarantined) AS claimed
    FROM _jm_files WHERE status = 'loaded' GROUP BY source, file_path
),
present AS (
    SELECT source, file_path, count(*) AS present FROM _jm_quarantine GROUP BY source, file_path
)
SELECT source, file_path, coalesce(c.claimed, 0), coalesce(p.present, 0)
FROM claimed AS c FULL JOIN present AS p USING (source, file_path)
WHERE coalesce(c.claimed, 0) <> coalesce(p.present, 0)
ORDER BY ALL
"""


@dataclass
class Outputs:
    texts: dict[str, str]
    events: pl.DataFrame
    persons: pl.DataFrame
    manifest: list[tuple[object, ...]]
    quarantine: list[tuple[object, ...]]


@dataclass
class Reference:
    input_dir: Path
    env: dict[str, str]
    seconds: float  # wall time of a clean `run` on a new warehouse
    outputs: Outputs


@dataclass
class Kill:
    killed: bool
    elapsed: float
    db_size: int | None
    wal_size: int | None
    returncode: int | None

    def describe(self) -> str:
        what = "killed" if self.killed else f"exited {self.returncode} before the kill"
        return (f"{what} at {self.elapsed:.3f}s (db {self.db_size} bytes,"
                f" wal {self.wal_size} bytes)")


Trigger = Callable[[float, int | None, int | None], bool]  # (elapsed, db size, wal size)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _wal(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


def _jm(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [JM, *args], capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False
    )


def _run_cmd(input_dir: Path, db: Path) -> list[str]:
    return ["run", "--input", str(input_dir), "--db", str(db), "--format", "json"]


def run_ok(input_dir: Path, db: Path, env: dict[str, str]) -> dict[str, object]:
    done = _jm(_run_cmd(input_dir, db), env)
    assert done.returncode == 0, done.stderr
    summary: dict[str, object] = json.loads(done.stdout)
    return summary


def run_and_kill(
    input_dir: Path, db: Path, env: dict[str, str], fire: Trigger, poll: float = 0.0005
) -> Kill:
    """Start `run` and SIGKILL it as soon as `fire` says so (polled every `poll` seconds)."""
    log = db.with_name(db.name + ".stderr")
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [JM, *_run_cmd(input_dir, db)], stdout=subprocess.DEVNULL, stderr=stderr, env=env
        )
    start = time.monotonic()
    wal = _wal(db)
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - start
            db_size, wal_size = _size(db), _size(wal)
            if fire(elapsed, db_size, wal_size):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=TIMEOUT)
                return Kill(True, elapsed, db_size, wal_size, proc.returncode)
            if elapsed > TIMEOUT:
                raise AssertionError("run did not finish")
            if poll:
                time.sleep(poll)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    outcome = Kill(False, time.monotonic() - start, _size(db), _size(wal), proc.returncode)
    assert proc.returncode == 0, f"run failed on its own: {outcome.describe()}: {log.read_text()}"
    return outcome


def after(seconds: float) -> Callable[[Path], Trigger]:
    def make(_db: Path) -> Trigger:
        return lambda elapsed, _d, _w: elapsed >= seconds

    return make


def wal_above(nbytes: int) -> Callable[[Path], Trigger]:
    """While a batch is being written: the WAL passes `nbytes` (the schema alone is ~5 KB)."""

    def make(_db: Path) -> Trigger:
        return lambda _e, _d, wal_size: wal_size is not None and wal_size > nbytes

    return make


def checkpoint() -> Callable[[Path], Trigger]:
    """During the checkpoint: the database file grows past its size when the run started (the
    data only reaches the main file when the WAL is checkpointed)."""

    def make(db: Path) -> Trigger:
        baseline = max(_size(db) or 0, HEADER_BYTES)
        return lambda _e, db_size, _w: db_size is not None and db_size > baseline

    return make


def check_opens(db: Path) -> None:
    """The warehouse left by a kill opens read-only and answers a query."""
    if not db.exists():
        return  # killed before DuckDB created the file: nothing to open
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        tables = {row[0] for row in rows}
        if "events" in tables:
            con.execute("SELECT count(*), count(DISTINCT person_key) FROM events").fetchone()
        if {"events", "_jm_files", "_jm_quarantine"} <= tables:
            check_manifest(con)
    finally:
        con.close()


def check_manifest(con: duckdb.DuckDBPyConnection) -> None:
    mismatches = con.execute(MANIFEST_MISMATCH_SQL).fetchall()
    assert mismatches == [], (
        f"manifest and events disagree (source, file, claimed, present): {mismatches}"
    )
    quarantine = con.execute(QUARANTINE_MISMATCH_SQL).fetchall()
    assert quarantine == [], f"manifest and quarantine disagree: {quarantine}"
    duplicated = con.execute(
        "SELECT source, event_id, count(*) FROM events GROUP BY ALL HAVING count(*) > 1 LIMIT 5"
    ).fetchall()
    assert duplicated == [], f"events loaded twice: {duplicated}"


def collect_outputs(db: Path, env: dict[str, str], out_dir: Path) -> Outputs:
    """Every metric command and the export, in two child processes side by side (read-only
    connections to the same warehouse at once); each child runs its half of the commands in
    turn (a process per command would start Python ~35 times per check)."""
    export_dir = out_dir / "export"
    jobs = {name: [*args, "--db", str(db)] for name, args in OUTPUT_COMMANDS.items()}
    jobs["export"] = ["export", "--db", str(db), "--out", str(export_dir)]
    names = list(jobs)
    halves = [{n: jobs[n] for n in names[0::2]}, {n: jobs[n] for n in names[1::2]}]
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = pool.map(lambda half: run_commands(half[1], out_dir / f"children-{half[0]}",
                                                   env=env, stub_rendering=False),
                         enumerate(halves))
        done = {name: result for part in parts for name, result in part.items()}
    events = pl.read_parquet(export_dir / "events.parquet")
    persons = pl.read_parquet(export_dir / "persons.parquet")
    con = duckdb.connect(str(db), read_only=True)
    try:
        check_manifest(con)
        manifest = con.execute(MANIFEST_SQL).fetchall()
        quarantine = con.execute(
            "SELECT source, file_path, record_no, reason FROM _jm_quarantine ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    return Outputs(
        texts={name: done[name]["stdout"] for name in OUTPUT_COMMANDS},
        events=events.sort(events.columns),
        persons=persons.sort(persons.columns),
        manifest=manifest,
        quarantine=quarantine,
    )


def assert_same_outputs(got: Outputs, want: Outputs) -> None:
    for name in OUTPUT_COMMANDS:
        assert got.texts[name] == want.texts[name], f"{name} output differs from the clean run"
    assert_frame_equal(got.events, want.events)
    assert_frame_equal(got.persons, want.persons)
    assert got.manifest == want.manifest
    assert got.quarantine == want.quarantine


def converge(input_dir: Path, db: Path, env: dict[str, str], attempts: int = 3) -> int:
    """Run again until `run` exits 0; return how many runs it took."""
    errors = []
    for attempt in range(1, attempts + 1):
        done = _jm(_run_cmd(input_dir, db), env)
        if done.returncode == 0:
            if attempt > 1:
                warnings.warn(
                    f"run needed {attempt} attempts after a kill: {errors}", stacklevel=2
                )
            return attempt
        errors.append(f"exit {done.returncode}: {done.stderr.strip()}")
    raise AssertionError(f"run never succeeded after the kill: {errors}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Generated input, its clean warehouse, the outputs of that warehouse, and the run time."""
    root = tmp_path_factory.mktemp("crash_reference")
    # Module scope runs before conftest's autouse fixture: set the key for the subprocesses here.
    env = {
        **os.environ,
        "JOURNEY_METRICS_HASH_KEY": TEST_KEY,
        "XDG_CONFIG_HOME": str(root / "config"),
    }
    input_dir = root / "input"
    generated = _jm(["generate", "--persons", "600", "--seed", "3", "--days", "30",
                     "--out", str(input_dir)], env)
    assert generated.returncode == 0, generated.stderr
    db = root / "clean.duckdb"
    start = time.monotonic()
    run_ok(input_dir, db, env)
    seconds = time.monotonic() - start
    outputs = collect_outputs(db, env, root / "out")
    print(f"clean run: {seconds:.2f}s")
    return Reference(input_dir, env, seconds, outputs)


# Each scenario: one kill trigger per run, applied to successive runs before the converging run.
# Fractions are of the measured clean run time (~3.5 s here: ~0.9 s importing, then reading and
# committing web, email, crm, stitching and the checkpoint in the last ~1 %).
ScenarioKill = float | Callable[[Path], Trigger]
SCENARIOS: dict[str, list[ScenarioKill]] = {
    "at-20pct-opening": [0.2],
    "at-30pct-reading-web": [0.3],
    "at-45pct": [0.45],
    "at-60pct-reading-email": [0.6],
    "at-95pct-near-end": [0.95],
    "writing-first-batch": [wal_above(50_000)],
    "during-checkpoint": [checkpoint()],
    "twice-at-60pct-then-45pct": [0.6, 0.45],
    "twice-after-commit-then-checkpoint": [wal_above(2_000_000), checkpoint()],
}


def _trigger(kill: ScenarioKill, seconds: float) -> Callable[[Path], Trigger]:
    return after(kill * seconds) if isinstance(kill, float) else kill


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_kill_run_then_rerun_converges(reference: Reference, tmp_path: Path, name: str) -> None:
    db = tmp_path / "warehouse.duckdb"
    kills = []
    for kill in SCENARIOS[name]:
        fire = _trigger(kill, reference.seconds)(db)
        outcome = run_and_kill(reference.input_dir, db, reference.env, fire)
        kills.append(outcome.describe())
        check_opens(db)
    print(f"{name}: {'; '.join(kills)}")
    converge(reference.input_dir, db, reference.env)
    assert_same_outputs(collect_outputs(db, reference.env, tmp_path / "out"), reference.outputs)
    # Not every time-based kill lands inside the run on a fast machine; the triggered ones must.
    if not all(isinstance(k, float) for k in SCENARIOS[name]):
        assert all(k.startswith("killed") for k in kills), kills


@pytest.mark.parametrize(
    "kill", [pytest.param(wal_above(50_000), id="writing"),
             pytest.param(checkpoint(), id="checkpoint")]
)
def test_kill_incremental_run_over_loaded_warehouse(
    reference: Reference, tmp_path: Path, kill: Callable[[Path], Trigger]
) -> None:
    """A warehouse holding the first half of every source's files (checkpointed) gets the rest;
    that run is killed while writing or while its checkpoint rewrites the populated file."""
    input_dir = tmp_path / "input"
    pending: list[Path] = []
    for source_dir in sorted(p for p in reference.input_dir.iterdir() if p.is_dir()):
        files = sorted(source_dir.iterdir(), key=lambda p: p.name)
        (input_dir / source_dir.name).mkdir(parents=True)
        for index, path in enumerate(files):
            if index < len(files) // 2:
                shutil.copy2(path, input_dir / source_dir.name / path.name)
            else:
                pending.append(path)
    db = tmp_path / "warehouse.duckdb"
    run_ok(input_dir, db, reference.env)
    assert _size(_wal(db)) is None, "the clean partial run left a WAL behind"
    for path in pending:
        shutil.copy2(path, input_dir / path.parent.name / path.name)
    outcome = run_and_kill(input_dir, db, reference.env, kill(db))
    print(outcome.describe())
    assert outcome.killed, outcome.describe()
    check_opens(db)
    converge(input_dir, db, reference.env)
    assert_same_outputs(collect_outputs(db, reference.env, tmp_path / "out"), reference.outputs)


def test_empty_warehouse_file_left_by_a_kill_is_recovered(
    reference: Reference, tmp_path: Path
) -> None:
    """The state a kill in the first ~1 ms of a new warehouse's life leaves (reproduced for real
    by `test_kill_while_creating_the_warehouse_file`): the file exists with 0 bytes."""
    db = tmp_path / "warehouse.duckdb"
    db.touch()
    done = _jm(_run_cmd(reference.input_dir, db), reference.env)
    assert done.returncode == 0, done.stderr
    assert_same_outputs(collect_outputs(db, reference.env, tmp_path / "out"), reference.outputs)


def test_kill_while_creating_the_warehouse_file(reference: Reference, tmp_path: Path) -> None:
    """SIGKILL `run` the moment the new warehouse file appears (busy polling). About one attempt
    in four lands before DuckDB has written the header; the next run must still succeed."""
    for attempt in range(30):
        db = tmp_path / f"warehouse{attempt}.duckdb"
        outcome = run_and_kill(
            reference.input_dir, db, reference.env, lambda _e, db_size, _w: db_size is not None,
            poll=0,
        )
        if not outcome.killed or (_size(db) or 0) >= HEADER_BYTES:
            continue
        done = _jm(_run_cmd(reference.input_dir, db), reference.env)
        assert done.returncode == 0, (
            f"attempt {attempt}: kill left a {_size(db)}-byte warehouse; the next run failed: "
            f"{done.stderr.strip()}"
        )
        return
    pytest.skip("no kill landed between file creation and header write in 30 attempts")
