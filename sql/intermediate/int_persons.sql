-- Person map, persons and sessions, rebuilt from the labelled identity graph (jm_labels).
-- person_no: a dense integer per person (in person_id order), for fast sorts and joins.
CREATE OR REPLACE TABLE _jm_person_map AS
WITH ids AS (SELECT node, 'p_' || left(sha256(label), 16) AS person_id FROM jm_labels)
SELECT node, person_id, dense_rank() OVER (ORDER BY person_id) AS person_no
FROM ids
ORDER BY node;

-- A person's channel is the channel of their earliest event that has one (CONTRACT §2);
-- first_seen_at is their earliest event of any kind.
CREATE OR REPLACE TABLE persons AS
SELECT
    person_id,
    coalesce(arg_min(channel, (occurred_at, event_id)) FILTER (WHERE channel IS NOT NULL),
             '(none)') AS channel,
    min(occurred_at) AS first_seen_at,
    any_value(person_no) AS person_no
FROM fct_events
GROUP BY person_id
ORDER BY person_id;

-- Sessions: a person's web events with gaps of at most 30 minutes; channel of the first event.
CREATE OR REPLACE TABLE sessions AS
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
        sum(CASE WHEN previous_at IS NULL OR occurred_at - previous_at > INTERVAL 30 MINUTE
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
GROUP BY person_id, session_no
ORDER BY person_id, session_no;
