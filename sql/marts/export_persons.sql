-- persons.parquet (CONTRACT §5, §12): one row per person; person_no after the contract's columns.
WITH numbers AS (
    -- person_no renumbered by person_id: the warehouse's numbers follow the load history, and
    -- the same events must give the same bytes however they were loaded
    SELECT person_id, row_number() OVER (ORDER BY person_id) AS person_no FROM persons
)
SELECT person_id, channel, first_seen_at, n.person_no
FROM persons
JOIN numbers AS n USING (person_id)
ORDER BY person_id
