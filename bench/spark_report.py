"""Render bench/results/spark/*.json (bench/spark.py) into the docs.

    python bench/spark_report.py

- docs/benchmarks.md: the section "Spark against DuckDB (issue 16)", between its markers
  (appended once, then replaced in place; the rest of the file is bench/report.py's);
- docs/scale-out.md: the measured blocks of "When to move" and "Scale-out estimate", between
  their markers (the prose around them is written by hand).

`render_benchmarks()` returns the benchmarks section alone, for bench/report.py to call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "spark"
NIGHT_HOURS = 4.0
HISTORY_DAYS = 90  # the history the nightly metrics read (the generated inputs' span)


def load() -> dict[str, dict[str, Any]]:
    order = {"1m": 0, "10m": 1}
    found = {p.stem: json.loads(p.read_text()) for p in RESULTS.glob("*.json")
             if p.stem != "fixed_cost" and not p.stem.startswith("connect-")}
    return dict(sorted(found.items(), key=lambda kv: order.get(kv[0], 9)))


def load_connect() -> dict[str, dict[str, Any]]:
    """bench/spark.py --connect: size -> results (`sample` first)."""
    order = {"sample": 0, "1m": 1, "10m": 2}
    found = {p.stem.removeprefix("connect-"): json.loads(p.read_text())
             for p in RESULTS.glob("connect-*.json")}
    return dict(sorted(found.items(), key=lambda kv: order.get(kv[0], 9)))


def connect_section(results: dict[str, dict[str, Any]]) -> list[str]:
    """One table: each size's commands on DuckDB and through a warm Spark Connect server."""
    if not results:
        return []
    lines = [
        "### Through a warm Spark Connect server",
        "",
        "`python bench/spark.py --connect --sizes ...`: one Connect server (`local[2]`, the same "
        "driver memory) is started and warmed by one untimed command, then every command runs as "
        "a client (`--spark-remote`), as on a cluster whose JVM is already up. CPU: the client's "
        "process tree plus what the server spent meanwhile. DuckDB is timed again in the same "
        "call.",
        "",
        "| size | command | DuckDB | Spark Connect | Spark/DuckDB | CPU DuckDB / Spark "
        "| rows equal | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, r in results.items():
        label = (f"{size} ({r['events']:,} events, {r['machine']['date']}"
                 f"{'' if r.get('complete', True) else ', partial'})")
        for c in r["commands"].values():
            d, s = c["duckdb"], c["spark_connect"]
            equal = "yes" if c["rows_equal"] else f"**no**: {c['difference']}"
            lines.append(
                f"| {label} | `{' '.join(c['args'])}` | {sec(d['seconds'])} | "
                f"{sec(s['seconds'])} | {c['ratio']:.1f}x | {d['cpu_seconds']:.1f} / "
                f"{s['cpu_seconds']:.1f} s | {equal} | {loads(d)} / {loads(s)} |")
            label = ""
    lines.append("")
    return lines


def sec(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def loads(run: dict[str, Any]) -> str:
    return "/".join(f"{x:.1f}" for x in run.get("load", []))


def _gb(value: float) -> str:
    return f"{value:,.1f} GB"


def fixed_cost() -> dict[str, Any] | None:
    path = RESULTS / "fixed_cost.json"
    return dict(json.loads(path.read_text())) if path.exists() else None


def beyond(duck: float, spark: float, fixed: dict[str, Any] | None) -> str:
    """The ratio of what each engine spent beyond its fixed cost (rough: measured apart)."""
    if fixed is None:
        return ""
    d, s = duck - fixed["duckdb"]["seconds"], spark - fixed["spark"]["seconds"]
    return f"{s / d:.1f}x" if d > 0 and s > 0 else "-"


def _or_unknown(value: float | None, spec: str) -> str:
    return "?" if value is None else format(value, spec)


def size_section(size: str, r: dict[str, Any]) -> list[str]:
    fixed = fixed_cost()
    m = r["machine"]
    lines = [
        f"### {size}: {r['events']:,} events, {r['persons']:,} persons "
        f"(measured {m['date']}, pyspark {m['pyspark']}, DuckDB {m['duckdb']}, {m['cores']} cores, "
        f"`{r['master']}`, driver memory {r['driver_memory']})",
        "",
        "Whole processes over the same lake (`--events`), CLI start-up included. CPU: the process "
        "and every descendant (Spark: its JVM). Memory: peak RSS summed over the process tree. "
        "load: the 1-minute load average when each run started (the 2 cores are shared).",
        "",
        "| command | DuckDB | Spark | Spark/DuckDB | beyond the fixed cost | CPU DuckDB / Spark "
        "| memory DuckDB / Spark | rows equal | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    pair = r.get("ingest_pair")  # both ingests timed back to back (bench/spark.py --ingest-only)
    ingest = pair["duckdb"] if pair else r["ingest_duckdb"]
    spark_ingest = r.get("ingest_spark")
    if pair:
        lines.append(
            f"| ingest (`run`, one after the other) | {sec(ingest['seconds'])} | "
            f"{sec(pair['spark']['seconds'])} | {pair['ratio']:.2f}x | | "
            f"{_or_unknown(ingest['cpu_seconds'], '.0f')} / "
            f"{_or_unknown(pair['spark']['cpu_seconds'], '.0f')} s | "
            f"{_or_unknown(ingest['rss_mb'], ',.0f')} / "
            f"{_or_unknown(pair['spark']['rss_mb'], ',.0f')} MB | run summaries "
            f"{'equal' if pair['summaries_equal'] else '**differ**'} | "
            f"{loads(ingest)} / {loads(pair['spark'])} |")
    elif spark_ingest:
        lines.append(
            f"| ingest (`run`) | {sec(ingest['seconds'])} | {sec(spark_ingest['seconds'])} | "
            f"{r['ingest_ratio']:.2f}x | | {ingest['cpu_seconds']:.0f} / "
            f"{spark_ingest['cpu_seconds']:.0f} s | {ingest['rss_mb']:,.0f} / "
            f"{spark_ingest['rss_mb']:,.0f} MB | - | {loads(ingest)} / {loads(spark_ingest)} |")
    else:
        lines.append(
            f"| ingest (`run`) | {sec(ingest['seconds'])} | not timed (`run --engine` not on "
            f"this branch yet) | | | {ingest['cpu_seconds']:.0f} s | {ingest['rss_mb']:,.0f} MB "
            f"| - | {loads(ingest)} |")
    total_d = total_s = 0.0
    for c in r["commands"].values():
        d, s = c["duckdb"], c["spark"]
        total_d += d["seconds"]
        total_s += s["seconds"]
        equal = "yes" if c["rows_equal"] else f"**no**: {c['difference']}"
        lines.append(
            f"| `{' '.join(c['args'])}` | {sec(d['seconds'])} | {sec(s['seconds'])} | "
            f"{c['ratio']:.2f}x | {beyond(d['seconds'], s['seconds'], fixed)} | "
            f"{d['cpu_seconds']:.1f} / {s['cpu_seconds']:.1f} s | "
            f"{d['rss_mb']:,.0f} / {s['rss_mb']:,.0f} MB | {equal} ({c['rows']} rows) | "
            f"{loads(d)} / {loads(s)} |")
    lines.append(f"| **all metric commands** | {sec(total_d)} | {sec(total_s)} | "
                 f"{total_s / total_d:.2f}x | | | | | |")
    lines.append("")
    if pair and pair.get("note"):
        lines += [f"Ingest: {pair['note']}", ""]
    if not r.get("complete", True):
        lines += [f"Partial: {len(r['commands'])} of the bench's metric commands measured "
                  "before the run was stopped (`python bench/spark.py --sizes "
                  f"{size}` measures them all).", ""]
    return lines


def render_benchmarks() -> str:
    results = load()
    lines = [
        "## Spark against DuckDB (issue 16)",
        "",
        "`python bench/spark.py` (Spark's venv: pyspark and Java 17). Target: Spark within 3x of "
        "DuckDB's time at 10M events on this machine (`local[2]`); rows equal (CONTRACT §12). "
        "Spark pays a JVM start per command and shuffles on one machine; the point is the same "
        "numbers and a path to a cluster (docs/scale-out.md).",
        "",
    ]
    if not results:
        return "\n".join([*lines, "Not measured yet.", ""])
    f = fixed_cost()
    if f is not None:
        d, s = f["duckdb"], f["spark"]
        lines += [
            f"What a command costs before the data matters (`{' '.join(f['command'])}` over "
            f"data/sample/'s lake): DuckDB {sec(d['seconds'])} ({d['cpu_seconds']:.1f} CPU-s, "
            f"{d['rss_mb']:,.0f} MB), Spark {sec(s['seconds'])} ({s['cpu_seconds']:.1f} CPU-s, "
            f"{s['rss_mb']:,.0f} MB: starting the JVM and the session, planning each "
            f"statement), load {loads(d)} / {loads(s)}. On one machine that fixed cost is much "
            "of a Spark command's time below; \"beyond the fixed cost\" compares what each "
            "engine spent beyond it (rough: measured at another moment of the shared load).",
            "",
        ]
    for size, r in results.items():
        lines += size_section(size, r)
    lines += connect_section(load_connect())
    big = results.get("10m")
    if big:
        ratios = {n: c["ratio"] for n, c in big["commands"].items()}
        over = sorted(n for n, v in ratios.items() if v > 3)
        equal = all(c["rows_equal"] for c in big["commands"].values())
        lines += [
            f"At 10M: {len(ratios) - len(over)} of {len(ratios)} metric commands within 3x"
            + (f"; over it: {', '.join(over)}" if over else "")
            + f". Rows equal on every command: {'yes' if equal else 'no'}."
            + (f" Spark ingest: {big['ingest_pair']['ratio']:.2f}x DuckDB's."
               if big.get("ingest_pair") else "" if big.get("ingest_spark") else
               " Spark ingest: not measured here (bench/spark.py times it once `run` has "
               "`--engine`)."),
            "",
        ]
    return "\n".join(lines)


START, END = "<!-- spark-bench:start -->", "<!-- spark-bench:end -->"


def replace_block(text: str, block: str, start: str, end: str, anchor: str | None = None) -> str:
    """Put `block` between the markers: in place when they exist, else after the section whose
    heading is `anchor` (before the next heading), else at the end."""
    wrapped = f"{start}\n{block.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        return head + wrapped + rest.split(end, 1)[1]
    if anchor and anchor in text:
        head, rest = text.split(anchor, 1)
        cut = rest.find("\n## ")
        if cut < 0:
            return f"{text.rstrip()}\n\n{wrapped}\n"
        return f"{head}{anchor}{rest[:cut].rstrip()}\n\n{wrapped}\n{rest[cut:]}"
    return f"{text.rstrip()}\n\n{wrapped}\n"


def night_capacity(r: dict[str, Any]) -> dict[str, float]:
    """Events per day DuckDB handles in the nightly window: a night ingests one day's events and
    runs every metric over HISTORY_DAYS of them; both measured times scale linearly."""
    events = float(r["events"])
    ingest_per_event = r["ingest_duckdb"]["seconds"] / events
    metrics = sum(c["duckdb"]["seconds"] for c in r["commands"].values())
    metrics_per_event = metrics / events
    per_day_event = ingest_per_event + HISTORY_DAYS * metrics_per_event
    return {
        "ingest_events_per_s": events / r["ingest_duckdb"]["seconds"],
        "metrics_seconds": metrics,
        "events_per_day": NIGHT_HOURS * 3600 / per_day_event,
    }


def render_when_to_move(results: dict[str, dict[str, Any]]) -> str:
    r = results.get("10m") or next(iter(results.values()), None)
    if r is None:
        return "Not measured yet (`python bench/spark.py`)."
    cap = night_capacity(r)
    load = r["ingest_duckdb"].get("load", [0.0])
    per_day = cap["events_per_day"]
    return "\n".join([
        f"Measured on this machine ({r['machine']['cores']} shared cores, "
        f"{r['machine']['memory_gb']} GB, {r['machine']['date']}, load average "
        f"{load[0]:.1f} when the load started) at {r['events']:,} events:",
        "",
        f"- DuckDB ingest (`run`, the whole input at once): {sec(r['ingest_duckdb']['seconds'])}, "
        f"{cap['ingest_events_per_s']:,.0f} events/s;",
        f"- the {len(r['commands'])} metric commands of the bench over those events: "
        f"{sec(cap['metrics_seconds'])} in all;",
        f"- so a {NIGHT_HOURS:.0f}-hour night (ingest one day, then every metric over "
        f"{HISTORY_DAYS} days of history, both linear in events) fits about "
        f"**{per_day / 1e6:,.0f}M events per day** ({per_day * HISTORY_DAYS / 1e9:,.1f}B events "
        f"in the history the metrics read).",
        "",
        "Move to Spark well before that: when a night's run passes about half the window, when "
        "the history no longer fits the machine's disk"
        + (f" (the warehouse holds {r['warehouse_bytes'] / r['events']:,.0f} bytes per event, "
           f"the exported lake {r['lake_bytes'] / r['events']:,.0f})"
           if r.get("warehouse_bytes") and r.get("lake_bytes") else "")
        + ", or when several teams need the metrics from one lake. "
        "These figures were measured with other jobs sharing the 2 cores (load average above); "
        "an idle machine of the same size does better, so they are a floor.",
    ])


def rescaled(r: dict[str, Any]) -> dict[str, Any]:
    """The estimate recomputed from the stored task metrics with bench/spark.py's present
    assumptions (so a change of them needs no re-run); the stored one if that cannot load."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from spark import scale_out  # type: ignore[import-not-found]
    except ImportError:
        return dict(r["scale_out"])
    per_command = {n: c["spark_metrics"] for n, c in r["commands"].items()}
    ingest = (r.get("ingest_spark") or {}).get("spark_metrics")
    return dict(scale_out(per_command, int(r["events"]), ingest))


def render_estimate(results: dict[str, dict[str, Any]]) -> str:
    r = results.get("10m") or next(iter(results.values()), None)
    if r is None:
        return "Not measured yet (`python bench/spark.py`)."
    est = rescaled(r)
    lines = [
        f"From Spark's own task metrics (event log, `SparkListenerTaskEnd`) of the "
        f"{est['measured_events']:,}-event run, multiplied by {est['factor']:,} for "
        f"{est['target_events']:,} events:",
        "",
        "| command | input | shuffle written | widest stage | partitions "
        f"({est['task_mb']} MB each) | executor core-hours (run time) | executor CPU-hours |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in est["commands"].items():
        lines.append(f"| {name} | {_gb(c['input_gb'])} | {_gb(c['shuffle_write_gb'])} | "
                     f"{_gb(c['widest_stage_gb'])} | {c['partitions']:,} | "
                     f"{c['executor_core_hours']:,.2f} | {c.get('executor_cpu_hours', 0):,.2f} |")
    lines += [
        "",
        f"All of it: **{est['executor_core_hours']:,.1f} executor core-hours** a night. To finish "
        f"in {est['night_hours']:.0f} hours with {est['efficiency']:.0%} of the cores busy: "
        f"**{est['cores']} cores**, e.g. {est['suggested_cluster']}; set "
        f"`spark.sql.shuffle.partitions` to about {est['shuffle_partitions']:,} (or leave "
        "adaptive execution to coalesce from there). Sized on the tasks' CPU time instead "
        f"({est.get('executor_cpu_hours', 0):,.1f} CPU-hours), "
        f"{est.get('cores_if_cpu_bound', 0)} cores would do: the truth for a dedicated cluster "
        "lies between, nearer the CPU figure the less the tasks wait on I/O.",
        "",
        "Assumptions:",
        "",
        *[f"- {a}" for a in est["assumptions"]],
        f"- the measured executor time is on `{r['master']}` with other jobs sharing the "
        "cores: time per byte on a dedicated cluster core is likely lower, the network "
        "shuffle higher.",
    ]
    if not r.get("ingest_spark"):
        lines.append("- ingest is not in the estimate (`run --engine spark` was not on this "
                     "branch when measured): add it by re-running bench/spark.py.")
    return "\n".join(lines)


def main() -> None:
    results = load()
    bench = ROOT / "docs" / "benchmarks.md"
    bench.write_text(replace_block(bench.read_text(), render_benchmarks(), START, END))
    scale = ROOT / "docs" / "scale-out.md"
    text = scale.read_text()
    text = replace_block(text, render_when_to_move(results), "<!-- when-to-move:start -->",
                         "<!-- when-to-move:end -->", "## When to move")
    text = replace_block(text, render_estimate(results), "<!-- scale-out-estimate:start -->",
                         "<!-- scale-out-estimate:end -->", "## Scale-out estimate")
    scale.write_text(text)
    print(f"wrote {bench} and {scale}")


if __name__ == "__main__":
    main()
