-- int_population_persons, the Spark variant (CONTRACT §12; the meaning is
-- int_population_persons.sql's): COLUMNS(lambda ..) does not translate, and a lake always has
-- person_no (engines/lake.py). Snippets as in int_population_persons.sql.
SELECT person_id, person_no, 'all' AS group_name
FROM persons
UNION ALL
SELECT person_id, person_no, coalesce(channel, '(none)') AS group_name
FROM persons
WHERE [[by_channel]]
