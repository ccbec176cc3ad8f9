"""Where the generated files go and what they are called, read from the source configs.

The folders, file-name patterns and CRM column names are those of ``config/sources/*.yaml``
(`journey_metrics.config.load_sources`), so generated input always matches what ``run`` reads.
The generator only adds a stem where a pattern has none (``*.jsonl`` -> ``events-<day>.jsonl``)
and the columns real exports carry that the pipeline does not read (names, phone numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from journey_metrics.config import FileKind, SourceConfig, load_sources

_STAGE_DATE = re.compile(r"^hs_lifecyclestage_([a-z]+)_date$")


@dataclass(frozen=True)
class OutputFile:
    """One kind of generated file: its source folder and how its files are named."""

    source: SourceConfig
    kind: FileKind
    stem: str  # the name's start when the pattern starts with `*`

    @property
    def folder(self) -> str:
        return self.source.folder

    def name(self, label: str) -> str:
        """The file of `label`: `contacts*.csv` -> `contacts-2026-01.csv`, `*.jsonl` ->
        `events-2026-01-05.jsonl`, `deals_*.csv` -> `deals_2026-01.csv`."""
        head, tail = self.kind.pattern.split("*")
        if not head.endswith(("-", "_")):
            head = f"{head or self.stem}-"
        return f"{head}{label}{tail}"

    def path(self, out_dir: Path, label: str) -> Path:
        return out_dir / self.folder / self.name(label)

    def relative(self, label: str) -> str:
        """The file of `label` as the manifest of generated files lists it: `folder/name`."""
        return f"{self.folder}/{self.name(label)}"

    @property
    def columns(self) -> list[str]:
        return self.kind.columns


def _output(source: SourceConfig, model: str, stem: str, suffix: str = "") -> OutputFile:
    kinds = [k for k in source.files if k.model == model and k.pattern.endswith(suffix)]
    if len(kinds) != 1:
        raise ValueError(
            f"source {source.name}: expected one file kind with model {model}"
            f"{f' and a pattern ending in {suffix}' if suffix else ''}, found {len(kinds)}"
        )
    out = OutputFile(source, kinds[0], stem)
    if kinds[0].pattern.count("*") != 1 or any(c in kinds[0].pattern for c in "?["):
        raise ValueError(f"source {source.name}: cannot name files after {kinds[0].pattern!r}")
    if source.file_kind(out.name("2026-01-05")) is not kinds[0]:
        raise ValueError(
            f"source {source.name}: {out.name('2026-01-05')} would be read as another kind of file"
        )
    return out


@dataclass(frozen=True)
class Layout:
    web_events: OutputFile
    email_array: OutputFile  # a JSON array per file
    email_lines: OutputFile  # one JSON object per line
    contacts: OutputFile
    deals: OutputFile
    feedback: OutputFile

    @staticmethod
    def from_config(folder: Path | None = None) -> Layout:
        """The layout of the shipped source configs (or those in `folder`)."""
        sources = {s.name: s for s in load_sources(folder)}
        web, email, crm = sources["web"], sources["email"], sources["crm"]
        return Layout(
            web_events=_output(web, "stg_web", "events", ".jsonl"),
            email_array=_output(email, "stg_email", "sendgrid", ".json"),
            email_lines=_output(email, "stg_email", "sendgrid", ".jsonl"),
            contacts=_output(crm, "stg_crm_contacts", "contacts"),
            deals=_output(crm, "stg_crm_deals", "deals"),
            feedback=_output(crm, "stg_crm_feedback", "feedback"),
        )

    @property
    def files(self) -> tuple[OutputFile, ...]:
        return (self.web_events, self.email_array, self.email_lines, self.contacts, self.deals,
                self.feedback)  # fmt: skip

    @property
    def folders(self) -> list[str]:
        """The source folders, in source order, each once."""
        return list(dict.fromkeys(f.folder for f in self.files))

    def lifecycle_stages(self) -> list[str]:
        """HubSpot lifecycle stages in order, from the contacts' `hs_lifecyclestage_*_date`."""
        return [m.group(1) for c in self.contacts.columns if (m := _STAGE_DATE.fullmatch(c))]
