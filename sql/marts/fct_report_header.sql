-- Report header: per source, events, quarantined records and failed files (latest state of each
-- file), plus the warehouse's time range. grain: source.
WITH event_counts AS (
    SELECT source, count(*) AS events, min(occurred_at) AS first_at, max(occurred_at) AS last_at
    FROM events
    GROUP BY source
),
quarantine_counts AS (
    SELECT source, count(*) AS quarantined FROM _jm_quarantine GROUP BY source
),
latest_files AS (
    SELECT source, file_path, status, reason
    FROM _jm_files
    QUALIFY row_number() OVER (PARTITION BY source, file_path ORDER BY loaded_at DESC) = 1
),
file_counts AS (
    SELECT source, count(*) AS files, count(*) FILTER (WHERE status = 'failed') AS failed_files
    FROM latest_files
    GROUP BY source
)
SELECT
    s.source,
    coalesce(e.events, 0) AS events,
    coalesce(q.quarantined, 0) AS quarantined,
    coalesce(f.files, 0) AS files,
    coalesce(f.failed_files, 0) AS failed_files,
    e.first_at,
    e.last_at
FROM (SELECT source FROM event_counts UNION SELECT source FROM quarantine_counts
      UNION SELECT source FROM file_counts) AS s
LEFT JOIN event_counts AS e USING (source)
LEFT JOIN quarantine_counts AS q USING (source)
LEFT JOIN file_counts AS f USING (source)
ORDER BY s.source
