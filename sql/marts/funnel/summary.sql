-- Counts per group and stage: persons reaching each level, drop-offs still in their window, and
-- the median hours between consecutive steps. Groups: all, plus person channels with --by channel
-- (the channel rows of one stage add up to its `all` row: every person has exactly one channel).
SELECT
    [[group_name]] AS group_name,
    [[aggregates]]
FROM chain AS c
JOIN persons AS p USING (person_no)
GROUP BY [[grouping]]
ORDER BY group_name <> 'all', group_name
