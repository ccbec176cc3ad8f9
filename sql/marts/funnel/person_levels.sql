-- One row per person who entered: the latest attempt start reaching each level, the level, and
-- the attempt the timings are read from (the latest-starting attempt of maximal level).
SELECT
    *,
    [[level_case]] AS level,
    [[chosen_case]] AS chosen_pos
FROM (
    SELECT person_id, [[latest_starts]]
    FROM level_[[last]]
    GROUP BY person_id
    HAVING max(s1_pos) IS NOT NULL
)
