"""The metric invocations the engine suites compare (CONTRACT §12): every recorded command on
data/sample/ (tests/golden/sample_outputs/commands.txt) and every metric's registered examples.

`invoke(args)` runs one in this process (CliRunner), so a Spark session is started once per test
module, not once per command.
"""

from __future__ import annotations

from pathlib import Path

from sample_outputs import SAMPLE, commands, load_sample

__all__ = ["SAMPLE", "as_json", "contract_lake_with_extra_person", "export_sample",
           "invocations", "invoke"]

RULES = Path(__file__).parent / "spark" / "frameworks" / "aarrr_rules.yaml"
EMAIL_RETURN = Path(__file__).parent / "spark" / "frameworks" / "email_return.yaml"
WHERE_IN = Path(__file__).parent / "spark" / "frameworks" / "where_in.yaml"
WHERE_FIELDS = Path(__file__).parent / "spark" / "frameworks" / "where_fields.yaml"


def invocations() -> dict[str, list[str]]:
    from journey_metrics.metrics.registry import example_commands

    found = dict(commands())
    for name, args in example_commands().items():
        if args not in found.values():
            found[name] = args
    # the funnel's `within` and `exclude` marts (no built-in framework has them)
    rules = str(RULES)
    found["funnel_rules_json"] = ["funnel", "--framework", rules, "--format", "json"]
    found["funnel_rules_first_unordered"] = ["funnel", "--framework", rules, "--entry", "first",
                                             "--format", "json"]
    found["funnel_rules_by_channel_times"] = ["funnel", "--framework", rules, "--by", "channel",
                                              "--times", "--format", "json"]
    # the numbered trend (overlapping stages: Spark's and DuckDB's non-by-time path)
    found["funnel_accsr_trend_first"] = ["funnel", "--framework", "accsr", "--trend", "week",
                                         "--entry", "first", "--format", "json"]
    # --from on a numbered framework and on the unordered funnel: their stage events start at
    # --from (decision 158)
    found["funnel_accsr_from_trend"] = ["funnel", "--framework", "accsr", "--from", "2026-02-09",
                                        "--trend", "week", "--format", "json"]
    found["funnel_unordered_from_first"] = ["funnel", "--framework", "aarrr", "--order",
                                            "unordered", "--entry", "first", "--from",
                                            "2026-02-01", "--to", "2026-03-20", "--format",
                                            "json"]
    # an as_of before the latest event: persons first seen after it are in no group (not even
    # `(none)`), on both engines
    found["churn_by_channel_early_as_of"] = ["churn", "--period", "week", "--by", "channel",
                                             "--as-of", "2026-02-01T00:00:00Z", "--format", "json"]
    # a return stage that matches unsubscribes and spam reports, which never count (decision 162)
    found["retention_email_return"] = ["retention", "--framework", str(EMAIL_RETURN), "--start",
                                       "activation", "--return", "emailed", "--format", "json"]
    # `where ... in` with numbers (matched numerically) and texts, on both engines
    found["funnel_where_in_json"] = ["funnel", "--framework", str(WHERE_IN), "--format", "json"]
    # `where` on the canonical campaign and revenue (a deal's amount)
    found["funnel_where_fields_json"] = ["funnel", "--framework", str(WHERE_FIELDS), "--format",
                                         "json"]
    return found


def as_json(args: list[str]) -> list[str]:
    """The invocation with `--format json` (the rows, not their table rendering)."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--format":
            skip = True
            continue
        out.append(arg)
    return [*out, "--format", "json"]


def invoke(args: list[str]) -> str:
    from typer.testing import CliRunner

    from journey_metrics.cli import app
    from journey_metrics.cli.metric_commands import add_metric_commands

    add_metric_commands()
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    if result.exit_code != 0:
        raise AssertionError(f"{args} exited {result.exit_code}: {result.output}"
                             f"{result.exception!r}")
    return result.stdout


def export_sample(base: Path) -> tuple[Path, Path]:
    """data/sample/ loaded into a warehouse and exported as a lake: (warehouse, lake)."""
    from journey_metrics.export import export

    db, lake = base / "w.duckdb", base / "lake"
    load_sample(db)
    export(db, lake)
    return db, lake


def contract_lake_with_extra_person(lake: Path, out: Path) -> Path:
    """Another tool's lake made from `lake`: CONTRACT §5's columns only, and a persons table
    holding one person without events, whose id sorts before every other (decision 235)."""
    import duckdb

    out.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT event_id, source, event_name, occurred_at, person_id, channel,"
                f" revenue, properties FROM read_parquet('{lake / 'events.parquet'}'))"
                f" TO '{out / 'events.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY (SELECT person_id, channel, first_seen_at"
                f" FROM read_parquet('{lake / 'persons.parquet'}') UNION ALL"
                f" SELECT '0-no-events', 'direct', TIMESTAMPTZ '2020-01-01 00:00:00+00')"
                f" TO '{out / 'persons.parquet'}' (FORMAT parquet)")
    con.close()
    return out
