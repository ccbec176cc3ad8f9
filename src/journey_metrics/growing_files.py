"""Files read while they were still being written: was a run's read cut inside a line?

A nightly run may find an export whose writer has not finished: its last line has no line end
yet, and a CSV row cut after `...,28` of `...,2850.00` still parses. That run loads what it read;
the next one re-reads the grown file (a changed file) and keeps the first version of each
event id (decision 194), so the cut row's wrong amount would stay without a word. The manifest
knows how many bytes the earlier read saw: when the byte before that point is no line end and
the one at it continues the same line, and the file's first bytes are still the ones that read
hashed (appended to, not rewritten), the earlier read ended inside that line. The run says so
(decision 205) and names the line (a physical line: a CSV field holding a line break makes it
later than the row's record number). A file compressed with gzip grows by whole members, and a
member cut short failed its earlier read (truncated gzip), so only plain files are looked at.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_LINE_ENDS = b"\r\n"
_CHUNK = 1 << 20


def line_cut_by_earlier_read(path: Path, earlier_size: int | None,
                             earlier_sha256: str) -> int | None:
    """The 1-based number of the line an earlier read of `earlier_size` bytes, whose content
    hash was `earlier_sha256`, ended inside; None when that read ended at a line end, the file
    did not grow, was rewritten rather than appended to (its first bytes are no longer what was
    read: a re-export of changed rows is no cut), is compressed, or cannot be read."""
    if not earlier_size or not earlier_sha256 or path.name.endswith(".gz"):
        return None
    try:
        with path.open("rb") as handle:
            handle.seek(earlier_size - 1)
            around = handle.read(2)
            if len(around) < 2 or around[0] in _LINE_ENDS or around[1] in _LINE_ENDS:
                return None
            # only here (rare): was the file appended to, and on which line did the read end
            handle.seek(0)
            digest, newlines, returns, left = hashlib.sha256(), 0, 0, earlier_size
            while left > 0:
                block = handle.read(min(_CHUNK, left))
                if not block:
                    break
                digest.update(block)
                newlines += block.count(b"\n")
                returns += block.count(b"\r")
                left -= len(block)
    except OSError:
        return None  # the read that follows reports an unreadable file
    if digest.hexdigest() != earlier_sha256:
        return None
    return 1 + (newlines or returns)  # a file of lone CRs (a Mac spreadsheet) counts those
