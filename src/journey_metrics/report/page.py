"""The dashboard page: header, one block per chart, Vega inlined once (works offline), and a PNG
per chart for e-mails and slides.

The blocks come from the registry: every section a metric declares is drawn from its rows in the
page data (report/data.py). Nothing here knows which metrics exist.
"""

from __future__ import annotations

import html
import importlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import vl_convert

from journey_metrics.metrics.registry import Block, sections
from journey_metrics.report.data import save


def build_blocks(data: dict[str, Any]) -> list[Block]:
    """Every registered section's blocks, in page order."""
    blocks: list[Block] = []
    for _metric, section in sections():
        module, _, function = section.draw.partition(":")
        draw = getattr(importlib.import_module(module), function)
        blocks.extend(draw(data[section.id], data))
    return blocks


def _spec(chart: Any) -> dict[str, Any]:
    spec: dict[str, Any] = chart.to_dict()
    return spec


def _script_json(value: Any) -> str:
    # JSON inside <script>: "</" would end the element early.
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def write_report(
    data: dict[str, Any], out_dir: Path, progress: Callable[[str], None] | None = None
) -> Path:
    """Write index.html, one PNG per chart and data.json into `out_dir`; return the page path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    save(data, out_dir / "data.json")
    blocks = build_blocks(data)
    specs = {b.id: _spec(b.chart) for b in blocks}

    def render_png(chart_id: str) -> None:
        if progress:
            progress(chart_id)
        png = vl_convert.vegalite_to_png(specs[chart_id], scale=1.5)
        (out_dir / f"{chart_id}.png").write_bytes(png)

    # vl-convert renders outside the GIL: draw the PNGs side by side.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(render_png, specs))
    embed = (
        "const specs = " + _script_json(specs) + ";\n"
        "for (const [id, spec] of Object.entries(specs)) {\n"
        "  vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg'})\n"
        "    .catch((err) => { document.getElementById(id).textContent = 'Chart failed: ' + err;"
        " console.error(err); });\n"
        "}\n"
    )
    bundle = vl_convert.javascript_bundle(embed).replace("</script", "<\\/script")
    page = out_dir / "index.html"
    page.write_text(_html(data, blocks, bundle), encoding="utf-8")
    return page


def _when(iso: str | None) -> str:
    """'2026-04-04T23:59:31.502Z' -> '2026-04-04 23:59 UTC'."""
    return f"{iso[:10]} {iso[11:16]} UTC" if iso else "-"


def _html(data: dict[str, Any], sections: list[Block], bundle: str) -> str:
    e = html.escape
    source_rows = "".join(
        f"<tr><td>{e(s['source'])}</td><td>{s['events']:,}</td><td>{s['quarantined']:,}</td>"
        f"<td>{s['files']:,}</td><td>{s['failed_files']:,}</td></tr>"
        for s in data["sources"]
    )
    failed = "".join(
        f"<li><code>{e(f['file_path'])}</code>: {e(str(f['reason']))}</li>"
        for f in data["failed_files"]
    )
    quarantined = sum(s["quarantined"] for s in data["sources"])
    frameworks = ", ".join(f"{e(f['title'])} ({e(f['window'])})" for f in data["frameworks"])
    toc = "".join(f'<a href="#sec_{s.id}">{e(s.heading)}</a>' for s in sections)
    body = "".join(
        f'<section id="sec_{s.id}"><h2>{e(s.heading)}</h2>'
        f'<p class="how">How to read this: {e(s.how_to_read)}</p>'
        f'<div id="{s.id}" class="chart"></div>'
        f'<p class="png"><a href="{s.id}.png">PNG</a></p></section>'
        for s in sections
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer journey dashboard</title>
<style>
body {{ font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 0 2rem 3rem;
       color: #222; }}
header {{ border-bottom: 1px solid #ddd; padding-bottom: 1rem; }}
h1 {{ margin-bottom: .2rem; }} h2 {{ margin-top: 2.5rem; }}
table {{ border-collapse: collapse; margin: .6rem 0; }}
td, th {{ border: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
.how {{ color: #555; max-width: 60rem; }} .png a {{ font-size: .8rem; color: #777; }}
nav a {{ margin-right: .8rem; font-size: .9rem; }} .warn {{ color: #b30000; }}
</style></head>
<body>
<header>
<h1>Customer journey dashboard</h1>
<p>Data as of <strong>{e(_when(data['as_of']))}</strong>, events from
{e(_when(data['first_event_at']))}.
<strong>{data['persons']:,}</strong> persons. Calendar periods in
{e(data['settings'].get('tz', 'UTC'))}.
</p>
<table><tr><th>Source</th><th>Events</th><th>Quarantined records</th><th>Files</th>
<th>Failed files</th></tr>{source_rows}</table>
<p class="{'warn' if quarantined or failed else ''}">Data quality: {quarantined:,} records
quarantined, {len(data['failed_files'])} failed files.</p>
{f'<ul class="warn">{failed}</ul>' if failed else ''}
<p>Frameworks and conversion windows: {frameworks}. Journey map and trend:
{e(data['settings'].get('journey_framework', ''))}; retention:
{e(data['settings'].get('retention', ''))}. Channel groups:
{e(data['settings'].get('channel_rules', 'built-in'))}.</p>
<nav>{toc}</nav>
</header>
{body}
<script>{bundle}</script>
</body></html>
"""
