-- Retention cohorts (CONTRACT §4 Retention). grain: cohort x period.
-- [[start_match]] / [[return_match]]: boolean expressions over fct_events (the start stage, and the
-- return stage or activity). Parameters: $as_of, $tz, $period, $cumulative.
WITH starts AS (
    -- cohort = the period of the person's first event matching the start stage
    SELECT person_id, jm_period_start(min(occurred_at), $tz, $period) AS cohort
    FROM fct_events
    WHERE occurred_at <= $as_of AND ([[start_match]])
    GROUP BY person_id
),
returns AS (
    SELECT DISTINCT person_id, jm_period_start(occurred_at, $tz, $period) AS return_period
    FROM fct_events
    WHERE occurred_at <= $as_of AND ([[return_match]])
),
person_returns AS (
    SELECT s.person_id, s.cohort,
           jm_periods_between(s.cohort, r.return_period, $period) AS period
    FROM starts AS s
    JOIN returns AS r USING (person_id)
    WHERE r.return_period >= s.cohort
),
cohorts AS (
    SELECT cohort, count(*) AS cohort_size,
           jm_periods_between(cohort, jm_period_start($as_of, $tz, $period), $period) AS last_period
    FROM starts
    GROUP BY cohort
),
grid AS (
    SELECT c.cohort, c.cohort_size, c.last_period, g.period
    FROM cohorts AS c, LATERAL (SELECT unnest(range(0, c.last_period + 1)) AS period) AS g
),
retained_on AS (
    SELECT cohort, period, count(DISTINCT person_id) AS retained
    FROM person_returns
    GROUP BY cohort, period
),
retained_on_or_after AS (
    -- a person counts in every period up to their last return period
    SELECT g.cohort, g.period, count(DISTINCT p.person_id) AS retained
    FROM grid AS g
    JOIN person_returns AS p ON p.cohort = g.cohort AND p.period >= g.period
    GROUP BY g.cohort, g.period
)
SELECT
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
LEFT JOIN retained_on AS o USING (cohort, period)
LEFT JOIN retained_on_or_after AS a USING (cohort, period)
ORDER BY g.cohort, g.period
