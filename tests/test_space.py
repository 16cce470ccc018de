"""The NAS-Bench-Graph search space: canonical keys, inverse, enumeration, sampling, mutation."""
from __future__ import annotations

import itertools
from collections import Counter, deque

import numpy as np
import pytest
from nas_bench_graph.architecture import Arch
from nas_bench_graph.readbench import light_read

from nasbench_meta.spaces import Architecture, NasBenchGraphSpace, UnknownArchitectureError, get_space
from nasbench_meta.spaces.nas_bench_graph import OPS, PROTEINS_OPS, canonical_key, decode_key

SPACE = NasBenchGraphSpace()
ALL_LINKS = list(itertools.product(*[range(i + 1) for i in range(4)]))  # 24 raw link lists


def test_canonical_key_equals_upstream_valid_hash_on_every_link_op_list():
    # Exhaustive: all 24 x 9^4 raw lists (canonical or not), minus the all-skip one.
    mismatches = []
    for links in ALL_LINKS:
        for ops in itertools.product(OPS, repeat=4):
            if set(ops) == {"skip"}:
                continue
            expected = Arch(list(links), list(ops)).valid_hash()
            if canonical_key(links, ops) != expected:
                mismatches.append((links, ops))
    assert mismatches == []


def test_random_non_canonical_lists_agree_with_upstream():
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 10_000:
        links = tuple(int(rng.integers(0, i + 1)) for i in range(4))
        ops = tuple(rng.choice(OPS, 4))
        if set(ops) == {"skip"}:
            continue
        assert Architecture(links, ops).key == Arch(list(links), list(ops)).valid_hash()
        checked += 1


def test_enumeration_is_the_table_key_set_in_ascending_order():
    keys = SPACE.keys()
    assert len(keys) == 26_206
    assert np.all(np.diff(keys) > 0)
    assert set(keys.tolist()) == set(light_read("cora"))
    per_pattern = Counter(int(k) // 10_000 for k in keys)
    assert [per_pattern[i] for i in range(9)] == [330, 2304, 2880, 2080, 4096, 1440, 5120, 3276, 4680]


def test_proteins_subspace_is_the_proteins_table():
    keys = NasBenchGraphSpace(PROTEINS_OPS).keys()
    assert len(keys) == 2_021
    assert set(keys.tolist()) == set(light_read("proteins"))


def test_key_to_architecture_to_key_round_trips_for_every_key():
    for key in SPACE.keys():
        arch = SPACE.architecture(key)
        assert arch.key == key
        assert SPACE.key(SPACE.format(key)) == key  # through the human-readable string too


@pytest.mark.parametrize(
    "links, ops, message",
    [
        ((0, 0, 1), ("gat", "gcn", "gin"), "exactly 4 links"),
        ((0, 0, 1, 2), ("gat", "gcn", "gin", "mlp"), "unknown op"),
        ((0, 2, 1, 2), ("gat", "gcn", "gin", "gcn"), "not a later one"),
        ((0, 0, 1, 2), ("skip",) * 4, "all-skip"),
    ],
)
def test_invalid_architectures_raise_clear_errors(links, ops, message):
    with pytest.raises(UnknownArchitectureError, match=message):
        Architecture(links, ops)


@pytest.mark.parametrize("text", ["0,0,1|gat,gcn,sage", "gat,gcn", "0,0,1,2|gat,gcn,sage,gcn|x", "10300"])
def test_unparseable_or_non_canonical_input_is_rejected(text):
    with pytest.raises(UnknownArchitectureError):
        SPACE.parse(text)


def test_non_canonical_key_names_its_canonical_key():
    # 10300 encodes links 0,0,0,1 with ops gat,cheb,gat,gat: nodes 2 and 3 are interchangeable
    # but not sorted, so its canonical key differs.
    with pytest.raises(UnknownArchitectureError, match="not canonical"):
        decode_key(10_300)


def test_string_parsing_accepts_isomorphic_forms():
    assert SPACE.key("0,0,1,2|gat,gcn,sage,gcn") == 30141
    assert SPACE.key("0,0,2,1|gcn,gat,sage,gcn") == 30141  # nodes 1 and 2 swapped
    assert SPACE.key(" 30141 ") == 30141
    assert str(SPACE.architecture(30141)) == "0,0,1,2|gat,gcn,sage,gcn"


def test_proteins_space_rejects_other_ops():
    with pytest.raises(UnknownArchitectureError, match="outside this space"):
        NasBenchGraphSpace(PROTEINS_OPS).key("0,0,1,2|gat,gcn,sage,gcn")


def test_sampling_is_seeded_uniform_and_inside_the_space():
    a = SPACE.sample(np.random.default_rng(3), 500)
    b = SPACE.sample(np.random.default_rng(3), 500)
    assert np.array_equal(a, b)
    assert len(set(a.tolist())) == 500
    assert set(a.tolist()) <= set(SPACE.keys().tolist())
    big = SPACE.sample(np.random.default_rng(4), 20_000, replace=True)
    per_pattern = Counter(int(k) // 10_000 for k in big)
    # Uniform over architectures: pattern 8 (4680 archs) ~14x as likely as pattern 0 (330).
    assert 10 < per_pattern[8] / per_pattern[0] < 20


def test_neighbours_are_the_canonical_single_edits():
    keys = set(SPACE.keys().tolist())
    for key in SPACE.sample(np.random.default_rng(0), 200):
        neighbours = SPACE.neighbours(key)
        assert int(key) not in neighbours
        assert len(set(neighbours.tolist())) == len(neighbours) > 0
        assert set(neighbours.tolist()) <= keys
        # Every neighbour is one op or one link of the canonical form away, and vice versa.
        arch = SPACE.architecture(key)
        edits = set()
        for i in range(4):
            for op in OPS:
                ops = arch.ops[:i] + (op,) + arch.ops[i + 1:]
                if set(ops) != {"skip"}:
                    edits.add(canonical_key(arch.links, ops))
            for parent in range(i + 1):
                edits.add(canonical_key(arch.links[:i] + (parent,) + arch.links[i + 1:], arch.ops))
        assert set(neighbours.tolist()) == edits - {int(key)}


def test_mutation_graph_reaches_every_architecture():
    # Local search and evolution can get anywhere from anywhere.
    start = int(SPACE.keys()[0])
    seen, queue = {start}, deque([start])
    while queue:
        for n in SPACE.neighbours(queue.popleft()).tolist():
            if n not in seen:
                seen.add(n)
                queue.append(n)
    assert len(seen) == 26_206


def test_mutation_is_seeded_and_stays_in_subspace():
    proteins = NasBenchGraphSpace(PROTEINS_OPS)
    allowed = set(proteins.keys().tolist())
    rng1, rng2 = np.random.default_rng(5), np.random.default_rng(5)
    key = int(proteins.keys()[0])
    walk1, walk2 = [], []
    for _ in range(50):
        walk1.append(proteins.mutate(walk1[-1] if walk1 else key, rng1))
        walk2.append(proteins.mutate(walk2[-1] if walk2 else key, rng2))
    assert walk1 == walk2
    assert set(walk1) <= allowed


def test_spaces_are_looked_up_by_name():
    assert isinstance(get_space("nas-bench-graph"), NasBenchGraphSpace)
    with pytest.raises(KeyError, match="unknown search space"):
        get_space("nas-bench-201")


def test_format_and_neighbours_take_any_spelling_of_an_architecture():
    space = NasBenchGraphSpace()
    key = space.key("0,0,2,1|gcn,gat,sage,gcn")               # an isomorphic form of 30141
    assert space.format("0,0,2,1|gcn,gat,sage,gcn") == space.format(key) == "0,0,1,2|gat,gcn,sage,gcn"
    assert np.array_equal(space.neighbours("0,0,2,1|gcn,gat,sage,gcn"), space.neighbours(key))
    assert key not in space.neighbours("0,0,2,1|gcn,gat,sage,gcn")   # never its own neighbour
    with pytest.raises(UnknownArchitectureError, match="True is not an architecture"):
        space.format(True)                                            # not key 1


def test_sampling_needs_a_generator_not_a_seed():
    space = NasBenchGraphSpace()
    with pytest.raises(TypeError, match=r"np.random.default_rng\(seed\)"):
        space.sample(0, 2)
    assert len(set(space.sample(np.random.default_rng(0), 5).tolist())) == 5


def test_mutate_says_when_a_seed_is_passed_for_the_generator():
    # space.mutate(key, 0) raised "'int' object has no attribute 'choice'"; sample already said this
    space = NasBenchGraphSpace()
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        space.mutate(30141, 0)
