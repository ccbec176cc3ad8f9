-- Retention cohorts (CONTRACT §4 Retention). grain: cohort x period.
-- [[cohorts]]: the cohorts (sql/intermediate/int_cohorts.sql: CTEs starts, cohorts, grid);
-- [[return_match]]: a boolean expression over fct_events (the return stage or activity).
-- Parameters: $as_of, $tz, $period, $cumulative.
-- Groups and --where come from the TEMP view `population` (a person is in `all` and their group).
WITH [[cohorts]],
returns AS (
    SELECT DISTINCT person_id, jm_period_start(occurred_at, $tz, $period) AS return_period
    FROM fct_events
    WHERE occurred_at <= $as_of AND ([[return_match]])
),
person_returns AS (
    SELECT s.group_name, s.person_id, s.cohort,
           jm_periods_between(s.cohort, r.return_period, $period) AS period
    FROM starts AS s
    JOIN returns AS r USING (person_id)
    WHERE r.return_period >= s.cohort
),
retained_on AS (
    SELECT group_name, cohort, period, count(DISTINCT person_id) AS retained
    FROM person_returns
    GROUP BY group_name, cohort, period
),
retained_on_or_after AS (
    -- a person counts in every period up to their last return period
    SELECT g.group_name, g.cohort, g.period, count(DISTINCT p.person_id) AS retained
    FROM grid AS g
    JOIN person_returns AS p
      ON p.group_name = g.group_name AND p.cohort = g.cohort AND p.period >= g.period
    GROUP BY g.group_name, g.cohort, g.period
)
SELECT
    g.group_name,
    strftime(g.cohort, '%Y-%m-%d') AS cohort,
    g.period,
    g.cohort_size,
    CASE
        WHEN g.period = 0 THEN g.cohort_size
        WHEN g.period = g.last_period THEN NULL          -- the period containing as_of is open
        WHEN $cumulative THEN coalesce(a.retained, 0)
        ELSE coalesce(o.retained, 0)
    END AS retained
FROM grid AS g
LEFT JOIN retained_on AS o USING (group_name, cohort, period)
LEFT JOIN retained_on_or_after AS a USING (group_name, cohort, period)
ORDER BY g.group_name <> 'all', g.group_name, g.cohort, g.period
