-- Channels derived on the fly (CONTRACT §2 custom channel groups): created as TEMP views on a
-- read-only connection whose channel rules differ from the ones the stored channels were computed
-- with (channels.py). They shadow the warehouse's `fct_events` and `persons` (and so `sessions`,
-- which reads `fct_events`) for this connection only; the next `run` stores the new channels.
-- [[catalog]] is the warehouse's quoted catalog name.

-- A web event (it has a referrer class) gets the channel of the current rules.
CREATE OR REPLACE TEMP VIEW fct_events AS
SELECT
    e.* REPLACE (
        CASE WHEN e.referrer_class IS NULL THEN e.channel
             ELSE jm_rules_channel(e.utm_medium, e.utm_source, e.campaign, e.referrer_class)
        END AS channel
    ),
    m.person_id,
    m.person_no
FROM [[catalog]].main.events AS e
JOIN [[catalog]].main._jm_person_map AS m ON m.node_no = e.node_no;

-- A person's channel: the channel of their earliest event that has one, else (none).
CREATE OR REPLACE TEMP VIEW persons AS
WITH earliest AS (
    SELECT
        person_id,
        arg_min(channel, (occurred_at, event_id, source)) FILTER (WHERE channel IS NOT NULL) AS channel
    FROM fct_events
    GROUP BY person_id
)
SELECT p.person_id, coalesce(c.channel, '(none)') AS channel, p.first_seen_at, p.person_no
FROM [[catalog]].main.persons AS p
LEFT JOIN earliest AS c USING (person_id);
