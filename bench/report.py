"""Write docs/benchmarks.md from bench/results/*.json (run by bench/run.py)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def fmt(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def ratio(r: dict, a: str, b: str, unit: str = "x", key: str = "seconds") -> str:
    if a not in r or b not in r or not r[b].get(key):
        return ""
    return f"{r[a][key] / r[b][key]:.2f}{unit}"


def cpu_note(r: dict, a: str, b: str) -> str:
    found = ratio(r, a, b, key="cpu_seconds")
    return f" (CPU {found})" if found else ""


def table(result: dict) -> list[str]:
    r = result
    rows = [
        ("ingest: `journey-metrics run` (raw files → stitched warehouse + dashboard marts,"
         " memory_limit 1GB)", "ingest",
         f"{ratio(r, 'ingest', 'bare_parse')} bare parse"
         + cpu_note(r, "ingest", "bare_parse")),
        ("ingest floor: bare DuckDB `read_json`/`read_csv` into tables", "bare_parse", "1.0x"),
        ("peer: dlt pipeline merge-loading the same folder into DuckDB", "dlt_peer",
         f"journey-metrics {ratio(r, 'dlt_peer', 'ingest')} faster"
         + cpu_note(r, "dlt_peer", "ingest")),
        ("ingest with DuckDB memory_limit=4GB (default 1GB)", "ingest_memory_limit_4gb",
         f"{ratio(r, 'ingest_memory_limit_4gb', 'bare_parse')} bare parse"),
        (f"incremental night (+{r.get('incremental_events', 0):,} events)", "incremental_night",
         f"{ratio(r, 'incremental_night', 'ingest')} of the full load"),
        ("funnel: `journey-metrics funnel` (whole process)", "funnel_command",
         f"{ratio(r, 'funnel_command', 'funnel_polars_process')} polars process"
         + cpu_note(r, "funnel_command", "funnel_polars_process")),
        ("funnel `--by channel` (whole process)", "funnel_command_by_channel",
         f"{ratio(r, 'funnel_command_by_channel', 'funnel_polars_process_by_channel')} polars"
         " process (same split)"
         + cpu_note(r, "funnel_command_by_channel", "funnel_polars_process_by_channel")),
        ("funnel `--trend week` (whole process)", "funnel_command_trend",
         f"{ratio(r, 'funnel_command_trend', 'funnel_polars_process_trend')} polars process"
         " (same split)" + cpu_note(r, "funnel_command_trend", "funnel_polars_process_trend")),
        ("funnel `--times` (whole process)", "funnel_command_times",
         f"{ratio(r, 'funnel_command_times', 'funnel_polars_process')} polars process"
         " (plain chain: the peer has no times)"
         + cpu_note(r, "funnel_command_times", "funnel_polars_process")),
        ("peer: polars join_asof chain (whole process: `python bench/funnel_polars.py`)",
         "funnel_polars_process", "1.00x"),
        ("peer: polars, `--by-channel` (whole process)", "funnel_polars_process_by_channel",
         "1.00x"),
        ("peer: polars, `--trend-week` (whole process)", "funnel_polars_process_trend", "1.00x"),
        ("funnel: engine only (SQL, in process)", "funnel_engine",
         f"{ratio(r, 'funnel_engine', 'funnel_polars_join_asof')} polars in process"),
        ("peer: polars join_asof chain (in process)", "funnel_polars_join_asof", "1.00x"),
        ("retention (weekly cohorts)", "retention", ""),
        ("referral (monthly)", "referral", ""),
        ("NPS by channel (monthly)", "nps", ""),
        ("report (dashboard, 16 charts + PNGs)", "report", ""),
        ("export (Parquet)", "export", ""),
    ]
    lines = ["| what | median wall | runs | median CPU | load | max RSS | ratio |",
             "|---|---:|---|---:|---|---:|---|"]
    for name, key, text in rows:
        if key not in r:
            continue
        m = r[key]
        runs = ", ".join(f"{x:.2f}" for x in m.get("runs", [])) or "-"
        cpu = fmt(m["cpu_seconds"]) if m.get("cpu_seconds") else "-"
        load = ", ".join(f"{x:.1f}" for x in m.get("load", [])) or "-"
        lines.append(f"| {name} | {fmt(m['seconds'])} | {runs} | {cpu} | {load} |"
                     f" {m['rss_mb']:,.0f} MB | {text} |")
    return lines


def scale_table() -> list[str]:
    """The scale curve (bench/scale.py): per size and command, wall, CPU, peak RSS, and CPU
    seconds per million events (flat = linear)."""
    found = [json.loads(p.read_text()) for p in sorted((RESULTS / "scale").glob("*.json"))]
    if not found:
        return []
    found.sort(key=lambda r: r["events_total"])
    out = ["## Scale curve (`bench/scale.py`)", "",
           "Each command once per size, as its own process, on the generated inputs (85k, 850k",
           "and 2.55M persons, 90 days, seed 11). CPU s per million events is the cost per",
           "unit: a flat row is linear growth, but only between rows of one commit: a size",
           "re-measured later may have run on another machine (bench/notes.md says which).", "",
           "| command | size | events | wall | CPU | CPU s / M events | max RSS | load | commit |",
           "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for command in ("bare_parse", "run", "funnel", "paths", "attribution", "report"):
        for r in found:
            m = r.get(command)
            if not m:
                continue
            millions = r["events_total"] / 1e6
            out.append(f"| {command} | {r['size']} | {r['events_total']:,} | {fmt(m['seconds'])}"
                       f" | {fmt(m['cpu_seconds'])} | {m['cpu_seconds'] / millions:.2f}"
                       f" | {m['rss_mb']:,.0f} MB | {m['load'][0]:.1f} | {r.get('commit', '')} |")
    commits = sorted({str(r.get("commit", "")) for r in found})
    dates = sorted({r["machine"]["date"] for r in found})
    out += ["", "`bare_parse` is DuckDB's `read_json`/`read_csv` of the same files into tables,",
            "nothing else (the ingest floor of issue 17)."]
    ratios = [f"{r['size']} {r['run']['seconds'] / r['bare_parse']['seconds']:.1f}x wall,"
              f" {r['run']['cpu_seconds'] / r['bare_parse']['cpu_seconds']:.1f}x CPU"
              for r in found if r.get("bare_parse") and r.get("run")]
    if ratios:
        out += [f"`run` / bare parse: {'; '.join(ratios)} (target: 4x at 10M)."]
    out += ["", f"Measured at commit {', '.join(commits)} on {', '.join(dates)}.", ""]
    return out


def funnel_peer_table() -> list[str]:
    """Funnel vs the polars chain, whole processes, interleaved (bench/funnel_peers.py)."""
    found = sorted((RESULTS / "funnel").glob("*.json"))
    out: list[str] = []
    for path in found:
        r = json.loads(path.read_text())
        out += [f"## Funnel vs polars, whole processes ({path.stem}, `bench/funnel_peers.py`)", "",
                f"Commit {r.get('commit', '')}, {r['machine']['date']}; medians of interleaved"
                " runs (ours, polars, ours, ...); start-up included.", "",
                "| mode | ours wall | polars wall | ours CPU | polars CPU | ratio (wall) |"
                " ratio (CPU) | counts |", "|---|---:|---:|---:|---:|---:|---:|---|"]
        for mode in ("plain", "by_channel", "trend", "times"):
            if mode not in r:
                continue
            o, p = r[mode]["ours"], r[mode]["polars"]
            agree = r[mode].get("agree")
            note = ("agree" if agree else "DISAGREE") if agree is not None else \
                "peer: plain chain (it has no times)"
            out.append(f"| {mode} | {fmt(o['seconds'])} | {fmt(p['seconds'])} |"
                       f" {fmt(o['cpu_seconds'])} | {fmt(p['cpu_seconds'])} |"
                       f" {o['seconds'] / p['seconds']:.2f}x |"
                       f" {o['cpu_seconds'] / p['cpu_seconds']:.2f}x | {note} |")
        loads = [x for mode in r if isinstance(r[mode], dict) and "ours" in r[mode]
                 for x in r[mode]["ours"]["load"]]
        if loads:
            out += ["", f"Load average during these runs: {min(loads):.1f} to {max(loads):.1f}."]
        out += [""]
    return out


def main() -> None:
    out = ["# Benchmarks", "",
           "Measured by `make bench` (`bench/run.py`) on the project's machine; every command runs",
           "as its own process (wall time, CPU = user + system, and max RSS from GNU time),",
           "medians of the repetitions. The machine (2 cores) is shared with other work: the",
           "`load` column is the 1-minute load average when each run started; with a load above",
           "2, wall times stretch and the CPU column is the fairer comparison. Every section",
           "names its date (and its commit): the machine was replaced on 2026-12-02 by one about",
           "2.7x slower per core (same cores and memory), and for the sixth pass by a faster one",
           "again (bench/notes.md), so compare ratios measured in one run, not seconds across",
           "dates.", ""]
    # the targets' latest state first (hand-written: it cites passes of several calls), then
    # the tables of the latest `bench/run.py` call, then the history in bench/notes.md
    targets = ROOT / "bench" / "targets.md"
    if targets.exists():
        out += [targets.read_text()]
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        m = r["machine"]
        out += [f"## {r['size']}: {r['events_total']:,} events, {r['persons']:,} persons "
                f"({r['records']:,} records)", "",
                f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python "
                f"{m['python']}, DuckDB {m['duckdb']}, polars {m['polars']}; {m['date']}"
                + (f", commit {r['commit']}." if r.get("commit") else "."), ""]
        out += table(r)
        counts = r["funnel_counts"]
        out += ["", f"Funnel counts per stage: journey-metrics {counts['journey_metrics']}, "
                f"polars {counts['polars']}: {'agree' if counts['agree'] else 'DISAGREE'}."]
        for option, label in (("by_channel", "per channel"), ("trend", "per week")):
            split = r.get(f"funnel_counts_{option}")
            if split:
                out += [f"Counts {label} ({split['groups']} groups): "
                        f"{'agree' if split['agree'] else 'DISAGREE'}."]
        out += [""]
    out += funnel_peer_table()
    out += scale_table()
    notes = ROOT / "bench" / "notes.md"
    if notes.exists():
        out += [notes.read_text()]
    # Spark against DuckDB (issue 16): bench/spark.py's results, rendered by its own module
    import spark_report

    out += ["", spark_report.START, spark_report.render_benchmarks(), spark_report.END]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
