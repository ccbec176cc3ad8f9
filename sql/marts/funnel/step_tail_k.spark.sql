-- Spark only (CONTRACT §12): the steps of the chosen attempts, where DuckDB makes one ASOF join
-- per step (step_k.sql). tail_[[k]] gives every stage event the times of the steps [[k]]..n
-- of a chain whose step [[prev]] is that event ([[columns]]: after_[[k]]_j for j = [[k]]..n):
-- the time of the first later stage-[[k]] event, and that event's own later steps, read from
-- [[source]] (tail_k+1, or stage_events for the last stage). Each is a min over the later
-- stage-[[k]] events: positions follow occurred_at (stage_events.sql), and a later event's
-- greedy steps are never earlier than an earlier event's, nor present when its are absent, so
-- the first later event's values are the least. The frame runs over preceding rows in
-- descending order (a growing frame: Spark recomputes a frame that ends at UNBOUNDED FOLLOWING
-- for every row), and every tail has the same window, so Spark sorts the events once.
tail_[[k]] AS (
    SELECT *, [[columns]]
    FROM [[source]]
)
