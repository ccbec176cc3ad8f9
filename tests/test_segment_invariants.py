"""Two black-box properties of segments and identities, end to end on generated input.

1. CONTRACT §6: `--where trait:T=V` counts only the persons whose trait T is V, "in every group
   and denominator", and `--by trait:T` puts the same persons in group V. So group V of `--by`
   prints what the `all` group of `--where` prints, for every metric that takes both (not
   `paths`, which takes neither, nor `attribution`, whose `--by` groups touches). One documented
   exception: `churn` lists the periods of its population (docs/decisions.md 44), so its `--by`
   groups share everyone's periods, and a `--where` population starts at its own; the periods
   they both list must agree.
2. No metric depends on how identifiers are spelled. A person id derives from the person's
   smallest identifier, and emails are kept as keyed hashes (CONTRACT §1 Privacy). The same
   input with every web id renamed (a bijection that scrambles their order), loaded with
   another key, gives other person ids and must print the same bytes for every invocation the
   engine suites compare.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from functools import cache
from pathlib import Path

import pytest

from engine_cases import invocations, invoke
from generated_input import rewrite_json_lines

pytestmark = pytest.mark.slow

# every metric that takes both --by and --where, with options that reach its other code paths
SEGMENTED = {
    "funnel": ["funnel", "--framework", "aarrr"],
    "funnel_first": ["funnel", "--framework", "five_a", "--entry", "first"],
    "funnel_unordered": ["funnel", "--framework", "aarrr", "--order", "unordered"],
    "funnel_trend": ["funnel", "--framework", "accsr", "--trend", "week"],
    "funnel_times": ["funnel", "--framework", "aarrr", "--times"],
    "funnel_correlate": ["funnel", "--framework", "aarrr", "--correlate"],
    "retention": ["retention", "--framework", "aarrr", "--start", "activation",
                  "--period", "week"],
    "retention_cumulative": ["retention", "--framework", "aarrr", "--start", "acquisition",
                             "--return", "revenue", "--period", "week", "--cumulative"],
    "referral": ["referral", "--period", "week"],
    "nps": ["nps", "--period", "week"],
    "revenue": ["revenue", "--period", "week"],
    "ltv": ["ltv", "--framework", "aarrr", "--start", "activation", "--period", "week"],
    "satisfaction": ["satisfaction", "--period", "week"],
    "churn": ["churn", "--period", "week"],
}
TRAITS = ("plan", "lifecyclestage")  # a web identify trait and a CRM contact column
# the latest event, and an earlier as_of (traits, groups and periods are read at as_of)
AS_OF = {"latest": [], "early": ["--as-of", "2026-03-01T00:00:00Z"]}
KEYS = ("first-key-0123456789abcdef", "another-key-9876543210")


def _load(folder: Path, db: Path, key: str) -> Path:
    from journey_metrics import pipeline

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEY_METRICS_HASH_KEY", key)
        pipeline.run(folder, db, refresh=False)
    return db


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from journey_metrics_synth import generate

    folder = tmp_path_factory.mktemp("segment_invariants") / "input"
    generate(folder, 600, seed=5)
    return folder


def _rename_ids(message: dict[str, object]) -> None:
    for key in ("anonymousId", "userId", "previousId"):
        value = message.get(key)
        if isinstance(value, str):
            message[key] = "r-" + hashlib.sha256(value.encode()).hexdigest()[:20]


def _renamed(source: Path, target: Path) -> Path:
    """A copy of the input whose web ids (anonymousId, userId, previousId) are renamed."""
    shutil.copytree(source, target)
    for path in sorted((target / "web").glob("*.jsonl")):
        rewrite_json_lines(path, _rename_ids)
    return target


@pytest.fixture(scope="module")
def warehouses(generated: Path) -> tuple[Path, Path]:
    """(the generated input, loaded with the first key; its renamed copy, with the second)."""
    base = generated.parent
    return (_load(generated, base / "original.duckdb", KEYS[0]),
            _load(_renamed(generated, base / "renamed"), base / "renamed.duckdb", KEYS[1]))


def _rows(args: list[str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(invoke([*args, "--format", "json"]))
    return rows


@cache
def _values(db: Path, trait: str) -> list[str]:
    """The trait's values among the persons (a funnel by the trait lists a group for each; a
    metric may list fewer, e.g. `--correlate` only items that 25 entrants had)."""
    rows = _rows(["funnel", "--framework", "aarrr", "--by", f"trait:{trait}", "--db", str(db)])
    return sorted({str(r["group"]) for r in rows} - {"all", "(none)"})


def _without_group(rows: list[dict[str, object]], group: str) -> list[dict[str, object]]:
    return [{k: v for k, v in row.items() if k != "group"} for row in rows
            if row.get("group", "all") == group]


@pytest.mark.parametrize("as_of", sorted(AS_OF))
@pytest.mark.parametrize("trait", TRAITS)
@pytest.mark.parametrize("name", sorted(SEGMENTED))
def test_a_by_group_is_the_where_of_its_value(
    warehouses: tuple[Path, Path], name: str, trait: str, as_of: str,
) -> None:
    args = [*SEGMENTED[name], *AS_OF[as_of], "--db", str(warehouses[0])]
    by = _rows([*args, "--by", f"trait:{trait}"])
    values = _values(warehouses[0], trait)
    assert len(values) >= 2, f"the generated input gives {trait!r} too few values: {values}"
    for value in values:
        grouped = _without_group(by, value)
        where = _without_group(_rows([*args, "--where", f"trait:{trait}={value}"]), "all")
        if name == "churn":
            # decision 44: the --where population's periods start at its own second period of
            # activity; before it nobody of the group was active
            periods = {row["period"] for row in where}
            earlier = [row for row in grouped if row["period"] not in periods]
            assert all(row["active_before"] == 0 for row in earlier), (value, earlier)
            assert all(str(row["period"]) < str(where[0]["period"]) for row in earlier)
            grouped = [row for row in grouped if row["period"] in periods]
        assert grouped == where, f"{name} --by trait:{trait}, group {value!r}, as_of {as_of}"


@pytest.mark.parametrize("name", sorted(invocations()))
def test_no_metric_depends_on_the_spelling_of_identifiers(
    warehouses: tuple[Path, Path], name: str,
) -> None:
    args = invocations()[name]
    first, second = (invoke([*args, "--db", str(db)]) for db in warehouses)
    assert first == second


def test_the_renamed_input_has_other_person_ids(warehouses: tuple[Path, Path]) -> None:
    """The property above is only worth something if the person ids changed."""
    from journey_metrics.db import connect

    ids = []
    for db in warehouses:
        con = connect(db, read_only=True)
        try:
            ids.append({r[0] for r in con.execute("SELECT person_id FROM persons").fetchall()})
        finally:
            con.close()
    assert len(ids[0]) == len(ids[1]) > 100
    assert len(ids[0] & ids[1]) < len(ids[0]) / 2
