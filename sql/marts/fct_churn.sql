-- Churn per period and group (CONTRACT §11 churn). grain: group x period.
-- Rows for every calendar period from the one after the first period with activity (of the
-- `all` group: every group gets the same periods) up to the period containing as_of. active_before: persons with activity (jm_is_activity: leaving
-- signals are not activity) in the previous period; churned: of them, those with none in the
-- period (NULL in the period containing as_of: it has not ended); unsubscribed: persons with an
-- unsubscribe, group unsubscribe or spam report in the period; deals_lost: deal_lost events.
-- Parameters: as_of, tz, period. Groups and --where come from the TEMP view `population`.
WITH person_active AS MATERIALIZED (
    SELECT DISTINCT p.group_name, e.person_id, jm_period_start(e.occurred_at, $tz, $period) AS period_start
    FROM fct_events AS e
    JOIN population AS p USING (person_id)
    WHERE e.occurred_at <= $as_of AND jm_is_activity(e.event_name)
),
grid AS (
    -- every group gets the periods of the `all` group, so the groups add up to it
    SELECT g.group_name, CAST(r.period_at AS DATE) AS period_start
    FROM (SELECT DISTINCT group_name FROM population) AS g,
         (
             -- the period starts up to the one containing as_of (both ends included); one branch
             -- per step (weeks in days, months in months): Spark (CONTRACT §12) has no mixed
             -- intervals, so the step cannot be chosen in one expression, nor cast an unnest
             SELECT unnest(generate_series(
                 min(period_start)::TIMESTAMP,
                 jm_period_start($as_of, $tz, $period)::TIMESTAMP,
                 INTERVAL 7 DAY
             )) AS period_at
             FROM person_active
             WHERE group_name = 'all' AND $period = 'week'
             UNION ALL
             SELECT unnest(generate_series(
                 min(period_start)::TIMESTAMP,
                 jm_period_start($as_of, $tz, $period)::TIMESTAMP,
                 INTERVAL 1 MONTH
             )) AS period_at
             FROM person_active
             WHERE group_name = 'all' AND $period <> 'week'
         ) AS r
),
periods AS (
    SELECT group_name, period_start,
           lag(period_start) OVER (PARTITION BY group_name ORDER BY period_start) AS previous_start
    FROM grid
),
flows AS (
    SELECT
        r.group_name,
        r.period_start,
        count(b.person_id) AS active_before,
        count(b.person_id) FILTER (WHERE n.person_id IS NULL) AS churned
    FROM periods AS r
    LEFT JOIN person_active AS b
      ON b.group_name = r.group_name AND b.period_start = r.previous_start
    LEFT JOIN person_active AS n
      ON n.group_name = b.group_name AND n.person_id = b.person_id
     AND n.period_start = r.period_start
    WHERE r.previous_start IS NOT NULL
    GROUP BY r.group_name, r.period_start
),
leaving AS (
    SELECT
        p.group_name,
        jm_period_start(e.occurred_at, $tz, $period) AS period_start,
        count(DISTINCT e.person_id) FILTER (
            WHERE e.event_name IN ('email_unsubscribe', 'email_group_unsubscribe',
                                   'email_spamreport')
        ) AS unsubscribed,
        count(*) FILTER (WHERE e.event_name = 'deal_lost') AS deals_lost
    FROM fct_events AS e
    JOIN population AS p USING (person_id)
    WHERE e.occurred_at <= $as_of
      AND e.event_name IN ('email_unsubscribe', 'email_group_unsubscribe', 'email_spamreport',
                           'deal_lost')
    GROUP BY ALL
)
SELECT
    f.group_name,
    strftime(f.period_start, '%Y-%m-%d') AS period,
    f.active_before,
    CASE WHEN f.period_start = jm_period_start($as_of, $tz, $period) THEN NULL
         ELSE f.churned END AS churned,
    coalesce(l.unsubscribed, 0) AS unsubscribed,
    coalesce(l.deals_lost, 0) AS deals_lost
FROM flows AS f
LEFT JOIN leaving AS l USING (group_name, period_start)
ORDER BY f.group_name <> 'all', f.group_name, period
