"""The metric registry: a metric declared once (here, a toy from the test suite) appears in the
CLI, the Python API, the report and the suites that iterate the registry, with no other edit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEST_KEY

TESTS = Path(__file__).parent
SAMPLE = TESTS.parent / "data" / "sample"


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "JOURNEY_METRICS_METRICS": "toy_metric", "PYTHONPATH": path,
            "JOURNEY_METRICS_HASH_KEY": TEST_KEY}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "journey_metrics", *args], env=_env(),
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("toy") / "w.duckdb"
    done = _cli("run", "--input", str(SAMPLE), "--db", str(db), "--format", "json")
    assert done.returncode == 0, done.stderr
    return db


def test_toy_metric_is_a_command_with_its_options_and_formats(warehouse: Path) -> None:
    assert "toy" in _cli("--help").stdout
    assert "--source" in _cli("toy", "--help").stdout
    rows = json.loads(_cli("toy", "--db", str(warehouse), "--by", "channel",
                           "--format", "json").stdout)
    assert rows[0]["group"] == "all"
    assert sum(r["persons"] for r in rows[1:]) == rows[0]["persons"]  # groups add up to all
    csv = _cli("toy", "--db", str(warehouse), "--source", "crm", "--format", "csv").stdout
    assert csv.splitlines()[0] == "group,persons,events,events_per_person"
    table = _cli("toy", "--db", str(warehouse)).stdout
    assert "events per person" in table


def test_toy_metric_is_in_the_report(warehouse: Path, tmp_path: Path) -> None:
    done = _cli("report", "--db", str(warehouse), "--out", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert 'id="toy"' in page
    assert (tmp_path / "r" / "toy.png").exists()
    assert "toy" in json.loads((tmp_path / "r" / "data.json").read_text())


def test_toy_metric_is_in_the_api_and_the_suites(warehouse: Path) -> None:
    script = (
        "import journey_metrics, json\n"
        "from journey_metrics.metrics.registry import example_commands\n"
        f"jm = journey_metrics.open({str(warehouse)!r})\n"
        "frame = jm.toy(by='channel')\n"
        "print(json.dumps([frame.columns, frame.height, 'toy_example_1' in example_commands()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    columns, height, in_suites = json.loads(done.stdout)
    assert columns == ["group", "persons", "events", "events_per_person"]
    assert height > 1
    assert in_suites


def test_builtin_metrics_are_discovered() -> None:
    from journey_metrics.metrics.registry import metrics

    names = {m.name for m in metrics()}
    assert {"funnel", "retention", "referral", "nps"} <= names


@pytest.mark.parametrize(("hours", "shown"), [
    (0.0, "0.0"), (0.009, "0.009"), (0.25, "0.25"), (0.949, "0.95"), (0.95, "0.95"),
    (0.999, "1.0"), (12.345, "12.3"),
    (1234.5, "1,234.5"), (None, "-")])
def test_hours_under_one_keep_two_digits_in_a_table(hours: float | None, shown: str) -> None:
    """A step minutes apart printed 0.0 hours in the table (a CLI sweep, decision 215); JSON
    and CSV keep the raw value."""
    from journey_metrics.metrics.registry import Kind
    from journey_metrics.output import format_cell

    assert format_cell(hours, Kind.hours) == shown


def test_the_api_refuses_a_blank_value_as_the_cli_does(warehouse: Path) -> None:
    """`jm.funnel("aarrr", from_="")` (a notebook's empty widget) counted everything, as if no
    bound were given; the CLI refuses `--from ''` (decision 237)."""
    import journey_metrics
    from journey_metrics.errors import UsageError

    jm = journey_metrics.open(warehouse)
    with pytest.raises(UsageError, match="from_ is empty"):
        jm.funnel("aarrr", from_="")
    with pytest.raises(UsageError, match="framework is empty"):
        jm.funnel(" ")
    assert jm.funnel("aarrr").height > 0
