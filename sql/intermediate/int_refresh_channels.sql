-- Re-derive the stored channels with the current channel rules (TEMP macro jm_rules_channel),
-- when they differ from the rules the stored channels were computed with. Runs in one
-- transaction with the new fingerprint in _jm_meta (channels.py). Web events only: they carry a
-- referrer class; email and CRM channels are fixed.
UPDATE events
SET channel = jm_rules_channel(utm_medium, utm_source, campaign, referrer_class)
WHERE referrer_class IS NOT NULL
  AND channel IS DISTINCT FROM jm_rules_channel(utm_medium, utm_source, campaign, referrer_class);

-- A person's channel is the channel of their earliest event that has one (CONTRACT §2).
CREATE OR REPLACE TEMP TABLE jm_person_channels AS
SELECT
    m.person_id,
    coalesce(arg_min(e.channel, (e.occurred_at, e.event_id, e.source)) FILTER (WHERE e.channel IS NOT NULL),
             '(none)') AS channel
FROM events AS e
JOIN _jm_person_map AS m ON m.node_no = e.node_no
GROUP BY m.person_id;

UPDATE persons
SET channel = c.channel
FROM jm_person_channels AS c
WHERE persons.person_id = c.person_id AND persons.channel <> c.channel;

DROP TABLE jm_person_channels
