-- funnel exits (issue 11, item 3): the persons who left at each stage k before the last, by
-- their last touchpoint before leaving (CTE `last_touch`: funnel_exit_touches.sql, or the rows
-- `run` keeps). grain: group x step x touchpoint.
SELECT
    p.group_name,
    t.step,
    t.touchpoint,
    count(*) AS persons,
    count(*) / sum(count(*)) OVER (PARTITION BY p.group_name, t.step) AS share_of_drop_off
FROM last_touch AS t
JOIN population AS p USING (person_no)
GROUP BY p.group_name, t.step, t.touchpoint
ORDER BY p.group_name <> 'all', p.group_name, t.step, persons DESC, t.touchpoint
