"""Typed checking of the YAML configuration (sources, frameworks, dashboard settings).

The configuration models were pydantic models; importing pydantic and building their schemas
cost ~0.13 s of every command's start-up, more than a metric's query on small data (issue 17,
decision 102). A model here is a class with annotated fields and defaults, as in pydantic; the
checks are the few a YAML file needs: strings, numbers, booleans, lists, mappings, pairs,
literals, optional and nested models; unknown keys are refused. Errors name where they are
(`stages.0.match.1.where`) and say what is wrong in pydantic's words, so messages stay as users
know them.
"""

from __future__ import annotations

import copy
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, Self, get_args, get_origin

Loc = tuple[str | int, ...]


class SchemaError(ValueError):
    """The first problem found in a document: where (a path of keys and indexes) and what."""

    def __init__(self, loc: Loc, msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


class Model:
    """A checked record. Subclasses annotate their fields (a default makes a field optional) and
    may declare `_before` (field -> function of the raw value, run before the type check),
    `_after` (field -> function of the typed value) and override `_check` (the whole record,
    once every field is valid). Functions raise ValueError with the message to show."""

    _before: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}
    _after: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}
    _fields: ClassVar[dict[str, Any] | None] = None

    def __init__(self, **data: Any) -> None:
        self._fill(data, ())

    def _fill(self, data: Mapping[str, Any], loc: Loc) -> None:
        """Set the checked fields of `data` (found at `loc` in the document), then `_check`."""
        for name, value in self._parse(data, loc).items():
            object.__setattr__(self, name, value)
        try:
            self._check()
        except SchemaError:
            raise
        except ValueError as exc:
            raise SchemaError(loc, str(exc)) from None

    def _check(self) -> None:
        """Checks across fields; raise ValueError."""

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        return cls._read(data, ())

    @classmethod
    def _read(cls, value: Any, loc: Loc) -> Self:
        """A record of this class from a mapping at `loc` (a record is taken as it is)."""
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise SchemaError(loc, "Input should be a valid dictionary or instance of"
                                   f" {cls.__name__}")
        record = cls.__new__(cls)
        record._fill({str(k): v for k, v in value.items()}, loc)
        return record

    @classmethod
    def _field_types(cls) -> dict[str, Any]:
        if cls.__dict__.get("_fields") is None:
            hints = typing.get_type_hints(cls)  # each class's names in its own module
            cls._fields = {name: hint for name, hint in hints.items()
                           if not name.startswith("_") and get_origin(hint) is not ClassVar}
        assert cls._fields is not None
        return cls._fields

    @classmethod
    def _parse(cls, data: Mapping[str, Any], loc: Loc) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, hint in cls._field_types().items():
            if name not in data:
                if not hasattr(cls, name):
                    raise SchemaError((*loc, name), "Field required")
                values[name] = copy.deepcopy(getattr(cls, name))  # defaults are not shared
                continue
            here = (*loc, name)
            value = data[name]
            try:
                if name in cls._before:
                    value = cls._before[name](value)
                value = _typed(value, hint, here)
                if name in cls._after:
                    value = cls._after[name](value)
            except SchemaError:
                raise
            except ValueError as exc:
                raise SchemaError(here, str(exc)) from None
            values[name] = value
        extra = [key for key in data if key not in values]
        if extra:
            raise SchemaError((*loc, extra[0]), "Extra inputs are not permitted")
        return values

    def model_dump(self) -> dict[str, Any]:
        return {name: _dump(getattr(self, name)) for name in self._field_types()}

    def model_dump_json(self) -> str:
        return json.dumps(self.model_dump(), separators=(",", ":"), ensure_ascii=False)

    def model_copy(self, update: Mapping[str, Any] | None = None) -> Self:
        clone = copy.copy(self)
        for name, value in (update or {}).items():
            object.__setattr__(clone, name, value)
        return clone

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Model) and type(other) is type(self)
                and self.model_dump() == other.model_dump())

    __hash__ = None  # type: ignore[assignment]  # mutable records, as pydantic's models were

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._field_types())
        return f"{type(self).__name__}({fields})"


def _dump(value: Any) -> Any:
    if isinstance(value, Model):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


_SCALARS: dict[type, tuple[str, Callable[[Any], bool]]] = {
    str: ("a valid string", lambda v: isinstance(v, str)),
    int: ("a valid integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a valid number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    bool: ("a valid boolean", lambda v: isinstance(v, bool)),
}


def _typed(value: Any, hint: Any, loc: Loc) -> Any:
    """`value` checked against the annotation `hint`; nested errors carry their place."""
    if hint is Any:
        return value
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        arms = get_args(hint)
        if value is None and type(None) in arms:
            return None
        problem: SchemaError | None = None
        for arm in (a for a in arms if a is not type(None)):
            try:
                return _typed(value, arm, loc)
            except SchemaError as exc:
                problem = problem or exc
        assert problem is not None
        raise problem
    if origin is Literal:
        allowed = get_args(hint)
        if value in allowed and not isinstance(value, bool):
            return value
        names = [repr(a) for a in allowed]
        said = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        raise SchemaError(loc, f"Input should be {said}")
    if origin is list:
        if not isinstance(value, list | tuple):
            raise SchemaError(loc, "Input should be a valid list")
        (item,) = get_args(hint)
        return [_typed(v, item, (*loc, i)) for i, v in enumerate(value)]
    if origin is tuple:
        items = get_args(hint)
        if not isinstance(value, list | tuple) or len(value) != len(items):
            raise SchemaError(loc, f"Input should be a valid tuple of {len(items)} items")
        return tuple(_typed(v, t, (*loc, i)) for i, (v, t) in enumerate(zip(value, items,
                                                                            strict=True)))
    if origin is dict:
        if not isinstance(value, dict):
            raise SchemaError(loc, "Input should be a valid dictionary")
        key_type, value_type = get_args(hint)
        return {_typed(k, key_type, (*loc, str(k))): _typed(v, value_type, (*loc, str(k)))
                for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, Model):
        return hint._read(value, loc)
    if hint in _SCALARS:
        what, ok = _SCALARS[hint]
        if ok(value):
            return float(value) if hint is float else value
        raise SchemaError(loc, f"Input should be {what}")
    raise TypeError(f"schema: unsupported annotation {hint!r} at {'.'.join(map(str, loc))}")
