"""Hostile configuration (issue 7, property 8).

- Names that end up in SQL (source and framework names, a rule's `source:`) must match
  ^[a-z][a-z0-9_]*$; property names (a JSON path in SQL) ^[A-Za-z0-9_][A-Za-z0-9_-]*$; stage
  names (values only) ^[A-Za-z][A-Za-z0-9_-]*$: anything else is refused with exit 2 and one
  line.
- Values (property values with quotes, semicolons, backslashes, unicode; event names; channels)
  are bound as parameters: events carrying exactly those values match exactly the expected
  stages, and the warehouse is intact afterwards.
- Input paths are confined to --input: a symlink that leads outside is a failed file with a
  reason, a symlink to a file inside the folder loads.

The CLI runs in-process (`journey_metrics.cli.main`), so configuration can be swapped by
monkeypatching `journey_metrics.config.resource_dir`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_driver import call_cli

from conftest import query, write_jsonl
from journey_metrics import resources

# Every refusal quotes the rule verbatim.
NAME_RULE = "must match ^[a-z][a-z0-9_]*$"
RULES = {"framework": NAME_RULE, "source": NAME_RULE,
         "stage": "must match ^[A-Za-z][A-Za-z0-9_-]*$",
         "property": "must match ^[A-Za-z0-9_][A-Za-z0-9_-]*$"}


def assert_refused(result: tuple[int, str, str], *fragments: str) -> None:
    code, out, err = result
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def warehouse_state(db: Path) -> tuple[Any, ...]:
    return (
        query(db, "SELECT table_name FROM information_schema.tables ORDER BY 1"),
        query(db, "SELECT count(*), sum(hash(event_id, properties::VARCHAR)) FROM events"),
        query(db, "SELECT count(*) FROM _jm_files"),
        query(db, "SELECT count(*) FROM persons"),
    )


# --------------------------------------------------------------------------------------------
# hostile property values, event names and channels: bound, never spliced

# event id -> the `plan` property it carries (None: no plan)
PLANS: dict[str, str | None] = {
    "v01": "pro'; DROP TABLE events;--",
    "v02": 'ü"x',  # written with \u escapes
    "v03": 'ü"x',  # written as raw UTF-8 (see below)
    "v04": "a;b",
    "v05": "'",
    "v06": "'; DELETE FROM events; --",
    "v07": "%_x",
    "v08": "ab_x",  # would match prefix '%_' if it were a LIKE pattern
    "v09": "PRO'; DROP TABLE events;--",
    "v10": None,
    "v11": "C:\\temp\\x",
    "v12": 'ü"x ',
    "v13": "pro''; DROP TABLE events;--",  # what naive quote doubling would turn v01 into
    "v14": "日本語; \"quoted\" 'single'",
}
RAW_UTF8 = {"v03", "v14"}
PAGE_WITH_PLAN = "p01"  # a page view with plan "a;b": matched by rules without `event:`

HOSTILE_FRAMEWORK = r"""
name: hostile
title: "Values: ' ; -- \" ü"
window: 30d
stages:
  - name: chose
    match: [{event: plan_chosen}]
  - name: eq_quote
    match:
      - event: plan_chosen
        where: {plan: {eq: "pro'; DROP TABLE events;--"}}
  - name: in_unicode
    match:
      - where: {plan: {in: ["ü\"x", "a;b"]}}
  - name: prefix_quote
    match:
      - where: {plan: {prefix: "'"}}
  - name: prefix_wildcard
    match:
      - where: {plan: {prefix: "%_"}}
  - name: ne_semicolon
    match:
      - {event: plan_chosen, where: {plan: {ne: "a;b"}}}
  - name: eq_backslash
    match:
      - where: {plan: {eq: "C:\\temp\\x"}}
  - name: eq_cjk
    match:
      - where: {plan: {eq: "日本語; \"quoted\" 'single'"}}
  - name: hostile_event_or_channel
    match:
      - event: ["x'); DROP TABLE events; --", "plan_chosen' OR '1'='1"]
      - channel: ["it's", "direct' OR 1=1 --"]
        source: web
        event: nobody_does_this
"""
EXPECTED_MATCHES = {
    "chose": sorted(PLANS),
    "eq_quote": ["v01"],
    "in_unicode": ["p01", "v02", "v03", "v04"],
    "prefix_quote": ["v05", "v06"],
    "prefix_wildcard": ["v07"],
    "ne_semicolon": sorted(set(PLANS) - {"v04"}),
    "eq_backslash": ["v11"],
    "eq_cjk": ["v14"],
    "hostile_event_or_channel": [],
}


def _write_valued_events(input_dir: Path) -> None:
    lines = []
    for i, (event_id, plan) in enumerate(PLANS.items()):
        message = {"type": "track", "event": "Plan Chosen", "messageId": event_id,
                   "anonymousId": f"anon-{event_id}",
                   "timestamp": f"2024-03-01T10:{i:02d}:00Z",
                   "properties": {} if plan is None else {"plan": plan}}
        lines.append(json.dumps(message, ensure_ascii=event_id not in RAW_UTF8))
    lines.append(json.dumps({"type": "page", "messageId": PAGE_WITH_PLAN, "anonymousId": "anon-p",
                             "timestamp": "2024-03-01T11:00:00Z",
                             "properties": {"plan": "a;b"}}))
    path = input_dir / "web" / "plans.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "ü".encode() in path.read_bytes()


@pytest.fixture
def valued_warehouse(input_dir: Path, db_path: Path, run_pipeline: Any, tmp_path: Path) -> Path:
    _write_valued_events(input_dir)
    summary = run_pipeline(input_dir, db_path)
    assert summary["sources"][0]["events"] == len(PLANS) + 1
    framework = tmp_path / "hostile.yaml"
    framework.write_text(HOSTILE_FRAMEWORK, encoding="utf-8")
    return framework


def test_values_round_trip_into_the_warehouse_and_export(
    valued_warehouse: Path, db_path: Path, tmp_path: Path,
) -> None:
    import polars as pl

    stored = dict(query(db_path, "SELECT event_id, properties->>'$.plan' FROM events"))
    assert stored == {**PLANS, PAGE_WITH_PLAN: "a;b"}
    code, _, err = call_cli("export", "--db", str(db_path), "--out", str(tmp_path / "export"))
    assert code == 0, err
    events = pl.read_parquet(tmp_path / "export" / "events.parquet")
    exported = {r["event_id"]: json.loads(r["properties"]).get("plan") for r in events.to_dicts()}
    assert exported == stored


def test_framework_values_are_bound_and_match_exactly(valued_warehouse: Path,
                                                      db_path: Path) -> None:
    from journey_metrics.config import load_framework
    from journey_metrics.db import connect
    from journey_metrics.stages import compile_stages

    framework = load_framework(str(valued_warehouse))
    assert framework.stages[1].match[0].where == {
        "plan": {"eq": "pro'; DROP TABLE events;--"}
    }
    assert framework.stages[2].match[0].where == {"plan": {"in": ['ü"x', "a;b"]}}
    compiled = compile_stages(framework)
    sql_text = " ".join(compiled.expressions)
    for value in ("DROP", "ü", "'%_'", "a;b", "temp", "日本語", "it's"):
        assert value not in sql_text, value  # values are parameters, not SQL text
    con = connect(db_path, read_only=True)
    try:
        matches = {}
        for stage, expression in zip(framework.stages, compiled.expressions, strict=True):
            used = {k: v for k, v in compiled.params.items() if f"${k}" in expression}
            rows = con.execute(
                f"SELECT event_id FROM fct_events WHERE {expression} ORDER BY 1", used
            ).fetchall()
            matches[stage.name] = [r[0] for r in rows]
    finally:
        con.close()
    assert matches == EXPECTED_MATCHES


@pytest.mark.parametrize("stage", [s for s in EXPECTED_MATCHES if s != "chose"])
def test_funnel_counts_each_hostile_value_exactly(
    valued_warehouse: Path, db_path: Path, tmp_path: Path, stage: str,
) -> None:
    """Through the CLI: a two-stage framework (any web event -> the hostile stage), unordered;
    every event is its own person, so persons at step 2 = events the stage matches."""
    spec = yaml.safe_load(valued_warehouse.read_text(encoding="utf-8"))
    rule = next(s for s in spec["stages"] if s["name"] == stage)
    two = {"name": "two", "stages": [{"name": "any", "match": [{"source": "web"}]}, rule]}
    path = tmp_path / f"{stage}.yaml"
    path.write_text(yaml.safe_dump(two, allow_unicode=True), encoding="utf-8")
    before = warehouse_state(db_path)
    code, out, err = call_cli("funnel", "--db", str(db_path), "--framework",
                              str(path), "--order", "unordered", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["stage"], r["persons"]) for r in rows] == [
        ("any", len(PLANS) + 1), (stage, len(EXPECTED_MATCHES[stage]))
    ]
    assert warehouse_state(db_path) == before


def test_every_metric_command_leaves_the_warehouse_intact(
    valued_warehouse: Path, db_path: Path, tmp_path: Path,
) -> None:
    before = warehouse_state(db_path)
    fw = str(valued_warehouse)
    for argv in (
        ["funnel", "--framework", fw, "--by", "channel"],
        ["funnel", "--framework", fw, "--order", "unordered"],
        ["retention", "--framework", fw, "--start", "eq_quote", "--return", "in_unicode"],
        ["retention", "--framework", fw, "--start", "prefix_quote", "--period", "day"],
    ):
        code, out, err = call_cli(*argv, "--db", str(db_path), "--format", "json")
        assert code == 0, (argv, err)
        assert json.loads(out)
    code, out, _ = call_cli("funnel", "--framework", fw, "--db", str(db_path),
                            "--order", "unordered", "--format", "json")
    # PostHog's unordered rule (CONTRACT §4 as changed by issue 13): row k = persons with k
    # distinct stages in one window. Every plan_chosen person has `chose` and (except v04's a;b)
    # `ne_semicolon`, v04 has `in_unicode`; the page-view person only `in_unicode`; a third stage:
    # v01 eq_quote, v02/v03 in_unicode, v05/v06 prefix_quote, v07 prefix_wildcard,
    # v11 eq_backslash, v14 eq_cjk.
    assert [r["persons"] for r in json.loads(out)][:4] == [len(PLANS) + 1, len(PLANS), 8, 0]
    # retention of the one person whose plan is the DROP TABLE string: a cohort of exactly 1
    code, out, _ = call_cli("retention", "--framework", fw, "--start", "eq_quote",
                            "--db", str(db_path), "--format", "json")
    assert [(r["cohort"], r["cohort_size"]) for r in json.loads(out)] == [("2024-02-26", 1)]
    assert warehouse_state(db_path) == before


# --------------------------------------------------------------------------------------------
# names: refused with exit 2 and one line

GOOD_FRAMEWORK = {
    "name": "mini",
    "window": "7d",
    "stages": [
        {"name": "one", "match": [{"event": "page_view"}]},
        {"name": "two", "match": [{"event": "signed_up", "where": {"plan": {"eq": "x"}}}]},
    ],
}


def _bad_framework(kind: str, value: str) -> dict[str, Any]:
    spec = json.loads(json.dumps(GOOD_FRAMEWORK))
    if kind == "framework":
        spec["name"] = value
    elif kind == "stage":
        spec["stages"][1]["name"] = value
    elif kind == "property":
        spec["stages"][1]["match"][0]["where"] = {value: {"eq": "x"}}
    elif kind == "source":
        spec["stages"][1]["match"][0]["source"] = value
    return spec


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("framework", "mini; DROP TABLE events"),
        ("framework", "Mini"),
        ("framework", "mini'--"),
        ("stage", "two\"; DROP TABLE events; --"),
        ("stage", "étape"),
        ("stage", "two words"),
        ("property", "plan; DROP TABLE events"),
        ("property", "plan'"),
        ("property", "$.plan"),
        ("property", "plan.tier"),
        ("property", "plan[0]"),
        ("property", "-plan"),
        ("source", "Web; DROP"),
        ("source", "web'--"),
    ],
)
@pytest.mark.parametrize("command", ["funnel", "retention"])
def test_bad_names_in_a_framework_are_refused(
    tmp_path: Path, db_path: Path, kind: str, value: str, command: str,
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_bad_framework(kind, value), allow_unicode=True),
                    encoding="utf-8")
    extra = ["--start", "one"] if command == "retention" else []
    result = call_cli(command, "--db", str(db_path), "--framework", str(path), *extra)
    assert_refused(result, str(path), repr(value), RULES[kind])
    assert not db_path.exists()  # refused before anything touched a warehouse


@pytest.mark.parametrize("option", ["--start", "--return"])
def test_bad_stage_names_on_the_command_line_are_refused(
    input_dir: Path, db_path: Path, run_pipeline: Any, option: str,
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "page", "messageId": "m1", "anonymousId": "a", "timestamp": "2024-03-01T10:00Z"}
    ])
    run_pipeline(input_dir, db_path)
    before = warehouse_state(db_path)
    args = {"--start": "activation", "--return": "any"}
    args[option] = "activation'; DROP TABLE events; --"
    result = call_cli("retention", "--db", str(db_path), "--framework", "aarrr",
                      *[x for pair in args.items() for x in pair])
    assert_refused(result, option, repr(args[option]))
    assert warehouse_state(db_path) == before


def _config_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped config/ that journey_metrics.config reads instead of the real one."""
    config = tmp_path / "config"
    shutil.copytree(resources.resource_dir("config"), config)
    real = resources.resource_dir
    monkeypatch.setattr(
        "journey_metrics.config.resource_dir",
        lambda name: config if name == "config" else real(name),
    )
    return config


SHOP = {
    "name": "shop",
    "title": "Shop",
    "folder": "shop",
    "files": [{"pattern": "orders*.csv", "reader": "csv", "model": "stg_shop_orders",
               "required_columns": ["order_id"], "columns": ["order_id", "total"]}],
    "events": ["order_completed"],
}


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("name", "Web; DROP", "name: 'Web; DROP' " + NAME_RULE),
        ("name", "shop\"; DROP TABLE events; --", NAME_RULE),
        ("name", "shöp", NAME_RULE),
        ("folder", "../outside", "folder: '../outside' " + NAME_RULE),
        ("folder", "/etc", NAME_RULE),
        ("model", "../../etc/passwd", "files[1].model: '../../etc/passwd' " + NAME_RULE),
        ("columns", ["order_id", "total\"; DROP TABLE events; --"], "files[1].columns"),
        ("required_columns", ["Order_ID"], "files[1].required_columns"),
    ],
)
def test_bad_names_in_a_source_config_are_refused_by_run(
    tmp_path: Path, input_dir: Path, db_path: Path, run_pipeline: Any,
    field: str, value: Any, shown: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "page", "messageId": "m1", "anonymousId": "a", "timestamp": "2024-03-01T10:00Z"}
    ])
    run_pipeline(input_dir, db_path)
    before = warehouse_state(db_path)
    config = _config_copy(tmp_path, monkeypatch)
    spec = json.loads(json.dumps(SHOP))
    if field in ("model", "columns", "required_columns"):
        spec["files"][0][field] = value
    else:
        spec[field] = value
    bad = config / "sources" / "40-shop.yaml"
    bad.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result = call_cli("run", "--input", str(input_dir), "--db", str(db_path))
    assert_refused(result, str(bad), shown)
    assert warehouse_state(db_path) == before
    # the same refusal when a framework is loaded (it checks rule sources against the sources)
    result = call_cli("funnel", "--db", str(db_path), "--framework", "aarrr")
    assert_refused(result, str(bad))


def test_the_refusal_shows_the_name_and_the_rule_verbatim(
    tmp_path: Path, db_path: Path,
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_bad_framework("framework", "[bold]Mini")))
    result = call_cli("funnel", "--db", str(db_path), "--framework", str(path))
    assert_refused(result, "name: '[bold]Mini' must match ^[a-z][a-z0-9_]*$")


@pytest.mark.parametrize("kind", ["framework", "stage", "property", "source"])
def test_a_name_with_a_closing_markup_tag_is_refused_in_one_line(
    tmp_path: Path, db_path: Path, kind: str,
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_bad_framework(kind, "[/x]")))
    result = call_cli("funnel", "--db", str(db_path), "--framework", str(path))
    assert_refused(result, "'[/x]'")


def test_an_event_name_value_with_brackets_is_just_a_value(
    tmp_path: Path, input_dir: Path, db_path: Path, run_pipeline: Any,
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "page", "messageId": "m1", "anonymousId": "a", "timestamp": "2024-03-01T10:00Z"}
    ])
    run_pipeline(input_dir, db_path)
    spec = json.loads(json.dumps(GOOD_FRAMEWORK))
    spec["stages"][1]["match"] = [{"event": ["[/x]", "[bold]y"]}]
    path = tmp_path / "fw.yaml"
    path.write_text(yaml.safe_dump(spec))
    code, out, err = call_cli("funnel", "--db", str(db_path), "--framework",
                              str(path), "--format", "json")
    assert code == 0, err
    assert [r["persons"] for r in json.loads(out)] == [1, 0]
    assert "'[/x]'" in err  # the warning about an event no source declares names it


def test_a_framework_rule_naming_an_unknown_but_valid_source_is_refused(
    tmp_path: Path, db_path: Path,
) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(yaml.safe_dump(_bad_framework("source", "mobile")))
    result = call_cli("funnel", "--db", str(db_path), "--framework", str(path))
    assert_refused(result, "unknown source 'mobile'")


def test_hostile_csv_headers_are_data_not_sql(
    input_dir: Path, db_path: Path, run_pipeline: Any
) -> None:
    """Column names we did not choose (extra CSV columns) are kept as property names (deals), or
    read as candidate trait names and dropped (contacts: only configured traits are kept)."""
    evil = 'x"; DROP TABLE events; --'
    (input_dir / "crm").mkdir(parents=True)
    deals = input_dir / "crm" / "deals.csv"
    with deals.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hs_object_id", "dealstage", "closedate", "associated_contact_id", evil,
                         "ünï'code"])
        writer.writerow(["9", "closedwon", "2024-01-01T00:00:00Z", "101", "v1", "v2"])
    contacts = input_dir / "crm" / "contacts.csv"
    with contacts.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hs_object_id", "email", "hs_lifecyclestage_lead_date", evil, "ünï'code"])
        writer.writerow(["101", "c@example.com", "2024-01-01T00:00:00Z", "v1", "v2"])
    assert b'"x""; DROP' in deals.read_bytes()
    assert b'"x""; DROP' in contacts.read_bytes()
    summary = run_pipeline(input_dir, db_path)
    assert summary["failed_files"] == []
    assert summary["sources"][2]["events"] == 2
    props = dict(query(db_path, "SELECT event_id, properties::VARCHAR FROM events"))
    assert json.loads(props["deal:9:closedwon"]) == {evil: "v1", "ünï'code": "v2",
                                                   "dealstage": "closedwon"}
    assert json.loads(props["101:lead"]) == {}
    assert query(db_path, "SELECT count(*) FROM _jm_traits") == [(0,)]


# --------------------------------------------------------------------------------------------
# input paths are confined to --input

PAGE = {"type": "page", "anonymousId": "a", "timestamp": "2024-03-01T10:00:00Z"}


def _page(message_id: str) -> dict[str, Any]:
    return {**PAGE, "messageId": message_id}


def _links_layout(tmp_path: Path) -> Path:
    """input/ with a real file, links inside and links leading outside; returns input/."""
    outside = tmp_path / "outside"
    write_jsonl(outside / "secret.jsonl", [_page("secret-1")])
    (outside / "mail").mkdir()
    (outside / "mail" / "sg.json").write_text(json.dumps([
        {"email": "x@example.com", "timestamp": 1709287200, "event": "open",
         "sg_event_id": "secret-2"},
    ]))
    root = tmp_path / "input"
    write_jsonl(root / "web" / "a-real.jsonl", [_page("real-1")])
    write_jsonl(root / "_store" / "inside.jsonl", [_page("inside-1")])
    (root / "_store" / "hop.jsonl").symlink_to(outside / "secret.jsonl")
    web = root / "web"
    (web / "b-inside-relative.jsonl").symlink_to("../_store/inside.jsonl")
    (web / "c-outside-absolute.jsonl").symlink_to(outside / "secret.jsonl")
    (web / "d-outside-relative.jsonl").symlink_to("../../outside/secret.jsonl")
    (web / "e-hop-via-inside-link.jsonl").symlink_to("../_store/hop.jsonl")
    (root / "email").symlink_to(outside / "mail", target_is_directory=True)
    return root


REFUSED = {
    "web/c-outside-absolute.jsonl",
    "web/d-outside-relative.jsonl",
    "web/e-hop-via-inside-link.jsonl",
    "email/sg.json",
}


@pytest.mark.parametrize("via_link", [False, True], ids=["input", "input-given-as-a-link"])
def test_links_leading_outside_the_input_folder_are_refused(
    tmp_path: Path, db_path: Path, via_link: bool,
) -> None:
    root = _links_layout(tmp_path)
    given = root
    if via_link:  # the input folder itself may be reached through a link: that is fine
        given = tmp_path / "input-link"
        given.symlink_to(root, target_is_directory=True)
    code, out, err = call_cli("run", "--input", str(given), "--db", str(db_path),
                              "--format", "json")
    assert code == 0, err
    summary = json.loads(out)
    failed = {f["file"]: f["reason"] for f in summary["failed_files"]}
    assert set(failed) == REFUSED
    for reason in failed.values():
        assert reason.startswith("refused: links outside the input folder"), reason
    manifest = dict(
        query(db_path, "SELECT file_path, reason FROM _jm_files WHERE status = 'failed'")
    )
    assert manifest == failed
    assert query(db_path, "SELECT event_id, file_path FROM events ORDER BY 1") == [
        ("inside-1", "web/b-inside-relative.jsonl"),
        ("real-1", "web/a-real.jsonl"),
    ]
    assert query(db_path, "SELECT count(*) FROM events WHERE event_id LIKE 'secret%'") == [(0,)]


@pytest.mark.parametrize("target", ["../_store/gone.jsonl", "/nonexistent/outside.jsonl"],
                         ids=["inside", "outside"])
def test_a_dangling_link_fails_alone(
    tmp_path: Path, input_dir: Path, db_path: Path, target: str,
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [_page("real-1")])
    (input_dir / "web" / "b-dangling.jsonl").symlink_to(target)
    code, out, err = call_cli("run", "--input", str(input_dir), "--db",
                              str(db_path), "--format", "json")
    assert code == 0, err
    summary = json.loads(out)
    assert [f["file"] for f in summary["failed_files"]] == ["web/b-dangling.jsonl"]
    assert query(db_path, "SELECT event_id FROM events") == [("real-1",)]


def test_a_link_loop_and_a_named_pipe_fail_alone(tmp_path: Path, db_path: Path) -> None:
    """A link that loops stopped the whole run (exit 1), and a named pipe made it wait forever
    with the warehouse locked: each fails alone, the other files load."""
    web = tmp_path / "input" / "web"
    web.mkdir(parents=True)
    (web / "a.jsonl").write_text(json.dumps(
        {"type": "page", "messageId": "m1", "timestamp": "2026-01-05T10:00:00Z",
         "anonymousId": "a1"}) + "\n")
    (web / "b.jsonl").symlink_to("b.jsonl")
    (web / "c-loop.jsonl").symlink_to("c-other.jsonl")
    (web / "c-other.jsonl").symlink_to("c-loop.jsonl")
    os.mkfifo(web / "d.jsonl")
    code, out, err = call_cli("run", "--input", str(tmp_path / "input"), "--db", str(db_path),
                              "--format", "json")
    assert code == 0, err
    failed = {f["file"]: f["reason"] for f in json.loads(out)["failed_files"]}
    loop = "refused: a link that points back to itself (a loop)"
    assert failed == {"web/b.jsonl": loop, "web/c-loop.jsonl": loop, "web/c-other.jsonl": loop,
                      "web/d.jsonl": "refused: not a regular file (a pipe, socket or device is "
                                     "never read)"}
    assert query(db_path, "SELECT event_id FROM events") == [("m1",)]


def test_an_unknown_folder_named_for_an_address_is_not_printed(tmp_path: Path,
                                                               db_path: Path) -> None:
    (tmp_path / "input" / "ann.secret@leak.example").mkdir(parents=True)
    code, _, err = call_cli("run", "--input", str(tmp_path / "input"), "--db", str(db_path))
    assert code == 2
    assert "unknown source folder" in err
    assert "@" not in err
