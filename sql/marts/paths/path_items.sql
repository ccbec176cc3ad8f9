-- paths (CONTRACT §8): the kept items of every path, numbered by step (a CTE list ending in
-- `path_items`, which edges.sql reads). grain: one item of one path; a path is (person_no,
-- session_no). Columns of path_items: person_no, session_no, step, item, is_gap (the elided
-- middle `…`), occurred_at. A path's items depend on its own events only, so `run` keeps the
-- dashboard flows' items per person (person_rows.py, `_jm_path_items`).
-- Parameters: steps (N), head_items = ceil((N-1)/2) and tail_items = floor((N-1)/2) (the
-- elision split), gap_label, and the values the snippets refer to (start_item, end_item,
-- stage_names, stage rule values, as_of, from_at, to_at).
-- Snippets (filled by metrics/paths.py, named here without their brackets): runs = the items
-- of every path (runs.sql, or a table of them shared by several queries of the same items);
-- start_pos, end_pos = the anchors; lo, hi, elided = the kept window of positions.
runs AS MATERIALIZED (
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
)
