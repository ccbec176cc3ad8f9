-- int_identity: persons are the connected components of the identity graph (CONTRACT §1).
-- Min-label propagation with pointer jumping: every node ends labelled with the smallest node of
-- its component, so person ids are deterministic and stitching is retroactive.
CREATE OR REPLACE TEMP TABLE jm_edges AS
SELECT node_a AS src, node_b AS dst FROM _jm_identity_links
UNION
SELECT node_b AS src, node_a AS dst FROM _jm_identity_links;

CREATE OR REPLACE TEMP TABLE jm_labels AS
SELECT src AS node, least(src, min(dst)) AS label
FROM jm_edges
GROUP BY src;
