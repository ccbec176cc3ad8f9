-- funnel --trend (CONTRACT §7): per group and entry period, persons reaching each level over the
-- attempts that start in the period (a person with attempts in several periods counts in each).
-- grain: group x period. Parameters: tz, period (day, week, month).
-- [[choose]]: how one attempt per person and period is chosen (entry best / first);
-- [[aggregates]]: "count(*) FILTER (WHERE level >= k) AS persons_k, ...".
SELECT p.group_name, c.period, [[aggregates]]
FROM (
    SELECT person_no, jm_period_start(start_at, $tz, $period) AS period, level
    FROM attempts
    QUALIFY row_number() OVER (
        PARTITION BY person_no, jm_period_start(start_at, $tz, $period) ORDER BY [[choose]]) = 1
) AS c
JOIN population AS p USING (person_no)
GROUP BY p.group_name, c.period
ORDER BY p.group_name <> 'all', p.group_name, c.period
