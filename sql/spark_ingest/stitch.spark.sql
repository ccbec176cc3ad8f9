-- Identity stitching on Spark (engines/spark_ingest.py), the meaning of
-- intermediate/int_identity_*.sql and int_persons.sql over the whole graph: persons are the
-- connected components of jm_all_links; every node ends labelled with the smallest node of its
-- component (min-label propagation with pointer jumping, repeated by the driver until no label
-- changes), and person_id = 'p_' || the first 16 hex digits of sha256(label), as on DuckDB.

-- edges in both directions
CREATE OR REPLACE TEMP VIEW jm_edges AS
SELECT node_a AS src, node_b AS dst FROM jm_all_links
UNION
SELECT node_b AS src, node_a AS dst FROM jm_all_links;

CREATE OR REPLACE TEMP VIEW jm_labels_init AS
SELECT src AS node, least(src, min(dst)) AS label
FROM jm_edges
GROUP BY src;

-- one round (jm_labels is the previous round's checkpoint)
CREATE OR REPLACE TEMP VIEW jm_labels_step AS
WITH spread AS (
    SELECT e.src AS node, min(n.label) AS label
    FROM jm_edges AS e
    JOIN jm_labels AS n ON n.node = e.dst
    GROUP BY e.src
)
SELECT s.node, least(s.label, j.label) AS label
FROM spread AS s
JOIN jm_labels AS j ON j.node = s.label;

CREATE OR REPLACE TEMP VIEW jm_labels_changed AS
SELECT count(*) AS changed
FROM jm_labels_next AS n
JOIN jm_labels AS o ON o.node = n.node
WHERE n.label <> o.label
