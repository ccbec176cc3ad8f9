-- Journey map touchpoints (issue 11, items 4 and 5). grain: group x step x touchpoint, plus one
-- row per group x step with touchpoint NULL (the whole stage, GROUPING SETS).
-- CTE `touched` (person_no, step, level, hours, touchpoint): each person's touchpoint at each
-- stage they reached (journey_stage_touches.sql, or the rows `run` keeps).
-- converted: of the persons who reached stage k, those who reached stage k + 1 (NULL at the last
-- stage); median_hours_to_next: median hours from step k to step k + 1 of those who converted.
-- Snippet: last_step = the number of stages.
SELECT
    p.group_name,
    t.step,
    t.touchpoint,
    count(*) AS persons,
    CASE WHEN t.step < [[last_step]] THEN count(*) FILTER (WHERE t.level > t.step) END
        AS converted,
    median(t.hours) AS median_hours_to_next
FROM touched AS t
JOIN population AS p USING (person_no)
GROUP BY GROUPING SETS ((p.group_name, t.step, t.touchpoint), (p.group_name, t.step))
ORDER BY p.group_name <> 'all', p.group_name, t.step, t.touchpoint IS NOT NULL, persons DESC,
         t.touchpoint
