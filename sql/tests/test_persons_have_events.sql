-- Every person has at least one event (sql/intermediate/int_persons.sql makes persons from
-- events): failing rows are persons no event explains.
SELECT p.person_id
FROM persons AS p
WHERE NOT EXISTS (SELECT 1 FROM fct_events AS e WHERE e.person_id = p.person_id)
