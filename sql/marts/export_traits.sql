-- traits.parquet (CONTRACT §12 lake): the trait history with its person (CONTRACT §6).
-- grain: one row per trait value set. Only configured trait names are ever stored (never email).
WITH numbers AS (
    -- person_no renumbered by person_id: the warehouse's numbers follow the load history, and
    -- the same events must give the same bytes however they were loaded
    SELECT person_id, row_number() OVER (ORDER BY person_id) AS person_no FROM persons
)
SELECT person_id, n.person_no, trait, value, set_at
FROM fct_traits
JOIN numbers AS n USING (person_id)
ORDER BY person_id, trait, set_at, value
