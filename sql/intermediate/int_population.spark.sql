-- int_population, the Spark variant (CONTRACT §12; the meaning is int_population.sql's): the
-- portable form. The warehouse's file reads person_no with COLUMNS(lambda ..), for hand-built
-- test tables without it, and uses * EXCLUDE: neither translates to Spark. A lake always has
-- person_no (engines/lake.py numbers persons when a lake lacks it), so the columns are named.
-- Snippets and parameters as in int_population.sql.
WITH first_values AS ([[first_values]]),
kept AS (
    SELECT p.person_id, p.person_no, [[group_value]] AS group_value
    FROM persons AS p
    LEFT JOIN first_values AS c USING (person_id)
    [[trait_join]]
    WHERE p.first_seen_at <= $as_of AND [[where]]
)
SELECT person_id, person_no, 'all' AS group_name FROM kept
UNION ALL
SELECT person_id, person_no,
    CASE WHEN group_value = 'all' THEN $value_all ELSE coalesce(group_value, '(none)') END
        AS group_name
FROM kept
WHERE [[grouped]]
