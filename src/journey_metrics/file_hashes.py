"""Content hashes of input files, computed ahead of the loader on a background thread.

A changed or new file is hashed before it is read (the manifest keeps the hash, and a file whose
mtime changed but whose content did not is skipped by it). Hashing in line with the loading was
serial work: 3.8-5.5 s of a 10M-event load's wall time, with DuckDB waiting. hashlib releases the
GIL while it digests, so one thread hashing the next files runs beside DuckDB's reading and
staging of the current ones (decision 108).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class HashesAhead:
    """Hash `paths` in order on one background thread; `sha256(path)` waits for its digest.

    A path not handed over is hashed when asked. An error (a file removed or unreadable
    meanwhile) is raised by `sha256` for that path alone. `close()` cancels the hashes nobody
    asked for (a run that stops early) and ends the thread."""

    def __init__(self, paths: list[Path]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jm-hash")
        self._pending: dict[Path, Future[str]] = {
            path: self._pool.submit(file_sha256, path) for path in paths
        }

    def sha256(self, path: Path) -> str:
        pending = self._pending.pop(path, None)
        return pending.result() if pending is not None else file_sha256(path)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
