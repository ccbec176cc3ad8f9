-- quarantine.parquet (CONTRACT §12 lake): the records that could not become events, with why
-- (raw text has emails redacted at load). grain: quarantined record.
SELECT source, file_path, record_no, reason, raw, raw_hash, run_id
FROM _jm_quarantine
ORDER BY source, file_path, record_no, run_id
