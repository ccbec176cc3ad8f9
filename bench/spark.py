"""Spark against DuckDB on this machine (issue 16's targets), and a 1B-event scale-out estimate.

    /work/venv-spark/bin/python bench/spark.py [--sizes 1m,10m] [--repeat 1]

Per size: the generated input (bench/cache/input-SIZE, from bench/run.py) is loaded once with
DuckDB `run` (timed: DuckDB's ingest) and exported as a lake (bench/cache/spark-SIZE/, reused
while complete). Then every metric command runs as a whole process, `--engine duckdb --events
LAKE` and `--engine spark --events LAKE --spark-master local[2]`: wall seconds, CPU seconds and
peak memory of the process tree (the CLI and, for Spark, its JVM: sampled from /proc, summed
over the tree), the load average when it started (the 2 cores are shared), and whether the rows
are equal (CONTRACT §12: counts and text equal, numbers to 1e-9). When `run --help` offers
`--engine`, ingest is timed on Spark too (`run --engine spark --input --lake`).

Each Spark command writes a Spark event log; its per-stage task metrics (input bytes, shuffle
read/write bytes, tasks, executor run time) are summed per command and extrapolated linearly to
1B events (`scale_out`). Results: bench/results/spark/SIZE.json; `bench/spark_report.py` renders
them into docs/benchmarks.md and docs/scale-out.md.

`--connect` times the same commands through one Spark Connect server started (and warmed by
one untimed command) before them, as on a cluster where the JVM is already up: each command
then pays only the Python client and its queries. CPU is the client's process tree plus what
the server's tree spent meanwhile. Results: bench/results/spark/connect-SIZE.json (size
`sample`: data/sample/'s lake, the fixed cost).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
RESULTS = ROOT / "bench" / "results" / "spark"
sys.path.insert(0, str(ROOT / "tests" / "spark"))
sys.path.insert(0, str(ROOT / "bench"))
from run import compile_checkout  # noqa: E402, F401  (importing it compiles this checkout)

from engine_compare import first_difference, free_port, listening  # noqa: E402

MASTER = "local[2]"
DRIVER_MEMORY = "4g"  # local mode: the driver JVM is the executor; Spark's default is 1g
TARGET_EVENTS = 1_000_000_000
TASK_BYTES = 128 * 1024 * 1024  # one task's input / shuffle partition on a cluster
NIGHT_HOURS = 4.0  # the nightly window the estimate plans for
CLUSTER_EFFICIENCY = 0.6  # of executor cores busy over a run (stragglers, scheduling, skew)
ENV = {
    **os.environ,
    "JOURNEY_METRICS_HASH_KEY": "benchmark-key-0123456789abcdef",
    "PYTHONHASHSEED": "0",
    "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
    "PYTHONWARNINGS": "ignore",
}
JM = [sys.executable, "-m", "journey_metrics"]
# cheapest first: a run stopped part-way (results are written after each command) keeps most
METRICS: dict[str, list[str]] = {
    "nps": ["nps", "--by", "channel"],
    "retention": ["retention", "--framework", "aarrr", "--start", "activation",
                  "--period", "week"],
    "revenue": ["revenue", "--period", "week", "--by", "channel"],
    "referral": ["referral"],
    "attribution": ["attribution", "--conversion", "order_completed", "--model", "last",
                    "--model", "linear"],
    "paths": ["paths"],
    "funnel": ["funnel", "--framework", "aarrr"],
    "funnel_by_channel": ["funnel", "--framework", "aarrr", "--by", "channel"],
}
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# --- measuring a process tree ----------------------------------------------------------------

def _stats() -> dict[int, tuple[int, int, int, int]]:
    """pid -> (parent pid, start time, CPU ticks, RSS bytes) of every process."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
        found[int(entry.name)] = (int(fields[1]), int(fields[19]),
                                  int(fields[11]) + int(fields[12]), int(fields[21]) * PAGE)
    return found


def _tree(root: int, stats: dict[int, tuple[int, int, int, int]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, *_) in stats.items():
        children.setdefault(parent, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def timed(cmd: list[str], env: dict[str, str] | None = None, interval: float = 0.25
          ) -> dict[str, Any]:
    """Run a command: wall seconds; CPU seconds of it and every descendant (the larger of what
    the kernel reports for waited-for children and the sum sampled from /proc, which also sees a
    JVM its parent never waits for); peak RSS summed over the tree (sampled) and of the largest
    single process; the 1-minute load average before and after; its stdout."""
    load = load_average()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env or ENV)
        peak_sum = peak_one = 0
        cpu: dict[tuple[int, int], int] = {}
        while proc.poll() is None:
            stats = _stats()
            pids = _tree(proc.pid, stats)
            rss = [stats[p][3] for p in pids]
            peak_sum, peak_one = max(peak_sum, sum(rss)), max(peak_one, max(rss, default=0))
            for p in pids:
                cpu[(p, stats[p][1])] = stats[p][2]
            time.sleep(interval)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {stderr[-2000:]}")
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sampled = sum(cpu.values()) / TICK
    return {"seconds": round(seconds, 3), "cpu_seconds": round(max(waited, sampled), 3),
            "rss_mb": round(peak_sum / 2**20, 1), "rss_max_process_mb": round(peak_one / 2**20, 1),
            "load_before": load, "load_after": load_average(), "stdout": stdout}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("seconds", "cpu_seconds", "rss_mb", "rss_max_process_mb")
    found: dict[str, Any] = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}
    found["runs"] = [r["seconds"] for r in runs]
    found["load"] = [r["load_before"] for r in runs]
    return found


# --- Spark's own metrics: the event log ------------------------------------------------------

def spark_env(event_dir: Path) -> dict[str, str]:
    """Classic pyspark reads its launch options from PYSPARK_SUBMIT_ARGS: the event log and the
    driver's memory (the only JVM in local mode)."""
    event_dir.mkdir(parents=True, exist_ok=True)
    args = ["--driver-memory", DRIVER_MEMORY,
            "--conf", "spark.eventLog.enabled=true",
            "--conf", f"spark.eventLog.dir=file://{event_dir}",
            "--conf", "spark.eventLog.compress=false",
            "pyspark-shell"]
    return {**ENV, "PYSPARK_SUBMIT_ARGS": " ".join(args)}


def stage_metrics(event_dir: Path) -> list[dict[str, int]]:
    """Per stage of every application logged in `event_dir`: tasks, input bytes, shuffle read
    and write bytes, executor run and CPU time (ms), summed from the SparkListenerTaskEnd
    events (a retried or speculative attempt counts: it was work done)."""
    stages: dict[tuple[str, int, int], dict[str, int]] = {}
    # Spark 4 writes an application's log as a folder of rolled files (eventlog_v2_APP/events_N_APP)
    for path in sorted(p for p in event_dir.rglob("*") if p.is_file()
                       and not p.name.startswith(("appstatus", "."))):
        for line in path.read_text(errors="replace").splitlines():
            if '"SparkListenerTaskEnd"' not in line[:60]:
                continue
            event = json.loads(line)
            metrics = event.get("Task Metrics") or {}
            key = (str(path.relative_to(event_dir)).split("/")[0], event["Stage ID"],
                   event["Stage Attempt ID"])
            stage = stages.setdefault(key, dict.fromkeys(
                ("tasks", "input_bytes", "shuffle_read_bytes", "shuffle_write_bytes",
                 "run_ms", "cpu_ms", "spill_bytes"), 0))
            shuffle_read = metrics.get("Shuffle Read Metrics") or {}
            stage["tasks"] += 1
            stage["input_bytes"] += (metrics.get("Input Metrics") or {}).get("Bytes Read", 0)
            stage["shuffle_read_bytes"] += (shuffle_read.get("Remote Bytes Read", 0)
                                            + shuffle_read.get("Local Bytes Read", 0))
            stage["shuffle_write_bytes"] += (metrics.get("Shuffle Write Metrics") or {}).get(
                "Shuffle Bytes Written", 0)
            stage["run_ms"] += metrics.get("Executor Run Time", 0)
            stage["cpu_ms"] += metrics.get("Executor CPU Time", 0) // 1_000_000  # ns
            stage["spill_bytes"] += metrics.get("Disk Bytes Spilled", 0)
    return list(stages.values())


def command_metrics(stages: list[dict[str, int]]) -> dict[str, int]:
    total = {k: sum(s[k] for s in stages) for k in
             ("tasks", "input_bytes", "shuffle_read_bytes", "shuffle_write_bytes", "run_ms",
              "cpu_ms", "spill_bytes")}
    total["stages"] = len(stages)
    total["widest_shuffle_write_bytes"] = max((s["shuffle_write_bytes"] for s in stages),
                                              default=0)
    total["widest_input_bytes"] = max((s["input_bytes"] for s in stages), default=0)
    return total


def scale_out(per_command: dict[str, dict[str, int]], events: int,
              ingest: dict[str, int] | None = None) -> dict[str, Any]:
    """Linear extrapolation to TARGET_EVENTS: bytes and executor time grow with the events;
    tasks are re-cut at TASK_BYTES each; the cluster is the cores that finish the night's work
    (all commands, plus ingest when measured) in NIGHT_HOURS at CLUSTER_EFFICIENCY."""
    factor = TARGET_EVENTS / events
    commands: dict[str, Any] = {}
    work = dict(per_command)
    if ingest:
        work["ingest"] = ingest
    for name, m in work.items():
        widest = max(m["widest_shuffle_write_bytes"], m["widest_input_bytes"]) * factor
        commands[name] = {
            "input_gb": round(m["input_bytes"] * factor / 1e9, 1),
            "shuffle_write_gb": round(m["shuffle_write_bytes"] * factor / 1e9, 1),
            "widest_stage_gb": round(widest / 1e9, 1),
            "partitions": max(1, math.ceil(widest / TASK_BYTES)),
            "executor_core_hours": round(m["run_ms"] * factor / 3.6e6, 2),
            "executor_cpu_hours": round(m["cpu_ms"] * factor / 3.6e6, 2),
        }
    core_hours = sum(c["executor_core_hours"] for c in commands.values())
    cpu_hours = sum(c["executor_cpu_hours"] for c in commands.values())
    cores = math.ceil(core_hours / (NIGHT_HOURS * CLUSTER_EFFICIENCY))
    return {
        "target_events": TARGET_EVENTS, "measured_events": events, "factor": round(factor, 2),
        "task_mb": TASK_BYTES // 2**20, "night_hours": NIGHT_HOURS,
        "efficiency": CLUSTER_EFFICIENCY, "commands": commands,
        "executor_core_hours": round(core_hours, 1), "executor_cpu_hours": round(cpu_hours, 1),
        "cores": cores,
        "cores_if_cpu_bound": math.ceil(cpu_hours / (NIGHT_HOURS * CLUSTER_EFFICIENCY)),
        "suggested_cluster": f"{math.ceil(cores / 8)} executors x 8 cores, 16 GB each (about "
                             "2 GB per core for 128 MB tasks, a rule of thumb)",
        "shuffle_partitions": max(c["partitions"] for c in commands.values()),
        "assumptions": [
            "work (bytes, executor time) grows linearly with events: per-person and per-group "
            "state grows with persons, which the generator keeps in proportion",
            "skew is not modelled: one huge person or group becomes a straggler task",
            "measured on local[2] (one JVM, local disk): no network shuffle, so a cluster's "
            "shuffle costs more per byte; the JVM start-up of each command is not scaled",
            f"a task per {TASK_BYTES // 2**20} MB of input or shuffle of the widest stage",
            "executor run time is wall time of the tasks: on this shared machine it includes "
            "waiting for a core (load average recorded beside every figure), so the cluster is "
            "sized on it as an upper bound; executor CPU time gives the lower bound",
        ],
    }


# --- the bench --------------------------------------------------------------------------------

def sample_lake() -> Path:
    """data/sample/'s warehouse and lake (a few thousand events), made once."""
    work = CACHE / "spark-sample"
    if not (work / "lake").is_dir():
        work.mkdir(parents=True, exist_ok=True)
        db = work / "warehouse.duckdb"
        db.unlink(missing_ok=True)
        subprocess.run([*JM, "run", "--input", str(ROOT / "data" / "sample"), "--db", str(db),
                        "--format", "json"], check=True, env=ENV, capture_output=True)
        shutil.rmtree(work / "lake.part", ignore_errors=True)
        subprocess.run([*JM, "export", "--db", str(db), "--out", str(work / "lake.part")],
                       check=True, env=ENV, capture_output=True)
        (work / "lake.part").rename(work / "lake")
    return work / "lake"


def fixed_cost() -> dict[str, Any]:
    """What a command costs before the data matters: `nps --by channel` over data/sample/'s
    lake (a few thousand events) on each engine; written to fixed_cost.json."""
    lake = sample_lake()
    cmd = [*JM, *METRICS["nps"], "--events", str(lake), "--format", "json"]
    duck = timed([*cmd, "--engine", "duckdb"])
    spark = timed([*cmd, "--engine", "spark", "--spark-master", MASTER],
                  env=spark_env(lake.parent / "eventlog"))
    found = {"machine": machine(), "command": METRICS["nps"], "duckdb": summary([duck]),
             "spark": summary([spark])}
    (RESULTS / "fixed_cost.json").write_text(json.dumps(found, indent=2))
    return found


def prepare(size: str) -> dict[str, Any]:
    """The warehouse and the lake of a size (loaded and exported once, timed; reused while
    `prepared.json` says both are complete)."""
    work = CACHE / f"spark-{size}"
    marker = work / "prepared.json"
    if marker.exists() and (work / "warehouse.duckdb").exists() and (work / "lake").is_dir():
        return dict(json.loads(marker.read_text()))
    source = CACHE / f"input-{size}"
    if not source.is_dir():
        raise SystemExit(f"{source} is missing: `python bench/run.py --sizes {size}` makes it")
    work.mkdir(parents=True, exist_ok=True)
    part = work / "warehouse.duckdb.part"
    part.unlink(missing_ok=True)
    log(f"{size}: DuckDB ingest")
    ingest = timed([*JM, "run", "--input", str(source), "--db", str(part), "--format", "json"])
    part.rename(work / "warehouse.duckdb")
    log(f"{size}: export")
    shutil.rmtree(work / "lake.part", ignore_errors=True)
    export = timed([*JM, "export", "--db", str(work / "warehouse.duckdb"),
                    "--out", str(work / "lake.part")])
    (work / "lake.part").rename(work / "lake")
    found = {"ingest_duckdb": summary([ingest]), "export": summary([export]),
             **counts(work / "warehouse.duckdb")}
    marker.write_text(json.dumps(found, indent=2))
    return found


def counts(db: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        events = con.execute("SELECT count(*) FROM events").fetchone()
        persons = con.execute("SELECT count(*) FROM persons").fetchone()
    finally:
        con.close()
    return {"events": int(events[0]) if events else 0,
            "persons": int(persons[0]) if persons else 0}


def spark_ingest_available() -> bool:
    result = subprocess.run([*JM, "run", "--help"], capture_output=True, text=True, env=ENV)
    return "--engine" in result.stdout


def write(size: str, result: dict[str, Any]) -> None:
    (RESULTS / f"{size}.json").write_text(json.dumps(result, indent=2))


def bench_size(size: str, repeat: int, ingest: bool = True) -> dict[str, Any]:
    prepared = prepare(size)
    work = CACHE / f"spark-{size}"
    lake = str(work / "lake")
    events_dir = work / "eventlog"
    shutil.rmtree(events_dir, ignore_errors=True)
    results: dict[str, Any] = {"machine": machine(), "size": size, **prepared, "master": MASTER,
                               "driver_memory": DRIVER_MEMORY, "commands": {}}
    results["warehouse_bytes"] = (work / "warehouse.duckdb").stat().st_size
    results["lake_bytes"] = sum(p.stat().st_size for p in (work / "lake").rglob("*")
                                if p.is_file())
    per_command: dict[str, dict[str, int]] = {}
    for name, args in METRICS.items():
        cmd = [*args, "--events", lake, "--format", "json"]
        log(f"{size}: {name} (load {load_average():.1f})")
        duck = [timed([*JM, *cmd, "--engine", "duckdb"]) for _ in range(repeat)]
        logs = events_dir / name
        spark = [timed([*JM, *cmd, "--engine", "spark", "--spark-master", MASTER],
                       env=spark_env(logs)) for _ in range(repeat)]
        difference = first_difference(spark[0]["stdout"], duck[0]["stdout"])
        d, s = summary(duck), summary(spark)
        per_command[name] = command_metrics(stage_metrics(logs))
        # the event log holds every repeat: per run
        per_command[name] = {k: v // repeat if k not in ("stages",) else v
                             for k, v in per_command[name].items()}
        results["commands"][name] = {
            "args": args, "duckdb": d, "spark": s,
            "ratio": round(s["seconds"] / d["seconds"], 2) if d["seconds"] else None,
            "cpu_ratio": round(s["cpu_seconds"] / d["cpu_seconds"], 2) if d["cpu_seconds"]
            else None,
            "rows": len(json.loads(duck[0]["stdout"])),
            "rows_equal": difference is None, "difference": difference,
            "spark_metrics": per_command[name],
        }
        results["scale_out"] = scale_out(per_command, int(prepared["events"]))
        write(size, {**results, "complete": False})  # what is measured so far, if stopped
    ingest_metrics = None
    earlier = RESULTS / f"{size}.json"
    if not ingest and earlier.exists():  # --keep-ingest: the last measured ingest stays
        kept = json.loads(earlier.read_text())
        for key in ("ingest_pair", "ingest_spark", "ingest_ratio"):
            if kept.get(key) is not None:
                results[key] = kept[key]
        spark_ingest = results.get("ingest_spark") or {}
        ingest_metrics = spark_ingest.get("spark_metrics")
    elif spark_ingest_available():
        log(f"{size}: Spark ingest")
        target = work / "lake-spark"
        shutil.rmtree(target, ignore_errors=True)
        logs = events_dir / "ingest"
        run = timed([*JM, "run", "--engine", "spark", "--input", str(CACHE / f"input-{size}"),
                     "--lake", str(target), "--spark-master", MASTER, "--format", "json"],
                    env=spark_env(logs))
        ingest_metrics = command_metrics(stage_metrics(logs))
        results["ingest_spark"] = {**summary([run]), "spark_metrics": ingest_metrics}
        results["ingest_ratio"] = round(run["seconds"]
                                        / prepared["ingest_duckdb"]["seconds"], 2)
    else:
        results["ingest_spark"] = None
        log(f"{size}: `run --help` has no --engine: Spark ingest not timed")
    results["scale_out"] = scale_out(per_command, int(prepared["events"]), ingest_metrics)
    results["complete"] = True
    return results


def ingest_pair(size: str) -> dict[str, Any]:
    """DuckDB's and Spark's ingest of the same input, timed back to back (same machine load),
    put into the size's results (metrics measured earlier stay)."""
    path = RESULTS / f"{size}.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {
        "machine": machine(), "size": size, "commands": {}}
    work = CACHE / f"spark-{size}"
    work.mkdir(parents=True, exist_ok=True)
    source = str(CACHE / f"input-{size}")
    db = work / "ingest-pair.duckdb"
    db.unlink(missing_ok=True)
    log(f"{size}: DuckDB ingest (load {load_average():.1f})")
    duck = timed([*JM, "run", "--input", source, "--db", str(db), "--format", "json"])
    db.unlink(missing_ok=True)
    target, logs = work / "lake-spark", work / "eventlog" / "ingest"
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(logs, ignore_errors=True)
    log(f"{size}: Spark ingest (load {load_average():.1f})")
    spark = timed([*JM, "run", "--engine", "spark", "--input", source, "--lake", str(target),
                   "--spark-master", MASTER, "--format", "json"], env=spark_env(logs))
    same = {k: v for k, v in json.loads(duck["stdout"]).items() if k != "warehouse"} == {
        k: v for k, v in json.loads(spark["stdout"]).items() if k != "warehouse"}
    ingest_metrics = command_metrics(stage_metrics(logs))
    results["ingest_pair"] = {"duckdb": summary([duck]), "spark": summary([spark]),
                              "ratio": round(spark["seconds"] / duck["seconds"], 2),
                              "cpu_ratio": round(spark["cpu_seconds"] / duck["cpu_seconds"], 2),
                              "summaries_equal": same, "spark_metrics": ingest_metrics}
    results["ingest_spark"] = {**summary([spark]), "spark_metrics": ingest_metrics}
    results["ingest_ratio"] = results["ingest_pair"]["ratio"]
    return results


# --- through a warm Spark Connect server ---------------------------------------------------------

CONNECT_START_SECONDS = 180


def start_connect_server(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A Spark Connect server on `local[2]` with the classic runs' driver memory, in its own
    process group (stopped with `stop_connect_server`)."""
    from pyspark.find_spark_home import _find_spark_home

    home = _find_spark_home()
    port = free_port()
    env = {**os.environ, "SPARK_HOME": home, "SPARK_LOCAL_IP": "127.0.0.1"}
    for name in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "PYSPARK_SUBMIT_ARGS"):
        env.pop(name, None)
    with log_path.open("wb") as out:
        server = subprocess.Popen(
            [str(Path(home) / "bin" / "spark-submit"),
             "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--master", MASTER, "--driver-memory", DRIVER_MEMORY,
             "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", "spark.ui.enabled=false"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + CONNECT_START_SECONDS
    while not listening(port):
        if server.poll() is not None or time.monotonic() > deadline:
            stop_connect_server(server)
            raise SystemExit(f"the Spark Connect server did not start: see {log_path}")
        time.sleep(0.5)
    return server, f"sc://localhost:{port}"


def stop_connect_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def _tree_cpu(root: int) -> float:
    stats = _stats()
    return sum(stats[p][2] for p in _tree(root, stats)) / TICK


def connect_size(size: str, repeat: int) -> dict[str, Any]:
    """Every metric command of the size's lake through one warm Connect server, beside the same
    command on DuckDB (timed again in this call, so both see the same machine)."""
    if size == "sample":  # the fixed cost: data/sample/'s lake
        lake = str(sample_lake())
        prepared = {"events": counts(Path(lake).parent / "warehouse.duckdb")["events"]}
    else:
        prepared = prepare(size)
        lake = str(CACHE / f"spark-{size}" / "lake")
    server, url = start_connect_server(Path(lake).parent / "connect-server.log")
    results: dict[str, Any] = {"machine": machine(), "size": size, **prepared, "master": MASTER,
                               "driver_memory": DRIVER_MEMORY, "commands": {}}
    try:
        log(f"{size}: warming the Connect server")
        warm = timed([*JM, *METRICS["nps"], "--events", lake, "--format", "json",
                      "--engine", "spark", "--spark-remote", url])
        results["warm_up_seconds"] = warm["seconds"]
        for name, args in METRICS.items():
            cmd = [*args, "--events", lake, "--format", "json"]
            log(f"{size}: {name} through Connect (load {load_average():.1f})")
            duck = [timed([*JM, *cmd, "--engine", "duckdb"]) for _ in range(repeat)]
            remote = []
            for _ in range(repeat):
                server_cpu = _tree_cpu(server.pid)
                run = timed([*JM, *cmd, "--engine", "spark", "--spark-remote", url])
                run["cpu_seconds"] = round(run["cpu_seconds"] + _tree_cpu(server.pid)
                                           - server_cpu, 3)
                remote.append(run)
            difference = first_difference(remote[0]["stdout"], duck[0]["stdout"])
            d, s = summary(duck), summary(remote)
            results["commands"][name] = {
                "args": args, "duckdb": d, "spark_connect": s,
                "ratio": round(s["seconds"] / d["seconds"], 2) if d["seconds"] else None,
                "cpu_ratio": round(s["cpu_seconds"] / d["cpu_seconds"], 2)
                if d["cpu_seconds"] else None,
                "rows": len(json.loads(duck[0]["stdout"])),
                "rows_equal": difference is None, "difference": difference,
            }
            write(f"connect-{size}", {**results, "complete": False})
    finally:
        stop_connect_server(server)
    results["complete"] = True
    return results


def machine() -> dict[str, str]:
    import duckdb
    import pyspark

    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    return {"python": sys.version.split()[0], "cores": str(os.cpu_count()),
            "memory_gb": str(round(os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30)),
            "duckdb": duckdb.__version__, "pyspark": pyspark.__version__,
            "java": java.splitlines()[0] if java else "?", "date": time.strftime("%Y-%m-%d")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m,10m")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("--ingest-only", action="store_true",
                        help="time only the two ingests (DuckDB `run`, Spark `run --engine "
                             "spark`) back to back, into the size's existing results")
    parser.add_argument("--keep-ingest", action="store_true",
                        help="time the metric commands only; the size's last measured "
                             "ingest stays in its results")
    parser.add_argument("--fixed-cost-only", action="store_true",
                        help="only measure a command's cost on a tiny lake")
    parser.add_argument("--connect", action="store_true",
                        help="time the metric commands through one warm Spark Connect server "
                             "(bench/results/spark/connect-SIZE.json)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.connect:
        for size in args.sizes.split(","):
            write(f"connect-{size}", connect_size(size, args.repeat))
            log(f"{size}: written to {RESULTS / f'connect-{size}.json'}")
    elif args.ingest_only:
        for size in args.sizes.split(","):
            write(size, ingest_pair(size))
            log(f"{size}: written to {RESULTS / f'{size}.json'}")
    else:
        log(f"fixed cost (load {load_average():.1f})")
        fixed_cost()
    for size in ([] if args.fixed_cost_only or args.ingest_only or args.connect
                 else args.sizes.split(",")):
        write(size, bench_size(size, args.repeat, ingest=not args.keep_ingest))
        log(f"{size}: written to {RESULTS / f'{size}.json'}")
    if not args.no_report:
        subprocess.run([sys.executable, str(ROOT / "bench" / "spark_report.py")], check=True)


if __name__ == "__main__":
    main()
