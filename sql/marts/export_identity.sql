-- identity.parquet (CONTRACT §12 lake): each identity node ('u:', 'a:', 'e:' + keyed email hash,
-- 'c:') with the person it is stitched to. grain: node.
WITH numbers AS (
    -- person_no renumbered by person_id: the warehouse's numbers follow the load history, and
    -- the same events must give the same bytes however they were loaded
    SELECT person_id, row_number() OVER (ORDER BY person_id) AS person_no FROM persons
)
SELECT node, person_id, n.person_no
FROM _jm_person_map
JOIN numbers AS n USING (person_id)
ORDER BY node
