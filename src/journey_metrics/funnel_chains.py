"""Per-person funnel chains, kept incrementally (issue 10: marts kept where the data changes).

For every built-in framework whose default funnel can be stored (metrics/funnel.py
`FunnelQuery.chains_storable`), `_jm_funnel_chains` holds each person's level, attempt start and
step times. A refresh recomputes only the persons whose identity nodes a load touched
(`_jm_touched_nodes`, filled by identity.stitch), drops persons that no longer exist (merged
into another), and recomputes a framework whole when its definition, the SQL, or the channel
rules changed (the stored state in `_jm_meta` says which). The funnel rows the dashboard and the
default `funnel` command show are then one aggregation over the stored chains.

The dashboard's trend (`funnel --trend week` of its journey framework, in UTC) is kept the same
way in `_jm_funnel_trend`: each person's level per entry week, over the attempts that start from
a bound before the weeks the dashboard shows (`since`, kept with the state). The bound only moves
forward, with the latest event: a person no load touched has no event after the last refresh, so
their rows of the weeks still shown stay right.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

from journey_metrics.marts import REPORT_TZ
from journey_metrics.metrics.common import micros
from journey_metrics.metrics.funnel import FAR_FUTURE, FAR_PAST, chain_sql, trend_chosen_sql
from journey_metrics.sql import fill_snippets, load_sql, split_statements, used_parameters
from journey_metrics.stages import compile_stages

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.config import Framework

_STATE_KEY = "funnel_chains:"
_TREND_KEY = "funnel_trend:"


def _state(con: duckdb.DuckDBPyConnection, framework: Framework, definitions: str) -> str:
    rules = con.execute("SELECT getvariable('jm_channel_rules_fingerprint')").fetchall()[0][0]
    text = framework.model_dump_json() + definitions + str(rules)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def refresh(
    con: duckdb.DuckDBPyConnection, frameworks: list[Framework], definitions: str,
    trend: tuple[Framework, datetime] | None = None,
) -> dict[str, int]:
    """Bring the stored chains up to date, and the trend rows of `trend` (the dashboard's
    framework, if it is one of `frameworks`, and the start of its attempts); return the persons
    recomputed per framework."""
    for statement in split_statements(load_sql("intermediate/int_touched_persons.sql")):
        con.execute(statement)
    recomputed = {}
    for framework in frameworks:
        key = _STATE_KEY + framework.name
        state = _state(con, framework, definitions)
        whole = _stored(con, key) != state
        sql = chain_sql(len(framework.stages), compile_stages(framework).expressions,
                        _forget(con, "_jm_funnel_chains", framework, whole), framework=framework)
        con.execute(
            "INSERT INTO _jm_funnel_chains SELECT $framework_name, person_no, level, start_at,"
            f" steps FROM ({sql})", _params(framework, sql, FAR_PAST),
        )
        recomputed[framework.name] = int(con.execute(
            "SELECT count(*) FROM persons" if whole else "SELECT count(*) FROM jm_touched_persons"
        ).fetchall()[0][0])
        _remember(con, key, state)
        if trend is not None and trend[0] is framework:
            _refresh_trend(con, framework, state, trend[1])
    kept = trend[0].name if trend is not None and trend[0] in frameworks else ""
    con.execute("DELETE FROM _jm_funnel_trend WHERE framework <> ?", [kept])
    con.execute("DELETE FROM _jm_meta WHERE key LIKE ? AND key <> ?",
                [_TREND_KEY + "%", _TREND_KEY + kept])
    con.execute("DELETE FROM _jm_touched_nodes")
    con.execute("DROP VIEW IF EXISTS jm_touched_events")
    con.execute("DROP TABLE IF EXISTS jm_touched_persons")
    return recomputed


def _refresh_trend(con: duckdb.DuckDBPyConnection, framework: Framework, state: str,
                   since: datetime) -> None:
    """Each person's trend rows from `since` on: the touched persons', or everybody's when the
    definitions changed or the bound moved back (the dashboard shows more weeks)."""
    key = _TREND_KEY + framework.name
    stored = _stored(con, key)
    stored_state, _, stored_since = (stored or "").partition("@")
    whole = stored_state != state or datetime.fromisoformat(stored_since) > since
    sql = trend_chosen_sql(framework, compile_stages(framework).expressions,
                           _forget(con, "_jm_funnel_trend", framework, whole))
    con.execute(f"INSERT INTO _jm_funnel_trend SELECT $framework_name, person_no, period, level"
                f" FROM ({sql})", _params(framework, sql, since))
    _remember(con, key, f"{state}@{since.isoformat()}")


def stored_trend_since(con: duckdb.DuckDBPyConnection, framework: Framework) -> datetime | None:
    """From when the stored trend rows of `framework` hold every attempt (None: not stored)."""
    stored = _stored(con, _TREND_KEY + framework.name)
    return datetime.fromisoformat(stored.partition("@")[2]) if stored else None


def _forget(con: duckdb.DuckDBPyConnection, table: str, framework: Framework,
            whole: bool) -> str:
    """Drop the rows to recompute; return the events to recompute them from."""
    if whole:
        con.execute(f"DELETE FROM {table} WHERE framework = ?", [framework.name])
        return "fct_events"
    con.execute(fill_snippets("intermediate/int_funnel_chains_forget.sql", table=table),
                {"framework_name": framework.name})
    return "jm_touched_events"


def _params(framework: Framework, sql: str, from_at: datetime) -> dict[str, object]:
    params = {**compile_stages(framework).params, "as_of": FAR_FUTURE,
              "window": framework.window_delta, "window_us": micros(framework.window_delta),
              "from_at": from_at, "to_at": FAR_FUTURE, "tz": REPORT_TZ, "period": "week"}
    return {**used_parameters(sql, params), "framework_name": framework.name}


def _stored(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    found = con.execute("SELECT value FROM _jm_meta WHERE key = ?", [key]).fetchall()
    return str(found[0][0]) if found else None


def _remember(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("DELETE FROM _jm_meta WHERE key = ?", [key])
    con.execute("INSERT INTO _jm_meta VALUES (?, ?)", [key, value])
