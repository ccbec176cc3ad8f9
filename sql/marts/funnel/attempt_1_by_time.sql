-- --trend by time (disjoint stages: stage_events_by_time.sql), steps 1 and 2: the attempts that
-- can be chosen per person and entry period. trend_summary.sql counts, per person and period, the
-- level of the chosen attempt: the first (--entry first) or the best (highest level). So:
-- * first: each person's earliest stage-1 event in [from, to) of the period;
-- * best: of the stage-1 events of one period followed by the same first stage-2 event
--   (`next_2`), only the latest: an earlier one reaches that event only if the later one does
--   (its window ends sooner), and from there both continue with the same events, so its level
--   is never higher.
-- `entered`: the kept starts; `attempt_2`: each with its level so far (t_last: the time of the
-- attempt's last step, NULL once it stopped). The period is computed once per start and carried
-- along. grain: attempt.
-- Parameters: from_at, to_at, tz, period, window_us. [[entry_best]]: true or false.
starts AS MATERIALIZED (
    SELECT s.person_no, jm_period_start(s.occurred_at, $tz, $period) AS period,
        s.occurred_at AS start_at, n.occurred_at AS next_2
    FROM (SELECT person_no, occurred_at FROM stage_events
          WHERE m1 AND occurred_at >= $from_at AND occurred_at < $to_at) AS s
    ASOF LEFT JOIN (SELECT person_no, occurred_at FROM stage_events WHERE m2) AS n
        ON s.person_no = n.person_no AND s.occurred_at <= n.occurred_at
),
entered AS (
    SELECT person_no, period, max(start_at) AS start_at, next_2
    FROM starts WHERE [[entry_best]] GROUP BY person_no, period, next_2
    UNION ALL
    SELECT person_no, period, min(start_at), arg_min(next_2, start_at)
    FROM starts WHERE NOT [[entry_best]] GROUP BY person_no, period
),
attempt_2 AS MATERIALIZED (
    SELECT person_no, period, start_at,
        CASE WHEN jm_within(next_2, start_at, $window_us) THEN next_2 END AS t_last,
        CASE WHEN jm_within(next_2, start_at, $window_us) THEN 2 ELSE 1 END AS level
    FROM entered
)
