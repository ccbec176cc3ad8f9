-- int_person_traits: each person's traits at an instant (CONTRACT §6).
-- grain: one row per person and trait. Parameters: $as_of (TIMESTAMPTZ).
-- A trait's value is the latest non-empty one set at or before as_of; among values set at the
-- same instant, the one that sorts last.
SELECT
    person_id,
    person_no,
    trait,
    arg_max(value, (set_at, value)) AS value
FROM fct_traits
WHERE set_at <= $as_of
  AND value <> ''
GROUP BY person_id, person_no, trait
ORDER BY person_no, trait
