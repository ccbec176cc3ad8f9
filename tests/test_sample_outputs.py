"""Every metric command gives, byte for byte, the recorded output on data/sample/."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_cases import invoke
from sample_outputs import GOLDEN, commands


@pytest.fixture(scope="module")
def sample_db(sample_export: tuple[Path, Path]) -> Path:
    return sample_export[0]


@pytest.mark.parametrize(("name", "args"), sorted(commands().items()))
def test_output_matches_recording(sample_db: Path, name: str, args: list[str]) -> None:
    expected = (GOLDEN / f"{name}.out").read_text(encoding="utf-8")
    # through the CLI's entry point in this process (the recorder runs each in a child process:
    # the two must print the same bytes)
    printed = invoke([*args, "--db", str(sample_db)])
    assert printed == expected, f"{name}: re-record with tests/sample_outputs.py"
