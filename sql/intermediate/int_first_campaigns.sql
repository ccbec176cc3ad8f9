-- The campaign of each person's earliest event that has one, up to $as_of (CONTRACT §6 --by
-- campaign). grain: person.
SELECT person_id, arg_min(campaign, (occurred_at, event_id, source)) AS first_value
FROM fct_events
WHERE campaign IS NOT NULL AND occurred_at <= $as_of
GROUP BY person_id
