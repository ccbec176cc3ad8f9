-- paths (CONTRACT §8): one row per edge (step, source, target) of the paths.
-- grain: step x source x target. A path is (person_no, session_no).
-- Parameters: steps (N), top (K), head_items = ceil((N-1)/2) and tail_items = floor((N-1)/2)
-- (the elision split), the labels gap_label, other_label and end_label, and the values the
-- snippets refer to (start_item, end_item, stage_names, stage rule values, as_of, from_at, to_at).
-- Snippets (filled by metrics/paths.py, named here without their brackets): runs = the items
-- of every path (runs.sql, or a table of them shared by several queries of the same items);
-- start_pos, end_pos = the anchors; lo, hi, elided = the kept window of positions.
WITH runs AS MATERIALIZED (
    [[runs]]
),
starts AS MATERIALIZED (
    SELECT person_no, session_no, [[start_pos]] AS start_pos, max(pos) AS last_pos
    FROM runs
    GROUP BY person_no, session_no
),
bounds AS MATERIALIZED (
    SELECT s.person_no, s.session_no, s.start_pos, s.last_pos, [[end_pos]] AS end_pos
    FROM starts AS s
    JOIN runs AS r USING (person_no, session_no)
    WHERE s.start_pos IS NOT NULL
    GROUP BY s.person_no, s.session_no, s.start_pos, s.last_pos
),
windows AS MATERIALIZED (
    SELECT person_no, session_no, [[lo]] AS lo, [[hi]] AS hi, [[elided]] AS elided
    FROM bounds
    WHERE end_pos IS NOT NULL
),
path_items AS MATERIALIZED (
    SELECT
        r.person_no, r.session_no,
        CASE WHEN NOT w.elided OR r.pos < w.lo + $head_items THEN r.pos - w.lo + 1
             ELSE $head_items + 1 + r.pos - (w.hi - $tail_items) END AS step,
        r.item, false AS is_gap, r.occurred_at
    FROM runs AS r
    JOIN windows AS w USING (person_no, session_no)
    WHERE r.pos BETWEEN w.lo AND w.hi
      AND (NOT w.elided OR r.pos < w.lo + $head_items OR r.pos > w.hi - $tail_items)
    UNION ALL
    SELECT person_no, session_no, $head_items + 1, $gap_label, true, NULL::TIMESTAMPTZ
    FROM windows
    WHERE elided
),
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
