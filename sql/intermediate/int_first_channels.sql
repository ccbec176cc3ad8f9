-- The channel of each person's earliest event that has one, up to $as_of (CONTRACT §2 and §6
-- `--by channel` with events after as_of, which are ignored as everywhere). grain: person.
-- The stored persons.channel is the same over all events (sql/intermediate/int_persons.sql), so
-- segments.py reads this only when some event lies after as_of.
SELECT person_id, arg_min(channel, (occurred_at, event_id, source)) AS first_value
FROM fct_events
WHERE channel IS NOT NULL AND occurred_at <= $as_of
GROUP BY person_id
