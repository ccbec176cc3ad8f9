-- paths, scope session (CONTRACT §8, §2 sessions): web events only. Sessions are cut exactly as
-- the `sessions` view cuts them: over all of a person's web events up to as_of, in
-- (occurred_at, event_id) order, a gap of more than 30 minutes starts a new session (a gap of
-- exactly 30 minutes stays in the session). Then only activity events in [from, to) are kept.
-- grain: one event. Columns as events_person.sql; session_no numbers a person's sessions.
-- Parameters: as_of, from_at, to_at. [[source]]: fct_events, or the events of some persons.
WITH web AS (
    SELECT
        person_no, event_id, occurred_at, event_name, source, channel, campaign, revenue,
        properties, lag(occurred_at) OVER (PARTITION BY person_no ORDER BY occurred_at, event_id) AS previous_at
    FROM [[source]]
    WHERE source = 'web' AND occurred_at <= $as_of
),
numbered AS (
    SELECT
        *,
        sum(CASE WHEN previous_at IS NULL OR occurred_at > previous_at + INTERVAL 30 MINUTE
                 THEN 1 ELSE 0 END)
            OVER (PARTITION BY person_no ORDER BY occurred_at, event_id
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_no
    FROM web
)
SELECT person_no, session_no::BIGINT AS session_no, event_id, occurred_at, event_name, source,
       channel, campaign, revenue, properties
FROM numbered
WHERE occurred_at >= $from_at
  AND occurred_at < $to_at
  AND jm_is_activity(event_name)
