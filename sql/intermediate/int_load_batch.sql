-- int_load_batch: move one source's staged files (TEMP tables batch_accepted, batch_rejected,
-- batch_files) into the warehouse, inside one transaction with their manifest rows.
-- Parameters: $source, $run_id. Statements are separated by ";" at a line end.

-- The events of accepted records; an event id seen before (earlier in the batch, in file then
-- record order, or already in the warehouse) is a duplicate: the first copy is kept.
-- Narrow on purpose: one row per event with its key columns and the row of batch_accepted it
-- came from. A copy of the wide staged rows (properties included) did not fit the default 1 GB
-- at 2M records and spilled ~3.5 GB to disk per batch (docs/decisions.md 103).
CREATE OR REPLACE TEMP TABLE candidates AS
-- NOT MATERIALIZED: each reader takes only the columns it needs (the id count reads no hash,
-- the first copies' hashes are computed for the repeated ids only). Materialised, every row's
-- hash was written to a buffer first: ~20% slower per batch at 10M (docs/decisions.md 112).
WITH accepted AS NOT MATERIALIZED (
    SELECT
        b.rowid AS row_id,
        b.event_id,
        b.file_order,
        b.record_no,
        jm_person_key(b.user_id, b.anonymous_id, b.email_hash, b.crm_contact_id) AS person_key,
        md5(concat_ws('|', b.event_name, b.occurred_at::VARCHAR, coalesce(b.anonymous_id, ''),
                      coalesce(b.user_id, ''), coalesce(b.email_hash, ''),
                      coalesce(b.crm_contact_id, ''),
                      -- web events: the built-in channel, not the one of the current rules (a
                      -- change of rules must not make a re-sent event a conflict)
                      coalesce(CASE WHEN b.referrer_class IS NULL THEN b.channel
                                    ELSE jm_builtin_channel(b.utm_medium, b.referrer_class) END,
                               ''),
                      coalesce(b.campaign, ''), coalesce(b.revenue::VARCHAR, ''),
                      coalesce(b.properties::VARCHAR, ''))) AS content_hash
    FROM batch_accepted AS b
    WHERE b.is_event
),
ids AS MATERIALIZED (
    -- one narrow hash aggregate over the batch's ids: it finds the repeated ones and is the
    -- distinct ids looked up among the stored events
    SELECT event_id, count(*) AS copies FROM accepted GROUP BY event_id
),
repeated AS (
    -- the first copy of each event id sent more than once in the batch: only the few repeated
    -- ids' rows are aggregated by position (the join back builds on a small table)
    SELECT event_id, min((file_order, record_no)) AS first_at,
           arg_min(content_hash, (file_order, record_no)) AS first_hash
    FROM accepted
    WHERE event_id IN (SELECT event_id FROM ids WHERE copies > 1)
    GROUP BY event_id
),
numbered AS (
    SELECT a.*,
           r.event_id IS NULL OR (a.file_order, a.record_no) = r.first_at AS is_first,
           coalesce(r.first_hash, a.content_hash) AS first_hash
    FROM accepted AS a
    LEFT JOIN repeated AS r USING (event_id)
),
existing AS (
    -- inner join: DuckDB builds the hash table on the (smaller) batch side
    SELECT e.event_id, any_value(e.content_hash) AS content_hash
    FROM events AS e
    JOIN ids USING (event_id)
    WHERE e.source = $source
    GROUP BY e.event_id
)
SELECT
    n.row_id, n.event_id, n.file_order, n.record_no, n.person_key, n.content_hash,
    n.is_first AND x.event_id IS NULL AS is_new,
    coalesce(x.content_hash, n.first_hash) AS kept_hash
FROM numbered AS n
LEFT JOIN existing AS x USING (event_id);

-- (once: a changed file read again does not record its conflicts twice)
INSERT INTO _jm_conflicts
SELECT $source, c.event_id, c.kept_hash, c.content_hash, f.file_path, c.record_no, $run_id
FROM candidates AS c
JOIN batch_files AS f USING (file_order)
WHERE NOT c.is_new AND c.content_hash <> c.kept_hash
  AND NOT EXISTS (
      SELECT 1 FROM _jm_conflicts AS x
      WHERE x.source = $source AND x.event_id = c.event_id AND x.file_path = f.file_path
        AND x.record_no = c.record_no AND x.rejected_hash = c.content_hash
  );

-- Identity links of every accepted record (identity-only rows included) not known yet. An alias
-- (previous_id) links its userId to the previous id, which Segment allows to be an anonymousId or
-- an earlier userId: both nodes are linked.
CREATE OR REPLACE TEMP TABLE new_links AS
WITH id_sets AS (
    -- the batch's distinct id combinations first: a person's records repeat them, and the
    -- node texts are then built once per combination, not once per record
    SELECT DISTINCT user_id, anonymous_id, email_hash, crm_contact_id, previous_id
    FROM batch_accepted
),
links AS (
    SELECT DISTINCT
        jm_person_key(user_id, anonymous_id, email_hash, crm_contact_id) AS node_a,
        unnest(list_concat(
            jm_identity_nodes(user_id, anonymous_id, email_hash, crm_contact_id),
            CASE WHEN previous_id IS NOT NULL
                 THEN ['a:' || previous_id, 'u:' || previous_id] ELSE [] END)) AS node_b
    FROM id_sets
),
known AS (
    SELECT k.node_a, k.node_b
    FROM _jm_identity_links AS k
    JOIN links AS l USING (node_a, node_b)
)
SELECT node_a, node_b FROM links
WHERE node_a IS NOT NULL
EXCEPT
SELECT node_a, node_b FROM known;

-- Node numbers (_jm_nodes): the batch's nodes, those known with their number and the new ones
-- numbered after the highest, in text order. Every node a new event or a new link names.
CREATE OR REPLACE TEMP TABLE batch_nodes AS
WITH seen AS (
    SELECT person_key AS node FROM candidates WHERE is_new
    UNION
    SELECT node_a FROM new_links
    UNION
    SELECT node_b FROM new_links
),
known AS (
    SELECT n.node, n.node_no FROM _jm_nodes AS n JOIN seen USING (node)
)
SELECT node, node_no, false AS is_new FROM known
UNION ALL
SELECT node,
       (SELECT coalesce(max(node_no), 0) FROM _jm_nodes)
           + (row_number() OVER (ORDER BY node))::INTEGER,
       true
FROM (SELECT node FROM seen EXCEPT SELECT node FROM known);

INSERT INTO _jm_nodes SELECT node, node_no FROM batch_nodes WHERE is_new;

-- No ORDER BY: every reader orders what it reads (sorting all new events cost a third of the
-- commit). The wide columns come from the staged row itself (joined by its row id).
INSERT INTO events BY NAME
SELECT b.event_id, $source AS source, b.event_name, b.occurred_at, b.anonymous_id, b.user_id,
       b.email_hash, b.crm_contact_id, c.person_key, b.channel, b.campaign, b.revenue,
       b.properties, c.content_hash, b.file_path, b.record_no, $run_id AS run_id, b.utm_medium,
       b.utm_source, b.referrer_host, b.page_host, b.referrer_class, n.node_no
FROM batch_accepted AS b
JOIN candidates AS c ON c.row_id = b.rowid
JOIN batch_nodes AS n ON n.node = c.person_key
WHERE c.is_new;

INSERT INTO _jm_identity_links SELECT node_a, node_b FROM new_links;

-- What the next stitch must look at: the persons of new events, and the nodes of new links
-- (the batch's nodes: batch_nodes is that union already).
INSERT INTO _jm_pending_nodes SELECT node FROM batch_nodes;

-- Person traits (CONTRACT §6), on the record's identity node so they follow stitching; a value
-- already recorded for the same node, trait, time and source (a re-load) is not added again.
INSERT INTO _jm_traits
WITH staged AS (
    SELECT
        jm_person_key(b.user_id, b.anonymous_id, b.email_hash, b.crm_contact_id) AS node,
        unnest(b.traits, recursive := true),
        b.traits_at AS set_at,
        b.file_path,
        b.file_order,
        b.record_no
    FROM batch_accepted AS b
    WHERE len(b.traits) > 0 AND b.traits_at IS NOT NULL
),
firsts AS (
    -- the same value set again in the batch: its first record is where it came from
    SELECT node, trait, value, set_at,
           arg_min({'file_path': file_path, 'record_no': record_no}, (file_order, record_no))
               AS origin
    FROM staged
    WHERE node IS NOT NULL
    GROUP BY node, trait, value, set_at
)
SELECT f.node, f.trait, f.value, f.set_at, $source, f.origin.file_path, f.origin.record_no,
       $run_id
FROM firsts AS f
WHERE NOT EXISTS (
    SELECT 1 FROM _jm_traits AS t
    WHERE t.source = $source AND t.node = f.node AND t.trait = f.trait AND t.value = f.value
      AND t.set_at = f.set_at
)
ORDER BY f.node, f.trait, f.set_at, f.value;

-- Quarantine, once per (file, record, content) even when a changed file is read again.
INSERT INTO _jm_quarantine
SELECT $source, r.file_path, r.record_no, r.reason, jm_redact(r.raw), r.raw_hash, $run_id
FROM batch_rejected AS r
WHERE NOT EXISTS (
    SELECT 1 FROM _jm_quarantine AS q
    WHERE q.source = $source AND q.file_path = r.file_path AND q.record_no = r.record_no
      AND q.raw_hash = r.raw_hash
)
ORDER BY r.file_path, r.record_no;

-- Per-file outcome for the manifest and the summary.
CREATE OR REPLACE TEMP TABLE batch_counts AS
SELECT
    f.file_path,
    coalesce(c.events, 0) AS events,
    coalesce(c.duplicates, 0) AS duplicates,
    coalesce(r.quarantined, 0) AS quarantined,
    coalesce(i.identity_records, 0) AS identity_records
FROM batch_files AS f
LEFT JOIN (
    SELECT file_order, count(*) FILTER (WHERE is_new) AS events,
           count(*) FILTER (WHERE NOT is_new) AS duplicates
    FROM candidates GROUP BY file_order
) AS c USING (file_order)
LEFT JOIN (
    SELECT file_path, count(*) AS quarantined FROM batch_rejected GROUP BY file_path
) AS r USING (file_path)
LEFT JOIN (
    -- accepted records without any event row: identity or trait records (alias, group, a contact
    -- without stage dates); records = events + duplicates + quarantined + these for web and email
    SELECT file_path, count(*) AS identity_records
    FROM (SELECT file_path, record_no FROM batch_accepted
          GROUP BY file_path, record_no HAVING NOT bool_or(is_event))
    GROUP BY file_path
) AS i USING (file_path);

INSERT INTO _jm_files
SELECT $source, f.file_path, f.size_bytes, f.mtime_ns, f.sha256, f.status, f.reason,
       f.records, c.events, c.duplicates, c.quarantined, $run_id, now()
FROM batch_files AS f
JOIN batch_counts AS c USING (file_path)
ORDER BY f.file_order
