-- files.parquet (CONTRACT §12 lake): the file manifest (what was read, when, with what outcome).
-- grain: file x load.
SELECT source, file_path, size_bytes, mtime_ns, sha256, status, reason, records, events,
       duplicates, quarantined, run_id, loaded_at
FROM _jm_files
ORDER BY loaded_at, source, file_path
