-- paths, scope person (CONTRACT §8): the activity events of each person in [from, to) and at or
-- before as_of. grain: one event. Columns: person_no, session_no (always 0: one path per person),
-- event_id, occurred_at and the columns stage rules read.
-- Parameters: as_of, from_at, to_at. [[source]]: fct_events, or the events of some persons.
SELECT person_no, 0::BIGINT AS session_no, event_id, occurred_at, event_name, source, channel,
       campaign, revenue, properties
FROM [[source]]
WHERE occurred_at <= $as_of
  AND occurred_at >= $from_at
  AND occurred_at < $to_at
  AND jm_is_activity(event_name)
