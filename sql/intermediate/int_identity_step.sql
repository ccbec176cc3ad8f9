-- One propagation round over node ranks (jm_nodes): take the smallest label among neighbours,
-- then jump to the label's own label. Repeated by identity.py until no label changes.
CREATE OR REPLACE TEMP TABLE jm_labels_next AS
WITH spread AS (
    SELECT e.src AS node, min(n.label) AS label
    FROM jm_edges AS e
    JOIN jm_labels AS n ON n.node = e.dst
    GROUP BY e.src
)
SELECT s.node, least(s.label, j.label) AS label
FROM spread AS s
JOIN jm_labels AS j ON j.node = s.label;
