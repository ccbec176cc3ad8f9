"""Determinism (issue 7, property 6): the same inputs give byte-identical JSON outputs of every
metric command and byte-identical exports across independent runs, with identical person ids.

Three warehouses are built from the same generated input, each by its own process:
- `a`: one run over the input;
- `b`: one run over a copy of the input in another folder (other absolute paths, other mtimes),
  generated again by `generate` with the same seed;
- `c`: two runs, first over the older half of the files, then over the whole folder (the way a
  nightly job sees the data arrive).
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cli_driver import run_commands

from conftest import TEST_KEY, query
from journey_metrics.metrics.registry import example_commands
from journey_metrics_synth import generate

# Run by `make test-slow`: it keeps the two CI suites, run side by side, about equal.
pytestmark = pytest.mark.slow

METRIC_COMMANDS: dict[str, list[str]] = {
    **{f"funnel_{fw}": ["funnel", "--framework", fw, "--by", "channel"]
       for fw in ("aarrr", "five_a", "awareness_to_advocacy", "aida", "accsr")},
    "funnel_first_7d": ["funnel", "--framework", "aarrr", "--entry", "first", "--window", "7d",
                        "--from", "2026-01-12", "--to", "2026-01-26"],
    "funnel_unordered": ["funnel", "--framework", "five_a", "--order", "unordered"],
    "retention_week": ["retention", "--framework", "aarrr", "--start", "activation"],
    "retention_day_cumulative": ["retention", "--framework", "five_a", "--start", "aware",
                                 "--return", "appeal", "--period", "day", "--cumulative"],
    "referral_month": ["referral"],
    "referral_week": ["referral", "--period", "week"],
    "nps_by_channel": ["nps", "--by", "channel"],
    "nps_week": ["nps", "--period", "week"],
    # and every registered metric's examples: a new metric joins this suite by itself
    **example_commands(),
}
EXPORTS = ("events.parquet", "persons.parquet")


def _metrics_and_export(db: Path, work: Path) -> dict[str, list[str]]:
    commands = {name: [*args, "--db", str(db), "--format", "json"]
                for name, args in METRIC_COMMANDS.items()}
    commands["export"] = ["export", "--db", str(db), "--out", str(work / "export")]
    return commands


def _build(work: Path, commands: dict[str, list[str]]) -> dict[str, Any]:
    results = run_commands(commands, work, env={"JOURNEY_METRICS_HASH_KEY": TEST_KEY})
    out: dict[str, Any] = {name: results[name]["stdout"] for name in METRIC_COMMANDS}
    out |= {name: (work / "export" / name).read_bytes() for name in EXPORTS}
    out["runs"] = [json.loads(r["stdout"]) for name, r in results.items()
                   if name.startswith("run")]
    # person_no is an internal join key, numbered in the order persons first appear (so it
    # depends on how the data arrived); person_id is the public id and must not
    out["person_map"] = query(work / "w.duckdb",
                              "SELECT node, person_id FROM _jm_person_map ORDER BY 1")
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    base = tmp_path_factory.mktemp("determinism")
    source = base / "a" / "input"
    generate(source, 300, 23, days=30)
    files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    # c: the older half of every source's files first (names carry the date), then all
    half = base / "c" / "half"
    for relative in files:
        if relative.name.split("-", 1)[-1] < "2026-01-19":
            (half / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / relative, half / relative)
    shutil.copytree(source, base / "c" / "input")
    assert 0 < len(_files(half)) < len(files)

    def chain(name: str) -> dict[str, Any]:
        work = base / name
        db = str(work / "w.duckdb")
        commands: dict[str, list[str]] = {}
        if name == "b":
            commands["generate"] = ["generate", "--persons", "300", "--seed", "23", "--days",
                                    "30", "--out", str(work / "input")]
        if name == "c":
            commands["run_half"] = ["run", "--input", str(half), "--db", db, "--format", "json"]
        commands["run"] = ["run", "--input", str(work / "input"), "--db", db, "--format", "json"]
        return _build(work, commands | _metrics_and_export(work / "w.duckdb", work))

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip("abc", pool.map(chain, "abc"), strict=True))
    assert _files(base / "b" / "input") == _files(source)  # generate is deterministic too
    return results


@pytest.mark.parametrize("name", [*METRIC_COMMANDS, *EXPORTS])
@pytest.mark.parametrize("other", ["b", "c"])
def test_byte_identical_across_runs(
    built: dict[str, dict[str, Any]], name: str, other: str
) -> None:
    assert built["a"][name], name  # not empty
    assert built[other][name] == built["a"][name]


def test_run_summaries_match(built: dict[str, dict[str, Any]]) -> None:
    [a], [b] = built["a"]["runs"], built["b"]["runs"]
    assert a.pop("warehouse") != b.pop("warehouse")
    assert a == b
    assert a["events_total"] > 3000
    # c loaded the same files in two runs: together they read the same records
    half, rest = built["c"]["runs"]
    assert (rest["events_total"], rest["persons"]) == (a["events_total"], a["persons"])
    for s_a, s_half, s_rest in zip(a["sources"], half["sources"], rest["sources"], strict=True):
        for key in ("records", "events", "duplicates", "quarantined"):
            assert s_half[key] + s_rest[key] == s_a[key], (s_a["source"], key)


def test_person_ids_are_identical(built: dict[str, dict[str, Any]]) -> None:
    person_map = built["a"]["person_map"]
    assert len({row[1] for row in person_map}) == 300
    assert built["b"]["person_map"] == person_map
    assert built["c"]["person_map"] == person_map


def test_metric_outputs_are_real(built: dict[str, dict[str, Any]]) -> None:
    for name in (n for n in METRIC_COMMANDS if "_example_" not in n):  # examples may be empty
        rows = json.loads(built["a"][name])
        assert rows, name
    funnel = json.loads(built["a"]["funnel_aarrr"])
    assert funnel[0]["persons"] == 300
    assert len({r["group"] for r in funnel}) > 2
