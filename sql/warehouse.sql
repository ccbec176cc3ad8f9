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
    run_id         VARCHAR NOT NULL
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

-- Derived by stitching (rebuilt after every load).
CREATE TABLE IF NOT EXISTS _jm_person_map (
    node VARCHAR NOT NULL, person_id VARCHAR NOT NULL, person_no BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS persons (
    person_id VARCHAR NOT NULL, channel VARCHAR NOT NULL, first_seen_at TIMESTAMPTZ NOT NULL,
    person_no BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    person_id VARCHAR NOT NULL, session_no BIGINT NOT NULL, started_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ NOT NULL, channel VARCHAR NOT NULL, events BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS _jm_runs (
    run_id VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
    input_dir VARCHAR, summary JSON
);

CREATE TABLE IF NOT EXISTS _jm_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL);

-- Schema 2 added person_no (warehouses built before get the column; the next stitch fills it).
ALTER TABLE _jm_person_map ADD COLUMN IF NOT EXISTS person_no BIGINT;
ALTER TABLE persons ADD COLUMN IF NOT EXISTS person_no BIGINT;

-- Events with their person: what every metric reads.
CREATE OR REPLACE VIEW fct_events AS
SELECT e.*, m.person_id, m.person_no
FROM events AS e
JOIN _jm_person_map AS m ON m.node = e.person_key;
