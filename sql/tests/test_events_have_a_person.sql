-- Every event belongs to a person after stitching: failing rows are events whose identity node
-- has no person, or whose node number (what fct_events joins on) is not their node's.
SELECT e.source, e.event_id, e.person_key
FROM events AS e
LEFT JOIN _jm_person_map AS m ON m.node_no = e.node_no
WHERE m.node IS NULL OR m.node <> e.person_key
