-- One row per person who entered (stages matched by time): their level and the latest start of an
-- attempt of that level, which timings and in_progress use. [[levels]]: per level k, the persons
-- reaching it with their latest start.
SELECT person_no, level, start_at
FROM ([[levels]])
QUALIFY row_number() OVER (PARTITION BY person_no ORDER BY level DESC) = 1
