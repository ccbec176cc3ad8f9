"""Recorded outputs of the metric commands on data/sample/ (tests/golden/sample_outputs/).

`python tests/sample_outputs.py record` re-records them (after a change that alters a number on
purpose: say why in the commit); the test compares every command's bytes with the recording.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden" / "sample_outputs"
SAMPLE = Path(__file__).parents[1] / "data" / "sample"
KEY = "test-key-0123456789abcdef"


def commands() -> dict[str, list[str]]:
    found = {}
    for line in (GOLDEN / "commands.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, args = line.partition(":")
            found[name.strip()] = shlex.split(args)
    return found


def environment() -> dict[str, str]:
    return {**os.environ, "JOURNEY_METRICS_HASH_KEY": KEY, "COLUMNS": "200"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journey_metrics", *args], capture_output=True, text=True,
        env=environment(), check=False,
    )


def load_sample(db: Path) -> None:
    result = cli("run", "--input", str(SAMPLE), "--db", str(db), "--format", "json")
    if result.returncode != 0:
        raise RuntimeError(result.stderr)


def output(db: Path, args: list[str]) -> str:
    result = cli(*args, "--db", str(db))
    if result.returncode != 0:
        raise RuntimeError(f"{args}: {result.stderr}")
    return result.stdout


def record(db: Path) -> None:
    load_sample(db)
    for name, args in commands().items():
        (GOLDEN / f"{name}.out").write_text(output(db, args), encoding="utf-8")


if __name__ == "__main__" and sys.argv[1:] == ["record"]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        record(Path(folder) / "sample.duckdb")
