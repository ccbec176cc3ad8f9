"""Identity stitching written again in plain Python, for the property tests of both engines
(tests/test_identity_property.py: DuckDB's identity.stitch; tests/spark/: Spark's `_stitch`).

The rule (CONTRACT §1, sql/intermediate/): a record links its identity node (the first of u:,
a:, e:, c:) to every node it carries, and an alias also to `a:` and `u:` of its previous id;
persons are the connected components of all links so far (a later link joins two earlier
persons retroactively); a person's id is 'p_' + the first 16 hex digits of sha256 of the
component's smallest node.
"""

from __future__ import annotations

import hashlib

from hypothesis import strategies as st

Record = tuple[str | None, str | None, str | None, str | None, str | None]


def record_links(record: Record) -> set[tuple[str, str]]:
    user, anonymous, email, crm, previous = record
    nodes = [prefix + value for prefix, value in
             (("u:", user), ("a:", anonymous), ("e:", email), ("c:", crm)) if value is not None]
    if previous is not None:
        nodes += ["a:" + previous, "u:" + previous]
    return {(nodes[0], node) for node in nodes}


def person_key(record: Record) -> str:
    user, anonymous, email, crm, _ = record
    prefix, value = next((p, v) for p, v in (("u:", user), ("a:", anonymous), ("e:", email),
                                             ("c:", crm)) if v is not None)
    return prefix + value


def reference_persons(links: set[tuple[str, str]]) -> dict[str, str]:
    """node -> person id: union-find over the links, each component named by its least node."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in links:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:  # the smaller node stays the root: the root is the least node
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return {node: "p_" + hashlib.sha256(find(node).encode()).hexdigest()[:16]
            for node in parent}


# few values, shared between the kinds (a user id "k1" and an anonymous id "k1" are two nodes,
# which an alias with previous id "k1" links): merges are frequent
IDS = st.sampled_from(["k0", "k1", "k2", "k3", "k4"])
EMAILS = st.sampled_from(["9f2c", "a1b0", "f00d"])  # stand-ins for keyed email hashes
CRM = st.sampled_from(["101", "102"])


@st.composite
def records(draw: st.DrawFn) -> Record:
    user = draw(st.none() | IDS)
    anonymous = draw(st.none() | IDS)
    email = draw(st.none() | EMAILS)
    crm = draw(st.none() | CRM)
    if (user, anonymous, email, crm) == (None, None, None, None):  # staging quarantines those
        anonymous = draw(IDS)
    previous = draw(st.none() | IDS) if user is not None else None  # an alias has a userId
    return user, anonymous, email, crm, previous


RUNS = st.lists(st.lists(records(), min_size=1, max_size=6), min_size=2, max_size=3)
# Several independent graphs per example, loaded side by side: graph i's ids carry the prefix
# "i", so no two graphs share a node.
GRAPHS = st.lists(RUNS, min_size=1, max_size=5)


# the example both properties always check: a retroactive merge and an alias
MERGES = [
    [  # two persons, then one event that carries both: merged retroactively
        [("k1", None, None, None, None), (None, "k2", "f00d", None, None)],
        [(None, "k0", None, "101", None), ("k3", None, None, "101", None)],
        [(None, "k2", None, None, None), ("k1", "k2", None, None, None)],
    ],
    [  # an alias joins a user to the earlier anonymous id and user id "k0"
        [(None, "k0", None, None, None), ("k0", None, "9f2c", None, None)],
        [("k4", None, None, None, "k0")],
    ],
]


def side_by_side(graphs: list[list[list[Record]]]) -> list[list[Record]]:
    """Run k loads batch k of every graph that has one."""
    def tagged(i: int, record: Record) -> Record:
        user, anonymous, email, crm, previous = (None if v is None else f"{i}{v}" for v in record)
        return user, anonymous, email, crm, previous

    return [[tagged(i, r) for i, runs in enumerate(graphs) if k < len(runs) for r in runs[k]]
            for k in range(max(len(runs) for runs in graphs))]
