"""The NAS-Bench-Graph search space (Qin et al., NeurIPS 2022).

An architecture is a macro DAG of 4 computing nodes. ``links[i]`` names the input
of node ``i + 1``: 0 is the raw input, ``j`` in 1..i an earlier node. ``ops[i]`` is
the operation of node ``i + 1``. Leaves (nodes without children) feed the output.

The table key of an architecture is its canonical form's link-pattern index times
10**4 plus its four op indices as base-10 digits. Canonicalisation reproduces
``nas_bench_graph.architecture.Arch.valid_hash`` exactly (tested exhaustively on
every link/op list of the space), including its treatment of skip connections,
which is *not* plain graph isomorphism: the table was keyed that way, so we are too.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from nasbench_meta.spaces.base import SearchSpace, UnknownArchitectureError

OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
PROTEINS_OPS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
LINK_PATTERNS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
NUM_NODES = 4
SKIP = OPS.index("skip")
_OP_INDEX = {name: i for i, name in enumerate(OPS)}
_PATTERN_INDEX = {p: i for i, p in enumerate(LINK_PATTERNS)}

# Node relabelings that map each of the 15 non-canonical link lists onto one of the
# 9 patterns: (pattern, new node order given as old node positions). Same choices as
# upstream's Arch.regularize, which the table keys depend on.
_RELABEL: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[int, ...]]] = {
    (0, 0, 0, 2): ((0, 0, 0, 1), (1, 0, 2, 3)),
    (0, 0, 0, 3): ((0, 0, 0, 1), (2, 0, 1, 3)),
    (0, 0, 1, 0): ((0, 0, 0, 1), (0, 1, 3, 2)),
    (0, 0, 2, 0): ((0, 0, 0, 1), (1, 0, 3, 2)),
    (0, 0, 2, 1): ((0, 0, 1, 2), (1, 0, 2, 3)),
    (0, 0, 2, 2): ((0, 0, 1, 1), (1, 0, 2, 3)),
    (0, 0, 2, 3): ((0, 0, 1, 3), (1, 0, 2, 3)),
    (0, 1, 0, 0): ((0, 0, 0, 1), (0, 2, 3, 1)),
    (0, 1, 0, 1): ((0, 0, 1, 1), (0, 2, 1, 3)),
    (0, 1, 0, 2): ((0, 0, 1, 3), (0, 2, 1, 3)),
    (0, 1, 0, 3): ((0, 0, 1, 2), (0, 2, 1, 3)),
    (0, 1, 1, 0): ((0, 0, 1, 1), (0, 3, 1, 2)),
    (0, 1, 1, 3): ((0, 1, 1, 2), (0, 2, 1, 3)),
    (0, 1, 2, 0): ((0, 0, 1, 3), (0, 3, 1, 2)),
    (0, 1, 2, 1): ((0, 1, 1, 2), (0, 1, 3, 2)),
}
# Positions whose ops are interchangeable (same parent, no children) per pattern.
_INTERCHANGEABLE: dict[tuple[int, ...], tuple[int, ...]] = {
    (0, 0, 0, 0): (0, 1, 2, 3),
    (0, 0, 0, 1): (1, 2),
    (0, 0, 1, 1): (2, 3),
    (0, 1, 1, 1): (1, 2, 3),
    (0, 1, 2, 2): (2, 3),
}


def _pattern_edges(links: tuple[int, ...]) -> np.ndarray:
    edges = [(parent, i + 1) for i, parent in enumerate(links)]
    edges += [(i, NUM_NODES + 1) for i in range(1, NUM_NODES + 1) if i not in links]  # leaves
    out = np.array(edges, dtype=np.int64).T
    out.setflags(write=False)
    return out


_PATTERN_EDGES = [_pattern_edges(p) for p in LINK_PATTERNS]


@dataclass(frozen=True)
class Architecture:
    """A NAS-Bench-Graph architecture as link and op lists (canonical or not)."""

    links: tuple[int, ...]
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        links, ops = tuple(int(x) for x in self.links), tuple(str(o) for o in self.ops)
        object.__setattr__(self, "links", links)
        object.__setattr__(self, "ops", ops)
        _validate(links, ops)

    @property
    def key(self) -> int:
        """The table key of this architecture's canonical form."""
        return canonical_key(self.links, self.ops)

    def canonical(self) -> "Architecture":
        return decode_key(self.key)

    def __str__(self) -> str:
        return ",".join(map(str, self.links)) + "|" + ",".join(self.ops)


def _validate(links: tuple[int, ...], ops: tuple[str, ...]) -> None:
    if len(links) != NUM_NODES or len(ops) != NUM_NODES:
        raise UnknownArchitectureError(
            f"NAS-Bench-Graph architectures have exactly {NUM_NODES} links and {NUM_NODES} ops, "
            f"got {len(links)} links and {len(ops)} ops"
        )
    for i, parent in enumerate(links):
        if not 0 <= parent <= i:
            raise UnknownArchitectureError(
                f"link {i} is {parent}: node {i + 1} may read the input (0) or an earlier node "
                f"(1..{i}), not a later one"
            )
    unknown = [o for o in ops if o not in _OP_INDEX]
    if unknown:
        raise UnknownArchitectureError(f"unknown op(s) {unknown}; valid ops are {list(OPS)}")
    if all(o == "skip" for o in ops):
        raise UnknownArchitectureError("the all-skip architecture is not in the space")


def canonical_key(links: tuple[int, ...], ops: tuple[str, ...]) -> int:
    """Table key of any valid link/op lists (validates them first)."""
    links, ops = tuple(int(x) for x in links), tuple(ops)
    _validate(links, ops)
    return _canonical_key(links, tuple(_OP_INDEX[o] for o in ops))


@lru_cache(maxsize=None)
def _canonical_key(links: tuple[int, ...], ops: tuple[int, ...]) -> int:
    if links in _RELABEL:
        links, order = _RELABEL[links]
        ops = tuple(ops[i] for i in order)
    links, ops = _move_skips(list(links), list(ops))
    ops = _sort_interchangeable(tuple(links), ops)
    key = _PATTERN_INDEX[tuple(links)]
    for op in ops:
        key = key * 10 + op
    return key


def _move_skips(links: list[int], ops: list[int]) -> tuple[list[int], list[int]]:
    """Move skip nodes that change nothing to the front (upstream's move_skip_op)."""
    for i in range(NUM_NODES):
        if ops[i] != SKIP:
            continue
        has_child = any(parent == i + 1 for parent in links)
        has_sibling = any(j != i and parent == links[i] for j, parent in enumerate(links))
        if has_child or not has_sibling or _reads_raw_input(i, links, ops):
            links, ops = _move_to_front(links, ops, i)
    if links == [0, 1, 2, 1]:
        links, ops = [0, 1, 1, 2], [ops[0], ops[1], ops[3], ops[2]]
    elif links == [0, 1, 1, 3]:
        links, ops = [0, 1, 1, 2], [ops[0], ops[2], ops[1], ops[3]]
    return links, ops


def _reads_raw_input(k: int, links: list[int], ops: list[int]) -> bool:
    """True if node k and all its ancestors are skips, so it outputs the raw input."""
    while k > -1:
        if ops[k] != SKIP:
            return False
        k = links[k] - 1
    return True


def _move_to_front(links: list[int], ops: list[int], k: int) -> tuple[list[int], list[int]]:
    new_links = [0]
    for i, parent in enumerate(links):
        if i == k:
            continue
        if parent == k + 1:  # bypass the skip node
            parent = links[k]
        new_links.append(parent + 1 if parent <= k else parent)
    return new_links, [ops[k]] + ops[:k] + ops[k + 1:]


def _sort_interchangeable(links: tuple[int, ...], ops: list[int]) -> list[int]:
    ops = list(ops)
    if links == (0, 0, 1, 2):
        if ops[0] > ops[1] or (ops[0] == ops[1] and ops[2] > ops[3]):
            ops = [ops[1], ops[0], ops[3], ops[2]]
        return ops
    positions = _INTERCHANGEABLE.get(links, ())
    for pos, op in zip(positions, sorted(ops[p] for p in positions)):
        ops[pos] = op
    return ops


def decode_key(key: int) -> Architecture:
    """The canonical architecture of a table key (raises for keys outside the space)."""
    return _decode_key(int(key))


@lru_cache(maxsize=None)
def _decode_key(key: int) -> Architecture:
    if not 0 <= key < len(LINK_PATTERNS) * 10**NUM_NODES:
        raise UnknownArchitectureError(f"key {key} is outside the NAS-Bench-Graph space")
    pattern, digits = divmod(key, 10**NUM_NODES)
    op_ids = [int(d) for d in f"{digits:04d}"]
    if any(d >= len(OPS) for d in op_ids) or all(d == SKIP for d in op_ids):
        raise UnknownArchitectureError(f"key {key} does not encode a NAS-Bench-Graph architecture")
    arch = Architecture(LINK_PATTERNS[pattern], tuple(OPS[d] for d in op_ids))
    if arch.key != key:
        raise UnknownArchitectureError(
            f"key {key} is not canonical; the same architecture has key {arch.key}"
        )
    return arch


@lru_cache(maxsize=None)
def _enumerate_keys(ops: tuple[str, ...]) -> np.ndarray:
    allowed = [_OP_INDEX[o] for o in ops]
    keys = set()
    for pattern in LINK_PATTERNS:
        for op_ids in itertools.product(allowed, repeat=NUM_NODES):
            if all(o == SKIP for o in op_ids):
                continue
            keys.add(_canonical_key(pattern, op_ids))
    out = np.array(sorted(keys), dtype=np.int64)
    out.setflags(write=False)
    return out


class NasBenchGraphSpace(SearchSpace):
    """All canonical NAS-Bench-Graph architectures, optionally restricted to an op subset.

    Enumeration order is ascending table key (link pattern first, then op digits).
    """

    name = "nas-bench-graph"

    def __init__(self, ops: tuple[str, ...] = OPS) -> None:
        unknown = [o for o in ops if o not in _OP_INDEX]
        if unknown:
            raise ValueError(f"unknown op(s) {unknown}; valid ops are {list(OPS)}")
        self.ops = tuple(o for o in OPS if o in ops)  # keep the canonical op order

    def __repr__(self) -> str:
        return f"NasBenchGraphSpace(ops={self.ops!r})"

    def keys(self) -> np.ndarray:
        return _enumerate_keys(self.ops)

    def architecture(self, key: "int | str | Architecture") -> Architecture:
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
            key = self.key(key)   # any spelling: "links|ops" strings and Architecture objects too
        arch = decode_key(key)
        self._check_ops(arch)
        return arch

    def key(self, arch: "Architecture | str | int") -> int:
        if isinstance(arch, Architecture):
            self._check_ops(arch)
            return arch.key
        return self.parse(arch).key

    def _check_ops(self, arch: Architecture) -> None:
        outside = sorted(set(arch.ops) - set(self.ops))
        if outside:
            raise UnknownArchitectureError(
                f"{arch} uses op(s) {outside} outside this space's ops {list(self.ops)}"
            )

    def parse(self, text: "str | int") -> Architecture:
        """Parse ``"0,0,1,2|gat,gcn,sage,gcn"`` or an integer table key."""
        if isinstance(text, (bool, np.bool_)):   # an int to Python, never an architecture
            raise UnknownArchitectureError(f"{text!r} is not an architecture: pass a key, a \"links|ops\" string "
                                           "or an Architecture")
        if isinstance(text, (int, np.integer)) or str(text).strip().isdigit():
            return self.architecture(int(text))
        try:
            link_text, op_text = str(text).split("|")
            links = tuple(int(x) for x in link_text.split(","))
            ops = tuple(o.strip().lower() for o in op_text.split(","))
        except ValueError:
            raise UnknownArchitectureError(
                f"cannot parse {text!r}: write 'links|ops', e.g. '0,0,1,2|gat,gcn,sage,gcn', "
                "or give an integer table key"
            ) from None
        arch = Architecture(links, ops)
        self._check_ops(arch)
        return arch

    def format(self, key: int) -> str:
        return str(self.architecture(key))

    def arch_columns(self, keys: np.ndarray) -> dict[str, np.ndarray]:
        links = np.array([LINK_PATTERNS[k // 10**NUM_NODES] for k in keys], dtype=np.int8)
        digits = np.array([f"{k % 10**NUM_NODES:04d}" for k in keys], dtype="S4")
        ops = (digits.view(np.uint8).reshape(-1, NUM_NODES) - ord("0")).astype(np.int8)
        return {"links": links.reshape(-1, NUM_NODES), "ops": ops}

    def column_attrs(self) -> dict[str, dict[str, "str | int"]]:
        return {
            "links": {"description": "links[i]: input of node i+1 (0 = raw input, j = node j)",
                      "cardinality": NUM_NODES},
            "ops": {"description": "op index of node i+1", "vocabulary": ",".join(OPS),
                    "cardinality": len(OPS)},
        }

    def neighbours(self, key: int) -> np.ndarray:
        """Canonical keys at edit distance one: one op or one link changed (sorted, no self)."""
        arch = self.architecture(key)
        found = set()
        for i in range(NUM_NODES):
            for op in self.ops:
                if op != arch.ops[i]:
                    found.add(self._try_key(arch.links, arch.ops[:i] + (op,) + arch.ops[i + 1:]))
            for parent in range(i + 1):
                if parent != arch.links[i]:
                    found.add(self._try_key(arch.links[:i] + (parent,) + arch.links[i + 1:], arch.ops))
        found.discard(None)
        found.discard(arch.key)   # its canonical key, whichever spelling came in
        return np.array(sorted(found), dtype=np.int64)

    @staticmethod
    def _try_key(links: tuple[int, ...], ops: tuple[str, ...]) -> "int | None":
        if all(o == "skip" for o in ops):
            return None
        return canonical_key(links, ops)

    def graph(self, key: int) -> tuple[np.ndarray, np.ndarray]:
        """Node op ids and edges of the cell DAG.

        Nodes: 0 input, 1..4 computing nodes, 5 output. Node features are indices into
        ``self.node_vocabulary()``; edges go from input to consumer.
        """
        arch = decode_key(key)
        node_ops = [len(OPS)] + [_OP_INDEX[o] for o in arch.ops] + [len(OPS) + 1]
        return np.array(node_ops, dtype=np.int64), _PATTERN_EDGES[LINK_PATTERNS.index(arch.links)].copy()

    def graphs(self, keys: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        # Edges depend on the link pattern only: build 9 edge arrays and share them.
        keys = np.asarray(keys, dtype=np.int64)
        known = np.isin(keys, _enumerate_keys(OPS))
        if not known.all():
            raise UnknownArchitectureError(
                f"keys {keys[~known][:5].tolist()} are not canonical NAS-Bench-Graph keys")
        ops = self.arch_columns(keys)["ops"].astype(np.int64)
        node_ops = np.concatenate(
            [np.full((len(keys), 1), len(OPS)), ops, np.full((len(keys), 1), len(OPS) + 1)], axis=1)
        patterns = keys // 10**NUM_NODES
        return [(node_ops[i], _PATTERN_EDGES[p]) for i, p in enumerate(patterns.tolist())]

    def node_vocabulary(self) -> tuple[str, ...]:
        return OPS + ("input", "output")
