"""Funnel against the polars chain as whole processes (issue 17 point 3), on an existing warehouse
and its Parquet export: `journey-metrics funnel` (plain, --by channel, --trend week, --times) and
bench/funnel_polars.py (plain, --by-channel, --trend-week), interleaved (ours, theirs, ours, ...)
so both see the same machine load; the counts must agree.

    python bench/funnel_peers.py DB EXPORT_DIR OUT.json [--repeat 5]

bench/run.py measures the same inside a whole `make bench`; this one re-measures only the funnel.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # bench/run.py: the timer, the CLI of this checkout and its environment

MODES = {"plain": ([], ""), "by_channel": (["--by", "channel"], "--by-channel"),
         "trend": (["--trend", "week"], "--trend-week"), "times": (["--times"], "")}


def split_of(mode: str, stdout: str) -> object:
    rows = json.loads(stdout)
    if mode == "plain":
        return [r["persons"] for r in rows]
    split: dict[str, list[int]] = {}
    for row in rows:
        if mode == "by_channel":
            split.setdefault(row["group"], []).append(row["persons"])
        elif row["group"] == "all":
            split.setdefault(str(row["period"]), []).append(row["persons"])
    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("export_dir")
    parser.add_argument("out")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    events = str(Path(args.export_dir) / "events.parquet")
    results: dict[str, object] = {"machine": bench.machine(), "commit": bench.commit()}
    for mode, (ours_args, peer_arg) in MODES.items():
        ours, theirs = [], []
        for _ in range(args.repeat):
            ours.append(bench.timed([*bench.JM, "funnel", "--db", args.db, "--framework",
                                     str(bench.FRAMEWORK), "--format", "json", *ours_args]))
            theirs.append(bench.timed([sys.executable, str(bench.ROOT / "bench" /
                                                          "funnel_polars.py"), events,
                                       *([peer_arg] if peer_arg else [])]))
        ours_counts = None if mode == "times" else split_of(mode, str(ours[0]["stdout"]))
        peer_counts = json.loads(str(theirs[0]["stdout"]).strip().splitlines()[-1])
        entry: dict[str, object] = {"ours": bench.median_of(ours),
                                    "polars": bench.median_of(theirs)}
        if mode != "times":  # --times: the peer has no times, it runs its plain chain
            entry["agree"] = ours_counts == peer_counts
        results[mode] = entry
        bench.log(f"{mode}: ours {entry['ours']['cpu_seconds']:.2f} s CPU, polars "
                  f"{entry['polars']['cpu_seconds']:.2f} s CPU, agree {entry.get('agree')}")
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
