"""Write docs/benchmarks.md from bench/results/*.json (run by bench/run.py)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def fmt(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def table(result: dict) -> list[str]:
    r = result
    rows = [
        ("ingest: `journey-metrics run` (raw files → stitched warehouse, memory_limit 1GB)",
         r["ingest"],
         f"{r['ingest']['seconds'] / r['bare_parse']['seconds']:.1f}x bare DuckDB parse"),
        ("ingest floor: bare DuckDB `read_json`/`read_csv` into tables", r["bare_parse"], "1.0x"),
        ("ingest with DuckDB memory_limit=4GB (default 1GB)", r["ingest_memory_limit_4gb"],
         f"{r['ingest_memory_limit_4gb']['seconds'] / r['bare_parse']['seconds']:.1f}x bare parse"),
        (f"incremental night (+{r['incremental_events']:,} events)", r["incremental_night"],
         f"{100 * r['incremental_night']['seconds'] / r['ingest']['seconds']:.0f}% of full load"),
        ("funnel: `journey-metrics funnel` (whole process)", r["funnel_command"],
         f"{r['funnel_command']['seconds'] / r['funnel_polars_join_asof']['seconds']:.2f}x polars"),
        ("funnel: engine only (SQL)", r["funnel_engine"],
         f"{r['funnel_engine']['seconds'] / r['funnel_polars_join_asof']['seconds']:.2f}x polars"),
        ("funnel: polars join_asof chain (peer)", r["funnel_polars_join_asof"], "1.00x"),
        ("retention (weekly cohorts)", r["retention"], ""),
        ("referral (monthly)", r["referral"], ""),
        ("NPS by channel (monthly)", r["nps"], ""),
        ("report (dashboard, 16 charts + PNGs)", r["report"], ""),
        ("export (Parquet)", r["export"], ""),
    ]
    lines = ["| what | median | runs | max RSS | ratio |", "|---|---:|---|---:|---|"]
    for name, m, ratio in rows:
        runs = ", ".join(f"{x:.2f}" for x in m.get("runs", [])) or "-"
        lines.append(f"| {name} | {fmt(m['seconds'])} | {runs} | {m['rss_mb']:,.0f} MB | {ratio} |")
    return lines


def main() -> None:
    out = ["# Benchmarks", "",
           "Measured by `make bench` (`bench/run.py`) on the project's machine; every command runs",
           "as its own process (wall time and max RSS from GNU time), medians of the repetitions.",
           ""]
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        m = r["machine"]
        out += [f"## {r['size']}: {r['events_total']:,} events, {r['persons']:,} persons "
                f"({r['records']:,} records)", "",
                f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python "
                f"{m['python']}, DuckDB {m['duckdb']}, polars {m['polars']}; {m['date']}.", ""]
        out += table(r)
        counts = r["funnel_counts"]
        out += ["", f"Funnel counts per stage: journey-metrics {counts['journey_metrics']}, "
                f"polars {counts['polars']}: {'agree' if counts['agree'] else 'DISAGREE'}.", ""]
    notes = ROOT / "bench" / "notes.md"
    if notes.exists():
        out += [notes.read_text()]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
