-- One row per person, and person numbers are unique: failing rows are repeated ids or numbers.
SELECT 'person_id' AS what, person_id AS value, count(*) AS copies
FROM persons GROUP BY person_id HAVING count(*) > 1
UNION ALL
SELECT 'person_no', CAST(person_no AS VARCHAR), count(*)
FROM persons GROUP BY person_no HAVING count(*) > 1
