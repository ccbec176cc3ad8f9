-- Every event belongs to a person after stitching: failing rows are events whose identity node
-- has no person.
SELECT e.source, e.event_id, e.person_key
FROM events AS e
LEFT JOIN _jm_person_map AS m ON m.node = e.person_key
WHERE m.node IS NULL
