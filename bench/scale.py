"""The scale curve (issue 17 point 4): run, funnel, paths, attribution and report at 1M, 10M and
30M events, each as its own process: wall, CPU (user + system), peak RSS, the load average when it
started, and the cost per million events; beside `run`, DuckDB's bare parse of the same files
(bench/run.py's floor), so the ingest ratio is measured at every size.

    python bench/scale.py [--sizes 1m,10m,30m] [--repeat 1] [--floor-only]

`--floor-only` times only the bare parse and adds it to an existing SIZE.json.

Inputs are the cached `journey-metrics generate` folders of bench/run.py (bench/cache/input-SIZE,
seed 11, 90 days, the last day held back); this script generates a missing one the same way.
Results go to bench/results/scale/SIZE.json; bench/report.py renders them into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # bench/run.py: the same inputs, timer and environment

RESULTS = bench.RESULTS / "scale"
bench.PERSONS.update({"30m": 2_550_000})


def scale_size(size: str, repeat: int, work_root: Path) -> dict[str, object]:
    full, _extra = bench.ensure_input(size)
    work = work_root / f"scale-{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "journey.duckdb"
    jm = bench.JM
    result: dict[str, object] = {"size": size, "persons_generated": bench.PERSONS[size],
                                 "commit": bench.commit()}
    result["bare_parse"] = bench.bare_parse(full, work, repeat)
    bench.log(f"{size}: run")
    first = bench.timed([*jm, "run", "--input", str(full), "--db", str(db), "--format", "json"])
    summary = json.loads(str(first["stdout"]))
    result.update(events_total=summary["events_total"], persons=summary["persons"],
                  records=sum(s["records"] for s in summary["sources"]))
    result["run"] = bench.median_of([first])
    commands = {
        "funnel": [*jm, "funnel", "--db", str(db), "--framework", str(bench.FRAMEWORK),
                   "--format", "json"],
        "paths": [*jm, "paths", "--db", str(db), "--format", "json"],
        "attribution": [*jm, "attribution", "--db", str(db), "--conversion", "order_completed",
                        "--model", "all", "--format", "json"],
        "report": [*jm, "report", "--db", str(db), "--out", str(work / "report")],
    }
    for name, cmd in commands.items():
        bench.log(f"{size}: {name}")
        result[name] = bench.median_of([bench.timed(cmd) for _ in range(repeat)])
    result["db_mb"] = db.stat().st_size / 2**20
    shutil.rmtree(work, ignore_errors=True)
    return result


def floor_only(size: str, repeat: int, work_root: Path) -> dict[str, object]:
    found: dict[str, Any] = json.loads((RESULTS / f"{size}.json").read_text())
    full, _extra = bench.ensure_input(size)
    work = work_root / f"scale-{size}"
    work.mkdir(parents=True, exist_ok=True)
    bench.log(f"{size}: bare parse")
    found["bare_parse"] = bench.bare_parse(full, work, repeat)
    found["bare_parse"]["commit"] = bench.commit()
    found["bare_parse"]["date"] = bench.machine()["date"]
    shutil.rmtree(work, ignore_errors=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m,10m,30m")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--work", default=str(bench.CACHE),
                        help="folder for the warehouses (deleted after each size)")
    parser.add_argument("--floor-only", action="store_true",
                        help="time only the bare parse, into the existing SIZE.json")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for size in args.sizes.split(","):
        started = time.monotonic()
        if args.floor_only:
            result = floor_only(size, args.repeat, Path(args.work))
        else:
            result = {"machine": bench.machine(),
                      **scale_size(size, args.repeat, Path(args.work))}
        (RESULTS / f"{size}.json").write_text(json.dumps(result, indent=2))
        bench.log(f"{size}: written in {time.monotonic() - started:.0f} s")
    subprocess.run([sys.executable, str(bench.ROOT / "bench" / "report.py")], check=True)


if __name__ == "__main__":
    main()
