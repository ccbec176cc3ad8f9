-- Level 1 (stages matched by time: stage_events_by_time.sql): every stage-1 event in [from, to)
-- starts an attempt (--entry best), or only each person's first ones (--entry first).
SELECT person_no, occurred_at, occurred_at AS start_at
FROM stage_events
WHERE m1 AND occurred_at >= $from_at AND occurred_at < $to_at
[[first_only]]
