-- Every (source, event_id) is loaded once (CONTRACT §1 Bad input): failing rows are repeats.
SELECT source, event_id, count(*) AS copies
FROM events
GROUP BY source, event_id
HAVING count(*) > 1
