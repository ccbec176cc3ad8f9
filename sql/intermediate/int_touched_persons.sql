-- The persons whose stored funnel chains must be recomputed: those owning an identity node that
-- was stitched since the last refresh (_jm_touched_nodes, filled by identity.stitch), and their
-- events. TEMP objects of the refresh (person_rows.py).
CREATE OR REPLACE TEMP TABLE jm_touched_persons AS
SELECT DISTINCT m.person_no
FROM _jm_person_map AS m
JOIN _jm_touched_nodes AS t USING (node);

CREATE OR REPLACE TEMP VIEW jm_touched_events AS
SELECT * FROM fct_events WHERE person_no IN (SELECT person_no FROM jm_touched_persons);
