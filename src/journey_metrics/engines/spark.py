"""The Spark engine (CONTRACT §12): the marts' DuckDB SQL, translated by sqlglot, on Spark.

One source of truth for the SQL: the files under `sql/` are written in DuckDB's dialect, in a
portable subset. `translate()` parses a statement (DuckDB dialect), expands the `jm_*` macros of
sql/macros.sql and sql/staging/macros.sql (DuckDB macros do not exist in Spark: their bodies are
substituted, with a Spark body from sql/spark_macros.sql where the DuckDB one has no faithful
translation), refuses the constructs sqlglot would translate wrongly or not at all
(`unsupported()`), and writes Spark SQL with `ErrorLevel.RAISE`: never best-effort. Values stay
bound parameters (`$name` becomes Spark's `:name`, bound through `spark.sql(..., args=...)`).

`SparkConnection` gives the metric modules the DuckDB calls they use (`execute(sql, params)`,
`fetchall()`, `description`, `CREATE OR REPLACE TEMP TABLE .. AS`, `DROP TABLE IF EXISTS`), so
every metric runs unchanged; its rows are converted to what DuckDB returns (UTC-aware
timestamps, floats for doubles).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from journey_metrics.engines import DEFAULT_SPARK_MASTER
from journey_metrics.engines.lake import (
    LAKE_COLUMNS,
    REQUIRED,
    dataset_name,
    raw_name,
    view_statements,
)
from journey_metrics.errors import RunError, UsageError
from journey_metrics.sql import load_sql_exact, split_statements

_MACRO = re.compile(
    r"^CREATE\s+OR\s+REPLACE\s+TEMP\s+MACRO\s+([a-z_][a-z0-9_]*)\s*\(([^)]*)\)\s+AS\s+(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_CREATE = re.compile(
    r"^\s*CREATE\s+OR\s+REPLACE\s+TEMP(?:ORARY)?\s+(TABLE|VIEW)\s+\"?([a-z_][a-z0-9_]*)\"?\s+AS\s+"
    r"(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_DROP = re.compile(r"^\s*DROP\s+(?:TABLE|VIEW)\s+IF\s+EXISTS\s+\"?([a-z_][a-z0-9_]*)\"?\s*$",
                   re.IGNORECASE)


class TranslationError(RunError):
    """A statement that has no faithful Spark translation (a mart needs a portable form or a
    `.spark.sql` variant)."""


# --- macros -------------------------------------------------------------------------------------

@cache
def _macros() -> dict[str, tuple[tuple[str, ...], str, str]]:
    """name -> (parameters, body text, dialect of the body): Spark bodies override DuckDB's."""
    found: dict[str, tuple[tuple[str, ...], str, str]] = {}
    for path, dialect in (("macros.sql", "duckdb"), ("staging/macros.sql", "duckdb"),
                          ("spark_macros.sql", "spark")):
        for statement in split_statements(load_sql_exact(path)):
            match = _MACRO.match(statement)
            if match is None:
                raise TranslationError(f"sql/{path}: not a macro: {statement[:60]!r}")
            name, params, body = match.groups()
            names = tuple(p.strip() for p in params.split(",") if p.strip())
            found[name.lower()] = (names, body.strip(), dialect)
    return found


@cache
def _macro_body(name: str) -> tuple[tuple[str, ...], Any]:
    import sqlglot

    params, body, dialect = _macros()[name]
    return params, sqlglot.parse_one(body, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)


def _expand_macros(tree: Any) -> Any:
    from sqlglot import exp

    macros = _macros()
    for _ in range(50):  # macros call macros; a cycle would never end
        calls = [node for node in tree.find_all(exp.Anonymous) if node.name.lower() in macros]
        if not calls:
            return tree
        for call in calls:
            params, body = _macro_body(call.name.lower())
            args = list(call.expressions)
            if len(args) != len(params):
                raise TranslationError(f"{call.name}: {len(args)} arguments, "
                                       f"{len(params)} expected")
            bound = dict(zip(params, args, strict=True))
            expanded = body.copy()

            def substitute(node: Any, bound: dict[str, Any] = bound) -> Any:
                if (isinstance(node, exp.Column) and not node.table
                        and node.name in bound):
                    return bound[node.name].copy()
                return node

            expanded = expanded.transform(substitute)
            replacement = exp.Paren(this=expanded)
            if call is tree:
                tree = replacement
            else:
                call.replace(replacement)
    raise TranslationError("macros nest too deep (a cycle in the macros of sql/?)")


# --- translation --------------------------------------------------------------------------------

def unsupported(tree: Any) -> list[str]:
    """Constructs of DuckDB SQL that sqlglot would translate wrongly or print unchanged into
    invalid Spark SQL (checked before translating: we raise, never guess)."""
    from sqlglot import exp

    found = []
    for join in tree.find_all(exp.Join):
        if "ASOF" in (join.args.get("kind") or "").upper() or join.args.get("method") == "ASOF" \
                or "ASOF" in str(join.args.get("side") or "").upper():
            found.append("ASOF JOIN (use the window form or a .spark.sql variant)")
    for call in tree.find_all(exp.Anonymous):
        if call.name.lower() in ("columns", "timezone", "list_filter", "list_transform"):
            found.append(f"{call.name}()")
    for columns in tree.find_all(exp.Columns if hasattr(exp, "Columns") else exp.Anonymous):
        if not isinstance(columns, exp.Anonymous):
            found.append("COLUMNS()")
    for agg in tree.find_all(exp.AggFunc):
        if agg.find(exp.Order) is not None and not isinstance(agg, exp.GroupConcat):
            found.append(f"ordered aggregate {agg.sql('duckdb')[:40]}")
    for function in tree.find_all(exp.Lambda):
        found.append(f"lambda {function.sql('duckdb')[:40]}")
    found += _untyped_indices(tree)
    return found


def _untyped_indices(tree: Any) -> list[str]:
    """`list[i]` with an index whose type sqlglot cannot infer (a bare column): sqlglot moves a
    1-based DuckDB index to Spark's 0-based one only for an index it knows to be an integer, and
    prints any other unchanged, so `names[item]` would read the next element on Spark."""
    from sqlglot import exp
    from sqlglot.optimizer.annotate_types import annotate_types

    found = []
    for bracket in tree.find_all(exp.Bracket):
        if len(bracket.expressions) != 1:
            continue
        index = bracket.expressions[0].copy()
        annotate_types(index, dialect="duckdb")
        if index.type is None or index.type.this == exp.DataType.Type.UNKNOWN:
            found.append(f"index of unknown type {bracket.sql('duckdb')[:40]} (cast it)")
    return found


def _seconds(timestamp: Any) -> Any:
    """Spark: the instant in microseconds since the epoch (DuckDB keeps microseconds too)."""
    from sqlglot import exp

    return exp.Anonymous(this="UNIX_MICROS", expressions=[timestamp.copy()])


def _portable(tree: Any) -> Any:
    """Rewrites where sqlglot's own translation would change the meaning:

    - MATERIALIZED is only a hint (dropped);
    - a row constructor `(a, b)` used as an ordering key becomes `struct(a, b)` (compared field by
      field in both engines);
    - `epoch(t1 - t0)`, seconds with microseconds, would become UNIX_TIMESTAMP (whole seconds of
      an instant): written as the difference of the instants' microseconds, divided as doubles;
    - `quantile_cont(x, q)` (linear interpolation) is Spark's exact `percentile(x, q)`;
    - `list_position(list, x)` (NULL when absent) is `nullif(array_position(list, x), 0)`;
    - a window function over a named window inside arithmetic is parenthesised (Spark's parser
      reads `OVER w - x` as one identifier).
    """
    from sqlglot import exp

    for cte in tree.find_all(exp.CTE):
        if cte.args.get("materialized") is not None:
            cte.set("materialized", None)

    def rewrite(node: Any) -> Any:
        if isinstance(node, exp.Tuple) and not isinstance(node.parent, (exp.In, exp.Values)):
            return exp.Struct(expressions=[e.copy() for e in node.expressions])
        if isinstance(node, exp.TimeToUnix):
            inner = node.this
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if not isinstance(inner, exp.Sub):
                raise TranslationError(f"epoch() of an instant: {node.sql('duckdb')[:60]}")
            micros = exp.Sub(this=_seconds(inner.this), expression=_seconds(inner.expression))
            return exp.Paren(this=exp.Div(
                this=exp.Cast(this=micros, to=exp.DataType.build("DOUBLE")),
                expression=exp.Literal.number("1000000.0")))
        if isinstance(node, exp.PercentileCont) and node.args.get("expression") is not None:
            return exp.Anonymous(this="PERCENTILE",
                                 expressions=[node.this.copy(), node.expression.copy()])
        if isinstance(node, exp.Anonymous) and node.name.lower() == "list_position":
            return exp.Nullif(this=exp.Anonymous(this="ARRAY_POSITION",
                                                 expressions=[e.copy() for e in node.expressions]),
                              expression=exp.Literal.number(0))
        if isinstance(node, exp.Window) and isinstance(node.parent, exp.Binary):
            return exp.Paren(this=node.copy())
        return node

    # transform() does not visit inside a replacement: repeat until nothing changes (each rewrite
    # removes what it matches, so this ends)
    for _ in range(10):
        before = tree.sql("duckdb")
        tree = tree.transform(rewrite)
        if tree.sql("duckdb") == before:
            return tree
    raise TranslationError("rewrites did not settle")  # pragma: no cover


def _checked_tree(sql: str) -> Any:
    """One DuckDB statement parsed, its macros expanded, checked for what Spark cannot take."""
    import sqlglot

    trees = [t for t in sqlglot.parse(sql, read="duckdb",
                                      error_level=sqlglot.ErrorLevel.RAISE) if t is not None]
    if len(trees) != 1:
        raise TranslationError(f"expected one statement, got {len(trees)}")
    tree = _expand_macros(trees[0])
    problems = unsupported(tree)
    if problems:
        raise TranslationError("no Spark translation for: " + "; ".join(sorted(set(problems))))
    return tree


def _spark_text(tree: Any) -> str:
    import sqlglot

    return str(_portable(tree).sql(dialect="spark", comments=False,
                                   unsupported_level=sqlglot.ErrorLevel.RAISE))


@contextmanager
def _sqlglot_errors() -> Iterator[None]:
    from sqlglot.errors import SqlglotError

    try:
        yield
    except SqlglotError as exc:
        raise TranslationError(f"sqlglot cannot translate: {str(exc).splitlines()[0]}") from None


def translate(sql: str) -> str:
    """One DuckDB statement as Spark SQL (TranslationError when it has no faithful form)."""
    with _sqlglot_errors():
        return _spark_text(_checked_tree(sql))


# --- materialized CTEs ----------------------------------------------------------------------------

_LIFT_SEQUENCE = itertools.count(1)


def _references(tree: Any, name: str) -> int:
    from sqlglot import exp

    return sum(1 for t in tree.find_all(exp.Table) if not t.args.get("db") and t.name == name)


def _rename_tables(tree: Any, renamed: Mapping[str, str]) -> Any:
    """References to the CTEs in `renamed` point at their lifted views; a reference without an
    alias keeps the CTE's name as its alias, so qualified columns still resolve."""
    from sqlglot import exp

    for table in list(tree.find_all(exp.Table)):
        if table.args.get("db") or table.name not in renamed:
            continue
        original = table.name
        table.set("this", exp.to_identifier(renamed[original]))
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(original)))
    return tree


def _lift(tree: Any) -> tuple[list[tuple[str, Any]], Any]:
    """The statement's top-level `MATERIALIZED` CTEs that are read more than once, each as its
    own query (with the CTEs before it that it reads), and the statement reading them by name.

    Spark inlines every CTE at each reference, so a CTE read twice is computed twice, and a
    chain of them (the funnel's level_k reads level_k-1 twice) is computed exponentially often:
    at 1M events the fast funnel's plan scanned the events 65 times. DuckDB's MATERIALIZED
    says "compute once"; on Spark the connection computes each lifted query once (cut_lineage)
    and registers it as a temp view under a fresh name before the statement runs."""
    from sqlglot import exp

    with_ = tree.args.get("with_")
    if (with_ is None or with_.args.get("recursive")  # a recursive CTE reads itself
            or not any(c.args.get("materialized") for c in with_.expressions)):
        return [], tree
    tree = tree.copy()
    with_ = tree.args["with_"]
    renamed: dict[str, str] = {}
    kept: list[Any] = []
    lifted: list[tuple[str, Any]] = []
    for cte in list(with_.expressions):
        body = _rename_tables(cte.this.copy(), renamed)
        reads = _references(tree, cte.alias) - _references(cte, cte.alias)
        if not cte.args.get("materialized") or reads < 2:
            cte.set("this", body)
            kept.append(cte)
            continue
        needed = [k for k in kept if _references(body, k.alias)]
        while True:  # the kept CTEs those read, in their order
            more = [k for k in kept if k not in needed
                    and any(_references(n.this, k.alias) for n in needed)]
            if not more:
                break
            needed = [k for k in kept if k in needed or k in more]
        if needed:
            inner = body.args.get("with_")
            body.set("with_", exp.With(expressions=[k.copy() for k in needed]
                                       + (list(inner.expressions) if inner else [])))
        name = f"jm_cte_{next(_LIFT_SEQUENCE)}_{cte.alias}"
        lifted.append((name, body))
        renamed[cte.alias] = name
    if not lifted:
        return [], tree
    tree.set("with_", exp.With(expressions=kept) if kept else None)
    return lifted, _rename_tables(tree, renamed)


def translate_lifted(sql: str) -> tuple[list[tuple[str, str]], str]:
    """`translate(sql)`, with the materialized CTEs read more than once lifted out (`_lift`):
    ([(view name, Spark SQL)] to compute first, in order, and the statement's Spark SQL)."""
    with _sqlglot_errors():
        lifted, rest = _lift(_checked_tree(sql))
        return [(name, _spark_text(body)) for name, body in lifted], _spark_text(rest)


def plan(sql: str) -> tuple[str, str | None, list[tuple[str, str]], str | None]:
    """What a statement the metrics send becomes on Spark: (kind, name, lifted, query), kind
    "create_table" | "create_view" | "drop" | "query"; `lifted`: the views to compute first
    (`translate_lifted`; none for a view, which is lazy and may outlive them)."""
    create = _CREATE.match(sql)
    if create:
        kind, name, query = create.groups()
        if kind.upper() == "VIEW":
            return "create_view", name, [], translate(query)
        return ("create_table", name, *translate_lifted(query))
    drop = _DROP.match(sql)
    if drop:
        return "drop", drop.group(1), [], None
    return ("query", None, *translate_lifted(sql))


# --- the session and the connection -------------------------------------------------------------

CONNECT_PORT = 15002  # Spark Connect's default port, when the URL names none
CONNECT_PROBE_SECONDS = 10.0


def _reachable(remote: str) -> None:
    """Fail fast when nothing listens at the Connect URL: the Connect client retries an
    unreachable server for at least 10 minutes (its retry policy tolerates server restarts), so a
    wrong host or port would look like a hang. A TCP connect, then the client takes over."""
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(remote)
        scheme, host, port = parts.scheme, parts.hostname, parts.port or CONNECT_PORT
    except ValueError:  # a port that is not a number
        scheme, host, port = "", None, CONNECT_PORT
    if scheme != "sc" or not host:
        raise UsageError(f"--spark-remote: {remote!r} is not a Spark Connect URL sc://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=CONNECT_PROBE_SECONDS).close()
    except OSError as exc:
        raise RunError(f"cannot reach Spark Connect at {host}:{port}: "
                       f"{exc.strerror or exc}") from None


def _connect_builder(remote: str) -> Any:
    """A Spark Connect client builder for `remote` (sc://HOST:PORT).

    Built from pyspark's Connect module, not through `SparkSession.builder.remote()`: that one
    marks the whole process as Connect-only (`SPARK_CONNECT_MODE_ENABLED` in os.environ), after
    which a classic `--spark-master` session cannot start in the same process, and it refuses
    to start while a classic session exists. Only the gRPC client runs here; the session's
    settings (UTC, shuffle partitions) are the server's, except the time zone, set per session.
    """
    _reachable(remote)
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError as exc:  # pyspark without its Connect client's packages
        raise UsageError("--spark-remote needs the Spark Connect client: pip install "
                         f"'journey-metrics[spark]' ({exc})") from None
    return ConnectSession.builder.remote(remote).appName("journey-metrics")


def _log_config() -> str:
    """Our log4j2 profile for the driver JVM (errors only): Spark's default prints notices."""
    from journey_metrics.resources import resource_dir

    return (resource_dir("config") / "spark-log4j2.properties").as_uri()



def spark_window(session: Any) -> Any:
    """pyspark's `Window` for `session`'s kind (as `spark_functions`)."""
    if type(session).__module__.startswith("pyspark.sql.connect"):
        from pyspark.sql.connect.window import Window as ConnectWindow

        return ConnectWindow
    from pyspark.sql.window import Window

    return Window


def spark_functions(session: Any) -> Any:
    """pyspark's column functions for `session`'s kind: a Connect session's own module, since
    the classic one asserts a local SparkContext, and the client is built without pyspark's
    process-wide Connect switch that would redirect it (decision 223)."""
    if type(session).__module__.startswith("pyspark.sql.connect"):
        from pyspark.sql.connect import functions as connect_functions

        return connect_functions
    from pyspark.sql import functions

    return functions


def spark_session(master: str | None = None, remote: str | None = None) -> Any:
    """A SparkSession in UTC: Spark Connect at `remote`, else a classic session at `master`
    (default local[*]); an existing session of this process is reused."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("--engine spark needs pyspark: pip install 'journey-metrics[spark]'") \
            from None
    if remote:
        builder = _connect_builder(remote)
    else:
        builder = (SparkSession.builder.appName("journey-metrics")
                   .master(master or DEFAULT_SPARK_MASTER)
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", "8")
                   .config("spark.driver.extraJavaOptions",
                           f"-Duser.timezone=UTC -Dlog4j2.configurationFile={_log_config()}")
                   .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC"))
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing, master unreachable: one line, exit 1
        raise RunError(f"cannot start Spark: {str(exc).splitlines()[0]}") from None
    session.conf.set("spark.sql.session.timeZone", "UTC")
    import logging

    # pyspark logs every failed query with its plan before raising: the error is enough
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session


# --- cutting lineage ------------------------------------------------------------------------------

# The session setting naming the folder where cut_lineage writes (set by `checkpoints()`).
CHECKPOINT_CONF = "journey_metrics.checkpoint.dir"
_CHECKPOINT_SEQUENCE = itertools.count(1)
# The Parquet copies cut_lineage made within the current `checkpoints` block: id -> (frame, path).
_COPIES: dict[int, tuple[Any, str]] = {}


def cut_lineage(frame: Any, name: str) -> Any:
    """`frame` computed once and returned with a short plan: the one place Spark work here cuts
    lineage (stitching rounds, staged rows, the ingest's intermediate tables, TEMP tables).

    Inside `checkpoints(session, folder, ...)` (a run of `run --engine spark`): written as Parquet
    into that folder and read back, so the rows live on the lake's file system and survive a lost
    executor, on a classic session and on Spark Connect alike. Otherwise a reliable checkpoint
    when the session has a checkpoint folder (`spark.checkpoint.dir`), else a local checkpoint
    (executors' block managers: fine for the short read-only metric commands)."""
    session = frame.sparkSession
    folder = session.conf.get(CHECKPOINT_CONF, None)
    if folder:
        path = f"{folder.rstrip('/')}/{next(_CHECKPOINT_SEQUENCE):05d}-{name}"
        frame.write.mode("error").parquet(path)  # "errorifexists": not on Connect
        copy = session.read.schema(frame.schema).parquet(path)
        _COPIES[id(copy)] = (copy, path)
        return copy
    if session.conf.get("spark.checkpoint.dir", None):
        return frame.checkpoint()
    return frame.localCheckpoint()


def copy_location(frame: Any) -> str | None:
    """Where `cut_lineage` wrote `frame` as Parquet (within `checkpoints`), else None: a caller
    that needs those rows as a dataset of its own can move the folder instead of writing it
    again."""
    entry = _COPIES.get(id(frame))
    return entry[1] if entry is not None and entry[0] is frame else None


def union_all(session: Any, frames: list[Any], columns: Sequence[tuple[str, str]]) -> Any:
    """The frames' rows by column name; no frames: an empty frame of `columns` (name, type)."""
    if not frames:
        return session.createDataFrame([], ", ".join(f"{n} {t}" for n, t in columns))
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


@contextmanager
def checkpoints(session: Any, folder: str, remove: Callable[[], None]) -> Iterator[None]:
    """Within the block, `cut_lineage` writes into `folder` (a URL or path the executors
    write); `remove()` deletes it when the block ends, however it ends."""
    session.conf.set(CHECKPOINT_CONF, folder)
    try:
        yield
    finally:
        session.conf.unset(CHECKPOINT_CONF)
        _COPIES.clear()
        remove()


class SparkResult:
    def __init__(self, rows: list[tuple[Any, ...]], description: list[tuple[Any, ...]]) -> None:
        self._rows = rows
        self.description = description

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None


def _value(value: Any) -> Any:
    """A Spark value as DuckDB returns it: timestamps UTC-aware (pyspark gives naive local
    time), exact decimals as floats where DuckDB computes doubles."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)  # naive: the process's local time, as pyspark made it
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _parameter(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


class SparkConnection:
    """The DuckDB connection calls the metrics make, answered by Spark."""

    def __init__(self, session: Any, *, release: bool = False) -> None:
        self.session = session
        self._views: list[str] = []
        self._release = release

    def _dataframe(self, spark_sql: str, params: Mapping[str, Any] | None) -> Any:
        args = {k: _parameter(v) for k, v in dict(params or {}).items()}
        used = {k: v for k, v in args.items() if re.search(rf":{k}\b", spark_sql)}
        return self.session.sql(spark_sql, args=used or None)

    def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
                ) -> SparkResult:
        if params is not None and not isinstance(params, Mapping):
            raise TranslationError("positional parameters are not supported on Spark")
        kind, name, lifted, spark_sql = plan(sql)
        if kind == "drop":
            assert name is not None
            self.session.catalog.dropTempView(name)
            return SparkResult([], [])
        assert spark_sql is not None
        try:
            for view, query in lifted:
                cut_lineage(self._dataframe(query, params), view).createOrReplaceTempView(view)
            return self._run(kind, name, spark_sql, params)
        except (TranslationError, UsageError):
            raise
        except Exception as exc:  # a Spark error: one line (CONTRACT §5), exit 1
            message = str(exc).strip().splitlines()
            raise RunError(f"Spark: {message[0] if message else type(exc).__name__}") from None
        finally:
            for view, _ in lifted:
                self.session.catalog.dropTempView(view)

    def _run(self, kind: str, name: str | None, spark_sql: str,
             params: Mapping[str, Any] | None) -> SparkResult:
        frame = self._dataframe(spark_sql, params)
        if name is not None:
            if kind == "create_table":  # a snapshot, as DuckDB's TEMP TABLE
                frame = cut_lineage(frame, name)
            frame.createOrReplaceTempView(name)
            self._views.append(name)
            return SparkResult([], [])
        fields = frame.schema.fields
        description = [(f.name, f.dataType.simpleString(), None, None, None, None, None)
                       for f in fields]
        rows = [tuple(_value(v) for v in row) for row in frame.collect()]
        return SparkResult(rows, description)

    def close(self) -> None:
        if self._release:
            # the server forgets the whole session (its views and checkpointed tables) in one
            # call, where dropping each view is one call each (0.05 s against 0.3 s a command)
            self._views.clear()
            self.session.stop()
            return
        for name in dict.fromkeys(self._views):
            self.session.catalog.dropTempView(name)
        self._views.clear()


def _read_dataset(session: Any, location: str, table: str) -> Any | None:
    path = location.rstrip("/") + "/" + dataset_name(table)
    if "://" not in location:
        from pathlib import Path

        if not Path(path).exists():
            return None
    try:
        return session.read.parquet(path)
    except Exception as exc:
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
            return None
        raise


_ZONE_CONF = "journey_metrics.zones."


def zone_rules(session: Any, names: Sequence[str]) -> dict[str, int | None]:
    """For each zone, the first of zones.transitions from which the session's Java rules are
    replaced (None: Java agrees with the tzdata package; zones.differs_from). Java's offsets are
    read at zones.check_instants in one small query per zone, once per session."""
    from journey_metrics.zones import check_instants, differs_from

    found: dict[str, int | None] = {}
    for name in names:
        if name == "UTC":
            continue
        known = session.conf.get(_ZONE_CONF + name, None)
        if known is not None:
            found[name] = None if known == "" else int(known)
            continue
        seconds = [int(at.timestamp()) for at in check_instants(name)]
        frame = session.createDataFrame([(s,) for s in seconds], "s BIGINT")
        quoted = name.replace("'", "''")
        rows = frame.selectExpr(
            "s", f"unix_timestamp(from_utc_timestamp(timestamp_seconds(s), '{quoted}')) - s"
            " AS o").collect()
        java = {datetime.fromtimestamp(r[0], UTC): int(r[1]) for r in rows}
        found[name] = differs_from(name, java)
        session.conf.set(_ZONE_CONF + name, "" if found[name] is None else str(found[name]))
    return found


def open_spark_lake(events: str, *, master: str | None = None, remote: str | None = None,
                    tz: str = "UTC", release: bool = False) -> SparkConnection:
    """A Spark connection with the marts' relations over the lake at `events` (a folder or any
    URL Spark reads: s3a://, abfss://, hdfs://); `tz`: the command's --tz, whose local times
    follow DuckDB's zone database (zones.py). `release`: closing it ends a Spark Connect session
    on the server (what a command's own process wants: the server would otherwise keep the
    session's tables until its idle timeout); a classic session is left to its process."""
    from journey_metrics.zones import spark_local_time_function

    if "://" not in events:
        from pathlib import Path

        if not Path(events).is_dir():
            raise UsageError(f"--events: {events} is not a folder")
    session = spark_session(master, remote)
    session.sql(spark_local_time_function(zone_rules(session, [tz])))
    con = SparkConnection(session, release=release and remote is not None)
    present: dict[str, set[str] | None] = {}
    for table in LAKE_COLUMNS:
        frame = _read_dataset(session, events, table)
        if frame is None:
            if table in REQUIRED:
                raise UsageError(f"--events: {events} has no {dataset_name(table)}")
            present[table] = None
            continue
        frame.createOrReplaceTempView(raw_name(table))
        con._views.append(raw_name(table))
        present[table] = set(frame.columns)
    for statement in view_statements(present):
        con.execute(statement)
    return con
