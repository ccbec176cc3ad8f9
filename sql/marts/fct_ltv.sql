-- Lifetime value per cohort (CONTRACT §10 ltv). grain: group x cohort x period.
-- Cohorts as in retention (sql/intermediate/int_cohorts.sql, the CTEs starts, cohorts and grid):
-- the period of a person's first event matching the start stage; period n counts the cohort's
-- orders whose period is n periods after the cohort's (orders before the cohort period do not
-- count). The period containing as_of is open: its revenue and cumulative revenue per person are
-- NULL.
-- Snippets: the cohorts' CTEs; the orders relation (sql/intermediate/int_orders.sql).
-- Parameters: as_of, tz, period, currency, stage parameters.
-- Groups and --where come from the TEMP view `population`.
WITH orders AS MATERIALIZED ([[orders]]),
[[cohorts]],
cohort_revenue AS (
    SELECT s.group_name, s.cohort,
           jm_periods_between(s.cohort, o.period_start, $period) AS period,
           sum(o.revenue) AS revenue
    FROM starts AS s
    JOIN orders AS o USING (person_id)
    WHERE o.included AND o.period_start >= s.cohort
    GROUP BY ALL
),
filled AS (
    SELECT g.*, coalesce(r.revenue, 0) AS revenue,
           sum(coalesce(r.revenue, 0)) OVER (
               PARTITION BY g.group_name, g.cohort ORDER BY g.period
           ) AS cumulative_revenue
    FROM grid AS g
    LEFT JOIN cohort_revenue AS r USING (group_name, cohort, period)
)
SELECT
    group_name,
    strftime(cohort, '%Y-%m-%d') AS cohort,
    period,
    cohort_size,
    CASE WHEN period = last_period THEN NULL ELSE revenue::DOUBLE END AS revenue,
    CASE WHEN period = last_period THEN NULL
         ELSE cumulative_revenue::DOUBLE / cohort_size END AS cumulative_revenue_per_person
FROM filled
ORDER BY group_name <> 'all', group_name, cohort, period
