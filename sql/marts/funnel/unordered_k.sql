-- --order unordered (PostHog's unordered funnel), stage [[k]]: the first event matching stage
-- [[k]] at or after the attempt's start; the attempt has the stage when that event lies at most
-- the window after the start (inclusive). The start event itself counts for every stage it
-- matches. grain: attempt. Parameters: window_us.
unordered_[[k]] AS MATERIALIZED (
    SELECT a.*, coalesce(jm_within(s.occurred_at, a.start_at, $window_us), false) AS h[[k]]
    FROM unordered_[[prev]] AS a
    ASOF LEFT JOIN (SELECT person_no, occurred_at FROM stage_events WHERE m[[k]]) AS s
        ON a.person_no = s.person_no AND a.start_at <= s.occurred_at
)
