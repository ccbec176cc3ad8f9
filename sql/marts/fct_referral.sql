-- Referral per period (CONTRACT §4 Referral). grain: period (only periods with activity).
-- A signup is a person's first signed_up; it is referred when its invite_code was sent in an
-- invite_sent event by a different person at or before the signup. Parameters: $as_of, $tz,
-- $period. Groups and --where come from the TEMP view `population`: the persons counted are
-- the population's, while an invite may come from anybody.
WITH events_until AS (
    SELECT person_id, event_id, event_name, occurred_at,
           jm_period_start(occurred_at, $tz, $period) AS period_start,
           -- a blank code is no code
           jm_blank_to_null(json_extract_string(properties, '$.invite_code')) AS invite_code
    FROM fct_events
    WHERE occurred_at <= $as_of
),
activity AS (
    SELECT p.group_name, e.period_start,
           count(DISTINCT e.person_id) AS active_persons,
           count(DISTINCT e.person_id) FILTER (WHERE e.event_name = 'invite_sent') AS referrers,
           count(*) FILTER (WHERE e.event_name = 'invite_sent') AS invites_sent
    FROM events_until AS e
    JOIN population AS p USING (person_id)
    WHERE jm_is_activity(e.event_name)
    GROUP BY p.group_name, e.period_start
),
first_signups AS (
    SELECT person_id, occurred_at, period_start, invite_code
    FROM events_until
    WHERE event_name = 'signed_up'
    QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY occurred_at, event_id) = 1
),
invites AS (
    SELECT DISTINCT person_id AS inviter_id, invite_code, occurred_at AS sent_at
    FROM events_until
    WHERE event_name = 'invite_sent' AND invite_code IS NOT NULL
),
signups AS (
    SELECT
        p.group_name,
        s.period_start,
        EXISTS (
            SELECT 1 FROM invites AS i
            WHERE i.invite_code = s.invite_code
              AND i.inviter_id <> s.person_id
              AND i.sent_at <= s.occurred_at
        ) AS referred
    FROM first_signups AS s
    JOIN population AS p USING (person_id)
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
