-- One row per person who entered: their level (highest stage reached) and the latest-starting
-- attempt of that level (its start position and time), which timings and in_progress use.
SELECT person_no, level, start_pos, start_at
FROM ([[levels]])
QUALIFY row_number() OVER (PARTITION BY person_no ORDER BY level DESC) = 1
