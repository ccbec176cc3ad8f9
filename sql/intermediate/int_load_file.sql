-- int_load_file: move one staged file (TEMP tables stg, rejected, raw_records) into the warehouse.
-- Runs inside the file's transaction. Parameters: $source, $file_path, $run_id.
-- Statements are separated by ";" at a line end.

-- The events of accepted records; an event id seen before (earlier in this file, or already in
-- the warehouse) is a duplicate: the first copy is kept.
CREATE TEMP TABLE candidates AS
WITH accepted AS (
    SELECT
        s.*,
        jm_person_key(s.user_id, s.anonymous_id, s.email_hash, s.crm_contact_id) AS person_key,
        md5(concat_ws('|', s.event_name, s.occurred_at::VARCHAR, coalesce(s.anonymous_id, ''),
                      coalesce(s.user_id, ''), coalesce(s.email_hash, ''),
                      coalesce(s.crm_contact_id, ''), coalesce(s.channel, ''),
                      coalesce(s.campaign, ''), coalesce(s.revenue::VARCHAR, ''),
                      coalesce(s.properties::VARCHAR, ''))) AS content_hash
    FROM stg AS s
    WHERE s.is_event AND s.record_no NOT IN (SELECT record_no FROM rejected)
),
numbered AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY event_id ORDER BY record_no) AS copy_no,
        first_value(content_hash) OVER (PARTITION BY event_id ORDER BY record_no) AS first_hash
    FROM accepted
)
SELECT
    n.*,
    n.copy_no = 1 AND e.event_id IS NULL AS is_new,
    coalesce(e.content_hash, n.first_hash) AS kept_hash
FROM numbered AS n
LEFT JOIN (SELECT event_id, content_hash FROM events WHERE source = $source) AS e
    USING (event_id);

INSERT INTO _jm_conflicts
SELECT $source, event_id, kept_hash, content_hash, $file_path, record_no, $run_id
FROM candidates
WHERE NOT is_new AND content_hash <> kept_hash;

INSERT INTO events
SELECT event_id, $source, event_name, occurred_at, anonymous_id, user_id, email_hash,
       crm_contact_id, person_key, channel, campaign, revenue, properties, content_hash,
       $file_path, record_no, $run_id
FROM candidates
WHERE is_new
ORDER BY occurred_at, event_id;

-- Identity links of every accepted record (identity-only rows included).
INSERT INTO _jm_identity_links
SELECT DISTINCT l.node_a, l.node_b
FROM (
    SELECT
        jm_person_key(user_id, anonymous_id, email_hash, crm_contact_id) AS node_a,
        unnest(jm_identity_nodes(user_id, anonymous_id, email_hash, crm_contact_id)) AS node_b
    FROM stg
    WHERE record_no NOT IN (SELECT record_no FROM rejected)
) AS l
WHERE l.node_a IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM _jm_identity_links AS k WHERE k.node_a = l.node_a AND k.node_b = l.node_b
  );

-- Quarantine, once per (file, record, content) even when a changed file is read again.
INSERT INTO _jm_quarantine
SELECT $source, $file_path, r.record_no, r.reason, jm_redact(w.raw), md5(w.raw), $run_id
FROM rejected AS r
JOIN raw_records AS w USING (record_no)
WHERE NOT EXISTS (
    SELECT 1 FROM _jm_quarantine AS q
    WHERE q.source = $source AND q.file_path = $file_path AND q.record_no = r.record_no
      AND q.raw_hash = md5(w.raw)
)
ORDER BY r.record_no;
