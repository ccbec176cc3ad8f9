-- int_population_all: the population of a command without --by or --where (CONTRACT §6):
-- every person, in group 'all'. Made a TEMP VIEW, not a table (metrics/segments.py): a mart
-- reads from it only the column it joins on, where copying every person id into a table cost a
-- short command a twentieth of its time (issue 17).
-- Columns as int_population.sql: person_id, person_no (where persons has it: hand-built test
-- tables may not), group_name.
SELECT COLUMNS(lambda c: c IN ('person_id', 'person_no')), 'all' AS group_name
FROM persons
