-- Referral per period (CONTRACT §4 Referral). grain: period (only periods with activity).
-- A signup is a person's first signed_up; it is referred when its invite_code was sent in an
-- invite_sent event by a different person at or before the signup. Parameters: $as_of, $tz,
-- $period. Groups and --where come from the TEMP view `population`: the persons counted are
-- the population's, while an invite may come from anybody.
WITH person_periods AS (
    -- one row per person and period first (a narrow hash aggregate that runs in parallel and
    -- spills), then per group: count(DISTINCT) per group held every group's persons at once
    SELECT person_no, period_start,
           count(*) FILTER (WHERE event_name = 'invite_sent') AS invites
    FROM (SELECT person_no, event_name, jm_period_start(occurred_at, $tz, $period) AS period_start
          FROM fct_events
          WHERE occurred_at <= $as_of AND jm_is_activity(event_name))
    GROUP BY person_no, period_start
),
activity AS (
    SELECT p.group_name, e.period_start,
           count(*) AS active_persons,
           count(*) FILTER (WHERE e.invites > 0) AS referrers,
           sum(e.invites)::BIGINT AS invites_sent
    FROM person_periods AS e
    JOIN population AS p USING (person_no)
    GROUP BY p.group_name, e.period_start
),
referral_events AS MATERIALIZED (
    -- only signups and invites read their properties (a blank code is no code)
    SELECT person_no, event_id, source, event_name, occurred_at,
           jm_blank_to_null(json_extract_string(properties, '$.invite_code')) AS invite_code
    FROM fct_events
    WHERE occurred_at <= $as_of AND event_name IN ('signed_up', 'invite_sent')
),
first_signups AS (
    SELECT person_no, occurred_at, jm_period_start(occurred_at, $tz, $period) AS period_start,
           invite_code
    FROM referral_events
    WHERE event_name = 'signed_up'
    QUALIFY row_number() OVER (PARTITION BY person_no ORDER BY occurred_at, event_id, source) = 1
),
invites AS (
    SELECT DISTINCT person_no AS inviter_no, invite_code, occurred_at AS sent_at
    FROM referral_events
    WHERE event_name = 'invite_sent' AND invite_code IS NOT NULL
),
signups AS (
    SELECT
        p.group_name,
        s.period_start,
        EXISTS (
            SELECT 1 FROM invites AS i
            WHERE i.invite_code = s.invite_code
              AND i.inviter_no <> s.person_no
              AND i.sent_at <= s.occurred_at
        ) AS referred
    FROM first_signups AS s
    JOIN population AS p USING (person_no)
),
signup_counts AS (
    SELECT group_name, period_start, count(*) AS signups,
           count(*) FILTER (WHERE referred) AS referred_signups
    FROM signups
    GROUP BY group_name, period_start
)
SELECT
    a.group_name,
    strftime(a.period_start, '%Y-%m-%d') AS period,
    a.active_persons,
    a.referrers,
    a.invites_sent,
    coalesce(s.signups, 0) AS signups,
    coalesce(s.referred_signups, 0) AS referred_signups
FROM activity AS a
LEFT JOIN signup_counts AS s USING (group_name, period_start)
ORDER BY a.group_name <> 'all', a.group_name, a.period_start
