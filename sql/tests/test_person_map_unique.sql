-- An identity node belongs to exactly one person: failing rows are nodes mapped twice.
SELECT node, count(*) AS persons
FROM _jm_person_map
GROUP BY node
HAVING count(*) > 1
