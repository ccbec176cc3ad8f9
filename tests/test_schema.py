"""schema.Model: the typed reader of the configuration files (decision 102)."""

from __future__ import annotations

from typing import Literal

import pytest

from journey_metrics.schema import Model, SchemaError


def _positive(value: int) -> int:
    if value <= 0:
        raise ValueError("must be positive")
    return value


class Leaf(Model):
    name: str
    size: int = 1
    _after = {"size": _positive}


class Tree(Model):
    title: str | dict[str, str] | None = None
    kind: Literal["a", "b"] = "a"
    leaves: list[Leaf]
    tags: list[str] = []
    pair: tuple[int, int] | None = None
    _before = {"tags": lambda v: [v] if isinstance(v, str) else v}

    def _check(self) -> None:
        if self.kind == "b" and not self.tags:
            raise ValueError("kind b needs tags")


def _error(data: object) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(SchemaError) as caught:
        Tree.model_validate(data)
    return caught.value.loc, caught.value.msg


def test_a_valid_document_gets_its_types_and_defaults() -> None:
    tree = Tree.model_validate({"leaves": [{"name": "x"}, {"name": "y", "size": 3}],
                                "tags": "one", "pair": [1, 2]})
    assert [(leaf.name, leaf.size) for leaf in tree.leaves] == [("x", 1), ("y", 3)]
    assert (tree.title, tree.kind, tree.tags, tree.pair) == (None, "a", ["one"], (1, 2))
    assert tree.model_dump() == {"title": None, "kind": "a", "tags": ["one"], "pair": [1, 2],
                                 "leaves": [{"name": "x", "size": 1}, {"name": "y", "size": 3}]}
    assert Tree.model_validate(tree.model_dump()) == tree
    assert tree.model_copy(update={"kind": "b"}).kind == "b"
    assert tree.kind == "a"


def test_defaults_are_not_shared_between_records() -> None:
    first = Tree.model_validate({"leaves": []})
    first.tags.append("mine")
    assert Tree.model_validate({"leaves": []}).tags == []


@pytest.mark.parametrize(
    ("data", "loc", "msg"),
    [
        ({}, ("leaves",), "Field required"),
        ({"leaves": [], "colour": 1}, ("colour",), "Extra inputs are not permitted"),
        ({"leaves": [{"name": 5}]}, ("leaves", 0, "name"), "Input should be a valid string"),
        ({"leaves": [{"name": "x", "size": True}]}, ("leaves", 0, "size"),
         "Input should be a valid integer"),
        ({"leaves": [{"name": "x", "size": 0}]}, ("leaves", 0, "size"), "must be positive"),
        ({"leaves": [{"name": "x", "nope": 0}]}, ("leaves", 0, "nope"),
         "Extra inputs are not permitted"),
        ({"leaves": "x"}, ("leaves",), "Input should be a valid list"),
        ({"leaves": [], "kind": "c"}, ("kind",), "Input should be 'a' or 'b'"),
        ({"leaves": [], "pair": [1]}, ("pair",), "Input should be a valid tuple of 2 items"),
        ({"leaves": [], "title": {"en": 3}}, ("title",), "Input should be a valid string"),
        ({"leaves": [], "kind": "b"}, (), "kind b needs tags"),
        ([1], (), "Input should be a valid dictionary or instance of Tree"),
    ],
)
def test_the_first_problem_is_named_by_its_place(data: object, loc: tuple[str | int, ...],
                                                 msg: str) -> None:
    assert _error(data) == (loc, msg)
