-- int_identity: persons are the connected components of the identity graph (CONTRACT §1).
-- Stitching is incremental: only the components touched since the last stitch are relabelled
-- (the nodes in _jm_pending_nodes, which the loader fills in the same transaction as the events
-- and links it adds, plus every node of the persons they belonged to). Min-label propagation with
-- pointer jumping then gives every node the smallest node of its component as its label, so
-- person ids are deterministic and stitching is retroactive.
CREATE OR REPLACE TEMP TABLE jm_pending AS
SELECT DISTINCT node FROM _jm_pending_nodes;

-- the persons the pending nodes belonged to, with their numbers (kept when the id survives)
CREATE OR REPLACE TEMP TABLE jm_old_persons AS
SELECT DISTINCT m.person_id, m.person_no
FROM _jm_person_map AS m
JOIN jm_pending AS p USING (node);

CREATE OR REPLACE TEMP TABLE jm_affected AS
SELECT m.node
FROM _jm_person_map AS m
JOIN jm_old_persons AS o USING (person_id)
UNION
SELECT node FROM jm_pending;

-- links of affected nodes (a component is closed: its links only reach affected nodes)
CREATE OR REPLACE TEMP TABLE jm_edges_text AS
SELECT l.node_a, l.node_b
FROM _jm_identity_links AS l
WHERE l.node_a IN (SELECT node FROM jm_affected)
   OR l.node_b IN (SELECT node FROM jm_affected);

-- The nodes ranked in text order, so the smallest rank of a component is its smallest node:
-- labels propagate as integers (text nodes made the rounds' joins and aggregates spill at 30M
-- events under the 1 GB limit). Ranks, not the nodes' stored numbers (_jm_nodes), which follow
-- the load order.
CREATE OR REPLACE TEMP TABLE jm_nodes AS
SELECT node, (row_number() OVER (ORDER BY node))::INTEGER AS node_rank
FROM (SELECT node_a AS node FROM jm_edges_text UNION SELECT node_b FROM jm_edges_text);

CREATE OR REPLACE TEMP TABLE jm_edges AS
WITH numbered AS (
    SELECT a.node_rank AS a, b.node_rank AS b
    FROM jm_edges_text AS t
    JOIN jm_nodes AS a ON a.node = t.node_a
    JOIN jm_nodes AS b ON b.node = t.node_b
)
SELECT a AS src, b AS dst FROM numbered
UNION
SELECT b AS src, a AS dst FROM numbered;

DROP TABLE jm_edges_text;

CREATE OR REPLACE TEMP TABLE jm_labels AS
SELECT src AS node, least(src, min(dst)) AS label
FROM jm_edges
GROUP BY src;
