-- Level 1: every stage-1 event in [from, to) starts an attempt (--entry best), or only each
-- person's first one (--entry first). start_pos/start_at: the attempt's start.
SELECT person_no, pos, pos AS start_pos, occurred_at AS start_at
FROM stage_events
WHERE m1 AND occurred_at >= $from_at AND occurred_at < $to_at
[[first_only]]
