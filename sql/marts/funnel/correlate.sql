-- funnel --correlate (CONTRACT §7): per group and item, the entrants who had the item at or
-- before as_of, split into converters (level = last stage) and the rest, plus the group totals
-- (item NULL). Items: activity event names no rule of the framework names, and
-- trait:<name>=<value> from the TEMP table correlate_traits (person_id, trait, value).
-- grain: group x item. Parameters: as_of, named_events, stage_count. Items fewer than 25
-- entrants had are left out.
entrants AS MATERIALIZED (
    SELECT c.person_no, p.person_id, p.group_name, c.level = $stage_count AS converted
    FROM chain AS c
    JOIN population AS p USING (person_no)
    WHERE c.level >= 1
),
person_items AS MATERIALIZED (
    SELECT DISTINCT person_no, event_name AS item
    FROM fct_events
    WHERE occurred_at <= $as_of
      AND jm_is_activity(event_name)
      -- leaving is not activity either (CONTRACT §4)
      AND event_name NOT IN ('email_unsubscribe', 'email_group_unsubscribe', 'email_spamreport')
      AND NOT list_contains($named_events::VARCHAR[], event_name)
      AND person_no IN (SELECT person_no FROM entrants)
),
trait_items AS MATERIALIZED (
    SELECT DISTINCT person_id, 'trait:' || trait || '=' || value AS item
    FROM correlate_traits
    WHERE value IS NOT NULL
),
persons_in AS (SELECT DISTINCT person_no, person_id FROM entrants),
items AS MATERIALIZED (
    SELECT person_no, item FROM person_items
    UNION
    SELECT pi.person_no, t.item FROM trait_items AS t JOIN persons_in AS pi USING (person_id)
)
SELECT e.group_name, i.item,
    count(*) FILTER (WHERE e.converted) AS converters,
    count(*) FILTER (WHERE NOT e.converted) AS non_converters
FROM entrants AS e
JOIN items AS i USING (person_no)
GROUP BY e.group_name, i.item
HAVING count(*) >= 25  -- only items at least 25 entrants had
UNION ALL
SELECT group_name, NULL AS item,
    count(*) FILTER (WHERE converted), count(*) FILTER (WHERE NOT converted)
FROM entrants
GROUP BY group_name
ORDER BY 1, 2 NULLS FIRST
