"""Readers that turn a source file into the `raw_records` table the staging models read."""
