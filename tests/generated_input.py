"""Generated input (journey_metrics_synth) cut by day: the files of the days before a date.

The generator files web and email events by the day they arrive and CRM rows by month, with the
days starting on 2026-01-05: the files before a month's first day hold the events before it.
`copy_shifted` moves every time of an input folder a whole number of days later;
`rewrite_json_lines` changes the messages of a JSON-lines file (both used to derive other input)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

_DAY = re.compile(r"(\d{4}-\d{2})(-\d{2})?")


def before(name: str, day: str) -> bool:
    """Whether a generated file (named by its day, or by its month for CRM) ends before `day`
    (YYYY-MM-DD)."""
    found = _DAY.search(name)
    assert found, f"generated file without a date in its name: {name}"
    month, of_month = found.groups()
    return f"{month}{of_month}" < day if of_month else f"{month}-31" < day


def copy_before(source: Path, target: Path, day: str) -> Path:
    """Copy the files of `source` (an input folder) that end before `day` into `target` (those
    of its source folders: not the manifest of a generated folder beside them)."""
    for path in source.rglob("*/*"):
        if path.is_file() and before(path.name, day):
            copied = target / path.relative_to(source)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, copied)
    return target


# --- the same input a whole number of days later --------------------------------------------------

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
_EPOCH_MS = re.compile(r"\d{13}")
_WEB_TIMES = ("timestamp", "sentAt", "receivedAt", "originalTimestamp")
_CRM_TIMES = ("createdate", "closedate", "hs_submission_timestamp")


def shift_text(value: object, days: int) -> object:
    """An ISO 8601 date or instant `days` later in the same form (its clock time and offset
    kept), an epoch-milliseconds text likewise; anything else as it is."""
    if isinstance(value, str) and _ISO.fullmatch(value):
        return (date.fromisoformat(value[:10]) + timedelta(days=days)).isoformat() + value[10:]
    if isinstance(value, str) and _EPOCH_MS.fullmatch(value):
        return str(int(value) + days * 86_400_000)
    return value


def _shift_message(message: object, days: int) -> object:
    if isinstance(message, dict):
        for key in _WEB_TIMES:
            if key in message:
                message[key] = shift_text(message[key], days)
        seconds = message.get("timestamp")  # SendGrid: Unix seconds
        if isinstance(seconds, int) and not isinstance(seconds, bool):
            message["timestamp"] = seconds + days * 86_400
    return message


def rewrite_json_lines(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """Rewrite a JSON-lines file with `change` applied to each line's object; a line that is not
    a JSON object (the generator's broken lines) stays as it is."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if isinstance(message, dict):
            change(message)
            line = json.dumps(message)
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _shift_csv(raw: bytes, days: int) -> bytes:
    bom = raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    dates = [i for i, name in enumerate(rows[0]) if name in _CRM_TIMES
             or (name.startswith("hs_lifecyclestage_") and name.endswith("_date"))]
    for row in rows[1:]:
        for i in dates:
            if i < len(row):
                row[i] = str(shift_text(row[i], days))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return (codecs.BOM_UTF8 if bom else b"") + out.getvalue().encode("utf-8")


def copy_shifted(source: Path, target: Path, days: int) -> Path:
    """Copy an input folder with every time its sources read `days` later: web message times,
    SendGrid timestamps, CRM dates (in the form each was written in)."""
    shutil.copytree(source, target)
    for path in sorted(target.rglob("*")):
        if path.suffix == ".jsonl":
            rewrite_json_lines(path, lambda message: _shift_message(message, days))
        elif path.suffix == ".json":
            try:
                elements = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue
            if isinstance(elements, list):
                path.write_text(json.dumps([_shift_message(m, days) for m in elements]),
                                encoding="utf-8")
        elif path.suffix == ".csv":
            path.write_bytes(_shift_csv(path.read_bytes(), days))
    return target
