"""Time zones (issue 7, property 5): every command gives byte-identical output under
TZ=Asia/Tokyo, TZ=UTC and TZ=America/Los_Angeles.

For each process zone, a child process with TZ set in its environment generates the same input,
builds its own warehouse and runs every command (`generate`, `run`, `funnel`, `retention`,
`referral`, `nps`, `export`, `report`); the outputs of the three zones are compared byte for
byte. Calendar buckets follow `--tz` (a non-UTC one is given to some commands), never the
process zone. The fast test runs each zone's commands in one child process (cli_driver.py, the
dashboard's PNG and JavaScript rendering stubbed); the slow one starts one real
`journey-metrics` process per command and also compares the dashboard's HTML and PNGs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from cli_driver import run_commands

from conftest import TEST_KEY
from journey_metrics.metrics.registry import example_commands

ZONES = ("Asia/Tokyo", "UTC", "America/Los_Angeles")

# name -> arguments after `journey-metrics` (the warehouse is appended as --db)
METRIC_COMMANDS: dict[str, list[str]] = {
    "funnel_aarrr_by_channel": ["funnel", "--framework", "aarrr", "--by", "channel"],
    "funnel_five_a_kolkata": ["funnel", "--framework", "five_a", "--by", "channel",
                              "--tz", "Asia/Kolkata", "--from", "2026-01-10", "--to",
                              "2026-01-24"],
    "retention_day_sao_paulo": ["retention", "--framework", "aarrr", "--start", "acquisition",
                                "--period", "day", "--tz", "America/Sao_Paulo"],
    "retention_week": ["retention", "--framework", "aarrr", "--start", "activation"],
    "referral_week": ["referral", "--period", "week"],
    "referral_month_tokyo": ["referral", "--tz", "Asia/Tokyo"],
    "nps_by_channel": ["nps", "--by", "channel"],
    "nps_week_new_york": ["nps", "--period", "week", "--tz", "America/New_York"],
    # and every registered metric's examples: a new metric joins this suite by itself
    **example_commands(),
}
OUTPUTS = ("generate", "run", *METRIC_COMMANDS, "events.parquet", "persons.parquet",
           "data.json", "trend.png")
# The one chart with a time axis; the fast chain renders its PNG for real (the others are stubbed).
TREND_TITLE = "step conversion by entry week"


def _commands(work: Path) -> dict[str, list[str]]:
    data, db = str(work / "input"), str(work / "w.duckdb")
    return {
        "generate": ["generate", "--persons", "300", "--seed", "11", "--days", "30",
                     "--out", data],
        "run": ["run", "--input", data, "--db", db, "--format", "json"],
        **{name: [*args, "--db", db, "--format", "json"]
           for name, args in METRIC_COMMANDS.items()},
        "export": ["export", "--db", db, "--out", str(work / "export")],
        "report": ["report", "--db", db, "--out", str(work / "report")],
    }


def _folder_bytes(folder: Path) -> bytes:
    """All files of a folder (relative name + content) as one byte string."""
    parts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        parts += [path.relative_to(folder).as_posix().encode(), b"\0", path.read_bytes(), b"\0"]
    return b"".join(parts)


def _collect(work: Path, stdout: dict[str, str]) -> dict[str, bytes]:
    out = {"generate": _folder_bytes(work / "input")}
    summary = json.loads(stdout["run"])
    assert summary.pop("warehouse") == str(work / "w.duckdb")  # the only run-specific field
    out["run"] = json.dumps(summary).encode()
    out |= {name: stdout[name].encode() for name in METRIC_COMMANDS}
    for name in ("events.parquet", "persons.parquet"):
        out[name] = (work / "export" / name).read_bytes()
    out["data.json"] = (work / "report" / "data.json").read_bytes()
    out["trend.png"] = (work / "report" / "trend.png").read_bytes()
    return out


def _env(zone: str) -> dict[str, str]:
    return {"TZ": zone, "JOURNEY_METRICS_HASH_KEY": TEST_KEY}


def _chain_in_one_process(base: Path, zone: str) -> dict[str, bytes]:
    work = base / zone.replace("/", "_")
    results = run_commands(_commands(work), work, env=_env(zone), real_png_titles=(TREND_TITLE,))
    return _collect(work, {name: r["stdout"] for name, r in results.items()})


def _chain_of_processes(base: Path, zone: str) -> dict[str, bytes]:
    work = base / zone.replace("/", "_")
    stdout = {}
    for name, argv in _commands(work).items():
        result = subprocess.run(
            [sys.executable, "-m", "journey_metrics", *argv], capture_output=True, text=True,
            env={**os.environ, **_env(zone)}, timeout=600,
        )
        assert result.returncode == 0, (zone, argv, result.stderr)
        stdout[name] = result.stdout
    out = _collect(work, stdout)
    for path in (work / "report").iterdir():  # index.html, every PNG, data.json
        out[f"report/{path.name}"] = path.read_bytes()
    return out


def _in_every_zone(
    base: Path, chain: Callable[[Path, str], dict[str, bytes]]
) -> dict[str, dict[str, bytes]]:
    with ThreadPoolExecutor(max_workers=len(ZONES)) as pool:
        runs = pool.map(lambda zone: chain(base, zone), ZONES)
        return dict(zip(ZONES, runs, strict=True))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    return _in_every_zone(tmp_path_factory.mktemp("zones"), _chain_in_one_process)


@pytest.mark.parametrize(
    "name",
    OUTPUTS,
)
def test_output_is_byte_identical_in_every_process_zone(
    outputs: dict[str, dict[str, bytes]], name: str
) -> None:
    utc = outputs["UTC"][name]
    for zone in ZONES:
        assert outputs[zone][name] == utc, f"{name} differs under TZ={zone}"


def test_outputs_are_not_trivial(outputs: dict[str, dict[str, bytes]]) -> None:
    """The compared outputs hold real rows (identical empty outputs would prove nothing)."""
    utc = {name: value for name, value in outputs["UTC"].items()
           if name not in ("generate", "events.parquet", "persons.parquet", "trend.png")}
    rows = {name: json.loads(value) for name, value in utc.items()}
    assert rows["run"]["events_total"] > 3000
    assert rows["run"]["persons"] == rows["data.json"]["persons"] == 300
    assert {r["group"] for r in rows["funnel_aarrr_by_channel"]} > {"all"}
    assert rows["funnel_five_a_kolkata"][0]["persons"] > 0
    assert len(rows["retention_day_sao_paulo"]) > 100
    for name in (n for n in METRIC_COMMANDS if "_example_" not in n):  # examples may be empty
        assert rows[name], name
    # periods are calendar starts in --tz: months start on the 1st, weeks on Monday
    assert {r["period"] for r in rows["referral_month_tokyo"]} == {"2026-01-01", "2026-02-01"}
    assert all(date.fromisoformat(r["period"]).weekday() == 0 for r in rows["nps_week_new_york"])


@pytest.mark.slow
def test_every_command_as_its_own_process_in_every_zone(tmp_path: Path) -> None:
    """The same with one real process per command and real PNGs (index.html and PNGs too)."""
    outputs = _in_every_zone(tmp_path, _chain_of_processes)
    assert len([n for n in outputs["UTC"] if n.endswith(".png")]) > 10
    differing = sorted(
        f"{name} under {zone}" for name in outputs["UTC"] for zone in ZONES
        if outputs[zone][name] != outputs["UTC"][name]
    )
    assert differing == []
