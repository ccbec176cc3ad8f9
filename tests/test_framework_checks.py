"""Framework `where` rules and the checks of YAML configuration (CONTRACT §3, §5):

1. `in` compares like `eq`: a number in the list matches numerically (9 = 9.0), a text as text.
2. Property names as events keep them (`planType`, `Order-ID`); stage names with capitals and `-`.
3. Every refusal names the file, the line and column, and the field (list positions from 1).
4. A rule that can never match (`event: []`, `in: []`) and a key given twice are refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from conftest import write_jsonl
from journey_metrics.config import (
    BUILT_IN_FRAMEWORKS,
    load_framework,
    load_report_settings,
    load_source,
    load_sources,
)
from journey_metrics.errors import UsageError
from journey_metrics.resources import resource_dir
from journey_metrics.stages import compile_stages
from journey_metrics.yaml_files import read_yaml

# --- matching, on DuckDB (tests/spark/test_spark_metrics.py compares Spark) ---------------------

# event id -> properties (as sent: the JSON types matter)
PROPERTIES: dict[str, dict[str, Any]] = {
    "int9": {"score": 9},
    "float9": {"score": 9.0},
    "text9": {"score": "9"},
    "text9.0": {"score": "9.0"},
    "int10": {"score": 10},
    "int8": {"score": 8},
    "textx": {"score": "x"},
    "true": {"score": True},
    "none": {"score": None},
    "missing": {},
    "camel": {"planType": "pro", "plantype": "free", "Order-ID": "A-17", "2fa": True},
    "lower": {"plantype": "pro", "order-id": "A-17"},
}


def matches(con: duckdb.DuckDBPyConnection, tmp_path: Path, where: str) -> list[str]:
    """The events (all named `e`) a one-rule stage `{event: e, where: WHERE}` matches."""
    path = tmp_path / "fw.yaml"
    path.write_text(
        "name: t\nstages:\n  - {name: first, match: [{event: e}]}\n"
        f"  - name: rule\n    match:\n      - event: e\n        where: {where}\n",
        encoding="utf-8",
    )
    compiled = compile_stages(load_framework(str(path)))
    expression = compiled.expressions[1]
    used = {k: v for k, v in compiled.params.items() if f"${k}" in expression}
    rows = con.execute(f"SELECT event_id FROM fct_events WHERE {expression} ORDER BY 1",
                       used).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def events() -> duckdb.DuckDBPyConnection:
    from journey_metrics.db import install_macros

    con = duckdb.connect(":memory:")
    install_macros(con, loading=False)  # jm_plain_number
    con.execute("CREATE TABLE fct_events (event_id VARCHAR, event_name VARCHAR, source VARCHAR,"
                " channel VARCHAR, properties JSON)")
    con.executemany("INSERT INTO fct_events VALUES (?, 'e', 'web', NULL, ?)",
                    [(k, json.dumps(v)) for k, v in PROPERTIES.items()])
    return con


@pytest.mark.parametrize(("where", "expected"), [
    # numbers match numerically, whatever the JSON type: 9, 9.0, "9", "9.0"
    ("{score: {in: [9.0, 10.0]}}", ["float9", "int10", "int9", "text9", "text9.0"]),
    ("{score: {in: [9, 10]}}", ["float9", "int10", "int9", "text9", "text9.0"]),
    # ... exactly as eq does
    ("{score: {eq: 9.0}}", ["float9", "int9", "text9", "text9.0"]),
    ("{score: {in: [9.0]}}", ["float9", "int9", "text9", "text9.0"]),
    # a text matches the text: "9" is 9 and "9", not 9.0 (its text is 9.0)
    ("{score: {in: ['9']}}", ["int9", "text9"]),
    ("{score: {in: ['9.0']}}", ["float9", "text9.0"]),
    # a mixed list: each element its own way
    ("{score: {in: [10, x]}}", ["int10", "textx"]),
    ("{score: {in: ['9', 10.0]}}", ["int10", "int9", "text9"]),
    ("{score: {in: [true]}}", ["true"]),  # a boolean is its JSON text
    # ne and gte unchanged
    ("{score: {gte: 9}}", ["float9", "int10", "int9", "text9", "text9.0"]),
])
def test_in_compares_numbers_numerically_and_texts_as_texts(
    events: duckdb.DuckDBPyConnection, tmp_path: Path, where: str, expected: list[str],
) -> None:
    assert matches(events, tmp_path, where) == expected


def test_in_stays_two_set_lookups(tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text("name: t\nstages:\n  - {name: a, match: [{event: e}]}\n"
                    "  - {name: b, match: [{where: {score: {in: [9, '9', 10.5]}}}]}\n")
    compiled = compile_stages(load_framework(str(path)))
    assert compiled.expressions[1] == (  # (any rule (the rule (numbers OR texts)))
        "(((list_contains($s2r0_w0_in_number, jm_plain_number(json_extract_string(properties,"
        " '$.score'))) OR list_contains($s2r0_w0_in_text, json_extract_string("
        "properties, '$.score')))))")
    assert compiled.params == {"s1r0_event_name": ["e"], "s2r0_w0_in_number": [9.0, 10.5],
                               "s2r0_w0_in_text": ["9"]}


@pytest.mark.parametrize(("where", "expected"), [
    ("{planType: {eq: pro}}", ["camel"]),  # the name as sent; JSON keys are case-sensitive
    ("{plantype: {eq: pro}}", ["lower"]),
    ("{Order-ID: {prefix: A-}}", ["camel"]),
    ("{order-id: {in: [A-17]}}", ["lower"]),
    ("{2fa: {eq: true}}", ["camel"]),
])
def test_property_names_as_events_keep_them(
    events: duckdb.DuckDBPyConnection, tmp_path: Path, where: str, expected: list[str],
) -> None:
    assert matches(events, tmp_path, where) == expected


@pytest.mark.parametrize("name", ["a.b", "a b", "a'b", 'a"b', "a[0]", "$.a", "-a", "a*", "ü"])
def test_property_names_that_would_change_the_json_path_are_refused(
    tmp_path: Path, name: str,
) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text("name: t\nstages:\n  - {name: a, match: [{event: e}]}\n"
                    f"  - {{name: b, match: [{{where: {{{json.dumps(name)}: {{eq: 1}}}}}}]}}\n",
                    encoding="utf-8")
    with pytest.raises(UsageError) as error:
        load_framework(str(path))
    assert f"property name {name!r} must match ^[A-Za-z0-9_][A-Za-z0-9_-]*$" in str(error.value)
    assert ", line 4, column " in str(error.value)


def test_stage_names_with_capitals_and_dashes_reach_every_output(
    input_dir: Path, db_path: Path, run_pipeline: Any, tmp_path: Path,
) -> None:
    write_jsonl(input_dir / "web" / "a.jsonl", [
        {"type": "page", "messageId": "p1", "anonymousId": "a", "timestamp": "2024-03-01T10:00Z"},
        {"type": "track", "event": "Signed Up", "messageId": "s1", "anonymousId": "a",
         "timestamp": "2024-03-01T10:05Z", "properties": {"planType": "pro"}},
    ])
    run_pipeline(input_dir, db_path)
    path = tmp_path / "fw.yaml"
    path.write_text("name: mixed\nstages:\n  - {name: Visit, match: [{event: page_view}]}\n"
                    "  - name: Sign-Up_pro\n    match:\n      - event: signed_up\n"
                    "        where: {planType: {in: [pro, 1]}}\n")
    from journey_metrics.cli import app
    from journey_metrics.cli.metric_commands import add_metric_commands

    add_metric_commands()
    runner = CliRunner()
    done = runner.invoke(app, ["funnel", "--db", str(db_path), "--framework", str(path),
                               "--format", "json"])
    assert done.exit_code == 0, done.output
    assert [(r["stage"], r["persons"]) for r in json.loads(done.stdout)] == [
        ("Visit", 1), ("Sign-Up_pro", 1)]
    done = runner.invoke(app, ["funnel", "--db", str(db_path), "--framework", str(path),
                               "--format", "csv"])
    assert done.exit_code == 0, done.output
    assert ",Sign-Up_pro," in done.stdout
    done = runner.invoke(app, ["retention", "--db", str(db_path), "--framework", str(path),
                               "--start", "Sign-Up_pro", "--return", "Visit", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["cohort_size"] == 1
    done = runner.invoke(app, ["paths", "--db", str(db_path), "--item", "stage", "--framework",
                               str(path), "--end", "Sign-Up_pro", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert [(r["source"], r["target"]) for r in json.loads(done.stdout)] == [
        ("Visit", "Sign-Up_pro"), ("Sign-Up_pro", "(end)")]


@pytest.mark.parametrize("name", ["Sign Up", "-signup", "1st", "étape", "a.b", "x;y"])
def test_stage_names_outside_the_rule_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text("name: t\nstages:\n  - {name: a, match: [{event: e}]}\n"
                    f"  - {{name: {json.dumps(name)}, match: [{{event: f}}]}}\n",
                    encoding="utf-8")
    with pytest.raises(UsageError) as error:
        load_framework(str(path))
    assert str(error.value) == (
        f"{path}, line 4, column 6: stages[2].name: {name!r} must match"
        " ^[A-Za-z][A-Za-z0-9_-]*$ (a letter, then letters, digits, _ or -)")


# --- where a problem is: file, line, column, field ----------------------------------------------

FRAMEWORK = """\
name: shop
title: Shop
window: 30d
stages:
  - name: visit
    match:
      - event: [page_view, screen_view]
  - name: signup
    match:
      - event: signed_up
  - name: advocacy
    match:
      - event: nps_response
        where: {score: {gte: 9}}
      - source: web
        event: invite_sent
        where:
          plan: {eq: pro}
exclude:
  - match:
      - event: email_unsubscribe
    between: [1, 3]
"""


@pytest.mark.parametrize(("replace", "by", "place_and_message"), [
    # the example of the audit: an unknown operator in the third stage's second rule
    ("plan: {eq: pro}", "plan: {gt: pro}",
     "line 18, column 18: stages[3] (advocacy).match[2].where.plan.gt: unknown operator 'gt'"
     " (known: eq, ne, in, prefix, gte, lte)"),
    ("{score: {gte: 9}}", "{score: {gte: nine}}",
     "line 14, column 25: stages[3] (advocacy).match[1].where.score.gte: gte on score needs a"
     " number, got 'nine'"),
    ("        event: invite_sent\n", "        event: invite_sent\n        colour: red\n",
     "line 17, column 9: stages[3] (advocacy).match[2].colour: Extra inputs are not permitted"),
    ("      - source: web", "      - source: mobile",
     "line 15, column 9: stages[3] (advocacy).match[2].source: unknown source 'mobile'"
     " (known: crm, email, web)"),
    ("  - name: signup\n    match:\n      - event: signed_up\n", "  - name: signup\n",
     "line 8, column 5: stages[2] (signup).match: Field required"),
    ("    between: [1, 3]", "    between: [1, 4]",
     "line 22, column 5: exclude[1].between: stage 4 does not exist (the framework has 3"
     " stages)"),
    ("window: 30d", "window: 30days",
     "line 3, column 1: window: window '30days' must look like <int>(m|h|d), e.g. 30d"),
    ("  - name: advocacy", "  - name: visit",
     "line 11, column 5: stages[3].name: stage names must be unique: visit repeats (stage 1"
     " has it)"),
    ("stages:\n  - name: visit\n", "stages:\n  - name: visit\n    within: 1d\n",
     "line 6, column 5: stages[1] (visit).within: within on the first stage has no previous"
     " step to measure from"),
    # issue 4: a rule that can never match
    ("      - event: signed_up", "      - event: []",
     "line 10, column 9: stages[2] (signup).match[1].event: an empty list matches no event, so"
     " the rule never matches (leave event out to match any event)"),
    ("      - source: web", "      - source: []",
     "line 15, column 9: stages[3] (advocacy).match[2].source: an empty list matches no source,"
     " so the rule never matches (leave source out to match any source)"),
    ("      - event: signed_up", "      - {event: signed_up, channel: []}",
     "line 10, column 28: stages[2] (signup).match[1].channel: an empty list matches no"
     " channel, so the rule never matches (leave channel out to match any channel)"),
    ("{score: {gte: 9}}", "{score: {in: []}}",
     "line 14, column 25: stages[3] (advocacy).match[1].where.score.in: in on score: an empty"
     " list matches nothing"),
    ("{score: {gte: 9}}", "{score: {in: [9, null]}}",
     "line 14, column 25: stages[3] (advocacy).match[1].where.score.in: in on score takes texts"
     " and numbers, got None"),
    ("{score: {gte: 9}}", "{score: {eq: null}}",
     "line 14, column 25: stages[3] (advocacy).match[1].where.score.eq: eq on score takes a text"
     " or a number, got None"),
    ("{score: {gte: 9}}", "{score: {ne: [9]}}",
     "line 14, column 25: stages[3] (advocacy).match[1].where.score.ne: ne on score takes a text"
     " or a number, got [9]"),
    ("  - match:\n      - event: email_unsubscribe\n", "  - match: []\n",
     "line 20, column 5: exclude[1].match: an exclusion needs at least one match rule"),
    # an audit of retention, referral and NPS (decision 239): NaN and infinity compare badly
    ("{score: {gte: 9}}", "{score: {lte: .nan}}",
     "line 14, column 25: stages[3] (advocacy).match[1].where.score.lte: lte on score needs a"
     " finite number, got nan"),
    ("{score: {gte: 9}}", "{score: {in: [9, .inf]}}",
     "line 14, column 25: stages[3] (advocacy).match[1].where.score.in: in on score needs a"
     " finite number, got inf"),
    # issue 4: a key given twice (YAML keeps the last silently)
    ("title: Shop\n", "title: Shop\nname: shop2\n",
     "line 3, column 1: key 'name' is given twice in one mapping (first on line 1; YAML would"
     " keep only the last)"),
    ("    match:\n      - event: signed_up\n",
     "    match:\n      - event: signed_up\n    match:\n      - event: signed_in\n",
     "line 11, column 5: stages[2] (signup): key 'match' is given twice in one mapping (first on"
     " line 9; YAML would keep only the last)"),
    ("        where: {score: {gte: 9}}", "        where: {score: {gte: 9}, score: {lte: 10}}",
     "line 14, column 34: stages[3] (advocacy).match[1].where: key 'score' is given twice in"
     " one mapping (first on line 14; YAML would keep only the last)"),
])
def test_every_refusal_names_the_line_and_field(
    tmp_path: Path, replace: str, by: str, place_and_message: str,
) -> None:
    path = tmp_path / "fw.yaml"
    assert replace in FRAMEWORK
    path.write_text(FRAMEWORK.replace(replace, by, 1))
    with pytest.raises(UsageError) as error:
        load_framework(str(path))
    assert str(error.value) == f"{path}, {place_and_message}"


def test_the_refusal_is_one_line_with_exit_status_2(tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(FRAMEWORK.replace("title: Shop\n", "title: Shop\nname: shop2\n"))
    done = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "funnel", "--db", str(tmp_path / "w.duckdb"),
         "--framework", str(path)], capture_output=True, text=True, check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {path}, line 3, column 1: key 'name' is given twice in one mapping (first on"
        " line 1; YAML would keep only the last)"]


def test_merge_keys_and_aliases_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text("name: t\nstages:\n  - &base {name: a, match: [{event: e}]}\n"
                    "  - {<<: *base, name: b}\n")
    assert [s.name for s in load_framework(str(path)).stages] == ["a", "b"]


def test_a_source_file_refusal_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "40-shop.yaml"
    path.write_text("name: shop\ntitle: Shop\nfolder: shop\nfiles:\n"
                    "  - {pattern: 'a*.csv', reader: csv, model: stg_a}\n"
                    "  - pattern: 'b*.csv'\n    reader: csv\n    model: ../b\n")
    with pytest.raises(UsageError) as error:
        load_source(path)
    assert str(error.value) == (
        f"{path}, line 8, column 5: files[2].model: '../b' must match ^[a-z][a-z0-9_]*$")


def test_the_report_settings_refusal_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    path.write_text("journey_framework: aarrr\nretention:\n  start: activation\n"
                    "  period: fortnight\n")
    with pytest.raises(UsageError) as error:
        load_report_settings(path)
    assert str(error.value) == (
        f"{path}, line 4, column 3: retention.period: Input should be 'day', 'week' or 'month'")
    path.write_text("trend_weeks: 12\nlang: en\ntrend_weeks: 8\n")
    with pytest.raises(UsageError, match=r"report.yaml, line 3, column 1: key 'trend_weeks' is"):
        load_report_settings(path)


def test_a_channel_rules_file_with_a_key_twice_is_refused(tmp_path: Path) -> None:
    from journey_metrics.channels import load_rules_file

    path = tmp_path / "channels.yaml"
    path.write_text("- channel: Partners\n  medium: [partner]\n  medium: [affiliate]\n")
    with pytest.raises(UsageError) as error:
        load_rules_file(path)
    assert str(error.value) == (
        f"{path}, line 3, column 3: [1]: key 'medium' is given twice in one mapping (first on"
        " line 2; YAML would keep only the last)")


def test_every_shipped_yaml_still_loads() -> None:
    for name in BUILT_IN_FRAMEWORKS:
        warnings: list[str] = []
        load_framework(name, warn=warnings.append)
        assert warnings == [], name
    assert [s.name for s in load_sources()] == ["web", "email", "crm"]
    load_report_settings()
    shipped = sorted(resource_dir("config").rglob("*.yaml"))
    shipped += sorted((Path(__file__).parents[1] / "src" / "journey_metrics").rglob("*.yaml"))
    assert len(shipped) >= 10
    for path in shipped:
        read_yaml(path)  # no key twice anywhere


def test_undeclared_events_are_checked_against_the_sources_a_rule_names(tmp_path: Path) -> None:
    """A rule naming its source is checked against that source's events only, and the note
    names the sources whose events are open (`open_events`) rather than "web" by habit (an
    audit that added a source: `{source: email, event: signed_up}` passed silently)."""
    from journey_metrics.config import load_framework

    path = tmp_path / "f.yaml"
    path.write_text("name: f\nwindow: 1d\nstages:\n"
                    "  - {name: a, match: [{source: email, event: [signed_up, email_open]}]}\n"
                    "  - {name: b, match: [{event: app_opened}]}\n")
    notes: list[str] = []
    load_framework(str(path), warn=notes.append)
    assert [n.split(".event: ", 1)[-1] for n in notes] == [
        "source email does not declare event 'signed_up'",
        "no source declares event 'app_opened' (web or crm may still produce it: their events"
        " are open)"]


def test_an_integer_beyond_a_doubles_range_is_refused(tmp_path: Path) -> None:
    """`lte: 1000...0` (400 digits) passed the check and failed the command with exit 1 (an
    OverflowError converting it for the comparison): refused like NaN (decision 239)."""
    path = tmp_path / "fw.yaml"
    huge = "1" + "0" * 400
    path.write_text("name: t\nstages:\n  - {name: a, match: [{event: e}]}\n"
                    f"  - {{name: b, match: [{{event: f, where: {{score: {{lte: {huge}}}}}}}]}}\n",
                    encoding="utf-8")
    with pytest.raises(UsageError, match="lte on score needs a finite number"):
        load_framework(str(path))


def test_a_stage_named_any_gets_a_note_from_retention(tmp_path: Path) -> None:
    """A stage may be named `any` (a funnel reads it), but `retention --return any` means any
    activity, so it can never name that stage: retention says so (decision 239)."""
    from engine_cases import invoke

    write_jsonl(tmp_path / "input" / "web" / "a.jsonl", [
        {"type": "track", "event": "Signed Up", "messageId": "s1", "userId": "u1",
         "timestamp": "2026-03-02T10:00:00Z"}])
    db = tmp_path / "w.duckdb"
    invoke(["run", "--input", str(tmp_path / "input"), "--db", str(db)])
    framework = tmp_path / "fw.yaml"
    framework.write_text("name: t\nstages:\n  - {name: start, match: [{event: signed_up}]}\n"
                         "  - {name: any, match: [{event: signed_in}]}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "retention", "--db", str(db), "--framework",
         str(framework), "--start", "start", "--format", "json"],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "--return any means any activity, not the stage named any" in done.stderr
    assert json.loads(done.stdout)[0]["cohort_size"] == 1
