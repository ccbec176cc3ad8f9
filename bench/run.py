"""Benchmarks: ingest, incremental night, funnel (vs polars join_asof and, if installed, chDB),
retention, referral, NPS, report and export, at ~1M and ~10M events, on this machine.

    python bench/run.py [--sizes 1m,10m] [--repeat 3]

Inputs come from `journey-metrics generate` (cached in bench/cache/). The last generated day is held
back from the full load and added as the "incremental night". Every command runs as its own
process under /usr/bin/time (wall seconds and max RSS); medians are reported. Results go to
bench/results/<size>.json and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
# the CLI of THIS checkout (src/ first on the path), not whatever the venv has installed
JM = [sys.executable, "-m", "journey_metrics"]
FRAMEWORK = ROOT / "bench" / "bench_framework.yaml"
PERSONS = {"1m": 85_000, "10m": 850_000}
DAYS = 90
# the dlt peer runs in its own environment (bench/requirements.txt), never in the project's
DLT_PYTHON = Path(os.environ.get("BENCH_DLT_PYTHON", "/work/venv-bench/bin/python"))
DLT_SIZES = {"1m"}  # ~13k records/s: 10M would take over 10 minutes
ENV = {
    **os.environ,
    "JOURNEY_METRICS_HASH_KEY": "benchmark-key-0123456789abcdef",
    "PYTHONHASHSEED": "0",
    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                   *filter(None, [os.environ.get("PYTHONPATH")])]),
}


def compile_checkout() -> None:
    """Compile this checkout's modules to bytecode once, as `pip install` does for an installed
    package: a command then starts the way a user's does. Without it, every timed process
    compiled them again (about 0.1 s of a 1M `funnel` here, measured paired), because this
    machine's environment sets PYTHONDONTWRITEBYTECODE."""
    if not compileall.compile_dir(ROOT / "src", quiet=1):
        raise SystemExit(f"could not compile {ROOT / 'src'} to bytecode")


compile_checkout()  # every bench script imports this module before it times anything


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_average() -> float:
    """The 1-minute load average: the machine is shared, so every figure carries it."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float | str]:
    """Run a command under GNU time: wall seconds, CPU seconds (user + system), max RSS (MB),
    the load average when it started, and its stdout."""
    load = load_average()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "@@time %e %M %U %S", *cmd],
        capture_output=True, text=True, env=env or ENV,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    marker = [line for line in result.stderr.splitlines() if line.startswith("@@time ")][-1]
    _, seconds, rss_kb, user, system = marker.split()
    return {"seconds": float(seconds), "cpu_seconds": float(user) + float(system),
            "rss_mb": int(rss_kb) / 1024, "load": load, "stdout": result.stdout}


def median_of(runs: list[dict[str, float | str]]) -> dict[str, float]:
    return {
        "seconds": statistics.median(float(r["seconds"]) for r in runs),
        "cpu_seconds": statistics.median(float(r.get("cpu_seconds", 0.0)) for r in runs),
        "rss_mb": max(float(r["rss_mb"]) for r in runs),
        "runs": [float(r["seconds"]) for r in runs],  # type: ignore[dict-item]
        "load": [float(r.get("load", 0.0)) for r in runs],  # type: ignore[dict-item]
    }


def ensure_input(size: str) -> tuple[Path, Path]:
    """Generated input without its last day, and that last day alone (the incremental night)."""
    full, extra = CACHE / f"input-{size}", CACHE / f"extra-{size}"
    if full.exists() and extra.exists():
        return full, extra
    shutil.rmtree(full, ignore_errors=True)
    shutil.rmtree(extra, ignore_errors=True)
    log(f"generating {size} ({PERSONS[size]:,} persons, {DAYS} days)")
    started = time.monotonic()
    subprocess.run([*JM, "generate", "--persons", str(PERSONS[size]), "--seed", "11",
                    "--days", str(DAYS), "--out", str(full)], check=True, env=ENV)
    log(f"generated in {time.monotonic() - started:.0f} s")
    last_day = sorted(p.name for p in (full / "web").iterdir())[-1].removeprefix("events-")[:10]
    for folder in ("web", "email"):
        (extra / folder).mkdir(parents=True, exist_ok=True)
        for path in (full / folder).iterdir():
            if last_day in path.name:
                path.rename(extra / folder / path.name)
    return full, extra


def count_records(folder: Path) -> int:
    import duckdb

    con = duckdb.connect()
    lines = con.execute(
        "SELECT count(*) FROM read_csv(?, columns={'l': 'VARCHAR'}, delim='\\0', quote='',"
        " escape='', header=false, auto_detect=false, max_line_size=67108864)",
        [[str(p) for p in sorted((folder / "web").glob("*.jsonl"))]],
    ).fetchone()
    return int(lines[0]) if lines else 0


BARE_PARSE = r"""
import sys, duckdb, glob
folder, db = sys.argv[1], sys.argv[2]
con = duckdb.connect(db)
web = sorted(glob.glob(folder + "/web/*.jsonl"))
email = sorted(glob.glob(folder + "/email/*.json*"))
con.execute("CREATE TABLE web AS SELECT * FROM read_json(?, format='newline_delimited', "
            "union_by_name=true, ignore_errors=true, maximum_object_size=67108864)", [web])
con.execute("CREATE TABLE email AS SELECT * FROM read_json(?, format='auto', "
            "union_by_name=true, ignore_errors=true)", [email])
for kind in ("contacts", "deals", "feedback"):
    files = sorted(glob.glob(folder + f"/crm/{kind}*.csv"))
    con.execute(f"CREATE TABLE {kind} AS SELECT * FROM read_csv(?, header=true, "
                "union_by_name=true, all_varchar=true)", [files])
print(con.execute("SELECT (SELECT count(*) FROM web) + (SELECT count(*) FROM email)").fetchone()[0])
"""

ENGINE_ONLY = r"""
import sys, time, json
from pathlib import Path
from journey_metrics.config import load_framework
from journey_metrics.db import connect
from journey_metrics.metrics.common import resolve_as_of, zone
from journey_metrics.metrics.funnel import FunnelQuery, compute_funnel
framework = load_framework(sys.argv[2])
con = connect(Path(sys.argv[1]), read_only=True)
query = FunnelQuery(framework, framework.window_delta, resolve_as_of(con, None, zone("UTC")))
times = []
for _ in range(int(sys.argv[3])):
    started = time.perf_counter()
    rows = compute_funnel(con, query)
    times.append(time.perf_counter() - started)
print(json.dumps({"times": times, "persons": [r["persons"] for r in rows]}))
"""

POLARS = r"""
import sys, time, json
from datetime import timedelta
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from funnel_polars import funnel_counts
stages = ["page_view", "product_viewed", "product_added", "checkout_started", "order_completed"]
times = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    counts = funnel_counts(Path(sys.argv[1]), stages, timedelta(days=7))
    times.append(time.perf_counter() - started)
print(json.dumps({"times": times, "persons": counts}))
"""

ATTRIBUTION_POLARS = r"""
import sys, time, json
from datetime import datetime
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from attribution_polars import attribute
as_of = datetime.fromisoformat(sys.argv[2])
times = []
for _ in range(int(sys.argv[3])):
    started = time.perf_counter()
    rows = attribute(Path(sys.argv[1]), "order_completed", as_of)
    times.append(time.perf_counter() - started)
print(json.dumps({"times": times, "rows": rows}))
"""


def warm_cache(folder: Path) -> None:
    """Read every input file once, untimed, so the floor reads from the page cache as the
    commands after it do. The floor runs first: cold, it read 4.3 GB from disk at 10M (57.6 s
    against 31-32 s warm in the same hour), which flattered every ratio against it."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as f:
                while f.read(1 << 23):
                    pass


def bare_parse(full: Path, work: Path, repeat: int) -> dict[str, float]:
    """The floor: DuckDB's bare read_json/read_csv of the input folder into tables (BARE_PARSE),
    each run in its own process and into a fresh database file; the median of `repeat` runs,
    after the input is read once into the page cache (warm_cache)."""
    warm_cache(full)
    runs = []
    for _ in range(repeat):
        floor_db = work / "floor.duckdb"
        floor_db.unlink(missing_ok=True)
        runs.append(timed([sys.executable, "-c", BARE_PARSE, str(full), str(floor_db)]))
        floor_db.unlink(missing_ok=True)
    return median_of(runs)


def same_attribution(ours: list[dict[str, object]], theirs: list[dict[str, object]]) -> bool:
    """The same (model, group) rows with the same credit and revenue (to 1e-6)."""
    def key(rows: list[dict[str, object]]) -> dict[tuple[object, object], tuple[float, float]]:
        return {(r["model"], r["group"]): (float(r["conversions"]), float(r["revenue"]))  # type: ignore[arg-type]
                for r in rows}
    a, b = key(ours), key(theirs)
    return a.keys() == b.keys() and all(
        abs(a[k][0] - b[k][0]) <= 1e-6 and abs(a[k][1] - b[k][1]) <= 1e-6 * max(1, abs(a[k][1]))
        for k in a)


def bench_size(size: str, repeat: int) -> dict[str, object]:
    full, extra = ensure_input(size)
    work = CACHE / f"work-{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "journey.duckdb"
    results: dict[str, object] = {"size": size, "persons_generated": PERSONS[size]}

    log(f"{size}: bare DuckDB parse (floor)")
    results["bare_parse"] = bare_parse(full, work, repeat)

    if DLT_PYTHON.exists() and size in DLT_SIZES:
        log(f"{size}: dlt peer (merge-load of the same folder; {DLT_PYTHON})")
        shutil.rmtree(work / "dlt", ignore_errors=True)
        dlt_run = timed([str(DLT_PYTHON), str(ROOT / "bench" / "dlt_peer.py"), str(full),
                         str(work / "dlt")])
        results["dlt_peer"] = {**median_of([dlt_run]), **json.loads(
            str(dlt_run["stdout"]).strip().splitlines()[-1])}
        shutil.rmtree(work / "dlt", ignore_errors=True)
    else:
        log(f"{size}: dlt peer skipped (install it: see bench/requirements.txt)")

    log(f"{size}: ingest (journey-metrics run)")
    ingest = []
    for i in range(repeat):
        for leftover in work.glob("journey.duckdb*"):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        ingest.append(timed([*JM, "run", "--input", str(full), "--db", str(db), "--format",
                             "json"]))
        if i == 0:
            summary = json.loads(str(ingest[0]["stdout"]))
            results["events_total"] = summary["events_total"]
            results["persons"] = summary["persons"]
            results["records"] = sum(s["records"] for s in summary["sources"])
    results["ingest"] = median_of(ingest)

    log(f"{size}: ingest with memory_limit=4GB (the default is 1GB)")
    limited_db = work / "limited.duckdb"
    limited = timed([*JM, "run", "--input", str(full), "--db", str(limited_db), "--format",
                     "json"],
                    env={**ENV, "JOURNEY_METRICS_MEMORY_LIMIT": "4GB"})
    results["ingest_memory_limit_4gb"] = median_of([limited])
    for leftover in work.glob("limited.duckdb*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()

    log(f"{size}: incremental night (one more day)")
    nights = []
    night_input = work / "night-input"
    for _ in range(repeat):
        shutil.rmtree(night_input, ignore_errors=True)
        shutil.copytree(full, night_input, copy_function=os.link)
        for path in extra.rglob("*"):
            if path.is_file():
                os.link(path, night_input / path.relative_to(extra))
        night_db = work / "night.duckdb"
        shutil.copy(db, night_db)
        nights.append(timed([*JM, "run", "--input", str(night_input), "--db", str(night_db),
                             "--format", "json"]))
        night_db.unlink()
    results["incremental_night"] = median_of(nights)
    results["incremental_events"] = sum(
        s["events"] for s in json.loads(str(nights[0]["stdout"]))["sources"])

    log(f"{size}: funnel")
    funnel_cli = [timed([*JM, "funnel", "--db", str(db), "--framework", str(FRAMEWORK),
                         "--format", "json"]) for _ in range(repeat)]
    results["funnel_command"] = median_of(funnel_cli)
    cli_persons = [r["persons"] for r in json.loads(str(funnel_cli[0]["stdout"]))]
    engine = timed([sys.executable, "-c", ENGINE_ONLY, str(db), str(FRAMEWORK), str(repeat)])
    engine_out = json.loads(str(engine["stdout"]).strip().splitlines()[-1])
    results["funnel_engine"] = {"seconds": statistics.median(engine_out["times"]),
                                "runs": engine_out["times"], "rss_mb": engine["rss_mb"]}
    export_dir = work / "export"
    results["export"] = median_of([timed([*JM, "export", "--db", str(db), "--out",
                                          str(export_dir)])])
    # whole processes, start-up included: ours (default, --by channel, --trend, --times) and
    # the polars chain as a script
    polars_cli = [timed([sys.executable, str(ROOT / "bench" / "funnel_polars.py"),
                         str(export_dir / "events.parquet")]) for _ in range(repeat)]
    results["funnel_polars_process"] = median_of(polars_cli)
    modes = {"by_channel": (["--by", "channel"], "--by-channel"),
             "trend": (["--trend", "week"], "--trend-week"), "times": (["--times"], None)}
    for option, (flags, peer_mode) in modes.items():
        ours = [timed([*JM, "funnel", "--db", str(db), "--framework", str(FRAMEWORK),
                       "--format", "json", *flags]) for _ in range(repeat)]
        results[f"funnel_command_{option}"] = median_of(ours)
        if peer_mode is None:  # the peer has no --times: compared with its plain chain
            continue
        # the peer computes the same split (bench/funnel_polars.py), and the counts must agree
        theirs = [timed([sys.executable, str(ROOT / "bench" / "funnel_polars.py"),
                         str(export_dir / "events.parquet"), peer_mode]) for _ in range(repeat)]
        results[f"funnel_polars_process_{option}"] = median_of(theirs)
        split: dict[str, list[int]] = {}
        for row in json.loads(str(ours[0]["stdout"])):
            if option == "by_channel":
                split.setdefault(row["group"], []).append(row["persons"])
            elif row["group"] == "all":
                split.setdefault(str(row["period"]), []).append(row["persons"])
        peer_split = json.loads(str(theirs[0]["stdout"]).strip().splitlines()[-1])
        results[f"funnel_counts_{option}"] = {"agree": split == peer_split,
                                              "groups": len(split)}
    polars_run = timed([sys.executable, "-c", POLARS, str(export_dir / "events.parquet"),
                        str(repeat), str(ROOT / "bench")])
    polars_out = json.loads(str(polars_run["stdout"]).strip().splitlines()[-1])
    results["funnel_polars_join_asof"] = {"seconds": statistics.median(polars_out["times"]),
                                          "runs": polars_out["times"],
                                          "rss_mb": polars_run["rss_mb"]}
    polars_process_counts = json.loads(str(polars_cli[0]["stdout"]).strip().splitlines()[-1])
    results["funnel_counts"] = {"journey_metrics": cli_persons, "polars": polars_out["persons"],
                                "agree": cli_persons == polars_out["persons"]
                                and cli_persons == polars_process_counts}

    log(f"{size}: attribution")
    attribution = [*JM, "attribution", "--db", str(db), "--conversion", "order_completed",
                   "--format", "json"]
    results["attribution_all_models"] = median_of(
        [timed([*attribution, "--model", "all"]) for _ in range(repeat)])
    two = [timed([*attribution, "--model", "last", "--model", "linear"]) for _ in range(repeat)]
    results["attribution_last_linear"] = median_of(two)
    ours = json.loads(str(two[0]["stdout"]))
    latest = timed([sys.executable, "-c",
                    "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True)"
                    ".execute('SELECT max(occurred_at) FROM events').fetchone()[0].isoformat())",
                    str(db)])
    peer = timed([sys.executable, "-c", ATTRIBUTION_POLARS, str(export_dir / "events.parquet"),
                  str(latest["stdout"]).strip(), str(repeat), str(ROOT / "bench")])
    peer_out = json.loads(str(peer["stdout"]).strip().splitlines()[-1])
    results["attribution_polars_last_linear"] = {
        "seconds": statistics.median(peer_out["times"]), "runs": peer_out["times"],
        "rss_mb": peer["rss_mb"]}
    results["attribution_agree"] = same_attribution(ours, peer_out["rows"])

    for name, cmd in {
        "retention": [*JM, "retention", "--db", str(db), "--framework", "aarrr", "--start",
                      "activation", "--period", "week", "--format", "json"],
        "referral": [*JM, "referral", "--db", str(db), "--format", "json"],
        "nps": [*JM, "nps", "--db", str(db), "--by", "channel", "--format", "json"],
        "report": [*JM, "report", "--db", str(db), "--out", str(work / "report")],
    }.items():
        log(f"{size}: {name}")
        results[name] = median_of([timed(cmd) for _ in range(repeat)])
    return results


def commit() -> str:
    """The checkout's short commit id (BENCH_COMMIT when git cannot say), kept with results."""
    found = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True)
    return found.stdout.strip() or os.environ.get("BENCH_COMMIT", "")


def machine() -> dict[str, str]:
    import duckdb
    import polars

    return {
        "python": platform.python_version(),
        "cpu": next((line.split(":", 1)[1].strip() for line in
                     Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), platform.processor()),
        "cores": str(os.cpu_count()),
        "memory_gb": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f}",
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m,10m")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--persons", type=int, default=0,
                        help="persons to generate for the (single) size, instead of the default")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.persons:
        PERSONS.update({size: args.persons for size in args.sizes.split(",")})
    for size in args.sizes.split(","):
        result = {"machine": machine(), "commit": commit(), **bench_size(size, args.repeat)}
        (RESULTS / f"{size}.json").write_text(json.dumps(result, indent=2))
        log(f"{size}: written to {RESULTS / f'{size}.json'}")
    subprocess.run([sys.executable, str(ROOT / "bench" / "report.py")], check=True)


if __name__ == "__main__":
    main()
