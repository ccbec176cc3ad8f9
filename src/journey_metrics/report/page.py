"""The dashboard page: a summary in words, then one block per chart grouped by the marketer's
questions (journey map, channels and money, funnels, retention, satisfaction; the other
frameworks' detail folded), Vega inlined once (works offline), a PNG per chart for e-mails and
slides, a text alternative per chart and a print stylesheet; in English or Vietnamese.

The blocks come from the registry: every section a metric declares is drawn from its rows in the
page data (report/data.py). Nothing here knows which metrics exist; the groups follow the
sections' `order` (below 20 journey, 20s money, 30s funnels, 40s-50s retention, 60s and up
satisfaction).
"""

from __future__ import annotations

import html
import importlib
import json
import math
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import vl_convert

from journey_metrics.metrics.registry import Block, sections
from journey_metrics.report.data import save
from journey_metrics.report.i18n import Language, t, use

# Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#56b4e9", "#cc79a7", "#f0e442",
           "#000000"]
FONT = "DejaVu Sans"  # has the Vietnamese diacritics (Debian fonts-dejavu-core)
GROUPS = (  # (lowest section order, heading key)
    (0, "Journey map"), (20, "Channels and money"), (30, "Funnels"),
    (40, "Retention and referral"), (60, "Satisfaction and churn"))
FOLDED = ("funnel_", "channels_", "times_")  # per-framework detail, folded unless the journey's
TABLE_ROWS = 60
_GEOMETRY = {"x", "x0", "x1", "y", "y0", "y1", "y_top", "y_bottom", "y_mid", "ribbon", "role",
             "rank", "step", "segment_order", "pain_point", "text", "label", "why", "note",
             "no_answers", "state", "cohort_iso", "direction", "pain_reasons", "pain_score",
             "drop_ratio", "time_ratio", "value_label", "trait", "framework", "week_iso"}
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# table columns holding shares of one (conversions, rates): shown as percentages
_RATES = {"conversion", "conversion_from_start", "conversion_from_previous", "drop_off_rate",
          "stage_drop_off_rate", "share", "rate", "everybody", "repeat_purchase_rate",
          "referral_rate", "invite_conversion_rate", "referred_share", "churn_rate"}


def build_blocks(data: dict[str, Any]) -> list[tuple[int, Block]]:
    """Every registered section's blocks with the section's order, in page order."""
    blocks: list[tuple[int, Block]] = []
    for _metric, section in sections():
        module, _, function = section.draw.partition(":")
        draw = getattr(importlib.import_module(module), function)
        blocks.extend((section.order, b) for b in draw(data[section.id], data))
    return blocks


DATE_FIELDS = ("period", "week", "cohort")  # ISO dates ('YYYY-MM-DD') in tooltips


def _spec(chart: Any, lang: Language | None = None) -> dict[str, Any]:
    # Not validated against Vega-Lite's JSON schema here: that is ~60% of building the page's
    # specs (0.6 s CPU for 31 charts at every nightly report). The test suite validates every
    # spec this function returns, in both languages (tests/test_report.py).
    spec: dict[str, Any] = chart.to_dict(validate=False)
    config = spec.setdefault("config", {})
    config.setdefault("font", FONT)
    config.setdefault("range", {}).setdefault("category", PALETTE)
    if lang is not None and lang.lang == "vi":
        _local_dates(spec)
    return spec


def _local_dates(node: Any) -> None:
    """Tooltips of ISO date fields show the Vietnamese date format (a calculated field)."""
    if isinstance(node, dict):
        tooltip = (node.get("encoding") or {}).get("tooltip")
        if isinstance(tooltip, list):
            for item in tooltip:
                field = item.get("field") if isinstance(item, dict) else None
                if field in DATE_FIELDS and item.get("type") in ("nominal", "ordinal"):
                    item["field"] = f"{field}_shown"
                    node.setdefault("transform", []).append({
                        "calculate": f"isString(datum.{field}) && length(datum.{field}) == 10 ? "
                                     f"slice(datum.{field}, 8, 10) + '/' + slice(datum.{field}, "
                                     f"5, 7) + '/' + slice(datum.{field}, 0, 4) : datum.{field}",
                        "as": f"{field}_shown"})
        for child in node.values():
            _local_dates(child)
    elif isinstance(node, list):
        for child in node:
            _local_dates(child)


def _script_json(value: Any) -> str:
    """`value` as a JavaScript literal to put inside <script>. "<", ">" and "&" (which JSON
    writes only inside strings) become \\u escapes: "</script" would end the element, and
    "<!--<script" (a touchpoint or page path can be any text a visitor sent) would make the
    HTML parser swallow the rest of the page. NaN stays a JavaScript token, as before."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# The page's one script: it draws every chart from `window.jmPage` (written beside it as a
# literal, outside the bundle: a bundler re-writes the strings of the code it bundles).
EMBED = (
    "const {specs, locale, failed} = window.jmPage;\n"
    "for (const [id, spec] of Object.entries(specs)) {\n"
    "  vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg', formatLocale: locale})\n"
    "    .catch((err) => { document.getElementById(id).textContent = failed + ' ' + err;"
    " console.error(err); });\n"
    "}\n"
)


def write_report(
    data: dict[str, Any], out_dir: Path, progress: Callable[[str], None] | None = None,
    lang: str | None = None,
) -> Path:
    """Write index.html, one PNG per chart and data.json into `out_dir`; return the page path.
    `lang`: en or vi (default: config/report.yaml `lang`, else en)."""
    lang = lang or data.get("settings", {}).get("lang") or "en"
    out_dir.mkdir(parents=True, exist_ok=True)
    # written beside, then moved in: a write that fails (a full disk) leaves the folder's last
    # dashboard whole, not a new data.json and empty PNGs beside the old page
    _remove_stale_writes(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f"{_WRITING}{os.getpid()}@{_HOST}-", dir=out_dir))
    try:
        _write_files(data, staging, progress, lang)
        for path in sorted(staging.iterdir(), key=lambda p: p.name == "index.html"):
            os.replace(path, out_dir / path.name)  # the page last
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / "index.html"


_WRITING = ".writing-"
_HOST = socket.gethostname().replace("-", "_")  # (mkdtemp's own characters hold no "-")


def _remove_stale_writes(out_dir: Path) -> None:
    """Remove what a writer killed mid-write left (`.writing-<pid>@<host>-...`): it piled up
    with each crash, in a folder that may be a web root. This host's folder is stale when its
    process is gone or is this one (a container's writer is process 1 every night; a write
    removes its own folder when it ends); another host's, or an older nameless one, after a
    day. A writer still running keeps its folder."""
    for folder in out_dir.glob(f"{_WRITING}*"):
        pid, at, rest = folder.name.removeprefix(_WRITING).partition("@")
        host = rest.rpartition("-")[0]
        try:
            if at and pid.isdigit() and host == _HOST:
                if int(pid) != os.getpid() and _process_alive(int(pid)):
                    continue
            elif time.time() - folder.stat().st_mtime < 86400:
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _write_files(data: dict[str, Any], out_dir: Path, progress: Callable[[str], None] | None,
                 lang: str) -> None:
    save(data, out_dir / "data.json")
    with use(lang, data) as language:
        blocks = build_blocks(data)
        specs = {b.id: _spec(b.chart, language) for _, b in blocks}
        locale = language.locale.vega_format()

        nothing = _nothing_to_draw(t("No data yet"))  # (the language is this thread's)

        def render_png(chart_id: str) -> None:
            if progress:
                progress(chart_id)
            try:
                png = vl_convert.vegalite_to_png(specs[chart_id], scale=1.5, format_locale=locale)
            except ValueError as exc:
                # a chart without any row can have no size (a panel of ordinal periods and
                # none to draw): its PNG says so instead of stopping the page
                if "invalid size" not in str(exc):
                    raise
                png = vl_convert.vegalite_to_png(nothing, scale=1.5)
            (out_dir / f"{chart_id}.png").write_bytes(png)

        # vl-convert renders outside the GIL: draw the PNGs side by side.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            list(pool.map(render_png, specs))
        page_data = _script_json({"specs": specs, "locale": locale,
                                  "failed": t("Chart failed:")})
        bundle = vl_convert.javascript_bundle(EMBED).replace("</script", "<\\/script")
        scripts = f"<script>window.jmPage = {page_data};</script>\n<script>{bundle}</script>"
        page = out_dir / "index.html"
        page.write_text(_html(data, blocks, scripts, language, specs), encoding="utf-8")


def _nothing_to_draw(message: str) -> dict[str, Any]:
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": 300,
            "height": 60, "data": {"values": [{"text": message}]},
            "mark": {"type": "text", "fontSize": 14, "font": "DejaVu Sans"},
            "encoding": {"text": {"field": "text", "type": "nominal"}}}


def _when(iso: str | None, lang: Language) -> str:
    """'2026-04-04T23:59:31.502Z' -> '2026-04-04 23:59 UTC' (vi: '04/04/2026 23:59 UTC')."""
    return f"{lang.day(iso)} {iso[11:16]} UTC" if iso else "-"


def _cell(value: Any, lang: Language, column: str = "") -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else (t("yes") if value else t("no"))
    if isinstance(value, int):
        return lang.number(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        if column in _RATES:  # as the charts' axes and tooltips show them
            return lang.percent(value)
        if value.is_integer():
            return lang.number(value)
        # under one, two significant digits: a k-factor of 0.0068 or a p of 0.027 read as
        # 0.01 and 0.03 with two decimals, and minutes between steps as 0.00 hours
        return lang.number(value, 2 if abs(value) >= 1 else min(
            6, 1 - math.floor(math.log10(abs(value)))))
    text = str(value)
    if column == "stage":  # a stage's title, as the chart names it
        return lang.stage_title(text)
    return lang.day(text) if ISO_DAY.match(text) else text


def _rows_behind(spec: dict[str, Any],
                 given: tuple[dict[str, Any], ...] | None = None) -> list[dict[str, Any]]:
    """The numbers behind a chart: the block's own rows (`Block.table`), else the chart's
    largest inline data set."""
    datasets = [v for v in (spec.get("datasets") or {}).values() if isinstance(v, list)]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            values = node.get("values")
            if isinstance(values, list) and values and isinstance(values[0], dict):
                datasets.append(values)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(spec)
    return list(given) if given is not None else max(datasets, key=len, default=[])


def _table(rows: list[dict[str, Any]], lang: Language, own: bool = False) -> str:
    """The rows behind a chart as an HTML table, plain columns only. `own`: the command's own
    rows (`Block.table`), whose `step` is a column to read (a path's step 1 and step 3 edges
    between the same stages), not a drawing position."""
    geometry = _GEOMETRY - {"step"} if own else _GEOMETRY
    columns = [c for c in dict.fromkeys(k for r in rows for k in r)
               if c not in geometry and all(
                   isinstance(r.get(c), (str, int, float, type(None))) for r in rows)]
    if not rows or not columns:
        return ""
    e = html.escape
    head = "".join(f"<th>{e(t('col:' + c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{e(_cell(r.get(c), lang, c))}</td>" for c in columns)
                   + "</tr>" for r in rows[:TABLE_ROWS])
    note = t("First {n} of {total} rows; all in data.json.", n=TABLE_ROWS,
             total=lang.number(len(rows)))
    more = f"<p>{e(note)}</p>" if len(rows) > TABLE_ROWS else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def _block_html(block: Block, spec: dict[str, Any], lang: Language) -> str:
    e = html.escape
    rows = _rows_behind(spec, block.table)
    # a chart of nothing (no survey answers, no orders yet...) says so instead of bare axes
    said = block.notes or ((t("No data for this chart yet."),) if not rows else ())
    notes = "".join(f"<li>{e(n)}</li>" for n in said)
    return (
        f'<section class="block" id="sec_{block.id}"><h3>{e(block.heading)}</h3>'
        f'<p class="how"><strong>{e(t("How to read this:"))}</strong> {e(block.how_to_read)}</p>'
        # an empty chart is bare axes and a legend: hidden, its note says why
        f'<div id="{block.id}" class="chart{"" if rows else " empty"}" role="img"'
        f' aria-label="{e(block.heading)}"></div>'
        + (f'<ul class="notes">{notes}</ul>' if notes else "")
        + f'<details class="alt"><summary>{e(t("The numbers behind this chart"))}</summary>'
        f'<p>{e(block.how_to_read)}</p>{_table(rows, lang, block.table is not None)}</details>'
        f'<p class="png"><a href="{block.id}.png">PNG</a></p></section>'
    )


def _html(data: dict[str, Any], blocks: list[tuple[int, Block]], scripts: str, lang: Language,
          specs: dict[str, dict[str, Any]]) -> str:
    from journey_metrics.report.summary import sentences

    e = html.escape
    journey = data["settings"].get("journey_framework", "")
    source_rows = "".join(
        f"<tr><td>{e(s['source'])}</td><td>{lang.number(s['events'])}</td>"
        f"<td>{lang.number(s['quarantined'])}</td><td>{lang.number(s['files'])}</td>"
        f"<td>{lang.number(s['failed_files'])}</td></tr>"
        for s in data["sources"]
    )
    failed = "".join(
        f"<li><code>{e(f['file_path'])}</code>: <code>{e(str(f['reason']))}</code></li>"
        for f in data["failed_files"]
    )
    quarantined = sum(s["quarantined"] for s in data["sources"])
    frameworks = ", ".join(
        f"{e(lang.framework_title(f['name'], f['title']))} ({e(lang.window(f['window']))})"
        for f in data["frameworks"])
    summary = "".join(
        f'<li><a href="#sec_{s.link}">{e(s.text)}</a></li>' for s in sentences(data)
        if s.link in specs or s.key == "no_spend")
    groups: list[str] = []
    toc: list[str] = []
    for index, (lowest, key) in enumerate(GROUPS):
        upper = GROUPS[index + 1][0] if index + 1 < len(GROUPS) else 10**9
        members = [b for order, b in blocks if lowest <= order < upper]
        if not members:
            continue
        shown = [b for b in members if not (b.id.startswith(FOLDED)
                                            and not b.id.endswith("_" + journey))]
        folded = [b for b in members if b not in shown]
        group_id = f"group_{index}"
        toc.append(f'<a href="#{group_id}">{e(t(key))}</a>')
        body = "".join(_block_html(b, specs[b.id], lang) for b in shown)
        if folded:
            body += (f'<details class="more"><summary>{e(t("Other frameworks in detail"))}'
                     f" ({len(folded)})</summary>"
                     + "".join(_block_html(b, specs[b.id], lang) for b in folded)
                     + "</details>")
        groups.append(f'<section class="group" id="{group_id}"><h2>{e(t(key))}</h2>{body}'
                      "</section>")
    warn = "warn" if quarantined or failed else ""
    header = t(
        "Data as of {as_of}, events from {first}. {persons}. Calendar periods in {tz}.",
        as_of=_when(data["as_of"], lang), first=_when(data["first_event_at"], lang),
        persons=lang.persons(data["persons"]), tz=data["settings"].get("tz", "UTC"))
    quality = t("Data quality: {records} quarantined, {files}.",
                records=lang.count(quarantined, "{n} record", "{n} records"),
                files=lang.count(len(data["failed_files"]), "{n} failed file", "{n} failed files"))
    currency = data.get("currency") or {}
    if currency.get("excluded_orders"):
        quality += " " + t(
            "Revenue is in {currency}: {orders} in other currencies are left out.",
            currency=currency.get("reporting"),
            orders=lang.count(currency["excluded_orders"], "{n} order", "{n} orders"))
    settings = t(
        "Frameworks and conversion windows: {frameworks}. Journey map and trend: {journey}; "
        "channel groups: {rules}.", frameworks=frameworks,
        journey=lang.framework_title(journey),
        rules=t("built-in") if data["settings"].get("channel_rules") in (None, "built-in")
        else data["settings"]["channel_rules"])
    return f"""<!DOCTYPE html>
<html lang="{lang.lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(t("Customer journey dashboard"))}</title>
<style>
body {{ font-family: "DejaVu Sans", system-ui, -apple-system, "Segoe UI", sans-serif;
       margin: 0 2rem 3rem; color: #222; }}
header {{ border-bottom: 1px solid #ddd; padding-bottom: 1rem; }}
h1 {{ margin-bottom: .2rem; }} h2 {{ margin-top: 2.5rem; border-bottom: 2px solid #0072b2; }}
h3 {{ margin-top: 2rem; }}
table {{ border-collapse: collapse; margin: .6rem 0; }}
td, th {{ border: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
.how {{ color: #444; max-width: 60rem; }} .png a {{ font-size: .8rem; color: #555; }}
nav a {{ margin-right: .8rem; font-size: .95rem; }} .warn {{ color: #b30000; }}
nav a:focus, summary:focus, .summary a:focus {{ outline: 3px solid #e69f00; }}
.summary {{ font-size: 1.1rem; line-height: 1.6; max-width: 60rem; }}
.summary a {{ color: #222; }} details.alt {{ font-size: .85rem; color: #333; }}
details.more > summary {{ font-size: 1.1rem; margin-top: 1.5rem; cursor: pointer; }}
.notes {{ color: #8a3a00; }}
@media print {{
  nav, .png, details.alt {{ display: none; }}
  body {{ margin: 0; }}
  .block {{ break-inside: avoid; page-break-inside: avoid; break-before: page; }}
  .chart svg {{ max-width: 100%; height: auto; }}
  a {{ color: inherit; text-decoration: none; }}
}}
.chart.empty {{ display: none; }}
</style></head>
<body>
<header>
<h1>{e(t("Customer journey dashboard"))}</h1>
<section id="summary" class="summary"><h2>{e(t("In short"))}</h2><ul>{summary}</ul></section>
<p>{e(header)}</p>
<table><tr><th>{e(t("Source"))}</th><th>{e(t("Events"))}</th>
<th>{e(t("Quarantined records"))}</th><th>{e(t("Files"))}</th>
<th>{e(t("Failed files"))}</th></tr>{source_rows}</table>
<p class="{warn}">{e(quality)}</p>
{f'<ul class="warn">{failed}</ul>' if failed else ''}
<p>{e(settings)}</p>
<nav aria-label="{e(t("Sections"))}"><a href="#summary">{e(t("In short"))}</a>{"".join(toc)}</nav>
</header>
{"".join(groups)}
<script>
// print every folded framework too; restore the reader's choice afterwards
window.addEventListener("beforeprint", () => document.querySelectorAll("details.more")
  .forEach((d) => {{ d.dataset.wasOpen = d.open ? "1" : ""; d.open = true; }}));
window.addEventListener("afterprint", () => document.querySelectorAll("details.more")
  .forEach((d) => {{ d.open = d.dataset.wasOpen === "1"; }}));
</script>
{scripts}
</body></html>
"""
