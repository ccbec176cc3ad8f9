-- Spark SQL bodies for the macros of sql/macros.sql whose DuckDB body has no faithful sqlglot
-- translation (engines/spark.py substitutes macro bodies before translating; these win).
-- Same names, parameters and meaning; written in Spark's dialect. (Not a `.spark.sql` variant: those
-- replace a file; these replace single macros.)

-- DuckDB: date_trunc(period, timezone(tz, ts))::DATE. Spark: jm_local_time gives the wall clock
-- in `tz` (the session is UTC) with the offsets of DuckDB's zone database, not Java's (zones.py);
-- date_trunc('WEEK') starts on Monday as in DuckDB. The unit is spelled out per period: sqlglot
-- would read a unit argument as a keyword, not a value.
CREATE OR REPLACE TEMP MACRO jm_period_start(ts, tz, period) AS (
    CASE lower(period)
        WHEN 'day' THEN CAST(jm_local_time(ts, tz) AS DATE)
        WHEN 'week' THEN CAST(date_trunc('WEEK', jm_local_time(ts, tz)) AS DATE)
        WHEN 'month' THEN CAST(date_trunc('MONTH', jm_local_time(ts, tz)) AS DATE)
        WHEN 'quarter' THEN CAST(date_trunc('QUARTER', jm_local_time(ts, tz)) AS DATE)
        WHEN 'year' THEN CAST(date_trunc('YEAR', jm_local_time(ts, tz)) AS DATE)
    END
);

-- DuckDB: date_diff in days (`// 7`: floor division) or calendar months between period starts.
CREATE OR REPLACE TEMP MACRO jm_periods_between(from_start, to_start, period) AS (
    CASE period
        WHEN 'day' THEN CAST(datediff(to_start, from_start) AS BIGINT)
        WHEN 'week' THEN CAST(floor(datediff(to_start, from_start) / 7) AS BIGINT)
        ELSE CAST(months_between(to_start, from_start) AS BIGINT)
    END
);

-- DuckDB: epoch_us (sql/macros.sql says why these are integer microseconds).
CREATE OR REPLACE TEMP MACRO jm_within(t, start, window_us) AS (
    unix_micros(t) <= unix_micros(start) + window_us
);

CREATE OR REPLACE TEMP MACRO jm_hours_between(t0, t1) AS (
    CAST(unix_micros(t1) - unix_micros(t0) AS DOUBLE) / 3600e6
);
