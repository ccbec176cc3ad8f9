-- int_person_traits (CONTRACT §6): each person's traits as of as_of, one row per person and trait.
-- Columns: person_id, person_no, trait, value. grain: person x trait.
-- STUB: the traits helper writes the real model; until then no person has a trait.
SELECT person_id, person_no, trait, value
FROM (VALUES (NULL::VARCHAR, NULL::BIGINT, NULL::VARCHAR, NULL::VARCHAR))
    AS t(person_id, person_no, trait, value)
WHERE false
