"""Where does `journey-metrics run` spend its time? CPU seconds of every SQL statement of one run.

    python bench/profile_run.py INPUT_FOLDER DB [--top 25]

Every connection the run opens is wrapped: each `execute`/`sql` call's process CPU time
(all DuckDB threads; CPU, not wall, because the machine is shared) is measured (for `sql`, the
relation is materialised by the caller: that time lands in the caller's Python frame) and
summed per statement (its first words and the Python function that issued it). Python time
outside SQL (pandera, reading) is shown by cProfile's own totals for the loader functions.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

SPENT: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0.0])  # CPU s, calls, wall s


def label(query: str) -> str:
    caller = sys._getframe(2).f_code.co_name
    text = " ".join(line for line in query.splitlines() if not line.strip().startswith("--"))
    text = re.sub(r"\s+", " ", text).strip()
    return f"{caller}: {text[:90]}"


class TimedConnection:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        started = time.process_time()  # CPU of the whole process (all DuckDB threads)
        wall = time.perf_counter()
        result = self._con.execute(query, *args, **kwargs)
        entry = SPENT[label(query)]
        entry[0] += time.process_time() - started
        entry[1] += 1
        entry[2] += time.perf_counter() - wall
        return self if result is self._con else result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def __enter__(self) -> TimedConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("db", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    real_connect = duckdb.connect
    duckdb.connect = lambda *a, **k: TimedConnection(real_connect(*a, **k))  # type: ignore[assignment]
    from journey_metrics.pipeline import run  # imported after the patch

    profile = cProfile.Profile()
    started, cpu_started = time.perf_counter(), time.process_time()
    profile.enable()
    run(args.input, args.db)
    profile.disable()
    total = time.process_time() - cpu_started
    print(f"run: {time.perf_counter() - started:.2f} s wall, {total:.2f} s CPU")
    sql_total = sum(v[0] for v in SPENT.values())
    sql_wall = sum(v[2] for v in SPENT.values())
    print(f"SQL statements: {sql_total:.2f} s CPU ({sql_total / total:.0%}), {sql_wall:.2f} s wall")
    # CPU / wall below ~1.5 on two threads: a statement that leaves a core idle
    for name, (seconds, calls, wall) in sorted(SPENT.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"{seconds:8.2f} s CPU {wall:7.2f} s wall {calls:5d}x  {name}")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(r"journey_metrics|pandera", 30)


if __name__ == "__main__":
    main()
