-- Person map and persons for the relabelled components (jm_labels, jm_old_persons).

-- person_id: from the component's smallest node. person_no: a dense-ish integer per person for
-- fast sorts and joins; a surviving id keeps its number, a new id gets the next free one.
CREATE OR REPLACE TEMP TABLE jm_new_map AS
WITH ids AS (
    SELECT n.node, 'p_' || left(sha256(c.node), 16) AS person_id
    FROM jm_labels AS l
    JOIN jm_nodes AS n ON n.node_rank = l.node
    JOIN jm_nodes AS c ON c.node_rank = l.label
),
new_ids AS (
    SELECT DISTINCT i.person_id
    FROM ids AS i
    WHERE i.person_id NOT IN (SELECT person_id FROM jm_old_persons)
),
numbered AS (
    SELECT person_id,
           (SELECT coalesce(max(person_no), 0) FROM _jm_person_map)
               + row_number() OVER (ORDER BY person_id) AS person_no
    FROM new_ids
    UNION ALL
    SELECT person_id, person_no FROM jm_old_persons
)
SELECT i.node, i.person_id, n.person_no, k.node_no
FROM ids AS i
JOIN numbered AS n USING (person_id)
LEFT JOIN _jm_nodes AS k USING (node);  -- (a node without a number: the next stitch maps all)

DELETE FROM _jm_person_map WHERE node IN (SELECT node FROM jm_new_map);

INSERT INTO _jm_person_map
SELECT node, person_id, person_no, node_no FROM jm_new_map ORDER BY node;

CREATE OR REPLACE TEMP TABLE jm_changed_persons AS
SELECT person_id FROM jm_old_persons
UNION
SELECT DISTINCT person_id FROM jm_new_map;

DELETE FROM persons WHERE person_id IN (SELECT person_id FROM jm_changed_persons);

-- A person's channel is the channel of their earliest event that has one (CONTRACT §2);
-- first_seen_at is their earliest event of any kind. Persons without events have no row.
INSERT INTO persons
SELECT
    any_value(m.person_id) AS person_id,
    coalesce(arg_min(e.channel, (e.occurred_at, e.event_id, e.source)) FILTER (WHERE e.channel IS NOT NULL),
             '(none)') AS channel,
    min(e.occurred_at) AS first_seen_at,
    m.person_no
FROM events AS e
JOIN jm_new_map AS m ON m.node_no = e.node_no
GROUP BY m.person_no
ORDER BY person_id;

DELETE FROM _jm_pending_nodes;
