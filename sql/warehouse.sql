-- The warehouse tables. Idempotent: run on every write connection.
-- No PRIMARY KEY/UNIQUE on big tables (DuckDB WAL replay issue 15836): uniqueness of
-- (source, event_id) is kept by the loader's anti-join and checked by sql/tests.

-- Canonical events (CONTRACT §1). Append-only; person ids come from _jm_person_map.
CREATE TABLE IF NOT EXISTS events (
    event_id       VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    event_name     VARCHAR NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    anonymous_id   VARCHAR,
    user_id        VARCHAR,
    email_hash     VARCHAR,
    crm_contact_id VARCHAR,
    person_key     VARCHAR NOT NULL,   -- the identity node the event is stitched through
    channel        VARCHAR,
    campaign       VARCHAR,
    revenue        DOUBLE,
    properties     JSON,
    content_hash   VARCHAR NOT NULL,   -- to tell a true duplicate from a conflicting re-send
    file_path      VARCHAR NOT NULL,
    record_no      BIGINT NOT NULL,
    run_id         VARCHAR NOT NULL,
    -- web events: the inputs of the channel rules (CONTRACT §2), so `channel` can be derived again
    -- when the rules change; referrer_class is NULL for events whose channel is fixed
    utm_medium     VARCHAR,            -- jm_medium(): trimmed, lower-cased, placeholders NULL
    utm_source     VARCHAR,
    referrer_host  VARCHAR,
    page_host      VARCHAR,
    referrer_class VARCHAR,            -- none | own | search | social | external
    node_no        INTEGER             -- person_key's number (_jm_nodes): persons join by it
);

-- Records that could not become events: why, where, and the record itself (emails redacted).
CREATE TABLE IF NOT EXISTS _jm_quarantine (
    source     VARCHAR NOT NULL,
    file_path  VARCHAR NOT NULL,
    record_no  BIGINT NOT NULL,
    reason     VARCHAR NOT NULL,
    raw        VARCHAR,
    raw_hash   VARCHAR NOT NULL,
    run_id     VARCHAR NOT NULL
);

-- The same event id delivered again with different content: the first one is kept.
CREATE TABLE IF NOT EXISTS _jm_conflicts (
    source         VARCHAR NOT NULL,
    event_id       VARCHAR NOT NULL,
    kept_hash      VARCHAR NOT NULL,
    rejected_hash  VARCHAR NOT NULL,
    file_path      VARCHAR NOT NULL,
    record_no      BIGINT NOT NULL,
    run_id         VARCHAR NOT NULL
);

-- File manifest: what was read, when, with what outcome. Written in the same transaction as the
-- file's events, so it never claims data that is not there.
CREATE TABLE IF NOT EXISTS _jm_files (
    source       VARCHAR NOT NULL,
    file_path    VARCHAR NOT NULL,     -- relative to the input folder
    size_bytes   BIGINT NOT NULL,
    mtime_ns     BIGINT NOT NULL,
    sha256       VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,     -- loaded | failed
    reason       VARCHAR,
    records      BIGINT NOT NULL,
    events       BIGINT NOT NULL,
    duplicates   BIGINT NOT NULL,
    quarantined  BIGINT NOT NULL,
    run_id       VARCHAR NOT NULL,
    loaded_at    TIMESTAMPTZ NOT NULL
);

-- Identity graph edges between identifier nodes ('u:', 'a:', 'e:', 'c:' + value).
CREATE TABLE IF NOT EXISTS _jm_identity_links (
    node_a VARCHAR NOT NULL,
    node_b VARCHAR NOT NULL
);

-- Person traits (CONTRACT §6): every value a source set, on the identity node of the record that
-- set it ('u:', 'a:', 'e:', 'c:' as events' person_key), so traits follow stitching. Only the
-- trait names a source's configuration lists are ever written. History is kept: the value at a
-- time is read with sql/intermediate/int_person_traits.sql.
CREATE TABLE IF NOT EXISTS _jm_traits (
    node       VARCHAR NOT NULL,
    trait      VARCHAR NOT NULL,
    value      VARCHAR NOT NULL,
    set_at     TIMESTAMPTZ NOT NULL,
    source     VARCHAR NOT NULL,
    file_path  VARCHAR NOT NULL,
    record_no  BIGINT NOT NULL,
    run_id     VARCHAR NOT NULL
);

-- Identity nodes touched by loads since the last stitch (written with the events and links, in
-- the same transaction; emptied by the stitch that handles them).
CREATE TABLE IF NOT EXISTS _jm_pending_nodes (node VARCHAR NOT NULL);

-- Every identity node's number, given once by the load that first sees the node. Events carry
-- the number of their node, so fct_events joins persons on an integer: a join on the text node
-- cost every metric query at 10M events ~0.3-0.8 s more, and spilled at 30M under 1 GB.
CREATE TABLE IF NOT EXISTS _jm_nodes (node VARCHAR NOT NULL, node_no INTEGER NOT NULL);

-- Derived by stitching (updated after every load).
CREATE TABLE IF NOT EXISTS _jm_person_map (
    node VARCHAR NOT NULL, person_id VARCHAR NOT NULL, person_no BIGINT NOT NULL,
    node_no INTEGER
);
CREATE TABLE IF NOT EXISTS persons (
    person_id VARCHAR NOT NULL, channel VARCHAR NOT NULL, first_seen_at TIMESTAMPTZ NOT NULL,
    person_no BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS _jm_runs (
    run_id VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
    input_dir VARCHAR, summary JSON
);

CREATE TABLE IF NOT EXISTS _jm_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL);

-- Schema 2 added person_no (warehouses built before get the column; the next stitch fills it).
ALTER TABLE _jm_person_map ADD COLUMN IF NOT EXISTS person_no BIGINT;
ALTER TABLE persons ADD COLUMN IF NOT EXISTS person_no BIGINT;
-- Schema 4 keeps the channel inputs of web events (earlier events keep their stored channel).
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_medium VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_source VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS referrer_host VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS page_host VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS referrer_class VARCHAR;
-- Schema 7 numbers identity nodes: the nodes of earlier loads are numbered here (in text order)
-- and their events given the numbers; the next stitch, which sees map rows without one, maps
-- every node again (identity.py).
ALTER TABLE events ADD COLUMN IF NOT EXISTS node_no INTEGER;
ALTER TABLE _jm_person_map ADD COLUMN IF NOT EXISTS node_no INTEGER;
INSERT INTO _jm_nodes
SELECT node, (SELECT coalesce(max(node_no), 0) FROM _jm_nodes)
             + (row_number() OVER (ORDER BY node))::INTEGER
FROM (
    SELECT person_key AS node FROM events WHERE node_no IS NULL
    UNION SELECT node_a FROM _jm_identity_links
    UNION SELECT node_b FROM _jm_identity_links
) AS seen
WHERE node NOT IN (SELECT node FROM _jm_nodes);
UPDATE events SET node_no = n.node_no
FROM _jm_nodes AS n
WHERE events.node_no IS NULL AND n.node = events.person_key;

-- Events with their person: what every metric reads.
CREATE OR REPLACE VIEW fct_events AS
SELECT e.*, m.person_id, m.person_no
FROM events AS e
JOIN _jm_person_map AS m ON m.node_no = e.node_no;

-- Trait history with its person (CONTRACT §6).
CREATE OR REPLACE VIEW fct_traits AS
SELECT m.person_id, m.person_no, t.trait, t.value, t.set_at
FROM _jm_traits AS t
JOIN _jm_person_map AS m ON m.node = t.node;

-- Sessions (CONTRACT §2): a person's web events with gaps of at most 30 minutes; the channel of
-- its first event. `fct_events` is shadowed per connection while the channel rules differ from the
-- stored ones (sql/channels_now.sql), and this view follows it. A view: no metric needs it materialised, so stitching stays incremental.
CREATE OR REPLACE VIEW sessions AS
WITH web AS (
    SELECT
        person_id, event_id, occurred_at, channel,
        lag(occurred_at) OVER (PARTITION BY person_id ORDER BY occurred_at, event_id) AS previous_at
    FROM fct_events
    WHERE source = 'web'
),
numbered AS (
    SELECT
        *,
        sum(CASE WHEN previous_at IS NULL OR occurred_at > previous_at + INTERVAL 30 MINUTE
                 THEN 1 ELSE 0 END)
            OVER (PARTITION BY person_id ORDER BY occurred_at, event_id
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_no
    FROM web
)
SELECT
    person_id,
    session_no,
    min(occurred_at) AS started_at,
    max(occurred_at) AS ended_at,
    arg_min(channel, (occurred_at, event_id)) AS channel,
    count(*) AS events
FROM numbered
GROUP BY person_id, session_no;

-- Materialised marts (marts.py): the dashboard's rows and the default metric invocations, each
-- with the state (loaded data + definitions) it was computed from; refreshed by every run.
CREATE TABLE IF NOT EXISTS _jm_marts (key VARCHAR NOT NULL, state VARCHAR NOT NULL, rows VARCHAR);

-- Identity nodes stitched since the marts were last refreshed (identity.stitch copies the pending
-- nodes here; person_rows.py refreshes the persons they belong to, then empties it).
CREATE TABLE IF NOT EXISTS _jm_touched_nodes (node VARCHAR NOT NULL);

-- Each person's chain of every built-in framework's default funnel (best entry, ordered), kept
-- per person so a nightly run recomputes only the persons its load touched (person_rows.py).
-- Keyed by person_no (a surviving person keeps its number), which every reader joins on.
-- Schema 8 replaced person_id by person_no: the chains of an older schema are dropped with their
-- state, so the next refresh computes every framework whole (this DDL runs only on a change of
-- schema version, and a refresh follows every run; a later version drops them too: one whole
-- refresh per upgrade).
DROP TABLE IF EXISTS _jm_funnel_chains;
DELETE FROM _jm_meta WHERE key LIKE 'funnel_chains:%';
CREATE TABLE _jm_funnel_chains (
    framework VARCHAR NOT NULL, person_no BIGINT NOT NULL, level INTEGER NOT NULL,
    start_at TIMESTAMPTZ, steps TIMESTAMPTZ[]
);

-- Kept the same way (person_rows.py; schemas 9 to 12): the dashboard trend's level per person
-- and entry week (its state in _jm_meta, `funnel_trend:<framework>`, holds the attempts' start
-- bound), the journey map's last touchpoint of each person who left, touchpoint at each stage
-- reached and touchpoint counts per person, and the items of each person's path in the
-- dashboard's two flows.
CREATE TABLE IF NOT EXISTS _jm_funnel_trend (
    framework VARCHAR NOT NULL, person_no BIGINT NOT NULL, period DATE NOT NULL,
    level INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS _jm_exit_touches (
    framework VARCHAR NOT NULL, person_no BIGINT NOT NULL, step INTEGER NOT NULL,
    touchpoint VARCHAR
);
CREATE TABLE IF NOT EXISTS _jm_stage_touches (
    framework VARCHAR NOT NULL, person_no BIGINT NOT NULL, step INTEGER NOT NULL,
    level INTEGER NOT NULL, hours DOUBLE, touchpoint VARCHAR
);
CREATE TABLE IF NOT EXISTS _jm_journey_touchpoints (
    framework VARCHAR NOT NULL, person_no BIGINT NOT NULL, step INTEGER NOT NULL,
    source VARCHAR NOT NULL, channel VARCHAR NOT NULL, events BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS _jm_path_items (
    framework VARCHAR NOT NULL, person_no BIGINT NOT NULL, flow VARCHAR NOT NULL,
    session_no BIGINT NOT NULL,
    step BIGINT NOT NULL, item VARCHAR NOT NULL, is_gap BOOLEAN NOT NULL,
    occurred_at TIMESTAMPTZ
);
