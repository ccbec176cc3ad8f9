"""The dashboard: files written, header numbers, and a real offline render in Chromium."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from journey_metrics import pipeline
from journey_metrics.report import build_report
from journey_metrics_synth import generate

CHROMIUM = Path("/usr/bin/chromium")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+(@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report")
    inputs = root / "input"
    generate(inputs, 400, seed=3, days=45)
    # a broken file shows up in the header as a failed file
    (inputs / "web" / "zz-broken.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    db = root / "w.duckdb"
    spend = root / "spend.csv"
    spend.write_text("date,channel,campaign,cost\n2026-01-10,direct,,120.5\n"
                     "2026-01-11,email,spring,80\n2026-01-12,paid_search,spring,300\n",
                     encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("JOURNEY_METRICS_HASH_KEY", "report-test-key-0123456789")
    try:
        pipeline.run(inputs, db)
        page = build_report(db, root / "out", spend=spend)
        page_vi = build_report(db, root / "out_vi", spend=spend, lang="vi")
    finally:
        mp.undo()
    return {"input": inputs, "db": db, "page": page, "out": root / "out", "page_vi": page_vi,
            "out_vi": root / "out_vi"}


FRAMEWORKS = ("aarrr", "five_a", "awareness_to_advocacy", "aida", "accsr")
EXPECTED_CHARTS = [
    "journey_map", "paths_start", "paths_end",
    "attribution", "attribution_cost", "revenue", "ltv",
    *(f"{kind}_{name}" for name in FRAMEWORKS for kind in ("funnel", "channels")),
    "segments", "trend", *(f"times_{name}" for name in FRAMEWORKS), "drivers",
    "retention", "referral", "nps", "satisfaction", "satisfaction_channels", "phases", "churn",
]


def test_files_and_header(built: dict[str, Path]) -> None:
    out = built["out"]
    html = built["page"].read_text(encoding="utf-8")
    for chart in EXPECTED_CHARTS:
        assert (out / f"{chart}.png").stat().st_size > 10_000, chart
        assert f'id="{chart}"' in html
    data = json.loads((out / "data.json").read_text())
    assert [f["file_path"] for f in data["failed_files"]] == ["web/zz-broken.jsonl.gz"]
    assert "1 failed file." in html
    assert f"{data['persons']:,} persons." in html
    assert html.count("How to read this:") == len(EXPECTED_CHARTS)
    assert html.count('<details class="alt">') == len(EXPECTED_CHARTS)
    assert "@media print" in html
    html_vi = built["page_vi"].read_text(encoding="utf-8")
    assert '<html lang="vi">' in html_vi
    assert html_vi.count("Cách đọc:") == len(EXPECTED_CHARTS)
    assert f"{data['persons']:,} người.".replace(",", ".") in html_vi
    for chart in EXPECTED_CHARTS:
        assert (built["out_vi"] / f"{chart}.png").stat().st_size > 10_000, chart
    # self-contained: no script or stylesheet is fetched from anywhere
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html)
    # written beside and moved in (decision 188): nothing of the writing is left
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_no_raw_email_in_report(built: dict[str, Path]) -> None:
    raw = {m.group(0).lower() for p in built["input"].rglob("*.json*") if p.suffix != ".gz"
           for m in EMAIL.finditer(p.read_text(encoding="utf-8", errors="replace"))}
    assert raw, "the generated input should contain emails"
    for path in [*built["out"].iterdir(), *built["out_vi"].iterdir()]:
        text = path.read_bytes().decode("utf-8", errors="replace").lower()
        assert not any(email in text for email in raw), path.name


def test_report_rows_match_the_funnel_command(built: dict[str, Path]) -> None:
    from journey_metrics.config import load_framework
    from journey_metrics.db import connect
    from journey_metrics.metrics.common import resolve_as_of, zone
    from journey_metrics.metrics.funnel import FunnelQuery, compute_funnel

    data = json.loads((built["out"] / "data.json").read_text())
    con = connect(built["db"], read_only=True)
    try:
        framework = load_framework("aarrr")
        expected = compute_funnel(con, FunnelQuery(
            framework, framework.window_delta, resolve_as_of(con, None, zone("UTC")),
            by_channel=True))
    finally:
        con.close()
    aarrr = next(f for f in data["funnels"] if f["name"] == "aarrr")
    assert aarrr["rows"] == expected


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed "
                    "(apt-get install -y chromium; .ci/run does it)")
@pytest.mark.parametrize("lang", ["en", "vi"])
def test_dashboard_renders_offline_in_chromium(built: dict[str, Path], lang: str) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    blocked: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )
        try:
            page = browser.new_page()

            def block(route: object) -> None:
                request = route.request  # type: ignore[attr-defined]
                if request.url.startswith(("http://", "https://")):
                    blocked.append(request.url)
                    route.abort()  # type: ignore[attr-defined]
                else:
                    route.continue_()  # type: ignore[attr-defined]

            page.route("**/*", block)
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda msg: errors.append(f"console: {msg.text}")
                    if msg.type == "error" else None)
            page.goto(built["page" if lang == "en" else "page_vi"].as_uri())
            for chart in EXPECTED_CHARTS:
                # folded blocks (other frameworks) are drawn but not visible
                page.wait_for_selector(f"#{chart} svg.marks, #{chart} canvas.marks",
                                       timeout=30_000, state="attached")
            # keyboard: the first Tab stops reach the summary and the navigation links
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.getAttribute('href')")
            rendered = page.eval_on_selector_all(".chart", "els => els.map(e => e.id)")
            html = page.content()
            page.screenshot(path=str(built["out"] / f"screenshot_{lang}.png"), full_page=False)
        finally:
            browser.close()
    assert errors == []
    assert blocked == []
    assert sorted(rendered) == sorted(EXPECTED_CHARTS)
    assert focused is not None
    assert focused.startswith("#")
    assert not EMAIL.search(html.replace("%40", "@"))


def test_new_sections_agree_with_the_funnel(built: dict[str, Path]) -> None:
    data = json.loads((built["out"] / "data.json").read_text())
    journey = data["journey"]
    funnel = next(f for f in data["funnels"] if f["name"] == journey["framework"])
    persons = {r["step"]: r["persons"] for r in funnel["rows"] if r["group"] == "all"}
    last = len(journey["stages"])
    for step, reached in persons.items():
        cells = [c for c in journey["cells"] if c["step"] == step]
        # every person who reached a stage has exactly one touchpoint there
        assert sum(c["persons"] for c in cells) == reached
        if step < last and cells:
            assert sum(c["converted"] for c in cells) == persons[step + 1]
        exits = [e for e in journey["exits"] if e["step"] == step]
        assert len(exits) <= 3
        if step < last:
            assert sum(e["persons"] for e in exits) <= reached - persons[step + 1]
    assert [f["step"] for f in journey["feelings"]] == list(range(1, last + 1))
    assert not any(c["pain_point"] for c in journey["cells"] if c["persons"] < 30)
    everybody = {(r["framework"], r["step"]): r["persons"] for r in data["segments"]
                 if r["segment"] == ""}
    for f in data["funnels"]:
        for r in f["rows"]:
            if r["group"] == "all":
                assert everybody[(f["name"], r["step"])] == r["persons"]
    assert {r["trait"] for r in data["segments"] if r["trait"]} <= {"plan", "country",
                                                                      "industry"}
    assert all(r["value"] != "(none)" for r in data["segments"])
    assert all(r["converters"] + r["non_converters"] >= 25 for r in data["drivers"]["rows"])
    assert data["attribution"]["spend"]
    assert all("cpa" in r for r in data["attribution"]["rows"])
    assert data["trend"]
    assert all(isinstance(r["complete"], bool) for r in data["trend"])


def test_segments_equal_the_funnel_by_each_trait(built: dict[str, Path]) -> None:
    """The page reads every segment from one population; each must equal `funnel --by
    trait:<name>` for that value, computed the ordinary way, one trait at a time."""
    from journey_metrics.config import load_framework
    from journey_metrics.metrics.common import resolve_as_of, zone
    from journey_metrics.metrics.funnel import FunnelQuery, funnel_rows
    from journey_metrics.metrics.segments import Segment, prepare_population
    from journey_metrics.warehouse import open_for_reading

    data = json.loads((built["out"] / "data.json").read_text())
    shown = {(r["trait"], r["value"], r["framework"], r["step"]): r["persons"]
             for r in data["segments"] if r["trait"]}
    assert {t for t, *_ in shown} == {"plan", "country", "industry"}
    con = open_for_reading(built["db"])
    try:
        as_of = resolve_as_of(con, None, zone("UTC"))
        expected = {}
        for trait in ("plan", "country", "industry"):
            prepare_population(con, Segment(f"trait:{trait}"), as_of)
            for name in FRAMEWORKS:
                framework = load_framework(name)
                for r in funnel_rows(con, FunnelQuery(framework, framework.window_delta, as_of)):
                    if (trait, r["group"], name, r["step"]) in shown:
                        expected[(trait, r["group"], name, r["step"])] = r["persons"]
    finally:
        con.close()
    assert expected == shown


def test_summary_sentences_state_the_mart_numbers(built: dict[str, Path]) -> None:
    from journey_metrics.charts.common import MIN_ENTERED, biggest_drop
    from journey_metrics.report.i18n import use
    from journey_metrics.report.summary import sentences

    data = json.loads((built["out"] / "data.json").read_text())
    with use("en", data):
        found = {s.key: s for s in sentences(data)}
    funnel = next(f for f in data["funnels"] if f["name"] == "awareness_to_advocacy")
    rows = [r for r in funnel["rows"] if r["group"] == "all"]
    reached = {r["step"]: r["persons"] for r in rows}
    candidates = [r for r in rows if reached.get(r["step"] - 1, 0) >= MIN_ENTERED]
    worst = max(candidates, key=lambda r: (r["drop_off_rate"], -r["step"]))
    assert biggest_drop(rows) is worst
    drop = found["drop"]
    assert drop.values["stage"] == worst["stage"]
    assert drop.values["rate"] == worst["drop_off_rate"]
    assert drop.values["lost"] == worst["drop_off"]
    assert f"{worst['drop_off_rate'] * 100:.1f}%" in drop.text
    if "exit" in found:
        top = next(e for e in data["journey"]["exits"] if e["step"] == worst["step"] - 1)
        assert found["exit"].values["persons"] == top["persons"]
        assert top["touchpoint"] in found["exit"].text
    linear = [r for r in data["attribution"]["rows"]
              if r["model"] == "linear" and r["group"] != "(none)"]
    best = max(linear, key=lambda r: (r["conversions"], r["group"]))
    assert found["channel"].values["channel"] == best["group"]
    assert found["channel"].values["conversions"] == best["conversions"]
    last_rows = [r for r in data["attribution"]["rows"] if r["model"] == "last"]
    fruitless = [r for r in last_rows if r["cost"] and r["cpa"] is None]
    assert fruitless  # paid_search spent 300 and got no last-touch conversion
    worst = max(fruitless, key=lambda r: (r["cost"], r["group"]))
    assert found["cost"].values == {"channel": worst["group"], "cpa": None,
                                    "cost": worst["cost"], "conversions": 0}
    assert found["cost"].text == (f"{worst['group']} spent {worst['cost']:,.2f} without a"
                                  " last-touch conversion.")
    answered = [r for r in data["satisfaction"] if r["group"] == "all" and r["nps"] is not None]
    latest = max(answered, key=lambda r: r["period"])
    assert found["nps"].values["nps"] == latest["nps"]
    html = built["page"].read_text(encoding="utf-8")
    assert all(f'href="#sec_{s.link}"' in html for s in found.values())


# English words allowed on the Vietnamese page: metric names, units and data identifiers
# (channels, sources, event and trait names are proper names of the data).
ALLOWED = {"nps", "csat", "ces", "arpu", "arppu", "ltv", "roas", "cpa", "png", "utc", "aarrr",
           "aida", "accsr", "kotler", "json", "data", "spend", "report", "config", "yaml",
           "file", "direct", "email", "web", "crm", "organic", "paid", "search", "social",
           "referral", "none"}


def _english_words() -> set[str]:
    from journey_metrics.report.i18n import catalogue

    vi_words = {w.lower() for v in catalogue("vi").values()
                for w in re.findall(r"[A-Za-z]{3,}", v)}
    return {w.lower() for v in catalogue("en").values() for w in re.findall(r"[A-Za-z]{3,}", v)
            } - vi_words - ALLOWED


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<details class="alt">.*?</details>', " ", html, flags=re.S)
    html = re.sub(r"<code>.*?</code>", " ", html, flags=re.S)  # file paths
    return re.sub(r"<[^>]+>", " ", html)


def _chart_texts(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if (key in ("title", "text", "subtitle") or (key == "name" and "input" in node)
                    ) and isinstance(value, str):
                found.append(value)
            elif key in ("title", "subtitle") and isinstance(value, list):
                found += [v for v in value if isinstance(v, str)]
            elif key != "data" and key != "datasets":
                found += _chart_texts(value)
    elif isinstance(node, list):
        for value in node:
            found += _chart_texts(value)
    return found


def test_no_english_left_on_the_vietnamese_page(built: dict[str, Path]) -> None:
    from journey_metrics.report.i18n import MISSING, use
    from journey_metrics.report.page import build_blocks

    english = _english_words()
    data = json.loads((built["out"] / "data.json").read_text())
    page_text = _visible_text(built["page_vi"].read_text(encoding="utf-8"))
    with use("vi", data):
        blocks = build_blocks(data)
        chart_text = " ".join(t for _, b in blocks for t in _chart_texts(b.chart.to_dict()))
    data_words = {w.lower() for r in data["journey"]["cells"] + data["journey"]["exits"]
                  for w in re.findall(r"[A-Za-z]{3,}", r["touchpoint"])}
    left = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", page_text + " " + chart_text)
            } & english - data_words
    assert left == set(), [x for x in re.split(r"(?<=[.:])\s+", page_text + chart_text)
                           if set(re.findall(r"[A-Za-z]{3,}", x.lower())) & left][:10]
    assert not [key for lang, key in MISSING if lang == "vi"]


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_every_chart_spec_is_valid_vega_lite(built: dict[str, Path], lang: str) -> None:
    # the page builds its specs without Altair's validation (report/page.py `_spec`): this is
    # where they are checked, as written (font, palette and Vietnamese date fields included);
    # the charts of empty or degenerate rows are validated by the charts' own tests (`save`)
    import altair as alt

    from journey_metrics.report.i18n import use
    from journey_metrics.report.page import _spec, build_blocks

    data = json.loads((built["out"] / "data.json").read_text())
    with use(lang, data) as language:
        specs = {block.id: _spec(block.chart, language) for _, block in build_blocks(data)}
    assert set(specs) == set(EXPECTED_CHARTS)
    for spec in specs.values():
        alt.Root.validate(spec)  # raises a ValidationError naming the offending part


def test_page_data_cannot_end_or_swallow_its_script() -> None:
    # touchpoints and page paths are text a visitor sent: "</script" would end the element and
    # "<!--<script" would make the HTML parser swallow the rest of the page
    from journey_metrics.report.page import _script_json

    value = {"touchpoint": "a</script><!--<script>b & c</SCRIPT>", "rate": 0.5, "n": [1, None]}
    written = _script_json(value)
    for character in "<>&":
        assert character not in written
    assert json.loads(written) == value
    assert _script_json(float("nan")) == "NaN"  # a JavaScript literal, as before


def test_a_warehouse_of_one_email_event_gets_a_page(tmp_path: Path) -> None:
    """One SendGrid `delivered` event (no activity, no referral rows): the referral chart's
    PNG had no size and the whole report stopped (exit 1); its PNG now says there is no data
    (found by a dashboard audit)."""
    (tmp_path / "in" / "email").mkdir(parents=True)
    (tmp_path / "in" / "email" / "ev.json").write_text(json.dumps([{
        "email": "dan@x.io", "timestamp": 1774000000, "event": "delivered",
        "sg_event_id": "e1", "sg_message_id": "s1", "campaign": "c1"}]))
    db = tmp_path / "w.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("JOURNEY_METRICS_HASH_KEY", "report-test-key-0123456789")
    try:
        pipeline.run(tmp_path / "in", db)
        page = build_report(db, tmp_path / "out")
    finally:
        mp.undo()
    assert page.exists()
    assert {p.stem for p in (tmp_path / "out").glob("*.png")} >= {"referral", "funnel_aarrr"}


def test_what_a_killed_writer_left_is_removed(tmp_path: Path) -> None:
    """A report killed mid-write left its `.writing-...` folder for good, one more per crash,
    in a folder that may be served (an operations audit). The next write removes this host's
    whose process is gone, or is the writer itself (process 1 in a container every night);
    a writer still running keeps its own; another host's is left for a day."""
    from journey_metrics.report.page import _HOST, _remove_stale_writes

    parent = os.getppid()  # a process that runs (the test's parent)
    dead = tmp_path / f".writing-{2**22 + 12345}@{_HOST}-abc"  # above any Linux pid
    mine = tmp_path / f".writing-{os.getpid()}@{_HOST}-def"
    alive = tmp_path / f".writing-{parent}@{_HOST}-ghi"
    other_host = tmp_path / f".writing-{2**22 + 12345}@another_box-jkl"
    for folder in (dead, mine, alive, other_host):
        folder.mkdir()
        (folder / "data.json").write_text("{}")
    _remove_stale_writes(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other_host.name])
