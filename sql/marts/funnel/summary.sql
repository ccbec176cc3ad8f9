-- Counts per group and stage: persons reaching each level, drop-offs still in their window, and
-- the median hours between consecutive steps. Groups come from the TEMP view `population`
-- (metrics/segments.py): `all`, plus one group per --by value, adding up to `all`.
SELECT
    p.group_name,
    [[aggregates]]
FROM chain AS c
JOIN population AS p USING (person_no)
GROUP BY p.group_name
ORDER BY p.group_name <> 'all', p.group_name
