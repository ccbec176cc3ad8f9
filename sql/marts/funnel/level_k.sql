-- Level [[k]]: an event matching stage [[k]] continues the latest-starting attempt that reached
-- stage [[prev]] at an earlier event (strictly before it: one event fills one step), if it lies
-- within that attempt's window (inclusive). Taking the latest start keeps the most window left,
-- so "some attempt reaches stage [[k]]" holds exactly when s[[k]]_pos is set somewhere; this is
-- the greedy chain of CONTRACT §4 computed as running maxima over one order, without joins.
SELECT
    *,
    CASE WHEN m[[k]] AND occurred_at <= p[[k]]_at + $window THEN p[[k]]_pos END AS s[[k]]_pos,
    CASE WHEN m[[k]] AND occurred_at <= p[[k]]_at + $window THEN p[[k]]_at END AS s[[k]]_at
FROM (
    SELECT
        *,
        max(s[[prev]]_pos) OVER preceding_events AS p[[k]]_pos,
        max(s[[prev]]_at) OVER preceding_events AS p[[k]]_at
    FROM level_[[prev]]
    WINDOW preceding_events AS (
        PARTITION BY person_id ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    )
)
