"""Identity stitching: identifier links -> persons, then persons' channels and sessions."""

from __future__ import annotations

import duckdb

from journey_metrics.sql import load_sql, split_statements

MAX_ROUNDS = 200


def stitch(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild `_jm_person_map`, `persons` and `sessions`; return the number of rounds taken."""
    con.execute("BEGIN TRANSACTION")
    try:
        for statement in split_statements(load_sql("intermediate/int_identity_init.sql")):
            con.execute(statement)
        step = load_sql("intermediate/int_identity_step.sql")
        rounds = 0
        while rounds < MAX_ROUNDS:
            rounds += 1
            con.execute(step)
            changed = con.execute(
                "SELECT count(*) FROM jm_labels_next AS n JOIN jm_labels AS o USING (node)"
                " WHERE n.label <> o.label"
            ).fetchone()
            con.execute("DROP TABLE jm_labels")
            con.execute("ALTER TABLE jm_labels_next RENAME TO jm_labels")
            if not changed or changed[0] == 0:
                break
        for statement in split_statements(load_sql("intermediate/int_persons.sql")):
            con.execute(statement)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS jm_edges")
        con.execute("DROP TABLE IF EXISTS jm_labels")
    return rounds
