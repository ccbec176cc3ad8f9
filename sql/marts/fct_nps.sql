-- NPS per period and group (CONTRACT §4 NPS). grain: group x period.
-- Each person's latest nps_response in the period counts once (ties: the larger event id).
-- Parameters: $as_of, $tz, $period. Groups and --where come from the TEMP view `population`.
WITH answers AS (
    SELECT
        e.person_id,
        jm_period_start(e.occurred_at, $tz, $period) AS period_start,
        jm_whole_number(json_extract_string(e.properties, '$.score')) AS score
    FROM fct_events AS e
    WHERE e.event_name = 'nps_response' AND e.occurred_at <= $as_of
    QUALIFY row_number() OVER (
        PARTITION BY e.person_id, jm_period_start(e.occurred_at, $tz, $period)
        ORDER BY e.occurred_at DESC, e.event_id DESC, e.source DESC
    ) = 1
)
SELECT
    p.group_name,
    strftime(a.period_start, '%Y-%m-%d') AS period,
    count(*) AS respondents,
    count(*) FILTER (WHERE a.score >= 9) AS promoters,
    count(*) FILTER (WHERE a.score BETWEEN 7 AND 8) AS passives,
    count(*) FILTER (WHERE a.score <= 6) AS detractors
FROM answers AS a
JOIN population AS p USING (person_id)
WHERE a.score BETWEEN 0 AND 10
GROUP BY p.group_name, a.period_start
ORDER BY p.group_name <> 'all', p.group_name, period
