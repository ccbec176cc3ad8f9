"""Framework files (CONTRACT §3): the built-ins load, bad files are refused in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from journey_metrics.config import BUILT_IN_FRAMEWORKS, load_framework, parse_window
from journey_metrics.errors import UsageError

EXPECTED_STAGES = {
    "aarrr": ["acquisition", "activation", "retention", "revenue", "referral"],
    "five_a": ["aware", "appeal", "ask", "act", "advocate"],
    "awareness_to_advocacy": ["awareness", "consideration", "purchase", "retention", "advocacy"],
    "aida": ["attention", "interest", "desire", "action"],
    "accsr": ["awareness", "consideration", "conversion", "service", "retention"],
}


@pytest.mark.parametrize("name", BUILT_IN_FRAMEWORKS)
def test_built_ins_load_without_warnings(name: str) -> None:
    warnings: list[str] = []
    framework = load_framework(name, warn=warnings.append)
    assert framework.name == name
    assert [s.name for s in framework.stages] == EXPECTED_STAGES[name]
    assert warnings == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30d", "30 days, 0:00:00"), ("12h", "12:00:00"), ("90m", "1:30:00"),
     ("1d", "1 day, 0:00:00"), ("0d", "0:00:00"), ("0m", "0:00:00")],
)
def test_parse_window(text: str, expected: str) -> None:
    assert str(parse_window(text)) == expected


@pytest.mark.parametrize("text", ["-1d", "1w", "d", "1.5h", "", "30 d"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(ValueError, match="window"):
        parse_window(text)


def test_a_zero_half_life_is_refused() -> None:
    # a half-life divides (§9 time_decay); a zero window or lookback is a window (§3 `<int>`)
    with pytest.raises(ValueError, match="'0h' must be positive"):
        parse_window("0h", zero=False)


GOOD = """
name: mini
window: 7d
stages:
  - name: one
    match: [{event: page_view}]
  - name: two
    match: [{event: signed_up}]
"""


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("name: mini", "name: Mini", "line 2, column 1: name: 'Mini' must match ^[a-z][a-z0-9_]*$"),
        ("name: one", "name: one; drop",
         "line 5, column 5: stages[1].name: 'one; drop' must match ^[A-Za-z][A-Za-z0-9_-]*$"
         " (a letter, then letters, digits, _ or -)"),
        ("name: two", "name: one",
         "line 7, column 5: stages[2].name: stage names must be unique: one repeats"
         " (stage 1 has it)"),
        ("window: 7d", "window: -1d",
         "line 3, column 1: window: window '-1d' must look like <int>(m|h|d), e.g. 30d"),
        ("window: 7d", "window: soon",
         "line 3, column 1: window: window 'soon' must look like <int>(m|h|d), e.g. 30d"),
        ("{event: signed_up}", "{event: signed_up, where: {score: {gt: 9}}}",
         "line 8, column 48: stages[2] (two).match[1].where.score.gt: unknown operator 'gt'"
         " (known: eq, ne, in, prefix, gte, lte)"),
        ("{event: signed_up}", "{event: signed_up, where: {\"bad name\": {eq: 1}}}",
         "line 8, column 40: stages[2] (two).match[1].where['bad name']: property name"
         " 'bad name' must match ^[A-Za-z0-9_][A-Za-z0-9_-]*$ (it is read as a JSON path,"
         " $.name: . [ ] quotes and spaces would change the path)"),
        ("{event: signed_up}", "{event: signed_up, where: {score: {gte: high}}}",
         "line 8, column 48: stages[2] (two).match[1].where.score.gte: gte on score needs a"
         " number, got 'high'"),
        ("{event: signed_up}", "{source: mobile, event: signed_up}",
         "line 8, column 14: stages[2] (two).match[1].source: unknown source 'mobile' (known:"
         " crm, email, web)"),
        ("{event: signed_up}", "{colour: red}",
         "line 8, column 14: stages[2] (two).match[1].colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_framework_files(
    tmp_path: Path, replace: str, by: str, message: str
) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(GOOD.replace(replace, by, 1))
    with pytest.raises(UsageError) as error:
        load_framework(str(path))
    assert str(error.value) == f"{path}, {message}"


def test_one_stage_is_not_a_framework(tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text("name: x\nstages:\n  - name: one\n    match: [{event: a}]\n")
    with pytest.raises(UsageError, match="at least two stages"):
        load_framework(str(path))


def test_unknown_event_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(GOOD.replace("signed_up", "telepathy"))
    warnings: list[str] = []
    load_framework(str(path), warn=warnings.append)
    assert len(warnings) == 1
    assert "'telepathy'" in warnings[0]


def test_unknown_framework_name() -> None:
    with pytest.raises(UsageError, match="neither a built-in"):
        load_framework("pirates")


def test_cli_bad_framework_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(GOOD.replace("window: 7d", "window: 1w"))
    db = tmp_path / "none.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "journey_metrics", "funnel", "--db", str(db), "--framework",
         str(path)], capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {path}, line 3, column 1: window: window '1w' must look like <int>(m|h|d),"
        " e.g. 30d"
    ]


@pytest.mark.parametrize("name", BUILT_IN_FRAMEWORKS)
def test_built_ins_count_app_screens_where_they_count_pages(name: str) -> None:
    # CONTRACT §1: a Segment screen is `screen_view`; docs/frameworks.md lists each mapping
    framework = load_framework(name)
    with_pages = [(s.name, r.event) for s in framework.stages for r in s.match
                  if "page_view" in (r.event or [])]
    assert with_pages, name
    for stage, events in with_pages:
        assert "screen_view" in events, (name, stage)
    assert sum("screen_view" in (r.event or []) for s in framework.stages
               for r in s.match) == len(with_pages)


def test_an_unquoted_date_in_eq_is_its_iso_text(tmp_path: Path) -> None:
    """YAML reads `eq: 2024-03-01` as a date: it compares as the text 2024-03-01, as it did
    before `eq: null` was refused (decision 194)."""
    from journey_metrics.stages import compile_stages

    path = tmp_path / "dated.yaml"
    path.write_text(GOOD.replace("{event: signed_up}",
                                 "{event: signed_up, where: {day: {eq: 2024-03-01}}}"))
    framework = load_framework(str(path))
    assert "2024-03-01" in compile_stages(framework).params.values()
