-- The relations the marts read, over a lake folder (CONTRACT §12; engines/lake.py registers the
-- datasets as lake_events, lake_persons, lake_traits with every column present and typed).
-- The same names as in the warehouse (sql/warehouse.sql), so a mart runs unchanged on both.
-- Written in the portable subset: DuckDB runs it as it is, Spark after sqlglot translation.
CREATE OR REPLACE TEMP VIEW fct_events AS SELECT * FROM lake_events;
CREATE OR REPLACE TEMP VIEW events AS SELECT * FROM lake_events;
CREATE OR REPLACE TEMP VIEW persons AS SELECT * FROM lake_persons;
CREATE OR REPLACE TEMP VIEW fct_traits AS SELECT * FROM lake_traits;
