-- Satisfaction per period and group (CONTRACT §11 satisfaction). grain: group x period.
-- Each person's latest answer per survey (nps_response, csat_response, ces_response) in the
-- period counts once (ties: the larger event id, as in fct_nps.sql); answers outside the
-- survey's range (NPS 0-10, CSAT 1-5, CES 1-7) do not count. A period has a row for a group when
-- someone of the group answered any survey in it.
-- Parameters: as_of, tz, period. Groups and --where come from the TEMP view `population`.
WITH answers AS (
    SELECT
        e.person_id,
        e.event_name,
        jm_period_start(e.occurred_at, $tz, $period) AS period_start,
        jm_whole_number(json_extract_string(e.properties, '$.score')) AS score
    FROM fct_events AS e
    WHERE e.event_name IN ('nps_response', 'csat_response', 'ces_response')
      AND e.occurred_at <= $as_of
    QUALIFY row_number() OVER (
        PARTITION BY e.person_id, e.event_name, jm_period_start(e.occurred_at, $tz, $period)
        ORDER BY e.occurred_at DESC, e.event_id DESC, e.source DESC
    ) = 1
),
valid AS (
    SELECT *
    FROM answers
    WHERE (event_name = 'nps_response' AND score BETWEEN 0 AND 10)
       OR (event_name = 'csat_response' AND score BETWEEN 1 AND 5)
       OR (event_name = 'ces_response' AND score BETWEEN 1 AND 7)
)
SELECT
    p.group_name,
    strftime(a.period_start, '%Y-%m-%d') AS period,
    count(*) FILTER (WHERE a.event_name = 'nps_response') AS nps_respondents,
    count(*) FILTER (WHERE a.event_name = 'nps_response' AND a.score >= 9) AS nps_promoters,
    count(*) FILTER (WHERE a.event_name = 'nps_response' AND a.score <= 6) AS nps_detractors,
    count(*) FILTER (WHERE a.event_name = 'csat_response') AS csat_respondents,
    count(*) FILTER (WHERE a.event_name = 'csat_response' AND a.score >= 4) AS csat_satisfied,
    count(*) FILTER (WHERE a.event_name = 'ces_response') AS ces_respondents,
    coalesce(sum(a.score) FILTER (WHERE a.event_name = 'ces_response'), 0)::BIGINT AS ces_total
FROM valid AS a
JOIN population AS p USING (person_id)
GROUP BY p.group_name, a.period_start
ORDER BY p.group_name <> 'all', p.group_name, period
