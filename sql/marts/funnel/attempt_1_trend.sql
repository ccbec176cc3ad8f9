-- --trend's step 1 for the ordered funnel without per-step windows or exclusions (DuckDB: an
-- ASOF join; Spark reads attempt_1.sql): only the stage-1 events whose attempts can be chosen
-- in their entry period (trend_summary.sql, `chosen` in metrics/funnel.py), instead of one
-- attempt per stage-1 event.
-- * first: the person's first stage-1 event of the period (the attempt --entry first counts);
-- * best: of the stage-1 events of one period followed by the same first stage-2 event
--   (`next_2`, by position), only the latest: each step of the earlier attempt is the same
--   event in the later one, whose window from its start ends later, so its level is at least
--   as high, and ties go to the later start.
-- grain: attempt (person_no, start_pos). Parameters: from_at, to_at, tz, period.
-- [[pick]]: max (best) or min (first); [[per]]: the grouping of the kept starts, beside
-- person_no: "period, next_2" (best) or "period" (first).
attempt_1 AS MATERIALIZED (
    SELECT person_no,
        [[pick]](start_pos) AS start_pos, arg_[[pick]](start_at, start_pos) AS start_at,
        [[pick]](start_pos) AS pos_1, arg_[[pick]](start_at, start_pos) AS t_1
    FROM (
        SELECT s.person_no, s.pos AS start_pos, s.occurred_at AS start_at,
            jm_period_start(s.occurred_at, $tz, $period) AS period, n.pos AS next_2
        FROM (SELECT person_no, pos, occurred_at FROM stage_events
              WHERE m1 AND occurred_at >= $from_at AND occurred_at < $to_at) AS s
        ASOF LEFT JOIN (SELECT person_no, pos FROM stage_events WHERE m2) AS n
            ON s.person_no = n.person_no AND s.pos < n.pos
    )
    GROUP BY person_no, [[per]]
)
