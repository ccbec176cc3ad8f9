"""Configuration models: event sources (config/sources/*.yaml) and their validation.

Names that end up in SQL (source names, columns) are checked against the one identifier pattern of
`sql.py`; a bad file is reported as one line naming the file, the field and what is wrong.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from journey_metrics.errors import UsageError
from journey_metrics.resources import resource_dir
from journey_metrics.sql import IDENTIFIER_PATTERN

ReaderKind = Literal["jsonl", "json", "csv"]


def _identifier(value: str) -> str:
    if not IDENTIFIER_PATTERN.fullmatch(value):
        raise ValueError(f"{value!r} must match ^[a-z][a-z0-9_]*$")
    return value


def check_timezone(name: str) -> str:
    """Return `name` if it is a known IANA time zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


class FileKind(BaseModel):
    """One kind of file inside a source folder and how it becomes canonical events."""

    model_config = ConfigDict(extra="forbid")

    pattern: str  # glob on the file name, without a trailing .gz
    reader: ReaderKind
    model: str  # staging SQL model: sql/staging/<model>.sql
    columns: list[str] = []  # csv: the columns the model reads (missing optional ones are NULL)
    required_columns: list[str] = []  # csv: a file without one of these fails as a whole

    _check_model = field_validator("model")(classmethod(lambda cls, v: _identifier(v)))

    @field_validator("columns", "required_columns")
    @classmethod
    def _check_columns(cls, value: list[str]) -> list[str]:
        return [_identifier(v) for v in value]

    def matches(self, file_name: str) -> bool:
        base = file_name[:-3] if file_name.endswith(".gz") else file_name
        return fnmatch.fnmatchcase(base, self.pattern)


class SourceConfig(BaseModel):
    """An event source: a folder of the input directory and the kinds of files in it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    folder: str
    timezone: str = "UTC"  # for timestamps written without an offset
    files: list[FileKind]
    # Canonical events this source produces (framework files are checked against them);
    # `open_events` means it may produce others too (web track events are free-form).
    events: list[str] = []
    open_events: bool = False

    _check_name = field_validator("name", "folder")(classmethod(lambda cls, v: _identifier(v)))
    _check_tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))

    def file_kind(self, file_name: str) -> FileKind | None:
        return next((kind for kind in self.files if kind.matches(file_name)), None)


def _format_error(path: Path, error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"{path}: {field}: {first['msg']}"


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping at the top level")
    return data


def load_source(path: Path) -> SourceConfig:
    try:
        return SourceConfig.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise UsageError(_format_error(path, exc)) from None


def load_sources(folder: Path | None = None) -> list[SourceConfig]:
    """All source definitions, in the order of their `order` prefix / file name."""
    folder = folder or resource_dir("config") / "sources"
    sources = [load_source(p) for p in sorted(folder.glob("*.yaml"))]
    names = [s.name for s in sources]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise UsageError(f"{folder}: source defined twice: {', '.join(sorted(duplicates))}")
    return sources
