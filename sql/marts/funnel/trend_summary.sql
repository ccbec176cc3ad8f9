-- funnel --trend (CONTRACT §7): per group and entry period, persons reaching each level over the
-- attempts that start in the period (a person with attempts in several periods counts in each).
-- grain: group x period. CTE `chosen`: one row per person and entry period with the level of the
-- attempt chosen there (entry best / first), made by metrics/funnel.py.
-- [[aggregates]]: "count(*) FILTER (WHERE level >= k) AS persons_k, ...".
SELECT p.group_name, c.period, [[aggregates]]
FROM chosen AS c
JOIN population AS p USING (person_no)
GROUP BY p.group_name, c.period
ORDER BY p.group_name <> 'all', p.group_name, c.period
