-- paths (CONTRACT §8): the items of every path, numbered. grain: one item of one path (a path
-- is (person_no, session_no)); with collapse, a run of the same item is its first event.
-- Columns: person_no, session_no, item, occurred_at, pos (1-based, in (occurred_at, event_id)
-- order). Read by edges.sql; the anchors (start, end) do not change these rows, so the
-- dashboard's two flows share them.
-- Snippets: events = the scope's events (events_person.sql or events_session.sql); item = the
-- item expression (NULL drops the event); item_name = the item's text from `item` (stages are
-- numbered through the windows and named at the end: an integer is cheaper to carry through
-- two sorts of every event than the name, 4.2 against 3.6 s at 10M events); keep_run = the
-- collapse filter.
-- Parameters: those of the events and of the item expression.
WITH events AS MATERIALIZED (
    SELECT person_no, session_no, event_id, source, occurred_at, item
    FROM (SELECT *, [[item]] AS item FROM ([[events]]))
    WHERE item IS NOT NULL
),
ordered AS (
    SELECT
        *,
        lag(item) OVER (PARTITION BY person_no, session_no ORDER BY occurred_at, event_id, source)
            AS previous_item
    FROM events
)
SELECT
    person_no, session_no, [[item_name]] AS item, occurred_at,
    row_number() OVER (PARTITION BY person_no, session_no ORDER BY occurred_at, event_id, source)
        AS pos
FROM ordered
WHERE [[keep_run]]
