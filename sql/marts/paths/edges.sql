-- paths (CONTRACT §8): one row per edge (step, source, target) of the paths (a CTE list that
-- continues path_items.sql's, or a CTE `path_items` of the rows `run` keeps).
-- grain: step x source x target. A path is (person_no, session_no).
-- Parameters: top (K) and the labels other_label and end_label.
-- per step, the K items most paths have there (ties: item name); the gap is not ranked
ranked AS (
    SELECT
        step, item,
        row_number() OVER (PARTITION BY step ORDER BY count(*) DESC, item) AS item_rank
    FROM path_items
    WHERE NOT is_gap
    GROUP BY step, item
),
labelled AS (
    SELECT
        p.person_no, p.session_no, p.step, p.is_gap, p.occurred_at,
        CASE WHEN p.is_gap OR k.item_rank <= $top THEN p.item ELSE $other_label END AS label
    FROM path_items AS p
    LEFT JOIN ranked AS k ON k.step = p.step AND k.item = p.item AND NOT p.is_gap
),
edges AS (
    SELECT
        person_no, step, label AS source,
        lead(label, 1, $end_label) OVER path AS target,
        jm_hours_between(occurred_at, lead(occurred_at) OVER path) AS hours
    FROM labelled
    WINDOW path AS (PARTITION BY person_no, session_no ORDER BY step)
)
SELECT
    step,
    source,
    target,
    count(*) AS paths,
    count(DISTINCT person_no) AS persons,
    count(*) / sum(CASE WHEN step = 1 THEN count(*) ELSE 0 END) OVER () AS share,
    quantile_cont(hours, 0.5) AS median_hours
FROM edges
GROUP BY step, source, target
ORDER BY step, paths DESC, source, target
