-- Journey map touchpoints per person (issue 11, items 4 and 5): for each stage k the person
-- reached, the touchpoint of the event that made them reach it on the attempt the funnel uses:
-- the event at the step-k time matching stage k (the smallest event id when several do).
-- Touchpoint: as in funnel_exit_touches.sql (source · channel · campaign, else the page path of
-- a page_view, else the event name). So every person who reached stage k has exactly one
-- touchpoint there, and the touchpoints of a stage add up to its persons. Also the person's
-- level and the hours from step k to step k + 1 when they reached it.
-- grain: person x step. These CTEs follow the funnel's chain CTEs (metrics/exits.py chain_ctes)
-- and end in `touched`, which fct_journey_touchpoints.sql counts; `run` keeps its rows for the
-- dashboard (person_rows.py, `_jm_stage_touches`). Snippets (named without brackets):
-- reached_at = the step-k time by x.step; stage_match = the stage-k rule by x.step; next_at = the
-- step k + 1 time by x.step; events = fct_events, or the events of some persons.
-- Parameters: the stage rule values.
reached AS MATERIALIZED (
    SELECT person_no, level, step, [[reached_at]] AS reached_at, [[next_at]] AS next_at
    FROM (SELECT *, unnest(range(1, level + 1)) AS step FROM chain) AS x
),
touched AS MATERIALIZED (
    -- one row per person and step: the touchpoint text of the smallest event id, by arg_min
    -- (a row_number over the joined events made DuckDB carry their wide columns, properties
    -- included, through an arg_min of a struct: 3.5 against 2.5 s at 10M events)
    SELECT
        x.person_no, x.step, any_value(x.level) AS level,
        any_value(CASE WHEN x.level > x.step THEN jm_hours_between(x.reached_at, x.next_at) END)
            AS hours,
        arg_min(e.source || ' · ' || coalesce(e.channel, '(none)') || ' · ' || coalesce(
            nullif(e.campaign, ''),
            CASE WHEN e.event_name = 'page_view' THEN jm_page_path(e.properties) END,
            e.event_name), (e.event_id, e.source)) AS touchpoint
    FROM reached AS x
    JOIN [[events]] AS e
        ON e.person_no = x.person_no AND e.occurred_at = x.reached_at
    WHERE [[stage_match]]
    GROUP BY x.person_no, x.step
)
