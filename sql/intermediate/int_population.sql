-- int_population: the persons a metric counts, each with the groups it counts them in
-- (CONTRACT §6). grain: person x group. Every person who passes the `--where` conditions has a
-- row in group 'all'; with `--by`, a second row in the group of their value ('(none)' when they
-- have none), so a metric grouped by group_name gives `all` and groups that add up to it.
-- A value `all` is the group $value_all (segments.VALUE_ALL), not everybody's `all`.
-- Columns: person_id, person_no (the integer id the funnel joins on), group_name.
-- Parameters: as_of (the persons seen by then; campaigns as of then); the --by trait and --where
-- pairs (metrics/segments.py).
-- group_value snippet: the --by expression over `p` (persons), `c` (first campaign or channel at
-- as_of), `t` (traits).
-- first_values snippet: int_first_campaigns.sql when grouping by campaign, int_first_channels.sql
-- when grouping by channel with events after as_of, else an empty relation.
-- Made once per command into the TEMP table population_rows, which the TEMP view population
-- shows (metrics/segments.py; without --where and with --by channel or none, and over the
-- warehouse's own persons table, int_population_persons.sql is the view instead); every mart
-- joins population.
WITH first_values AS MATERIALIZED ([[first_values]]),
kept AS MATERIALIZED (
    SELECT p.person_id, [[group_value]] AS group_value
    FROM persons AS p
    LEFT JOIN first_values AS c USING (person_id)
    [[trait_join]]
    -- a person first seen after as_of does not exist yet (CONTRACT §4: events after as_of are
    -- ignored): in no group, so a group of such persons only (their channel, campaign or trait
    -- at as_of is none) is not listed with empty rows
    WHERE p.first_seen_at <= $as_of AND [[where]]
),
numbered AS MATERIALIZED (
    -- person_no where the persons table has it (hand-built test tables may not)
    SELECT k.person_id, n.* EXCLUDE (person_id), k.group_value
    FROM kept AS k
    JOIN (SELECT COLUMNS(lambda c: c IN ('person_id', 'person_no')) FROM persons) AS n USING (person_id)
)
SELECT * EXCLUDE (group_value), 'all' AS group_name FROM numbered
UNION ALL
SELECT * EXCLUDE (group_value),
    CASE WHEN group_value = 'all' THEN $value_all ELSE coalesce(group_value, '(none)') END
FROM numbered WHERE [[grouped]]
