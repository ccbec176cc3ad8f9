-- int_population_persons: the population of a command whose segment needs only the persons
-- table (CONTRACT §6): no --where, and --by channel or none. Every person is in group 'all'
-- and, with --by channel, in the group of their channel. Made a TEMP VIEW, not a table
-- (metrics/segments.py): a mart reads from it only the columns it joins on, where copying every
-- person id into a table cost a short command a twentieth of its time (issue 17). Only over
-- the warehouse's own `persons` table: a lake's, a Spark session's or a re-derived `persons`
-- (a view) goes through int_population.sql into a table once, so this file has no Spark form.
-- Persons without an id are left out, as int_population.sql's join on person_id does.
-- Every person is kept, also one first seen after as_of (int_population.sql leaves those out):
-- metrics/segments.py uses this file only when no event lies after as_of, or without --by,
-- where such a person is in group 'all' alone and every mart counts events up to as_of.
-- Columns as int_population.sql: person_id, person_no (where persons has it: hand-built test
-- tables may not), group_name.
-- by_channel snippet: true with --by channel, else false.
SELECT COLUMNS(lambda c: c IN ('person_id', 'person_no')), 'all' AS group_name
FROM persons
WHERE person_id IS NOT NULL
UNION ALL
SELECT COLUMNS(lambda c: c IN ('person_id', 'person_no')), coalesce(channel, '(none)')
FROM persons
WHERE [[by_channel]] AND person_id IS NOT NULL
