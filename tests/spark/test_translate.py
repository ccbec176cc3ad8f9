"""CONTRACT §12: every mart translates to Spark SQL at every build (no Java needed).

1. Each SQL file the metrics read that has no snippets translates as it is (its `.spark.sql`
   variant where it has one).
2. Every recorded command and registered example runs on an in-memory DuckDB over the sample
   lake with the Spark variants loaded, while each statement it sends is translated (sqlglot
   RAISE plus our checks) — the exact statements Spark would get — and prints the same bytes
   as without the variants (so a `.spark.sql` variant means what its original means).
3. Every mart file under sql/marts/ is covered by 1 or 2 (or listed below as report-only with a
   reason), so a new mart that does not translate fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine_cases import invocations
from engine_compare import NEEDS_SPARK, NEEDS_SQLGLOT

pytestmark = [pytest.mark.spark, NEEDS_SQLGLOT]

SQL = Path(__file__).parents[2] / "sql"
CASES = invocations()
# Marts only the dashboard reads (report/, being rebuilt): translated when their sections are
# wired to the engines; named here so a new file is never silently uncovered.
REPORT_ONLY = {"fct_journey_map.sql", "journey_person_touchpoints.sql", "funnel_exits.sql",
               "funnel_exit_touches.sql", "fct_journey_touchpoints.sql",
               "journey_stage_touches.sql", "fct_journey_feelings.sql"}
# DuckDB's fast paths: funnels of disjoint stages (metrics/funnel.py `by_time`: ASOF joins on
# occurred_at), --trend's first step and the fast funnel's steps (ASOF joins); Spark computes
# those with the numbered form, its .spark.sql variants and its own steps (the Spark-only
# step_tail_k.spark.sql and steps.spark.sql, covered below)
DUCKDB_ONLY = {"attempt_1_by_time.sql", "attempt_1_trend.sql", "attempt_k_by_time.sql",
               "level_1_by_time.sql", "level_k_by_time.sql", "person_levels_by_time.sql",
               "stage_events_by_time.sql", "step_k_by_time.sql", "step_k.sql"}
_SNIPPET = re.compile(r"\[\[\s*[a-z_][a-z0-9_]*\s*\]\]|\{\{\s*[a-z_][a-z0-9_]*\s*\}\}")


def _code(path: Path) -> str:
    return "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("--"))


def _marts() -> list[Path]:
    return sorted(p for p in (SQL / "marts").rglob("*.sql") if not p.name.endswith(".spark.sql"))


def _effective(path: Path) -> Path:
    variant = path.with_name(path.name[:-4] + ".spark.sql")
    return variant if variant.exists() else path


READ_BY_METRICS = [SQL / "intermediate" / n for n in (
    "int_population.sql", "int_person_traits.sql", "int_first_campaigns.sql",
    "int_first_channels.sql", "int_orders.sql", "int_cohorts.sql",
    "int_reporting_currency.sql")]


def _plain(path: Path) -> bool:
    """A whole statement without snippets (not a CTE fragment that a module composes)."""
    code = _code(_effective(path)).lstrip()
    return not _SNIPPET.search(code) and code.upper().startswith(("SELECT", "WITH"))


@pytest.mark.parametrize("path", [p for p in _marts() + READ_BY_METRICS if _plain(p)],
                         ids=lambda p: str(p.relative_to(SQL)))
def test_plain_file_translates(path: Path) -> None:
    from journey_metrics.engines.spark import translate

    assert translate(_code(_effective(path))).startswith(("SELECT", "WITH"))


class Recording:
    """A DuckDB lake connection that also translates every statement it runs."""

    def __init__(self, con: Any, seen: list[str]) -> None:
        self._con, self._seen = con, seen

    def execute(self, sql: str, params: Any = None) -> Any:
        from journey_metrics.engines.spark import plan

        _, _, lifted, _ = plan(sql)  # TranslationError when there is no faithful Spark form
        self._seen.append(sql)
        if lifted:  # run as Spark will: the lifted CTEs first, each once (engines/spark._lift)
            return self._lifted(sql, params)
        return self._con.execute(sql, params) if params else self._con.execute(sql)

    def _lifted(self, sql: str, params: Any) -> Any:
        import sqlglot

        from journey_metrics.engines.spark import _CREATE, _lift

        create = _CREATE.match(sql)
        query = create.group(3) if create else sql
        lifted, rest = _lift(sqlglot.parse_one(query, read="duckdb"))
        for name, body in lifted:
            self._run(f"CREATE OR REPLACE TEMP TABLE {name} AS {body.sql('duckdb')}", params)
        text = rest.sql("duckdb")
        if create:
            text = f"CREATE OR REPLACE TEMP {create.group(1)} {create.group(2)} AS {text}"
        return self._run(text, params)

    def _run(self, sql: str, params: Any) -> Any:
        from journey_metrics.sql import used_parameters

        used = used_parameters(sql, dict(params or {}))
        return self._con.execute(sql, used) if used else self._con.execute(sql)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


@pytest.fixture(scope="module")
def lake(sample_export: tuple[Path, Path]) -> Path:
    return sample_export[1]


SEEN: list[str] = []


@pytest.fixture
def recording(lake: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import journey_metrics.engines as engines
    from journey_metrics.engines.duckdb import open_lake

    def open_engine(engine: str, db: Path, *, events: str | None = None, **_: Any) -> Any:
        assert events is not None
        if engine == "duckdb":  # the reference: the lake on DuckDB, DuckDB's SQL files
            return open_lake(Path(events))
        return Recording(open_lake(Path(events)), SEEN)

    monkeypatch.setattr(engines, "open_engine", open_engine)
    return lake


def _with_spark_sql(args: list[str], lake: Path) -> str:
    """Run one CLI invocation as `--engine spark --events LAKE` would: the Spark variants and
    the statements Spark gets, executed by DuckDB (the recording connection)."""
    from typer.testing import CliRunner

    from journey_metrics.cli import app
    from journey_metrics.cli.metric_commands import add_metric_commands

    add_metric_commands()
    result = CliRunner().invoke(app, [*args, "--engine", "spark", "--events", str(lake)],
                                env={"COLUMNS": "200"})
    if result.exception is not None:
        raise result.exception
    return result.stdout


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_statement_of_every_command_translates(recording: Path, name: str) -> None:
    """...and the Spark variants (`x.spark.sql`, the portable forms) give DuckDB's output."""
    from engine_cases import invoke

    with_variants = _with_spark_sql(CASES[name], recording)
    assert with_variants == invoke([*CASES[name], "--events", str(recording)])


def test_every_mart_is_covered() -> None:
    """After the commands above: each mart file is plain (translated directly) or its code
    appears in a statement a command sent (its fragments between snippets, in order)."""
    if not SEEN:
        pytest.skip("run with the command tests (the statements they recorded)")
    statements = ["\n".join(line for line in s.splitlines() if not line.lstrip().startswith("--"))
                  for s in SEEN]
    uncovered = []
    spark_only = [p for p in (SQL / "marts").rglob("*.spark.sql")
                  if not p.with_name(p.name[:-10] + ".sql").exists()]
    for path in _marts() + spark_only:
        code = _code(_effective(path))
        if _plain(path) or path.name in REPORT_ONLY | DUCKDB_ONLY:
            continue
        fragments = [f.strip() for f in _SNIPPET.split(code) if f.strip()]
        pattern = ".*?".join(re.escape(f) for f in fragments)
        if not any(re.search(pattern, s, re.DOTALL) for s in statements):
            uncovered.append(str(path.relative_to(SQL)))
    assert uncovered == [], "marts no command exercises (add an example or list them)"


def test_a_materialized_cte_read_twice_is_lifted_once() -> None:
    """Spark inlines a CTE at each reference: `_lift` computes the MATERIALIZED ones read more
    than once first, with the CTEs they read, and points the statement at them."""
    import sqlglot

    from journey_metrics.engines.spark import _lift

    sql = ("WITH base AS (SELECT 1 AS x), twice AS MATERIALIZED (SELECT x FROM base), "
           "once AS MATERIALIZED (SELECT x FROM twice), "
           "again AS MATERIALIZED (SELECT a.x FROM twice AS a JOIN twice USING (x)) "
           "SELECT * FROM once, again, again AS b")
    lifted, rest = _lift(sqlglot.parse_one(sql, read="duckdb"))
    names = [name for name, _ in lifted]
    assert [n.split("_", 3)[-1] for n in names] == ["twice", "again"]
    assert lifted[0][1].sql("duckdb") == "WITH base AS (SELECT 1 AS x) SELECT x FROM base"
    assert lifted[1][1].sql("duckdb") == (
        f"SELECT a.x FROM {names[0]} AS a JOIN {names[0]} AS twice USING (x)")
    assert rest.sql("duckdb") == (
        "WITH base AS (SELECT 1 AS x), "  # kept: unread, as any CTE a statement does not read
        f"once AS MATERIALIZED (SELECT x FROM {names[0]} AS twice) "
        f"SELECT * FROM once, {names[1]} AS again, {names[1]} AS b")


def test_a_statement_without_materialized_ctes_is_unchanged() -> None:
    import sqlglot

    from journey_metrics.engines.spark import _lift

    tree = sqlglot.parse_one("WITH a AS (SELECT 1 AS x) SELECT * FROM a, a AS b", read="duckdb")
    assert _lift(tree) == ([], tree)


def test_a_list_index_of_unknown_type_is_refused() -> None:
    """sqlglot moves DuckDB's 1-based index to Spark's 0-based one only for an index it can type
    as an integer: `names[item]` (a bare column) would silently read the next element."""
    from journey_metrics.engines.spark import TranslationError, translate

    with pytest.raises(TranslationError, match="index of unknown type"):
        translate("SELECT names[item] AS n FROM t")
    assert "names[CAST(item AS INT) + -1]" in translate("SELECT names[item::INTEGER] AS n FROM t")
    assert "m['k']" in translate("SELECT m['k'] AS v FROM t")  # a map's key is no list index


@NEEDS_SPARK
def test_numbers_scores_currencies_and_urls_read_alike_on_spark() -> None:
    """The macros that read by rule what the engines' casts, upper() and trim() read differently
    (decision 224) give on Spark the values tests/test_macros.py finds on DuckDB."""
    from journey_metrics.engines.spark import spark_session, translate
    from test_macros import MACRO_TEXTS

    session = spark_session("local[2]")

    def column(expression: str, texts: tuple[str, ...]) -> list[Any]:
        values = ", ".join(f"({n}, '{t}')" for n, t in enumerate(texts))
        sql = translate(f"SELECT {expression} AS v FROM (VALUES {values}) AS t(n, x) ORDER BY n")
        return [row[0] for row in session.sql(sql).collect()]

    assert column("jm_plain_number(x)", MACRO_TEXTS) == [
        9.0, 9.0, -2.5, 10.0, 0.5, 9.0, None, None, None, None, None, None]
    assert column("jm_whole_number(x)", MACRO_TEXTS) == [
        9, 9, None, None, None, 9, None, None, None, None, None, None]
    assert column("jm_upper_ascii(x)", ("eur", "ﬁm", "straße")) == ["EUR", "ﬁM", "STRAßE"]
    assert column("jm_page_path(x)", ('{"url": "\\u00a0https://x.io/c"}',
                                      '{"url": " https://x.io/c"}')) == [None, "/c"]
