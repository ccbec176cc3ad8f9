"""Writing files: the output folders, one text file per day or month, gzip afterwards (each only
what the folder's manifest says generate wrote)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import polars as pl

from journey_metrics_synth import manifest
from journey_metrics_synth.layout import Layout, OutputFile


def prepare_folders(out_dir: Path, layout: Layout) -> None:
    """Create the source folders and remove the files an earlier run listed in its manifest
    (they would mix with this run's). A file `run` would read that no run listed stops this
    one before anything is touched; other files are left alone."""
    ours = manifest.listed(out_dir, layout.folders)
    manifest.refuse_foreign_files(out_dir, layout, set(ours))
    for folder in layout.folders:
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    for relative in ours:
        if not (out_dir / relative).is_dir():
            (out_dir / relative).unlink(missing_ok=True)


def write_lines(path: Path, lines: pl.Series) -> None:
    """One line per value, each ended by a newline (an empty file for no values)."""
    if len(lines) == 0:
        path.write_bytes(b"")
        return
    pl.DataFrame({"l": lines}).write_csv(path, include_header=False, quote_style="never")


def write_json_array(path: Path, objects: pl.Series) -> None:
    """A JSON array with one object per line."""
    body = objects.str.join(",\n").item() if len(objects) else ""
    text = "[\n" + body + "\n]\n" if len(objects) else "[]\n"
    path.write_bytes(text.encode())


def write_monthly(
    df: pl.DataFrame, months: list[tuple[str, int, int]], out_dir: Path, kind: OutputFile
) -> int:
    """One CSV per month of the rows whose `_t` falls in it; months without rows get no file,
    except that a frame without any rows still gets one (the last month's). Returns the count."""
    files = 0
    for label, lo, hi in months:
        part = df.filter((pl.col("_t") >= lo) & (pl.col("_t") < hi)).drop("_t")
        if part.height == 0 and not (files == 0 and hi == months[-1][2]):
            continue
        part.write_csv(kind.path(out_dir, label))
        files += 1
    return files


def gzip_outputs(out_dir: Path) -> None:
    """Replace each file the manifest of `out_dir` lists (what `generate` wrote there) by its .gz
    (mtime 0, so the compressed bytes are the same for the same seed); the folder's other files
    are left as they are."""
    written = manifest.existing(out_dir, manifest.listed(out_dir, Layout.from_config().folders))
    plain = [r for r in written if not r.endswith(".gz")]
    # both names listed while compressing: a run stopped half-way leaves only files it lists
    both = [*written, *(f"{r}.gz" for r in plain)]
    manifest.record(out_dir, both)
    for relative in plain:
        path = out_dir / relative
        with path.open("rb") as src, gzip.GzipFile(
            path.with_name(path.name + ".gz"), "wb", mtime=0
        ) as dst:
            shutil.copyfileobj(src, dst)
        path.unlink()
    manifest.record(out_dir, manifest.existing(out_dir, both))
