-- funnel exits (issue 11, item 3): for each stage k before the last, the persons whose level is
-- k (they reached stage k but not k + 1, on the attempt the funnel uses: the latest-starting
-- attempt of maximal level, or the first attempt with --entry first), split by their last
-- touchpoint before leaving.
-- The last touchpoint before leaving: among the person's events with time in
-- [step-k time, attempt start + window] (and at or before as_of) that are activity, or that are
-- at the step-k time and match stage k (so the step-k event itself always counts), the last one
-- by (occurred_at, event_id). Touchpoint: source, channel ('(none)' when there is none) and the
-- campaign, else the URL path of a page_view, else `screen <name>` of a screen_view, else the
-- event name, joined by ' · '.
-- grain: person. Parameters: as_of, window_us, the stage rule values.
-- These CTEs follow the funnel's own CTEs (metrics/exits.py puts them together) and end in
-- `last_touch` (person_no, step, touchpoint: one row per person who left), which
-- funnel_exits.sql counts; `run` keeps its rows for the dashboard (person_rows.py,
-- `_jm_exit_touches`). Snippets (named without brackets): reached_at = the step time of the
-- person's level; stage_match = the stage-k rule of each step; last_step = the number of stages;
-- events = fct_events, or the events of some persons.
exit_persons AS MATERIALIZED (
    SELECT person_no, level AS step, start_at, [[reached_at]] AS reached_at
    FROM chain
    WHERE level < [[last_step]]
),
candidates AS (
    SELECT
        x.person_no, x.step, e.source, e.channel, e.campaign, e.event_name, e.event_id,
        e.occurred_at, e.properties
    FROM exit_persons AS x
    JOIN [[events]] AS e ON e.person_no = x.person_no
    WHERE e.occurred_at >= x.reached_at
      AND jm_within(e.occurred_at, x.start_at, $window_us)
      AND e.occurred_at <= $as_of
      AND (jm_is_activity(e.event_name) OR (e.occurred_at = x.reached_at AND [[stage_match]]))
),
last_touch AS MATERIALIZED (
    -- the touchpoint text of the last candidate by arg_max (a row_number window over the
    -- candidates sorted their wide rows: 2.65 against 2.25 s at 10M events)
    SELECT
        person_no, any_value(step) AS step,
        arg_max(source || ' · ' || coalesce(channel, '(none)') || ' · ' || coalesce(
            nullif(campaign, ''),
            CASE WHEN event_name = 'page_view' THEN jm_page_path(properties) END,
            -- an app screen is named by its screen (CONTRACT §1: screen name -> `screen`)
            CASE WHEN event_name = 'screen_view'
                 THEN 'screen ' || nullif(json_extract_string(properties, '$.screen'), '') END,
            event_name), (occurred_at, event_id, source)) AS touchpoint
    FROM candidates
    GROUP BY person_no
)
