"""Per-person funnel chains, kept incrementally (issue 10: marts kept where the data changes).

For every built-in framework whose default funnel can be stored (metrics/funnel.py
`FunnelQuery.chains_storable`), `_jm_funnel_chains` holds each person's level, attempt start and
step times. A refresh recomputes only the persons whose identity nodes a load touched
(`_jm_touched_nodes`, filled by identity.stitch), drops persons that no longer exist (merged
into another), and recomputes a framework whole when its definition, the SQL, or the channel
rules changed (the stored state in `_jm_meta` says which). The funnel rows the dashboard and the
default `funnel` command show are then one aggregation over the stored chains.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from journey_metrics.metrics.common import micros
from journey_metrics.metrics.funnel import FAR_FUTURE, FAR_PAST, chain_sql
from journey_metrics.sql import load_sql, split_statements, used_parameters
from journey_metrics.stages import compile_stages

if TYPE_CHECKING:
    import duckdb

    from journey_metrics.config import Framework

_STATE_KEY = "funnel_chains:"


def _state(con: duckdb.DuckDBPyConnection, framework: Framework, definitions: str) -> str:
    rules = con.execute("SELECT getvariable('jm_channel_rules_fingerprint')").fetchall()[0][0]
    text = framework.model_dump_json() + definitions + str(rules)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def refresh(
    con: duckdb.DuckDBPyConnection, frameworks: list[Framework], definitions: str
) -> dict[str, int]:
    """Bring the stored chains up to date; return the persons recomputed per framework."""
    for statement in split_statements(load_sql("intermediate/int_touched_persons.sql")):
        con.execute(statement)
    recomputed = {}
    for framework in frameworks:
        key = _STATE_KEY + framework.name
        state = _state(con, framework, definitions)
        stored = con.execute("SELECT value FROM _jm_meta WHERE key = ?", [key]).fetchall()
        whole = not stored or stored[0][0] != state
        if whole:
            con.execute("DELETE FROM _jm_funnel_chains WHERE framework = ?", [framework.name])
        else:
            con.execute(load_sql("intermediate/int_funnel_chains_forget.sql"),
                        {"framework_name": framework.name})
        stages = compile_stages(framework)
        sql = chain_sql(len(framework.stages), stages.expressions,
                        "fct_events" if whole else "jm_touched_events", framework=framework)
        params = {**stages.params, "as_of": FAR_FUTURE, "window": framework.window_delta,
                  "window_us": micros(framework.window_delta), "from_at": FAR_PAST,
                  "to_at": FAR_FUTURE}
        con.execute(
            "INSERT INTO _jm_funnel_chains SELECT $framework_name, person_no, level, start_at,"
            f" steps FROM ({sql})",
            {**used_parameters(sql, params), "framework_name": framework.name},
        )
        recomputed[framework.name] = int(con.execute(
            "SELECT count(*) FROM persons" if whole else "SELECT count(*) FROM jm_touched_persons"
        ).fetchall()[0][0])
        con.execute("DELETE FROM _jm_meta WHERE key = ?", [key])
        con.execute("INSERT INTO _jm_meta VALUES (?, ?)", [key, state])
    con.execute("DELETE FROM _jm_touched_nodes")
    con.execute("DROP VIEW IF EXISTS jm_touched_events")
    con.execute("DROP TABLE IF EXISTS jm_touched_persons")
    return recomputed
