"""Identity stitching: identifier links -> persons (incremental), then persons' channels."""

from __future__ import annotations

import duckdb

from journey_metrics.db import fetch_first, rollback
from journey_metrics.sql import load_sql, split_statements

MAX_ROUNDS = 200


def stitch(con: duckdb.DuckDBPyConnection) -> int:
    """Relabel the components touched since the last stitch and update `_jm_person_map` and
    `persons`; return the number of propagation rounds taken."""
    con.execute("BEGIN TRANSACTION")
    try:
        # A map without person or node numbers comes from an older schema: stitch everything
        # again.
        unnumbered = fetch_first(con.execute(
            "SELECT count(*) FROM _jm_person_map WHERE person_no IS NULL OR node_no IS NULL"
        ))
        if unnumbered and unnumbered[0]:
            con.execute("DELETE FROM _jm_person_map")
            con.execute("DELETE FROM persons")
            con.execute(
                "INSERT INTO _jm_pending_nodes SELECT node_a FROM _jm_identity_links"
                " UNION SELECT node_b FROM _jm_identity_links"
            )
        # the marts refresh the persons these nodes belong to (person_rows.py)
        con.execute("INSERT INTO _jm_touched_nodes SELECT DISTINCT node FROM _jm_pending_nodes")
        for statement in split_statements(load_sql("intermediate/int_identity_init.sql")):
            con.execute(statement)
        step = load_sql("intermediate/int_identity_step.sql")
        rounds = 0
        while rounds < MAX_ROUNDS:
            rounds += 1
            con.execute(step)
            changed = fetch_first(con.execute(
                "SELECT count(*) FROM jm_labels_next AS n JOIN jm_labels AS o USING (node)"
                " WHERE n.label <> o.label"
            ))
            con.execute("DROP TABLE jm_labels")
            con.execute("ALTER TABLE jm_labels_next RENAME TO jm_labels")
            if not changed or changed[0] == 0:
                break
        for statement in split_statements(load_sql("intermediate/int_persons.sql")):
            con.execute(statement)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    finally:
        for table in ("jm_edges_text", "jm_nodes", "jm_edges", "jm_labels", "jm_labels_next",
                      "jm_pending", "jm_old_persons", "jm_affected", "jm_new_map",
                      "jm_changed_persons"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return rounds
