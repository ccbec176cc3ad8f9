"""Which files of an output folder ``generate`` wrote: the list it keeps beside them.

A later run into the same folder removes only the files listed there, and refuses to start while
the source folders hold other files ``run`` would read with the synthetic ones: a folder of a
user's real exports is never deleted, overwritten, gzipped or mixed in (decision 230). (Not the
warehouse's manifest of loaded files: this one lists generated input.)
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path

from journey_metrics.errors import UsageError
from journey_metrics.hashing import without_emails
from journey_metrics_synth.layout import Layout

# A dot file at the top: the loader reads only the source folders and skips dot files in them.
MANIFEST = ".journey-metrics-generated"


def listed(out_dir: Path, folders: Collection[str]) -> list[str]:
    """The paths (relative, `folder/name`) the folder's manifest lists; none without one. Only a
    name directly in a source folder counts, so that an edited line cannot name another file."""
    path = out_dir / MANIFEST
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        folder, _, name = line.partition("/")
        if folder in folders and name not in ("", ".", "..") and not any(
            c in name for c in "/\\"
        ):
            out.append(line)
    return out


def record(out_dir: Path, relative: Iterable[str]) -> None:
    """Write the manifest: the paths sorted, one a line. Replaced in one step, so that a run
    stopped while writing it leaves the earlier list, not half of one."""
    text = "".join(f"{r}\n" for r in sorted(set(relative)))
    part = out_dir / f"{MANIFEST}.part"
    part.write_text(text, encoding="utf-8")
    os.replace(part, out_dir / MANIFEST)


def existing(out_dir: Path, relative: Iterable[str]) -> list[str]:
    """The paths of `relative` that are files in `out_dir` (what a finished step wrote)."""
    return [r for r in relative if (out_dir / r).is_file()]


def refuse_foreign_files(out_dir: Path, layout: Layout, ours: Collection[str]) -> None:
    """Stop (exit 2) when a source folder holds a file `run` would read that the manifest does
    not list: it would be read with the synthetic files, or overwritten by one of the same name.
    Files `run` would not read (notes.txt, dot files) stay where they are, unread."""
    sources = {f.folder: f.source for f in layout.files}
    for folder, source in sources.items():
        if not (out_dir / folder).is_dir():
            continue
        for path in sorted((out_dir / folder).iterdir(), key=lambda p: p.name):
            relative = f"{folder}/{path.name}"
            if (path.name.startswith(".") or path.is_dir() or relative in ours
                    or source.file_kind(path.name) is None):
                continue
            # the names as logs may keep them: no address in them (CONTRACT §1 Privacy)
            raise UsageError(without_emails(
                f"{out_dir} holds files generate did not write ({relative}): choose an empty "
                "or new folder"))
