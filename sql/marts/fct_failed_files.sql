-- Files whose latest load failed, with the reason (shown in the report header).
SELECT source, file_path, reason
FROM _jm_files
QUALIFY row_number() OVER (PARTITION BY source, file_path ORDER BY loaded_at DESC) = 1
    AND status = 'failed'
ORDER BY source, file_path
