-- traits.parquet (CONTRACT §12 lake): the trait history with its person (CONTRACT §6).
-- grain: one row per trait value set. Only configured trait names are ever stored (never email).
SELECT person_id, person_no, trait, value, set_at
FROM fct_traits
ORDER BY person_no, trait, set_at, value
