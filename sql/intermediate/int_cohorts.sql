-- int_cohorts: the cohorts retention and ltv share (CONTRACT §4 Retention; §10: "cohorts as in
-- retention"), as CTEs for a mart's WITH list:
-- * first_starts (person_id, cohort): the period of the person's first event matching the start
--   stage;
-- * starts (group_name, person_id, cohort): with their groups of the TEMP view `population`
--   (a person is in `all` and their group; --where is applied there);
-- * cohorts (group_name, cohort, cohort_size, last_period): last_period is the period containing
--   as_of, counted from the cohort's;
-- * grid (group_name, cohort, cohort_size, last_period, period): one row per period 0 ..
--   last_period.
-- [[start_match]]: the start stage's boolean expression over fct_events.
-- Parameters: as_of, tz, period (and the stage's parameters).
first_starts AS (
    SELECT person_id, jm_period_start(min(occurred_at), $tz, $period) AS cohort
    FROM fct_events
    WHERE occurred_at <= $as_of AND ([[start_match]])
    GROUP BY person_id
),
starts AS (
    SELECT p.group_name, s.person_id, s.cohort
    FROM first_starts AS s
    JOIN population AS p USING (person_id)
),
cohorts AS (
    SELECT group_name, cohort, count(*) AS cohort_size,
           jm_periods_between(cohort, jm_period_start($as_of, $tz, $period), $period) AS last_period
    FROM starts
    GROUP BY group_name, cohort
),
grid AS (
    SELECT c.group_name, c.cohort, c.cohort_size, c.last_period, g.period
    FROM cohorts AS c, LATERAL (SELECT unnest(range(0, c.last_period + 1)) AS period) AS g
)
