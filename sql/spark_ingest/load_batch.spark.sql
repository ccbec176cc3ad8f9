-- Ingest on Spark (engines/spark_ingest.py): one run's staged records against the lake's state,
-- written in Spark SQL (no DuckDB original: the warehouse does this in
-- intermediate/int_load_batch.sql, whose meaning this follows statement by statement).
-- Inputs (temp views): batch_accepted (source + the staging contract's columns +
-- builtin_channel), batch_rejected (source, file_path, record_no, reason, raw, raw_hash),
-- batch_files (the files read), and the lake's state: jm_lake_events, jm_lake_links,
-- jm_lake_traits, jm_lake_quarantine, jm_lake_conflicts. Parameter: :run_id.
-- Dedupe is per (source, event_id) as on DuckDB, where each source loads on its own.

-- The events of accepted records, with their identity node and content hash.
CREATE OR REPLACE TEMP VIEW jm_accepted AS
SELECT
    b.*,
    coalesce('u:' || b.user_id, 'a:' || b.anonymous_id, 'e:' || b.email_hash,
             'c:' || b.crm_contact_id) AS person_key,
    md5(concat_ws('|', b.event_name, date_format(b.occurred_at, 'yyyy-MM-dd HH:mm:ss.SSSSSSXXX'),
                  coalesce(b.anonymous_id, ''), coalesce(b.user_id, ''),
                  coalesce(b.email_hash, ''), coalesce(b.crm_contact_id, ''),
                  -- web events: the built-in channel, not the one of the current rules
                  coalesce(CASE WHEN b.referrer_class IS NULL THEN b.channel
                                ELSE b.builtin_channel END, ''),
                  coalesce(b.campaign, ''), coalesce(CAST(b.revenue AS STRING), ''),
                  coalesce(b.properties, ''))) AS content_hash
FROM batch_accepted AS b
WHERE b.is_event;

-- The first copy of each (source, event id) in the batch (file order, then record number) is
-- new unless the lake holds the id already; every other copy is a duplicate. The contested
-- events (an id with more than one copy in the batch, or one the lake holds) are found over
-- narrow rows, without the content, and copied (spark_ingest.py): few rows, whose known size
-- lets Spark broadcast them into the wide rows' join instead of shuffling every event.
CREATE OR REPLACE TEMP VIEW jm_contested AS
WITH ranked AS (
    SELECT
        source, event_id, file_order, record_no,
        min(struct(file_order, record_no)) OVER by_id AS first_at,
        count(*) OVER by_id AS copies
    FROM batch_accepted
    WHERE is_event AND event_id IS NOT NULL  -- (validation rejects an event without an id)
    WINDOW by_id AS (PARTITION BY source, event_id)
),
existing AS (
    SELECT e.source, e.event_id, min(e.content_hash) AS content_hash
    FROM jm_lake_events AS e
    LEFT SEMI JOIN (SELECT DISTINCT source, event_id FROM batch_accepted WHERE is_event) AS a
        ON e.source = a.source AND e.event_id = a.event_id
    GROUP BY e.source, e.event_id
)
SELECT DISTINCT
    r.source, r.event_id, r.file_order, r.record_no,
    struct(r.file_order, r.record_no) = r.first_at AND x.event_id IS NULL AS is_new,
    x.content_hash AS lake_hash
FROM ranked AS r
LEFT JOIN existing AS x ON r.source = x.source AND r.event_id = x.event_id
WHERE r.copies > 1 OR x.event_id IS NOT NULL;

-- Every accepted event, with is_new, and for a contested one the content the lake holds.
CREATE OR REPLACE TEMP VIEW jm_candidates AS
SELECT
    a.*,
    coalesce(n.is_new, true) AS is_new,
    n.record_no IS NOT NULL AS contested,
    n.lake_hash
FROM jm_accepted AS a
LEFT JOIN jm_contested AS n
    ON n.source = a.source AND n.event_id = a.event_id AND n.file_order = a.file_order
   AND n.record_no = a.record_no
WHERE a.event_id IS NOT NULL;

-- Conflicts (same id, other content than the kept one: the lake's, else the batch's first
-- copy's), once per (file, record, content). Every copy of a contested id is contested, so the
-- first copy's content is found among the contested rows alone.
CREATE OR REPLACE TEMP VIEW jm_new_conflicts AS
WITH contested AS (
    SELECT
        c.*,
        coalesce(c.lake_hash, min_by(c.content_hash, struct(c.file_order, c.record_no))
                                  OVER (PARTITION BY c.source, c.event_id)) AS kept_hash
    FROM jm_candidates AS c
    WHERE c.contested
)
SELECT c.source, c.event_id, c.kept_hash, c.content_hash AS rejected_hash, c.file_path,
       c.record_no, :run_id AS run_id
FROM contested AS c
LEFT ANTI JOIN jm_lake_conflicts AS x
    ON x.source = c.source AND x.event_id = c.event_id AND x.file_path = c.file_path
   AND x.record_no = c.record_no AND x.rejected_hash = c.content_hash
WHERE NOT c.is_new AND c.content_hash <> c.kept_hash;

CREATE OR REPLACE TEMP VIEW jm_new_events AS
SELECT event_id, source, event_name, occurred_at, anonymous_id, user_id, email_hash,
       crm_contact_id, person_key, channel, campaign, revenue, properties, content_hash,
       file_path, record_no, :run_id AS run_id, utm_medium, utm_source, referrer_host, page_host,
       referrer_class
FROM jm_candidates
WHERE is_new;

-- Identity links of every accepted record (identity-only rows included); an alias links its
-- userId to the previous id as an anonymousId and as a userId.
CREATE OR REPLACE TEMP VIEW jm_all_links AS
SELECT DISTINCT node_a, node_b FROM (
    SELECT node_a, node_b FROM jm_lake_links
    UNION ALL
    SELECT node_a, node_b FROM (
        SELECT
            coalesce('u:' || user_id, 'a:' || anonymous_id, 'e:' || email_hash,
                     'c:' || crm_contact_id) AS node_a,
            explode(concat(
                filter(array('u:' || user_id, 'a:' || anonymous_id, 'e:' || email_hash,
                             'c:' || crm_contact_id), x -> x IS NOT NULL),
                CASE WHEN previous_id IS NOT NULL
                     THEN array('a:' || previous_id, 'u:' || previous_id)
                     ELSE CAST(array() AS ARRAY<STRING>) END)) AS node_b
        FROM batch_accepted
    ) AS l
    WHERE node_a IS NOT NULL
) AS u;

-- Trait values on the record's identity node; a value already recorded for the same node,
-- trait, time and source is not added again; the first record setting it is its origin.
CREATE OR REPLACE TEMP VIEW jm_new_traits AS
WITH staged AS (
    SELECT
        b.source,
        coalesce('u:' || b.user_id, 'a:' || b.anonymous_id, 'e:' || b.email_hash,
                 'c:' || b.crm_contact_id) AS node,
        t.trait, t.value, b.traits_at AS set_at, b.file_path, b.file_order, b.record_no
    FROM batch_accepted AS b
    LATERAL VIEW inline(b.traits) t AS trait, value
    WHERE size(b.traits) > 0 AND b.traits_at IS NOT NULL
),
firsts AS (
    SELECT source, node, trait, value, set_at,
           min_by(struct(file_path, record_no), struct(file_order, record_no)) AS origin
    FROM staged
    WHERE node IS NOT NULL
    GROUP BY source, node, trait, value, set_at
)
SELECT f.node, f.trait, f.value, f.set_at, f.source, f.origin.file_path AS file_path,
       f.origin.record_no AS record_no, :run_id AS run_id
FROM firsts AS f
LEFT ANTI JOIN jm_lake_traits AS t
    ON t.source = f.source AND t.node = f.node AND t.trait = f.trait AND t.value = f.value
   AND t.set_at = f.set_at;

-- Quarantine, once per (file, record, content) even when a changed file is read again.
CREATE OR REPLACE TEMP VIEW jm_new_quarantine AS
SELECT r.source, r.file_path, r.record_no, r.reason, r.raw, r.raw_hash, :run_id AS run_id
FROM batch_rejected AS r
LEFT ANTI JOIN jm_lake_quarantine AS q
    ON q.source = r.source AND q.file_path = r.file_path AND q.record_no = r.record_no
   AND q.raw_hash = r.raw_hash
WHERE r.record_no IS NOT NULL;

-- Per-file outcome for the manifest and the summary (records: raw records staged). A record is
-- accepted or quarantined, never both, and quarantined once: its file's records are the
-- accepted ones plus the quarantined ones (one pass over the accepted rows, not two).
CREATE OR REPLACE TEMP VIEW jm_batch_counts AS
SELECT
    f.source,
    f.file_path,
    coalesce(a.records, 0) + coalesce(r.quarantined, 0) AS records,
    coalesce(c.events, 0) AS events,
    coalesce(c.duplicates, 0) AS duplicates,
    coalesce(r.quarantined, 0) AS quarantined,
    coalesce(a.identity_records, 0) AS identity_records
FROM batch_files AS f
LEFT JOIN (
    SELECT source, file_path, count_if(is_new) AS events, count_if(NOT is_new) AS duplicates
    FROM jm_candidates GROUP BY source, file_path
) AS c ON c.source = f.source AND c.file_path = f.file_path
LEFT JOIN (
    SELECT source, file_path, count(*) AS quarantined FROM batch_rejected
    WHERE record_no IS NOT NULL GROUP BY source, file_path
) AS r ON r.source = f.source AND r.file_path = f.file_path
LEFT JOIN (
    SELECT source, file_path, count(*) AS records, count_if(NOT has_event) AS identity_records
    FROM (SELECT source, file_path, record_no, bool_or(is_event) AS has_event
          FROM batch_accepted GROUP BY source, file_path, record_no) AS x
    GROUP BY source, file_path
) AS a ON a.source = f.source AND a.file_path = f.file_path
