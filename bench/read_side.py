"""The read side's targets (issue 10): a full load, the incremental night including the marts
refresh, `report` (draws the stored page data), the default `funnel` (reads stored rows), a
computed `funnel` and `--help`, each as its own process (wall and CPU from GNU time).

    python bench/read_side.py INPUT_DIR EXTRA_DAY_DIR OUT_JSON

INPUT_DIR is `bench/run.py`'s cached input without its last day, EXTRA_DAY_DIR that day alone
(bench/cache/input-1m and bench/cache/extra-1m after `python bench/run.py --sizes 1m`); results
go to bench/results/read_side/ (e.g. 1m.json).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # bench/run.py: this checkout's CLI (compiled) and environment

JM, ENV = bench.JM, bench.ENV


def timed(args: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%e %U %S %M", *args], env=ENV,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, user, system, rss = out.read().split()[-4:]
    return {"seconds": float(wall), "cpu_seconds": float(user) + float(system),
            "max_rss_mb": int(rss) / 1024, "load": os.getloadavg()[0]}


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    full, extra, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    work = Path(tempfile.mkdtemp(prefix="read-side-"))
    try:
        inputs = work / "input"
        shutil.copytree(full, inputs, copy_function=os.link)
        db = str(work / "w.duckdb")
        results = {"full_load": timed([*JM, "run", "--input", str(inputs), "--db", db])}
        for path in extra.rglob("*"):
            if path.is_file():
                (inputs / path.relative_to(extra)).parent.mkdir(parents=True, exist_ok=True)
                os.link(path, inputs / path.relative_to(extra))
        results["incremental_night"] = timed([*JM, "run", "--input", str(inputs), "--db", db])
        results["rerun_nothing_new"] = timed([*JM, "run", "--input", str(inputs), "--db", db])
        results["report"] = median([timed([*JM, "report", "--db", db, "--out",
                                           str(work / "report")]) for _ in range(2)])
        results["funnel_default"] = median([timed([*JM, "funnel", "--framework", "aarrr",
                                                   "--db", db, "--format", "json"])
                                            for _ in range(3)])
        results["funnel_computed"] = median([timed([*JM, "funnel", "--framework", "aarrr",
                                                    "--window", "30d", "--db", db,
                                                    "--format", "json"]) for _ in range(3)])
        results["help"] = median([timed([*JM, "--help"]) for _ in range(3)])
        night, full_load = results["incremental_night"], results["full_load"]
        results["night_share_of_full_load"] = {
            "seconds": night["seconds"] / full_load["seconds"],
            "cpu_seconds": night["cpu_seconds"] / full_load["cpu_seconds"]}
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
