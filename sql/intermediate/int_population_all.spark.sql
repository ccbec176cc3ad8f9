-- int_population_all, the Spark variant (CONTRACT §12; the meaning is int_population_all.sql's):
-- COLUMNS(lambda ..) does not translate, and a lake always has person_no (engines/lake.py).
SELECT person_id, person_no, 'all' AS group_name
FROM persons
