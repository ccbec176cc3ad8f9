-- identity.parquet (CONTRACT §12 lake): each identity node ('u:', 'a:', 'e:' + keyed email hash,
-- 'c:') with the person it is stitched to. grain: node.
SELECT node, person_id, person_no
FROM _jm_person_map
ORDER BY node
