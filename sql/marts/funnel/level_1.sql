-- Level 1: every stage-1 event in [from, to) starts an attempt (--entry best), or only the first
-- one (--entry first). s1_pos/s1_at: the attempt's start position and time.
SELECT
    *,
    CASE WHEN is_entry [[first_only]] THEN pos END AS s1_pos,
    CASE WHEN is_entry [[first_only]] THEN occurred_at END AS s1_at
FROM (
    SELECT
        *,
        m1 AND occurred_at >= $from_at AND occurred_at < $to_at AS is_entry,
        min(pos) FILTER (WHERE m1 AND occurred_at >= $from_at AND occurred_at < $to_at)
            OVER (PARTITION BY person_id) AS first_entry_pos
    FROM stage_events
)
