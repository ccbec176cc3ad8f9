"""Reading YAML files with the places of their values: a configuration problem is one line naming
the file, the line and column of the YAML node at fault, the field (list positions from 1, a
stage's name beside its number) and what is wrong. A key written twice in one mapping is refused
in every YAML file read here (YAML itself keeps the last).
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from typing import Any

import yaml

from journey_metrics.errors import UsageError
from journey_metrics.schema import Loc, SchemaError


class PlacedError(ValueError):
    """A check's problem at a place below the field or record it checks: `loc` is relative to
    it (e.g. a where check's `(property, operator)`). The schema wraps it in a SchemaError at
    the field (`raise SchemaError(...) from None` keeps it as the SchemaError's __context__),
    and format_error joins the two places."""

    def __init__(self, loc: Loc, msg: str) -> None:
        super().__init__(msg)
        self.loc = loc


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_KEY = "tag:yaml.org,2002:merge"


def _place(mark: Any) -> str:
    return f", line {mark.line + 1}, column {mark.column + 1}"


def _scalar_key(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _item_name(node: yaml.Node | None) -> str | None:
    """The `name:` a list item (a stage) gives itself, if it is a plain text."""
    if isinstance(node, yaml.MappingNode):
        for key, value in reversed(node.value):
            if (_scalar_key(key) == "name" and isinstance(value, yaml.ScalarNode)
                    and value.tag.endswith(":str") and value.value):
                return str(value.value)
    return None


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _field_text(loc: Loc, root: yaml.Node | None) -> tuple[str, Any]:
    """A schema location as the user counts it (`stages[3] (advocacy).match[1].where`: list
    positions from 1, a list item's `name` beside it) and the mark of the YAML node it names: a
    mapping key's own key (the field as written), a list item's start; where the document does
    not hold the place (a missing field), the deepest node that does."""
    node, mark = root, root.start_mark if root is not None else None
    text = ""
    for n, part in enumerate(loc):
        child: yaml.Node | None = None
        if isinstance(part, int) and isinstance(node, yaml.SequenceNode):
            if 0 <= part < len(node.value):
                child = node.value[part]
                mark = child.start_mark
        elif isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in reversed(node.value) if _scalar_key(k) == str(part)),
                        None)
            if pair is not None:
                child, mark = pair[1], pair[0].start_mark
        if isinstance(part, int):
            text += f"[{part + 1}]"
            name = _item_name(child)
            if name is not None and loc[n + 1:n + 2] != ("name",):
                text += f" ({name})"
        elif _PLAIN_KEY.fullmatch(str(part)):
            text += ("." if text else "") + str(part)
        else:  # a key with dots, spaces or quotes: shown whole
            text += f"[{str(part)!r}]"
        node = child
    return text, mark


def _line(path: Path, mark: Any, field: str, message: str) -> str:
    where = _place(mark) if mark is not None else ""
    return f"{path}{where}: {field}: {message}" if field else f"{path}{where}: {message}"


def located(path: Path, root: yaml.Node | None, loc: Loc, message: str) -> str:
    """One line: the file, the line and column of the place `loc`, the field, the message."""
    field, mark = _field_text(loc, root)
    return _line(path, mark, field, message)


def format_error(path: Path, error: SchemaError, root: yaml.Node | None) -> str:
    inner = error.__context__
    loc = (*error.loc, *inner.loc) if isinstance(inner, PlacedError) else error.loc
    return located(path, root, loc, error.msg)


def _duplicate_key(path: Path, root: yaml.Node) -> str | None:
    """The first key given twice in one mapping (YAML keeps the last silently), as one line."""
    seen: set[int] = set()
    pending: deque[tuple[yaml.Node, Loc]] = deque([(root, ())])
    while pending:
        node, loc = pending.popleft()
        if id(node) in seen:  # an alias of a node already checked (or a recursive one)
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            pending += [(item, (*loc, i)) for i, item in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_KEY:
                    earlier = first.setdefault((key.tag, key.value), key)
                    if earlier is not key:
                        field = _field_text(loc, root)[0]
                        return _line(
                            path, key.start_mark, field,
                            f"key {key.value!r} is given twice in one mapping (first on line"
                            f" {earlier.start_mark.line + 1}; YAML would keep only the last)",
                        )
                pending.append((value, (*loc, _scalar_key(key) or "?")))
    return None


def read_yaml_document(path: Path) -> tuple[Any, yaml.Node | None]:
    """A YAML file's document and its node tree (the places of its values); a file that cannot
    be read, or that gives a key twice in one mapping, is a usage error naming the file and the
    line and column."""
    try:
        text = path.read_text(encoding="utf-8")
        # libyaml's safe loader when PyYAML has it: the same documents, ~10x less CPU (every
        # command reads a framework and the report settings at start-up). Composed first, then
        # constructed, as yaml.load does, keeping the nodes.
        loader = _SAFE_LOADER(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None, None
            duplicate = _duplicate_key(path, root)
            if duplicate:
                raise UsageError(duplicate)
            return loader.construct_document(root), root
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        where = _place(exc.problem_mark) if exc.problem_mark else ""
        problem = exc.problem or str(exc).splitlines()[0]
        context = f" ({exc.context})" if exc.context else ""
        raise UsageError(f"{path}{where}: cannot read YAML: {problem}{context}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:  # not UTF-8: bad config
        raise UsageError(f"{path}: cannot read YAML: {str(exc).splitlines()[0]}") from None


def read_yaml(path: Path) -> Any:
    """A YAML file's document (see read_yaml_document)."""
    return read_yaml_document(path)[0]


def load_mapping(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    data, root = read_yaml_document(path)
    if not isinstance(data, dict):
        where = _place(root.start_mark) if root is not None else ""
        raise UsageError(f"{path}{where}: expected a mapping at the top level")
    return data, root


def load_yaml(path: Path) -> dict[str, Any]:
    return load_mapping(path)[0]
